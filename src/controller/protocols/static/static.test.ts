import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadSet } from '../../config/notation-set.js';
import { Rib } from '../../rib/rib.js';
import type { ConfigTree } from '../../types.js';
import type { RibApi, RibRoute } from '../../rib/types.js';
import { StaticProtocol } from './static.js';
import { DirectProtocol } from '../direct/direct.js';

function staticOf(text: string): ConfigTree {
  const ro = loadSet(text)['routing-options'] as ConfigTree;
  return ro['static'] as ConfigTree;
}

/** a RibApi that records calls, in front of a real RIB */
function recording(rib: Rib): { api: RibApi; calls: string[] } {
  const calls: string[] = [];
  const api: RibApi = {
    announce: (t, s, r) => {
      calls.push(`+ ${t} ${s} ${r.prefix}`);
      return rib.announce(t, s, r);
    },
    withdraw: (t, s, p) => {
      calls.push(`- ${t} ${s} ${p}`);
      return rib.withdraw(t, s, p);
    },
    flush: (t, s) => rib.flush(t, s),
    get: (t, p) => rib.get(t, p),
    lookup: (t, a) => rib.lookup(t, a),
    watch: (t, a, cb) => rib.watch(t, a, cb),
  };
  return { api, calls };
}

const FLOATING = `
set routing-options static defaults preference 6
set routing-options static route 192.0.2.0/24 next-hop 10.0.0.2
set routing-options static route 192.0.2.0/24 qualified-next-hop 10.0.0.3
set routing-options static route 192.0.2.0/24 qualified-next-hop 10.0.0.4 metric 9
set routing-options static route 192.0.2.0/24 qualified-next-hop 10.0.0.5 preference 9
`;

test('qualified next hops form one candidate per preference and metric; defaults apply', () => {
  const rib = new Rib();
  const { api, calls } = recording(rib);
  new DirectProtocol(api).apply([{ name: 'eth1', instance: 'default', addresses: ['10.0.0.1/24'] }]);
  const sp = new StaticProtocol(api);
  sp.apply([{ table: 'inet.0', config: staticOf(FLOATING) }]);
  const shown = rib.show('inet.0', { prefix: '192.0.2.0/24', exact: true })[0]!.candidates;
  const seen = shown.map((c) => [c.source, c.route.preference, c.route.metric, c.route.nexthops.map((n) => n.gateway).join(',')]);
  assert.deepEqual(seen, [
    ['static', 6, 0, '10.0.0.2,10.0.0.3'],
    ['static/6/9', 6, 9, '10.0.0.4'],
    ['static/9/0', 9, 0, '10.0.0.5'],
  ]);
  // the same configuration again changes nothing in the RIB
  const before = calls.length;
  sp.apply([{ table: 'inet.0', config: staticOf(FLOATING) }]);
  assert.equal(calls.length, before);
  // a table that leaves the configuration is withdrawn entirely
  sp.apply([]);
  assert.equal(rib.show('inet.0', { prefix: '192.0.2.0/24', exact: true }).length, 0);
});

test('resolve (per route or by default) makes gateways recursive', () => {
  const rib = new Rib();
  const sp = new StaticProtocol(rib);
  sp.apply([{ table: 'inet.0', config: staticOf(`
set routing-options static defaults resolve
set routing-options static route 10.99.0.0/16 next-hop 192.0.2.1
set routing-options static route 10.98.0.0/16 qualified-next-hop 192.0.2.1 interface eth1
`) }]);
  const r = (p: string): RibRoute => rib.show('inet.0', { prefix: p, exact: true })[0]!.candidates[0]!.route;
  assert.deepEqual(r('10.99.0.0/16').nexthops, [{ gateway: '192.0.2.1', recursive: true }]);
  assert.deepEqual(r('10.98.0.0/16').nexthops, [{ gateway: '192.0.2.1', interface: 'eth1' }], 'an interface pins the next hop');
});

test('direct: a /32 address gives only the local route; removing an interface withdraws its routes', () => {
  const rib = new Rib();
  const dp = new DirectProtocol(rib);
  dp.apply([
    { name: 'eth1', instance: 'default', addresses: ['10.0.0.1/24', '2001:db8::1/64'] },
    { name: 'pod1', instance: 'blue', addresses: ['169.254.1.1/32'] },
  ]);
  assert.equal(rib.get('inet.0', '10.0.0.0/24')?.protocol, 'direct');
  assert.equal(rib.get('inet.0', '10.0.0.1/32')?.action, 'receive');
  assert.equal(rib.get('inet6.0', '2001:db8::/64')?.protocol, 'direct');
  assert.equal(rib.get('inet6.0', '2001:db8::1/128')?.protocol, 'local');
  assert.equal(rib.get('blue.inet.0', '169.254.1.1/32')?.protocol, 'local');
  assert.equal(rib.show('blue.inet.0').length, 1, 'no direct route for a /32');
  dp.apply([{ name: 'eth1', instance: 'default', addresses: ['10.0.0.1/24'] }]);
  assert.equal(rib.get('inet6.0', '2001:db8::/64'), undefined);
  assert.equal(rib.get('blue.inet.0', '169.254.1.1/32'), undefined);
  assert.equal(rib.get('inet.0', '10.0.0.0/24')?.protocol, 'direct');
});

