/**
 * The injector's messages, checked with cnr's own codec (src/wire/bgp) — the bulk UPDATEs
 * the benchmark sends, the OPEN, and the crafted UPDATEs the RFC 7606 interop tests rely on —
 * and its session handshake against a minimal speaker on loopback. No root needed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { BgpInjector, END_OF_RIB_IPV4, attr, bgpMessage, encodeBulkUpdates, encodeOpen, encodeRawUpdate, encodeRealisticUpdates, KEEPALIVE, MSG_OPEN } from '../../bench/lib/bgp-injector.js';
import { DEFAULT_OPTIONS, decodeOpen, decodeUpdate } from '../../src/wire/bgp/index.js';

/** Split a buffer of back-to-back BGP messages into (type, body). */
function split(buf: Uint8Array): { type: number; body: Uint8Array }[] {
  const out: { type: number; body: Uint8Array }[] = [];
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let p = 0; p < buf.length; ) {
    for (let i = 0; i < 16; i++) assert.equal(buf[p + i], 0xff, 'marker');
    const len = v.getUint16(p + 16);
    out.push({ type: buf[p + 18]!, body: buf.subarray(p + 19, p + len) });
    p += len;
  }
  return out;
}

test('bulk UPDATEs decode to exactly the prefixes asked for', () => {
  const { bytes, updates } = encodeBulkUpdates({ count: 1003, perUpdate: 100, nextHop: '100.64.0.1', asPath: [65001] });
  const msgs = split(bytes);
  assert.equal(updates, 11);
  assert.equal(msgs.length, 11);
  const seen: string[] = [];
  for (const m of msgs) {
    assert.equal(m.type, 2);
    const d = decodeUpdate(m.body, DEFAULT_OPTIONS);
    assert.equal(d.kind, 'update');
    if (d.kind !== 'update') continue;
    assert.equal(d.outcome, 'ok');
    assert.deepEqual(d.problems, []);
    assert.equal(d.update.attrs.nextHop, '100.64.0.1');
    assert.deepEqual(d.update.attrs.asPath?.map((s) => [...s.asns]), [[65001]]);
    assert.equal(d.update.attrs.origin, 0);
    seen.push(...d.update.nlri);
  }
  assert.equal(seen.length, 1003);
  assert.equal(seen[0], '10.0.0.0/28');
  assert.equal(seen[1], '10.0.0.16/28');
  assert.equal(seen[1002], '10.0.62.160/28');
  assert.equal(new Set(seen).size, 1003);
});

test('1M /28s fit in 10.0.0.0/8 (the last is 10.0.0.0 + 999999 x 16) and 5 per UPDATE gives 200k messages', () => {
  const { bytes, updates } = encodeBulkUpdates({ count: 1_000_000, perUpdate: 5, nextHop: '100.64.0.1', asPath: [65001] });
  assert.equal(updates, 200_000);
  const last = split(bytes.subarray(bytes.length - bytes.length / updates));
  const d = decodeUpdate(last[0]!.body, DEFAULT_OPTIONS);
  assert.ok(d.kind === 'update');
  if (d.kind === 'update') assert.equal(d.update.nlri.at(-1), '10.244.35.240/28');
  assert.throws(() => encodeBulkUpdates({ count: 1_000_001, perUpdate: 100, nextHop: '1.1.1.1', asPath: [1], base: '255.255.255.0' }), /overflow/);
});

test('the realistic feed: every prefix once, spread over the asked number of attribute sets, each UPDATE one set; two seeds disagree on the sets but not on which prefixes share one', () => {
  const feed = (seed: number, localAs: number) => {
    const { bytes, updates } = encodeRealisticUpdates({ count: 20_000, sets: 2_000, perUpdate: 100, nextHop: '100.64.0.1', localAs, seed });
    const msgs = split(bytes);
    assert.equal(msgs.length, updates);
    const setOf = new Map<string, string>();
    const pathLens = new Set<number>();
    let meds = 0, communities = 0;
    for (const m of msgs) {
      const d = decodeUpdate(m.body, DEFAULT_OPTIONS);
      assert.ok(d.kind === 'update' && d.outcome === 'ok' && d.problems.length === 0);
      if (d.kind !== 'update') continue;
      const a = d.update.attrs;
      assert.equal(a.asPath?.[0]?.asns[0], localAs, 'the sender\'s AS first');
      pathLens.add(a.asPath![0]!.asns.length);
      if (a.med !== undefined) meds++;
      if (a.communities?.length) communities++;
      const set = JSON.stringify(a);
      for (const p of d.update.nlri) {
        assert.ok(p.endsWith('/24'));
        assert.equal(setOf.has(p), false, `${p} twice`);
        setOf.set(p, set);
      }
    }
    return { setOf, updates, pathLens, meds, communities };
  };
  const a = feed(1, 65001);
  const b = feed(2, 65003);
  assert.equal(a.setOf.size, 20_000);
  assert.equal(new Set(a.setOf.values()).size, 2_000, 'as many distinct attribute sets as asked');
  assert.ok(a.updates >= 2_000);
  assert.deepEqual([...a.pathLens].sort(), [3, 4, 5, 6, 7, 8], 'AS paths of 3 to 8 ASes');
  assert.ok(a.meds > 0 && a.meds < a.updates && a.communities > 0 && a.communities < a.updates);
  assert.deepEqual([...b.setOf.keys()].sort(), [...a.setOf.keys()].sort(), 'both senders announce the same prefixes');
  // prefixes that share a set with one sender share one with the other (the set is the prefix's)
  const group = (m: Map<string, string>) => {
    const by = new Map<string, string[]>();
    for (const [p, s] of m) by.set(s, [...(by.get(s) ?? []), p]);
    return new Set([...by.values()].map((ps) => ps.sort().join(' ')));
  };
  assert.deepEqual(group(b.setOf), group(a.setOf));
  let differ = 0;
  for (const [p, s] of a.setOf) if (JSON.parse(s).asPath[0].asns.length !== JSON.parse(b.setOf.get(p)!).asPath[0].asns.length) differ++;
  assert.ok(differ > 20_000 / 2, `AS path lengths differ between the senders for most prefixes (${differ})`);
});

