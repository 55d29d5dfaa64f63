/**
 * A BFD instance: the session table and counters (the state, `BfdContext`) and the entry
 * points its host calls — a packet received, time passing, sessions added, removed,
 * disabled or retimed. Each entry point routes its input to a handler in events.ts and
 * returns what the handlers decided (packets to send, state changes, discards).
 *
 * There is no clock and no socket here: the host passes the time (microseconds, its own
 * monotonic clock), calls `tick` by `nextDeadlineUs()`, and sends the packets. So the same
 * code runs under the scenario tests' simulated time, a test transport, and later the
 * vRouter (the periodic transmit and the detection timer belong to the data plane's side,
 * where a busy or restarting controller cannot stop them: issue 17).
 */
import { type BfdControl, encodeBfdControl, signBfdControl } from '../wire/bfd.js';
import * as events from './events.js';
import type { BfdContext, BfdDiscardReason, BfdOutput } from './events.js';
import { type BfdSession, type BfdSessionConfig, type BfdSessionKey, createSession } from './session.js';
import { type BfdPacketMeta, SessionTable } from './session-table.js';

export interface BfdInstanceOptions {
  /** in [0, 1]: where in the 75-100% jitter range each interval falls (default Math.random) */
  readonly random?: () => number;
  /** the first local discriminator handed out (default: random) */
  readonly firstDiscriminator?: number;
  /** drop single-hop packets from source ports outside 49152-65535 (default off: BIRD's are not) */
  readonly checkSourcePort?: boolean;
}

export class BfdInstance {
  private readonly cx: BfdContext;

  constructor(opts: BfdInstanceOptions = {}) {
    const first = opts.firstDiscriminator ?? 1 + Math.floor(Math.random() * 0xfffffffe);
    this.cx = { sessions: new SessionTable(first), discards: new Map(), checkSourcePort: opts.checkSourcePort ?? false, random: opts.random ?? Math.random, out: [] };
  }

  /** A new session, Down (or AdminDown), sending its first packet at once. */
  addSession(key: BfdSessionKey, config: BfdSessionConfig, nowUs: number): BfdSession {
    checkConfig(config);
    const s = createSession(key, config, this.cx.sessions.allocateDiscriminator(), nowUs);
    this.cx.sessions.add(s);
    return s;
  }

  removeSession(key: BfdSessionKey): BfdSession | undefined {
    return this.cx.sessions.remove(key);
  }

  session(key: BfdSessionKey): BfdSession | undefined {
    return this.cx.sessions.get(key);
  }

  sessions(): IterableIterator<BfdSession> {
    return this.cx.sessions.all();
  }

  /** Received packets dropped, by reason. */
  discards(): ReadonlyMap<BfdDiscardReason, number> {
    return this.cx.discards;
  }

  /** A UDP payload received on port 3784 or 4784, with what the transport saw around it. */
  receive(bytes: Uint8Array, meta: BfdPacketMeta, nowUs: number): BfdOutput[] {
    events.packetReceived(this.cx, bytes, meta, nowUs);
    return this.drain();
  }

  /** Fire every timer due at `nowUs`: detection first (a silent peer is down before we speak), then transmit. */
  tick(nowUs: number): BfdOutput[] {
    for (const s of this.cx.sessions.all()) {
      if (s.detectAtUs !== undefined && s.detectAtUs <= nowUs) events.detectionTimerExpired(this.cx, s, nowUs);
      if (s.nextTxUs !== undefined && s.nextTxUs <= nowUs) events.txTimerExpired(this.cx, s, nowUs);
    }
    return this.drain();
  }

  /** When `tick` next has something to do. */
  nextDeadlineUs(): number | undefined {
    let next: number | undefined;
    for (const s of this.cx.sessions.all()) {
      for (const t of [s.detectAtUs, s.nextTxUs]) if (t !== undefined && (next === undefined || t < next)) next = t;
    }
    return next;
  }

  setAdminDown(key: BfdSessionKey, down: boolean, nowUs: number): BfdOutput[] {
    const s = this.need(key);
    if (down) events.adminDown(this.cx, s, nowUs);
    else events.adminUp(this.cx, s, nowUs);
    return this.drain();
  }

  /** New intervals or multiplier for a session (a poll sequence when it is Up). */
  changeTimers(key: BfdSessionKey, change: Pick<BfdSessionConfig, 'desiredMinTxUs' | 'requiredMinRxUs' | 'detectMult'>, nowUs: number): BfdOutput[] {
    const s = this.need(key);
    const config = { ...s.config, ...change };
    checkConfig(config);
    events.timersChanged(this.cx, s, config, nowUs);
    return this.drain();
  }

  /**
   * New checks on received packets for a session: its authentication (section 6.7: a new key,
   * algorithm or none, used from its next packet; the peer's sequence number is learnt again,
   * bfd.AuthSeqKnown = 0, as after a silent period) and its multihop minimum TTL.
   */
  changeChecks(key: BfdSessionKey, change: Pick<BfdSessionConfig, 'auth' | 'minTtl'>): void {
    const s = this.need(key);
    const { auth: oldAuth, minTtl: _oldTtl, ...rest } = s.config;
    const config: BfdSessionConfig = { ...rest, ...(change.auth ? { auth: change.auth } : {}), ...(change.minTtl !== undefined ? { minTtl: change.minTtl } : {}) };
    checkConfig(config);
    s.config = config;
    if (oldAuth !== change.auth) s.rcvAuthSeq = undefined;
  }

  private need(key: BfdSessionKey): BfdSession {
    const s = this.cx.sessions.get(key);
    if (!s) throw new Error(`bfd: no session ${JSON.stringify(key)}`);
    return s;
  }

  private drain(): BfdOutput[] {
    return this.cx.out.splice(0);
  }
}

function checkConfig(c: BfdSessionConfig): void {
  if (!Number.isInteger(c.detectMult) || c.detectMult < 1 || c.detectMult > 255) throw new RangeError(`bfd: multiplier ${c.detectMult} outside 1..255`);
  for (const [name, v] of [['minimum transmit interval', c.desiredMinTxUs], ['minimum receive interval', c.requiredMinRxUs]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`bfd: ${name} ${v} us outside 0..2^32-1`);
  }
  // section 6.8.1: bfd.DesiredMinTxInterval is never 0
  if (c.desiredMinTxUs === 0) throw new RangeError('bfd: minimum transmit interval 0');
  if (c.minTtl !== undefined && (!Number.isInteger(c.minTtl) || c.minTtl < 1 || c.minTtl > 255)) throw new RangeError(`bfd: minimum TTL ${c.minTtl} outside 1..255`);
  if (c.auth && c.auth.key.length > 20) throw new RangeError(`bfd: SHA1 key of ${c.auth.key.length} bytes above 20`);
}

/**
 * The bytes of a packet a session sends: encoded into `buf` at `off`, signed with the
 * session's key when it authenticates. Returns the end offset.
 */
export function encodeSessionPacket(s: BfdSession, packet: BfdControl, buf: Uint8Array, off = 0): number {
  const end = encodeBfdControl(packet, buf, off);
  if (s.config.auth) signBfdControl(buf.subarray(off, end), s.config.auth.key);
  return end;
}
