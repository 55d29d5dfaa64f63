/**
 * BFD scenarios: cnr's real BFD instance (src/bfd) with simulated peers and a simulated
 * clock around it. The harness only plays the peers (packets from the scenario's events,
 * encoded by the wire codec) and moves time in 1 ms steps; the state after a step is
 * plain JSON: the packets cnr sent (decoded), its state changes, each session's state and
 * the discard counters. Event and output format: test/scenarios/README.md.
 */
import { BfdInstance, type BfdOutput, type BfdSessionConfig, type BfdSessionKey, detectionTimeUs, sessionKeyText, txIntervalUs } from '../../src/bfd/index.js';
import {
  BFD_PORT_MULTIHOP,
  BFD_PORT_SINGLE_HOP,
  BFD_STATES,
  type BfdControl,
  type BfdState,
  bfdDiagName,
  decodeBfdControl,
  encodeBfdControl,
} from '../../src/wire/bfd.js';
import { WireError } from '../../src/wire/errors.js';
import { hex } from '../support/wire.js';
import type { ScenarioEvent } from './runner.js';

/** config.json: the sessions cnr runs. Intervals in milliseconds, as Junos configures them. */
export interface BfdScenarioConfig {
  /** drop single-hop packets from source ports outside 49152-65535 (BfdInstanceOptions.checkSourcePort) */
  readonly 'check-source-port'?: boolean;
  readonly sessions: readonly {
    readonly peer: string;
    readonly local: string;
    /** single-hop sessions; multihop ones have none */
    readonly interface?: string;
    readonly 'transmit-interval': number;
    readonly 'receive-interval': number;
    readonly multiplier: number;
    readonly 'control-plane-independent'?: boolean;
    readonly 'admin-down'?: boolean;
  }[];
}

/** cnr's first local discriminator: the first session is 1, the next 2. */
const FIRST_DISCRIMINATOR = 1;

/** Fields an event may carry; anything else is a typo and refused. */
const FIELDS: Record<string, readonly string[]> = {
  packet: ['peer', 'state', 'diag', 'poll', 'final', 'cpi', 'multiplier', 'my-discriminator', 'your-discriminator', 'transmit-interval', 'receive-interval', 'ttl', 'source-port', 'repeat-every'],
  'packet-raw': ['peer', 'hex', 'ttl', 'source-port', 'comment-bytes'],
  'time-passes': ['ms'],
  'admin-down': ['peer'],
  'admin-up': ['peer'],
  timers: ['peer', 'transmit-interval', 'receive-interval', 'multiplier'],
};

interface SentRun {
  packet: Record<string, unknown>;
  at: number[];
}

export class BfdScenario {
  private readonly bfd: BfdInstance;
  private readonly keys = new Map<string, BfdSessionKey>();
  private nowUs = 0;
  private sent = new Map<string, SentRun[]>();
  private log: string[] = [];
  /** a peer that keeps sending: its packet (P and F cleared after the first) and period */
  private readonly repeating = new Map<string, { packet: BfdControl; everyUs: number; nextUs: number }>();

  constructor(config: BfdScenarioConfig) {
    this.bfd = new BfdInstance({ random: () => 1, firstDiscriminator: FIRST_DISCRIMINATOR, checkSourcePort: config['check-source-port'] });
    for (const c of config.sessions) {
      const key: BfdSessionKey = c.interface ? { kind: 'single-hop', ifname: c.interface, peer: c.peer, local: c.local } : { kind: 'multihop', peer: c.peer, local: c.local };
      const sc: BfdSessionConfig = {
        desiredMinTxUs: c['transmit-interval'] * 1000,
        requiredMinRxUs: c['receive-interval'] * 1000,
        detectMult: c.multiplier,
        controlPlaneIndependent: c['control-plane-independent'] ?? false,
        adminDown: c['admin-down'],
      };
      this.bfd.addSession(key, sc, 0);
      this.keys.set(c.peer, key);
    }
    this.collect(this.bfd.tick(0));
  }

  run(e: ScenarioEvent): void {
    const allowed = FIELDS[e.event];
    if (!allowed) throw new Error(`unknown event ${e.event}`);
    for (const f of Object.keys(e)) if (f !== 'event' && f !== 'comment' && !allowed.includes(f)) throw new Error(`event ${e.event}: unknown field ${f}`);
    switch (e.event) {
      case 'packet': {
        const peer = String(e['peer']);
        const p = this.peerPacket(peer, e);
        this.deliver(peer, encode(p), e);
        const every = e['repeat-every'];
        if (typeof every === 'number') this.repeating.set(peer, { packet: { ...p, poll: false, final: false }, everyUs: every * 1000, nextUs: this.nowUs + every * 1000 });
        else this.repeating.delete(peer);
        return;
      }
      case 'packet-raw':
        this.deliver(String(e['peer']), hex(String(e['hex'])), e);
        return;
      case 'time-passes': {
        const end = this.nowUs + Number(e['ms']) * 1000;
        while (this.nowUs < end) {
          this.nowUs += 1000;
          this.collect(this.bfd.tick(this.nowUs));
          for (const [peer, r] of this.repeating) {
            if (r.nextUs > this.nowUs) continue;
            r.nextUs += r.everyUs;
            // the peer keeps addressing cnr by the discriminator it has learned
            const s = this.session(peer);
            this.deliver(peer, encode({ ...r.packet, yourDiscriminator: r.packet.state === 'Down' || r.packet.state === 'AdminDown' ? r.packet.yourDiscriminator : s.localDiscr }), {});
          }
        }
        return;
      }
      case 'admin-down':
      case 'admin-up':
        this.collect(this.bfd.setAdminDown(this.key(String(e['peer'])), e.event === 'admin-down', this.nowUs));
        return;
      case 'timers': {
        const s = this.session(String(e['peer']));
        this.collect(
          this.bfd.changeTimers(
            s.key,
            {
              desiredMinTxUs: e['transmit-interval'] === undefined ? s.config.desiredMinTxUs : Number(e['transmit-interval']) * 1000,
              requiredMinRxUs: e['receive-interval'] === undefined ? s.config.requiredMinRxUs : Number(e['receive-interval']) * 1000,
              detectMult: e['multiplier'] === undefined ? s.config.detectMult : Number(e['multiplier']),
            },
            this.nowUs,
          ),
        );
        return;
      }
    }
  }

