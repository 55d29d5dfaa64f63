/** The introspect server and the inspection commands that read it, against a fixed fake vRouter. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startIntrospect, type IntrospectHandle } from '../dataplane/introspect.js';
import { DataplaneError, type AclInfo, type Dataplane, type LabelInfo, type NexthopInfo, type RouteInfo, type VifInfo } from '../dataplane/api.js';
import { run, formatTable } from './inspect.js';

const VIFS: VifInfo[] = [
  { id: 0, name: 'vhost0', driver: 'tap', vrf: 'default', mac: '02:00:00:00:00:10', mtu: 1500, addresses: [], rxPackets: 5, rxBytes: 500, txPackets: 7, txBytes: 700, drops: 0 },
  { id: 1, name: 'eth1', driver: 'af-packet', vrf: 'default', mac: '02:00:00:00:00:01', mtu: 1500, addresses: ['10.0.0.1/24', '2001:db8::1/64'], rxPackets: 123456, rxBytes: 7901184, txPackets: 99, txBytes: 6336, drops: 3 },
];
const NHS: NexthopInfo[] = [
  { id: 1, type: 'receive', refs: 2 },
  { id: 2, type: 'neighbor', vif: 'eth1', ip: '10.0.0.2', dmac: '02:00:00:00:00:02', state: 'resolved', refs: 1 },
  { id: 3, type: 'encap', vif: 'eth1', dmac: '02:00:00:00:00:03', labels: [16001, 100], refs: 1 },
];
const R4: RouteInfo[] = [
  { prefix: '10.0.0.1/32', nh: 1 },
  { prefix: '10.1.0.0/16', nh: 2 },
  { prefix: '192.0.2.0/24', nh: 3 },
];
const LABELS: LabelInfo[] = [
  { label: 100, action: 'pop-lookup', vrf: 'blue' },
  { label: 200, action: 'swap', outLabels: [300], nh: 2 },
];

const ACLS: AclInfo[] = [
  {
    vif: 'eth1',
    rules: [
      { action: 'deny', family: 'inet', src: '10.0.1.66/32', hits: 1 },
      { action: 'permit', family: 'inet', protocol: 'udp', dst: '198.51.100.0/25', dstPort: [2000, 2010], hits: 2 },
      { action: 'permit', protocol: 'tcp', srcPort: 1024, hits: 0 },
    ],
    unmatched: 17,
  },
  {
    vif: 'eth2',
    rules: [],
    bridge: [
      { name: 'web6', ipVersion: 6, dstIp: '2001:db8::/64', ipProtocol: 6, dstPort: 80, action: 'discard', count: 'web', hits: 3 },
      { name: 'ping', vlan: 100, etherType: 0x86dd, ipVersion: 6, ipProtocol: 58, icmpType: 128, action: 'discard', hits: 1 },
      { name: 'rest', srcMac: '02:00:00:00:00:01/48', action: 'accept', hits: 5 },
    ],
    unmatched: 0,
  },
];

function refuse(): never {
  throw new DataplaneError('read-only fake');
}

const fake: Dataplane = {
  addVrf: refuse, delVrf: refuse, addVif: refuse, delVif: refuse, setVifAddresses: refuse, addNexthop: refuse,
  delNexthop: refuse, addRoute: refuse, delRoute: refuse, addLabel: refuse, delLabel: refuse,
  listVifs: () => VIFS,
  listNexthops: () => NHS,
  listRoutes: (vrf, family) => {
    if (vrf !== 'default') throw new DataplaneError(`unknown VRF '${vrf}'`);
    return family === 4 ? R4 : [{ prefix: '2001:db8::/64', nh: 2 }];
  },
  routeCounts: (vrf) => {
    if (vrf !== undefined && vrf !== 'default') throw new DataplaneError(`unknown VRF '${vrf}'`);
    return [{ vrf: 'default', inet: R4.length, inet6: 1 }, ...(vrf ? [] : [{ vrf: 'blue', inet: 1000000, inet6: 0 }])];
  },
  listLabels: () => LABELS,
  listAcls: () => ACLS,
  dropStats: () => ({ no_route: 12, ttl_exceeded: 3, bad_checksum: 0, malformed: 0 }),
  stats: () => ({ vifs: { eth1: { rxPackets: 1, rxBytes: 2, txPackets: 3, txBytes: 4 } }, vrfs: { default: { packets: 1, bytes: 2 } } }),
  start: async () => {},
  stop: async () => {},
};

let srv: IntrospectHandle;
let endpoint = '';

before(async () => {
  srv = await startIntrospect(fake, { port: 0 });
  endpoint = `127.0.0.1:${srv.port}`;
});
after(() => srv.close());

/** Run a command and capture what it prints. */
async function cnr(name: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  console.error = (...a: unknown[]) => void err.push(a.join(' '));
  try {
    const code = await run(args, name);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

test('introspect binds to loopback and answers each endpoint with JSON', async () => {
  assert.equal(srv.host, '127.0.0.1');
  const j = async (p: string): Promise<[number, unknown]> => {
    const r = await fetch(`http://${endpoint}${p}`);
    assert.match(r.headers.get('content-type') ?? '', /json/);
    return [r.status, await r.json()];
  };
  assert.deepEqual(await j('/vif'), [200, VIFS]);
  assert.deepEqual(await j('/nh'), [200, NHS]);
  assert.deepEqual(await j('/rt?vrf=default&family=inet'), [200, R4]);
  assert.deepEqual(await j('/rt?vrf=default&family=inet&limit=1'), [200, R4.slice(0, 1)]);
  assert.deepEqual(await j('/rt?vrf=default&family=inet6'), [200, [{ prefix: '2001:db8::/64', nh: 2 }]]);
  assert.deepEqual(await j('/mpls'), [200, LABELS]);
  assert.deepEqual((await j('/dropstats'))[1], fake.dropStats());
  assert.deepEqual((await j('/stats'))[1], fake.stats());
  const [s1, b1] = await j('/rt?vrf=nope&family=inet');
  assert.equal(s1, 404);
  assert.match((b1 as { error: string }).error, /unknown VRF 'nope'/);
  assert.equal((await j('/rt?vrf=default&family=ipx'))[0], 400);
  assert.equal((await j('/nothing'))[0], 404);
  assert.equal((await fetch(`http://${endpoint}/vif`, { method: 'POST' })).status, 405);
});

test('cnr vif --list prints an aligned table with every interface', async () => {
  const r = await cnr('vif', '--list', '--introspect', endpoint);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.split('\n');
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /^ID\s+NAME\s+DRIVER\s+VRF\s+MAC\s+MTU\s+ADDRESSES\s+RX-PKTS/);
  assert.match(lines[2]!, /eth1\s+af-packet\s+default\s+02:00:00:00:00:01\s+1500\s+10\.0\.0\.1\/24,2001:db8::1\/64\s+123456/);
  // columns line up: every row has NAME starting where the header's NAME starts
  const col = lines[0]!.indexOf('NAME');
  assert.ok(lines.slice(1).every((l) => /\S/.test(l[col]!) && l[col - 1] === ' '));
});

test('cnr nh --list, rt --dump, mpls --dump and dropstats', async () => {
  const nh = await cnr('nh', '--list', '--introspect', endpoint);
  assert.equal(nh.code, 0, nh.err);
  assert.match(nh.out, /3\s+encap\s+-\s+1\s+02:00:00:00:00:03 dev eth1 push 16001\/100/);
  const rt = await cnr('rt', '--dump', 'default', '--introspect', endpoint);
  assert.equal(rt.code, 0, rt.err);
  assert.match(rt.out, /VRF default, inet: 3 routes/);
  assert.match(rt.out, /10\.1\.0\.0\/16\s+2\s+neighbor\s+10\.0\.0\.2 02:00:00:00:00:02 dev eth1/);
  const rt6 = await cnr('rt', '--dump', 'default', '--family', 'inet6', '--introspect', endpoint);
  assert.match(rt6.out, /2001:db8::\/64/);
  const mpls = await cnr('mpls', '--dump', '--introspect', endpoint);
  assert.match(mpls.out, /100\s+pop-lookup\s+blue/);
  assert.match(mpls.out, /200\s+swap\s+-\s+300\s+2/);
  const drops = await cnr('dropstats', '--introspect', endpoint);
  assert.match(drops.out, /no_route\s+12\n/);
  assert.match(drops.out, /total\s+15/);
  assert.match(drops.out, /2 other reasons at 0: bad_checksum, malformed/);
});

test('cnr rt --count: routes per VRF and family, of all VRFs or one', async () => {
  const all = await cnr('rt', '--count', '--introspect', endpoint);
  assert.equal(all.code, 0, all.err);
  assert.match(all.out, /^VRF\s+INET\s+INET6\ndefault\s+3\s+1\nblue\s+1000000\s+0$/m);
  const one = await cnr('rt', '--count', 'default', '--json', '--introspect', endpoint);
  assert.deepEqual(JSON.parse(one.out), [{ vrf: 'default', inet: 3, inet6: 1 }]);
  const red = await cnr('rt', '--count', 'red', '--introspect', endpoint);
  assert.equal(red.code, 1);
  assert.match(red.err, /unknown VRF 'red'/);
});

test('--json gives the API objects unchanged', async () => {
  const r = await cnr('rt', '--dump', 'default', '--json', '--introspect', endpoint);
  assert.deepEqual(JSON.parse(r.out), R4);
  const v = await cnr('vif', '--list', '--json', '--introspect', endpoint);
  assert.deepEqual(JSON.parse(v.out), VIFS);
});

test('clear errors: vRouter not running, unknown VRF, bad usage', async () => {
  // a port that was just free: nothing listens there
  const tmp = await startIntrospect(fake, { port: 0 });
  const dead = `127.0.0.1:${tmp.port}`;
  await tmp.close();
  const r = await cnr('vif', '--list', '--introspect', dead);
  assert.equal(r.code, 1);
  assert.match(r.err, /cannot reach the vRouter introspect API at 127\.0\.0\.1:\d+ \(ECONNREFUSED\): is the vRouter running\?/);
  const v = await cnr('rt', '--dump', 'red', '--introspect', endpoint);
  assert.equal(v.code, 1);
  assert.match(v.err, /unknown VRF 'red'/);
  assert.equal((await cnr('rt', '--dump', '--introspect', endpoint)).code, 2);
  assert.equal((await cnr('vif', '--bogus')).code, 2);
  assert.equal((await cnr('rt', '--dump', 'default', '--family', 'ipx')).code, 2);
});

test('cnr acl --list: the rules of each filtered interface in order with hits, then what none matched', async () => {
  const r = await cnr('acl', '--list', '--introspect', endpoint);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, [
    'VIF   RULE  ACTION   FAMILY  PROTO           SRC                   SPORT     DST                    DPORT      HITS',
    'eth1  1     deny     inet    any             10.0.1.66/32          any       any                    any           1',
    'eth1  2     permit   inet    udp             any                   any       198.51.100.0/25        2000-2010     2',
    'eth1  3     permit   any     tcp             any                   1024      any                    any           0',
    'eth1  -     deny     any     any             any                   any       any                    any          17',
    // a bridge port's rules: the IP fields beside the MACs, the VLAN in SPORT, the counter in DPORT
    'eth2  web6  discard  bridge  any ipv6 6      any                   any       2001:db8::/64 port 80  web           3',
    'eth2  ping  discard  bridge  0x86dd ipv6 58  type 128              vlan 100  any                    -             1',
    'eth2  rest  accept   bridge  any             02:00:00:00:00:01/48  any       any                    -             5',
    'eth2  -     discard  bridge  any             any                   any       any                    -             0',
  ].join('\n'));
  assert.deepEqual(JSON.parse((await cnr('acl', '--list', '--json', '--introspect', endpoint)).out), ACLS);
  const usage = await cnr('acl', '--introspect', endpoint);
  assert.equal(usage.code, 2);
  assert.match(usage.err, /usage: cnr acl --list/);
});

