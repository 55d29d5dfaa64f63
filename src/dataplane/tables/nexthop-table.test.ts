import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDataplane } from '../dataplane.js';
import type { NexthopSpec } from '../api.js';
import { MAX_ECMP, MAX_LABELS, MAX_TUNNEL_PEERS, NexthopTable, NH_COMPOSITE, NH_DISCARD, NH_ENCAP, NH_FREE, NH_MPLS_UDP, NH_NEIGHBOR, NH_REJECT, NH_VRF } from './nexthop-table.js';
import { NeighborTable, NBR_INCOMPLETE, NBR_REACHABLE } from './neighbor-table.js';
import { rng } from '../../../test/support/random.js';

test('next-hop table: 10k random add/delete/route ops against a reference, read back from the shared arrays', async () => {
  const r = rng(57);
  const dp = createDataplane({ workers: 0, sizes: { maxNexthops: 1 << 12 } });
  const vifs = ['p1', 'p2', 'p3'];
  for (const [k, v] of vifs.entries()) await dp.addVif({ name: v, driver: 'memory', mac: `02:aa:00:00:00:0${k + 1}`, addresses: [`10.${k}.0.1/24`] });
  dp.addVrf('blue');
  const ref = new Map<number, { spec: NexthopSpec; refs: number }>();
  const routes = new Map<string, number>();
  const nt = dp.tables.nh;
  const mac = () => Array.from({ length: 6 }, (_, k) => (k === 0 ? 2 : r() & 255).toString(16).padStart(2, '0')).join(':');
  const labels = () => Array.from({ length: r() % (MAX_LABELS + 1) }, () => 16 + (r() % 1000));
  const l2 = () => [...ref].filter(([, n]) => n.spec.type === 'encap' || n.spec.type === 'neighbor' || n.spec.type === 'mpls-udp').map(([id]) => id);
  const check = (id: number) => {
    const n = ref.get(id);
    if (!n) return;
    const s = n.spec;
    const type = { receive: 1, discard: NH_DISCARD, reject: NH_REJECT, neighbor: NH_NEIGHBOR, encap: NH_ENCAP, 'mpls-udp': NH_MPLS_UDP, composite: NH_COMPOSITE, vrf: NH_VRF }[s.type];
    assert.equal(nt.type[id], type);
    if ('labels' in s && s.labels) assert.deepEqual(Array.from(nt.labels.subarray(id * MAX_LABELS, id * MAX_LABELS + nt.nlabels[id]!)), s.labels);
    if (s.type === 'encap') {
      assert.equal(nt.vif[id], dp.vifIndex(s.vif));
      assert.equal(Array.from(nt.dmac.subarray(id * 6, id * 6 + 6), (b) => b.toString(16).padStart(2, '0')).join(':'), s.dmac);
    }
    if (s.type === 'composite') assert.deepEqual(Array.from(nt.members.subarray(id * MAX_ECMP, id * MAX_ECMP + nt.nmembers[id]!)), s.members);
    if (s.type === 'vrf') assert.equal(nt.vrf[id], 1);
  };
  for (let op = 0; op < 10_000; op++) {
    const u = r() % 10;
    if (u < 4) {
      const kind = r() % 7;
      let spec: NexthopSpec;
      if (kind === 0) spec = { type: 'encap', vif: vifs[r() % 3]!, dmac: mac(), labels: labels() };
      else if (kind === 1) spec = { type: 'neighbor', vif: vifs[r() % 3]!, ip: `10.${r() % 3}.0.${2 + (r() % 200)}`, labels: labels() };
      else if (kind === 2) spec = { type: 'discard' };
      else if (kind === 3) spec = { type: 'reject' };
      else if (kind === 4) spec = { type: 'mpls-udp', src: '10.0.0.1', dst: `192.0.2.${r() % 250}`, labels: [16 + (r() % 1000)] };
      else if (kind === 5) spec = { type: 'vrf', vrf: 'blue' };
      else {
        const cands = l2();
        if (cands.length === 0) continue;
        spec = { type: 'composite', members: Array.from({ length: 1 + (r() % 8) }, () => cands[r() % cands.length]!) };
      }
      const id = dp.addNexthop(spec);
      assert.ok(!ref.has(id), 'a live id is never handed out twice');
      ref.set(id, { spec, refs: 0 });
      if (spec.type === 'composite') for (const m of spec.members) ref.get(m)!.refs++;
      check(id);
    } else if (u < 7) {
      const ids = [...ref.keys()];
      if (!ids.length) continue;
      const id = ids[r() % ids.length]!;
      const n = ref.get(id)!;
      if (n.refs > 0) {
        assert.throws(() => dp.delNexthop(id), /still used/);
      } else {
        dp.delNexthop(id);
        ref.delete(id);
        if (n.spec.type === 'composite') for (const m of n.spec.members) ref.get(m)!.refs--;
        assert.equal(nt.type[id], NH_FREE);
      }
    } else {
      const prefix = `198.51.${r() % 64}.0/24`;
      const old = routes.get(prefix);
      if (u === 9 && old !== undefined) {
        dp.delRoute('default', prefix);
        routes.delete(prefix);
        ref.get(old)!.refs--;
      } else {
        const ids = [...ref.keys()];
        if (!ids.length) continue;
        const id = ids[r() % ids.length]!;
        dp.addRoute('default', prefix, id);
        routes.set(prefix, id);
        ref.get(id)!.refs++;
        if (old !== undefined) ref.get(old)!.refs--;
      }
    }
  }
  const all = dp.listNexthops();
  assert.equal(all.filter((n) => n.type === 'glean').length, vifs.length, 'one glean next hop per vif');
  const listed = new Map(all.filter((n) => n.type !== 'glean' && !(n.type === 'receive' && !ref.has(n.id))).map((n) => [n.id, n]));
  assert.equal(listed.size, ref.size);
  for (const [id, n] of ref) {
    check(id);
    assert.equal(listed.get(id)!.refs, n.refs, `refs of ${id}`);
    assert.equal(listed.get(id)!.type, n.spec.type);
  }
  for (const [p, id] of routes) assert.deepEqual(dp.listRoutes('default', 4).find((x) => x.prefix === p), { prefix: p, nh: id });
});

