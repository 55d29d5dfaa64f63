/**
 * BFD hosted in the vRouter (docs/bfd.md, "Hosting"): the agent's side of the BFD contract.
 * The controller asks for sessions (proto BfdSessionUpdate on the Program stream); this host
 * names them, chooses an interface and local address where the request left them empty,
 * hands them to the BFD worker thread (bfd-worker.ts: the sessions, the sockets, the timers)
 * and reports state back (BfdSessionState) to whoever listens — the agent's current
 * controller stream. The host and its worker outlive the agent's gRPC server, like the data
 * plane: a controller that goes away leaves every session running, Up, with the Control
 * Plane Independent bit set; a controller that comes back replays its sessions between
 * ResyncBegin and ResyncEnd, gets their current state at once, and what it did not replay
 * is removed at ResyncEnd (mark and sweep, as for routes).
 */
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import type { BfdSessionConfig, BfdSessionKey } from '../bfd/index.js';
import type { VifInfo } from '../dataplane/api.js';
import { parseIp, parsePrefix, prefixContains } from '../lib/addr.js';
import { bfdSessionId, type PbBfdSessionState, type PbBfdSessionUpdate, type PbListBfdSessionsReply } from '../api/proto.js';
import { closeFd, createWakeFd, wake } from '../sys/libc.js';
import { canonicalAddress } from './bfd-socket.js';
import type { BfdSessionInfo, FromBfdWorker, ToBfdWorker } from './bfd-protocol.js';

const DIAG_TEXT = ['No Diagnostic', 'Control Detection Time Expired', 'Echo Function Failed', 'Neighbor Signaled Session Down', 'Forwarding Plane Reset', 'Path Down', 'Concatenated Path Down', 'Administratively Down', 'Reverse Concatenated Path Down'];

export function bfdDiagText(diag: number): string {
  return DIAG_TEXT[diag] ?? `diag ${diag}`;
}

interface Requested {
  update: PbBfdSessionUpdate;
  /** the key it runs under, once resolved */
  key?: BfdSessionKey;
  /** why it does not run */
  error?: string;
  last?: BfdSessionInfo;
  /** seen since ResyncBegin */
  marked: boolean;
}

export interface BfdHostOptions {
  log?: (line: string) => void;
  /** the host interface the vRouter punts the node's own packets to (vhost0): the sockets bind to it */
  device?: string;
}

export class BfdHost {
  private worker: Worker | undefined;
  private wakeFd = -1;
  private port: MessagePort | undefined;
  private readonly requests = new Map<string, Requested>();
  private readonly listeners = new Set<(s: PbBfdSessionState) => void>();
  private readonly waiting = new Map<number, (m: FromBfdWorker) => void>();
  private nextReq = 1;
  private resyncing = false;
  /** state changes seen, for the metrics */
  readonly transitions = new Map<string, number>();

  constructor(private readonly opts: BfdHostOptions = {}) {}

  async start(): Promise<void> {
    if (this.worker) return;
    const ch = new MessageChannel();
    this.wakeFd = createWakeFd();
    const w = new Worker(new URL('./bfd-worker.js', import.meta.url), { workerData: { port: ch.port2, wakeFd: this.wakeFd, device: this.opts.device }, transferList: [ch.port2] });
    this.worker = w;
    this.port = ch.port1;
    const ready = new Promise<void>((resolve, reject) => {
      w.once('error', reject);
      w.on('message', (m: FromBfdWorker) => {
        if (m.ev === 'ready') {
          this.log(`bfd: worker thread ${m.tid} runs the sessions${m.niced ? ' (nice -10)' : ' (at normal priority: raising it needs root)'}`);
          resolve();
        }
        else this.onWorker(m);
      });
    });
    w.on('error', (e) => this.log(`bfd: worker failed: ${e.stack ?? e.message}`));
    await ready;
  }

