/**
 * cnr's BFD state machine (src/bfd) against BIRD 2's `protocol bfd` with meticulous keyed
 * SHA1 authentication (RFC 5880 section 6.7.4) over a veth pair: the session comes Up on both
 * sides, and BIRD's port taken down is detected (Down, diag 1). A second cnr session with the
 * wrong key never comes up. cnr's side runs in the test transport of bfd-transport.ts (the
 * vRouter does not host BFD yet).
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, canBuildLabs } from './harness/lab.js';
import { run, must, waitFor, WaitAborted } from './harness/proc.js';
import { type BfdTransport, monotonicUs, startBfdTransport } from './bfd-transport.js';

const CNR = '10.78.0.2';
const BIRD = '10.78.0.1';
const INTERVAL_MS = 100;
const MULT = 3;
const KEY = 'cnr-bfd-key';
const KEY_ID = 5;

const skip = !canBuildLabs() ? 'needs root (network namespaces)' : run('test', ['-x', '/usr/sbin/bird']).code !== 0 ? 'BIRD not installed (apt-get install bird2)' : false;
if (skip) console.log(`# bfd-bird interop skipped: ${skip}`);
let lab: Lab;
let nsBird: string;
let nsCnr: string;
let ifBird: string;
let ifCnr: string;
let ctl: string;

/** BIRD's state of its session with cnr, from `show bfd sessions`. */
function birdState(): string | undefined {
  const r = run('birdc', ['-s', ctl, 'show', 'bfd', 'sessions'], 5000);
  const line = r.stdout.split('\n').find((l) => l.startsWith(CNR));
  return line?.trim().split(/\s+/)[2];
}

before(async () => {
  if (skip) return;
  lab = new Lab('bfdb');
  nsBird = lab.ns('bird');
  nsCnr = lab.ns('cnr');
  const link = lab.link(nsBird, nsCnr, { a4: `${BIRD}/24`, b4: `${CNR}/24` });
  ifBird = link.ifA;
  ifCnr = link.ifB;
  ctl = join(lab.dir, 'bird.ctl');
  const conf = join(lab.dir, 'bird.conf');
  writeFileSync(
    conf,
    [
      `router id ${BIRD};`,
      'protocol device {}',
      'protocol bfd {',
      `  interface "${ifBird}" { interval ${INTERVAL_MS} ms; multiplier ${MULT}; authentication meticulous keyed sha1; password "${KEY}" { id ${KEY_ID}; }; };`,
      `  neighbor ${CNR};`,
      '}',
      '',
    ].join('\n'),
  );
  const bird = lab.daemon('bird', nsBird, 'bird', ['-f', '-c', conf, '-s', ctl, '-P', join(lab.dir, 'bird.pid')]);
  await waitFor('birdc answers', () => {
    if (bird.child.exitCode !== null) throw new WaitAborted(`bird exited: ${bird.output().slice(-2000)}`);
    return run('birdc', ['-s', ctl, 'show', 'status'], 5000).code === 0;
  }, 15_000);
});

after(async () => {
  if (lab) await lab.close();
});

test('BFD with BIRD, meticulous keyed SHA1: Up on both sides, a wrong key stays Down, port down detected with diag 1', { skip }, async () => {
  const bad = await startBfdTransport(lab, nsCnr, { ifname: ifCnr, local: CNR, peer: BIRD, intervalMs: INTERVAL_MS, multiplier: MULT, auth: { type: 5, keyId: KEY_ID, key: 'not-the-key' } });
  await new Promise((r) => setTimeout(r, 2500));
  assert.deepEqual(bad.states().filter((s) => s.to === 'Up'), [], 'a wrong key never comes Up');
  assert.notEqual(birdState(), 'Up');
  assert.ok((bad.discards()['auth_failed'] ?? 0) > 0, `BIRD's packets refused for their digest: ${JSON.stringify(bad.discards())}`);
  await bad.daemon.stop();

  const good: BfdTransport = await startBfdTransport(lab, nsCnr, { ifname: ifCnr, local: CNR, peer: BIRD, intervalMs: INTERVAL_MS, multiplier: MULT, auth: { type: 5, keyId: KEY_ID, key: KEY } });
  await waitFor(`cnr session Up (drops so far: ${JSON.stringify(good.discards())})`, () => good.states().some((s) => s.to === 'Up'), 15_000);
  await waitFor('BIRD session Up', () => birdState() === 'Up', 15_000);
  await new Promise((r) => setTimeout(r, 2000));
  assert.deepEqual(good.states().filter((s) => s.to === 'Down'), [], 'no false Down');
  assert.equal(birdState(), 'Up');

  const cutUs = monotonicUs();
  must('ip', ['-n', nsBird, 'link', 'set', ifBird, 'down']);
  const down = await waitFor('cnr detects the silence', () => good.states().find((s) => s.to === 'Down'), 5000, 20);
  const detectedMs = (down.atUs - cutUs) / 1000;
  console.log(`# BFD with BIRD at ${INTERVAL_MS} ms x ${MULT}, keyed SHA1: cnr detected BIRD's port down after ${detectedMs.toFixed(1)} ms (detection time ${INTERVAL_MS * MULT} ms from BIRD's last packet)`);
  assert.equal(down.from, 'Up');
  assert.equal(down.diag, 1);
  assert.ok(detectedMs <= 1000, `detected after ${detectedMs} ms`);
});
