/**
 * `firewall family bridge` filters in the configuration (bridge-filter.ts, docs/l2.md): IPv6
 * fields in Junos form reach the wire with their version, lists expand into one wire term per
 * combination (in order, all with the term's name and counter), and the commit refuses what
 * the vRouter's bridge rules cannot match, naming the statement.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadSet } from '../config/notation-set.js';
import { validateTree } from '../config/validate.js';
import { bridgeFilterErrors, bridgeFilterOf } from './bridge-filter.js';

test('IPv6 fields in Junos form: prefixes, next header, payload protocol, ports, ICMPv6 types', () => {
  const cfg = loadSet(`
set firewall family bridge filter f term web6 from ipv6-destination-address 2001:db8:100::/64
set firewall family bridge filter f term web6 from ipv6-payload-protocol tcp
set firewall family bridge filter f term web6 from destination-port http
set firewall family bridge filter f term web6 then discard
set firewall family bridge filter f term web6 then count web6
set firewall family bridge filter f term hbh from ipv6-next-header hop-by-hop
set firewall family bridge filter f term hbh then discard
set firewall family bridge filter f term ping from ether-type ipv6
set firewall family bridge filter f term ping from icmp-type 128-129
set firewall family bridge filter f term ping then discard
set firewall family bridge filter f term rest then accept
`);
  assert.deepEqual(bridgeFilterErrors(cfg), []);
  assert.deepEqual(bridgeFilterOf(cfg, 'f'), [
    { name: 'web6', discard: true, count: 'web6', ipVersion: 6, ipDestination: '2001:db8:100::/64', ipProtocol: 6, destinationPort: { low: 80, high: 80 } },
    { name: 'hbh', discard: true, ipVersion: 6, ipv6NextHeader: 256 },
    { name: 'ping', discard: true, etherType: 0x86dd, ipVersion: 6, icmpType: { low: 128, high: 129 } },
    { name: 'rest', discard: false },
  ]);
});

test('lists expand into one wire term per combination, in order; ether-type [ ipv4 ipv6 ] makes ports match both versions', () => {
  const cfg = loadSet(`
set firewall family bridge filter f term macs from source-mac-address [ 02:00:00:00:00:01 02:00:00:00:00:02/47 ]
set firewall family bridge filter f term macs from vlan-id [ 100 200-201 ]
set firewall family bridge filter f term macs then discard
set firewall family bridge filter f term dns from ether-type [ ipv4 ipv6 ]
set firewall family bridge filter f term dns from destination-port [ 53 853 ]
set firewall family bridge filter f term dns then accept
`);
  assert.deepEqual(bridgeFilterErrors(cfg), []);
  const wire = bridgeFilterOf(cfg, 'f');
  assert.deepEqual(wire.map((t) => [t.name, t.sourceMac, t.vlanId]).slice(0, 6), [
    ['macs', '02:00:00:00:00:01/48', 100], ['macs', '02:00:00:00:00:01/48', 200], ['macs', '02:00:00:00:00:01/48', 201],
    ['macs', '02:00:00:00:00:02/47', 100], ['macs', '02:00:00:00:00:02/47', 200], ['macs', '02:00:00:00:00:02/47', 201],
  ]);
  assert.deepEqual(wire.slice(6), [
    { name: 'dns', discard: false, etherType: 0x0800, destinationPort: { low: 53, high: 53 } },
    { name: 'dns', discard: false, etherType: 0x0800, destinationPort: { low: 853, high: 853 } },
    { name: 'dns', discard: false, etherType: 0x86dd, ipVersion: 6, destinationPort: { low: 53, high: 53 } },
    { name: 'dns', discard: false, etherType: 0x86dd, ipVersion: 6, destinationPort: { low: 853, high: 853 } },
  ]);
});

test('commit refuses what bridge rules cannot match, and a filter past 64 rules, naming the statement', () => {
  const bad = loadSet(`
set firewall family bridge filter b term mixed from ip-source-address 10.0.0.0/8
set firewall family bridge filter b term mixed from ipv6-destination-address 2001:db8::/32
set firewall family bridge filter b term v6arp from ipv6-payload-protocol udp
set firewall family bridge filter b term v6arp from ether-type arp
set firewall family bridge filter b term v4in6 from ip-protocol udp
set firewall family bridge filter b term v4in6 from ether-type ipv6
set firewall family bridge filter b term zero from ipv6-payload-protocol 0
set firewall family bridge filter b term icmp from ether-type ipv6
set firewall family bridge filter b term icmp from icmp-type 128
set firewall family bridge filter b term icmp from destination-port 80
set firewall family bridge filter b term icmp4 from ip-protocol udp
set firewall family bridge filter b term icmp4 from icmp-type 8
set firewall family bridge filter b term gre6 from ipv6-payload-protocol gre
set firewall family bridge filter b term gre6 from source-port 1
set firewall family bridge filter big term t from source-mac-address [ 02:00:00:00:00:01 02:00:00:00:00:02 02:00:00:00:00:03 ]
set firewall family bridge filter big term t from vlan-id 1-22
`);
  assert.deepEqual(bridgeFilterErrors(bad), [
    'firewall family bridge filter b term mixed from: IPv4 fields (ip-source-address) and IPv6 fields (ipv6-destination-address) in one term: a frame carries one IP version (make a term of each)',
    'firewall family bridge filter b term v6arp from: IPv6 fields match IPv6 frames only, not ether-type arp',
    'firewall family bridge filter b term v4in6 from: IPv4 fields match IPv4 frames only, not ether-type ipv6',
    "firewall family bridge filter b term zero from ipv6-payload-protocol 0: not supported: 0 means any protocol in the vRouter's bridge rules (leave ipv6-payload-protocol out)",
    'firewall family bridge filter b term icmp from icmp-type: ICMP has no ports (source-port, destination-port)',
    'firewall family bridge filter b term icmp4 from icmp-type: needs ip-protocol icmp (or none), not udp',
    'firewall family bridge filter b term gre6 from: source-port and destination-port need ipv6-payload-protocol tcp, udp or sctp (or none), not gre',
    'firewall family bridge filter big: needs 66 data-plane rules (a term takes one per combination of its values), at most 64',
  ]);
  // the same through the commit check
  assert.ok(validateTree(bad, bad).includes('firewall family bridge filter big: needs 66 data-plane rules (a term takes one per combination of its values), at most 64'));
  assert.throws(() => loadSet('set firewall family bridge filter b term t from icmp-type 300'), /not an ICMP type or range/);
  assert.throws(() => loadSet('set firewall family bridge filter b term t from ipv6-next-header bogus'), /not an IPv6 next header/);
  assert.throws(() => loadSet('set firewall family bridge filter b term t from ipv6-source-address 10.0.0.0/8'), /prefix/);
});
