/**
 * The controller's side of BFD (docs/bfd.md): client protocols (BGP, static routes, IS-IS)
 * ask for liveness detection of a peer or next hop; the manager merges the requests for the
 * same session (one session per peer and local address however many protocols use it, at the
 * fastest timers any of them asks for), asks the vRouter to run it (FibExport.setBfdSession,
 * replayed after every reconnect), and hands the state the vRouter reports back to each
 * client. The sessions themselves, their timers and packets, run in the vRouter
 * (src/agent/bfd-host.ts): this side holds no timer, so a busy controller cannot make a
 * session flap, and a restarted one gets the state of sessions that stayed Up.
 */
import { bfdSessionId, type PbBfdSessionState, type PbBfdSessionUpdate, type PbListBfdSessionsReply } from '../../../api/proto.js';
import { isTree } from '../../config/tree.js';
import { startTimeMs } from '../../config/schema/security.js';
import type { ConfigConsumer, ConfigTree, ConfigValue } from '../../types.js';

/** What a client asks for. Intervals in milliseconds, as configured. */
export interface BfdRequest {
  peer: string;
  /** empty: the vRouter takes its address on the interface facing the peer (single hop) */
  local?: string;
  /** empty: the interface whose subnet holds the peer */
  interface?: string;
  multihop: boolean;
  minTxMs: number;
  minRxMs: number;
  multiplier: number;
  /** keyed SHA-1 with the key in use of a key chain (`authentication key-chain K`) */
  auth?: BfdAuthRequest;
  /** multihop: the lowest TTL accepted (`minimum-ttl`) */
  minTtl?: number;
}

/** A request's authentication: the algorithm and the key chain by name (resolved by the manager). */
export interface BfdAuthRequest {
  algorithm: 'keyed-sha-1' | 'meticulous-keyed-sha-1';
  keyChain: string;
}

/** A session's state as a client sees it: Up, or not (with the vRouter's state name). */
export interface BfdClientView {
  up: boolean;
  /** Down, Init, Up, AdminDown, or '' before the vRouter has reported */
  state: string;
  /** the session was Up and is no longer: clients act on this one (take a session down, a next hop out) */
  wentDown: boolean;
  diag: number;
}

/**
 * The hook a client protocol calls (BGP per neighbor, static routes per next hop, IS-IS per
 * adjacency). `onChange` runs at each reported state change of the session; the returned
 * function withdraws the request (the session goes when no client wants it).
 */
export interface BfdClients {
  watch(client: string, req: BfdRequest, onChange: (v: BfdClientView) => void): () => void;
  /** the last known view of the session a request names, without watching */
  view(req: BfdRequest): BfdClientView;
}

/** What the manager needs of the agent connection (FibExport implements it). */
export interface BfdTransport {
  setBfdSession(u: PbBfdSessionUpdate): void;
  onBfdState(fn: (s: PbBfdSessionState) => void): () => void;
  listBfdSessions(timeoutMs?: number): Promise<PbListBfdSessionsReply>;
}

interface Watch {
  client: string;
  req: BfdRequest;
  onChange: (v: BfdClientView) => void;
}

interface Session {
  key: Pick<BfdRequest, 'peer' | 'local' | 'interface' | 'multihop'>;
  watches: Set<Watch>;
  /** what was last sent to the vRouter */
  sent?: string;
  last?: PbBfdSessionState;
}

export class BfdManager implements BfdClients {
  private readonly sessions = new Map<string, Session>();
  private readonly unsubscribe: () => void;
  /** `security authentication-key-chains key-chain` as last committed */
  private keyChains: ConfigTree = {};
  /** re-sends the sessions when a key's start-time comes */
  private rollover?: NodeJS.Timeout;
  /** key chains already reported missing (logged once each) */
  private readonly missingLogged = new Set<string>();

  /**
   * The configuration consumer that gives the manager the key chains (listed before the
   * clients' consumers, so a commit's sessions are sent with the commit's keys) and refuses a
   * `bfd-liveness-detection authentication` that names no usable key chain.
   */
  readonly consumer: ConfigConsumer = {
    name: 'bfd',
    validate: (next) => validateBfdAuthentication(next),
    apply: async (next) => {
      this.keyChains = keyChainsOf(next);
      this.missingLogged.clear();
      this.resend();
    },
  };

