/**
 * BGP ingest in one process, for profiling (no sockets, no namespaces): the bench's UPDATEs
 * (bench/lib/bgp-injector.ts, the same bytes the injector writes) are decoded as a session
 * decodes them (prefixes as values) and handed to a BgpInstance over a real Rib, wired as in
 * `cnr controller` (the speaker's RIB listener, a FIB queue paused as the controller's FIB
 * export pauses it while no agent reads routes: the bench's controller has no vRouter, and a
 * session's AttrMemo). Prints CPU seconds, the live heap per route after a full GC, and peak
 * RSS per route; the socket, the event loop's turns and the poll are left out, so
 * its figures are the receive path's own, not the bench's.
 *
 *   node --expose-gc dist/bench/lib/bgp-ingest-inproc.js [count=1000000] [perUpdate=100] [bulk|realistic]
 *
 * Under `node --cpu-prof` or `--heap-prof` it gives the profile of the ingest alone.
 */
import { readFileSync } from 'node:fs';
import { Rib } from '../../src/controller/rib/rib.js';
import { PolicyEngine } from '../../src/controller/policy/index.js';
import { AttrMemo, DEFAULT_OPTIONS, decodeUpdate, emptyCapabilities } from '../../src/wire/bgp/index.js';
import { resolveInstance } from '../../src/controller/protocols/bgp/config.js';
import { BgpInstance } from '../../src/controller/protocols/bgp/instance.js';
import { forwardRibChange } from '../../src/controller/protocols/bgp/speaker.js';
import { encodeBulkUpdates, encodeRealisticUpdates } from './bgp-injector.js';

const count = Number(process.argv[2] ?? 1_000_000);
const perUpdate = Number(process.argv[3] ?? 100);
const mode = process.argv[4] ?? 'bulk';
const peers = mode === 'realistic' ? ['100.64.0.1', '100.64.0.5'] : ['100.64.0.1'];

const rib = new Rib();
for (const [i, p] of peers.entries()) rib.announce('inet.0', `direct:eth${i}`, { prefix: `${p.replace(/\d+$/, (d) => String(Number(d) - 1))}/30`, protocol: 'direct', preference: 0, nexthops: [{ interface: `eth${i}` }] });
const cfg = resolveInstance(
  'master',
  { group: Object.fromEntries(peers.map((p, i) => [`g${i}`, { type: 'external', 'peer-as': 65001 + i, import: ['ALL'], export: ['NOTHING'], neighbor: { [p]: {} } }])) },
  { 'router-id': '100.64.0.2', 'autonomous-system': 65100 },
)!;
const policy = new PolicyEngine({ 'policy-statement': { ALL: { then: { accept: true } }, NOTHING: { then: { reject: true } } } });
const inst = new BgpInstance(cfg, policy, rib, () => {}, { peerPort: () => 1, connectRetryTime: 3600, idleHoldTime: 0 });
const instances = [inst];
rib.subscribe((c) => forwardRibChange(instances, c));
const fibQueue = rib.fibQueue(() => {});
// as the controller's FIB export leaves it while no agent reads routes (rib/fib-export.ts)
fibQueue.pause();
const nbs = [...cfg.peers.values()].map((p) => {
  const nb = inst.addNeighbor({ ...p, passive: true });
  nb.families = p.families;
  nb.peerRouterId = Number(p.address.split('.')[3]);
  nb.peerOpen = { version: 4, myAs: p.peerAs, holdTime: 90, bgpId: nb.peerRouterId, capabilities: emptyCapabilities() };
  nb.fsm = { ...nb.fsm, state: 'Established', holdTime: 90 };
  inst.sessionUp(nb);
  return nb;
});

const feeds = nbs.map((_, i) =>
  mode === 'realistic'
    ? encodeRealisticUpdates({ count, perUpdate, nextHop: peers[i]!, localAs: 65001 + i, seed: i + 1 }).bytes
    : encodeBulkUpdates({ count, perUpdate, nextHop: peers[i]!, asPath: [65001 + i] }).bytes,
);
const options = { ...DEFAULT_OPTIONS, as4: true, prefixCodes: true };

function vmHwm(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const heap0 = process.memoryUsage().heapUsed;
const ext0 = process.memoryUsage().arrayBuffers;
const rss0 = process.memoryUsage().rss;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
for (const [i, bytes] of feeds.entries()) {
  const nb = nbs[i]!;
  // one per session, as a Neighbor keeps it (its last attribute field's decode)
  const memo = new AttrMemo();
  for (let pos = 0; pos < bytes.length; ) {
    const len = bytes.readUInt16BE(pos + 16);
    const d = decodeUpdate(bytes.subarray(pos + 19, pos + len), options, memo);
    if (d.kind !== 'update') throw new Error('bad UPDATE');
    inst.update(nb, d);
    pos += len;
  }
}
inst.flush();
const cpu = process.cpuUsage(cpu0);
const wall = performance.now() - t0;
const active = rib.summary().find((t) => t.name === 'inet.0')!.active;
gc?.();
const mu = process.memoryUsage();
console.log(
  `${mode} ${count} prefixes x ${peers.length} peer(s), ${perUpdate}/UPDATE: cpu ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s (user ${(cpu.user / 1e6).toFixed(2)}), wall ${(wall / 1e3).toFixed(2)} s; ` +
    `active ${active}; live heap ${((mu.heapUsed - heap0) / count).toFixed(1)} B/route + ${((mu.arrayBuffers - ext0) / count).toFixed(1)} B typed arrays; ` +
    `peak RSS ${(vmHwm() / count).toFixed(0)} B/route (${(rss0 / 2 ** 20).toFixed(0)} MB before, feed bytes included); FIB queue ${fibQueue.size}`,
);
// the neighbors' timers would take the sessions down: the measurement is over
process.exit(0);
