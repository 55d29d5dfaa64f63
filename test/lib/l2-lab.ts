/**
 * The L2 switching lab of test/integration/l2-*.test.ts (docs/l2.md): the vRouter
 * (af-packet vifs, one worker) as a switch with two bridge domains and their IRBs, five
 * hosts, and the helpers those tests share (scapy senders, the vRouter's MAC table, drop and
 * transmit counters read through the cnr commands).
 *
 *   h1 (r1, access 100, no-local-switching)   h2 (r2, access 100)   h5 (r5, access 100, no-local-switching)
 *   h3 (r3, access 200, storm control)         h4 (r4, trunk: 200 tagged, 100 native; no address: scapy only)
 *   bd100: VLAN 100, irb.100 10.100.0.1/24   bd200: VLAN 200, irb.200 10.200.0.1/24, interface-mac-limit 4
 * Host n has MAC 02:4c:00:00:00:0n and 10.<vlan>.0.1n/24 (and 2001:db8:<vlan>::1n/64).
 */
import type { NetnsLab } from './netns.js';
import { startVrouter, type RunningVrouter } from './vrouter.js';
import { introspect } from './traffic.js';
import type { MacEntryInfo } from '../../src/dataplane/api.js';

export const hostMac = (n: number): string => `02:4c:00:00:00:${n.toString(16).padStart(2, '0')}`;
export const IRB100_MAC = '02:4c:00:00:01:00';
export const IRB200_MAC = '02:4c:00:00:02:00';
/** storm control on r3: 80 kbit/s, a 2000-byte bucket */
export const STORM_BPS = 80_000;

export interface L2Lab {
  lab: NetnsLab;
  router: string;
  /** h1..h5 by number (index 0 unused) */
  h: string[];
  vr: RunningVrouter;
  macs(bd?: string): MacEntryInfo[];
  drops(): Record<string, number>;
  /** frames the vRouter sent out of a vif (its own counter) */
  txOf(vif: string): number;
  /** send frames with scapy from a host; `frames` is a Python expression of a list of packets */
  scapy(ns: string, frames: string): void;
}

export async function startL2Lab(lab: NetnsLab, agingS: number): Promise<L2Lab> {
  const host = (n: number, vlan: number, v6 = true) => ({
    name: `h${n}`,
    routerIf: `r${n}`,
    mac: hostMac(n),
    addrs: [`10.${vlan}.0.1${n}/24`, ...(v6 ? [`2001:db8:${vlan}::1${n}/64`] : [])],
    gw: [`10.${vlan}.0.1`, ...(v6 ? [`2001:db8:${vlan}::1`] : [])],
  });
  const { router, hosts } = lab.topology({
    router: 'r',
    hosts: [host(1, 100), host(2, 100), host(3, 200), { name: 'h4', routerIf: 'r4', mac: hostMac(4) }, host(5, 100, false)],
  });
  const vr = await startVrouter(lab, router, {
    workers: 1,
    vifs: [
      ...[1, 2, 3, 4, 5].map((n) => ({ name: `r${n}`, driver: 'af-packet' as const })),
      { name: 'irb.100', driver: 'irb', mac: IRB100_MAC, addresses: ['10.100.0.1/24', '2001:db8:100::1/64'] },
      { name: 'irb.200', driver: 'irb', mac: IRB200_MAC, addresses: ['10.200.0.1/24', '2001:db8:200::1/64'] },
    ],
    bridgePorts: {
      r1: { mode: 'access', vlan: 100, noLocalSwitching: true },
      r2: { mode: 'access', vlan: 100 },
      r3: { mode: 'access', vlan: 200, stormControl: { bitsPerSecond: STORM_BPS, burstBytes: 2000 } },
      r4: { mode: 'trunk', vlans: [200], nativeVlan: 100 },
      r5: { mode: 'access', vlan: 100, noLocalSwitching: true },
    },
    bridgeDomains: [
      { name: 'bd100', vlan: 100, irb: 'irb.100' },
      { name: 'bd200', vlan: 200, irb: 'irb.200', interfaceMacLimit: 4 },
    ],
    macAging: agingS,
  });
  // the introspect API straight (curl in the namespace): a cnr command is a node process, seconds on a busy machine
  const at = `127.0.0.1:${vr.port}`;
  return {
    lab,
    router,
    h: ['', ...hosts],
    vr,
    macs: (bd) => introspect<MacEntryInfo[]>(router, at, bd ? `/mac?bd=${bd}` : '/mac'),
    drops: () => introspect<Record<string, number>>(router, at, '/dropstats'),
    txOf: (vif) => introspect<{ name: string; txPackets: number }[]>(router, at, '/vif').find((v) => v.name === vif)!.txPackets,
    scapy: (ns, frames) => {
      lab.run(ns, ['/usr/bin/python3', '-c', `from scapy.all import *\nsendp(${frames}, iface='eth0', verbose=False)`], { timeout: 30000 });
    },
  };
}
