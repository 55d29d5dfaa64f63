/**
 * L2 switching configured in Junos form through the real controller (docs/l2.md): the
 * commit reaches the agent (bridge ports, IRB units, bridge domains, MAC aging) and the data
 * plane switches and routes frames injected on memory vifs; `show bridge mac-table`, `show
 * bridge domain`, `show interfaces IF extensive` (a port's L2 counters) and `clear bridge
 * mac-table` read the agent back; bad lines are refused with
 * their line and reason; deleting the domain takes it out of the data plane.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startControllerStack, type ControllerStack } from '../support/controller-stack.js';
import * as F from '../support/frames.js';

let S: ControllerStack;
let dp: ControllerStack['dp'];
let fib: ControllerStack['fib'];
const run = (...commands: string[]) => S.run(...commands);

before(async () => {
  S = await startControllerStack('l2ctl');
  ({ dp, fib } = S);
});

after(async () => {
  await S?.stop();
});

const BCAST = 'ff:ff:ff:ff:ff:ff';
const H1 = '02:00:00:00:01:01';
const H2 = '02:00:00:00:02:02';

const deliver = (port: string, frame: Uint8Array) => S.deliver(port, frame);

test('L2 configuration in Junos form: ports, domains, IRB routing, show and clear commands', { timeout: 30_000 }, async () => {
  const c = await run(
    'configure private',
    'set interfaces t1 unit 0 family bridge interface-mode trunk',
    'set interfaces t1 unit 0 family bridge vlan-id-list [ 100 200-210 ]',
    'set interfaces t1 native-vlan-id 300',
    'set interfaces a1 unit 0 family bridge interface-mode access',
    'set interfaces a1 unit 0 family bridge vlan-id 100',
    'set interfaces a1 unit 0 family bridge storm-control sc1',
    'set interfaces a1 unit 0 family bridge no-local-switching',
    'set interfaces a2 unit 0 family bridge interface-mode access',
    'set interfaces a2 unit 0 family bridge vlan-id 200',
    'set bridge-domains bd100 vlan-id 100',
    'set bridge-domains bd100 routing-interface irb.100',
    'set bridge-domains bd100 bridge-options interface-mac-limit 1000',
    'set bridge-domains bd100 bridge-options mac-table-size 100000',
    'set bridge-domains bd200 vlan-id 200',
    'set bridge-domains bd200 routing-interface irb.200',
    'set bridge-domains bd300 vlan-id 300',
    'set interfaces irb unit 100 family inet address 10.100.0.1/24',
    'set interfaces irb unit 100 family inet6 address 2001:db8:100::1/64',
    'set interfaces irb unit 200 family inet address 10.200.0.1/24',
    'set protocols l2-learning global-mac-table-aging-time 300',
    'set forwarding-options storm-control-profiles sc1 all bandwidth-level 1000',
    'commit',
  );
  assert.equal(c.failed, undefined, JSON.stringify(c.failed));
  await fib.whenIdle(10_000);
  assert.deepEqual(dp.bridgePort('t1'), { mode: 'trunk', vlans: [100, 200, 201, 202, 203, 204, 205, 206, 207, 208, 209, 210], nativeVlan: 300 });
  assert.deepEqual(dp.bridgePort('a1'), { mode: 'access', vlan: 100, noLocalSwitching: true, stormControl: { bitsPerSecond: 1_000_000 } });
  const doms = dp.listBridgeDomains();
  assert.deepEqual(doms.map((d) => `${d.name} ${d.vlan} ${d.irb ?? '-'} ${d.interfaces.map((i) => i.name).sort().join(',')}`), ['bd100 100 irb.100 a1,t1', 'bd200 200 irb.200 a2,t1', 'bd300 300 - t1']);

  // H1 on a1 (VLAN 100) asks for its gateway; H2 on a2 (VLAN 200); H1 pings H2 through the IRBs
  const irb100 = dp.listVifs().find((v) => v.name === 'irb.100')!.mac;
  const irb200 = dp.listVifs().find((v) => v.name === 'irb.200')!.mac;
  await deliver('a1', F.eth(BCAST, H1, 0x0806, F.arp(1, H1, '10.100.0.10', '00:00:00:00:00:00', '10.100.0.1')));
  const reply = dp.memoryDriver('a1').collect();
  assert.equal(reply.length, 1);
  assert.equal(F.hex(reply[0]!, 6, 6), irb100);
  const t1 = dp.memoryDriver('t1').collect();
  assert.ok(t1.length >= 1 && t1.every((f) => f[12] === 0x81 && ((f[14]! << 8) | f[15]!) === 100), 'the request is flooded to the trunk, tagged 100');
  await deliver('a2', F.eth(BCAST, H2, 0x0806, F.arp(1, H2, '10.200.0.10', '00:00:00:00:00:00', '10.200.0.1')));
  dp.memoryDriver('a2').collect();
  dp.memoryDriver('t1').collect();
  const ping = F.eth(irb100, H1, 0x0800, F.ipv4({ src: '10.100.0.10', dst: '10.200.0.10', proto: 1, payload: F.icmpEcho(8) }));
  await deliver('a1', ping);
  const got = dp.memoryDriver('a2').collect().filter((f) => f[12] === 0x08 && f[13] === 0x00);
  assert.equal(got.length, 1, 'the ping routed from VLAN 100 into VLAN 200');
  assert.deepEqual([F.hex(got[0]!, 0, 6), F.hex(got[0]!, 6, 6)], [H2, irb200]);

  const macs = await run('show bridge mac-table');
  assert.match(macs.last.text, /Bridging domain : bd100, VLAN : 100/);
  assert.match(macs.last.text, new RegExp(`${H1}\\s+D\\s+a1\\s+\\d+`));
  assert.match(macs.last.text, new RegExp(`${irb100}\\s+S\\s+irb\\.100`));
  const one = await run('show bridge mac-table bridge-domain bd200');
  assert.doesNotMatch(one.last.text, /bd100/);
  assert.match(one.last.text, new RegExp(`${H2}\\s+D\\s+a2`));
  const dom = await run('show bridge domain');
  assert.match(dom.last.text, /bd100\s+100\s+t1 \(trunk, tagged\)/);
  assert.match(dom.last.text, /routing-interface irb\.100; 1 MACs learned; 0 MAC moves; mac-table-size 100000, interface-mac-limit 1000/);
  // show interfaces IF extensive: a1's L2 counters (its ARP broadcast flooded; a VLAN it does not carry dropped)
  await deliver('a1', F.eth(BCAST, H1, 0x0800, F.ipv4({ src: '10.100.0.10', dst: '10.100.0.99', payload: F.udp(1, 2) }), 100));
  dp.memoryDriver('t1').collect();
  const ext = await run('show interfaces a1 extensive');
  assert.match(ext.last.text, /Physical interface: a1, Enabled/);
  assert.match(ext.last.text, /Protocol bridge, Interface mode: access, VLAN: 100/);
  assert.match(ext.last.text, /MACs learned\s+:\s+1 \(interface-mac-limit 1000\)/);
  assert.match(ext.last.text, /Flooded frames\s+:\s+1\n/);
  assert.match(ext.last.text, /Flood copies\s+:\s+\d+/);
  assert.match(ext.last.text, /VLAN drops\s+:\s+1\n/);
  assert.match(ext.last.text, /Storm control drops\s+:\s+0\n/);
  const data = ext.last.data as { bridge: { macs: number; counters: Record<string, number> } };
  assert.equal(data.bridge.macs, 1);
  assert.equal(data.bridge.counters.l2_vlan_not_allowed, 1);
  const unit = await run('show interfaces t1.0 extensive');
  assert.match(unit.last.text, /Interface mode: trunk, VLANs: 100 200 .* 210, Native VLAN: 300/);
  assert.doesNotMatch((await run('show interfaces a1')).last.text, /L2 switching statistics/);
  assert.match((await run('show interfaces nosuch extensive')).failed?.error ?? '', /no interface 'nosuch'/);
  const cleared = await run('clear bridge mac-table bridge-domain bd100');
  assert.match(cleared.last.text, /^1 MAC entries cleared/);
  assert.equal(dp.listMacs('bd100').filter((m) => !m.static).length, 0);

  // bad lines are refused with their line and reason, and change nothing
  const bad1 = await run('configure private', 'set interfaces t1 unit 0 family bridge vlan-id-list 210-200');
  assert.match(bad1.failed?.error ?? '', /210-200.*is not a VLAN id or range/);
  const bad2 = await run('configure private', 'set interfaces a2 unit 0 family bridge vlan-id-list 5', 'set bridge-domains bd400 vlan-id 200', 'set bridge-domains bd400 routing-interface irb.7', 'commit');
  assert.match(bad2.failed?.error ?? '', /an access port has one vlan-id, no vlan-id-list/);
  assert.match(bad2.failed?.error ?? '', /bridge-domains bd400 vlan-id 200: already the VLAN of bridge domain bd200/);
  assert.match(bad2.failed?.error ?? '', /bridge-domains bd400 routing-interface irb\.7: no interfaces irb unit 7/);
  await run('rollback 0');
  assert.equal(dp.listBridgeDomains().length, 3);

  // a domain deleted: gone from the data plane
  const del = await run('configure private', 'delete bridge-domains bd300', 'commit');
  assert.equal(del.failed, undefined, JSON.stringify(del.failed));
  await fib.whenIdle(10_000);
  assert.deepEqual(dp.listBridgeDomains().map((d) => d.name), ['bd100', 'bd200']);
});

test('interface-mac-limit packet-action in Junos form: reaches the data plane, shown, refused without a limit or with another action', { timeout: 30_000 }, async () => {
  const c = await run('configure private', 'set bridge-domains bd100 bridge-options interface-mac-limit packet-action none', 'commit');
  assert.equal(c.failed, undefined, JSON.stringify(c.failed));
  await fib.whenIdle(10_000);
  const bd = dp.listBridgeDomains().find((d) => d.name === 'bd100')!;
  assert.equal(bd.interfaceMacLimit, 1000);
  assert.equal(bd.interfaceMacLimitAction, 'none');
  assert.match((await run('show bridge domain')).last.text, /interface-mac-limit 1000 packet-action none/);
  const shown = await run('show configuration bridge-domains bd100 | display set');
  assert.match(shown.last.text, /set bridge-domains bd100 bridge-options interface-mac-limit 1000\n/);
  assert.match(shown.last.text, /set bridge-domains bd100 bridge-options interface-mac-limit packet-action none/);
  const bad1 = await run('configure private', 'set bridge-domains bd100 bridge-options interface-mac-limit packet-action shutdown');
  assert.match(bad1.failed?.error ?? '', /packet-action.*shutdown/);
  const bad2 = await run('configure private', 'set bridge-domains bd200 bridge-options interface-mac-limit packet-action drop', 'commit');
  assert.match(bad2.failed?.error ?? '', /bridge-domains bd200 bridge-options interface-mac-limit packet-action: needs the limit/);
  await run('rollback 0');
  // back to the default: the action leaves the data plane
  const d = await run('configure private', 'delete bridge-domains bd100 bridge-options interface-mac-limit packet-action', 'commit');
  assert.equal(d.failed, undefined, JSON.stringify(d.failed));
  await fib.whenIdle(10_000);
  assert.equal(dp.listBridgeDomains().find((x) => x.name === 'bd100')!.interfaceMacLimitAction, 'drop');
});

test('mac-table-size packet-action in Junos form: reaches the data plane beside the limit, shown, refused without a limit', { timeout: 30_000 }, async () => {
  const c = await run('configure private', 'set bridge-domains bd100 bridge-options mac-table-size packet-action none', 'commit');
  assert.equal(c.failed, undefined, JSON.stringify(c.failed));
  await fib.whenIdle(10_000);
  const bd = dp.listBridgeDomains().find((d) => d.name === 'bd100')!;
  assert.deepEqual([bd.macTableSize, bd.macTableSizeAction, bd.interfaceMacLimitAction], [100000, 'none', 'drop']);
  assert.match((await run('show bridge domain')).last.text, /mac-table-size 100000 packet-action none/);
  const shown = await run('show configuration bridge-domains bd100 | display set');
  assert.match(shown.last.text, /set bridge-domains bd100 bridge-options mac-table-size 100000\n/);
  assert.match(shown.last.text, /set bridge-domains bd100 bridge-options mac-table-size packet-action none/);
  const bad = await run('configure private', 'set bridge-domains bd200 bridge-options mac-table-size packet-action drop', 'commit');
  assert.match(bad.failed?.error ?? '', /bridge-domains bd200 bridge-options mac-table-size packet-action: needs the limit/);
  await run('rollback 0');
  const d = await run('configure private', 'delete bridge-domains bd100 bridge-options mac-table-size packet-action', 'commit');
  assert.equal(d.failed, undefined, JSON.stringify(d.failed));
  await fib.whenIdle(10_000);
  assert.equal(dp.listBridgeDomains().find((x) => x.name === 'bd100')!.macTableSizeAction, 'drop');
});

test('QinQ in Junos form (family bridge ether-type on a trunk, dot1q-tunneling on an access port): reaches the data plane, refused on the other mode', { timeout: 30_000 }, async () => {
  const c = await run('configure private', 'set interfaces t1 unit 0 family bridge ether-type 0x88a8', 'set interfaces a2 unit 0 family bridge dot1q-tunneling', 'commit');
  assert.equal(c.failed, undefined, JSON.stringify(c.failed));
  await fib.whenIdle(10_000);
  assert.equal(dp.bridgePort('t1')?.tpid, 0x88a8);
  assert.equal(dp.bridgePort('a2')?.dot1qTunneling, true);
  assert.match((await run('show interfaces t1')).last.text, /Interface mode: trunk, .*, TPID: 0x88a8/);
  assert.match((await run('show interfaces a2')).last.text, /Interface mode: access, VLAN: 200, dot1q-tunneling/);
  const bad1 = await run('configure private', 'set interfaces t1 unit 0 family bridge ether-type 0x0800');
  assert.match(bad1.failed?.error ?? '', /0x0800/);
  const bad2 = await run('configure private', 'set interfaces a1 unit 0 family bridge ether-type 0x88a8', 'set interfaces t1 unit 0 family bridge dot1q-tunneling', 'commit');
  assert.match(bad2.failed?.error ?? '', /interfaces a1 unit 0 family bridge ether-type: only a trunk tags/);
  assert.match(bad2.failed?.error ?? '', /interfaces t1 unit 0 family bridge dot1q-tunneling: only an access port tunnels/);
  await run('rollback 0');
  // removed: back to 802.1Q
  const d = await run('configure private', 'delete interfaces t1 unit 0 family bridge ether-type', 'delete interfaces a2 unit 0 family bridge dot1q-tunneling', 'commit');
  assert.equal(d.failed, undefined, JSON.stringify(d.failed));
  await fib.whenIdle(10_000);
  assert.equal(dp.bridgePort('t1')?.tpid, undefined);
  assert.equal(dp.bridgePort('a2')?.dot1qTunneling, undefined);
});
