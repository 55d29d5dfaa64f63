/**
 * The controller's BFD manager: client requests merged into one session per peer (fastest
 * timers, every client named), withdrawn with the last client; the vRouter's state reports
 * handed to every client, with `wentDown` only for a session that was Up; the IS-IS hook's
 * request shape; authentication from `security authentication-key-chains` (the key in use,
 * validation, secrets hidden). The transport here records what would go on the agent stream and plays the
 * agent's reports: the stream itself, with the real agent and real peers, is exercised by
 * test/interop/bfd-hosted.test.ts and bfd-restart.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bfdSessionId, type PbBfdSessionState, type PbBfdSessionUpdate } from '../../../api/proto.js';
import { activeKey, adjacencyBfdRequest, BfdManager, bfdTimersOf, validateBfdAuthentication, type BfdClientView } from './manager.js';
import { loadSet } from '../../config/notation-set.js';
import { hideSecrets } from '../../mgmt/secrets.js';
import type { ConfigTree } from '../../types.js';

function transport() {
  const sent: PbBfdSessionUpdate[] = [];
  let listener: ((s: PbBfdSessionState) => void) | undefined;
  return {
    sent,
    /** the agent's report of a session's state (only the fields the manager reads) */
    report(u: PbBfdSessionUpdate, state: string) {
      listener?.({ peer: u.peer, local: u.local ?? '', interface: u.interface ?? '', multihop: u.multihop ?? false, state, localDiag: state === 'Down' ? 1 : 0, removed: false, error: '' } as PbBfdSessionState);
    },
    t: {
      setBfdSession: (u: PbBfdSessionUpdate) => void sent.push(u),
      onBfdState: (fn: (s: PbBfdSessionState) => void) => {
        listener = fn;
        return () => (listener = undefined);
      },
      listBfdSessions: async () => ({ sessions: [], discards: [] }),
    },
  };
}

test('requests for one peer share a session at the fastest timers; the last client takes it away', () => {
  const x = transport();
  const m = new BfdManager(x.t);
  const base = { peer: '10.0.0.2', multihop: false };
  const offBgp = m.watch('bgp', { ...base, minTxMs: 300, minRxMs: 300, multiplier: 3 }, () => {});
  const offStatic = m.watch('static', { ...base, minTxMs: 100, minRxMs: 200, multiplier: 5 }, () => {});
  assert.equal(x.sent.length, 2);
  assert.deepEqual(x.sent[1], { peer: '10.0.0.2', local: '', interface: '', multihop: false, desiredMinTxUs: 100_000, requiredMinRxUs: 200_000, detectMult: 3, clients: ['bgp', 'static'] });
  // a different key (multihop) is another session
  m.watch('bgp', { ...base, multihop: true, local: '10.0.0.1', minTxMs: 100, minRxMs: 100, multiplier: 3 }, () => {});
  assert.equal(bfdSessionId(x.sent[2]!), 'multihop - 10.0.0.1 10.0.0.2');
  offStatic();
  assert.deepEqual(x.sent[3], { peer: '10.0.0.2', local: '', interface: '', multihop: false, desiredMinTxUs: 300_000, requiredMinRxUs: 300_000, detectMult: 3, clients: ['bgp'] });
  offBgp();
  assert.deepEqual(x.sent[4], { peer: '10.0.0.2', local: '', interface: '', multihop: false, delete: true });
  offBgp();
  assert.equal(x.sent.length, 5, 'a second unwatch is a no-op');
});

test('state reports reach every client; wentDown only when an Up session stops being Up', () => {
  const x = transport();
  const m = new BfdManager(x.t);
  const req = { peer: 'fd00::2', multihop: false, minTxMs: 100, minRxMs: 100, multiplier: 3 };
  const seenA: BfdClientView[] = [];
  const seenB: BfdClientView[] = [];
  m.watch('bgp', req, (v) => seenA.push(v));
  m.watch('static', req, (v) => seenB.push(v));
  const u = x.sent[0]!;
  assert.equal(m.view(req).up, false);
  x.report(u, 'Down');
  x.report(u, 'Down');
  x.report(u, 'Init');
  x.report(u, 'Up');
  assert.equal(m.view(req).up, true);
  x.report(u, 'Down');
  assert.deepEqual(seenA.map((v) => [v.state, v.up, v.wentDown]), [['Down', false, false], ['Init', false, false], ['Up', true, false], ['Down', false, true]]);
  assert.deepEqual(seenB, seenA);
  assert.equal(seenA.at(-1)!.diag, 1);
  // a report for a session nobody asked for is ignored
  x.report({ peer: '10.9.9.9' }, 'Up');
  assert.equal(seenA.length, 4);
});

