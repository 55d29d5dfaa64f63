/**
 * cnr's BFD state machine (src/bfd) against FRR's bfdd over a veth pair: sessions over IPv4
 * and over IPv6 come Up on both sides with the timers each side asked for, and when FRR's
 * port is taken down cnr detects it (Down, diag 1) within the detection time; the port back
 * up brings the sessions Up again. cnr's side runs in the test transport of bfd-transport.ts (the vRouter does not
 * host BFD yet).
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, canBuildLabs } from './harness/lab.js';
import { run, must, waitFor, WaitAborted } from './harness/proc.js';
import { type BfdTransport, monotonicUs, startBfdTransport } from './bfd-transport.js';

/** cnr and FRR over IPv4 and IPv6 (RFC 5881 covers both): one session each */
const FAMILIES = [
  { name: 'IPv4', cnr: '10.77.0.2', frr: '10.77.0.1' },
  { name: 'IPv6', cnr: 'fd00:77::2', frr: 'fd00:77::1' },
] as const;
/** 100 ms x 3 on both sides: a detection time of 300 ms */
const INTERVAL_MS = 100;
const MULT = 3;

const skip = !canBuildLabs() ? 'needs root (network namespaces)' : run('test', ['-x', '/usr/lib/frr/bfdd']).code !== 0 ? 'FRR bfdd not installed (apt-get install frr)' : false;
if (skip) console.log(`# bfd-frr interop skipped: ${skip}`);
let lab: Lab;
let nsFrr: string;
let ifFrr: string;
let runDir: string;
const transports: BfdTransport[] = [];
const frrPeer = (cnr: string): Record<string, unknown> | undefined => {
  const r = run('vtysh', ['--vty_socket', runDir, '-c', 'show bfd peers json'], 5000);
  if (r.code !== 0) return undefined;
  return (JSON.parse(r.stdout) as Record<string, unknown>[]).find((p) => p['peer'] === cnr);
};

before(async () => {
  if (skip) return;
  lab = new Lab('bfdf');
  nsFrr = lab.ns('frr');
  const nsCnr = lab.ns('cnr');
  const [v4, v6] = FAMILIES;
  const link = lab.link(nsFrr, nsCnr, { a4: `${v4.frr}/24`, b4: `${v4.cnr}/24`, a6: `${v6.frr}/64`, b6: `${v6.cnr}/64` });
  ifFrr = link.ifA;
  // the test takes this port down and up: keep its IPv6 address over that (Linux flushes it by default)
  must('ip', ['netns', 'exec', nsFrr, 'sysctl', '-qw', `net.ipv6.conf.${ifFrr}.keep_addr_on_down=1`]);
  runDir = join(lab.dir, 'frr-run');
  must('install', ['-d', '-o', 'frr', '-g', 'frr', runDir]);
  const zebraConf = join(lab.dir, 'zebra.conf');
  const bfddConf = join(lab.dir, 'bfdd.conf');
  writeFileSync(zebraConf, 'hostname cnr-bfd-frr\n');
  const peers = FAMILIES.flatMap((f) => [` peer ${f.cnr} local-address ${f.frr}`, `  receive-interval ${INTERVAL_MS}`, `  transmit-interval ${INTERVAL_MS}`, `  detect-multiplier ${MULT}`, ' !']);
  writeFileSync(bfddConf, ['bfd', ...peers, '!', ''].join('\n'));
  for (const f of [zebraConf, bfddConf]) chownSync(f, uidOf('frr'), gidOf('frr'));
  const common = ['-u', 'frr', '-g', 'frr', '-z', join(runDir, 'zserv.api'), '--vty_socket', runDir];
  lab.daemon('zebra', nsFrr, '/usr/lib/frr/zebra', ['-f', zebraConf, '-i', join(runDir, 'zebra.pid'), ...common]);
  await waitFor('zebra vty', () => run('vtysh', ['--vty_socket', runDir, '-d', 'zebra', '-c', 'show version'], 5000).code === 0, 15_000);
  const bfdd = lab.daemon('bfdd', nsFrr, '/usr/lib/frr/bfdd', ['-f', bfddConf, '-i', join(runDir, 'bfdd.pid'), ...common]);
  await waitFor('bfdd vty', () => {
    if (bfdd.child.exitCode !== null) throw new WaitAborted(`bfdd exited: ${bfdd.output().slice(-2000)}`);
    return run('vtysh', ['--vty_socket', runDir, '-d', 'bfdd', '-c', 'show version'], 5000).code === 0;
  }, 15_000);
  for (const f of FAMILIES) transports.push(await startBfdTransport(lab, nsCnr, { ifname: link.ifB, local: f.cnr, peer: f.frr, intervalMs: INTERVAL_MS, multiplier: MULT }));
});