test('OPEN carries 4-octet AS, both unicast families and route refresh', () => {
  const [m] = split(encodeOpen({ localAs: 4_200_000_000, routerId: '10.0.0.1', holdTime: 90 }));
  assert.equal(m!.type, MSG_OPEN);
  const o = decodeOpen(m!.body);
  assert.ok(!('kind' in o), JSON.stringify(o));
  if ('kind' in o) return;
  assert.equal(o.myAs, 23456);
  assert.equal(o.holdTime, 90);
  assert.equal(o.capabilities.as4, 4_200_000_000);
  assert.ok(o.capabilities.routeRefresh);
  assert.deepEqual(o.capabilities.multiprotocol.map((f) => `${f.afi}/${f.safi}`).sort(), ['1/1', '2/1']);
});

const base = [...attr(0x40, 1, [0]), ...attr(0x40, 2, [2, 1, 0, 0, 0xfd, 0xed]), ...attr(0x40, 3, [10, 0, 0, 3])];

test('crafted UPDATEs are what the RFC 7606 tests say they are', () => {
  const dup = split(encodeRawUpdate({ attributes: [...base, ...attr(0xc0, 8, [0xfd, 0xed, 0, 1]), ...attr(0xc0, 8, [0xfd, 0xed, 0, 2])], nlri: ['198.18.7.0/24'] }))[0]!;
  const d1 = decodeUpdate(dup.body, DEFAULT_OPTIONS);
  assert.ok(d1.kind === 'update' && d1.outcome === 'ok' && d1.problems.length > 0, JSON.stringify(d1));
  if (d1.kind === 'update') assert.deepEqual(d1.update.attrs.communities, [(65005 << 16) + 1 >>> 0]);
  const overrun = split(encodeRawUpdate({ attributes: [...base, ...attr(0xc0, 8, [0xfd, 0xed, 0, 3], 8)], nlri: ['198.18.8.0/24'] }))[0]!;
  const d2 = decodeUpdate(overrun.body, DEFAULT_OPTIONS);
  assert.ok(d2.kind === 'update' && d2.outcome === 'treat-as-withdraw', JSON.stringify(d2));
  if (d2.kind === 'update') assert.deepEqual(d2.update.nlri, ['198.18.8.0/24']);
  const withdraw = split(encodeRawUpdate({ withdrawn: ['198.18.8.0/24'] }))[0]!;
  const d3 = decodeUpdate(withdraw.body, DEFAULT_OPTIONS);
  assert.ok(d3.kind === 'update');
  if (d3.kind === 'update') assert.deepEqual(d3.update.withdrawn, ['198.18.8.0/24']);
  const eor = decodeUpdate(split(END_OF_RIB_IPV4)[0]!.body, DEFAULT_OPTIONS);
  assert.ok(eor.kind === 'update' && eor.endOfRib);
});

test('the injector establishes a session and delivers every byte to a speaker on loopback', async () => {
  const bulk = encodeBulkUpdates({ count: 50_000, perUpdate: 100, nextHop: '127.0.0.1', asPath: [65001] });
  let received = 0;
  let sawOpen = false;
  const done = new Promise<void>((resolve) => {
    const server = createServer((sock) => {
      sock.on('data', (d: Buffer) => {
        if (!sawOpen) {
          // the injector speaks first: OPEN; answer with ours and a KEEPALIVE
          sawOpen = d[18] === MSG_OPEN;
          sock.write(Buffer.concat([encodeOpen({ localAs: 65002, routerId: '127.0.0.2' }), KEEPALIVE]));
          received -= d.readUInt16BE(16);
        }
        received += d.length;
        if (received >= bulk.bytes.length + END_OF_RIB_IPV4.length + KEEPALIVE.length) {
          sock.end(bgpMessage(3, [6, 2]));
          server.close();
          resolve();
        }
      });
    }).listen(0, '127.0.0.1');
    server.once('listening', () => {
      const port = (server.address() as AddressInfo).port;
      const inj = new BgpInjector({ peer: '127.0.0.1', port, localAs: 65001, routerId: '127.0.0.1' });
      void (async () => {
        await inj.connect(10_000);
        assert.equal(inj.peerOpen?.asn, 65002);
        assert.ok(inj.peerHas(65));
        await inj.send(bulk.bytes);
        await inj.send(END_OF_RIB_IPV4);
        await inj.until('NOTIFICATION', () => inj.notification !== undefined, 10_000);
        assert.deepEqual([inj.notification?.code, inj.notification?.subcode], [6, 2]);
        inj.close();
      })();
    });
  });
  await done;
  assert.ok(sawOpen);
});
