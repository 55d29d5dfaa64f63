/**
 * 100 BFD sessions at 100 ms x 3 under load (root only; issue 17): `cnr start` (vRouter with
 * vhost0) runs 100 sessions with FRR's bfdd over one link, multihop (RFC 5883): a single-hop
 * session is one per interface and peer address on each side (RFC 5881 section 3), and a vif
 * holds at most 8 IPv4 addresses, so 100 single-hop sessions would need 100 links; multihop
 * sessions are named by their address pair, so FRR's 100 addresses 10.83.2.i, each a static
 * route's next hop with `bfd-liveness-detection ... session-mode multihop local-address
 * 10.83.0.1`, give 100 sessions with the same timers and packets. Meanwhile a host pings through the
 * vRouter at 100 pps and a BGP peer (the benchmarks' injector) sends cnr a table of routes,
 * which keeps cnr's main thread (controller and agent) busy. No session may go Down on
 * either side. The CPU time of cnr, of its BFD worker thread, and of FRR's bfdd over the
 * window is printed.
 *
 * In the default suite since session 6 (before: opt-in with CNR_BFD_LOAD=1). The window is
 * 20 s with 300,000 routes by default, not the issue's minute: a 60 s window with its setup
 * and bring-up would not finish well under the suite's 90 s per file. 20 s still holds the
 * whole BGP ingest and FIB programming of the 300,000 routes (the busy phase the sessions must
 * survive), about 67 detection times per session, 6,700 for the 100; the minute runs with
 * CNR_BFD_LOAD_SECONDS=60 (then 1M routes), and passed on the quiet machine (docs/bfd.md).
 *
 * A machine shared with other work is not a verdict on cnr: the BFD packets cross the
 * vRouter's forwarding threads (vhost0 to the wire), which run at normal priority, so on a
 * machine with several times more runnable work than cores any 100 ms x 3 session may rightly
 * go Down. A Down fails the test whatever the load (never excused); the failure says when the
 * machine was busy: the load average when the file started above four times the cores, a
 * probe process (normal priority, 5 ms timers) held off for more than half the detection time
 * (150 ms), or a thread on the BFD path - cnr's BFD thread (cnr-bfd), its forwarding workers
 * (cnr-fwd-N), FRR's bfdd - waiting that long for a CPU (its run-queue delay from the kernel's
 * schedstat, sampled every 10 ms: harness/sched.ts). A busy thread waits longer than a
 * sleeping probe, and the threads' own waits name which part of the path was held.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism, loadavg } from 'node:os';
import { Lab, canBuildLabs } from './harness/lab.js';
import { Cnr, cnrAvailable, repoRoot } from './harness/cnr.js';
import { must, run, waitFor, WaitAborted, type Daemon } from './harness/proc.js';
import { RunDelaySampler, threadsOf } from './harness/sched.js';
import { Pinger } from '../lib/traffic.js';

const skip = !canBuildLabs() ? 'needs root (network namespaces)' : !cnrAvailable() ? 'cnr is not built' : run('test', ['-x', '/usr/lib/frr/bfdd']).code !== 0 ? 'FRR bfdd not installed (apt-get install frr)' : false;
const SESSIONS = 100;
const WINDOW_S = Number(process.env['CNR_BFD_LOAD_SECONDS'] ?? 20);
const ROUTES = WINDOW_S >= 60 ? 1_000_000 : 300_000;
if (skip) console.log(`# bfd-load skipped: ${skip}`);
else if (WINDOW_S < 60) console.log(`# bfd-load: a ${WINDOW_S} s window instead of the issue's 60 s, to keep the file under the suite's 90 s bound (CNR_BFD_LOAD_SECONDS=60 for the full minute)`);
/** 100 ms x 3 */
const DETECTION_MS = 300;
/** the longest the probe (or a thread on the BFD path) may be held off before a Down is the machine's, not cnr's: half the detection time */
const PROBE_LIMIT_MS = DETECTION_MS / 2;
/**
 * The scheduling probe: a timer every 5 ms; on stdin's end it prints how late the latest one
 * fired at worst, and when.
 */
const PROBE = `let worst = 0, at = 0, last = performance.now();
const tick = () => { const now = performance.now(); const late = now - last - 5; if (late > worst) { worst = late; at = performance.timeOrigin + now; } last = now; setTimeout(tick, 5); };
setTimeout(tick, 5);
process.stdin.resume();
process.stdin.on('end', () => { console.log(JSON.stringify({ worstMs: worst, at })); process.exit(0); });`;

const injectorJs = join(repoRoot, 'dist', 'bench', 'lib', 'bgp-injector.js');
let lab: Lab;
let cnr: Cnr;
let bfdd: Daemon;
let runDir = '';
let nsCnr = '';
let nsFrr = '';
let nsHost = '';
let nsInj = '';

