import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bumpAfter } from './kfast.js';
import { KFAST_MUTATORS, KFAST_NEIGHBOR_WRITERS, VRouterDataplane } from '../dataplane.js';

test('bumpAfter: a wrapped method bumps once it returns, once it throws, and an async one again when it settles', async () => {
  let bumps = 0;
  const o = {
    n: 0,
    add(k: number): number {
      this.n += k;
      return this.n;
    },
    fail(): void {
      throw new Error('refused');
    },
    async later(): Promise<string> {
      await new Promise((r) => setTimeout(r, 5));
      return 'done';
    },
  };
  bumpAfter(o, ['add', 'fail', 'later'], () => bumps++);
  assert.equal(o.add(2), 2, 'the result and `this` are the method\'s');
  assert.equal(bumps, 1);
  assert.throws(() => o.fail(), /refused/);
  assert.equal(bumps, 2, 'a refused change bumps too (it may have written part of the tables)');
  const p = o.later();
  assert.equal(bumps, 3);
  assert.equal(await p, 'done');
  assert.equal(bumps, 4);
  assert.throws(() => bumpAfter(o, ['nope'], () => {}), /no method nope/);
});

/**
 * Every method of the data plane either ends the kernel fast path's epoch (a mutator) or is
 * named here with the reason it changes nothing the cache holds. A new method fails this test
 * until it is put in one list or the other.
 */
const NOT_MUTATORS: Record<string, string> = {
  constructor: 'makes the tables',
  ...Object.fromEntries(['listAcls', 'aclCounters', 'aclRule', 'listMacs', 'listBridgeDomains', 'bridgePort', 'listVifs', 'bridgeInfo', 'listNexthops', 'routeCounts', 'listRoutes', 'listLabels', 'listNeighbors', 'dropStats', 'counters', 'stats', 'kernelFastCounters', 'sum', 'poolAvailable', 'frameCounters', 'vifIndex', 'memoryDriver', 'hostSettled'].map((m) => [m, 'reads'])),
  ...Object.fromEntries(['vrfId', 'parseStaticNeighbors', 'parseAddresses', 'parse', 'routeKey', 'routeNh', 'sysMap', 'needVif', 'checkLabels', 'checkL2Nh', 'frameRefusal', 'memifOptions'].map((m) => [m, 'parses or looks up'])),
  ...Object.fromEntries(['writeAddresses', 'syncSystemRoutes', 'allocNh', 'freeNh', 'deref', 'ref', 'writeLabels', 'insertRoute', 'removeRoute', 'install', 'uninstall', 'releaseIlm', 'kfastAttach', 'attachDriver', 'detachDriver'].map((m) => [m, 'writes only when a mutator calls it'])),
  ...Object.fromEntries(['addRoute', 'addRoute4', 'delRoute', 'delRoute4'].map((m) => [m, 'routes: insertRoute and removeRoute end the epochs of the /8s a prefix covers'])),
  ...Object.fromEntries(['setMacAging', 'clearMacs', 'ageMacs'].map((m) => [m, 'the MAC table: bridge ports, which are never fast'])),
  ...Object.fromEntries(['onFrames', 'onVifChange', 'sendFrame', 'deliverFrames', 'vifChanged', 'post', 'syncHost'].map((m) => [m, 'frames and listeners, no table'])),
  ...Object.fromEntries(['poll', 'runUntilIdle'].map((m) => [m, 'runs the graph; its learn events go through applyEvents'])),
  ...Object.fromEntries(['ensureVhost', 'start', 'stop', 'spawnWorkers'].map((m) => [m, 'starts or stops; vifs come through addVif'])),
};

test('every data-plane method is a mutator that ends the epoch, or is named as one that changes nothing the cache holds', () => {
  const methods = Object.getOwnPropertyNames(VRouterDataplane.prototype);
  const watched = new Set<string>([...KFAST_MUTATORS, ...KFAST_NEIGHBOR_WRITERS]);
  const unclassified = methods.filter((m) => !watched.has(m) && NOT_MUTATORS[m] === undefined);
  assert.deepEqual(unclassified, [], 'classify these in dataplane.ts KFAST_MUTATORS or in this test');
  for (const m of watched) assert.ok(methods.includes(m), `${m} is not a method of the data plane`);
  for (const m of Object.keys(NOT_MUTATORS)) assert.ok(!watched.has(m), `${m} is in both lists`);
});

