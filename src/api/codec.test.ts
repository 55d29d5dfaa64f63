import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as protoLoader from '@grpc/proto-loader';
import { join } from 'node:path';
import { LOADER_OPTIONS, protoDir, type PbControllerMessage } from './proto.js';
import { CodecError, decodeControllerMessage, encodeControllerMessage, encodeRouteColumns, encodeRouteDestinations, encodeRoutesPacked, packRoutes } from './codec.js';
import { ipv4PrefixCode, parsePrefix, type Prefix } from '../lib/addr.js';

const def = protoLoader.loadSync(join(protoDir(), 'agent.proto'), LOADER_OPTIONS);
const program = (def['cnr.agent.v1.Agent'] as protoLoader.ServiceDefinition)['Program']!;

let seed = 12345;
function rnd(n: number): number {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return (seed >>> 8) % n;
}
const pick = <T>(a: T[]): T => a[rnd(a.length)]!;

function randomNexthop() {
  const nh: Record<string, unknown> = { ip: pick(['', '10.0.0.2', '2001:db8::1', 'fe80::1']), interface: pick(['', 'eth1', 'pod-ü']), transportLabels: Array.from({ length: rnd(5) }, () => rnd(1 << 20)) };
  if (rnd(2)) nh['serviceLabel'] = rnd(1 << 20);
  if (rnd(4) === 0) nh['tunnelSource'] = pick(['10.0.0.1', '192.0.2.1']);
  return nh;
}

/** a bridge filter term (BridgeFilterTerm), fields set or left at their defaults */
function randomFilterTerm(): Record<string, unknown> {
  return { name: pick(['', 't1', 'no-v6']), sourceMac: pick(['', '02:00:00:00:00:01/48', '02:aa:00:00:00:00/16']), destinationMac: pick(['', 'ff:ff:ff:ff:ff:ff/48']), vlanId: rnd(2) * rnd(4095), etherType: rnd(2) * (0x600 + rnd(0xfa00)), discard: rnd(2) === 1, count: pick(['', 'c1']), ipSource: pick(['', '10.0.0.0/8']), ipDestination: pick(['', '192.0.2.1/32']), ipProtocol: rnd(2) * rnd(256), ...(rnd(2) ? { sourcePort: { low: rnd(1000), high: 1000 + rnd(1000) } } : {}), ...(rnd(2) ? { destinationPort: { low: 53, high: 53 } } : {}) };
}

/** an IP filter (IpFilter, docs/filters.md) with terms of every field, set or left at their defaults */
function randomIpFilter(): Record<string, unknown> {
  const ranges = () => Array.from({ length: rnd(3) }, () => ({ low: rnd(65536), high: rnd(65536) }));
  const prefixes = () => Array.from({ length: rnd(3) }, () => ({ prefix: pick(['10.0.0.0/8', '2001:db8::/32', '']), except: rnd(2) === 1 }));
  const term = () => ({ name: pick(['', 't1']), source: prefixes(), destination: prefixes(), protocols: Array.from({ length: rnd(3) }, () => rnd(256)), sourcePorts: ranges(), destinationPorts: ranges(), icmpTypes: ranges(), action: pick(['FILTER_ACCEPT', 'FILTER_DISCARD', 'FILTER_REJECT']), count: pick(['', 'c1']) });
  return { name: pick(['', 'f1']), family: pick([0, 4, 6]), output: rnd(2) === 1, terms: Array.from({ length: rnd(4) }, term) };
}

