/** engine.ts setThreadTimerSlack (the forwarding worker's): a thread's own timer slack, set through /proc/TID/timerslack_ns, leaves other threads' alone. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { WORKER_TIMER_SLACK_NS } from './engine.js';

test('a worker thread sets its own timer slack; the main thread keeps its own', { skip: existsSync('/proc/self/timerslack_ns') ? false : 'no /proc/PID/timerslack_ns here' }, async () => {
  const mainBefore = readFileSync('/proc/self/timerslack_ns', 'utf8').trim();
  const url = new URL('./engine.js', import.meta.url).href;
  // a thread that sets its slack as the forwarding worker does and reports what the kernel now says
  const src = `import { parentPort } from 'node:worker_threads'; import { readFileSync, readlinkSync } from 'node:fs';
    const { setThreadTimerSlack } = await import(${JSON.stringify(url)});
    const ok = setThreadTimerSlack(${WORKER_TIMER_SLACK_NS});
    const tid = readlinkSync('/proc/thread-self').split('/').pop();
    parentPort.postMessage({ ok, slack: readFileSync('/proc/' + tid + '/timerslack_ns', 'utf8').trim() });`;
  const w = new Worker(new URL(`data:text/javascript,${encodeURIComponent(src)}`));
  const got = await new Promise<{ ok: boolean; slack: string }>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  await w.terminate();
  assert.equal(got.ok, true);
  assert.equal(got.slack, String(WORKER_TIMER_SLACK_NS));
  assert.equal(readFileSync('/proc/self/timerslack_ns', 'utf8').trim(), mainBefore);
});