test('neighbor table: random inserts, resolves and lookups against a reference map (with collisions)', () => {
  const r = rng(8);
  const t = NeighborTable.create(1024);
  const ref = new Map<string, { i: number; mac?: number[] }>();
  for (let op = 0; op < 5000; op++) {
    const vif = r() % 4;
    const fam = r() % 2 ? 4 : 6;
    const w = fam === 4 ? [0x0a000000 | (r() % 600), 0, 0, 0] : [0x20010db8, 0, 0, r() % 600];
    const key = `${vif}/${w.join(',')}`;
    let e = ref.get(key);
    if (!e) {
      const i = t.ensure(vif, fam, w);
      if (i < 0) { assert.ok(ref.size >= 1024 * 0.75); continue; }
      assert.equal(t.state[i], NBR_INCOMPLETE);
      ref.set(key, (e = { i }));
    } else {
      assert.equal(t.ensure(vif, fam, w), e.i, 'ensure finds the existing entry');
    }
    if (r() % 2) {
      const mac = Array.from({ length: 6 }, () => r() & 255);
      t.resolve(e.i, mac);
      e.mac = mac;
    }
  }
  for (const [key, e] of ref) {
    const [vif, ws] = key.split('/');
    const w = ws!.split(',').map(Number);
    assert.equal(t.find(Number(vif), w[0]!, w[1]!, w[2]!, w[3]!), e.i);
    if (e.mac) {
      assert.equal(t.state[e.i], NBR_REACHABLE);
      assert.deepEqual(Array.from(t.mac.subarray(e.i * 6, e.i * 6 + 6)), e.mac);
    }
  }
  assert.equal(t.find(9, 1, 2, 3, 4), -1);
});

test('neighbor table: removed entries are not found and their slots are reused', () => {
  const t = NeighborTable.create(64);
  const idx: number[] = [];
  for (let k = 0; k < 40; k++) idx.push(t.ensure(1, 4, [0x0a000000 + k, 0, 0, 0]));
  for (let k = 0; k < 40; k += 2) t.remove(idx[k]!);
  assert.equal(t.size, 20);
  for (let k = 0; k < 40; k++) assert.equal(t.find(1, 0x0a000000 + k, 0, 0, 0), k % 2 ? idx[k] : -1, `key ${k}`);
  const again: number[] = [];
  for (let k = 100; k < 120; k++) again.push(t.ensure(1, 4, [0x0a000000 + k, 0, 0, 0]));
  assert.ok(again.every((i) => i >= 0));
  assert.ok(again.some((i) => idx.includes(i)), 'a deleted slot was reused');
  for (let k = 1; k < 40; k += 2) assert.equal(t.find(1, 0x0a000000 + k, 0, 0, 0), idx[k], 'survivors still found');
  for (let k = 100; k < 120; k++) assert.equal(t.find(1, 0x0a000000 + k, 0, 0, 0), again[k - 100]);
});

test('tunnel peers: counted per next hop, against a reference map through adds, removes and reuse of freed slots', () => {
  const t = NexthopTable.create(16);
  const ref = new Map<number, number>();
  const r = rng(99);
  const addrs = Array.from({ length: 3000 }, () => r() | 1);
  for (let k = 0; k < 60_000; k++) {
    const a = addrs[r() % addrs.length]!;
    if (r() % 3 === 0 && (ref.get(a) ?? 0) > 0) {
      t.removePeer(a);
      ref.set(a, ref.get(a)! - 1);
    } else {
      assert.equal(t.addPeer(a), true);
      ref.set(a, (ref.get(a) ?? 0) + 1);
    }
    if (k % 5000 === 0) for (const x of addrs) assert.equal(t.hasPeer(x), (ref.get(x) ?? 0) > 0, `step ${k}: ${(x >>> 0).toString(16)}`);
  }
  for (const x of addrs) assert.equal(t.hasPeer(x), (ref.get(x) ?? 0) > 0);
  assert.equal(t.hasPeer(0x0a000001), addrs.includes(0x0a000001), 'an address never added');
  // every endpoint removed: the slots are empty again, not tombstones (a probe for a stranger stops at once)
  for (const [a, n] of ref) for (let q = 0; q < n; q++) t.removePeer(a);
  assert.ok(t.peers.every((x) => x === 0), 'all slots empty');
  // the set holds MAX_TUNNEL_PEERS distinct endpoints and refuses one more
  const full = NexthopTable.create(16);
  for (let k = 1; k <= MAX_TUNNEL_PEERS; k++) assert.equal(full.addPeer(k * 7919), true);
  assert.equal(full.addPeer(0x7fffffff), false);
});