function randomMessage(): Record<string, unknown> {
  const seq = rnd(2) ? rnd(1000) : 2 ** 33 + rnd(1000);
  switch (rnd(10)) {
    // L2 switching (docs/l2.md): bridge ports, IRBs, bridge domains, settings
    case 7:
      return { seq, interface: { name: 'eth2', driver: pick(['AF_PACKET', 'MEMORY']), irb: rnd(2) === 1, bridge: { mode: pick(['ACCESS', 'TRUNK']), vlanId: rnd(4095), vlanIds: Array.from({ length: rnd(300) }, () => 1 + rnd(4094)), nativeVlanId: rnd(2) * rnd(4095), noLocalSwitching: rnd(2) === 1, stormControlKbps: rnd(2) * rnd(1e8), stormControlBurst: rnd(2) * rnd(1e6), inputFilter: Array.from({ length: rnd(2) * rnd(4) }, randomFilterTerm), outputFilter: Array.from({ length: rnd(2) * rnd(4) }, randomFilterTerm), tpid: rnd(2) * pick([0x8100, 0x88a8, 0x9100]), dot1qTunneling: rnd(2) === 1 } } };
    case 8:
      return { seq, bridgeDomain: { name: pick(['bd100', 'vlan-200']), delete: rnd(2) === 1, vlanId: rnd(4095), irb: pick(['', 'irb.100']), macTableSize: rnd(2) * rnd(1e6), interfaceMacLimit: rnd(2) * rnd(1e4) } };
    case 9:
      return { seq, l2Settings: { macAgingSeconds: rnd(2) * rnd(1e6) } };
    case 6:
      // a forwarded (segment routing) label carries next hops with out-labels
      return { seq, label: { label: rnd(1 << 20), delete: rnd(2) === 1, vrf: pick(['', 'blue']), nexthops: Array.from({ length: rnd(2) * rnd(4) }, randomNexthop) } };
    case 0:
      return { seq, resyncBegin: { controllerId: pick(['', 'pid 42']) } };
    case 1:
      return { seq, resyncEnd: {} };
    case 2:
      return { seq, vrf: { name: pick(['blue', 'red']), delete: rnd(2) === 1 } };
    case 3:
      return { seq, interface: { name: 'eth1', delete: rnd(2) === 1, driver: pick(['DRIVER_UNSPECIFIED', 'AF_PACKET', 'TAP', 'MEMORY', 'AF_XDP', 'MEMIF']), vrf: pick(['', 'blue']), addresses: Array.from({ length: rnd(3) }, (_, i) => `10.${i}.0.1/24`), mtu: rnd(2) * 9000, vlan: rnd(4095), mac: pick(['', '02:00:00:00:00:01']), ...(rnd(2) ? { memifSocket: pick(['', '/run/cnr/memif/pod/memif.sock']), memifId: rnd(3), memifSecret: pick(['', 'pw']) } : {}), filters: Array.from({ length: rnd(2) * rnd(4) }, randomIpFilter), ...(rnd(2) ? { staticNeighbors: Array.from({ length: 1 + rnd(2) }, (_, i) => `10.81.0.${i + 2} 02:aa:bb:cc:dd:0${i}`) } : {}) } };
    default: {
      const sets = Array.from({ length: rnd(3) }, () => ({ action: pick(['FORWARD', 'DISCARD', 'REJECT', 'RECEIVE']), nexthops: Array.from({ length: rnd(3) }, randomNexthop) }));
      const routes = Array.from({ length: rnd(200) }, (_, i) => ({
        prefix: rnd(3) ? `10.${i >> 8}.${i & 255}.0/24` : '2001:db8::/32',
        // the value form, in both codecs' shapes (protobufjs: address/length; the hand codec: addr/len)
        ...(rnd(2) ? destination(rnd(3) ? `10.${i >> 8}.${i & 255}.0/${rnd(33)}` : `2001:db8::/${rnd(129)}`) : {}),
        delete: rnd(4) === 0,
        action: pick(['FORWARD', 'DISCARD', 'REJECT', 'RECEIVE']),
        nexthops: Array.from({ length: rnd(2) }, randomNexthop),
        nexthopSet: rnd(sets.length + 1),
      }));
      // packed records: arbitrary bytes as far as the codec is concerned (the agent reads them)
      const packed = (size: number) => Buffer.from(Array.from({ length: size * rnd(4) }, () => rnd(256)));
      return { seq, routes: { vrf: pick(['', 'blue']), nexthopSets: sets, routes, ...(rnd(2) ? { packedIpv4: packed(8), packedIpv6: packed(20) } : {}) } };
    }
  }
}

function destination(text: string): { destination: Prefix & { address: Uint8Array; length: number } } {
  const p = parsePrefix(text);
  return { destination: { ...p, address: p.addr, length: p.len } };
}

/** both decoders' output normalized to one shape for comparison */
function normalize(m: PbControllerMessage): unknown {
  const out = JSON.parse(JSON.stringify(m, (k, v) => (k === 'body' || k.startsWith('_') ? undefined : v))) as Record<string, unknown>;
  const walk = (o: unknown): unknown => {
    if (Array.isArray(o)) return o.map(walk);
    // an IpPrefix: protobufjs gives { address: Buffer, length }, the hand codec a Prefix
    if (o && typeof o === 'object' && ('addr' in o || 'address' in o)) {
      const d = o as { addr?: Record<string, number>; len?: number; address?: { data: number[] }; length?: number };
      return { bytes: d.addr ? Object.values(d.addr) : d.address!.data, len: d.len ?? d.length ?? 0 };
    }
    // a bytes field (a Buffer as JSON): its bytes; empty, as absent
    if (o && typeof o === 'object' && (o as { type?: string }).type === 'Buffer') return (o as { data: number[] }).data;
    if (o && typeof o === 'object') {
      const r: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(o)) {
        if ((v as { type?: string } | null)?.type === 'Buffer' && (v as { data: number[] }).data.length === 0) continue;
        if (v === null || v === false || v === 0 || v === '' || v === 'FORWARD' || v === 'DRIVER_UNSPECIFIED' || v === 'FILTER_ACCEPT' || (Array.isArray(v) && v.length === 0)) continue;
        r[k] = walk(v);
      }
      return r;
    }
    return o;
  };
  return walk(out);
}

