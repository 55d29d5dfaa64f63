/**
 * One IS-IS instance: its state (IsisContext: configuration, circuits and their adjacencies,
 * the LSDB of each level, flooding flags, SPF results, counters) and the entry points other
 * code calls (IsisInstance: a frame received, a link change, the clock, a new configuration,
 * what show commands read). An entry point routes its input to events.ts and then lets the
 * sending side (flooding.ts) put out what became due; it decides nothing itself. There is no
 * timer or socket inside: `tick(now)` is the clock and `send` the way out, so scenarios drive
 * an instance with made-up time and frames (test/scenarios/isis/).
 */
import type { Level, LspId, SystemId } from '../../../wire/isis/index.js';
import type { Mac } from '../../../lib/addr.js';
import type { RibApi, RibRoute } from '../../rib/types.js';
import type { IsisConfig, IsisInterfaceConfig } from './config.js';
import { Lsdb } from './rib.js';
import type { SpfResult } from './spf.js';
import * as events from './events.js';
import { pump, nextDeadline } from './flooding.js';
import { srLabels, type SrPrefixLabels, type SrState } from './sr.js';
import type { PolicyEngine } from '../../policy/index.js';
import type { ConfigTree } from '../../types.js';

export type AdjacencyState = 'down' | 'initializing' | 'up';

export interface Adjacency {
  readonly systemId: SystemId;
  readonly circuit: Circuit;
  state: AdjacencyState;
  /** the levels the adjacency serves (p2p: both sides' common levels; LAN: the hello's level) */
  levels: Level[];
  holdingTime: number;
  expiresAt: number;
  mac: Mac;
  /** the neighbour's interface addresses from its hellos: IPv4 (TLV 132), IPv6 link-local (TLV 232) */
  ipv4: string[];
  ipv6: string[];
  areas: string[];
  /** RFC 5303: the neighbour's extended local circuit ID */
  neighborCircuitId?: number;
  /** LAN: priority and the LAN ID the neighbour announces */
  priority: number;
  lanId?: string;
  upSince?: number;
  lastChange: number;
  /** Adj-SID label (from the SRLB) when segment routing is on */
  adjSid?: number;
  /** the IPv6 Adj-SID (RFC 8667 F flag), when the neighbour gave an IPv6 address (TLV 232) as it came up */
  adjSid6?: number;
}

/** Per circuit and level: what is to be flooded (SRM), acknowledged or requested (SSN). */
export interface LevelFlags {
  /** LSP key -> when it was last sent on this circuit (SEND_NOW: not yet) */
  readonly srm: Map<string, number>;
  /** when the first SRM flag is due (-Infinity: one is to be sent now) */
  srmDue: number;
  /** LSP key -> its ID (for entries we do not hold: a request with sequence 0) */
  readonly ssn: Map<string, LspId>;
}

export interface Circuit {
  readonly name: string;
  cfg: IsisInterfaceConfig;
  /** 1..255, the one-byte local circuit ID of hellos and the pseudonode number on a LAN */
  readonly localId: number;
  /** RFC 5303 extended local circuit ID (the interface's number in this instance) */
  readonly extendedId: number;
  up: boolean;
  mac?: Mac;
  helloDue: number;
  csnpDue: number;
  /** p2p: the one adjacency; LAN: adjacencies by system ID (per level in `levels` of each) */
  p2p?: Adjacency;
  readonly lan: Map<string, Adjacency>;
  /** LAN: the DIS per level (LAN ID text "sysid.pn"), and whether it is this system */
  readonly dis: Map<Level, string>;
  readonly flags: Map<Level, LevelFlags>;
}

export interface SpfLogEntry {
  readonly at: number;
  readonly level: Level;
  readonly durationMs: number;
  readonly nodes: number;
  readonly routes: number;
  readonly reason: string;
  /** only prefixes changed: the previous run's vertex routes were kept (no Dijkstra) */
  readonly partial: boolean;
}

export interface IsisStats {
  /** received PDUs by kind */
  readonly rx: Map<string, number>;
  readonly tx: Map<string, number>;
  /** dropped PDUs by reason ("malformed: ...", "bad_authentication", ...) */
  readonly drops: Map<string, number>;
  lspsOriginated: number;
  spfRuns: number;
}

export interface IsisOutput {
  send(ifname: string, frame: Uint8Array): boolean;
  macOf(ifname: string): Mac | undefined;
  log(msg: string): void;
  /** [0, 1): hello jitter (a scenario fixes it) */
  random(): number;
}

