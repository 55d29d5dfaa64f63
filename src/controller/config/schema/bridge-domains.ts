/**
 * L2 switching (docs/l2.md): `bridge-domains BD ...`, the `family bridge` of an interface
 * unit (a bridge port), `protocols l2-learning` and `forwarding-options
 * storm-control-profiles`, in Junos form. interfaces.ts and index.ts only hang these nodes
 * into the tree; the rules over several statements are in config/validate.ts
 * (validateBridging), the consumer in controller/l2/.
 */
import { container, flag, leaf, leafList, list, type LeafType } from './dsl.js';
import { enumOf, name, str, uint } from './types.js';

/** A VLAN or an inclusive range of them: 100, 200-210. */
export const vlanRange: LeafType = {
  name: 'vlan-id or range (1..4094, N-M)',
  parse(w: string): string {
    const m = /^(\d+)(?:-(\d+))?$/.exec(w);
    const lo = m ? Number(m[1]) : NaN;
    const hi = m?.[2] !== undefined ? Number(m[2]) : lo;
    if (!m || lo < 1 || hi > 4094 || lo > hi) throw new Error(`'${w}' is not a VLAN id or range (1..4094, N-M with N <= M)`);
    return lo === hi ? String(lo) : `${lo}-${hi}`;
  },
};

/** The routing interface of a bridge domain: irb.N (a unit of `interfaces irb`). */
export const irbUnit: LeafType = {
  name: 'irb.N',
  parse(w: string): string {
    const m = /^irb\.(\d+)$/.exec(w);
    if (!m || Number(m[1]) > 16385) throw new Error(`'${w}' is not an IRB unit (irb.N, N a unit of interfaces irb)`);
    return `irb.${Number(m[1])}`;
  },
};

/** The VLANs of a vlan-id-list, expanded. */
export function expandVlans(list: readonly string[]): number[] {
  const out = new Set<number>();
  for (const r of list) {
    const [lo, hi] = r.split('-').map(Number) as [number, number | undefined];
    for (let v = lo; v <= (hi ?? lo); v++) out.add(v);
  }
  return [...out].sort((a, b) => a - b);
}

export const bridgeDomains = list('Bridge domains: VLANs switched between bridge ports (L2 mode)', 'bridge-domain-name', name, {
  description: leaf('Text description of the bridge domain', str),
  'vlan-id': leaf('The VLAN the domain switches', uint(1, 4094)),
  'routing-interface': leaf('IRB unit routing for the domain (irb.N, with addresses under interfaces irb unit N)', irbUnit),
  'bridge-options': container('MAC learning limits of the domain', {
    'interface-mac-limit': leaf('MACs each interface of the domain learns at most (beyond: not learned, frames dropped)', uint(1, 1048576)),
    'mac-table-size': leaf('MACs the domain learns at most (beyond: not learned, frames dropped)', uint(1, 1048576)),
  }),
});

/** `interfaces IF unit 0 family bridge`: the unit is a bridge port. */
export const familyBridge = container('L2: the unit is a bridge port', {
  'interface-mode': leaf('access: untagged frames of one VLAN; trunk: 802.1Q tagged frames of a VLAN list', enumOf('access', 'trunk')),
  'vlan-id': leaf('access: the VLAN of the port', uint(1, 4094)),
  'vlan-id-list': leafList('trunk: the VLANs carried (N or N-M)', vlanRange),
  'storm-control': leaf('Storm-control profile (forwarding-options storm-control-profiles)', name),
  'no-local-switching': flag('Frames are not switched between ports that both have this'),
});

export const l2Learning = container('L2 learning', {
  'global-mac-table-aging-time': leaf('Seconds after which a MAC not seen is forgotten (default 300)', uint(10, 1000000)),
});

export const stormControlProfiles = list('Storm-control profiles (limits on broadcast, multicast and unknown unicast received)', 'profile-name', name, {
  all: container('Broadcast, multicast and unknown unicast together', {
    'bandwidth-level': leaf('kbit/s allowed', uint(1, 100000000)),
    'burst-size': leaf('Bytes allowed in a burst (default: 100 ms of the rate, at least 16 full frames)', uint(64, 100000000)),
  }),
});
