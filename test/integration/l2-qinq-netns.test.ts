/**
 * QinQ (802.1ad) with real frames between namespaces (docs/l2.md, "QinQ"): the vRouter
 * (af-packet vifs) as a provider edge switch with a dot1q-tunneling access port (h1), a
 * provider trunk of TPID 0x88a8 (h2) and a plain access port of the same S-VLAN (h3). This
 * kernel has no 802.1Q/802.1ad, so scapy builds the frames and tshark reads them back: the
 * customer's C-tagged and untagged frames leave the trunk S-tagged with the C-tag intact, S-tagged
 * frames reach the tunnel port with their C-tag, and an 802.1Q-tagged frame on the provider
 * trunk is dropped and counted.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { NetnsLab, needsRoot } from '../lib/netns.js';
import { Capture } from '../lib/capture.js';
import { startVrouter, type RunningVrouter } from '../lib/vrouter.js';
import { introspect } from '../lib/traffic.js';

const skip = needsRoot();
const lab = new NetnsLab('l2qq');
const mac = (n: number): string => `02:4e:00:00:00:0${n}`;
let vr: RunningVrouter | undefined;
let h: string[] = [];
let router = '';

before(async () => {
  if (skip) return;
  const t = lab.topology({ router: 'r', hosts: [1, 2, 3].map((n) => ({ name: `h${n}`, routerIf: `r${n}`, mac: mac(n) })) });
  router = t.router;
  h = ['', ...t.hosts];
  vr = await startVrouter(lab, router, {
    workers: 1,
    vifs: [1, 2, 3].map((n) => ({ name: `r${n}`, driver: 'af-packet' as const })),
    bridgePorts: {
      r1: { mode: 'access', vlan: 500, dot1qTunneling: true },
      r2: { mode: 'trunk', vlans: [500], tpid: 0x88a8 },
      r3: { mode: 'access', vlan: 500 },
    },
    bridgeDomains: [{ name: 'svlan500', vlan: 500 }],
  });
});

after(async () => {
  if (vr) await vr.stop();
  await lab.cleanup();
});

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
const scapy = (ns: string, frames: string): void => {
  lab.run(ns, ['/usr/bin/python3', '-c', `from scapy.all import *\nsendp(${frames}, iface='eth0', verbose=False)`], { timeout: 30000 });
};
const drops = (): Record<string, number> => introspect<Record<string, number>>(router, `127.0.0.1:${vr!.port}`, '/dropstats');

test('QinQ: a tunnel port and an 802.1ad provider trunk, C-tags intact both ways; 802.1Q on the provider trunk dropped and counted', { skip, timeout: 60000 }, async () => {
  const caps = await Promise.all([1, 2, 3].map((n) => Capture.start(lab, h[n]!, 'eth0')));
  const before = drops().l2_vlan_not_allowed ?? 0;
  try {
    // the customer (h1): one frame C-tagged 10, one untagged; then the provider side (h2): an
    // S-tagged frame (S-VLAN 500, C-VLAN 20) to h1, learned now, and an 802.1Q-tagged one
    scapy(h[1]!, `[Ether(src='${mac(1)}', dst='ff:ff:ff:ff:ff:ff')/Dot1Q(vlan=10, type=0x88b5)/Raw(load=b'c10'*16),
      Ether(src='${mac(1)}', dst='ff:ff:ff:ff:ff:ff', type=0x88b5)/Raw(load=b'unt'*16)]`);
    await sleep(300);
    scapy(h[2]!, `[Ether(src='${mac(2)}', dst='${mac(1)}')/Dot1AD(vlan=500)/Dot1Q(vlan=20, type=0x88b5)/Raw(load=b's500'*12),
      Ether(src='${mac(2)}', dst='ff:ff:ff:ff:ff:ff')/Dot1Q(vlan=500, type=0x88b5)/Raw(load=b'q500'*12)]`);
    await sleep(700);
  } finally {
    await Promise.all(caps.map((c) => c.stop()));
  }
  const fields = ['eth.src', 'eth.type', 'ieee8021ad.id', 'vlan.id'];
  // the test's frames only (the hosts' kernels send IPv6 of their own), as each host saw them, its own included
  const ours = ['c10c10', 'untunt', 's500s500', 'q500q500'].map((p) => `frame contains "${p}"`).join(' || ');
  const [at1, at2, at3] = caps.map((c) => c.fields(ours, fields));
  for (const c of caps) c.remove();
  // at the provider trunk: both customer frames S-tagged 500, the first with its C-tag 10 inside (then h2's own two)
  assert.deepEqual(at2, [[mac(1), '0x88a8', '500', '10'], [mac(1), '0x88a8', '500', ''], [mac(2), '0x88a8', '500', '20'], [mac(2), '0x8100', '', '500']], JSON.stringify(at2));
  // at the tunnel port (after h1's own two): the S-tagged frame without its S-tag, the C-tag 20 intact
  assert.deepEqual(at1, [[mac(1), '0x8100', '', '10'], [mac(1), '0x88b5', '', ''], [mac(2), '0x8100', '', '20']], JSON.stringify(at1));
  // at the plain access port of S-VLAN 500: the customer's frames (the C-tag kept as payload), not the unicast to h1 nor the 802.1Q frame
  assert.deepEqual(at3, [[mac(1), '0x8100', '', '10'], [mac(1), '0x88b5', '', '']], JSON.stringify(at3));
  assert.equal((drops().l2_vlan_not_allowed ?? 0) - before, 1, 'the 802.1Q frame on the provider trunk dropped and counted');
});