test('the IS-IS hook: a single-hop request on the adjacency\'s interface from its bfd-liveness-detection, watched like any client', () => {
  assert.equal(adjacencyBfdRequest('eth1', '10.1.0.2', undefined), undefined, 'no BFD configured on the interface');
  const req = adjacencyBfdRequest('eth1', '10.1.0.2', { 'minimum-interval': 150, multiplier: 4 });
  assert.deepEqual(req, { peer: '10.1.0.2', interface: 'eth1', local: '', multihop: false, minTxMs: 150, minRxMs: 150, multiplier: 4 });
  const x = transport();
  const m = new BfdManager(x.t);
  let adjacencyUp = true;
  const off = m.watch('isis', req!, (v) => {
    if (v.wentDown) adjacencyUp = false;
  });
  assert.deepEqual(x.sent[0], { peer: '10.1.0.2', local: '', interface: 'eth1', multihop: false, desiredMinTxUs: 150_000, requiredMinRxUs: 150_000, detectMult: 4, clients: ['isis'] });
  x.report(x.sent[0]!, 'Up');
  assert.equal(adjacencyUp, true);
  x.report(x.sent[0]!, 'Down');
  assert.equal(adjacencyUp, false, 'the session going Down takes the adjacency down');
  off();
  assert.equal(x.sent.at(-1)!.delete, true);
});

test('bfd-liveness-detection as timers: minimum-interval both ways, each direction overridable, multiplier 3 by default', () => {
  assert.equal(bfdTimersOf(undefined), undefined);
  assert.deepEqual(bfdTimersOf({ 'minimum-interval': 100 }), { minTxMs: 100, minRxMs: 100, multiplier: 3, mode: 'automatic' });
  assert.deepEqual(bfdTimersOf({ 'minimum-interval': 100, 'minimum-receive-interval': 300, 'transmit-interval': { 'minimum-interval': 50 }, multiplier: 5, 'session-mode': 'multihop', 'local-address': '10.0.0.1' }), { minTxMs: 50, minRxMs: 300, multiplier: 5, mode: 'multihop', localAddress: '10.0.0.1' });
  assert.deepEqual(bfdTimersOf({}), { minTxMs: 1000, minRxMs: 1000, multiplier: 3, mode: 'automatic' });
});

const KEYS = [
  'set security authentication-key-chains key-chain fabric key 1 secret first-key',
  'set security authentication-key-chains key-chain fabric key 2 secret second-key start-time 2099-01-01.00:00',
  'set security authentication-key-chains key-chain fabric key 0 secret old-key start-time 2020-06-01.12:30:15',
].join('\n');

test('authentication: the key chain named by bfd-liveness-detection gives the session its algorithm, key id and key', async () => {
  const cfg = loadSet(`${KEYS}\nset protocols bgp group g bfd-liveness-detection minimum-interval 100 authentication key-chain fabric algorithm meticulous-keyed-sha-1\n`);
  const bgp = (cfg['protocols'] as ConfigTree)['bgp'] as ConfigTree;
  const group = (bgp['group'] as ConfigTree)['g'] as ConfigTree;
  const t = bfdTimersOf(group['bfd-liveness-detection']);
  assert.deepEqual(t?.auth, { keyChain: 'fabric', algorithm: 'meticulous-keyed-sha-1' });
  // keyed-sha-1 is the default algorithm
  assert.deepEqual(bfdTimersOf({ authentication: { 'key-chain': 'fabric' } })?.auth, { keyChain: 'fabric', algorithm: 'keyed-sha-1' });

  const x = transport();
  const m = new BfdManager(x.t);
  await m.consumer.apply(cfg, {});
  m.watch('bgp', { peer: '10.0.0.2', multihop: false, minTxMs: 100, minRxMs: 100, multiplier: 3, auth: t!.auth! }, () => {});
  // key 2 starts in 2099; of the two already started, key 1 (no start-time) is older than key 0's 2020 start
  assert.deepEqual({ type: x.sent[0]!.authType, id: x.sent[0]!.authKeyId, key: x.sent[0]!.authKey }, { type: 5, id: 0, key: 'old-key' });
  assert.deepEqual(activeKey(cfg['security'] ? ((cfg['security'] as ConfigTree)['authentication-key-chains'] as ConfigTree)['key-chain'] as ConfigTree : {}, 'fabric', Date.UTC(2100, 0, 1)), { id: 2, secret: 'second-key' });
  // a new secret for the key in use: the session is sent again with it, nothing else changes
  await m.consumer.apply(loadSet(`${KEYS}\nset security authentication-key-chains key-chain fabric key 0 secret rolled-key\n`), cfg);
  assert.equal(x.sent.length, 2);
  assert.equal(x.sent[1]!.authKey, 'rolled-key');
  // a chain that has no key in use (all start later) keeps the session AdminDown, never unauthenticated
  const logged: string[] = [];
  const m2 = new BfdManager(transport().t, (l) => logged.push(l));
  const y = transport();
  const m3 = new BfdManager(y.t, (l) => logged.push(l));
  await m3.consumer.apply(loadSet('set security authentication-key-chains key-chain later key 5 secret k start-time 2099-01-01.00:00\n'), {});
  m3.watch('static', { peer: '10.0.0.9', multihop: false, minTxMs: 100, minRxMs: 100, multiplier: 3, auth: { keyChain: 'later', algorithm: 'keyed-sha-1' } }, () => {});
  assert.equal(y.sent[0]!.adminDown, true);
  assert.equal(y.sent[0]!.authType, undefined);
  assert.match(logged.join('\n'), /key chain later has no key in use/);
  assert.ok(!logged.join('\n').includes('k start'), 'no secret logged');
  m2.close();
  m3.close();
  m.close();
});

