/**
 * The programmer's IP filters (docs/filters.md) against a real in-memory data plane: the
 * filters of InterfaceUpdates programmed per direction, packets per term read back
 * (listFilters), a changed filter replaced, a removed one gone, one that does not fit
 * refused with a reason and nothing left half set; and the expansion of terms into rules
 * (api/filter-rules.ts: lists, except prefixes, ports without protocol) checked packet by
 * packet against a direct reading of Junos's semantics on random filters and packets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Programmer } from './programmer.js';
import { createDataplane, type VRouterDataplane } from '../dataplane/dataplane.js';
import { parseIp, parsePrefix, prefixContains } from '../lib/addr.js';
import * as F from '../../test/support/frames.js';
import { rng } from '../../test/support/random.js';
import type { PbInterfaceUpdate, PbIpFilter, PbIpFilterTerm } from '../api/proto.js';

const H1 = '02:00:00:00:01:01';
const H2 = '02:00:00:00:02:02';
const R1 = '02:aa:00:00:00:01';
const R2 = '02:aa:00:00:00:02';

const eth1 = (filters: PbIpFilter[] = []): PbInterfaceUpdate => ({ name: 'eth1', driver: 'MEMORY', mac: R1, addresses: ['10.0.1.1/24', '2001:db8:1::1/64'], filters });
const eth2 = (filters: PbIpFilter[] = []): PbInterfaceUpdate => ({ name: 'eth2', driver: 'MEMORY', mac: R2, addresses: ['10.0.2.1/24', '2001:db8:2::1/64'], filters });

async function setup(): Promise<{ dp: VRouterDataplane; p: Programmer }> {
  const dp = createDataplane({ workers: 0 });
  const p = new Programmer(dp);
  for (const m of [eth1(), eth2()]) assert.deepEqual((await p.applyInterface(m)).failures, []);
  const nh = dp.addNexthop({ type: 'encap', vif: 'eth2', dmac: H2 });
  dp.addRoute('default', '198.51.100.0/24', nh);
  dp.addRoute('default', '2001:db8:100::/48', nh);
  return { dp, p };
}

/** Sends frames in on eth1; how many left on eth2. */
function through(dp: VRouterDataplane, ...frames: Uint8Array[]): number {
  for (const f of frames) assert.ok(dp.memoryDriver('eth1').inject(f));
  dp.runUntilIdle();
  dp.memoryDriver('eth1').collect();
  return dp.memoryDriver('eth2').collect().length;
}

const udp4 = (src: string, dport: number) => F.eth(R1, H1, 0x0800, F.ipv4({ src, dst: '198.51.100.7', payload: F.udp(1000, dport) }));
const udp6 = (src: string, dport: number) => F.eth(R1, H1, 0x86dd, F.ipv6({ src, dst: '2001:db8:100::7', next: 17, payload: F.udp(1000, dport) }));

const noDns: PbIpFilter = {
  name: 'no-dns',
  family: 4,
  terms: [
    { name: 'dns', destinationPorts: [{ low: 53, high: 53 }], action: 'FILTER_DISCARD', count: 'dns-dropped' },
    { name: 'lab', source: [{ prefix: '10.0.1.0/24' }, { prefix: '10.0.1.66/32', except: true }], count: 'lab' },
  ],
};

