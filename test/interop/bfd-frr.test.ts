/**
 * cnr's BFD state machine (src/bfd) against FRR's bfdd over a veth pair: the session comes
 * Up on both sides with the timers each side asked for, and when FRR's port is taken down cnr
 * detects it (Down, diag 1) within the detection time; the port back up brings the session
 * Up again.
 *
 * The transport here is for this test only, until the vRouter hosts BFD (docs/bfd.md): this
 * same file, started again inside cnr's namespace with CNR_BFD_TEST_TRANSPORT set, runs the
 * BfdInstance over two node:dgram sockets and prints each state change as a JSON line. A
 * dgram socket cannot read a received packet's TTL, so this transport reports 255; the TTL
 * check itself is tested in the scenarios (malformed-packets-counted).
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { chownSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BfdInstance, type BfdOutput, type BfdSessionKey, encodeSessionPacket } from '../../src/bfd/index.js';
import { BFD_PORT_SINGLE_HOP } from '../../src/wire/bfd.js';
import { Lab, canBuildLabs } from './harness/lab.js';
import { type Daemon, run, must, waitFor, WaitAborted } from './harness/proc.js';

const CNR = '10.77.0.2';
const FRR = '10.77.0.1';
/** cnr's source port (RFC 5881 section 4: 49152-65535) */
const SOURCE_PORT = 49152;
/** 100 ms x 3 on both sides: a detection time of 300 ms */
const INTERVAL_MS = 100;
const MULT = 3;

interface TransportConfig {
  ifname: string;
  local: string;
  peer: string;
}

/** The test transport (runs in cnr's namespace): sockets and a timer around a BfdInstance. */
function transportMain(cfg: TransportConfig): void {
  const nowUs = () => Number(process.hrtime.bigint() / 1000n);
  const bfd = new BfdInstance();
  const key: BfdSessionKey = { kind: 'single-hop', ifname: cfg.ifname, local: cfg.local, peer: cfg.peer };
  const session = bfd.addSession(key, { desiredMinTxUs: INTERVAL_MS * 1000, requiredMinRxUs: INTERVAL_MS * 1000, detectMult: MULT, controlPlaneIndependent: false }, nowUs());
  const rx = dgram.createSocket('udp4');
  const tx = dgram.createSocket('udp4');
  const buf = new Uint8Array(64);
  let timer: NodeJS.Timeout | undefined;
  const handle = (outs: BfdOutput[]) => {
    for (const o of outs) {
      if (o.kind === 'send') {
        const end = encodeSessionPacket(session, o.packet, buf);
        tx.send(buf.subarray(0, end), BFD_PORT_SINGLE_HOP, cfg.peer);
      } else if (o.kind === 'state-change') {
        console.log(JSON.stringify({ from: o.from, to: o.to, diag: o.diag, cause: o.cause, atUs: nowUs(), localDiscr: session.localDiscr }));
      }
    }
    // wake at the next transmit or detection deadline
    clearTimeout(timer);
    const next = bfd.nextDeadlineUs();
    if (next !== undefined) timer = setTimeout(() => handle(bfd.tick(nowUs())), Math.max(0, (next - nowUs()) / 1000));
  };
  rx.on('message', (msg, rinfo) => {
    const meta = { ifname: cfg.ifname, srcAddress: rinfo.address, dstAddress: cfg.local, srcPort: rinfo.port, dstPort: BFD_PORT_SINGLE_HOP, ttl: 255 };
    handle(bfd.receive(msg, meta, nowUs()));
  });
  rx.bind(BFD_PORT_SINGLE_HOP, cfg.local, () => {
    tx.bind(SOURCE_PORT, cfg.local, () => {
      tx.setTTL(255);
      console.log(JSON.stringify({ ready: true }));
      handle(bfd.tick(nowUs()));
    });
  });
  process.on('SIGTERM', () => process.exit(0));
}

const transportEnv = process.env['CNR_BFD_TEST_TRANSPORT'];
if (transportEnv) transportMain(JSON.parse(transportEnv) as TransportConfig);
else defineTests();

interface StateLine {
  from: string;
  to: string;
  diag: number;
  atUs: number;
  localDiscr: number;
}