  /** The state after a step, then a fresh step begins. */
  snapshot(): Record<string, unknown> {
    const sent: Record<string, unknown[]> = {};
    for (const [peer, runs] of this.sent) sent[peer] = runs.map((r) => ({ ...r.packet, 'at-ms': r.at.length === 1 ? r.at[0] : r.at }));
    const sessions: Record<string, unknown> = {};
    for (const [peer, key] of this.keys) {
      const s = this.bfd.session(key)!;
      sessions[peer] = {
        state: s.state,
        'local-diag': `${s.localDiag} ${bfdDiagName(s.localDiag)}`,
        'remote-state': s.remoteState,
        'remote-discriminator': s.remoteDiscr,
        'transmit-interval-ms': txIntervalUs(s) / 1000,
        'detection-time-ms': detectionTimeUs(s) / 1000,
        polling: s.polling,
        counters: { ...s.counters },
      };
    }
    const out = { sent, log: this.log, sessions, discards: Object.fromEntries([...this.bfd.discards()].sort()) };
    this.sent = new Map();
    this.log = [];
    return out;
  }

  private key(peer: string): BfdSessionKey {
    const k = this.keys.get(peer);
    if (!k) throw new Error(`no session with peer ${peer} in config.json`);
    return k;
  }

  private session(peer: string) {
    return this.bfd.session(this.key(peer))!;
  }

  /** A peer's packet from an event's fields; defaults are a well-behaved peer's. */
  private peerPacket(peer: string, e: ScenarioEvent): BfdControl {
    const state = String(e['state'] ?? 'Up') as BfdState;
    if (!BFD_STATES.includes(state)) throw new Error(`packet: state ${state} is none of ${BFD_STATES.join(', ')}`);
    const s = this.session(peer);
    return {
      diag: Number(e['diag'] ?? 0),
      state,
      poll: e['poll'] === true,
      final: e['final'] === true,
      controlPlaneIndependent: e['cpi'] === true,
      demand: false,
      detectMult: Number(e['multiplier'] ?? 3),
      myDiscriminator: Number(e['my-discriminator'] ?? 0x100),
      // a peer in Down does not know cnr yet (section 6.8.6), one in Init or Up does
      yourDiscriminator: Number(e['your-discriminator'] ?? (state === 'Down' || state === 'AdminDown' ? 0 : s.localDiscr)),
      desiredMinTxUs: Number(e['transmit-interval'] ?? 100) * 1000,
      requiredMinRxUs: Number(e['receive-interval'] ?? 100) * 1000,
      requiredMinEchoRxUs: 0,
    };
  }

  private deliver(peer: string, bytes: Uint8Array, e: ScenarioEvent | Record<string, never>): void {
    const key = this.key(peer);
    const ev = e as Record<string, unknown>;
    this.collect(
      this.bfd.receive(
        bytes,
        {
          ifname: key.kind === 'single-hop' ? key.ifname : 'lo',
          srcAddress: peer,
          dstAddress: key.local,
          srcPort: Number(ev['source-port'] ?? 49152),
          dstPort: key.kind === 'single-hop' ? BFD_PORT_SINGLE_HOP : BFD_PORT_MULTIHOP,
          ttl: Number(ev['ttl'] ?? 255),
        },
        this.nowUs,
      ),
    );
  }

  private collect(outs: BfdOutput[]): void {
    const ms = this.nowUs / 1000;
    for (const o of outs) {
      if (o.kind === 'state-change') {
        this.log.push(`${ms} ms: ${sessionKeyText(o.key)}: ${o.from} -> ${o.to} (diag ${o.diag} ${bfdDiagName(o.diag)}): ${o.cause}`);
      } else if (o.kind === 'send') {
        // what went on the wire, read back by the decoder
        const buf = new Uint8Array(64);
        const d = decodeBfdControl(buf.subarray(0, encodeBfdControl(o.packet, buf)));
        if (d instanceof WireError) throw new Error(`cnr sent a packet its own decoder refuses: ${d}`);
        const shown = show(d);
        const runs = this.sent.get(o.key.peer) ?? [];
        const last = runs[runs.length - 1];
        if (last && JSON.stringify(last.packet) === JSON.stringify(shown)) last.at.push(ms);
        else runs.push({ packet: shown, at: [ms] });
        this.sent.set(o.key.peer, runs);
      }
    }
  }
}

function encode(p: BfdControl): Uint8Array {
  const buf = new Uint8Array(64);
  return buf.subarray(0, encodeBfdControl(p, buf));
}

/** A packet as one line of JSON: the fields a reader checks against the RFC. */
function show(p: BfdControl): Record<string, unknown> {
  const flags = (p.poll ? 'P' : '') + (p.final ? 'F' : '') + (p.controlPlaneIndependent ? 'C' : '') + (p.demand ? 'D' : '');
  return {
    state: p.state,
    diag: p.diag,
    flags,
    mult: p.detectMult,
    my: p.myDiscriminator,
    your: p.yourDiscriminator,
    'tx-ms': p.desiredMinTxUs / 1000,
    'rx-ms': p.requiredMinRxUs / 1000,
  };
}
