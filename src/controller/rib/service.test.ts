import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSet } from '../config/notation-set.js';
import { CommitError, ConfigStore } from '../config/store.js';
import { Rib } from './rib.js';
import { RibService, VIF_ADDRESSES, configuredInterfaces } from './service.js';

const BASE = `
set routing-options router-id 10.255.0.1
set interfaces eth1 unit 0 family inet address 10.0.0.1/24
set interfaces eth1 unit 0 family inet6 address 2001:db8::1/64
set interfaces eth2 unit 0 family inet address 10.1.0.1/24
set interfaces pod1 unit 0 family inet address 169.254.1.1/32
set interfaces pod2 unit 0 family inet address 169.254.1.1/32
set routing-options static route 192.0.2.0/24 next-hop 10.0.0.2
set routing-options static route 192.0.2.0/24 next-hop 10.1.0.2
set routing-options static route 198.51.100.0/24 qualified-next-hop 10.0.0.2 interface eth1
set routing-options static route 198.51.100.0/24 qualified-next-hop 10.1.0.2 preference 7
set routing-options static route 203.0.113.0/24 discard
set routing-options static route 203.0.113.128/25 reject
set routing-options static route 10.99.0.0/16 next-hop 192.0.2.1
set routing-options static route 10.99.0.0/16 resolve
set routing-options static route 10.98.0.0/16 next-hop 192.0.2.1
set routing-options rib inet6.0 static route 2001:db8:99::/48 next-hop 2001:db8::2
set routing-instances blue instance-type vrf
set routing-instances blue interface pod1
set routing-instances blue interface pod2
set routing-instances blue routing-options static route 10.244.0.5/32 qualified-next-hop 10.244.0.5 interface pod1
set routing-instances blue routing-options static route 10.244.0.6/32 qualified-next-hop 10.244.0.6 interface pod2
`;

async function service(text: string) {
  const rib = new Rib();
  const svc = new RibService(rib);
  const cfg = loadSet(text);
  assert.deepEqual(svc.validate(cfg), []);
  await svc.apply(cfg);
  return { rib, svc, cfg };
}

test('configuration becomes direct, local and static routes in the right tables', async () => {
  const { rib } = await service(BASE);
  assert.deepEqual(rib.getFib('inet.0', '192.0.2.0/24')?.nexthops, [
    { gateway: '10.0.0.2', interface: 'eth1' },
    { gateway: '10.1.0.2', interface: 'eth2' },
  ]);
  assert.deepEqual(rib.getFib('inet.0', '198.51.100.0/24')?.nexthops, [{ gateway: '10.0.0.2', interface: 'eth1' }]);
  assert.equal(rib.getFib('inet.0', '203.0.113.0/24')?.action, 'discard');
  assert.equal(rib.getFib('inet.0', '203.0.113.128/25')?.action, 'reject');
  assert.equal(rib.getFib('inet.0', '10.0.0.1/32')?.action, 'receive');
  assert.deepEqual(rib.getFib('inet.0', '10.99.0.0/16')?.nexthops, [
    { gateway: '10.0.0.2', interface: 'eth1' },
    { gateway: '10.1.0.2', interface: 'eth2' },
  ], 'resolve: recursive through 192.0.2.0/24');
  assert.equal(rib.get('inet.0', '10.98.0.0/16'), undefined, 'without resolve a remote next hop is unusable');
  assert.deepEqual(rib.getFib('inet6.0', '2001:db8:99::/48')?.nexthops, [{ gateway: '2001:db8::2', interface: 'eth1' }]);
  assert.deepEqual(rib.getFib('blue.inet.0', '10.244.0.6/32')?.nexthops, [{ gateway: '10.244.0.6', interface: 'pod2' }]);
  assert.equal(rib.getFib('blue.inet.0', '169.254.1.1/32')?.action, 'receive');
  assert.equal(rib.get('inet.0', '169.254.1.1/32'), undefined, 'pod interfaces are in the VRF only');
});

