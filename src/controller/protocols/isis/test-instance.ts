/**
 * For the instance's unit tests (commands.test.ts, attached.test.ts): an IsisInstance over a real
 * RIB on system 0000.0000.0001 (lo0 10.255.0.1/32, area 49.0001, eth1 10.0.0.1/30 with family
 * iso), configured by the given extra `set` lines, with an output that sends nothing anywhere.
 */
import type { Mac } from '../../../lib/addr.js';
import { parseConfig } from '../../config/notation.js';
import { Rib } from '../../rib/rib.js';
import { resolveIsis } from './config.js';
import { IsisInstance } from './instance.js';

export const OUR_MAC = Uint8Array.from([2, 0, 0, 0, 1, 1]) as Mac;
export const PEER_MAC = Uint8Array.from([2, 0, 0, 0, 2, 1]) as Mac;

export function testInstance(lines: readonly string[], now: number): { inst: IsisInstance; rib: Rib } {
  const base = [
    'set interfaces lo0 unit 0 family inet address 10.255.0.1/32',
    'set interfaces lo0 unit 0 family iso address 49.0001.0000.0000.0001.00',
    'set interfaces eth1 unit 0 family inet address 10.0.0.1/30',
    'set interfaces eth1 unit 0 family iso',
    'set protocols isis interface lo0.0 passive',
  ];
  const cfg = resolveIsis(parseConfig([...base, ...lines, ''].join('\n'), 'set'));
  if (!cfg) throw new Error('no IS-IS configuration');
  const rib = new Rib();
  return { inst: new IsisInstance(cfg, rib, { send: () => true, macOf: () => OUR_MAC, log: () => {}, random: () => 0.5 }, now), rib };
}