  constructor(
    private readonly transport: BfdTransport,
    private readonly log: (line: string) => void = () => {},
  ) {
    this.unsubscribe = transport.onBfdState((s) => this.reported(s));
  }

  close(): void {
    this.unsubscribe();
    if (this.rollover) clearTimeout(this.rollover);
  }

  /** Every session again (sent only where something changed: a key, a key chain's key in use). */
  private resend(): void {
    if (this.rollover) clearTimeout(this.rollover);
    this.rollover = undefined;
    for (const s of this.sessions.values()) this.push(s);
    const next = nextStartTime(this.keyChains, Date.now());
    if (next !== undefined) {
      // setTimeout holds at most 2^31-1 ms: a later start is looked at again then
      this.rollover = setTimeout(() => this.resend(), Math.min(next - Date.now() + 10, 0x7fffffff));
      this.rollover.unref?.();
    }
  }

  watch(client: string, req: BfdRequest, onChange: (v: BfdClientView) => void): () => void {
    const id = idOf(req);
    let s = this.sessions.get(id);
    if (!s) {
      s = { key: { peer: req.peer, local: req.local ?? '', interface: req.interface ?? '', multihop: req.multihop }, watches: new Set() };
      this.sessions.set(id, s);
    }
    const w: Watch = { client, req, onChange };
    s.watches.add(w);
    this.push(s);
    const session = s;
    return () => {
      if (!session.watches.delete(w)) return;
      if (session.watches.size === 0) {
        this.sessions.delete(id);
        this.transport.setBfdSession({ ...session.key, delete: true });
      } else this.push(session);
    };
  }

  view(req: BfdRequest): BfdClientView {
    return viewOf(this.sessions.get(idOf(req))?.last, false);
  }

  /** The sessions with their counters, read from the vRouter (`show bfd session`). */
  list(): Promise<PbListBfdSessionsReply> {
    return this.transport.listBfdSessions(30_000);
  }

  /** Send the merged request of a session when it changed: the fastest timers any client asks for. */
  private push(s: Session): void {
    const ws = [...s.watches].sort((a, b) => (a.client < b.client ? -1 : a.client > b.client ? 1 : 0));
    const u: PbBfdSessionUpdate = {
      ...s.key,
      desiredMinTxUs: Math.min(...ws.map((w) => w.req.minTxMs)) * 1000,
      requiredMinRxUs: Math.min(...ws.map((w) => w.req.minRxMs)) * 1000,
      detectMult: Math.min(...ws.map((w) => w.req.multiplier)),
      clients: [...new Set(ws.map((w) => w.client))].sort(),
      ...this.authOf(ws),
      // the strictest any client asks for
      ...(ws.some((w) => w.req.minTtl) ? { minTtl: Math.max(...ws.map((w) => w.req.minTtl ?? 0)) } : {}),
    };
    const text = JSON.stringify(u);
    if (text === s.sent) return;
    s.sent = text;
    this.transport.setBfdSession(u);
  }

  /**
   * The authentication a session's clients ask for, with the key in use of its chain (the
   * first client in name order that asks for any decides). A chain with no usable key keeps
   * the session AdminDown rather than running it unauthenticated (validation refuses such a
   * commit; a chain whose keys all start later gets here).
   */
  private authOf(ws: Watch[]): Partial<PbBfdSessionUpdate> {
    const a = ws.map((w) => w.req.auth).find((x) => x !== undefined);
    if (!a) return {};
    const k = activeKey(this.keyChains, a.keyChain, Date.now());
    if (!k) {
      if (!this.missingLogged.has(a.keyChain)) this.log(`bfd: key chain ${a.keyChain} has no key in use: its sessions stay AdminDown`);
      this.missingLogged.add(a.keyChain);
      return { adminDown: true };
    }
    return { authType: a.algorithm === 'meticulous-keyed-sha-1' ? 5 : 4, authKeyId: k.id, authKey: k.secret };
  }

