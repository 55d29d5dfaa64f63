/**
 * Connection's framing over a real loopback TCP socket: messages arrive whole and in order,
 * and a connection whose handlers are slow hands them on over several event-loop turns instead
 * of all in the turn that read them (other work on the thread runs between).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { Connection } from './connection.js';

/** A KEEPALIVE (RFC 4271 4.4): the marker, length 19, type 4. */
function keepalive(): Buffer {
  const b = Buffer.alloc(19, 0xff);
  b.writeUInt16BE(19, 16);
  b[18] = 4;
  return b;
}

async function pair(): Promise<{ server: Socket; client: Socket; close(): void }> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  const accepted = new Promise<Socket>((r) => srv.once('connection', r));
  const client = connect(port, '127.0.0.1');
  const server = await accepted;
  return {
    server,
    client,
    close() {
      client.destroy();
      server.destroy();
      srv.close();
    },
  };
}

test('a connection with slow handlers hands its messages on over several event-loop turns, all of them, in order', async () => {
  const p = await pair();
  try {
    const conn = new Connection(p.server, false);
    // the event loop's turns, counted by an immediate that schedules itself
    let turn = 0;
    let ticking = true;
    const tick = () => {
      turn++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const seen: { type: number; turn: number }[] = [];
    const n = 60;
    const all = new Promise<void>((resolve) => {
      conn.attach({
        message(type) {
          // a handler that takes 2 ms (a decision over many prefixes, say)
          const until = performance.now() + 2;
          while (performance.now() < until);
          seen.push({ type, turn });
          if (seen.length === n) resolve();
        },
        headerError: () => assert.fail('header error'),
        failed: (err) => assert.fail(String(err)),
        closed: () => {},
      });
    });
    // one write: 1,140 bytes arrive as one chunk, read in one turn
    p.client.write(Buffer.concat(Array.from({ length: n }, keepalive)));
    await all;
    ticking = false;
    assert.equal(seen.length, n);
    assert.ok(seen.every((m) => m.type === 4));
    const turns = new Set(seen.map((m) => m.turn)).size;
    // 120 ms of handling in slices of 20 ms: several turns (one turn without the slices)
    assert.ok(turns >= 3, `delivered in ${turns} event-loop turns`);
    assert.equal(conn.inOctets, n * 19);
  } finally {
    p.close();
  }
});

test('a message split across reads is framed whole, and one after a paused slice still arrives', async () => {
  const p = await pair();
  try {
    const conn = new Connection(p.server, false);
    const types: number[] = [];
    const got = new Promise<void>((resolve) => {
      conn.attach({
        message(type) {
          types.push(type);
          if (types.length === 3) resolve();
        },
        headerError: () => assert.fail('header error'),
        failed: (err) => assert.fail(String(err)),
        closed: () => {},
      });
    });
    const k = keepalive();
    p.client.write(Buffer.concat([k, k.subarray(0, 7)]));
    await new Promise((r) => setTimeout(r, 30));
    p.client.write(Buffer.concat([k.subarray(7), k]));
    await got;
    assert.deepEqual(types, [4, 4, 4]);
  } finally {
    p.close();
  }
});