test('the hand codec and protobufjs agree both ways on random messages', () => {
  for (let i = 0; i < 300; i++) {
    const msg = randomMessage();
    const generic = program.requestSerialize(msg) as Buffer;
    const mine = encodeControllerMessage(msg as unknown as PbControllerMessage);
    assert.deepEqual(normalize(decodeControllerMessage(generic)), normalize(program.requestDeserialize(generic) as PbControllerMessage), `decode #${i}`);
    assert.deepEqual(normalize(program.requestDeserialize(mine) as PbControllerMessage), normalize(program.requestDeserialize(generic) as PbControllerMessage), `encode #${i}`);
  }
});

test('golden bytes: a one-route batch', () => {
  const bytes = encodeControllerMessage({ seq: 1, routes: { vrf: '', nexthopSets: [], routes: [{ prefix: '10.0.0.0/8', nexthopSet: 1 }] } });
  // 08 01 | 32 len { 1a len { 0a 0a "10.0.0.0/8" 28 01 } }
  assert.equal(bytes.toString('hex'), '0801' + '3210' + '1a0e' + '0a0a' + Buffer.from('10.0.0.0/8').toString('hex') + '2801');
});

test('long nested messages widen their length prefix', () => {
  const routes = Array.from({ length: 5000 }, (_, i) => ({ prefix: `10.${i >> 8}.${i & 255}.0/24`, nexthopSet: 1 }));
  const msg = { seq: 7, routes: { vrf: 'blue', nexthopSets: [{ action: 'FORWARD' as const, nexthops: [{ ip: '10.0.0.2', interface: 'eth1', transportLabels: [16001] }] }], routes } };
  const back = program.requestDeserialize(encodeControllerMessage(msg)) as PbControllerMessage;
  assert.equal(back.routes?.routes.length, 5000);
  assert.equal(back.routes?.routes[4999]?.prefix, '10.19.135.0/24');
  assert.deepEqual(back.routes?.nexthopSets?.[0]?.nexthops?.[0]?.transportLabels, [16001]);
});

test('truncated input is refused, not misread', () => {
  const bytes = encodeControllerMessage({ seq: 3, vrf: { name: 'blue' } });
  assert.equal(decodeControllerMessage(bytes.subarray(0, 2)).body, undefined, 'a cut between fields is a shorter valid message');
  for (let cut = 3; cut < bytes.length; cut++) {
    assert.throws(() => decodeControllerMessage(bytes.subarray(0, cut)), CodecError, `cut at ${cut}`);
  }
});