  private reported(st: PbBfdSessionState): void {
    const s = this.sessions.get(bfdSessionId(st));
    if (!s) return;
    const before = s.last;
    s.last = st.removed ? undefined : st;
    if (st.error && st.error !== before?.error) this.log(`bfd: session to ${st.peer} cannot run: ${st.error}`);
    if (before?.state === st.state && !st.removed) return;
    const wentDown = before?.state === 'Up' && st.state !== 'Up';
    const v = viewOf(st.removed ? undefined : st, wentDown);
    for (const w of [...s.watches]) w.onChange(v);
  }
}

function idOf(req: BfdRequest): string {
  return bfdSessionId({ peer: req.peer, local: req.local ?? '', interface: req.interface ?? '', multihop: req.multihop });
}

function viewOf(st: PbBfdSessionState | undefined, wentDown: boolean): BfdClientView {
  return { up: st?.state === 'Up', state: st?.state ?? '', wentDown, diag: st?.localDiag ?? 0 };
}

/**
 * The IS-IS hook (issue 13 builds IS-IS beside this): a single-hop session to an adjacency's
 * neighbor on its interface, from the interface's `bfd-liveness-detection` (the schema's
 * `bfdLivenessDetection()`, config/schema/bfd.ts). IS-IS calls
 * `bfd.watch('isis', adjacencyBfdRequest(ifname, neighborAddress, cfg), (v) => { if
 * (v.wentDown) adjacencyDown() })` when the adjacency comes up, and the returned function
 * when it goes; undefined when the interface asks for no BFD. The address is the neighbor's
 * (IPv4 or IPv6 interface address from its hellos): BFD runs over IP even for IS-IS
 * (RFC 5881 section 2).
 */
export function adjacencyBfdRequest(ifname: string, neighborAddress: string, bfdConfig: ConfigValue | undefined): BfdRequest | undefined {
  const t = bfdTimersOf(bfdConfig);
  if (!t) return undefined;
  return { peer: neighborAddress, interface: ifname, local: '', multihop: false, minTxMs: t.minTxMs, minRxMs: t.minRxMs, multiplier: t.multiplier, ...(t.auth ? { auth: t.auth } : {}) };
}

/**
 * A `bfd-liveness-detection` container as a request's timers and mode, or undefined when
 * absent. `minimum-interval` sets both directions; `minimum-receive-interval` and
 * `transmit-interval minimum-interval` override one each. Without any interval, 1000 ms.
 */
export function bfdTimersOf(v: ConfigValue | undefined): { minTxMs: number; minRxMs: number; multiplier: number; mode: 'automatic' | 'single-hop' | 'multihop'; localAddress?: string; auth?: BfdAuthRequest; minTtl?: number } | undefined {
  if (!isTree(v)) return undefined;
  const both = typeof v['minimum-interval'] === 'number' ? v['minimum-interval'] : 1000;
  const tx = isTree(v['transmit-interval']) && typeof v['transmit-interval']['minimum-interval'] === 'number' ? v['transmit-interval']['minimum-interval'] : both;
  const rx = typeof v['minimum-receive-interval'] === 'number' ? v['minimum-receive-interval'] : both;
  const multiplier = typeof v['multiplier'] === 'number' ? v['multiplier'] : 3;
  const mode = v['session-mode'] === 'single-hop' || v['session-mode'] === 'multihop' ? v['session-mode'] : 'automatic';
  const a = v['authentication'];
  const auth: BfdAuthRequest | undefined = isTree(a) && typeof a['key-chain'] === 'string'
    ? { keyChain: a['key-chain'], algorithm: a['algorithm'] === 'meticulous-keyed-sha-1' ? 'meticulous-keyed-sha-1' : 'keyed-sha-1' }
    : undefined;
  return {
    minTxMs: tx,
    minRxMs: rx,
    multiplier,
    mode,
    ...(typeof v['local-address'] === 'string' ? { localAddress: v['local-address'] } : {}),
    ...(auth ? { auth } : {}),
    ...(typeof v['minimum-ttl'] === 'number' ? { minTtl: v['minimum-ttl'] } : {}),
  };
}

