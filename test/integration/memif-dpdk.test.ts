/**
 * A real DPDK application on a memif vif: Debian's dpdk-testpmd (net_memif, role=client, no
 * hugepages) connects to the vRouter's memif socket as a pod application would. A veth host
 * (h1, 10.1.0.2) sends UDP to the application's address (10.9.0.2, routed through the
 * vRouter onto the memif vif); testpmd in 5tswap mode swaps the addresses and ports and
 * sends every datagram back, routed to h1 again. The counts must match on every side: what
 * h1 sent and got back, testpmd's RX/TX, the memif vif's counters. Then testpmd is killed
 * with SIGKILL mid-run: the vRouter stays healthy (answers pings), the vif goes back to
 * listening, and a new testpmd reconnects and carries traffic again. Also: two queue pairs,
 * and two interfaces (ids 0 and 1) on one socket.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { NetnsLab, needsRoot, numberedHost, ping, stopChild } from '../lib/netns.js';
import { startVrouter, type RunningVrouter } from '../lib/vrouter.js';

const TESTPMD = '/usr/bin/dpdk-testpmd';
const skip = needsRoot() || (existsSync(TESTPMD) ? false : 'dpdk-testpmd not installed (Debian package dpdk-dev, .ci/debian-packages); skipped');
const lab = new NetnsLab('memif');
const dir = `/tmp/cnr-memif-${process.pid}`;
const sock = `${dir}/app.sock`;
const ROUTER_MAC = '02:cc:00:00:09:01';
const APP_MAC = '02:dd:00:00:09:02';
const sock2 = `${dir}/app2.sock`;
const ROUTER_MAC2 = '02:cc:00:00:08:01';
const APP2_MAC = '02:dd:00:00:08:02';
// a second interface (id 1) on the first application socket
const ROUTER_MAC3 = '02:cc:00:00:07:01';
const APP3_MAC = '02:dd:00:00:07:02';
let h1 = '';
let r = '';
let vr: RunningVrouter | undefined;
const apps: ChildProcess[] = [];
const prefixes: string[] = [];

interface MemifView { state: string; peer: string; connects: number; disconnects: number; rxRingSize: number; rxQueues: number; txQueues: number }
interface VifView { name: string; rxPackets: number; txPackets: number; memif?: MemifView }

function vif(name: string): VifView {
  const vifs = JSON.parse(vr!.cnr('vif', '--list', '--json')) as VifView[];
  const v = vifs.find((x) => x.name === name);
  assert.ok(v, `no vif ${name}`);
  return v;
}

async function waitFor(what: string, ok: () => boolean, ms = 15000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (ok()) return;
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

interface AppOptions {
  /** the vif and socket it connects to, its MAC (default: mif0's) */
  vif?: string;
  socket?: string;
  mac?: string;
  /** the memif interface id it asks for (default 0) */
  id?: number;
  /** more testpmd application arguments (after --) */
  extra?: string[];
}

/** testpmd as the pod's application, forwarding with `mode`; stdin open so that a newline (or, with -i, commands) drives it. */
async function startApp(mode: string, o: AppOptions = {}): Promise<{ proc: ChildProcess; output: () => string }> {
  const prefix = `cnrmemif${process.pid}x${apps.length}`;
  prefixes.push(prefix);
  const proc = spawn(TESTPMD, [
    '--no-huge', '-m', '256', '--no-pci', `--file-prefix=${prefix}`, '-l', '0-1', '--log-level=*:notice',
    `--vdev=net_memif0,role=client,socket=${o.socket ?? sock},socket-abstract=no,mac=${o.mac ?? APP_MAC},id=${o.id ?? 0}`,
    '--', '--no-mlockall', '--total-num-mbufs=8192', `--forward-mode=${mode}`, ...(o.extra ?? []),
  ], { stdio: ['pipe', 'pipe', 'pipe'] });
  apps.push(proc);
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  // testpmd's stdout is a pipe (block-buffered): the vif's own state says when the client is in
  await waitFor('the memif client to connect', () => proc.exitCode === null && vif(o.vif ?? 'mif0').memif?.state === 'connected', 30000).catch((e: Error) => {
    throw new Error(`${e.message}: ${out.slice(-1500)}`);
  });
  return { proc, output: () => out };
}

/** End testpmd the polite way (a newline on stdin; `stop` and `quit` in interactive mode) and read its accumulated RX and TX. */
async function stopApp(app: { proc: ChildProcess; output: () => string }, interactive = false): Promise<{ rx: number; tx: number }> {
  const exited = new Promise<void>((res) => app.proc.once('exit', () => res()));
  app.proc.stdin!.write(interactive ? 'stop\nquit\n' : '\n');
  await Promise.race([exited, new Promise((res) => setTimeout(res, 10000))]);
  await stopChild(app.proc, 1000);
  const m = /Accumulated forward statistics[\s\S]*?RX-packets:\s+(\d+)[\s\S]*?TX-packets:\s+(\d+)/.exec(app.output());
  assert.ok(m, `no statistics from testpmd: ${app.output().slice(-2000)}`);
  return { rx: Number(m[1]), tx: Number(m[2]) };
}