const peerAddr = (i: number) => `10.83.2.${i + 1}`;

function cpuTicks(path: string): number {
  const f = readFileSync(path, 'utf8').split(') ')[1]!.split(' ');
  return Number(f[11]) + Number(f[12]);
}

interface Row {
  peer: string;
  state: string;
  flaps: number;
  changedAtMs: number;
}

/** the load average when the file started (other work, before this test adds its own) */
let loadAtStart = 0;
const cores = availableParallelism();

before(async () => {
  if (skip) return;
  loadAtStart = loadavg()[0]!;
  lab = new Lab('bfdl');
  nsCnr = lab.ns('cnr');
  nsFrr = lab.ns('frr');
  nsHost = lab.ns('host');
  nsInj = lab.ns('inj');
  const toFrr = lab.link(nsCnr, nsFrr, { b4: '10.83.0.2/16' });
  const toHost = lab.link(nsCnr, nsHost, { b4: '10.85.0.2/24' });
  const toInj = lab.link(nsCnr, nsInj, { b4: '10.84.0.2/30' });
  const batch = Array.from({ length: SESSIONS }, (_, i) => `addr add ${peerAddr(i)}/16 dev ${toFrr.ifB}`).join('\n');
  const batchFile = join(lab.dir, 'addrs.batch');
  writeFileSync(batchFile, `${batch}\n`);
  must('ip', ['-n', nsFrr, '-batch', batchFile]);
  lab.exec(nsFrr, 'ip', ['route', 'add', '10.85.0.0/24', 'via', '10.83.0.1']);
  lab.exec(nsHost, 'ip', ['route', 'add', 'default', 'via', '10.85.0.1']);

  const statics = Array.from({ length: SESSIONS }, (_, i) => `set routing-options static route 198.19.${i}.0/24 next-hop ${peerAddr(i)} bfd-liveness-detection minimum-interval 100 multiplier 3 session-mode multihop local-address 10.83.0.1`);
  cnr = await Cnr.start(lab, nsCnr, 'r', {
    asn: 65000,
    routerId: '10.83.0.1',
    interfaces: [
      { name: toFrr.ifA, addresses: ['10.83.0.1/16'] },
      { name: toHost.ifA, addresses: ['10.85.0.1/24'] },
      { name: toInj.ifA, addresses: ['10.84.0.1/30'] },
    ],
    neighbors: [{ address: '10.84.0.2', asn: 65100, families: ['inet'], import: ['ALL'], exportNothing: true }],
    extra: ['set policy-options policy-statement ALL then accept', ...statics],
  }, 60_000, { vrouter: true, vhost: true, introspect: '127.0.0.1:18385' });

  runDir = join(lab.dir, 'frr-run');
  must('install', ['-d', '-o', 'frr', '-g', 'frr', runDir]);
  const zebraConf = join(lab.dir, 'zebra.conf');
  const bfddConf = join(lab.dir, 'bfdd.conf');
  writeFileSync(zebraConf, 'hostname cnr-bfd-load\n');
  const peers = Array.from({ length: SESSIONS }, (_, i) => [` peer 10.83.0.1 multihop local-address ${peerAddr(i)}`, '  profile fast', ' !']).flat();
  writeFileSync(bfddConf, ['bfd', ' profile fast', '  receive-interval 100', '  transmit-interval 100', '  detect-multiplier 3', ' !', ...peers, '!', ''].join('\n'));
  const uid = Number(must('id', ['-u', 'frr']).trim());
  const gid = Number(must('id', ['-g', 'frr']).trim());
  for (const f of [zebraConf, bfddConf]) chownSync(f, uid, gid);
  const common = ['-u', 'frr', '-g', 'frr', '-z', join(runDir, 'zserv.api'), '--vty_socket', runDir];
  lab.daemon('zebra', nsFrr, '/usr/lib/frr/zebra', ['-f', zebraConf, '-i', join(runDir, 'zebra.pid'), ...common]);
  await waitFor('zebra vty', () => run('vtysh', ['--vty_socket', runDir, '-d', 'zebra', '-c', 'show version'], 5000).code === 0, 15_000);
  bfdd = lab.daemon('bfdd', nsFrr, '/usr/lib/frr/bfdd', ['-f', bfddConf, '-i', join(runDir, 'bfdd.pid'), ...common]);
  await waitFor('bfdd vty', () => {
    if (bfdd.child.exitCode !== null) throw new WaitAborted(`bfdd exited: ${bfdd.output().slice(-2000)}`);
    return run('vtysh', ['--vty_socket', runDir, '-d', 'bfdd', '-c', 'show version'], 5000).code === 0;
  }, 15_000);
}, { timeout: 70_000 });