function defineTests(): void {
  const skip = !canBuildLabs() ? 'needs root (network namespaces)' : run('test', ['-x', '/usr/lib/frr/bfdd']).code !== 0 ? 'FRR bfdd not installed (apt-get install frr)' : false;
  if (skip) console.log(`# bfd-frr interop skipped: ${skip}`);
  let lab: Lab;
  let nsFrr: string;
  let ifFrr: string;
  let runDir: string;
  let transport: Daemon;
  const states = (): StateLine[] =>
    transport
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{"from"'))
      .map((l) => JSON.parse(l) as StateLine);
  const frrPeer = (): Record<string, unknown> | undefined => {
    const r = run('vtysh', ['--vty_socket', runDir, '-c', 'show bfd peers json'], 5000);
    if (r.code !== 0) return undefined;
    return (JSON.parse(r.stdout) as Record<string, unknown>[]).find((p) => p['peer'] === CNR);
  };

  before(async () => {
    if (skip) return;
    lab = new Lab('bfdf');
    nsFrr = lab.ns('frr');
    const nsCnr = lab.ns('cnr');
    const link = lab.link(nsFrr, nsCnr, { a4: `${FRR}/24`, b4: `${CNR}/24` });
    ifFrr = link.ifA;
    runDir = join(lab.dir, 'frr-run');
    must('install', ['-d', '-o', 'frr', '-g', 'frr', runDir]);
    const zebraConf = join(lab.dir, 'zebra.conf');
    const bfddConf = join(lab.dir, 'bfdd.conf');
    writeFileSync(zebraConf, 'hostname cnr-bfd-frr\n');
    writeFileSync(bfddConf, ['bfd', ` peer ${CNR} local-address ${FRR}`, `  receive-interval ${INTERVAL_MS}`, `  transmit-interval ${INTERVAL_MS}`, `  detect-multiplier ${MULT}`, ' !', '!', ''].join('\n'));
    for (const f of [zebraConf, bfddConf]) chownSync(f, uidOf('frr'), gidOf('frr'));
    const common = ['-u', 'frr', '-g', 'frr', '-z', join(runDir, 'zserv.api'), '--vty_socket', runDir];
    lab.daemon('zebra', nsFrr, '/usr/lib/frr/zebra', ['-f', zebraConf, '-i', join(runDir, 'zebra.pid'), ...common]);
    await waitFor('zebra vty', () => run('vtysh', ['--vty_socket', runDir, '-d', 'zebra', '-c', 'show version'], 5000).code === 0, 15_000);
    const bfdd = lab.daemon('bfdd', nsFrr, '/usr/lib/frr/bfdd', ['-f', bfddConf, '-i', join(runDir, 'bfdd.pid'), ...common]);
    await waitFor('bfdd vty', () => {
      if (bfdd.child.exitCode !== null) throw new WaitAborted(`bfdd exited: ${bfdd.output().slice(-2000)}`);
      return run('vtysh', ['--vty_socket', runDir, '-d', 'bfdd', '-c', 'show version'], 5000).code === 0;
    }, 15_000);
    const self = fileURLToPath(import.meta.url);
    const env = { ...process.env, CNR_BFD_TEST_TRANSPORT: JSON.stringify({ ifname: link.ifB, local: CNR, peer: FRR }) };
    transport = lab.daemon('cnr-bfd-transport', nsCnr, process.execPath, [self], env);
    await waitFor('the test transport bound its sockets', () => {
      if (transport.child.exitCode !== null) throw new WaitAborted(`transport exited: ${transport.output()}`);
      return transport.output().includes('"ready":true');
    }, 10_000);
  });

  after(async () => {
    if (lab) await lab.close();
  });

  test('BFD with FRR bfdd: Up on both sides, timers as configured, Down detected within the detection time when FRR\'s port goes down, Up again after', { skip }, async () => {
    await waitFor('cnr session Up', () => states().some((s) => s.to === 'Up'), 15_000);
    const peer = await waitFor('FRR session up', () => {
      const p = frrPeer();
      return p?.['status'] === 'up' ? p : undefined;
    }, 15_000);
    const mine = states().find((s) => s.to === 'Up')!;
    assert.equal(peer['remote-id'], mine.localDiscr, 'FRR knows cnr by cnr\'s discriminator');
    assert.equal(peer['remote-receive-interval'], INTERVAL_MS);
    assert.equal(peer['remote-transmit-interval'], INTERVAL_MS, 'the poll sequence after Up took cnr from 1 s to 100 ms');
    assert.equal(peer['remote-detect-multiplier'], MULT);
    // a few seconds of Up: no false Down while both sides send every 100 ms (jittered)
    await new Promise((r) => setTimeout(r, 2000));
    assert.deepEqual(states().filter((s) => s.to === 'Down'), [], 'no false Down');
    assert.equal(frrPeer()?.['status'], 'up');

    const cutUs = Number(process.hrtime.bigint() / 1000n);
    must('ip', ['-n', nsFrr, 'link', 'set', ifFrr, 'down']);
    const down = await waitFor('cnr detects the silence', () => states().find((s) => s.to === 'Down'), 5000, 20);
    const detectedMs = (down.atUs - cutUs) / 1000;
    console.log(`# BFD at ${INTERVAL_MS} ms x ${MULT}: cnr detected FRR's port down after ${detectedMs.toFixed(1)} ms (detection time ${INTERVAL_MS * MULT} ms, plus up to one jittered interval since FRR's last packet)`);
    assert.equal(down.from, 'Up');
    assert.equal(down.diag, 1, 'Control Detection Time Expired');
    // the last packet came at most one transmit interval before the cut: the bound is the
    // detection time; 1 s leaves room for a loaded machine without admitting a missed detection
    assert.ok(detectedMs <= 1000, `detected after ${detectedMs} ms`);

    must('ip', ['-n', nsFrr, 'link', 'set', ifFrr, 'up']);
    await waitFor('cnr session Up again', () => states().filter((s) => s.to === 'Up').length >= 2, 15_000);
    await waitFor('FRR session up again', () => frrPeer()?.['status'] === 'up', 15_000);
  });
}

function uidOf(user: string): number {
  return Number(must('id', ['-u', user]).trim());
}

function gidOf(user: string): number {
  return Number(must('id', ['-g', user]).trim());
}
