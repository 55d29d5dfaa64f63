/**
 * cnr's IS-IS (ISO 10589, RFC 1195, RFC 5303/5305/5308, RFC 8667 segment routing). Its
 * parts, in the protocol pattern (docs/design.md; docs/isis.md for behaviour):
 *  - instance.ts: the state (IsisContext) and the entry points (IsisInstance);
 *  - events.ts: one handler per input (PDUs, links, clock, configuration);
 *  - fsm.ts: the adjacency state machines (RFC 5303 three-way, LAN);
 *  - rib.ts: the LSDB of each level; origination.ts: this system's LSPs and purges;
 *  - flooding.ts: the sending side (hellos, SRM/SSN, CSNP/PSNP), and `pump`;
 *  - decision.ts: SPF (spf.ts over spf-lsdb.ts) into the RIB; sr.ts: segment routing labels;
 *  - config.ts, commands.ts, and this file: the configuration consumer driving one instance
 *    over a FramePort (src/controller/link/frame-port.ts) with a real clock.
 * Wire formats are in src/wire/isis.
 */
import type { ConfigConsumer, ConfigTree, OperationalCommand } from '../../types.js';
import type { RibApi } from '../../rib/types.js';
import type { FramePort, ReceivedFrame } from '../../link/frame-port.js';
import { resolveIsis } from './config.js';
import { IsisInstance } from './instance.js';
import { isisCommands } from './commands.js';

export { IsisInstance } from './instance.js';
export { resolveIsis } from './config.js';
export { srLabels, type SrPrefixLabels } from './sr.js';

export interface IsisOptions {
  log?: (msg: string) => void;
  /** the clock (ms); tests may pass their own */
  now?: () => number;
}

export interface Isis {
  consumer: ConfigConsumer;
  commands: OperationalCommand[];
  /** the running instance, when IS-IS is configured */
  instance(): IsisInstance | undefined;
  stop(): Promise<void>;
}

/** IS-IS as a configuration consumer, sending and receiving through `port`. */
export function createIsis(rib: RibApi, port: FramePort, opts: IsisOptions = {}): Isis {
  const log = opts.log ?? (() => {});
  const now = opts.now ?? (() => Date.now());
  let inst: IsisInstance | undefined;
  let timer: NodeJS.Timeout | undefined;
  const listening = new Map<string, () => void>();
  let stopLinks: (() => void) | undefined;
  // routes of other protocols, for the export policy (a RIB without subscribe has none to offer)
  const ribWithEvents = rib as RibApi & {
    subscribe?(
      l: (c: { table: string; route: { protocol: string } | undefined; previous?: string | undefined }) => void,
      wants?: (table: string, protocol: string | undefined, previous: string | undefined) => boolean,
    ): (() => void) & { refilter?(): void };
  };
  // the default VRF's changes of other protocols, or from one to ours, while an export policy
  // may redistribute them (events.ribChanged ignores the rest), asked again after each commit
  // (refilterRib): without one, BGP's millions call nothing here
  const exporting = () => inst !== undefined && inst.cx.cfg.exportPolicies.length > 0;
  const stopRib = typeof ribWithEvents.subscribe === 'function'
    ? ribWithEvents.subscribe((c) => {
        // only then is the route read (a change builds it on reading)
        if (!exporting() || (c.table !== 'inet.0' && c.table !== 'inet6.0')) return;
        inst!.ribChanged(c.table, c.route, now(), c.previous);
        wake();
      }, (table, protocol, previous) => exporting() && (table === 'inet.0' || table === 'inet6.0') && (protocol !== 'isis' || (previous !== undefined && previous !== 'isis')))
    : undefined;
  const refilterRib = () => stopRib?.refilter?.();

  const wake = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (!inst) return;
    const t = now();
    const next = inst.nextDeadline(t);
    timer = setTimeout(() => {
      timer = undefined;
      inst?.tick(now());
      wake();
    }, Math.max(1, next - t));
  };

  // frames a port delivers in one go (a drain of its sockets) are handled as one batch once it
  // is done: one pump, so one PSNP per 80 acknowledgements and one timer reset, not one per frame.
  // The batch closes at setImmediate, after this turn's I/O, not at the next microtask: the
  // vRouter's frame port delivers each frame as a gRPC message event of its own, and a microtask
  // closes a batch after each one (1,000 messages of a grpc-js stream on loopback: 1,000
  // microtask batches, 477 setImmediate ones; more gather while the process is busy)
  const pending: ReceivedFrame[] = [];
  const flush = () => {
    const batch = pending.splice(0);
    inst?.framesReceived(batch, now());
    wake();
  };

  const listen = (names: Iterable<string>) => {
    const want = new Set(names);
    for (const [n, stop] of listening) {
      if (want.has(n)) continue;
      stop();
      listening.delete(n);
    }
    for (const n of want) {
      if (listening.has(n)) continue;
      try {
        listening.set(n, port.listen(n, 'osi', (f) => {
          if (pending.push(f) === 1) setImmediate(flush);
        }));
      } catch (err) {
        // the host refused the socket (no CAP_NET_RAW, ...): said, and the commit stands
        log(`isis: cannot receive on ${n}: ${(err as Error).message}`);
      }
    }
  };

  const stopAll = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    inst?.stop();
    inst = undefined;
    listen([]);
    stopLinks?.();
    stopLinks = undefined;
    refilterRib();
  };

  const consumer: ConfigConsumer = {
    name: 'isis',
    validate: () => [],
    apply: async (next: ConfigTree) => {
      const cfg = resolveIsis(next);
      if (!cfg) {
        stopAll();
        return;
      }
      if (!inst) {
        inst = new IsisInstance(cfg, rib, {
            // a port that throws (socket refused) must not end the timer task that sends hellos
            send: (i, f) => {
              try {
                return port.send(i, f);
              } catch {
                return false;
              }
            },
            macOf: (i) => port.macOf(i),
            log,
            random: Math.random,
          }, now());
        stopLinks = port.onLinkChange((ifname, up) => {
          inst?.linkChanged(ifname, up, now());
          wake();
        });
      } else inst.configure(cfg, now());
      listen([...cfg.interfaces.values()].filter((i) => !i.passive).map((i) => i.name));
      refilterRib();
      wake();
    },
  };
  return {
    consumer,
    commands: isisCommands(() => inst),
    instance: () => inst,
    stop: async () => {
      stopAll();
      stopRib?.();
    },
  };
}