test('--kernel-fast-path on|off: cnr start and cnr vrouter take it into the data plane\'s options; anything else is refused', async () => {
  const { parseNodeArgs } = await import('../../cmd/node.js');
  const { parseVrouterArgs } = await import('../../cmd/vrouter.js');
  assert.equal(parseNodeArgs(['--kernel-fast-path', 'on'], 'start').kernelFastPath, true);
  assert.equal(parseNodeArgs(['--kernel-fast-path', 'off'], 'start').kernelFastPath, false);
  assert.equal(parseNodeArgs([], 'start').kernelFastPath, undefined, 'unset: CNR_KERNEL_FAST_PATH decides');
  assert.throws(() => parseNodeArgs(['--kernel-fast-path', 'yes'], 'start'), /--kernel-fast-path yes: expected on or off/);
  assert.throws(() => parseNodeArgs(['--kernel-fast-path', 'on'], 'controller'), /cnr controller runs no vRouter/);
  assert.deepEqual(parseVrouterArgs(['--kernel-fast-path', 'on', '--max-mtu', '9000']), { dataplaneOptions: { kernelFastPath: true, maxMtu: 9000 } });
  assert.throws(() => parseVrouterArgs(['--kernel-fast-path', '1']), /expected on or off/);
});

test('CNR_KERNEL_FAST_PATH (1, 0 or unset: on) and CNR_KERNEL_FAST_PATH_ENTRIES: anything else refuses the start with the reason', async () => {
  const { kernelFastPathFromEnv, cacheEntriesFromEnv, DEFAULT_CACHE_ENTRIES } = await import('./kfast.js');
  assert.equal(kernelFastPathFromEnv({}), true);
  assert.equal(kernelFastPathFromEnv({ CNR_KERNEL_FAST_PATH: '1' }), true);
  assert.equal(kernelFastPathFromEnv({ CNR_KERNEL_FAST_PATH: '0' }), false);
  assert.throws(() => kernelFastPathFromEnv({ CNR_KERNEL_FAST_PATH: 'off' }), /CNR_KERNEL_FAST_PATH=off: expected 0 \(off\) or 1 \(on\)/);
  assert.equal(cacheEntriesFromEnv({}), DEFAULT_CACHE_ENTRIES);
  assert.equal(cacheEntriesFromEnv({ CNR_KERNEL_FAST_PATH_ENTRIES: '65536' }), 65536);
  for (const bad of ['100', '1e9', 'many', '2048.5']) assert.throws(() => cacheEntriesFromEnv({ CNR_KERNEL_FAST_PATH_ENTRIES: bad }), /CNR_KERNEL_FAST_PATH_ENTRIES=/);
});

test('a worker\'s cache filler: a destination once per burst and epoch (a flow\'s first burst is one candidate), none for a vif not attached', async () => {
  const { FastFill, KF_CACHE_FD, KF_IFINDEX } = await import('./install.js');
  const { EPOCH6 } = await import('./program.js');
  const buf = new SharedArrayBuffer(4 * (KF_IFINDEX + 8));
  const view = new Int32Array(buf);
  view.fill(1, 0, KF_IFINDEX - 2);
  view[KF_CACHE_FD] = 1_000_000; // (no such fd: nothing is put here, only chosen)
  view[KF_IFINDEX + 1] = 11;
  view[KF_IFINDEX + 2] = 12;
  const f = new FastFill({ buf });
  const dst = (10 << 24) | 5;
  f.begin();
  for (let k = 0; k < 50; k++) f.add(1, dst, 2, 0, 1500, 0, 0, 0);
  assert.equal(f.n, 1, 'the same destination from the same vif: one candidate');
  f.add(1, dst + 1, 2, 0, 1500, 0, 0, 0);
  f.add(2, dst, 1, 0, 1500, 0, 0, 0);
  f.add6(1, 0x20010db8, 0, 0, 9, 2, 0, 1500, 0, 0, 0);
  f.add6(1, 0x20010db8, 0, 0, 9, 2, 0, 1500, 0, 0, 0);
  assert.equal(f.n, 4, 'another destination, another in vif, an IPv6 one (once)');
  f.add(3, dst, 2, 0, 1500, 0, 0, 0);
  f.add(1, dst, 3, 0, 1500, 0, 0, 0);
  assert.equal(f.n, 4, 'vif 3 has no fast path: neither in nor out');
  f.flush();
  assert.equal(f.n, 0);
  // the next burst: still recent in the same epochs; its /8's epoch ended: a candidate again, IPv6's likewise
  f.begin();
  f.add(1, dst, 2, 0, 1500, 0, 0, 0);
  assert.equal(f.n, 0);
  Atomics.add(view, 10, 1);
  Atomics.add(view, EPOCH6, 1);
  f.begin();
  f.add(1, dst, 2, 0, 1500, 0, 0, 0);
  f.add(1, (11 << 24) | 5, 2, 0, 1500, 0, 0, 0);
  f.add6(1, 0x20010db8, 0, 0, 9, 2, 0, 1500, 0, 0, 0);
  assert.equal(f.n, 3);
});
