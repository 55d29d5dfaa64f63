// One million random and mutated messages through the decoders: no exception escapes, and
// every message is answered with a value or a NOTIFICATION code the RFCs define.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_OPTIONS,
  decodeMessage,
  emptyCapabilities,
  encodeEndOfRib,
  encodeNotification,
  encodeOpen,
  encodeRouteRefresh,
  encodeUpdate,
  frameMessage,
  type SessionOptions,
} from './index.js';

const TOTAL = Number(process.env.CNR_FUZZ_COUNT ?? 1_000_000);

// xorshift32: deterministic, so a failure can be replayed from its seed and index
let state = Number(process.env.CNR_FUZZ_SEED ?? 0x9e3779b9) >>> 0 || 1;
function rnd(): number {
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state;
}
const below = (n: number) => rnd() % n;

const OPTS: SessionOptions[] = [
  DEFAULT_OPTIONS,
  { ...DEFAULT_OPTIONS, as4: false },
  { ...DEFAULT_OPTIONS, addPathRx: new Set(['1/1', '2/1']) },
  { ...DEFAULT_OPTIONS, extendedMessage: true },
];

const seeds: Uint8Array[] = [
  encodeOpen({
    version: 4,
    myAs: 65001,
    holdTime: 90,
    bgpId: 0x0a000001,
    capabilities: {
      ...emptyCapabilities(),
      multiprotocol: [{ afi: 1, safi: 1 }, { afi: 2, safi: 1 }],
      routeRefresh: true,
      enhancedRouteRefresh: true,
      as4: 4200000001,
      gracefulRestart: { restarting: false, notification: true, time: 120, families: [{ afi: 1, safi: 1, forwardingPreserved: true }] },
      addPath: [{ afi: 1, safi: 1, mode: 3 }],
      extendedMessage: true,
      fqdn: { hostname: 'r1', domain: 'lab' },
      unknown: [],
    },
  }),
  encodeUpdate(
    {
      withdrawn: ['198.51.100.0/24', '10.0.0.0/8'],
      attrs: {
        origin: 0,
        asPath: [{ type: 2, asns: [65001, 4200000001] }, { type: 1, asns: [1, 2] }],
        nextHop: '10.0.0.1',
        med: 5,
        localPref: 200,
        atomicAggregate: true,
        aggregator: { asn: 65001, address: '1.2.3.4' },
        communities: [0xfde90064, 0xffffff01],
        originatorId: '1.1.1.1',
        clusterList: ['2.2.2.2'],
        extCommunities: new Uint8Array([0, 2, 0xfd, 0xe8, 0, 0, 0, 1]),
        largeCommunities: [65001, 1, 2],
        unknown: [{ flags: 0xc0, type: 99, value: new Uint8Array([1, 2, 3]) }],
      },
      nlri: ['192.0.2.0/24', '203.0.113.128/25', '0.0.0.0/0'],
    },
    DEFAULT_OPTIONS,
  ),
  encodeUpdate(
    {
      withdrawn: [],
      attrs: { origin: 2, asPath: [{ type: 3, asns: [64512] }, { type: 2, asns: [65002] }] },
      nlri: [],
      mpReach: { afi: 2, safi: 1, nextHop: '2001:db8::1', nextHopLocal: 'fe80::1', prefixes: ['2001:db8:1::/48', '::/0'] },
      mpUnreach: { afi: 2, safi: 1, prefixes: ['2001:db8:2::/64'] },
    },
    DEFAULT_OPTIONS,
  ),
  encodeUpdate({ withdrawn: [], attrs: { origin: 0, asPath: [], nextHop: '10.0.0.1' }, nlri: ['10.0.0.0/8'], nlriIds: [7] }, OPTS[2]!),
  encodeUpdate(
    {
      withdrawn: [],
      attrs: { origin: 0, asPath: [{ type: 2, asns: [65001] }] },
      nlri: [],
      mpReach: { afi: 1, safi: 128, nextHop: '10.0.0.1', prefixes: ['10.1.0.0/16', '10.2.2.0/24'], labels: [[300000], [16, 17]], rds: ['65000:1', '10.0.0.1:2'] },
      mpUnreach: { afi: 2, safi: 4, prefixes: ['2001:db8::/32'] },
    },
    DEFAULT_OPTIONS,
  ),
  encodeEndOfRib(2, 1),
  encodeNotification({ code: 6, subcode: 2, data: new Uint8Array([3, 0x61, 0x62, 0x63]) }),
  encodeRouteRefresh({ afi: 1, safi: 1, subtype: 1 }),
];

