/**
 * Prometheus exposition on 127.0.0.1:8070 (DESIGN.md's metrics port). Figures are read at
 * scrape time from their owners — the data plane's counters, the RIB's summary, the FIB
 * export's status — so nothing on a hot path pays for metrics.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import type { Dataplane } from '../dataplane/api.js';

/** What the metrics read of the data plane. */
export type DataplaneCounters = Pick<Dataplane, 'dropStats' | 'stats' | 'listVifs'>;

export interface MetricSources {
  /** the data plane, or (a vRouter in a worker thread: cmd/vrouter-thread.ts) a snapshot of its counters fetched per scrape */
  dataplane?: DataplaneCounters | (() => Promise<DataplaneCounters>);
  /** tables with their route counts (the RIB's summary) */
  ribSummary?: () => { name: string; routes: number; active: number }[];
  /** the FIB export's status */
  fibStatus?: () => { connected: boolean; synced: boolean; routesAcked: number; nacks: number };
  /** the BFD sessions the vRouter runs, with their counters (proto ListBfdSessionsReply) */
  bfd?: () => Promise<BfdSnapshot>;
}

/** The part of a ListBfdSessionsReply the metrics read. */
export interface BfdSnapshot {
  sessions: { peer: string; local: string; resolvedLocal: string; multihop: boolean; state: string; flaps: number; upTransitions: number; rxPackets: number; txPackets: number; discarded: number }[];
  discards: { reason: string; count: number }[];
}

export function buildRegistry(src: MetricSources): Registry {
  const reg = new Registry();
  const source = src.dataplane;
  if (source) {
    const read = typeof source === 'function' ? source : async () => source;
    new Counter({
      name: 'cnr_vrouter_drops_total',
      help: 'Packets dropped by the vRouter, by reason',
      labelNames: ['reason'],
      registers: [reg],
      async collect() {
        const dp = await read();
        this.reset();
        for (const [reason, n] of Object.entries(dp.dropStats())) if (reason !== 'total') this.inc({ reason }, n);
      },
    });
    const perVif = (name: string, help: string, field: 'rxPackets' | 'rxBytes' | 'txPackets' | 'txBytes') =>
      new Counter({
        name,
        help,
        labelNames: ['vif'],
        registers: [reg],
        async collect() {
          const dp = await read();
          this.reset();
          for (const [vif, c] of Object.entries(dp.stats().vifs)) this.inc({ vif }, c[field]);
        },
      });
    perVif('cnr_vif_rx_packets_total', 'Packets received per vRouter interface', 'rxPackets');
    perVif('cnr_vif_rx_bytes_total', 'Bytes received per vRouter interface', 'rxBytes');
    perVif('cnr_vif_tx_packets_total', 'Packets sent per vRouter interface', 'txPackets');
    perVif('cnr_vif_tx_bytes_total', 'Bytes sent per vRouter interface', 'txBytes');
    new Counter({
      name: 'cnr_vif_io_total',
      help: 'Driver I/O counters per vRouter interface: kernelDrops (receive ring overflow), rxTooBig, rxNoBuffer, gsoUnsupported, invalidDescs, txRingFull, gsoFrames, gsoSegments, csumCompleted, poolEmpty, fillRingEmpty, txRingEmpty, txGsoFrames, txGsoSegments, carried, carriedSegments, txCarried, txCarriedSegments (TCP super-frames carried through the graph whole, and their segments)',
      labelNames: ['vif', 'counter'],
      registers: [reg],
      async collect() {
        const dp = await read();
        this.reset();
        for (const v of dp.listVifs()) for (const [counter, n] of Object.entries(v.io ?? {})) this.inc({ vif: v.name, counter }, n);
      },
    });
  }
  const rib = src.ribSummary;
  if (rib) {
    new Gauge({
      name: 'cnr_rib_routes',
      help: 'Routes per RIB table (state=all|active)',
      labelNames: ['table', 'state'],
      registers: [reg],
      collect() {
        this.reset();
        for (const t of rib()) {
          this.set({ table: t.name, state: 'all' }, t.routes);
          this.set({ table: t.name, state: 'active' }, t.active);
        }
      },
    });
  }
  const fib = src.fibStatus;
  if (fib) {
    new Gauge({
      name: 'cnr_fib_export_synced',
      help: '1 when the controller and the agent agree on the FIB',
      registers: [reg],
      collect() {
        this.set(fib().synced ? 1 : 0);
      },
    });
    new Counter({
      name: 'cnr_fib_export_routes_acked_total',
      help: 'Routes the agent acknowledged',
      registers: [reg],
      collect() {
        this.reset();
        this.inc(fib().routesAcked);
      },
    });
  }
  if (src.bfd) bfdMetrics(reg, src.bfd);
  return reg;
}

/** BFD: per session its state, packets, transitions; received packets dropped by reason. One read of the vRouter per scrape. */
function bfdMetrics(reg: Registry, read: () => Promise<BfdSnapshot>): void {
  let cached: { at: number; p: Promise<BfdSnapshot> } | undefined;
  const snapshot = () => {
    const now = Date.now();
    if (!cached || now - cached.at > 500) cached = { at: now, p: read().catch((): BfdSnapshot => ({ sessions: [], discards: [] })) };
    return cached.p;
  };
  const labels = (s: BfdSnapshot['sessions'][number]) => ({ peer: s.peer, local: s.resolvedLocal || s.local, hop: s.multihop ? 'multihop' : 'single-hop' });
  new Gauge({
    name: 'cnr_bfd_session_up',
    help: 'BFD session state: 1 Up, 0 otherwise',
    labelNames: ['peer', 'local', 'hop'],
    registers: [reg],
    async collect() {
      this.reset();
      for (const s of (await snapshot()).sessions) this.set(labels(s), s.state === 'Up' ? 1 : 0);
    },
  });
  new Counter({
    name: 'cnr_bfd_session_transitions_total',
    help: 'BFD session transitions into Up (to=up) and out of Up (to=down, the flaps)',
    labelNames: ['peer', 'local', 'hop', 'to'],
    registers: [reg],
    async collect() {
      this.reset();
      for (const s of (await snapshot()).sessions) {
        this.inc({ ...labels(s), to: 'up' }, s.upTransitions);
        this.inc({ ...labels(s), to: 'down' }, s.flaps);
      }
    },
  });
  new Counter({
    name: 'cnr_bfd_session_packets_total',
    help: 'BFD control packets per session: sent (tx), received and accepted (rx), received and dropped (dropped)',
    labelNames: ['peer', 'local', 'hop', 'direction'],
    registers: [reg],
    async collect() {
      this.reset();
      for (const s of (await snapshot()).sessions) {
        this.inc({ ...labels(s), direction: 'tx' }, s.txPackets);
        this.inc({ ...labels(s), direction: 'rx' }, s.rxPackets);
        this.inc({ ...labels(s), direction: 'dropped' }, s.discarded);
      }
    },
  });
  new Counter({
    name: 'cnr_bfd_discards_total',
    help: 'Received BFD packets dropped, by reason (bad_version, bad_length, detect_mult_zero, bad_ttl, no_session, ...)',
    labelNames: ['reason'],
    registers: [reg],
    async collect() {
      this.reset();
      for (const d of (await snapshot()).discards) this.inc({ reason: d.reason }, d.count);
    },
  });
}

export async function startMetrics(reg: Registry, host = '127.0.0.1', port = 8070): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; try /metrics\n');
      return;
    }
    reg
      .metrics()
      .then((body) => res.writeHead(200, { 'content-type': reg.contentType }).end(body))
      .catch((err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(err)}\n`));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