test('inet.0 from two containers: routing-options static and rib inet.0 static are one set', () => {
  const rib = new Rib();
  const { api, calls } = recording(rib);
  const sp = new StaticProtocol(api);
  const fromRib = loadSet('set routing-options rib inet.0 static route 10.2.0.0/16 discard')['routing-options'] as ConfigTree;
  const ribStatic = ((fromRib['rib'] as ConfigTree)['inet.0'] as ConfigTree)['static'] as ConfigTree;
  sp.apply([
    { table: 'inet.0', config: staticOf('set routing-options static route 10.1.0.0/16 discard') },
    { table: 'inet.0', config: ribStatic },
  ]);
  assert.ok(rib.get('inet.0', '10.1.0.0/16'), 'the routing-options static route is kept');
  assert.ok(rib.get('inet.0', '10.2.0.0/16'), 'the rib inet.0 static route is there');
  assert.deepEqual(calls.filter((c) => c.startsWith('-')), [], 'neither withdraws the other');
  sp.apply([{ table: 'inet.0', config: ribStatic }]);
  assert.equal(rib.get('inet.0', '10.1.0.0/16'), undefined, 'removing one container withdraws only its routes');
  assert.ok(rib.get('inet.0', '10.2.0.0/16'));
});

test('a commit that changes one route of many rebuilds and announces that one; defaults and BFD state still reach every route they touch', () => {
  const rib = new Rib();
  const { api, calls } = recording(rib);
  const sp = new StaticProtocol(api);
  const pods = (n: number, extra = '') =>
    staticOf(Array.from({ length: n }, (_, i) => `set routing-options static route 10.1.${i}.2/32 qualified-next-hop 10.1.${i}.2 interface cnr${i}\n`).join('') + extra);
  sp.apply([{ table: 'blue.inet.0', config: pods(50) }]);
  assert.equal(calls.length, 50);
  const first = rib.show('blue.inet.0', { prefix: '10.1.7.2/32', exact: true })[0]!.candidates[0]!.route;
  // one more pod: one announcement, the others' route objects untouched
  calls.length = 0;
  sp.apply([{ table: 'blue.inet.0', config: pods(51) }]);
  assert.deepEqual(calls, ['+ blue.inet.0 static 10.1.50.2/32']);
  assert.equal(rib.show('blue.inet.0', { prefix: '10.1.7.2/32', exact: true })[0]!.candidates[0]!.route, first);
  // a route's own change is seen (its interface), and a pod gone is withdrawn
  calls.length = 0;
  const moved = pods(50, 'set routing-options static route 10.1.7.2/32 qualified-next-hop 10.1.7.2 interface cnr99\n');
  sp.apply([{ table: 'blue.inet.0', config: moved }]);
  assert.deepEqual(calls.sort(), ['+ blue.inet.0 static 10.1.7.2/32', '- blue.inet.0 static 10.1.50.2/32']);
  assert.equal(rib.show('blue.inet.0', { prefix: '10.1.7.2/32', exact: true })[0]!.candidates[0]!.route.nexthops[0]!.interface, 'cnr99');
  // the container's defaults change every route of it
  calls.length = 0;
  sp.apply([{ table: 'blue.inet.0', config: pods(50, 'set routing-options static defaults preference 7\n') }]);
  assert.equal(calls.length, 50);
  assert.equal(rib.show('blue.inet.0', { prefix: '10.1.3.2/32', exact: true })[0]!.candidates[0]!.route.preference, 7);

  // a next hop with BFD asks for its session's state at every apply (never taken from the memo)
  let up = true;
  let asked = 0;
  sp.useBfd({
    watch: () => () => {},
    view: () => {
      asked++;
      return { up } as ReturnType<NonNullable<Parameters<StaticProtocol['useBfd']>[0]>['view']>;
    },
  });
  const bfd = staticOf('set routing-options static route 192.0.2.0/24 next-hop 10.0.0.2\nset routing-options static route 192.0.2.0/24 bfd-liveness-detection minimum-interval 300\n');
  new DirectProtocol(api).apply([{ name: 'eth1', instance: 'default', addresses: ['10.0.0.1/24'] }]);
  sp.apply([{ table: 'inet.0', config: bfd }]);
  assert.equal(rib.show('inet.0', { prefix: '192.0.2.0/24', exact: true }).length, 1);
  up = false;
  sp.apply([{ table: 'inet.0', config: bfd }]);
  assert.equal(asked, 2);
  assert.equal(rib.show('inet.0', { prefix: '192.0.2.0/24', exact: true }).length, 0, 'the session went down: the route has no usable next hop');
});
