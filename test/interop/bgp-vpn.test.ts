/**
 * L3VPN against real peers. Namespaces: `cnr` (the controller, AS 65000, VRFs blue and red)
 * linked to `gobgp` (10.0.0.0/30) and to `frr` (10.0.1.0/30), iBGP inet-vpn on both.
 *  - GoBGP originates VPNv4 routes with RDs, route targets and labels: each must land in the
 *    VRF whose target it carries, and only there, with its label to push toward GoBGP.
 *  - FRR (bgpd, `address-family ipv4 vpn`) receives cnr's VRF routes with their RD, route
 *    target and the VRF's label from mpls.0; and not GoBGP's (cnr is no route reflector).
 *  - Withdrawals and removing a VRF are seen by both.
 *  - Labeled unicast (inet labeled-unicast on the same sessions): GoBGP's labeled route is
 *    installed in inet.0 with its label pushed; FRR gets cnr's static route labeled.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, canBuildLabs } from './harness/lab.js';
import { Cnr, cnrAvailable } from './harness/cnr.js';
import { Frr } from './harness/frr.js';
import { Gobgp, gobgpConfig } from './harness/gobgp.js';
import { waitFor } from './harness/proc.js';

const T = 30_000;
const reason = !canBuildLabs() ? 'needs root to build network namespaces' : !cnrAvailable() ? 'cnr controller is not built' : undefined;
if (reason) console.log(`# bgp-vpn interop skipped: ${reason}`);

function cnrConfig(ifGobgp: string, ifFrr: string): string[] {
  const vrf = (name: string, n: number, route: string) => [
    `set routing-instances ${name} instance-type vrf`,
    `set routing-instances ${name} route-distinguisher 10.255.0.1:${n}`,
    `set routing-instances ${name} vrf-target target:65000:${n}`,
    `set routing-instances ${name} vrf-table-label`,
    `set routing-instances ${name} routing-options static route ${route} discard`,
  ];
  return [
    `set interfaces ${ifGobgp} unit 0 family inet address 10.0.0.1/30`,
    `set interfaces ${ifFrr} unit 0 family inet address 10.0.1.1/30`,
    'set protocols bgp group core type internal',
    'set protocols bgp group core family inet-vpn unicast',
    'set protocols bgp group core family inet labeled-unicast',
    'set protocols bgp group core export lu-out',
    'set policy-options policy-statement lu-out term s from protocol static',
    'set policy-options policy-statement lu-out term s then accept',
    'set routing-options static route 198.18.0.0/24 discard',
    'set protocols bgp group core neighbor 10.0.0.2',
    'set protocols bgp group core neighbor 10.0.1.2',
    ...vrf('blue', 1, '10.1.0.0/24'),
    ...vrf('red', 2, '10.2.0.0/24'),
  ];
}

const FRR_CONF = [
  'hostname cnr-vpn-frr',
  'log stdout informational',
  'router bgp 65000',
  ' bgp router-id 10.0.1.2',
  ' no bgp ebgp-requires-policy',
  ' no bgp default ipv4-unicast',
  ' neighbor 10.0.1.1 remote-as 65000',
  ' address-family ipv4 vpn',
  '  neighbor 10.0.1.1 activate',
  ' exit-address-family',
  ' address-family ipv4 labeled-unicast',
  '  neighbor 10.0.1.1 activate',
  ' exit-address-family',
  'exit',
].join('\n') + '\n';

/** FRR's VPNv4 table: RD -> prefix -> paths. */
async function frrVpn(frr: Frr): Promise<Record<string, Record<string, any[]>>> {
  const j = await frr.jsonAsync<any>('show bgp ipv4 vpn json');
  const out: Record<string, Record<string, any[]>> = {};
  for (const [rd, v] of Object.entries<any>(j?.routes?.routeDistinguishers ?? {})) out[rd] = v;
  return out;
}

/** The route of a prefix in a cnr table, from `show route table T PREFIX exact` (undefined: none). */
async function cnrRoute(cnr: Cnr, table: string, prefix: string): Promise<any | undefined> {
  const j = await cnr.json<any>(`show route table ${table} ${prefix} exact`);
  for (const t of j?.tables ?? []) for (const e of t.entries ?? []) if (e.prefix === prefix) return (e.routes as any[]).find((r) => r.active) ?? e.routes[0];
  return undefined;
}