test('authentication: a commit naming a missing or empty key chain, or a key too long for SHA-1, is refused with the path', () => {
  const errs = validateBfdAuthentication(loadSet([
    'set security authentication-key-chains key-chain empty description nothing-here',
    'set security authentication-key-chains key-chain long key 3 secret this-key-is-longer-than-20',
    'set protocols bgp group g neighbor 10.0.0.2 bfd-liveness-detection authentication key-chain nosuch',
    'set routing-options static route 192.0.2.0/24 next-hop 10.0.0.3 bfd-liveness-detection authentication key-chain empty',
    'set routing-options static route 198.51.100.0/24 next-hop 10.0.0.4',
    'set routing-options static route 198.51.100.0/24 bfd-liveness-detection authentication algorithm keyed-sha-1',
  ].join('\n')));
  assert.equal(errs.length, 4, errs.join('\n'));
  assert.match(errs.join('\n'), /key-chain long key 3 secret: a BFD keyed SHA-1 key has 1 to 20 bytes \(this one 26\)/);
  assert.match(errs.join('\n'), /protocols bgp group g neighbor 10\.0\.0\.2 bfd-liveness-detection authentication: key chain nosuch is not defined/);
  assert.match(errs.join('\n'), /static route 192\.0\.2\.0\/24 bfd-liveness-detection authentication: key chain empty has no key with a secret/);
  assert.match(errs.join('\n'), /static route 198\.51\.100\.0\/24 bfd-liveness-detection authentication: key-chain is required/);
  assert.ok(!errs.join('\n').includes('this-key-is-longer'), 'errors never show a secret');
  assert.deepEqual(validateBfdAuthentication(loadSet(KEYS)), []);
  // the set parser refuses what the schema does not know
  assert.throws(() => loadSet('set security authentication-key-chains key-chain k key 1 start-time 2026-02-30.10:00\n'), /not a start time/);
  assert.throws(() => loadSet('set protocols bgp bfd-liveness-detection authentication algorithm keyed-md5\n'), /keyed-md5/);
});

test('authentication: key chain secrets are hidden from users without the secret permission', () => {
  const shown = hideSecrets(loadSet(KEYS));
  const text = JSON.stringify(shown);
  assert.ok(!/first-key|second-key|old-key/.test(text), text);
  assert.match(text, /SECRET-DATA/);
});

test('minimum-ttl: read from bfd-liveness-detection, the strictest of a session\'s clients sent', () => {
  assert.equal(bfdTimersOf({ 'minimum-ttl': 254, 'session-mode': 'multihop' })?.minTtl, 254);
  assert.equal(bfdTimersOf({})?.minTtl, undefined);
  const x = transport();
  const m = new BfdManager(x.t);
  const req = { peer: '192.0.2.9', local: '10.0.0.1', multihop: true, minTxMs: 100, minRxMs: 100, multiplier: 3 };
  m.watch('static', { ...req, minTtl: 250 }, () => {});
  m.watch('bgp', { ...req, minTtl: 254 }, () => {});
  m.watch('isis', req, () => {});
  assert.equal(x.sent.at(-1)!.minTtl, 254);
  m.close();
});
