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
import type { ConfigValue } from '../../types.js';

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

  constructor(
    private readonly transport: BfdTransport,
    private readonly log: (line: string) => void = () => {},
  ) {
    this.unsubscribe = transport.onBfdState((s) => this.reported(s));
  }

  close(): void {
    this.unsubscribe();
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
    const ws = [...s.watches];
    const u: PbBfdSessionUpdate = {
      ...s.key,
      desiredMinTxUs: Math.min(...ws.map((w) => w.req.minTxMs)) * 1000,
      requiredMinRxUs: Math.min(...ws.map((w) => w.req.minRxMs)) * 1000,
      detectMult: Math.min(...ws.map((w) => w.req.multiplier)),
      clients: [...new Set(ws.map((w) => w.client))].sort(),
    };
    const text = JSON.stringify(u);
    if (text === s.sent) return;
    s.sent = text;
    this.transport.setBfdSession(u);
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
  return { peer: neighborAddress, interface: ifname, local: '', multihop: false, minTxMs: t.minTxMs, minRxMs: t.minRxMs, multiplier: t.multiplier };
}

/**
 * A `bfd-liveness-detection` container as a request's timers and mode, or undefined when
 * absent. `minimum-interval` sets both directions; `minimum-receive-interval` and
 * `transmit-interval minimum-interval` override one each. Without any interval, 1000 ms.
 */
export function bfdTimersOf(v: ConfigValue | undefined): { minTxMs: number; minRxMs: number; multiplier: number; mode: 'automatic' | 'single-hop' | 'multihop'; localAddress?: string } | undefined {
  if (!isTree(v)) return undefined;
  const both = typeof v['minimum-interval'] === 'number' ? v['minimum-interval'] : 1000;
  const tx = isTree(v['transmit-interval']) && typeof v['transmit-interval']['minimum-interval'] === 'number' ? v['transmit-interval']['minimum-interval'] : both;
  const rx = typeof v['minimum-receive-interval'] === 'number' ? v['minimum-receive-interval'] : both;
  const multiplier = typeof v['multiplier'] === 'number' ? v['multiplier'] : 3;
  const mode = v['session-mode'] === 'single-hop' || v['session-mode'] === 'multihop' ? v['session-mode'] : 'automatic';
  return { minTxMs: tx, minRxMs: rx, multiplier, mode, ...(typeof v['local-address'] === 'string' ? { localAddress: v['local-address'] } : {}) };
}