after(async () => {
  if (lab) await lab.close();
});

test('BFD with FRR bfdd over IPv4 and IPv6: Up on both sides, timers as configured, Down detected within the detection time when FRR\'s port goes down, Up again after', { skip }, async () => {
  for (const [i, f] of FAMILIES.entries()) {
    const t = transports[i]!;
    await waitFor(`${f.name}: cnr session Up`, () => t.states().some((s) => s.to === 'Up'), 15_000);
    const peer = await waitFor(`${f.name}: FRR session up`, () => {
      const p = frrPeer(f.cnr);
      return p?.['status'] === 'up' ? p : undefined;
    }, 15_000);
    const mine = t.states().find((s) => s.to === 'Up')!;
    assert.equal(peer['remote-id'], mine.localDiscr, `${f.name}: FRR knows cnr by cnr's discriminator`);
    assert.equal(peer['remote-receive-interval'], INTERVAL_MS);
    assert.equal(peer['remote-transmit-interval'], INTERVAL_MS, `${f.name}: the poll sequence after Up took cnr from 1 s to 100 ms`);
    assert.equal(peer['remote-detect-multiplier'], MULT);
  }
  // a few seconds of Up: no false Down while both sides send every 100 ms (jittered)
  await new Promise((r) => setTimeout(r, 2000));
  for (const [i, f] of FAMILIES.entries()) {
    assert.deepEqual(transports[i]!.states().filter((s) => s.to === 'Down'), [], `${f.name}: no false Down`);
    assert.equal(frrPeer(f.cnr)?.['status'], 'up');
  }

  const cutUs = monotonicUs();
  must('ip', ['-n', nsFrr, 'link', 'set', ifFrr, 'down']);
  for (const [i, f] of FAMILIES.entries()) {
    const down = await waitFor(`${f.name}: cnr detects the silence`, () => transports[i]!.states().find((s) => s.to === 'Down'), 5000, 20);
    const detectedMs = (down.atUs - cutUs) / 1000;
    console.log(`# BFD over ${f.name} at ${INTERVAL_MS} ms x ${MULT}: cnr detected FRR's port down after ${detectedMs.toFixed(1)} ms (detection time ${INTERVAL_MS * MULT} ms, counted from FRR's last packet before the cut)`);
    assert.equal(down.from, 'Up');
    assert.equal(down.diag, 1, 'Control Detection Time Expired');
    // the detection time runs from FRR's last packet, before the cut: 1 s leaves room for a
    // loaded machine without admitting a missed detection (3 intervals are 300 ms)
    assert.ok(detectedMs <= 1000, `${f.name}: detected after ${detectedMs} ms`);
  }

  must('ip', ['-n', nsFrr, 'link', 'set', ifFrr, 'up']);
  for (const [i, f] of FAMILIES.entries()) {
    await waitFor(`${f.name}: cnr session Up again`, () => transports[i]!.states().filter((s) => s.to === 'Up').length >= 2, 15_000);
    await waitFor(`${f.name}: FRR session up again`, () => frrPeer(f.cnr)?.['status'] === 'up', 15_000);
  }
});

function uidOf(user: string): number {
  return Number(must('id', ['-u', user]).trim());
}

function gidOf(user: string): number {
  return Number(must('id', ['-g', user]).trim());
}
