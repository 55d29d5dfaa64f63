/**
 * L2 switching with real frames between namespaces (docs/l2.md; the lab: test/lib/l2-lab.ts):
 * hosts' kernels ping through the vRouter as a switch (learning, flooding, unicast once
 * learned, no-local-switching, IRB routing between VLANs, IPv4 and IPv6), and a trunk host
 * sends 802.1Q-tagged frames with scapy (this kernel has no 802.1Q) read back with tshark
 * (VLAN isolation, trunk and native VLAN, a VLAN the trunk does not carry).
 * Limits, aging and storm control: l2-limits-netns.test.ts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { NetnsLab, needsRoot, ping, type PingResult } from '../lib/netns.js';
import { Capture } from '../lib/capture.js';
import { IRB200_MAC, hostMac, startL2Lab, type L2Lab } from '../lib/l2-lab.js';

const skip = needsRoot();
const lab = new NetnsLab('l2sw');
let L: L2Lab | undefined;

before(async () => {
  if (skip) return;
  L = await startL2Lab(lab, 300);
});

after(async () => {
  if (L) await L.vr.stop();
  await lab.cleanup();
});

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

test('learning and flooding: ARP is flooded (to the trunk untagged: its native VLAN), learned hosts are switched unicast; no-local-switching', { skip, timeout: 60000 }, async () => {
  const { h, macs, drops, scapy } = L!;
  const cap = await Capture.start(lab, h[4]!, 'eth0', 'arp or icmp');
  let first: PingResult | undefined;
  let second = '';
  try {
    first = ping(lab, h[1]!, '10.100.0.12', { count: 1, deadlineS: 3 });
    // learned now (the first exchange may flood while the learn events reach the main thread):
    // a second ping, of another size, must not reach the trunk at all
    await sleep(200);
    second = lab.run(h[1]!, ['ping', '-c', '5', '-i', '0.2', '-s', '300', '-W', '2', '10.100.0.12'], { allowFail: true });
    await sleep(300);
  } finally {
    await cap.stop();
  }
  assert.equal(first?.received, 1, first?.output);
  assert.match(second, /5 received/);
  const seen = cap.fields('arp || icmp', ['eth.src', 'vlan.id', 'arp.opcode', 'ip.len']);
  cap.remove();
  assert.ok(seen.some(([src, vlan, op]) => src === hostMac(1) && vlan === '' && op === '1'), `h1's ARP request reached the trunk untagged: ${JSON.stringify(seen)}`);
  assert.ok(!seen.some(([, , , len]) => len === '328'), `the learned hosts' pings were switched unicast, not flooded: ${JSON.stringify(seen)}`);
  const learned = macs('bd100').map((m) => `${m.mac} ${m.interface}`);
  assert.ok(learned.includes(`${hostMac(1)} r1`) && learned.includes(`${hostMac(2)} r2`), JSON.stringify(learned));
  // h1 and h5 are both no-local-switching: nothing passes between them; h2 reaches h5
  const blocked = ping(lab, h[1]!, '10.100.0.15', { count: 2, deadlineS: 3 });
  assert.equal(blocked.received, 0, blocked.output);
  const open = ping(lab, h[2]!, '10.100.0.15', { count: 3, deadlineS: 4 });
  assert.equal(open.received, 3, open.output);
  // (the ARP requests were not flooded between them, so nothing was dropped yet): a unicast
  // frame from h5 to h1, whose MAC is learned, is dropped and counted
  const before = drops().no_local_switching ?? 0;
  scapy(h[5]!, `[Ether(src='${hostMac(5)}', dst='${hostMac(1)}', type=0x88b5)/Raw(load=b'nls'*16)]`);
  await sleep(300);
  assert.equal((drops().no_local_switching ?? 0) - before, 1, 'counted');
});

test('IRB: hosts in VLAN 100 and VLAN 200 reach each other through the IRBs, IPv4 and IPv6', { skip, timeout: 60000 }, () => {
  const { h, macs } = L!;
  const v4 = ping(lab, h[1]!, '10.200.0.13', { count: 4, deadlineS: 6 });
  assert.equal(v4.received, 4, v4.output);
  assert.match(v4.output, /ttl=63/, 'routed once');
  const gw = ping(lab, h[3]!, '10.200.0.1', { count: 2, deadlineS: 4 });
  assert.equal(gw.received, 2, gw.output);
  const v6 = ping(lab, h[3]!, '2001:db8:100::11', { count: 4, deadlineS: 8 });
  assert.equal(v6.received, 4, v6.output);
  const irb = macs('bd200').find((m) => m.static);
  assert.deepEqual([irb?.mac, irb?.interface], [IRB200_MAC, 'irb.200']);
});

test('VLAN isolation and the trunk: tagged 200 from the trunk reaches VLAN 200 only, untagged; answers go back tagged; a VLAN the trunk does not carry is dropped', { skip, timeout: 60000 }, async () => {
  const { h, drops, scapy } = L!;
  const [c3, c1, c4] = await Promise.all([Capture.start(lab, h[3]!, 'eth0', 'ether proto 0x88b5'), Capture.start(lab, h[1]!, 'eth0', 'ether proto 0x88b5'), Capture.start(lab, h[4]!, 'eth0', 'vlan and arp')]);
  const before = drops().l2_vlan_not_allowed ?? 0;
  try {
    // a frame in VLAN 200, one in VLAN 300 (not on the trunk), and an ARP for h3 in VLAN 200,
    // whose reply must come back tagged 200
    scapy(h[4]!, `[Ether(src='${hostMac(4)}', dst='ff:ff:ff:ff:ff:ff')/Dot1Q(vlan=200, type=0x88b5)/Raw(load=b'v200'*12),
      Ether(src='${hostMac(4)}', dst='ff:ff:ff:ff:ff:ff')/Dot1Q(vlan=300, type=0x88b5)/Raw(load=b'v300'*12),
      Ether(src='${hostMac(4)}', dst='ff:ff:ff:ff:ff:ff')/Dot1Q(vlan=200)/ARP(op=1, hwsrc='${hostMac(4)}', psrc='10.200.0.99', pdst='10.200.0.13')]`);
    await sleep(700);
  } finally {
    await Promise.all([c3.stop(), c1.stop(), c4.stop()]);
  }
  const at3 = c3.fields('eth.type == 0x88b5', ['vlan.id', 'eth.src']);
  const at1 = c1.fields('eth.type == 0x88b5', ['vlan.id']);
  const replies = c4.fields('arp.opcode == 2', ['vlan.id', 'arp.src.proto_ipv4']);
  for (const c of [c1, c3, c4]) c.remove();
  assert.deepEqual(at3, [['', hostMac(4)]], 'the VLAN 200 frame delivered once, untagged, to the access port of VLAN 200');
  assert.equal(at1.length, 0, 'nothing leaks into VLAN 100');
  assert.deepEqual(replies, [['200', '10.200.0.13']], "h3's ARP reply leaves the trunk tagged 200");
  assert.equal((drops().l2_vlan_not_allowed ?? 0) - before, 1, 'the VLAN 300 frame is dropped and counted');
});
