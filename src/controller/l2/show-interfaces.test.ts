/**
 * `show interfaces IF [extensive]` formatting (show-interfaces.ts): the L2 block of a bridge
 * port (VLAN drops summed from their two reasons), none for an L3 interface, `IF.0` found as IF,
 * and the refusals. The data path behind it is tested in test/integration/l2-controller.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PbInterfaceInfo } from '../../api/proto.js';
import { findInterface, formatInterface, showInterface } from './show-interfaces.js';

const base = { driver: 'af-packet', vrf: 'default', mtu: 1500, addresses: [], rxPackets: 10, txPackets: 5, drops: 3, rxBytes: 1000, txBytes: 500 };
const port: PbInterfaceInfo = {
  ...base,
  id: 1,
  name: 'eth1',
  mac: '02:00:00:00:00:01',
  bridge: { mode: 'trunk', vlans: [10, 20], nativeVlan: 30, macs: 4, macLimit: 100, counters: { flooded: 7, flood_copies: 14, l2_vlan_not_allowed: 2, l2_no_domain: 1, storm_control: 5 } },
};
const l3: PbInterfaceInfo = { ...base, id: 2, name: 'eth2', mac: '02:00:00:00:00:02', addresses: ['10.0.0.1/24'] };

test('a bridge port: mode, VLANs and, with extensive, its L2 counters', () => {
  const t = formatInterface(port, true);
  assert.match(t, /^Physical interface: eth1, Enabled\n/);
  assert.match(t, /Input {2}bytes {2}:\s+1000\n/);
  assert.match(t, /Protocol bridge, Interface mode: trunk, VLANs: 10 20, Native VLAN: 30/);
  assert.match(t, /MACs learned\s+:\s+4 \(interface-mac-limit 100\)/);
  assert.match(t, /Flooded frames\s+:\s+7\n/);
  assert.match(t, /Flood copies\s+:\s+14\n/);
  assert.match(t, /Storm control drops\s+:\s+5\n/);
  assert.match(t, /VLAN drops\s+:\s+3\n/, 'l2_vlan_not_allowed + l2_no_domain');
  assert.match(t, /Filter drops\s+:\s+0\n/, 'a counter the agent did not send is 0');
  assert.doesNotMatch(formatInterface(port, false), /L2 switching statistics/);
  assert.doesNotMatch(formatInterface(l3, true), /Protocol bridge|L2 switching/);
  assert.match(formatInterface(l3, true), /addresses: 10\.0\.0\.1\/24/);
});

test('IF or IF.0; an unknown interface and bad arguments are refused', () => {
  assert.equal(findInterface([l3, port], 'eth1.0'), port);
  assert.equal(findInterface([l3, port], 'eth1'), port);
  assert.equal(findInterface([l3, port], 'eth9'), undefined);
  const r = showInterface([port], ['eth1', 'extensive']);
  assert.deepEqual((r.data as { bridge: { counters: Record<string, number> } }).bridge.counters.flooded, 7);
  assert.throws(() => showInterface([port], ['eth9', 'extensive']), /no interface 'eth9'/);
  assert.throws(() => showInterface([port], []), /expected 'IF/);
  assert.throws(() => showInterface([port], ['eth1', 'verbose']), /expected 'IF/);
});
