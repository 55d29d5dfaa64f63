/**
 * The vRouter's BFD host over real kernel UDP sockets on loopback: two hosts (two worker
 * threads, each with its own sockets) run a single-hop session between 127.0.0.2 and
 * 127.0.0.3 at 100 ms x 3; it comes Up on both sides with the C bit set, the timers
 * negotiate, the main thread being blocked does not stop it (the worker runs the timers),
 * and when one side stops it tells the other (AdminDown: Down with diag 3). Detection of a
 * silent peer is measured against FRR and BIRD with a port cut (test/interop/bfd-hosted.test.ts).
 * Also: resolving a request's interface and local address, and mark and sweep.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authOf, BfdHost, resolveKey } from './bfd-host.js';
import type { PbBfdSessionState } from '../api/proto.js';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await wait(10);
  }
}

const timers = { desiredMinTxUs: 100_000, requiredMinRxUs: 100_000, detectMult: 3 };

/** Two started hosts; a's state reports and log lines recorded. */
async function twoHosts() {
  const logs: string[] = [];
  const a = new BfdHost({ log: (l) => logs.push(l) });
  const b = new BfdHost();
  await a.start();
  await b.start();
  const statesA: PbBfdSessionState[] = [];
  a.subscribe((s) => statesA.push(s));
  return { a, b, statesA, logs };
}

test('resolveKey: the vif whose subnet holds the peer, its address as the local one', () => {
  const vifs = [
    { name: 'p1', addresses: ['10.1.0.1/24', '2001:db8:1::1/64'] },
    { name: 'p2', addresses: ['10.2.0.1/24'] },
  ];
  assert.deepEqual(resolveKey({ peer: '10.2.0.9' }, vifs), { kind: 'single-hop', ifname: 'p2', local: '10.2.0.1', peer: '10.2.0.9' });
  assert.deepEqual(resolveKey({ peer: '2001:db8:1:0::2' }, vifs), { kind: 'single-hop', ifname: 'p1', local: '2001:db8:1::1', peer: '2001:db8:1::2' });
  assert.throws(() => resolveKey({ peer: '10.3.0.2' }, vifs), /no interface has a subnet holding 10.3.0.2/);
  assert.throws(() => resolveKey({ peer: '10.9.9.9', multihop: true }, vifs), /needs a local address/);
  assert.deepEqual(resolveKey({ peer: '10.9.9.9', local: '10.1.0.1', multihop: true }, vifs), { kind: 'multihop', local: '10.1.0.1', peer: '10.9.9.9' });
});

test('two BFD hosts over loopback: Up at 100 ms x 3 with the C bit, not disturbed by a blocked main thread, Down detected when one stops, swept at ResyncEnd', { timeout: 30_000 }, async () => {
  const { a, b, statesA } = await twoHosts();
  try {
    assert.equal(await a.apply({ peer: '127.0.0.3', local: '127.0.0.2', interface: 'lo', clients: ['bgp'], ...timers }, []), undefined);
    // the far side is the slower: 200 ms, so both transmit every 200 ms
    assert.equal(await b.apply({ peer: '127.0.0.2', local: '127.0.0.3', interface: 'lo', desiredMinTxUs: 200_000, requiredMinRxUs: 200_000, detectMult: 3 }, []), undefined);
    await until('session Up at a', () => statesA.find((s) => s.state === 'Up'), 10_000);
    // the poll sequence after Up takes both to their fast timers
    await wait(1500);
    const [sa] = (await a.list()).sessions;
    assert.ok(sa);
    assert.equal(sa.state, 'Up');
    assert.equal(sa.remoteState, 'Up');
    assert.equal(sa.txIntervalUs, 200_000, 'we send no faster than the peer receives');
    assert.equal(sa.detectionTimeUs, 600_000, "the peer's multiplier x its 200 ms");
    assert.equal(sa.remoteControlPlaneIndependent, true, 'the C bit: BFD runs apart from the control plane');
    assert.ok(sa.sourcePort >= 49152, `source port ${sa.sourcePort}`);
    // block the main thread for 1.5 s (a busy controller in `cnr start`): the workers keep the session
    const t0 = Date.now();
    while (Date.now() - t0 < 1500) {
      /* busy */
    }
    await wait(100);
    const [after] = (await a.list()).sessions;
    assert.equal(after!.state, 'Up');
    assert.equal(after!.flaps, 0, 'no flap while the main thread was blocked');

    // ResyncBegin, the session replayed: it stays; not replayed: swept
    a.beginResync();
    await a.apply({ peer: '127.0.0.3', local: '127.0.0.2', interface: 'lo', clients: ['bgp'], ...timers }, []);
    assert.equal(await a.endResync(), 0);
    assert.equal((await a.list()).sessions[0]!.state, 'Up');
    assert.equal((await a.list()).sessions[0]!.flaps, 0);

    const stopAt = Date.now();
    await b.stop();
    const down = await until('a detects b gone', () => statesA.find((s) => s.state === 'Down' && s.flaps === 1), 5000);
    // b sent AdminDown as it stopped (its sessions are removed): a goes Down, Neighbor Signaled Session Down
    assert.equal(down.localDiag, 3);
    assert.ok(Date.now() - stopAt < 2000);

    a.beginResync();
    assert.equal(await a.endResync(), 1);
    assert.equal((await a.list()).sessions.length, 0);
    assert.equal(statesA.at(-1)!.removed, true);
  } finally {
    await a.stop();
    await b.stop();
  }
});