test('filters of an interface: per-term packets and bytes, the implicit discard, the other family untouched; changed and removed', async () => {
  const { dp, p } = await setup();
  assert.deepEqual((await p.applyInterface(eth1([noDns]))).failures, []);
  assert.equal(through(dp, udp4('10.0.1.10', 53), udp4('10.0.1.10', 54), udp4('10.0.1.66', 54), udp4('10.0.1.10', 53)), 1);
  assert.equal(through(dp, udp6('2001:db8:1::10', 53)), 1, 'IPv6 has no filter: it passes');
  // bytes: each datagram is 46 bytes of IP
  assert.deepEqual(p.listFilters(), [
    { interface: 'eth1', filter: 'no-dns', family: 4, output: false, terms: [{ name: 'dns', count: 'dns-dropped', packets: 2, bytes: 92 }, { name: 'lab', count: 'lab', packets: 1, bytes: 46 }], unmatched: 1, unmatchedBytes: 46 },
  ]);
  // the same filters again: nothing reprogrammed, counters kept
  assert.deepEqual((await p.applyInterface(eth1([noDns]))).failures, []);
  assert.equal(p.listFilters()[0]!.terms[0]!.packets, 2);
  // an inet6 output filter on eth2 beside it
  const v6out: PbIpFilter = { name: 'v6-out', family: 6, output: true, terms: [{ name: 'no-54', destinationPorts: [{ low: 54, high: 54 }], action: 'FILTER_REJECT' }, { name: 'rest' }] };
  assert.deepEqual((await p.applyInterface(eth2([v6out]))).failures, []);
  assert.equal(through(dp, udp6('2001:db8:1::10', 54), udp6('2001:db8:1::10', 55), udp4('10.0.1.10', 54)), 2);
  assert.deepEqual(p.listFilters().map((f) => [f.interface, f.filter, f.output, f.terms.map((t) => t.packets), f.unmatched]), [
    ['eth1', 'no-dns', false, [2, 2], 1],
    ['eth2', 'v6-out', true, [1, 1], 0],
  ]);
  assert.equal(dp.dropStats().acl_out_reject, 1);
  // changed: the dns term gone; removed: eth2's filter
  assert.deepEqual((await p.applyInterface(eth1([{ ...noDns, terms: noDns.terms!.slice(1) }]))).failures, []);
  assert.deepEqual((await p.applyInterface(eth2())).failures, []);
  assert.equal(through(dp, udp4('10.0.1.10', 53), udp6('2001:db8:1::10', 54)), 2);
  assert.deepEqual(p.listFilters().map((f) => [f.filter, f.terms.map((t) => t.name)]), [['no-dns', ['lab']]]);
  assert.deepEqual((await p.applyInterface(eth1())).failures, []);
  assert.deepEqual(p.listFilters(), []);
  assert.deepEqual(dp.listAcls(), []);
});

test('a filter that does not fit the data plane is refused with a reason, leaving the interface unfiltered', async () => {
  const { dp, p } = await setup();
  const many: PbIpFilter = { name: 'big', family: 4, terms: [{ name: 't', source: Array.from({ length: 70 }, (_, k) => ({ prefix: `10.${k}.0.0/16` })) }] };
  const r = await p.applyInterface(eth1([noDns, { ...many, output: true }]));
  assert.equal(r.failures.length, 1);
  assert.match(r.failures[0]!.reason, /filters: too many ACL rules \(max 64\)/);
  assert.deepEqual(dp.listAcls(), [], 'neither direction kept');
  assert.equal(through(dp, udp4('10.0.1.10', 53)), 1);
});

// ---- the expansion against Junos's semantics, read directly ----

/** Junos: a list matches when its longest entry holding the address is not an except one. */
function listMatches(list: { prefix?: string; except?: boolean }[] | undefined, addr: string): boolean {
  if (!list?.length) return true;
  const a = parseIp(addr).bytes;
  let best: { len: number; except: boolean } | undefined;
  for (const e of list) {
    const p = parsePrefix(e.prefix!);
    if (p.addr.length === a.length && prefixContains(p, a) && (!best || p.len > best.len)) best = { len: p.len, except: e.except ?? false };
  }
  return best !== undefined && !best.except;
}

function termMatches(t: PbIpFilterTerm, src: string, dst: string, proto: number, dport: number): boolean {
  if (!listMatches(t.source, src) || !listMatches(t.destination, dst)) return false;
  const ports = t.destinationPorts?.length ? t.destinationPorts : undefined;
  if (t.protocols?.length && !t.protocols.includes(proto)) return false;
  if (ports && proto !== 6 && proto !== 17) return false;
  if (ports && !ports.some((r) => dport >= r.low! && dport <= r.high!)) return false;
  return true;
}

