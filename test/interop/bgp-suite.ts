/**
 * The interop assertions every full BGP peer (FRR, BIRD, GoBGP) must pass against cnr, over
 * one shared topology per peer: namespaces `cnr` and `peer` joined by one veth carrying
 * IPv4 (10.0.0.0/30) and IPv6 (fd00:4::/64); two sessions, IPv4 unicast over IPv4 transport
 * and IPv6 unicast over IPv6 transport. cnr (AS 65000) announces static routes through an
 * export policy that tags them with community 65000:200 and holds back 198.51.100.128/25 and
 * 2001:db8:3::/48; its import policy rejects 192.0.2.128/25 and 2001:db8:1:8000::/49, which
 * the peer announces beside routes it tags with its own community.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, canBuildLabs } from './harness/lab.js';
import { Cnr, cnrAvailable, type CnrSpec } from './harness/cnr.js';
import { waitFor } from './harness/proc.js';
import type { PeerUnderTest, Topology } from './harness/peers.js';

export const TOPO: Topology = { cnrAs: 65000, cnr4: '10.0.0.1', cnr6: 'fd00:4::1', peer4: '10.0.0.2', peer6: 'fd00:4::2' };

export const CNR_EXPORTED = ['198.51.100.0/25', '2001:db8:2::/48'];
export const CNR_HELD_BACK = ['198.51.100.128/25', '2001:db8:3::/48'];
export const PEER_ACCEPTED = ['192.0.2.0/25', '2001:db8:1::/49'];
export const PEER_REJECTED = ['192.0.2.128/25', '2001:db8:1:8000::/49'];

/** cnr's configuration against one peer. */
export function cnrSpec(peer: PeerUnderTest, ifname: string, extra: string[] = []): CnrSpec {
  return {
    asn: TOPO.cnrAs,
    routerId: '10.255.0.1',
    // connected subnets resolve the peer's next hops
    interfaces: [{ name: ifname, addresses: [`${TOPO.cnr4}/30`, `${TOPO.cnr6}/64`] }],
    statics: [...CNR_EXPORTED, ...CNR_HELD_BACK],
    neighbors: [
      { address: TOPO.peer4, asn: peer.asn, families: ['inet'], import: ['from-peer'], export: ['to-peer'] },
      { address: TOPO.peer6, asn: peer.asn, families: ['inet6'], import: ['from-peer'], export: ['to-peer'] },
    ],
    extra: [
      ...PEER_REJECTED.map((p) => `set policy-options prefix-list blocked-in ${p}`),
      'set policy-options policy-statement from-peer term block from prefix-list blocked-in',
      'set policy-options policy-statement from-peer term block then reject',
      'set policy-options policy-statement from-peer term rest then accept',
      'set policy-options community cnr-tag members 65000:200',
      ...CNR_HELD_BACK.flatMap((p, i) => [
        `set policy-options policy-statement to-peer term hold${i} from route-filter ${p} exact`,
        `set policy-options policy-statement to-peer term hold${i} then reject`,
      ]),
      'set policy-options policy-statement to-peer term statics from protocol static',
      'set policy-options policy-statement to-peer term statics then community add cnr-tag',
      'set policy-options policy-statement to-peer term statics then accept',
      'set policy-options policy-statement to-peer term rest then reject',
      ...extra,
    ],
  };
}

export interface SuiteContext {
  lab: Lab;
  cnr: Cnr;
  peer: PeerUnderTest;
  nsCnr: string;
  nsPeer: string;
}

/** Why the suite cannot run here, or undefined when it can. */
export function skipReason(): string | undefined {
  if (!canBuildLabs()) return 'needs root to build network namespaces';
  if (!cnrAvailable()) return 'cnr controller with BGP is not built yet';
  return undefined;
}

/** Build the topology: namespaces, link, peer daemon, cnr; wait for both sessions. */
export async function setUp(tag: string, peer: PeerUnderTest, cnrExtra: string[] = []): Promise<SuiteContext> {
  const lab = new Lab(tag);
  try {
    const nsCnr = lab.ns('cnr');
    const nsPeer = lab.ns('peer');
    const link = lab.link(nsCnr, nsPeer, { a4: `${TOPO.cnr4}/30`, b4: `${TOPO.peer4}/30`, a6: `${TOPO.cnr6}/64`, b6: `${TOPO.peer6}/64` });
    await peer.start(lab, nsPeer, TOPO);
    const cnr = await Cnr.start(lab, nsCnr, 'dut', cnrSpec(peer, link.ifA, cnrExtra));
    return { lab, cnr, peer, nsCnr, nsPeer };
  } catch (err) {
    await lab.close();
    throw err;
  }
}

const T = 30_000;