/** `security authentication-key-chains key-chain` of a configuration tree. */
function keyChainsOf(t: ConfigTree): ConfigTree {
  const sec = t['security'];
  const kc = isTree(sec) ? sec['authentication-key-chains'] : undefined;
  const chains = isTree(kc) ? kc['key-chain'] : undefined;
  return isTree(chains) ? chains : {};
}

/** A chain's keys that have a secret, with their start (0 without a start-time). */
function keysOf(chains: ConfigTree, chain: string): { id: number; secret: string; startMs: number }[] {
  const c = chains[chain];
  const keys = isTree(c) && isTree(c['key']) ? c['key'] : {};
  const out: { id: number; secret: string; startMs: number }[] = [];
  for (const [id, k] of Object.entries(keys)) {
    if (!isTree(k) || typeof k['secret'] !== 'string') continue;
    const st = typeof k['start-time'] === 'string' ? startTimeMs(k['start-time']) : 0;
    out.push({ id: Number(id), secret: k['secret'], startMs: st });
  }
  return out;
}

/** The key of a chain in use at `nowMs`: the latest start already past (the lowest id among equals). */
export function activeKey(chains: ConfigTree, chain: string, nowMs: number): { id: number; secret: string } | undefined {
  let best: { id: number; secret: string; startMs: number } | undefined;
  for (const k of keysOf(chains, chain)) {
    if (!(k.startMs <= nowMs)) continue;
    if (!best || k.startMs > best.startMs || (k.startMs === best.startMs && k.id < best.id)) best = k;
  }
  return best && { id: best.id, secret: best.secret };
}

/** The next key start-time after `nowMs` in any chain, if any. */
function nextStartTime(chains: ConfigTree, nowMs: number): number | undefined {
  let next: number | undefined;
  for (const chain of Object.keys(chains)) {
    for (const k of keysOf(chains, chain)) if (k.startMs > nowMs && (next === undefined || k.startMs < next)) next = k.startMs;
  }
  return next;
}

/**
 * Every `bfd-liveness-detection authentication` in the tree (BGP at any level, static routes
 * and their next hops, IS-IS interfaces, in any instance) names a key chain that exists and
 * has a key with a secret, and every secret of a chain fits a SHA-1 key (1 to 20 bytes). Errors
 * name the statement's path; never a secret.
 */
export function validateBfdAuthentication(t: ConfigTree): string[] {
  const chains = keyChainsOf(t);
  const errors: string[] = [];
  for (const [chain, c] of Object.entries(chains)) {
    const keys = isTree(c) && isTree(c['key']) ? c['key'] : {};
    for (const [id, k] of Object.entries(keys)) {
      const secret = isTree(k) ? k['secret'] : undefined;
      const n = typeof secret === 'string' ? Buffer.byteLength(secret) : 0;
      if (typeof secret === 'string' && (n < 1 || n > 20)) errors.push(`security authentication-key-chains key-chain ${chain} key ${id} secret: a BFD keyed SHA-1 key has 1 to 20 bytes (this one ${n})`);
    }
  }
  // one path array, pushed and popped (the walk visits the whole tree on every commit)
  const path: string[] = [];
  const walk = (v: ConfigValue | undefined): void => {
    if (!isTree(v)) return;
    for (const k in v) {
      const child = v[k];
      if (k === 'bfd-liveness-detection' && isTree(child)) {
        const a = child['authentication'];
        if (!isTree(a)) continue;
        const where = [...path, k, 'authentication'].join(' ');
        const chain = a['key-chain'];
        if (typeof chain !== 'string') errors.push(`${where}: key-chain is required (the keys are in security authentication-key-chains)`);
        else if (!isTree(chains[chain])) errors.push(`${where}: key chain ${chain} is not defined (security authentication-key-chains key-chain ${chain})`);
        else if (keysOf(chains, chain).length === 0) errors.push(`${where}: key chain ${chain} has no key with a secret`);
      } else if (k !== 'security' && isTree(child) && !(k === 'interfaces' && (path.length === 0 || (path.length === 2 && path[0] === 'groups')))) {
        // ([interfaces] holds no BFD statement (the schema has it under routing-options and
        // protocols only) and is where the pods are: not walked, at the top or in a group)
        path.push(k);
        walk(child);
        path.pop();
      }
    }
  };
  walk(t);
  return errors;
}
