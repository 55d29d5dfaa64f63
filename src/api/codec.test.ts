import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as protoLoader from '@grpc/proto-loader';
import { join } from 'node:path';
import { LOADER_OPTIONS, protoDir, type PbControllerMessage } from './proto.js';
import { CodecError, decodeControllerMessage, encodeControllerMessage, encodeRouteColumns } from './codec.js';

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

function randomMessage(): Record<string, unknown> {
  const seq = rnd(2) ? rnd(1000) : 2 ** 33 + rnd(1000);
  switch (rnd(7)) {
    case 6:
      return { seq, label: { label: rnd(1 << 20), delete: rnd(2) === 1, vrf: pick(['', 'blue']) } };
    case 0:
      return { seq, resyncBegin: { controllerId: pick(['', 'pid 42']) } };
    case 1:
      return { seq, resyncEnd: {} };
    case 2:
      return { seq, vrf: { name: pick(['blue', 'red']), delete: rnd(2) === 1 } };
    case 3:
      return { seq, interface: { name: 'eth1', delete: rnd(2) === 1, driver: pick(['DRIVER_UNSPECIFIED', 'AF_PACKET', 'TAP', 'MEMORY', 'AF_XDP']), vrf: pick(['', 'blue']), addresses: Array.from({ length: rnd(3) }, (_, i) => `10.${i}.0.1/24`), mtu: rnd(2) * 9000, vlan: rnd(4095), mac: pick(['', '02:00:00:00:00:01']) } };
    default: {
      const sets = Array.from({ length: rnd(3) }, () => ({ action: pick(['FORWARD', 'DISCARD', 'REJECT', 'RECEIVE']), nexthops: Array.from({ length: rnd(3) }, randomNexthop) }));
      const routes = Array.from({ length: rnd(200) }, (_, i) => ({
        prefix: rnd(3) ? `10.${i >> 8}.${i & 255}.0/24` : '2001:db8::/32',
        delete: rnd(4) === 0,
        action: pick(['FORWARD', 'DISCARD', 'REJECT', 'RECEIVE']),
        nexthops: Array.from({ length: rnd(2) }, randomNexthop),
        nexthopSet: rnd(sets.length + 1),
      }));
      return { seq, routes: { vrf: pick(['', 'blue']), nexthopSets: sets, routes } };
    }
  }
}

/** both decoders' output normalized to one shape for comparison */
function normalize(m: PbControllerMessage): unknown {
  const out = JSON.parse(JSON.stringify(m, (k, v) => (k === 'body' || k.startsWith('_') ? undefined : v))) as Record<string, unknown>;
  const walk = (o: unknown): unknown => {
    if (Array.isArray(o)) return o.map(walk);
    if (o && typeof o === 'object') {
      const r: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(o)) {
        if (v === null || v === false || v === 0 || v === '' || v === 'FORWARD' || v === 'DRIVER_UNSPECIFIED' || (Array.isArray(v) && v.length === 0)) continue;
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
