import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveAll, sessionKey, validateBgp } from './config.js';
import type { ConfigTree } from '../../types.js';

const TREE: ConfigTree = {
  'routing-options': { 'router-id': '10.255.0.1', 'autonomous-system': 65001 },
  protocols: {
    bgp: {
      'hold-time': 30,
      import: ['top'],
      group: {
        ext: {
          type: 'external',
          'peer-as': 65002,
          import: ['grp'],
          family: { inet: { unicast: { 'prefix-limit': { maximum: 1000, teardown: true } } }, inet6: { unicast: {} } },
          neighbor: { '10.0.0.2': {}, '10.0.0.3': { 'peer-as': 65003, 'hold-time': 9, passive: true, import: ['nbr'] } },
        },
        int: { type: 'internal', cluster: '1.1.1.1', neighbor: { '10.255.0.2': {} } },
      },
    },
  },
  'routing-instances': {
    blue: {
      'instance-type': 'vrf',
      protocols: { bgp: { group: { ce: { type: 'external', 'peer-as': 65100, neighbor: { '192.168.1.2': {} } } } } },
    },
  },
};

test('neighbors inherit from their group and from bgp; the most specific level wins', () => {
  const [master, blue] = resolveAll(TREE);
  const n2 = master!.peers.get('10.0.0.2')!;
  const n3 = master!.peers.get('10.0.0.3')!;
  assert.equal(n2.holdTime, 30);
  assert.deepEqual(n2.import, ['grp']);
  assert.equal(n2.peerAs, 65002);
  assert.equal(n2.multihopTtl, undefined, 'single-hop eBGP');
  assert.deepEqual(n2.families.map((f) => [f.key, f.table]), [['1/1', 'inet.0'], ['2/1', 'inet6.0']]);
  assert.deepEqual(n2.families[0]!.prefixLimit, { maximum: 1000, teardown: true });
  assert.equal(n3.holdTime, 9);
  assert.equal(n3.peerAs, 65003);
  assert.equal(n3.passive, true);
  assert.deepEqual(n3.import, ['nbr']);
  const i = master!.peers.get('10.255.0.2')!;
  assert.equal(i.type, 'internal');
  assert.equal(i.peerAs, 65001);
  assert.equal(i.cluster, '1.1.1.1');
  assert.deepEqual(i.import, ['top']);
  assert.deepEqual(i.families.map((f) => f.key), ['1/1'], 'default family: the transport family');
  assert.ok(i.gracefulRestart, 'graceful restart on by default');
  assert.equal(blue!.name, 'blue');
  assert.equal(blue!.routerId, '10.255.0.1', 'routing instances inherit the router ID');
  assert.deepEqual(blue!.peers.get('192.168.1.2')!.families.map((f) => f.table), ['blue.inet.0']);
});

test('session keys change only with settings negotiated in OPEN', () => {
  const [m] = resolveAll(TREE);
  const n = m!.peers.get('10.0.0.2')!;
  assert.equal(sessionKey(n, m!), sessionKey({ ...n, import: ['other'], export: ['x'] }, m!));
  assert.notEqual(sessionKey(n, m!), sessionKey({ ...n, holdTime: 60 }, m!));
  assert.notEqual(sessionKey(n, m!), sessionKey({ ...n, authenticationKey: 'k' }, m!));
});

test('validation: AS numbers, router ID, duplicate neighbors', () => {
  assert.deepEqual(validateBgp(TREE), []);
  const t = structuredClone(TREE) as ConfigTree & { protocols: { bgp: { group: Record<string, ConfigTree> } } };
  t.protocols.bgp.group.int!.neighbor = { '10.0.0.2': {} };
  t.protocols.bgp.group.bad = { type: 'internal', 'peer-as': 65009, neighbor: { '10.9.9.9': {} } };
  const errs = validateBgp(t).join('\n');
  assert.match(errs, /neighbor 10\.0\.0\.2: already configured in group ext/);
  assert.match(errs, /an internal peer must have peer-as 65001/);
  assert.match(validateBgp({ protocols: { bgp: { group: { g: { type: 'external', 'peer-as': 2, neighbor: { '10.0.0.1': {} } } } } } }).join('\n'), /autonomous-system is required/);
});

test('a restarted controller is the restarting speaker only where graceful-restart is configured', async () => {
  const { createBgp } = await import('./index.js');
  const { Rib } = await import('../../rib/rib.js');
  const tree = (gr: boolean): ConfigTree => ({
    'routing-options': { 'router-id': '10.255.0.1', 'autonomous-system': 65001 },
    protocols: { bgp: { ...(gr ? { 'graceful-restart': {} } : {}), group: { g: { type: 'external', 'peer-as': 65002, neighbor: { '10.0.0.2': { passive: true } } } } } },
  });
  const cases: [restarting: boolean, gr: boolean, want: boolean][] = [[true, true, true], [true, false, false], [false, true, false]];
  for (const [restarting, gr, want] of cases) {
    const bgp = createBgp(new Rib(), { port: false, restarting, forwardingPreserved: true });
    try {
      await bgp.consumer.apply(tree(gr), {});
      const inst = bgp.speaker.instances.get('master')!;
      assert.equal(inst.restarting, want, `restarting=${restarting} graceful-restart=${gr}`);
      const caps = inst.neighbors.get('10.0.0.2')!.ourCapabilities().gracefulRestart;
      assert.equal(caps?.restarting ?? false, want);
      assert.equal(caps?.families[0]?.forwardingPreserved ?? false, want, 'F bit');
    } finally {
      await bgp.stop();
    }
  }
  // `cnr start`: the vRouter restarted too, so the R bit without F bits
  const bgp = createBgp(new Rib(), { port: false, restarting: true, forwardingPreserved: false });
  try {
    await bgp.consumer.apply(tree(true), {});
    const caps = bgp.speaker.instances.get('master')!.neighbors.get('10.0.0.2')!.ourCapabilities().gracefulRestart!;
    assert.equal(caps.restarting, true);
    assert.equal(caps.families[0]!.forwardingPreserved, false);
  } finally {
    await bgp.stop();
  }
});