/** From h1: send `n` UDP datagrams to the application at `to`, from `flows` source ports in turn, count the ones that come back. */
function exchange(n: number, flows = 1, to = '10.9.0.2'): number {
  const py = [
    'import socket, sys, time',
    `ss = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(${flows})]`,
    'for k, s in enumerate(ss): s.bind(("10.1.0.2", 9001 + k)); s.settimeout(0.2 / len(ss))',
    `n = ${n}; got = 0`,
    'for i in range(n):',
    `    ss[i % len(ss)].sendto(bytes([i & 255]) * 64, ("${to}", 9000)); time.sleep(0.002)`,
    'end = time.time() + 5',
    'while got < n and time.time() < end:',
    '    for s in ss:',
    '        try:',
    '            d, a = s.recvfrom(2048)',
    `            if a == ("${to}", 9000): got += 1`,
    '        except socket.timeout: pass',
    'print(got)',
  ].join('\n');
  return Number(lab.run(h1, ['python3', '-c', py], { timeout: 20000 }).trim());
}

before(async () => {
  if (skip) return;
  mkdirSync(dir, { recursive: true });
  ({ router: r, hosts: [h1] } = lab.topology({ router: 'r', hosts: [numberedHost(1)] }));
  vr = await startVrouter(lab, r, {
    workers: 1,
    vifs: [
      { name: 'r1', driver: 'af-packet', addresses: ['10.1.0.1/24'] },
      { name: 'mif0', driver: 'memif', mac: ROUTER_MAC, addresses: ['10.9.0.1/24'], memif: { socket: sock, id: 0 } },
      { name: 'mif1', driver: 'memif', mac: ROUTER_MAC2, addresses: ['10.8.0.1/24'], memif: { socket: sock2, id: 0 } },
      { name: 'mif2', driver: 'memif', mac: ROUTER_MAC3, addresses: ['10.7.0.1/24'], memif: { socket: sock, id: 1 } },
    ],
    // testpmd has no ARP: each application's address is reached by a fixed rewrite to its MAC
    nexthops: { app: { type: 'encap', vif: 'mif0', dmac: APP_MAC }, app2: { type: 'encap', vif: 'mif1', dmac: APP2_MAC }, app3: { type: 'encap', vif: 'mif2', dmac: APP3_MAC } },
    routes: [{ prefix: '10.9.0.2/32', nh: 'app' }, { prefix: '10.8.0.2/32', nh: 'app2' }, { prefix: '10.7.0.2/32', nh: 'app3' }],
  });
  ping(lab, h1, '10.1.0.1', { count: 2, deadlineS: 3 }); // neighbours learn each other
});

after(async () => {
  for (const a of apps) await stopChild(a, 2000);
  if (vr) await vr.stop();
  await lab.cleanup();
  rmSync(dir, { recursive: true, force: true });
  for (const p of prefixes) rmSync(`/var/run/dpdk/${p}`, { recursive: true, force: true });
});

test('memif: testpmd exchanges traffic with a veth host through the vRouter, counts matching on every side', { skip, timeout: 80000 }, async () => {
  assert.equal(vif('mif0').memif?.state, 'listening');
  const app = await startApp('5tswap');
  const m = vif('mif0').memif!;
  assert.match(m.peer, /DPDK/);
  assert.equal(m.rxRingSize, 1024);
  const before = vif('mif0');
  const N = 200;
  const back = exchange(N);
  assert.equal(back, N, 'every datagram came back to h1 through testpmd');
  const after = vif('mif0');
  assert.equal(after.txPackets - before.txPackets, N, 'the vRouter sent N frames to the application');
  assert.equal(after.rxPackets - before.rxPackets, N, 'and received N back');
  const st = await stopApp(app);
  assert.equal(st.rx, N, 'testpmd received N');
  assert.equal(st.tx, N, 'testpmd sent N');
  await waitFor('the vif to go back to listening', () => vif('mif0').memif?.state === 'listening');
});

test('memif: a testpmd killed with SIGKILL leaves the vRouter healthy and the vif down; a new one reconnects', { skip, timeout: 80000 }, async () => {
  const app = await startApp('5tswap');
  const disconnects = vif('mif0').memif!.disconnects;
  assert.equal(exchange(20), 20);
  process.kill(app.proc.pid!, 'SIGKILL');
  await waitFor('the vif to notice the client is gone', () => vif('mif0').memif?.state === 'listening');
  assert.equal(vif('mif0').memif!.disconnects, disconnects + 1);
  assert.equal(exchange(5), 0, 'nothing answers while the application is gone');
  const p = ping(lab, h1, '10.9.0.1', { count: 3, deadlineS: 4 });
  assert.equal(p.received, 3, `the vRouter still answers: ${p.output}`);
  const again = await startApp('5tswap');
  assert.equal(exchange(50), 50, 'traffic flows again after the reconnect');
  await stopApp(again);
});

