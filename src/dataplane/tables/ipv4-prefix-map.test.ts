import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ipv4PrefixMap } from './ipv4-prefix-map.js';
import { bgpLikeLen4 as len4, mask4, rng } from '../../../test/support/random.js';

test('Ipv4PrefixMap: random sets, replaces and deletes agree with a Map at every step; it grows from its smallest size', () => {
  const r = rng(777);
  const m = new Ipv4PrefixMap();
  const ref = new Map<string, number>();
  const keys: [number, number][] = [];
  for (let step = 0; step < 200_000; step++) {
    const op = r() % 10;
    if (op < 6 || keys.length === 0) {
      // a new prefix, or (often) one already there: /0../32, the same address under several lengths
      const [a, l] = keys.length && op === 5 ? keys[r() % keys.length]! : (() => {
        const l = len4(r);
        return [(r() & mask4(l)) >>> 0, l] as [number, number];
      })();
      const v = r() % 100_000;
      const was = ref.get(`${a}/${l}`);
      assert.equal(m.set(a, l, v), was ?? -1);
      if (was === undefined) keys.push([a, l]);
      ref.set(`${a}/${l}`, v);
    } else if (op < 8) {
      const k = r() % keys.length;
      const [a, l] = keys[k]!;
      keys[k] = keys[keys.length - 1]!;
      keys.pop();
      assert.equal(m.delete(a, l), ref.get(`${a}/${l}`));
      ref.delete(`${a}/${l}`);
      assert.equal(m.has(a, l), false);
      assert.equal(m.delete(a, l), -1);
    } else {
      const [a, l] = keys[r() % keys.length]!;
      assert.equal(m.get(a, l), ref.get(`${a}/${l}`));
      // the same address under another length is another key
      const other = l === 32 ? 31 : l + 1;
      assert.equal(m.get(a, other, -7), ref.get(`${a}/${other}`) ?? -7);
    }
    assert.equal(m.size, ref.size);
  }
  const seen = new Map<string, number>();
  m.each((a, l, v) => {
    seen.set(`${a}/${l}`, v);
  });
  assert.deepEqual(seen, ref);
  for (const [a, l] of keys) assert.equal(m.get(a, l), ref.get(`${a}/${l}`));
});

test('Ipv4PrefixMap: a dense run of colliding /24s survives deletes from its middle (backward shift)', () => {
  const m = new Ipv4PrefixMap(4);
  const n = 5000;
  for (let i = 0; i < n; i++) m.set(((10 << 24) | (i << 8)) >>> 0, 24, i);
  for (let i = 0; i < n; i += 3) assert.equal(m.delete(((10 << 24) | (i << 8)) >>> 0, 24), i);
  for (let i = 0; i < n; i++) assert.equal(m.get(((10 << 24) | (i << 8)) >>> 0, 24), i % 3 === 0 ? -1 : i, `10.${i >> 8}.${i & 255}.0/24`);
  assert.equal(m.size, n - Math.ceil(n / 3));
  // 0.0.0.0/0 and 255.255.255.255/32 are keys like any other
  m.set(0, 0, 1);
  m.set(0xffffffff, 32, 2);
  assert.equal(m.get(0, 0), 1);
  assert.equal(m.get(0xffffffff, 32), 2);
  assert.equal(m.get(0, 1), -1);
});
