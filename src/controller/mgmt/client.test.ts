/**
 * The management client against a real controller that is busy: the controller's HTTP server
 * closes a kept-alive connection 5 s after its last answer (Node's keepAliveTimeout), and when
 * its event loop has been busy for longer than that (a large BGP ingest on a loaded machine),
 * that timer fires before the server reads the request already waiting on the connection,
 * which the client then sees reset ("read ECONNRESET": bgp-production-path's GoBGP case). The
 * client runs in a worker thread, so that it can call while this thread, the controller's,
 * is busy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Controller } from '../controller.js';

/** The worker: one call, then (after the parent's 'go') a second one; posts each outcome. */
const CLIENT = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const { MgmtClient } = await import(workerData.clientUrl);
  const client = MgmtClient.fromStateDir(workerData.stateDir);
  const call = () => client.exec(['show version']).then(() => 'ok', (e) => e.message);
  parentPort.postMessage(await call());
  parentPort.once('message', async () => {
    // the parent is busy by now: this call waits on the connection until it is free again
    await new Promise((r) => setTimeout(r, 300));
    parentPort.postMessage(await call());
  });
})();
`;

test('management client: a call while the controller is busy past its keep-alive timeout is answered, not reset', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), `cnr-mgmt-client-${process.pid}-`));
  const c = new Controller({ stateDir: dir, log: () => {} });
  const w = new Worker(CLIENT, { eval: true, workerData: { stateDir: dir, clientUrl: new URL('./client.js', import.meta.url).href } });
  try {
    await c.start();
    const next = () => new Promise<string>((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
    assert.equal(await next(), 'ok');
    const second = next();
    w.postMessage('go');
    // busy for longer than the server's keepAliveTimeout (5 s), as a long synchronous stretch of work
    const end = Date.now() + 6000;
    while (Date.now() < end) { /* busy */ }
    assert.equal(await second, 'ok');
  } finally {
    await w.terminate();
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