after(async () => {
  if (process.env['CNR_INTEROP_DEBUG']) console.log(cnr?.daemon.output().slice(-200000));
  if (lab) await lab.close();
});

test(`${SESSIONS} BFD sessions at 100 ms x 3 stay Up while the vRouter forwards and a BGP peer sends ${ROUTES} routes`, { skip, timeout: (WINDOW_S + 60) * 1000 }, async () => {
  let rows: Row[] = [];
  await waitFor(`${SESSIONS} sessions Up`, async () => {
    rows = (await cnr.json<{ sessions: Row[] }>('show bfd session')).sessions;
    return rows.length === SESSIONS && rows.every((r) => r.state === 'Up');
  }, 30_000, 500).catch(() => assert.fail(`${rows.filter((r) => r.state === 'Up').length} of ${rows.length} Up: ${JSON.stringify(rows.slice(0, 3))} FRR: ${JSON.stringify((JSON.parse(must('vtysh', ['--vty_socket', runDir, '-c', 'show bfd peers json'])) as unknown[]).slice(0, 3))} counters ${JSON.stringify((JSON.parse(must('vtysh', ['--vty_socket', runDir, '-c', 'show bfd peers counters json'])) as unknown[]).slice(0, 3))}`));
  const frrUp = () => (JSON.parse(must('vtysh', ['--vty_socket', runDir, '-c', 'show bfd peers json'])) as { status: string }[]).filter((p) => p.status === 'up').length;
  const frrDowns = () => (JSON.parse(must('vtysh', ['--vty_socket', runDir, '-c', 'show bfd peers counters json'])) as { 'session-down': number }[]).reduce((a, p) => a + p['session-down'], 0);
  // the window starts once every session is Up on both sides (a session that flapped while
  // 100 came up at once is counted and printed, not held against the window)
  await waitFor(`all ${SESSIONS} sessions Up on both sides`, async () => {
    rows = (await cnr.json<{ sessions: Row[] }>('show bfd session')).sessions;
    return rows.every((r) => r.state === 'Up') && frrUp() === SESSIONS;
  }, 30_000, 500);
  const bringUpFlaps = rows.filter((r) => r.flaps > 0).length;
  const flapsAtStart = new Map(rows.map((r) => [r.peer, r.flaps]));
  const frrDownsAtStart = frrDowns();

  const tid = /bfd: worker thread (\d+) runs the sessions/.exec(cnr.daemon.output())?.[1];
  const cnrStat = `/proc/${cnr.daemon.pid}/stat`;
  const workerStat = tid ? `/proc/${cnr.daemon.pid}/task/${tid}/stat` : undefined;
  const bfddStat = `/proc/${bfdd.pid}/stat`;
  const t0 = [cpuTicks(cnrStat), workerStat ? cpuTicks(workerStat) : 0, cpuTicks(bfddStat)];
  const started = Date.now();
  // the threads a BFD packet needs on time, each way: cnr's BFD thread and forwarding workers
  // (vhost0 to the wire), FRR's bfdd; how long each waited for a CPU in the window
  const pathThreads = [...threadsOf(cnr.daemon.pid, (c) => c === 'cnr-bfd' || /^cnr-fwd-\d+$/.test(c)), ...threadsOf(bfdd.pid, () => true).filter((th) => th.tid === bfdd.pid)];
  const sampler = new RunDelaySampler(pathThreads, 10);

  const probe = lab.daemon('sched-probe', nsHost, process.execPath, ['-e', PROBE], undefined, 'pipe');
  const pinger = new Pinger(nsHost, '10.83.0.2', WINDOW_S * 100);
  const inj = lab.daemon('injector', nsInj, process.execPath, [
    injectorJs, '--peer', '10.84.0.1', '--local-as', '65100', '--peer-as', '65000', '--next-hop', '10.84.0.2', '--count', String(ROUTES), '--per-update', '100', '--prefix-len', '28', '--base', '20.0.0.0',
  ]);
  await new Promise((r) => setTimeout(r, WINDOW_S * 1000));
  const seconds = (Date.now() - started) / 1000;
  sampler.stop();
  const t1 = [cpuTicks(cnrStat), workerStat ? cpuTicks(workerStat) : 0, cpuTicks(bfddStat)];
  // the verdict is the window's: read both sides now, before anything else winds down
  rows = (await cnr.json<{ sessions: Row[] }>('show bfd session')).sessions;
  const frrDownsInWindow = frrDowns() - frrDownsAtStart;
  const frrUpAtEnd = frrUp();
  probe.child.stdin!.end();
  await Promise.race([probe.exited, new Promise((r) => setTimeout(r, 5000))]);
  const sched = JSON.parse(probe.output().trim().split('\n').at(-1) ?? '{}') as { worstMs?: number; at?: number };
  pinger.stop();
  const ping = await pinger.finish(10_000);
  const received = await cnr.receivedCount('10.84.0.2');
  await inj.stop(3000);

  const down = rows.filter((r) => r.state !== 'Up' || r.flaps !== flapsAtStart.get(r.peer));
  if (frrDownsInWindow) console.log(`# FRR's sessions now: ${JSON.stringify((JSON.parse(must('vtysh', ['--vty_socket', runDir, '-c', 'show bfd peers counters json'])) as { local: string; 'session-down': number }[]).filter((p) => p['session-down'] > 0).map((p) => [p.local, p['session-down']]))}`);
  const [cnrCpu, workerCpu, bfddCpu] = t1.map((v, i) => (v - t0[i]!) / 100);
  console.log(`# ${SESSIONS} sessions at 100 ms x 3 over ${seconds.toFixed(1)} s: ${down.length} flapped (${bringUpFlaps} had flapped once while the ${SESSIONS} came up together, before the window; FRR counted ${frrDownsInWindow} downs in the window); cnr process CPU ${cnrCpu!.toFixed(1)} s (${((cnrCpu! / seconds) * 100).toFixed(0)}% of a core), of which its BFD worker thread ${workerStat ? `${workerCpu!.toFixed(2)} s (${((workerCpu! / seconds) * 100).toFixed(1)}%)` : 'unknown'}; FRR bfdd ${bfddCpu!.toFixed(2)} s (${((bfddCpu! / seconds) * 100).toFixed(1)}%) for the same sessions; meanwhile ${received} of ${ROUTES} BGP routes in and pings through the vRouter ${ping.received}/${ping.transmitted} (longest gap ${ping.maxGapMs.toFixed(0)} ms, from ${new Date(ping.gapStart).toISOString()}; window ${new Date(started).toISOString()} on)${down.length ? `; sessions down at ${[...new Set(down.map((r) => new Date(r.changedAtMs).toISOString().slice(11, 21)))].join(', ')}` : ''}`);
  const worst = sched.worstMs ?? Number.POSITIVE_INFINITY;
  console.log(`# scheduling probe (a nice-0 process, 5 ms timers): held off ${worst.toFixed(0)} ms at worst${sched.at ? `, at ${new Date(sched.at).toISOString().slice(11, 23)}` : ''}; load average ${loadAtStart.toFixed(1)} when the file started, ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} now`);
  const waits = sampler.worst(DETECTION_MS);
  console.log(`# run-queue delay of the threads on the BFD path, the most ending within one ${DETECTION_MS} ms detection time: ${waits.map((w) => `${w.thread.comm} ${w.waitedMs.toFixed(0)} ms (at ${new Date(w.at).toISOString().slice(11, 23)}; ${w.totalMs.toFixed(0)} ms over the window)`).join(', ') || 'threads not found (unnamed: an older build?)'}`);
  const busy = [
    ...(worst > PROBE_LIMIT_MS ? [`held a process off for ${worst.toFixed(0)} ms (over ${PROBE_LIMIT_MS} ms, half the detection time)`] : []),
    ...(loadAtStart > 4 * cores ? [`had a load average of ${loadAtStart.toFixed(1)} when the file started (over four times its ${cores} cores)`] : []),
  ];
  // a flap fails the test whatever the load; the message says when the machine itself was too
  // busy to hold 100 ms x 3, so that a developer can tell the two apart. The threads' waits are
  // not a verdict either: the waits are printed beside a failure, not used to excuse it. Tried: a
  // Down skipped whenever a path thread waited 150 ms or more anywhere in the window hid a
  // real stall (cnr SIGSTOPped for 0.7 s on a machine at load 10-14 was skipped, its waits
  // seconds away from the Downs). Excusing a Down needs the wait next to it, and so each
  // session's time of going Down from the BFD thread's clock (the rows carry only the last
  // change): not there yet.
  const heldOff = waits.filter((w) => w.waitedMs >= PROBE_LIMIT_MS);
  if (heldOff.length) busy.push(`held ${heldOff.map((w) => `${w.thread.comm} off ${w.waitedMs.toFixed(0)} ms at ${new Date(w.at).toISOString().slice(11, 23)}`).join(', ')} (runnable, waiting for a CPU)`);
  const why = busy.length ? ` (the machine ${busy.join(' and ')}: a flap here may be the machine's, not cnr's)` : '';
  assert.deepEqual(down, [], `no session went Down at cnr${why}`);
  assert.equal(frrUpAtEnd, SESSIONS, 'FRR has every session up');
  assert.equal(frrDownsInWindow, 0, `FRR saw no session go down in the window${why}`);
  assert.ok(received > 0, 'the BGP peer was sending meanwhile');
  assert.ok(ping.received > 0.9 * ping.transmitted, 'the vRouter forwarded the pings meanwhile');
});