/** The shared assertions, registered as tests of the current describe(). */
export function defineBgpInterop(tag: string, makePeer: () => PeerUnderTest, more?: (ctx: () => SuiteContext) => void): void {
  const reason = skipReason();
  describe(`cnr and ${makePeer().kind}`, { skip: reason, timeout: 120_000 }, () => {
    let ctx: SuiteContext;
    before(async () => {
      ctx = await setUp(tag, makePeer());
    }, { timeout: 60_000 });
    after(async () => {
      if (!ctx) return;
      if (process.env['CNR_INTEROP_DEBUG']) console.log(ctx.cnr.daemon.output().slice(-5000));
      await ctx.lab.close();
    });

    test('sessions establish over IPv4 and IPv6 transport', async () => {
      const { cnr, peer } = ctx;
      for (const [cnrAddr, peerAddr] of [[TOPO.cnr4, TOPO.peer4], [TOPO.cnr6, TOPO.peer6]] as const) {
        await waitFor(`${peer.kind} sees session to ${cnrAddr} Established`, () => peer.established(cnrAddr), T);
        await waitFor(`cnr sees session to ${peerAddr} Established`, async () => /^established$/i.test((await cnr.neighborState(peerAddr)) ?? ''), T);
      }
    });

    test('routes pass both ways, with communities intact', async () => {
      const { cnr, peer } = ctx;
      for (const p of [...PEER_ACCEPTED, ...PEER_REJECTED]) await peer.announce(p);
      for (const p of [...PEER_ACCEPTED, ...peer.configured]) {
        const r = await waitFor(`cnr learns ${p} from ${peer.kind}`, () => cnr.bgpRoute(p), T);
        assert.ok(r.communities.includes(peer.community), `${p} at cnr keeps ${peer.community}: ${JSON.stringify(r.communities)}`);
        assert.match(r.asPath, new RegExp(`^${peer.asn}\\b`), `${p} at cnr has AS path starting ${peer.asn}`);
      }
      for (const p of CNR_EXPORTED) {
        const r = await waitFor(`${peer.kind} learns ${p} from cnr`, () => peer.route(p), T);
        assert.equal(r.asPath, String(TOPO.cnrAs), `${p} at ${peer.kind} has AS path 65000`);
        assert.ok(r.communities.includes('65000:200'), `${p} at ${peer.kind} carries 65000:200 added by cnr's export policy: ${JSON.stringify(r.communities)}`);
      }
    });

    test('policy filters what it should, both ways', async () => {
      const { cnr, peer } = ctx;
      // the accepted routes arrived in the same or an earlier UPDATE: the rejected ones had their chance
      await waitFor('accepted routes at cnr', () => cnr.bgpRoute(PEER_ACCEPTED[0]!), T);
      for (const p of PEER_REJECTED) {
        // it did arrive (cnr's Adj-RIB-In shows it) and the import policy kept it out of the RIB
        const peerAddr = p.includes(':') ? TOPO.peer6 : TOPO.peer4;
        await waitFor(`cnr received ${p}`, async () => {
          const j = await cnr.json<Record<string, { prefix: string }[]>>(`show route receive-protocol bgp ${peerAddr}`);
          return Object.values(j ?? {}).some((rows) => rows.some((x) => x.prefix === p));
        }, T);
        const r = await cnr.bgpRoute(p);
        assert.ok(!r?.active, `cnr's import policy rejects ${p} (got ${JSON.stringify(r?.raw)})`);
      }
      await waitFor('exported routes at the peer', () => peer.route(CNR_EXPORTED[1]!), T);
      for (const p of CNR_HELD_BACK) assert.equal(await peer.route(p), undefined, `cnr's export policy holds back ${p}`);
    });

    test('route refresh works both ways, on both sessions', async () => {
      const { cnr, peer } = ctx;
      for (const [cnrAddr, peerAddr, exported, accepted] of [
        [TOPO.cnr4, TOPO.peer4, CNR_EXPORTED[0]!, PEER_ACCEPTED[0]!],
        [TOPO.cnr6, TOPO.peer6, CNR_EXPORTED[1]!, PEER_ACCEPTED[1]!],
      ] as const) {
        await waitFor(`${peer.kind} holds ${exported}`, () => peer.route(exported), T);
        await waitFor(`cnr holds ${accepted}`, () => cnr.bgpRoute(accepted), T);
        // the peer asks cnr to resend: cnr answers with UPDATEs
        if (peer.requestRefresh) {
          const u0 = await peer.updatesIn(cnrAddr);
          await peer.requestRefresh(cnrAddr);
          await waitFor(`cnr resends its routes to ${peer.kind} (${cnrAddr}) after ROUTE-REFRESH`, async () => (await peer.updatesIn(cnrAddr)) > u0, T);
          assert.ok(await peer.route(exported), `${exported} still at ${peer.kind} after the refresh`);
        }
        // cnr asks the peer to resend, through the CLI as a user would type it
        const r0 = await peer.refreshIn(cnrAddr);
        await cnr.cli(`clear bgp neighbor ${peerAddr} soft-inbound`);
        if (r0 !== undefined) {
          await waitFor(`${peer.kind} receives cnr's ROUTE-REFRESH on ${peerAddr}`, async () => ((await peer.refreshIn(cnrAddr)) ?? 0) > r0, T);
        }
        assert.ok(await cnr.bgpRoute(accepted), `cnr still holds ${accepted} after the refresh`);
        assert.ok(/^established$/i.test((await cnr.neighborState(peerAddr)) ?? ''), 'soft refresh keeps the session up');
      }
    });

    test('withdrawals propagate both ways', async () => {
      const { cnr, peer } = ctx;
      for (const p of PEER_ACCEPTED) {
        await waitFor(`cnr holds ${p}`, () => cnr.bgpRoute(p), T);
        await peer.withdraw(p);
        await waitFor(`cnr drops ${p} withdrawn by ${peer.kind}`, async () => (await cnr.bgpRoute(p)) === undefined, T);
      }
      for (const p of CNR_EXPORTED) {
        await waitFor(`${peer.kind} holds ${p}`, () => peer.route(p), T);
        await cnr.configure([p.includes(':') ? `delete routing-options rib inet6.0 static route ${p}` : `delete routing-options static route ${p}`]);
        await waitFor(`${peer.kind} drops ${p} withdrawn by cnr`, async () => (await peer.route(p)) === undefined, T);
      }
      // unrelated routes stay
      for (const p of peer.configured) assert.ok(await cnr.bgpRoute(p), `cnr keeps ${p}`);
    });

    more?.(() => ctx);
  });
}