test('formatTable right-aligns numbers and pads text', () => {
  assert.equal(formatTable(['A', 'NUM', 'Z'], [['x', 5, 'end'], ['long', 12345, 'e']]), ['A       NUM  Z', 'x         5  end', 'long  12345  e'].join('\n'));
});

test('cnr vif --list: a memif vif gets a line under the table with its client and ring occupancy', async () => {
  const memif = { socket: '/run/cnr/memif/shop/app/eth0.sock', id: 0, state: 'connected', peer: 'DPDK 22.11.11', connects: 2, disconnects: 1, badMessages: 0, badDescriptors: 1, refused: 0, rxRingSize: 1024, txRingSize: 1024, rxRingWaiting: 17, txRingPosted: 1000, rxQueues: 2, txQueues: 2, lastDisconnect: 'the client closed the control socket' };
  VIFS.push({ id: 2, name: 'mif0', driver: 'memif', vrf: 'default', mac: '02:00:00:00:00:20', mtu: 1500, addresses: [], rxPackets: 1, rxBytes: 60, txPackets: 1, txBytes: 60, drops: 0, memif });
  try {
    const r = await cnr('vif', '--list', '--introspect', endpoint);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /\n\nmemif mif0: \/run\/cnr\/memif\/shop\/app\/eth0\.sock id 0, connected to DPDK 22\.11\.11, 2 rx 2 tx queues, rx ring 17\/1024 waiting, tx ring 1000\/1024 buffers posted, 2 connects 1 disconnects, refused 0 bad messages 1 bad descriptors, last disconnect: the client closed the control socket$/);
    VIFS[2]!.memif = { ...memif, state: 'listening', badDescriptors: 0, lastDisconnect: '' };
    const idle = await cnr('vif', '--list', '--introspect', endpoint);
    assert.match(idle.out, /memif mif0: \S+ id 0, listening, 2 connects 1 disconnects$/);
  } finally {
    VIFS.pop();
  }
});
