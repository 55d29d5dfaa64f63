/**
 * A UDP transport around cnr's BFD instance for the interop tests only, until the vRouter
 * hosts BFD (docs/bfd.md). A test starts it inside cnr's namespace (`startBfdTransport`): this
 * file then runs one session over two node:dgram sockets (port 3784; source port 49152, TTL
 * 255) and prints each state change and each dropped packet as a JSON line. A dgram socket cannot read a received
 * packet's TTL, so this transport reports 255; the TTL check itself is tested in the
 * scenarios (malformed-packets-counted).
 */
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { BfdInstance, type BfdOutput, type BfdSessionConfig, type BfdSessionKey, encodeSessionPacket } from '../../src/bfd/index.js';
import { BFD_PORT_SINGLE_HOP } from '../../src/wire/bfd.js';
import type { Lab } from './harness/lab.js';
import { type Daemon, WaitAborted, waitFor } from './harness/proc.js';

/** cnr's source port (RFC 5881 section 4: 49152-65535) */
const SOURCE_PORT = 49152;
const ENV = 'CNR_BFD_TEST_TRANSPORT';

export interface TransportConfig {
  ifname: string;
  local: string;
  peer: string;
  intervalMs: number;
  multiplier: number;
  /** meticulous keyed SHA1 (type 5) or keyed SHA1 (4) with this key ID and key text */
  auth?: { type: 4 | 5; keyId: number; key: string };
}

/** A state change as the transport prints it. */
export interface StateLine {
  from: string;
  to: string;
  diag: number;
  cause: string;
  /** the transport's monotonic clock (process.hrtime), microseconds */
  atUs: number;
  localDiscr: number;
}

export interface BfdTransport {
  readonly daemon: Daemon;
  /** every state change so far */
  states(): StateLine[];
  /** received packets dropped so far, by reason */
  discards(): Record<string, number>;
}

/** Start the transport in `ns` and wait until its sockets are bound. */
export async function startBfdTransport(lab: Lab, ns: string, cfg: TransportConfig): Promise<BfdTransport> {
  const env = { ...process.env, [ENV]: JSON.stringify(cfg) };
  const daemon = lab.daemon('cnr-bfd-transport', ns, process.execPath, [fileURLToPath(import.meta.url)], env);
  await waitFor('the test transport bound its sockets', () => {
    if (daemon.child.exitCode !== null) throw new WaitAborted(`transport exited: ${daemon.output()}`);
    return daemon.output().includes('"ready":true');
  }, 10_000);
  return {
    daemon,
    states: () =>
      daemon
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{"from"'))
        .map((l) => JSON.parse(l) as StateLine),
    discards: () => {
      const out: Record<string, number> = {};
      for (const l of daemon.output().split('\n')) {
        if (!l.startsWith('{"discard"')) continue;
        const r = (JSON.parse(l) as { discard: string }).discard;
        out[r] = (out[r] ?? 0) + 1;
      }
      return out;
    },
  };
}

/** The same clock as the transport's `atUs`. */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

function transportMain(cfg: TransportConfig): void {
  const bfd = new BfdInstance();
  const key: BfdSessionKey = { kind: 'single-hop', ifname: cfg.ifname, local: cfg.local, peer: cfg.peer };
  const config: BfdSessionConfig = {
    desiredMinTxUs: cfg.intervalMs * 1000,
    requiredMinRxUs: cfg.intervalMs * 1000,
    detectMult: cfg.multiplier,
    controlPlaneIndependent: false,
    auth: cfg.auth ? { type: cfg.auth.type, keyId: cfg.auth.keyId, key: new TextEncoder().encode(cfg.auth.key) } : undefined,
  };
  const session = bfd.addSession(key, config, monotonicUs());
  const family = cfg.local.includes(':') ? 'udp6' : 'udp4';
  const rx = dgram.createSocket(family);
  const tx = dgram.createSocket(family);
  const buf = new Uint8Array(64);
  let timer: NodeJS.Timeout | undefined;
  const handle = (outs: BfdOutput[]) => {
    for (const o of outs) {
      if (o.kind === 'send') {
        const end = encodeSessionPacket(session, o.packet, buf);
        tx.send(buf.subarray(0, end), BFD_PORT_SINGLE_HOP, cfg.peer);
      } else if (o.kind === 'state-change') {
        const line: StateLine = { from: o.from, to: o.to, diag: o.diag, cause: o.cause, atUs: monotonicUs(), localDiscr: session.localDiscr };
        console.log(JSON.stringify(line));
      } else {
        console.log(JSON.stringify({ discard: o.reason }));
      }
    }
    // wake at the next transmit or detection deadline
    clearTimeout(timer);
    const next = bfd.nextDeadlineUs();
    if (next !== undefined) timer = setTimeout(() => handle(bfd.tick(monotonicUs())), Math.max(0, (next - monotonicUs()) / 1000));
  };
  rx.on('message', (msg, rinfo) => {
    const meta = { ifname: cfg.ifname, srcAddress: rinfo.address, dstAddress: cfg.local, srcPort: rinfo.port, dstPort: BFD_PORT_SINGLE_HOP, ttl: 255 };
    handle(bfd.receive(msg, meta, monotonicUs()));
  });
  rx.bind(BFD_PORT_SINGLE_HOP, cfg.local, () => {
    tx.bind(SOURCE_PORT, cfg.local, () => {
      tx.setTTL(255);
      console.log(JSON.stringify({ ready: true }));
      handle(bfd.tick(monotonicUs()));
    });
  });
  process.on('SIGTERM', () => process.exit(0));
}

const fromEnv = process.env[ENV];
if (fromEnv && process.argv[1] === fileURLToPath(import.meta.url)) transportMain(JSON.parse(fromEnv) as TransportConfig);
