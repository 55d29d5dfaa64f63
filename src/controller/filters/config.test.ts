/**
 * IP filters in the configuration (docs/filters.md): what a unit's `filter input|output`
 * sends to the agent (ports and protocols by name as numbers, except prefixes, count-only
 * terms accepting), and the commit rules: everything the vRouter cannot match or do is
 * refused with the statement and the reason, as is a filter that does not fit its rules.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadSet } from '../config/notation-set.js';
import { validateTree } from '../config/validate.js';
import { ipFilterErrors, ipFiltersOf } from './config.js';
import { subtree } from '../config/tree.js';

test('a unit\'s filters in the wire\'s form: both families and directions, names as numbers, count-only terms accept', () => {
  const cfg = loadSet(`
set firewall family inet filter f4 term ssh from source-address 10.0.0.0/8
set firewall family inet filter f4 term ssh from source-address 10.1.0.0/16 except
set firewall family inet filter f4 term ssh from protocol tcp
set firewall family inet filter f4 term ssh from destination-port [ ssh 8000-8080 ]
set firewall family inet filter f4 term ssh then reject
set firewall family inet filter f4 term ping from icmp-type 8
set firewall family inet filter f4 term ping then count pings
set firewall family inet6 filter f6 term t then discard
set interfaces eth1 unit 0 family inet address 10.0.1.1/24
set interfaces eth1 unit 0 family inet filter input f4
set interfaces eth1 unit 0 family inet6 filter output f6
`);
  assert.deepEqual(validateTree(cfg, cfg), []);
  const unit = subtree(subtree(subtree(subtree(cfg['interfaces'])['eth1'])['unit'])['0']);
  assert.deepEqual(ipFiltersOf(cfg, unit), [
    {
      name: 'f4', family: 4, output: false, terms: [
        { name: 'ssh', action: 'FILTER_REJECT', source: [{ prefix: '10.0.0.0/8' }, { prefix: '10.1.0.0/16', except: true }], protocols: [6], destinationPorts: [{ low: 22, high: 22 }, { low: 8000, high: 8080 }] },
        { name: 'ping', action: 'FILTER_ACCEPT', icmpTypes: [{ low: 8, high: 8 }], count: 'pings' },
      ],
    },
    { name: 'f6', family: 6, output: true, terms: [{ name: 't', action: 'FILTER_DISCARD' }] },
  ]);
});

test('commit refuses what the vRouter cannot match or do, naming the statement', () => {
  const cfg = loadSet(`
set firewall family inet filter f term flags from tcp-flags syn
set firewall family inet filter f term flags then accept
set firewall family inet filter f term logged then log
set firewall family inet filter f term chained then next term
set firewall family inet filter f term gre from protocol gre
set firewall family inet filter f term gre from destination-port 80
set firewall family inet filter f term both then accept
set firewall family inet filter f term both then discard
set firewall family inet6 filter g term t from protocol tcp
set firewall family inet6 filter g term t from icmp-type 128
set interfaces eth1 unit 0 family inet filter input f
set interfaces eth1 unit 0 family inet6 filter input nope
set interfaces lo0 unit 0 family inet filter input f
`);
  assert.deepEqual(ipFilterErrors(cfg), [
    'firewall family inet filter f term flags from tcp-flags syn: not supported: the vRouter\'s filters match no TCP flags (docs/filters.md)',
    'firewall family inet filter f term logged then log: not supported: the vRouter\'s filters log no packets; count them (then count NAME)',
    'firewall family inet filter f term chained then next term: not supported: in the vRouter\'s filters the first matching term decides',
    'firewall family inet filter f term gre from: source-port and destination-port need protocol tcp, udp or sctp (or no protocol: tcp and udp), not gre',
    'firewall family inet filter f term both then: accept and discard exclude each other',
    'firewall family inet6 filter g term t from icmp-type: needs protocol icmp6 (or no protocol), not tcp',
    'interfaces eth1 unit 0 family inet6 filter input: firewall family inet6 filter \'nope\' is not defined',
    'interfaces lo0 unit 0 family filter: not supported: lo0 has no vRouter interface, and filters apply to forwarded packets only (docs/filters.md)',
  ]);
});

test('a filter whose terms need more rules than the data plane holds per interface is refused with the count', () => {
  const sources = Array.from({ length: 13 }, (_, k) => `10.${k}.0.0/16`).join(' ');
  const lines = [
    ...sources.split(' ').map((s) => `set firewall family inet filter big term t from source-address ${s}`),
    'set firewall family inet filter big term t from destination-port [ 22 23 80 443 179 ]',
    'set interfaces eth1 unit 0 family inet filter input big',
    'set interfaces eth2 unit 0 family inet filter output big',
  ];
  // 13 sources x (tcp, udp) x 5 ports = 130 rules, + the implicit discard and the inet6 permit
  const errors = ipFilterErrors(loadSet(lines.join('\n')));
  assert.deepEqual(errors, [
    'interfaces eth1 unit 0 family filter input: big need 132 data-plane rules (a term takes one per combination of its addresses, protocols and ports, plus one per family), at most 64',
    'interfaces eth2 unit 0 family filter output: big need 132 data-plane rules (a term takes one per combination of its addresses, protocols and ports, plus one per family), at most 64',
  ]);
});

test('bridge filters: IPv4 fields and output filters reach the bridge port; contradictions are refused', () => {
  const cfg = loadSet(`
set firewall family bridge filter b term web from ip-source-address 10.9.0.0/16
set firewall family bridge filter b term web from ip-protocol tcp
set firewall family bridge filter b term web from destination-port 80-81
set firewall family bridge filter b term web then discard
set firewall family bridge filter b term rest then accept
set bridge-domains bd100 vlan-id 100
set interfaces eth2 unit 0 family bridge interface-mode access
set interfaces eth2 unit 0 family bridge vlan-id 100
set interfaces eth2 unit 0 family bridge filter output b
`);
  assert.deepEqual(validateTree(cfg, cfg), []);
  const bad = loadSet(`
set firewall family bridge filter b term v6 from ether-type ipv6
set firewall family bridge filter b term v6 from ip-destination-address 10.0.0.0/8
set firewall family bridge filter b term gre from ip-protocol gre
set firewall family bridge filter b term gre from source-port 1
set firewall family bridge filter b term zero from ip-protocol 0
set interfaces eth2 unit 0 family bridge interface-mode access
set interfaces eth2 unit 0 family bridge vlan-id 100
set interfaces eth2 unit 0 family bridge filter output nope
`);
  assert.deepEqual(validateTree(bad, bad).filter((e) => e.includes('filter')), [
    'firewall family bridge filter b term v6 from: IPv4 fields match IPv4 frames only, not ether-type ipv6',
    'firewall family bridge filter b term gre from: source-port and destination-port need ip-protocol tcp, udp or sctp (or none), not gre',
    'firewall family bridge filter b term zero from ip-protocol 0: not supported: 0 means any protocol in the vRouter\'s bridge rules (leave ip-protocol out)',
    'interfaces eth2 unit 0 family bridge filter output: firewall family bridge filter \'nope\' is not defined',
  ]);
});
