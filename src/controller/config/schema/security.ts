/**
 * `security authentication-key-chains`: named key chains, as on Junos, for the protocols that
 * refer to one by name (BFD's `bfd-liveness-detection authentication key-chain K`). A chain's
 * keys are numbered (the number is the key id sent in the packets); the key in use is the one
 * with the latest `start-time` already past (a key without one counts as always started).
 */
import { container, leaf, list } from './dsl.js';
import { name, str, uint } from './types.js';
import type { LeafType } from './dsl.js';

/** Junos's `YYYY-MM-DD.HH:MM[:SS]`, read as UTC; stored as written (zero-padded) */
export const keyStartTime: LeafType = {
  name: 'YYYY-MM-DD.HH:MM[:SS] (UTC)',
  parse(w: string) {
    if (Number.isNaN(startTimeMs(w))) throw new Error(`'${w}' is not a start time (YYYY-MM-DD.HH:MM or YYYY-MM-DD.HH:MM:SS)`);
    return w;
  },
};

/** A `start-time` as ms since the epoch (UTC), NaN when it is not one (month 13, hour 25, ...). */
export function startTimeMs(w: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})\.(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(w);
  if (!m) return Number.NaN;
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => Number(x ?? 0)) as [number, number, number, number, number, number];
  const t = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(t);
  // Date.UTC rolls over out-of-range fields (Feb 30 -> Mar 2): refuse those
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return Number.NaN;
  return t;
}

export const security = container('Security', {
  'authentication-key-chains': container('Authentication key chains (BFD authentication refers to them by name)', {
    'key-chain': list('A key chain', 'name', name, {
      description: leaf('Text describing the key chain', str),
      key: list('A key of the chain; its number is the key id in the packets', 'key-id', uint(0, 63), {
        secret: leaf('The key: for BFD keyed SHA-1, 1 to 20 characters', str, { secret: true }),
        'start-time': leaf('When this key becomes the one used (UTC); without it, from the start', keyStartTime),
      }),
    }),
  }),
});