test('a batch encoded from columns decodes as the same routes', () => {
  const sets = [{ action: 'FORWARD' as const, nexthops: [{ ip: '10.0.0.2', interface: 'eth1', transportLabels: [] }] }, { action: 'DISCARD' as const, nexthops: [] }];
  const bytes = encodeRouteColumns(9, 'blue', sets, ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24'], [1, 0, 2]);
  const back = program.requestDeserialize(bytes) as PbControllerMessage;
  assert.equal(back.seq, 9);
  assert.equal(back.routes?.vrf, 'blue');
  assert.deepEqual(back.routes?.routes.map((r) => [r.prefix, r.delete, r.nexthopSet]), [
    ['192.0.2.0/24', false, 1],
    ['198.51.100.0/24', true, 0],
    ['203.0.113.0/24', false, 2],
  ]);
  assert.deepEqual(back.routes?.nexthopSets?.map((s) => s.action), ['FORWARD', 'DISCARD']);
});

test('a batch from columns has the same bytes as one from route objects (one- to three-byte set references, deletes, unusual prefixes)', () => {
  const refs = [1, 0, 127, 128, 300, 16383, 16384, 70000, 5];
  const prefixes = ['10.0.0.0/8', '2001:db8::/32', '192.0.2.0/24', 'ü-not-a-prefix', '198.51.100.0/24', 'x'.repeat(150), '203.0.113.0/24', '', '0.0.0.0/0'];
  const sets = Array.from({ length: 70000 }, () => ({ action: 'DISCARD' as const, nexthops: [] }));
  const mine = encodeRouteColumns(4, '', sets, prefixes, refs);
  const routes = prefixes.map((prefix, i) => (refs[i] === 0 ? { prefix, delete: true } : { prefix, nexthopSet: refs[i]! }));
  // the hand codec's object path, which the tests above hold to protobufjs
  const reference = encodeControllerMessage({ seq: 4, routes: { vrf: '', nexthopSets: sets, routes } });
  assert.ok(mine.equals(reference), 'column bytes differ from the object encoding');
  const back = program.requestDeserialize(mine) as PbControllerMessage;
  assert.deepEqual(back.routes?.routes.map((r) => [r.prefix, r.delete, r.nexthopSet]), prefixes.map((p, i) => [p, refs[i] === 0, refs[i]]));
});

test('golden bytes: one route with its prefix as a value, IPv4 and IPv6', () => {
  const v4 = encodeControllerMessage({ seq: 1, routes: { vrf: '', nexthopSets: [], routes: [{ destination: parsePrefix('10.0.0.0/8'), nexthopSet: 1 }] } });
  // 08 01 | 32 len { 1a len { 28 01 | 32 08 { 0a 04 0a000000 10 08 } } }
  assert.equal(v4.toString('hex'), '0801' + '320e' + '1a0c' + '2801' + '3208' + '0a04' + '0a000000' + '1008');
  const v6 = encodeControllerMessage({ seq: 2, routes: { vrf: '', nexthopSets: [], routes: [{ destination: parsePrefix('2001:db8::/32'), delete: true }] } });
  // 08 02 | 32 len { 1a len { 10 01 | 32 14 { 0a 10 20010db8 0000... 10 20 } } }
  assert.equal(v6.toString('hex'), '0802' + '321a' + '1a18' + '1001' + '3214' + '0a10' + '20010db8' + '00'.repeat(12) + '1020');
  const back = decodeControllerMessage(v6).routes!.routes[0]!;
  assert.deepEqual(back.destination, { family: 6, addr: parsePrefix('2001:db8::/32').addr, len: 32 });
  assert.equal(back.prefix, '', 'no text travels with a value');
  // a default route: length 0 is proto3's default and is not written
  const def = encodeControllerMessage({ seq: 3, routes: { vrf: '', routes: [{ destination: parsePrefix('0.0.0.0/0'), nexthopSet: 2 }] } });
  assert.equal(def.toString('hex'), '0803' + '320c' + '1a0a' + '2802' + '3206' + '0a04' + '00000000');
  assert.deepEqual(decodeControllerMessage(def).routes!.routes[0]!.destination, { family: 4, addr: new Uint8Array(4), len: 0 });
});

test('an old-form message (text prefix, no destination) still decodes as before', () => {
  const generic = program.requestSerialize({ seq: 5, routes: { vrf: 'blue', routes: [{ prefix: '192.0.2.0/24', nexthopSet: 1 }] } }) as Buffer;
  const r = decodeControllerMessage(generic).routes!.routes[0]!;
  assert.equal(r.prefix, '192.0.2.0/24');
  assert.equal(r.destination, null);
});

test('a batch of values from columns has the same bytes as one from route objects, and protobufjs reads it', () => {
  const texts = ['10.0.0.0/8', '0.0.0.0/0', '192.0.2.1/32', '2001:db8::/32', '198.51.100.0/24', '203.0.113.128/25', '::/0'];
  const refs = [1, 0, 127, 128, 16383, 16384, 5];
  const sets = Array.from({ length: 16384 }, () => ({ action: 'DISCARD' as const, nexthops: [] }));
  const values = texts.map((t) => parsePrefix(t));
  const columns = values.map((p) => (p.family === 4 ? ipv4PrefixCode(((p.addr[0]! << 24) | (p.addr[1]! << 16) | (p.addr[2]! << 8) | p.addr[3]!) >>> 0, p.len) : p));
  const mine = encodeRouteDestinations(4, '', sets, columns, refs);
  const routes = values.map((destination, i) => (refs[i] === 0 ? { destination, delete: true } : { destination, nexthopSet: refs[i]! }));
  assert.ok(mine.equals(encodeControllerMessage({ seq: 4, routes: { vrf: '', nexthopSets: sets, routes } })), 'column bytes differ from the object encoding');
  const back = program.requestDeserialize(mine) as { routes: { routes: { destination: { address: Buffer; length: number }; delete: boolean; nexthopSet: number }[] } };
  assert.deepEqual(
    back.routes.routes.map((r) => [[...r.destination.address], r.destination.length, r.delete, r.nexthopSet]),
    values.map((p, i) => [[...p.addr], p.len, refs[i] === 0, refs[i]]),
  );
  const mineBack = decodeControllerMessage(mine).routes!.routes;
  assert.deepEqual(mineBack.map((r) => r.destination), values.map((p) => ({ family: p.family, addr: p.addr, len: p.len })));
});

test('decoded prefixes do not alias the receive buffer', () => {
  const bytes = encodeControllerMessage({ seq: 1, routes: { vrf: '', routes: [{ destination: parsePrefix('10.1.2.0/24'), nexthopSet: 1 }] } });
  const d = decodeControllerMessage(bytes).routes!.routes[0]!.destination!;
  bytes.fill(0);
  assert.deepEqual([...d.addr], [10, 1, 2, 0]);
});

test('packed routes: 8-byte IPv4 and 20-byte IPv6 records with 3-byte set references, read back by protobufjs and the hand codec', () => {
  const texts = ['0.0.0.0/0', '10.1.2.0/24', '192.0.2.7/32', '2001:db8::/32', '::/0', '2001:db8:1::5/128'];
  const values = texts.map((t) => parsePrefix(t));
  const columns = values.map((p) => (p.family === 4 ? ipv4PrefixCode(((p.addr[0]! << 24) | (p.addr[1]! << 16) | (p.addr[2]! << 8) | p.addr[3]!) >>> 0, p.len) : p));
  const refs = [1, 0, 0x123456, 2, 0, 0xffffff];
  const sets = [{ action: 'DISCARD' as const, nexthops: [] }, { action: 'FORWARD' as const, nexthops: [{ ip: '10.0.0.2', interface: 'eth1' }] }];
  const bytes = encodeRoutesPacked(9, 'blue', sets, columns, refs);
  const v4 = [[0, 0, 0, 0, 0, 0, 0, 1], [10, 1, 2, 0, 24, 0, 0, 0], [192, 0, 2, 7, 32, 0x12, 0x34, 0x56]].flat();
  const v6 = [
    [0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(12).fill(0), 32, 0, 0, 2],
    [...new Array<number>(16).fill(0), 0, 0, 0, 0],
    [0x20, 0x01, 0x0d, 0xb8, 0, 1, ...new Array<number>(9).fill(0), 5, 128, 0xff, 0xff, 0xff],
  ].flat();
  const generic = program.requestDeserialize(bytes) as { seq: number; routes: { vrf: string; routes: unknown[]; packedIpv4: Buffer; packedIpv6: Buffer; nexthopSets: unknown[] } };
  assert.equal(generic.seq, 9);
  assert.equal(generic.routes.vrf, 'blue');
  assert.equal(generic.routes.nexthopSets.length, 2);
  assert.deepEqual(generic.routes.routes, []);
  assert.deepEqual([...generic.routes.packedIpv4], v4);
  assert.deepEqual([...generic.routes.packedIpv6], v6);
  const mine = decodeControllerMessage(bytes).routes!;
  assert.deepEqual([...mine.packedIpv4!], v4);
  assert.deepEqual([...mine.packedIpv6!], v6);
  assert.deepEqual(mine.routes, []);
  // the object encoder writes the same bytes
  assert.ok(bytes.equals(encodeControllerMessage({ seq: 9, routes: { vrf: 'blue', nexthopSets: sets, routes: [], packedIpv4: Uint8Array.from(v4), packedIpv6: Uint8Array.from(v6) } })));
  assert.throws(() => encodeRoutesPacked(1, '', sets, [columns[1]!], [0x1000000]), CodecError);
  // in process (`cnr start`), the same batch without protobuf: the records the decoder would give
  const direct = packRoutes('blue', sets, columns, refs);
  assert.deepEqual([...direct.packedIpv4!], v4);
  assert.deepEqual([...direct.packedIpv6!], v6);
  assert.deepEqual(direct.routes, []);
  assert.equal(direct.nexthopSets, sets);
  assert.equal(packRoutes('', sets, [columns[1]!], [1]).packedIpv6, undefined, 'a family without routes has no records');
  assert.throws(() => packRoutes('', sets, [columns[1]!], [0x1000000]), CodecError);
});
