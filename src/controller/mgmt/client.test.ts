/**
 * The management client against a server that closes an idle kept-alive connection just as the
 * next call arrives. A real cnr does that only by chance (its idle timeout and the client
 * agent's are both 5 s: bgp-production-path's "read ECONNRESET"), so this server, a plain
 * net.Server speaking HTTP/1.1, does it every time: it answers the first request on a
 * connection and resets the connection when a second one comes on it. (On loopback TCP: a
 * unix socket cannot be reset, it only closes, which shows the client the same failure.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { MgmtClient } from './client.js';

test('management client: a call after an idle moment never rides a connection the server is closing', async () => {
  let connections = 0;
  const sockets = new Set<Socket>();
  const srv = createServer((s) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    let answered = false;
    let buf = '';
    s.on('data', (chunk: Buffer) => {
      if (answered) { s.resetAndDestroy(); return; } // closed while the call was on its way
      buf += chunk.toString('latin1');
      const head = buf.indexOf('\r\n\r\n');
      if (head < 0) return;
      const len = Number(/content-length: *(\d+)/i.exec(buf.slice(0, head))?.[1] ?? 0);
      if (buf.length < head + 4 + len) return;
      answered = true;
      const body = JSON.stringify({ results: [{ command: 'show version', text: 'cnr' }] });
      s.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: keep-alive\r\nkeep-alive: timeout=5\r\n\r\n${body}`);
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  try {
    const client = MgmtClient.tcp('127.0.0.1', (srv.address() as AddressInfo).port, 'token');
    for (let k = 0; k < 3; k++) {
      const r = await client.exec(['show version']);
      assert.equal(r[0]!.text, 'cnr');
    }
    assert.equal(connections, 3);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  }
});