describe('L3VPN: cnr with GoBGP and FRR', { skip: reason, timeout: 150_000 }, () => {
  let lab: Lab;
  let cnr: Cnr;
  let gobgp: Gobgp;
  let frr: Frr;

  before(async () => {
    lab = new Lab('ivpn');
    const nsCnr = lab.ns('cnr');
    const nsGo = lab.ns('gobgp');
    const nsFrr = lab.ns('frr');
    const lg = lab.link(nsCnr, nsGo, { a4: '10.0.0.1/30', b4: '10.0.0.2/30' });
    const lf = lab.link(nsCnr, nsFrr, { a4: '10.0.1.1/30', b4: '10.0.1.2/30' });
    gobgp = await Gobgp.start(lab, nsGo, 'vpn', gobgpConfig({
      asn: 65000,
      routerId: '10.0.0.2',
      neighbors: [{ address: '10.0.0.1', asn: 65000, families: ['l3vpn-ipv4-unicast', 'ipv4-labelled-unicast'] as unknown as 'ipv4-unicast'[], tail: '  [neighbors.timers.config]\n    connect-retry = 1' }],
    }));
    frr = await Frr.start(lab, nsFrr, 'vpn', { bgpd: FRR_CONF });
    cnr = await Cnr.start(lab, nsCnr, 'pe1', { asn: 65000, routerId: '10.255.0.1', neighbors: [], extra: cnrConfig(lg.ifA, lf.ifA) });
  }, { timeout: 60_000 });

  after(async () => {
    if (process.env['CNR_INTEROP_DEBUG'] && cnr) console.log(cnr.daemon.output().slice(-5000));
    await lab?.close();
  });

  test('inet-vpn sessions establish with both peers', async () => {
    for (const a of ['10.0.0.2', '10.0.1.2']) await waitFor(`cnr session to ${a}`, async () => /^established$/i.test((await cnr.neighborState(a)) ?? ''), T);
    await waitFor('FRR session', async () => (await frr.jsonAsync<any>('show bgp neighbors 10.0.1.1 json'))?.['10.0.1.1']?.bgpState === 'Established', T);
    const caps = await cnr.neighbor('10.0.1.2');
    assert.match(JSON.stringify(caps), /inet-vpn|1\/128/, 'the VPN family was negotiated');
  });

  test('GoBGP VPNv4 routes land in the VRF whose target they carry, and only there', async () => {
    const add = (prefix: string, label: number, rd: string, rt: string) => gobgp.gobgp('global', 'rib', '-a', 'vpnv4', 'add', prefix, 'label', String(label), 'rd', rd, 'rt', rt);
    await add('192.0.2.0/24', 3001, '65000:100', '65000:1');
    await add('198.51.100.0/24', 3002, '65000:200', '65000:2');
    await add('203.0.113.0/24', 3003, '65000:300', '65000:99');
    const blue = await waitFor('192.0.2.0/24 in blue.inet.0', () => cnrRoute(cnr, 'blue.inet.0', '192.0.2.0/24'), T);
    assert.match(JSON.stringify(blue), /3001/, `pushes GoBGP's label: ${JSON.stringify(blue)}`);
    assert.match(JSON.stringify(blue), /10\.0\.0\.2/);
    const red = await waitFor('198.51.100.0/24 in red.inet.0', () => cnrRoute(cnr, 'red.inet.0', '198.51.100.0/24'), T);
    assert.match(JSON.stringify(red), /3002/);
    assert.equal(await cnrRoute(cnr, 'red.inet.0', '192.0.2.0/24'), undefined, 'blue route not in red');
    assert.equal(await cnrRoute(cnr, 'blue.inet.0', '198.51.100.0/24'), undefined, 'red route not in blue');
    for (const t of ['blue.inet.0', 'red.inet.0']) assert.equal(await cnrRoute(cnr, t, '203.0.113.0/24'), undefined, `target 65000:99 is imported nowhere (${t})`);
    const vpn = await cnr.json<any>('show route table bgp.l3vpn.0');
    const keys = (vpn.routes as any[]).map((r) => r.key);
    for (const k of ['65000:100:192.0.2.0/24', '65000:200:198.51.100.0/24', '65000:300:203.0.113.0/24']) assert.ok(keys.includes(k), `bgp.l3vpn.0 holds ${k}: ${keys}`);
    const text = await cnr.cli('show route table bgp.l3vpn.0');
    assert.match(text, /65000:100:192\.0\.2\.0\/24[\s\S]*Push 3001/);
  });

  test("FRR receives cnr's VRF routes with RD, route target and the VRF label; not GoBGP's", async () => {
    const mpls = await cnr.json<any>('show route table mpls.0');
    const labelOf = (vrf: string) => (mpls.routes as any[]).find((r) => r.table === `${vrf}.inet.0`)?.label as number;
    const blueLabel = labelOf('blue');
    const redLabel = labelOf('red');
    assert.ok(blueLabel >= 16 && redLabel >= 16 && blueLabel !== redLabel, `one label per VRF: ${JSON.stringify(mpls.routes)}`);
    await waitFor('FRR has both VRFs', async () => {
      const v = await frrVpn(frr);
      return v['10.255.0.1:1']?.['10.1.0.0/24'] && v['10.255.0.1:2']?.['10.2.0.0/24'];
    }, T);
    for (const [rd, prefix, rt, label] of [['10.255.0.1:1', '10.1.0.0/24', 'RT:65000:1', blueLabel], ['10.255.0.1:2', '10.2.0.0/24', 'RT:65000:2', redLabel]] as const) {
      const j = await frr.jsonAsync<any>(`show bgp ipv4 vpn rd ${rd} ${prefix} json`);
      const s = JSON.stringify(j);
      assert.ok(s.includes(rt), `${rd}:${prefix} carries ${rt}: ${s}`);
      assert.match(s, new RegExp(`"remoteLabel":${label}\\b`), `${rd}:${prefix} carries label ${label}: ${s}`);
      assert.match(s, /10\.0\.1\.1/, 'next hop self');
    }
    const v = await frrVpn(frr);
    assert.equal(v['65000:100'], undefined, 'an iBGP route from GoBGP is not passed to another iBGP peer');
  });

  test('withdrawals and a removed VRF reach cnr and FRR', async () => {
    await gobgp.gobgp('global', 'rib', '-a', 'vpnv4', 'del', '192.0.2.0/24', 'label', '3001', 'rd', '65000:100');
    await waitFor('192.0.2.0/24 gone from blue', async () => (await cnrRoute(cnr, 'blue.inet.0', '192.0.2.0/24')) === undefined, T);
    await cnr.exec(['configure private', 'delete routing-instances red', 'commit']);
    await waitFor('FRR lost red', async () => (await frrVpn(frr))['10.255.0.1:2']?.['10.2.0.0/24'] === undefined, T);
    assert.equal((await cnr.json<any>('show route advertising-protocol bgp 10.0.1.2'))['bgp.l3vpn.0'].length, 1, 'cnr advertises blue only');
    assert.ok((await frrVpn(frr))['10.255.0.1:1']?.['10.1.0.0/24'], 'blue stays');
    const mpls = await cnr.json<any>('show route table mpls.0');
    assert.deepEqual((mpls.routes as any[]).map((r) => r.table), ['blue.inet.0'], "red's label is released");
  });

  test('labeled unicast: GoBGP\'s label is pushed in inet.0; FRR receives cnr\'s route labeled', async () => {
    await gobgp.gobgp('global', 'rib', '-a', 'ipv4-mpls', 'add', '198.19.0.0/24', '777');
    await waitFor('198.19.0.0/24 in inet.0 with label 777', async () => /Push 777/.test(await cnr.cli('show route 198.19.0.0/24 exact')), T);
    const r = await waitFor('FRR has 198.18.0.0/24 labeled', async () => {
      const j = await frr.jsonAsync<any>('show bgp ipv4 labeled-unicast json');
      return j?.routes?.['198.18.0.0/24'];
    }, T);
    assert.match(JSON.stringify(r), /10\.0\.1\.1/, 'next hop self');
    const j = await frr.jsonAsync<any>('show bgp ipv4 labeled-unicast json');
    assert.equal(j?.routes?.['198.19.0.0/24'], undefined, "GoBGP's iBGP route is not passed to another iBGP peer");
  });
});
