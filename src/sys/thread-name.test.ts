// A worker thread names itself and the name shows in /proc/PID/task/TID/comm, where tools
// (and the BFD load test's run-queue sampler) find it; the process's main thread keeps its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

/** The names of the process's threads; a thread that ended between the listing and the read is left out. */
const comms = (): string[] =>
  readdirSync('/proc/self/task').flatMap((t) => {
    try {
      return [readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim()];
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  });

test('a worker thread names itself; the main thread keeps its name', { skip: process.platform !== 'linux' && 'needs Linux /proc' }, async () => {
  const mainName = readFileSync('/proc/thread-self/comm', 'utf8').trim();
  const url = new URL('./thread-name.js', import.meta.url).href;
  // the worker keeps a timer: with nothing left to do it would end, and its thread leave the list, before the list is read
  const w = new Worker(`setInterval(() => {}, 1 << 30); import(${JSON.stringify(url)}).then((m) => { require('node:worker_threads').parentPort.postMessage(m.nameThisThread('cnr-test-worker-long-name')); });`, { eval: true });
  try {
    const named = await new Promise((res, rej) => {
      w.once('message', res);
      w.once('error', rej);
    });
    assert.equal(named, true);
    assert.ok(comms().includes('cnr-test-worker'), comms().join(','));
    assert.equal(readFileSync('/proc/thread-self/comm', 'utf8').trim(), mainName);
  } finally {
    await w.terminate();
  }
});
