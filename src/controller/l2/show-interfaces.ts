/**
 * `show interfaces IF [extensive]` (docs/l2.md, "Operation"): one interface as the vRouter
 * reports it (ListInterfaces): driver, MTU, MAC, routing instance, traffic and drops; with
 * `extensive`, a bridge port's L2 switching block too: its mode and VLANs, the MACs learned on
 * it against its limit, the frames it brought that were flooded and the copies made of them, and
 * its frames dropped by storm control, by its filter, for their VLAN, over the MAC limit, and for
 * the other L2 reasons. The layout follows Junos's `show interfaces extensive`; formatInterface is
 * pure (tested in show-interfaces.test.ts).
 */
import type { PbInterfaceInfo } from '../../api/proto.js';
import type { CommandResult } from '../types.js';

/** the L2 counters shown one per line, in order: label and the counter names summed (graph-constants.ts L2_PORT_COUNTERS) */
const L2_LINES: [string, string[]][] = [
  ['Flooded frames', ['flooded']],
  ['Flood copies', ['flood_copies']],
  ['Storm control drops', ['storm_control']],
  ['Filter drops', ['l2_filter_discard']],
  ['VLAN drops', ['l2_vlan_not_allowed', 'l2_no_domain']],
  ['MAC limit drops', ['mac_limit']],
  ['Bad source drops', ['l2_bad_source']],
  ['Same port drops', ['l2_same_port']],
  ['No-local-switching drops', ['no_local_switching']],
  ['No port drops', ['l2_no_ports']],
];

const num = (n: number | undefined): string => String(n ?? 0).padStart(20);

/** The interface named `name` (or `name.0`, its unit 0) among `all`, or undefined. */
export function findInterface(all: readonly PbInterfaceInfo[], name: string): PbInterfaceInfo | undefined {
  return all.find((i) => i.name === name) ?? (name.endsWith('.0') ? all.find((i) => i.name === name.slice(0, -2)) : undefined);
}

/** The counters of one line summed (a counter an older agent does not send counts 0). */
function l2Sum(counters: Record<string, number>, names: string[]): number {
  return names.reduce((a, n) => a + Number(counters[n] ?? 0), 0);
}

export function formatInterface(i: PbInterfaceInfo, extensive: boolean): string {
  const lines = [
    `Physical interface: ${i.name}, Enabled`,
    `  Driver: ${i.driver}, MTU: ${i.mtu}, Current address: ${i.mac}`,
    `  Routing instance: ${i.vrf}${i.addresses.length ? `, addresses: ${i.addresses.join(' ')}` : ''}`,
    '  Traffic statistics:',
    `   Input  bytes  :${num(i.rxBytes)}`,
    `   Output bytes  :${num(i.txBytes)}`,
    `   Input  packets:${num(i.rxPackets)}`,
    `   Output packets:${num(i.txPackets)}`,
    '  Input errors:',
    `    Drops: ${i.drops}`,
  ];
  const b = i.bridge;
  if (b) {
    lines.push(`  Logical interface ${i.name}.0`, `    Protocol bridge, Interface mode: ${b.mode}, VLAN${b.vlans.length === 1 ? '' : 's'}: ${b.vlans.join(' ') || '-'}${b.nativeVlan ? `, Native VLAN: ${b.nativeVlan}` : ''}${b.tpid ? `, TPID: 0x${b.tpid.toString(16)}` : ''}${b.dot1qTunneling ? ', dot1q-tunneling' : ''}`);
    if (extensive) {
      lines.push('    L2 switching statistics:', `     MACs learned              :${num(b.macs)}${b.macLimit ? ` (interface-mac-limit ${b.macLimit})` : ''}`);
      for (const [label, names] of L2_LINES) lines.push(`     ${label.padEnd(26)}:${num(l2Sum(b.counters, names))}`);
    }
  }
  return lines.join('\n') + '\n';
}

/** `show interfaces IF [extensive]` from the agent's interfaces. */
export function showInterface(all: readonly PbInterfaceInfo[], args: string[]): CommandResult {
  const [name, detail, ...rest] = args;
  if (!name || rest.length || (detail !== undefined && detail !== 'extensive' && detail !== 'detail' && detail !== 'brief')) {
    throw new Error(`show interfaces: expected 'IF [brief|detail|extensive]' or 'terse', got '${args.join(' ')}'`);
  }
  const i = findInterface(all, name);
  if (!i) throw new Error(`show interfaces: the vRouter has no interface '${name}'`);
  const extensive = detail === 'extensive' || detail === 'detail';
  const data: Record<string, unknown> = { name: i.name, driver: i.driver, mtu: i.mtu, mac: i.mac, vrf: i.vrf, addresses: i.addresses, rxPackets: i.rxPackets, txPackets: i.txPackets, rxBytes: i.rxBytes ?? 0, txBytes: i.txBytes ?? 0, drops: i.drops };
  if (i.bridge) data.bridge = { mode: i.bridge.mode, vlans: i.bridge.vlans, nativeVlan: i.bridge.nativeVlan || undefined, tpid: i.bridge.tpid || undefined, dot1qTunneling: i.bridge.dot1qTunneling || undefined, macs: i.bridge.macs, macLimit: i.bridge.macLimit, counters: Object.fromEntries(Object.entries(i.bridge.counters).map(([k, v]) => [k, Number(v)])) };
  return { text: formatInterface(i, extensive), data };
}