test('memif: two testpmd pods exchange traffic through the vRouter, both directions, counts matching on every hop', { skip, timeout: 80000 }, async () => {
  // B turns every frame around (5tswap); A sends 4 bursts of 32 UDP frames to B (tx_first), then counts what comes back
  const b = await startApp('5tswap', { vif: 'mif1', socket: sock2, mac: APP2_MAC });
  const before0 = vif('mif0');
  const before1 = vif('mif1');
  const a = await startApp('rxonly', { extra: ['-i', '--tx-ip=10.9.0.2,10.8.0.2', `--eth-peer=0,${ROUTER_MAC}`] });
  a.proc.stdin!.write('start tx_first 4\n');
  const N = 128;
  await waitFor('the frames to come back to A', () => vif('mif0').txPackets - before0.txPackets >= N, 20000).catch(() => {});
  const stA = await stopApp(a, true);
  const stB = await stopApp(b);
  const after0 = vif('mif0');
  const after1 = vif('mif1');
  assert.equal(stA.tx, N, 'A sent 128');
  assert.equal(after0.rxPackets - before0.rxPackets, N, 'the vRouter took 128 from A');
  assert.equal(after1.txPackets - before1.txPackets, N, 'and gave 128 to B');
  assert.equal(stB.rx, N, 'B received 128');
  assert.equal(stB.tx, N, 'B sent 128 back');
  assert.equal(after1.rxPackets - before1.rxPackets, N, 'the vRouter took 128 from B');
  assert.equal(after0.txPackets - before0.txPackets, N, 'and gave 128 to A');
  assert.equal(stA.rx, N, 'A received 128');
});

test('memif: testpmd with two queue pairs: flows spread over both of the vRouter\'s transmit queues, both receive queues come back, counts match', { skip, timeout: 80000 }, async () => {
  const app = await startApp('5tswap', { extra: ['--rxq=2', '--txq=2'] });
  const m = vif('mif0').memif!;
  assert.equal(m.rxQueues, 2, 'the client added two rings each way');
  assert.equal(m.txQueues, 2);
  const before = vif('mif0');
  const N = 240;
  // 16 flows (source ports): the vRouter picks a queue per flow, so both carry some
  assert.equal(exchange(N, 16), N, 'every datagram came back through testpmd');
  const after = vif('mif0');
  assert.equal(after.txPackets - before.txPackets, N);
  assert.equal(after.rxPackets - before.rxPackets, N, 'taken from both receive rings');
  const st = await stopApp(app);
  assert.equal(st.rx, N);
  assert.equal(st.tx, N);
  // testpmd's per-stream statistics: queue q's stream receives on rx queue q and sends on tx queue q
  for (const q of [0, 1]) {
    const block = new RegExp(`RX Port= 0/Queue= ${q} -> TX Port= 0/Queue= ${q}[\\s\\S]*?RX-packets: (\\d+)[\\s\\S]*?TX-packets: (\\d+)`).exec(app.output());
    assert.ok(block, `no statistics for queue ${q}: ${app.output().slice(-3000)}`);
    assert.ok(Number(block[1]) > 0 && Number(block[1]) < N, `queue ${q} carried part of the flows (rx ${block[1]})`);
    assert.equal(Number(block[2]), Number(block[1]), `queue ${q} sent back what it received`);
  }
  await waitFor('the vif to go back to listening', () => vif('mif0').memif?.state === 'listening');
});

test('memif: two testpmd on one socket with ids 0 and 1 reach their own vifs, counts matching on each', { skip, timeout: 80000 }, async () => {
  const c = await startApp('5tswap', { vif: 'mif2', id: 1, mac: APP3_MAC });
  assert.equal(vif('mif0').memif?.state, 'listening', 'id 1\'s client did not take id 0');
  const a = await startApp('5tswap');
  const before0 = vif('mif0');
  const before2 = vif('mif2');
  assert.equal(exchange(60, 1, '10.7.0.2'), 60, 'through id 1');
  assert.equal(exchange(40), 40, 'through id 0');
  const after0 = vif('mif0');
  const after2 = vif('mif2');
  assert.equal(after2.txPackets - before2.txPackets, 60);
  assert.equal(after2.rxPackets - before2.rxPackets, 60);
  assert.equal(after0.txPackets - before0.txPackets, 40);
  assert.equal(after0.rxPackets - before0.rxPackets, 40);
  const stC = await stopApp(c);
  const stA = await stopApp(a);
  assert.deepEqual(stC, { rx: 60, tx: 60 });
  assert.deepEqual(stA, { rx: 40, tx: 40 });
  await waitFor('both vifs to go back to listening', () => vif('mif0').memif?.state === 'listening' && vif('mif2').memif?.state === 'listening');
});