test('except prefixes, lists and ports: the rules decide as Junos terms do (random filters and packets)', async () => {
  const { dp, p } = await setup();
  const r = rng(20261206);
  const pfx = ['10.0.0.0/8', '10.1.0.0/16', '10.1.1.0/24', '10.1.1.128/25', '10.2.0.0/16', '0.0.0.0/0', '10.1.1.7/32'];
  const list = () => Array.from({ length: r() % 4 }, () => ({ prefix: pfx[r() % pfx.length]!, except: r() % 3 === 0 }));
  const srcs = ['10.1.1.7', '10.1.1.200', '10.1.2.3', '10.2.0.9', '10.9.9.9', '192.0.2.1'];
  for (let round = 0; round < 25; round++) {
    const terms: PbIpFilterTerm[] = Array.from({ length: 1 + (r() % 3) }, (_, k) => {
      const t: PbIpFilterTerm = { name: `t${k}`, source: list(), action: r() % 2 ? 'FILTER_DISCARD' : 'FILTER_ACCEPT' };
      if (r() % 3 === 0) t.protocols = [[6, 17, 1][r() % 3]!];
      if (r() % 3 === 0) t.destinationPorts = [{ low: 50, high: 53 + (r() % 3) }];
      return t;
    });
    // the destination (198.51.100.7) held by the dst lists of some terms only
    if (r() % 2) terms[0]!.destination = [{ prefix: '198.51.100.0/24' }, { prefix: '198.51.100.0/29', except: r() % 2 === 0 }];
    assert.deepEqual((await p.applyInterface(eth1([{ name: `f${round}`, family: 4, terms }]))).failures, []);
    for (const src of srcs) {
      for (const [proto, dport] of [[17, 53], [17, 60], [6, 51], [1, 0]] as const) {
        const payload = proto === 1 ? F.icmpEcho(8) : proto === 17 ? F.udp(1000, dport) : Uint8Array.of(0x30, 0x39, 0, dport, ...new Uint8Array(16));
        const frame = F.eth(R1, H1, 0x0800, F.ipv4({ src, dst: '198.51.100.7', proto, payload }));
        const t = terms.find((x) => termMatches(x, src, '198.51.100.7', proto, dport));
        const want = t !== undefined && t.action !== 'FILTER_DISCARD' ? 1 : 0;
        assert.equal(through(dp, frame), want, `round ${round}: ${src} proto ${proto} port ${dport} under ${JSON.stringify(terms)}`);
      }
    }
  }
});

test('resync: a replay of the same filters programs nothing and keeps the counters; an interface not replayed goes with its filters', async () => {
  const { dp, p } = await setup();
  const out4: PbIpFilter = { name: 'out4', family: 4, output: true, terms: [{ name: 'no-9', destinationPorts: [{ low: 9, high: 9 }], action: 'FILTER_DISCARD' }, { name: 'rest' }] };
  assert.deepEqual((await p.applyInterface(eth1([noDns]))).failures, []);
  assert.deepEqual((await p.applyInterface(eth2([out4]))).failures, []);
  assert.equal(through(dp, udp4('10.0.1.10', 53), udp4('10.0.1.10', 9), udp4('10.0.1.10', 10)), 1);
  const calls: string[] = [];
  const setAcl = dp.setAcl.bind(dp);
  dp.setAcl = (...a: Parameters<typeof dp.setAcl>) => { calls.push(`${a[0]} ${a[2]}`); setAcl(...a); };
  p.beginResync();
  for (const m of [eth1([noDns]), eth2([out4])]) assert.deepEqual((await p.applyInterface(m)).failures, []);
  assert.deepEqual((await p.endResync()).failures, []);
  assert.deepEqual(calls, [], 'nothing reprogrammed');
  assert.deepEqual(p.listFilters().map((f) => [f.filter, f.terms.map((t) => t.packets)]), [['no-dns', [1, 2]], ['out4', [1, 1]]], 'counters kept');
  // eth1 is not replayed: swept, and its filter with it
  p.beginResync();
  assert.deepEqual((await p.applyInterface(eth2([out4]))).failures, []);
  assert.deepEqual((await p.endResync()).failures, []);
  assert.deepEqual(p.listFilters().map((f) => f.interface), ['eth2']);
  assert.deepEqual(dp.listAcls().map((a) => [a.vif, a.direction ?? 'input']), [['eth2', 'output']]);
});
