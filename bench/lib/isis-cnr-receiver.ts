/**
 * cnr as the IS-IS benchmark's receiver (bench/isis.bench.ts), as a process of its own run
 * inside the receiver's namespace: the controller's IS-IS (createIsis) over cnr's kernel
 * FramePort (an AF_PACKET socket, what `cnr controller` uses without a vRouter) feeding a real
 * RIB, configured from Junos set lines like the interop tests (test/interop/isis-frr.test.ts).
 * A process of its own so that its CPU and peak RSS are its own, like isisd's.
 *
 * It keeps its own count of active IS-IS routes in inet.0 from the RIB's change stream (so a
 * poll costs nothing but a line), and answers each "count" line on stdin with a JSON line:
 * {"count":N,"spf":[{at,durationMs,nodes,routes,partial}...],"stats":{lsdb,spfRuns,drops,rx},"mem":{...}}
 * (the instance's SPF log and counters, process.memoryUsage()).
 * Arguments: --ifname IF --addr A.B.C.D/PLEN --system-id SYSID [--rcvbuf BYTES] [--small-young-generation]
 * (the last as `cnr controller --small-young-generation` does: src/lib/young-generation.ts).
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { KernelFramePort } from '../../src/controller/link/kernel-frame-port.js';
import { createIsis } from '../../src/controller/protocols/isis/index.js';
import { Rib } from '../../src/controller/rib/rib.js';
import { parseConfig } from '../../src/controller/config/notation.js';
import { setIntOption } from '../../src/sys/libc.js';
import { SO_RCVBUFFORCE, SOL_SOCKET } from '../../src/sys/constants.js';
import { keepYoungGenerationSmall } from '../../src/lib/young-generation.js';

const { values: a } = parseArgs({ options: { ifname: { type: 'string' }, addr: { type: 'string' }, 'system-id': { type: 'string' }, rcvbuf: { type: 'string' }, 'small-young-generation': { type: 'boolean' } } });
if (!a.ifname || !a.addr || !a['system-id']) throw new Error('usage: isis-cnr-receiver --ifname IF --addr A.B.C.D/PLEN --system-id SYSID');

const rib = new Rib();
const active = new Set<unknown>();
rib.subscribe((c) => {
  if (c.table !== 'inet.0') return;
  if (c.protocol === 'isis') active.add(c.key);
  else active.delete(c.key);
});
const port = new KernelFramePort();
const isis = createIsis(rib, port, { log: (m) => process.stderr.write(`${m}\n`) });
const cfg = parseConfig(
  [
    'set system host-name cnr-bench',
    `set interfaces lo0 unit 0 family iso address 49.0001.${a['system-id']}.00`,
    `set interfaces ${a.ifname} unit 0 family inet address ${a.addr}`,
    `set interfaces ${a.ifname} unit 0 family iso`,
    `set protocols isis interface ${a.ifname} point-to-point`,
    `set protocols isis interface ${a.ifname} hello-interval 1`,
    `set protocols isis interface ${a.ifname} level 2 metric 10`,
    'set protocols isis level 1 disable',
  ].join('\n') + '\n',
  'set',
);
await isis.consumer.apply(cfg, {});
if (a.rcvbuf) {
  // experiment (CNR_BENCH_ISIS_CNR_RCVBUF): a larger receive buffer on the frame port's
  // socket, to tell buffer overruns from other losses; the port keeps its sockets private,
  // so this reaches in (the bench only, never the product)
  const sockets = (port as unknown as { sockets: Map<string, { fd: number }> }).sockets;
  for (const s of sockets.values()) setIntOption(s.fd, SOL_SOCKET, SO_RCVBUFFORCE, Number(a.rcvbuf), 'SO_RCVBUFFORCE');
  process.stderr.write(`receive buffer ${a.rcvbuf} on ${sockets.size} socket(s)\n`);
}

if (a['small-young-generation']) keepYoungGenerationSmall();

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'count') return;
  const spf = (isis.instance()?.cx.spfLog ?? []).map((e) => ({ at: e.at, durationMs: e.durationMs, nodes: e.nodes, routes: e.routes, partial: e.partial }));
  const inst = isis.instance();
  const stats = inst ? { lsdb: inst.cx.lsdb.get(2)?.size ?? 0, spfRuns: inst.cx.stats.spfRuns, drops: Object.fromEntries(inst.cx.stats.drops), rx: Object.fromEntries(inst.cx.stats.rx) } : undefined;
  const m = process.memoryUsage();
  const mem = { rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
  process.stdout.write(`${JSON.stringify({ count: active.size, spf, stats, mem })}\n`);
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
process.on('SIGTERM', () => {
  void isis.stop().finally(() => {
    port.close();
    process.exit(0);
  });
});
