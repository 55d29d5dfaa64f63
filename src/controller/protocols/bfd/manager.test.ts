/**
 * The controller's BFD manager: client requests merged into one session per peer (fastest
 * timers, every client named), withdrawn with the last client; the vRouter's state reports
 * handed to every client, with `wentDown` only for a session that was Up; the IS-IS hook's
 * request shape. The transport here records what would go on the agent stream and plays the
 * agent's reports: the stream itself, with the real agent and real peers, is exercised by
 * test/interop/bfd-hosted.test.ts and bfd-restart.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bfdSessionId, type PbBfdSessionState, type PbBfdSessionUpdate } from '../../../api/proto.js';
import { adjacencyBfdRequest, BfdManager, bfdTimersOf, type BfdClientView } from './manager.js';

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