export interface IsisContext {
  cfg: IsisConfig;
  readonly rib: RibApi;
  readonly out: IsisOutput;
  readonly circuits: Map<string, Circuit>;
  readonly lsdb: Map<Level, Lsdb>;
  /** own LSP fragments' TLV content last originated, per level (to bump only on change) */
  readonly ownContent: Map<Level, Map<string, string>>;
  /** own LSPs to regenerate at the next pump (and why) */
  originateDue?: number;
  /** next refresh of own LSPs */
  refreshDue: number;
  /** SPF pending per level: when it should run */
  readonly spfDue: Map<Level, number>;
  readonly spfReason: Map<Level, string>;
  /** per level, since when the pending (or last) SPF run waited, how many changes it gathered, and how many the run before it did (origination.ts SPF_FLOOD_CHANGES) */
  readonly spfWaiting: Map<Level, { readonly since: number; changes: number; readonly previous: number }>;
  /** per level, the earliest time the next SPF may run (origination.ts SPF_HOLD_FACTOR) */
  readonly spfHold: Map<Level, number>;
  readonly spf: Map<Level, SpfResult>;
  /** the topology (edges, overload bits) each level's last SPF ran over */
  readonly spfTopology: Map<Level, number>;
  /** routes announced to the RIB per table and source (`inet.0|isis-l2`): what each was, to announce again only what changed and to withdraw what went away */
  readonly announcedText: Map<string, Map<string, RibRoute>>;
  /** tables the RIB refused (logged once) */
  readonly refusedTables: Set<string>;
  readonly spfLog: SpfLogEntry[];
  readonly stats: IsisStats;
  sr?: SrState;
  /** the export chain's engine, compiled from `policyFor` */
  policy?: PolicyEngine;
  policyFor?: ConfigTree;
  nextCircuitId: number;
  /** when LSP lifetimes were last checked */
  lastAgeScan: number;
  now: number;
}

export const SPF_DELAY_MS = 50;

export class IsisInstance {
  readonly cx: IsisContext;

  constructor(cfg: IsisConfig, rib: RibApi, out: IsisOutput, now: number) {
    this.cx = {
      cfg,
      rib,
      out,
      circuits: new Map(),
      lsdb: new Map([
        [1, new Lsdb(1)],
        [2, new Lsdb(2)],
      ]),
      ownContent: new Map([
        [1, new Map()],
        [2, new Map()],
      ]),
      refreshDue: now,
      spfDue: new Map(),
      spfReason: new Map(),
      spfWaiting: new Map(),
      spfHold: new Map(),
      spf: new Map(),
      spfTopology: new Map(),
      announcedText: new Map(),
      refusedTables: new Set(),
      spfLog: [],
      stats: { rx: new Map(), tx: new Map(), drops: new Map(), lspsOriginated: 0, spfRuns: 0 },
      nextCircuitId: 1,
      lastAgeScan: 0,
      now,
    };
    events.configChanged(this.cx, cfg, now);
    pump(this.cx, now);
  }

  /**
   * Runs one input to completion. An exception here is a bug, never bad input (malformed PDUs
   * are counted by reason): it is counted as an `internal:` drop and the instance keeps
   * running, as a router must, instead of taking the controller down from a timer task.
   */
  private guarded(now: number, fn: () => void): void {
    this.cx.now = now;
    if (this.attempt(fn)) this.attempt(() => pump(this.cx, now));
  }

  /** Runs `fn`; an exception is counted and logged (see guarded), and false returned. */
  private attempt(fn: () => void): boolean {
    try {
      fn();
      return true;
    } catch (err) {
      events.count(this.cx.stats.drops, `internal: ${(err as Error).message}`);
      this.cx.out.log(`isis: internal error: ${(err as Error).stack ?? String(err)}`);
      return false;
    }
  }

  /** A frame arrived on `ifname` (whole Ethernet frame). Never throws: bad input is counted. */
  frameReceived(ifname: string, frame: Uint8Array, now: number): void {
    this.guarded(now, () => events.frameReceived(this.cx, ifname, frame, now));
  }

  /**
   * Frames that arrived together (one read of the port): each handled as frameReceived does,
   * then one pump for all of them, so that their acknowledgements share PSNPs (up to 80
   * entries each; ISO 10589 lets PSNPs wait) instead of one PSNP, one encoding and one send per
   * LSP — a 10k-LSP flood put out 10k PSNPs. A frame that hits a bug is counted and the others
   * still go through.
   */
  framesReceived(frames: readonly { readonly ifname: string; readonly frame: Uint8Array }[], now: number): void {
    this.cx.now = now;
    for (const f of frames) this.attempt(() => events.frameReceived(this.cx, f.ifname, f.frame, now));
    this.attempt(() => pump(this.cx, now));
  }

  linkChanged(ifname: string, up: boolean, now: number): void {
    this.guarded(now, () => events.linkChanged(this.cx, ifname, up, now));
  }

  configure(cfg: IsisConfig, now: number): void {
    this.guarded(now, () => events.configChanged(this.cx, cfg, now));
  }

  /** Another protocol's route changed in the RIB (or ours took over from one: `previous`): the export policy may take it in or out. */
  ribChanged(table: string, route: { protocol: string } | undefined, now: number, previous?: string): void {
    this.guarded(now, () => events.ribChanged(this.cx, table, route, now, previous));
  }

  /** The clock: expire adjacencies and LSPs, send what is due, run SPF when due. */
  tick(now: number): void {
    this.guarded(now, () => events.timersExpired(this.cx, now));
  }

  /** When tick should be called next (ms). */
  nextDeadline(now: number): number {
    return nextDeadline(this.cx, now);
  }

  /**
   * The segment-routing labels of every level's last SPF run: per prefix with a Prefix-SID,
   * the in-label and the out-label per next hop from that next hop's SRGB (sr.ts). What the
   * RIB receives from them is in docs/isis.md.
   */
  srLabels(now = this.cx.now): SrPrefixLabels[] {
    const out: SrPrefixLabels[] = [];
    for (const [level, spf] of this.cx.spf) out.push(...srLabels(this.cx, level, spf, now));
    return out;
  }

  /** Withdraw every route and send nothing more. */
  stop(): void {
    events.shutdown(this.cx);
  }
}