  async stop(): Promise<void> {
    const w = this.worker;
    if (!w) return;
    this.worker = undefined;
    const exited = new Promise<void>((r) => w.once('exit', () => r()));
    this.send({ op: 'stop' });
    const t = setTimeout(() => void w.terminate(), 2000);
    await exited;
    clearTimeout(t);
    this.port?.close();
    closeFd(this.wakeFd);
    this.wakeFd = -1;
  }

  /** Listen to state reports (every change, and one per applied request); returns the unsubscribe. */
  subscribe(fn: (s: PbBfdSessionState) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  beginResync(): void {
    this.resyncing = true;
    for (const r of this.requests.values()) r.marked = false;
  }

  /** Remove the sessions not asked for again since ResyncBegin; returns how many. */
  async endResync(): Promise<number> {
    if (!this.resyncing) return 0;
    this.resyncing = false;
    const stale = [...this.requests.entries()].filter(([, r]) => !r.marked);
    for (const [id, r] of stale) await this.apply({ ...r.update, delete: true }, [], id);
    return stale.length;
  }

  /**
   * A session asked for, changed or deleted. Resolves with the reason when it cannot run (it
   * stays requested: a later interface change may let it start, see `interfacesChanged`).
   */
  async apply(u: PbBfdSessionUpdate, vifs: VifInfo[], knownId?: string): Promise<string | undefined> {
    const id = knownId ?? bfdSessionId(u);
    const old = this.requests.get(id);
    if (u.delete) {
      if (!old) return undefined;
      this.requests.delete(id);
      if (old.key) await this.call({ op: 'delete', req: 0, id });
      this.report(old, { removed: true });
      this.log(`bfd: session ${describe(old)} removed`);
      return undefined;
    }
    const r: Requested = old ?? { update: u, marked: true };
    r.update = u;
    r.marked = true;
    this.requests.set(id, r);
    let key: BfdSessionKey;
    try {
      key = resolveKey(u, vifs);
      if (u.detectMult === undefined || u.detectMult < 1 || u.detectMult > 255) throw new Error(`multiplier ${u.detectMult ?? 0} outside 1..255`);
      if (!u.desiredMinTxUs) throw new Error('minimum transmit interval 0');
      if (u.minTtl && (u.minTtl < 1 || u.minTtl > 255)) throw new Error(`minimum TTL ${u.minTtl} outside 1..255`);
    } catch (err) {
      r.error = err instanceof Error ? err.message : String(err);
      this.report(r);
      return r.error;
    }
    if (r.key && JSON.stringify(r.key) !== JSON.stringify(key)) {
      // the interface or address it resolves to moved: a new session
      await this.call({ op: 'delete', req: 0, id });
      r.key = undefined;
    }
    let auth: BfdSessionConfig['auth'];
    try {
      auth = authOf(u);
    } catch (err) {
      r.error = err instanceof Error ? err.message : String(err);
      this.report(r);
      return r.error;
    }
    const config: BfdSessionConfig = { desiredMinTxUs: u.desiredMinTxUs!, requiredMinRxUs: u.requiredMinRxUs ?? u.desiredMinTxUs!, detectMult: u.detectMult, controlPlaneIndependent: true, ...(u.adminDown ? { adminDown: true } : {}), ...(auth ? { auth } : {}), ...(u.multihop && u.minTtl ? { minTtl: u.minTtl } : {}) };
    const res = await this.call({ op: 'set', req: 0, id, key, config, clients: u.clients ?? [] });
    if (res.ev === 'applied' && res.error) {
      r.error = res.error;
      this.report(r);
      return r.error;
    }
    const isNew = !r.key;
    r.key = key;
    r.error = undefined;
    if (res.ev === 'applied' && res.info) r.last = res.info;
    // the key is a secret: the log names the algorithm and key id only
    if (isNew) this.log(`bfd: session ${describe(r)} started (${(config.desiredMinTxUs / 1000).toFixed(0)} ms x ${config.detectMult}${auth ? `, ${authText(u)}` : ''}, clients ${(u.clients ?? []).join(', ') || 'none'})`);
    this.report(r);
    return undefined;
  }

  /** Interfaces changed: start the sessions that could not be placed before. */
  async interfacesChanged(vifs: VifInfo[]): Promise<void> {
    for (const [id, r] of [...this.requests]) if (!r.key && r.error) await this.apply(r.update, vifs, id);
  }

  /** The current state of every session (fresh counters from the worker). */
  async list(): Promise<PbListBfdSessionsReply> {
    const res = await this.call({ op: 'list', req: 0 });
    if (res.ev !== 'list') return { sessions: [], discards: [] };
    const byId = new Map(res.sessions.map((s) => [s.id, s]));
    const sessions: PbBfdSessionState[] = [];
    for (const [id, r] of this.requests) {
      const info = byId.get(id);
      if (info) r.last = info;
      sessions.push(toState(r, info));
    }
    return { sessions, discards: Object.entries(res.discards).map(([reason, count]) => ({ reason, count })) };
  }

  /** The last known state of every session, without asking the worker. */
  cached(): PbBfdSessionState[] {
    return [...this.requests.values()].map((r) => toState(r, r.last));
  }

  private report(r: Requested, extra: Partial<PbBfdSessionState> = {}): void {
    const s = { ...toState(r, r.last), ...extra };
    for (const l of this.listeners) l(s);
  }

  private onWorker(m: FromBfdWorker): void {
    if (m.ev === 'state') {
      const r = this.requests.get(m.info.id);
      if (!r) return;
      r.last = m.info;
      const k = `${m.from}->${m.info.state}`;
      this.transitions.set(k, (this.transitions.get(k) ?? 0) + 1);
      this.log(`bfd: session ${describe(r)} ${m.from} -> ${m.info.state} (${bfdDiagText(m.diag)}; ${m.info.cause})`);
      this.report(r);
      return;
    }
    if (m.ev === 'error') {
      this.log(`bfd: ${m.message}`);
      return;
    }
    if (m.ev === 'applied' || m.ev === 'list') {
      const w = this.waiting.get(m.req);
      this.waiting.delete(m.req);
      w?.(m);
    }
  }

  private send(m: ToBfdWorker): void {
    this.port?.postMessage(m);
    wake(this.wakeFd);
  }

  private call(m: Exclude<ToBfdWorker, { op: 'stop' }>): Promise<FromBfdWorker> {
    if (!this.worker) return Promise.resolve({ ev: 'applied', req: 0, error: 'BFD is not running in this vRouter' });
    const req = this.nextReq++;
    return new Promise((resolve) => {
      this.waiting.set(req, resolve);
      this.send({ ...m, req });
    });
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }
}

function describe(r: Requested): string {
  const k = r.key;
  if (!k) return bfdSessionId(r.update);
  return k.kind === 'multihop' ? `multihop ${k.local} -> ${k.peer}` : `${k.ifname} ${k.local} -> ${k.peer}`;
}

/** The interface and local address a request leaves empty: the vif whose subnet holds the peer. */
export function resolveKey(u: PbBfdSessionUpdate, vifs: readonly Pick<VifInfo, 'name' | 'addresses'>[]): BfdSessionKey {
  const peer = canonicalAddress(u.peer);
  const peerIp = parseIp(peer);
  if (u.multihop) {
    if (!u.local) throw new Error(`multihop session to ${peer} needs a local address`);
    return { kind: 'multihop', local: canonicalAddress(u.local), peer };
  }
  for (const v of vifs) {
    if (u.interface && v.name !== u.interface) continue;
    for (const a of v.addresses) {
      const p = parsePrefix(a);
      if (p.family !== peerIp.family || !prefixContains(p, peerIp.bytes)) continue;
      const mine = canonicalAddress(a.replace(/\/\d+$/, ''));
      if (u.local && canonicalAddress(u.local) !== mine) continue;
      return { kind: 'single-hop', ifname: v.name, local: mine, peer };
    }
  }
  if (u.interface && u.local) return { kind: 'single-hop', ifname: u.interface, local: canonicalAddress(u.local), peer };
  throw new Error(`no interface${u.interface ? ` ${u.interface}` : ''} has a subnet holding ${peer}`);
}

function toState(r: Requested, info: BfdSessionInfo | undefined): PbBfdSessionState {
  const u = r.update;
  return {
    peer: u.peer,
    local: u.local ?? '',
    interface: u.interface ?? '',
    multihop: u.multihop ?? false,
    state: info?.state ?? '',
    remoteState: info?.remoteState ?? '',
    localDiag: info?.localDiag ?? 0,
    remoteDiag: info?.remoteDiag ?? 0,
    localDiscr: info?.localDiscr ?? 0,
    remoteDiscr: info?.remoteDiscr ?? 0,
    desiredMinTxUs: u.desiredMinTxUs ?? 0,
    requiredMinRxUs: u.requiredMinRxUs ?? 0,
    detectMult: u.detectMult ?? 0,
    txIntervalUs: info?.txIntervalUs ?? 0,
    rxIntervalUs: info?.rxIntervalUs ?? 0,
    detectionTimeUs: info?.detectionTimeUs ?? 0,
    remoteDetectMult: info?.remoteDetectMult ?? 0,
    remoteMinRxUs: info?.remoteMinRxUs ?? 0,
    remoteMinTxUs: info?.remoteMinTxUs ?? 0,
    flaps: info?.flaps ?? 0,
    upTransitions: info?.upTransitions ?? 0,
    rxPackets: info?.rxPackets ?? 0,
    txPackets: info?.txPackets ?? 0,
    discarded: info?.discarded ?? 0,
    changedAtMs: info?.changedAtMs ?? 0,
    upForMs: info?.upForMs ?? 0,
    cause: info?.cause ?? '',
    clients: u.clients ?? [],
    sourcePort: info?.sourcePort ?? 0,
    removed: false,
    resolvedInterface: r.key?.kind === 'single-hop' ? r.key.ifname : '',
    resolvedLocal: r.key?.local ?? '',
    error: r.error ?? '',
    remoteControlPlaneIndependent: info?.remoteControlPlaneIndependent ?? false,
    authentication: authText(u),
  };
}

/** RFC 5880 section 6.7 Auth Types the sessions run (src/wire/bfd.ts signs and checks both) */
const AUTH_NAMES: Record<number, string> = { 4: 'keyed-sha-1', 5: 'meticulous-keyed-sha-1' };

/** A request's authentication as a session's, or undefined for none; throws on what cannot run. */
export function authOf(u: PbBfdSessionUpdate): BfdSessionConfig['auth'] {
  const type = u.authType ?? 0;
  if (type === 0) return undefined;
  if (type !== 4 && type !== 5) throw new Error(`authentication type ${type} is not supported (4 keyed SHA1, 5 meticulous keyed SHA1)`);
  const key = Buffer.from(u.authKey ?? '', 'utf8');
  if (key.length === 0 || key.length > 20) throw new Error(`a SHA1 key must have 1 to 20 bytes (${key.length})`);
  const keyId = u.authKeyId ?? 0;
  if (!Number.isInteger(keyId) || keyId < 0 || keyId > 255) throw new Error(`auth key id ${keyId} outside 0..255`);
  return { type, keyId, key: new Uint8Array(key) };
}

/** "keyed-sha-1 key 1", or empty: what show commands and logs may say of a session's key */
function authText(u: PbBfdSessionUpdate): string {
  const name = AUTH_NAMES[u.authType ?? 0];
  return name ? `${name} key ${u.authKeyId ?? 0}` : '';
}