test('a commit applies only the difference: the floating route takes over, removed routes go', async () => {
  const { rib, svc } = await service(BASE);
  const next = loadSet(`${BASE}
delete routing-options static route 198.51.100.0/24 qualified-next-hop 10.0.0.2
delete routing-options static route 203.0.113.0/24
delete routing-instances blue interface pod2
delete interfaces pod2`);
  assert.deepEqual(svc.validate(next), []);
  await svc.apply(next);
  assert.deepEqual(rib.getFib('inet.0', '198.51.100.0/24')?.nexthops, [{ gateway: '10.1.0.2', interface: 'eth2' }]);
  assert.equal(rib.get('inet.0', '203.0.113.0/24'), undefined);
  assert.equal(rib.getFib('blue.inet.0', '10.244.0.6/32'), undefined, 'a next hop on an interface that is gone is unusable');
  assert.equal(rib.show('blue.inet.0', { prefix: '10.244.0.6/32', exact: true })[0]?.candidates[0]?.forwarding, null);
  await svc.apply(loadSet(BASE));
  assert.deepEqual(rib.getFib('blue.inet.0', '10.244.0.6/32')?.nexthops, [{ gateway: '10.244.0.6', interface: 'pod2' }], 'and usable again when it comes back');
});

/** A configuration store with the RIB service as its consumer, in a temporary directory. */
async function withStore(run: (store: ConfigStore, svc: RibService) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `cnr-rib-store-${process.pid}-`));
  const svc = new RibService(new Rib());
  const store = new ConfigStore({ dir, consumers: [svc] });
  try {
    await store.open();
    await run(store, svc);
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('validation names the config path of each problem, and each problem once', async () => {
  await withStore(async (store) => {
    const errors = store.validate(loadSet(`
set interfaces eth1 unit 0 family inet address 10.0.0.1/24
set interfaces eth3 unit 5 family inet address 10.3.0.1/24
set routing-options static route 192.0.2.0/24 next-hop 2001:db8::1
set routing-options static route 192.0.3.0/24 discard
set routing-options static route 192.0.3.0/24 next-hop 10.0.0.2
set routing-options rib inet6.0 static route 10.5.0.0/16 discard
set routing-instances red interface eth9
set routing-instances red interface eth1
set routing-instances blue interface eth1.0
`));
    // the tree's rules are the store's (no consumer prefix); what only the RIB cannot do is the RIB's
    assert.deepEqual(errors.sort(), [
      'rib: interfaces eth3 unit 5: only unit 0 is supported (use vlan-id on a netdev for a VLAN sub-interface)',
      'rib: routing-instances red interface eth9: no such interface under [interfaces]',
      'routing-instances blue interface eth1.0: already in routing instance red',
      'routing-options rib inet6.0 static route 10.5.0.0/16: an IPv4 prefix does not belong in inet6.0',
      'routing-options static route 192.0.2.0/24: next hop 2001:db8::1 is not IPv4',
      'routing-options static route 192.0.3.0/24: discard and next hops exclude each other',
    ]);
  });
});

test('a refused static route is reported once, with its config path, and nothing is applied', async () => {
  await withStore(async (store, svc) => {
    const s = store.session(true);
    s.set(['interfaces', 'eth1', 'unit', '0', 'family', 'inet', 'address', '10.0.0.1/24']);
    s.set(['routing-instances', 'blue', 'routing-options', 'static', 'route', '2001:db8::/32', 'next-hop', '2001:db8::1']);
    let message = '';
    await assert.rejects(store.commit(s, { user: 'a' }), (e: unknown) => {
      assert.ok(e instanceof CommitError);
      message = e.message;
      return true;
    });
    const path = 'routing-instances blue routing-options static route 2001:db8::/32';
    const lines = message.split('\n').filter((l) => l.includes(path));
    assert.deepEqual(lines, [
      `error: ${path}: an IPv6 prefix does not belong in blue.inet.0 (put it under rib blue.inet6.0)`,
      `error: ${path}: next hop 2001:db8::1 is not IPv4`,
    ], message);
    assert.equal(message.split('\n').length, 3, `two problems and the summary line:\n${message}`);
    assert.equal(store.records().length, 0, 'nothing committed');
    assert.equal(svc.rib.get('inet.0', '10.0.0.1/32'), undefined, 'nothing applied');
  });
});

test('show route prints Junos-like text and structured data', async () => {
  const { svc } = await service(BASE);
  const brief = svc.showRoute(['table', 'inet.0']);
  assert.match(brief.text, /^inet\.0: \d+ destinations, \d+ routes \(\d+ active, 0 holddown, 1 hidden\)/);
  assert.match(brief.text, /192\.0\.2\.0\/24\s+\*\[Static\/5\] \d\d:\d\d:\d\d\n\s+> to 10\.0\.0\.2 via eth1\n\s+to 10\.1\.0\.2 via eth2/);
  assert.match(brief.text, /10\.0\.0\.1\/32\s+\*\[Local\/0\][^\n]*\n\s+Local via eth1/);
  assert.match(brief.text, /203\.0\.113\.0\/24\s+\*\[Static\/5\][^\n]*\n\s+Discard/);
  const ext = svc.showRoute(['198.51.100.0/24', 'exact', 'extensive']);
  assert.match(ext.text, /198\.51\.100\.0\/24 \(2 entries, 1 announced\)/);
  assert.match(ext.text, /\*Static {3}Preference: 5[\s\S]*Next hop: to 10\.0\.0\.2 via eth1, selected[\s\S]*Selected by: Route preference/);
  assert.match(ext.text, /Static {3}Preference: 7[\s\S]*Inactive reason: Route preference/);
  const data = ext.data as { tables: { name: string; entries: { prefix: string; routes: { preference: number; active: boolean }[] }[] }[] };
  assert.deepEqual(data.tables.map((t) => t.name), ['inet.0']);
  assert.deepEqual(data.tables[0]!.entries[0]!.routes.map((r) => [r.preference, r.active]), [[5, true], [7, false]]);
  const lm = svc.showRoute(['10.99.1.1']);
  assert.deepEqual((lm.data as typeof data).tables[0]!.entries.map((e) => e.prefix), ['10.99.0.0/16'], 'an address shows its longest match');
  assert.doesNotMatch(brief.text, /10\.98\.0\.0\/16/, 'a route whose next hop does not resolve is hidden');
  const hid = svc.showRoute(['hidden', 'extensive']);
  assert.match(hid.text, /10\.98\.0\.0\/16 \(1 entry, 0 announced\)[\s\S]*Next hop: to 192\.0\.2\.1 \(unusable\)[\s\S]*State: <NotBest Hidden>/);
  assert.doesNotMatch(hid.text, /192\.0\.2\.0\/24/);
  const sum = svc.showSummary();
  assert.match(sum.text, /Router ID: 10\.255\.0\.1/);
  assert.match(sum.text, /blue\.inet\.0: 3 destinations/);
  assert.throws(() => svc.showRoute(['table', 'nosuch.inet.0']), /no table/);
});

test('`vrouter driver` picks how the vRouter attaches a netdev: af-xdp, tap, af-packet; anything else is refused', () => {
  const cfg = loadSet(`
set interfaces eth1 vrouter driver af-xdp
set interfaces eth1 unit 0 family inet address 10.0.0.1/24
set interfaces eth2 vrouter driver tap
set interfaces eth3 unit 0 family inet address 10.3.0.1/24
`);
  const drivers = Object.fromEntries(configuredInterfaces(cfg).map((i) => [i.name, i.driver]));
  assert.deepEqual(drivers, { eth1: 'af-xdp', eth2: 'tap', eth3: undefined });
  assert.throws(() => loadSet('set interfaces eth1 vrouter driver af-xdq'), /af-xdq/);
});

test('`vrouter driver memif` with `vrouter memif socket PATH id N`: the socket and id reach the interface', () => {
  const cfg = loadSet(`
set interfaces memif-a vrouter driver memif
set interfaces memif-a vrouter memif socket /run/cnr/memif/a/memif.sock
set interfaces memif-a vrouter memif id 3
set interfaces memif-a unit 0 family inet address 10.9.0.1/24
`);
  const [i] = configuredInterfaces(cfg);
  assert.equal(i!.driver, 'memif');
  assert.deepEqual(i!.memif, { socket: '/run/cnr/memif/a/memif.sock', id: 3 });
  assert.throws(() => loadSet('set interfaces memif-a vrouter memif id -1'), /-1/);
});

test('static neighbours (`address A arp IP mac MAC`, `ndp`) reach the interface; a malformed or multicast MAC is refused with its reason', () => {
  const cfg = loadSet(`
set interfaces cnr1 unit 0 family inet address 10.81.0.1/32 arp 10.81.0.2 mac 02:AA:bb:cc:dd:ee
set interfaces cnr1 unit 0 family inet6 address fd00:81::1/128 ndp fd00:81:0::2 mac 02:aa:bb:cc:dd:ee
`);
  const [i] = configuredInterfaces(cfg);
  assert.deepEqual(i!.neighbors, ['10.81.0.2 02:aa:bb:cc:dd:ee', 'fd00:81::2 02:aa:bb:cc:dd:ee']);
  assert.throws(() => loadSet('set interfaces cnr1 unit 0 family inet address 10.81.0.1/32 arp 10.81.0.2 mac 02:aa:bb'), /invalid MAC address '02:aa:bb'/);
  assert.throws(() => loadSet('set interfaces cnr1 unit 0 family inet address 10.81.0.1/32 arp 10.81.0.2 mac 01:00:5e:00:00:01'), /multicast/);
  assert.throws(() => loadSet('set interfaces cnr1 unit 0 family inet address 10.81.0.1/32 arp fd00::2 mac 02:aa:bb:cc:dd:ee'), /IPv4/);
  // an entry without its MAC is refused at commit, not left out
  const svc = new RibService(new Rib());
  assert.deepEqual(svc.validate(cfg), []);
  assert.deepEqual(svc.validate(loadSet('set interfaces cnr1 unit 0 family inet address 10.81.0.1/32 arp 10.81.0.2')), ['interfaces cnr1 unit 0 family inet address 10.81.0.1/32 arp 10.81.0.2: needs mac MAC']);
  assert.deepEqual(svc.validate(loadSet('set interfaces cnr1 unit 0 family inet6 address fd00:81::1/128 ndp fd00:81::2')), ['interfaces cnr1 unit 0 family inet6 address fd00:81::1/128 ndp fd00:81::2: needs mac MAC']);
});

test('a memif interface without its socket, with a relative one, or memif settings without the driver are refused at commit', () => {
  const svc = new RibService(new Rib());
  const errs = (text: string) => svc.validate(loadSet(text));
  assert.deepEqual(errs('set interfaces m1 vrouter driver memif'), ['interfaces m1 vrouter driver memif: needs vrouter memif socket PATH']);
  assert.match(errs('set interfaces m1 vrouter driver memif\nset interfaces m1 vrouter memif socket run/x.sock')[0]!, /must be an absolute path/);
  assert.deepEqual(errs('set interfaces m1 vrouter memif socket /run/x.sock'), ['interfaces m1 vrouter memif: needs vrouter driver memif']);
  assert.match(errs(`set interfaces m1 vrouter driver memif\nset interfaces m1 vrouter memif socket /run/x.sock\nset interfaces m1 vrouter memif secret ${'s'.repeat(24)}`)[0]!, /at most 23/);
  assert.deepEqual(errs('set interfaces m1 vrouter driver memif\nset interfaces m1 vrouter memif socket /run/cnr/memif/a/eth0.sock'), []);
});

test('a unit with more addresses than a vif holds is refused at commit, per family; lo0 is not a vif', () => {
  const svc = new RibService(new Rib());
  const errs = (text: string) => svc.validate(loadSet(text));
  const v4 = (n: number, ifn = 'eth1') => Array.from({ length: n }, (_, k) => `set interfaces ${ifn} unit 0 family inet address 10.0.${k}.1/24`).join('\n');
  const v6 = (n: number) => Array.from({ length: n }, (_, k) => `set interfaces eth1 unit 0 family inet6 address 2001:db8:${k}::1/64`).join('\n');
  assert.deepEqual(errs(`${v4(VIF_ADDRESSES.inet)}\n${v6(VIF_ADDRESSES.inet6)}`), []);
  assert.deepEqual(errs(v4(VIF_ADDRESSES.inet + 1)), [`interfaces eth1 unit 0 family inet address: ${VIF_ADDRESSES.inet + 1} addresses, the vRouter holds at most ${VIF_ADDRESSES.inet} per interface`]);
  assert.match(errs(v6(VIF_ADDRESSES.inet6 + 1))[0]!, /^interfaces eth1 unit 0 family inet6 address: 8 addresses, the vRouter holds at most 7/);
  assert.deepEqual(errs(v4(VIF_ADDRESSES.inet + 1, 'lo0').replaceAll('/24', '/32')), []);
  // that these are the vRouter's own limits: test/integration/vif-address-limit.test.ts
});