function mutate(seed: Uint8Array): Uint8Array {
  let m = seed.slice();
  const n = 1 + below(4);
  for (let k = 0; k < n; k++) {
    switch (below(7)) {
      case 0: // flip a byte after the marker
        m[19 + below(Math.max(1, m.length - 19))] = below(256);
        break;
      case 1: // flip one bit
        m[19 + below(Math.max(1, m.length - 19))]! ^= 1 << below(8);
        break;
      case 2: // truncate
        m = m.slice(0, 19 + below(Math.max(1, m.length - 19)));
        break;
      case 3: {
        // append garbage
        const extra = new Uint8Array(1 + below(40)).map(() => below(256));
        const g = new Uint8Array(m.length + extra.length);
        g.set(m);
        g.set(extra, m.length);
        m = g;
        break;
      }
      case 4: {
        // a length-ish byte set to an extreme
        const at = 19 + below(Math.max(1, m.length - 19));
        m[at] = [0, 1, 0x7f, 0x80, 0xff][below(5)]!;
        break;
      }
      case 5: {
        // duplicate a slice (repeated attributes, repeated prefixes)
        const a = 19 + below(Math.max(1, m.length - 19));
        const len = 1 + below(12);
        const piece = m.slice(a, a + len);
        const g = new Uint8Array(m.length + piece.length);
        g.set(m.subarray(0, a + piece.length));
        g.set(piece, a + piece.length);
        g.set(m.subarray(a + piece.length), a + 2 * piece.length);
        m = g;
        break;
      }
      case 6: // set the attribute flags of a random spot to each combination
        m[19 + below(Math.max(1, m.length - 19))] = below(16) << 4;
        break;
    }
  }
  // the header length usually follows the body so that body decoders are reached
  if (below(8) !== 0 && m.length <= 65535) {
    m[16] = m.length >> 8;
    m[17] = m.length & 255;
  }
  return m;
}

function randomMessage(): Uint8Array {
  const len = 19 + below(120);
  const m = new Uint8Array(len).map(() => below(256));
  m.fill(0xff, 0, 16);
  m[16] = len >> 8;
  m[17] = len & 255;
  m[18] = 1 + below(5);
  return m;
}

test(`fuzz: ${TOTAL} random and mutated messages, zero exceptions, every one answered`, () => {
  const outcomes: Record<string, number> = {};
  const t0 = performance.now();
  for (let i = 0; i < TOTAL; i++) {
    const msg = below(10) < 8 ? mutate(seeds[below(seeds.length)]!) : randomMessage();
    const o = OPTS[below(OPTS.length)]!;
    let key: string;
    try {
      const f = frameMessage(msg, o.extendedMessage ? 65535 : 4096);
      if (f.kind === 'need') key = 'need-more';
      else if (f.kind === 'error') key = `notify ${f.code}/${f.subcode}`;
      else {
        const d = decodeMessage(f.type, f.body, o);
        if ('kind' in d) {
          assert.ok(d.code >= 1 && d.code <= 7 && Number.isInteger(d.subcode), `code ${d.code}`);
          key = `notify ${d.code}/${d.subcode}`;
        } else key = d.type === 'update' ? `update ${d.decoded.outcome}` : d.type;
      }
    } catch (e) {
      assert.fail(`message ${i} threw: ${(e as Error).stack}\n${Buffer.from(msg).toString('hex')}`);
    }
    outcomes[key] = (outcomes[key] ?? 0) + 1;
  }
  const secs = (performance.now() - t0) / 1000;
  console.log(`fuzz: ${TOTAL} messages in ${secs.toFixed(1)} s`, outcomes);
  assert.ok(Object.keys(outcomes).length > 10, 'the fuzzer reaches many outcomes');
});