test('authOf: keyed SHA-1 types 4 and 5 with a 1-20 byte key; anything else cannot run', () => {
  assert.equal(authOf({ peer: '10.0.0.2' }), undefined);
  assert.deepEqual(authOf({ peer: '10.0.0.2', authType: 4, authKeyId: 7, authKey: 'abc' }), { type: 4, keyId: 7, key: new Uint8Array([97, 98, 99]) });
  assert.throws(() => authOf({ peer: '10.0.0.2', authType: 2, authKey: 'abc' }), /type 2 is not supported/);
  assert.throws(() => authOf({ peer: '10.0.0.2', authType: 5, authKey: '' }), /1 to 20 bytes \(0\)/);
  assert.throws(() => authOf({ peer: '10.0.0.2', authType: 5, authKey: 'x'.repeat(21) }), /1 to 20 bytes \(21\)/);
});

test('two BFD hosts with keyed SHA-1: Up with the same key; a new key on one side takes the session Down (auth_failed) until the other has it too', { timeout: 30_000 }, async () => {
  const { a, b, statesA, logs } = await twoHosts();
  try {
    const toB = { peer: '127.0.0.5', local: '127.0.0.4', interface: 'lo', clients: ['bgp'], ...timers };
    const toA = { peer: '127.0.0.4', local: '127.0.0.5', interface: 'lo', ...timers };
    await a.apply({ ...toB, authType: 4, authKeyId: 1, authKey: 'shared-key' }, []);
    await b.apply({ ...toA, authType: 4, authKeyId: 1, authKey: 'shared-key' }, []);
    await until('session Up at a', () => statesA.find((s) => s.state === 'Up'), 10_000);
    const [sa] = (await a.list()).sessions;
    assert.equal(sa!.authentication, 'keyed-sha-1 key 1');
    // b rolls to key 2 alone: a drops b's packets as failing authentication and times the session out
    const mark = statesA.length;
    await b.apply({ ...toA, authType: 4, authKeyId: 2, authKey: 'next-key' }, []);
    const down = await until('a Down after b changed its key', () => statesA.slice(mark).find((s) => s.state === 'Down'), 5000);
    assert.equal(down.localDiag, 1, 'Control Detection Time Expired: b\'s packets no longer count');
    const failed = (await a.list()).discards.find((d) => d.reason === 'auth_failed');
    assert.ok(failed && failed.count > 0, `auth_failed counted: ${JSON.stringify((await a.list()).discards)} ${JSON.stringify(statesA.at(-1))}`);
    // a gets the same key: Up again, without restarting the session
    await a.apply({ ...toB, authType: 4, authKeyId: 2, authKey: 'next-key' }, []);
    await until('Up again with the new key', () => statesA.slice(mark).find((s) => s.state === 'Up'), 10_000);
    assert.equal((await a.list()).sessions[0]!.authentication, 'keyed-sha-1 key 2');
    const said = JSON.stringify(statesA) + logs.join('\n');
    assert.match(logs.join('\n'), /started \(100 ms x 3, keyed-sha-1 key 1, clients bgp\)/);
    assert.ok(!said.includes('next-key') && !said.includes('shared-key'), 'neither states nor the log carry the key');
  } finally {
    await a.stop();
    await b.stop();
  }
});
