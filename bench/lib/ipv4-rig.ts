/**
 * The IPv4 forwarding rig of the pipeline benchmark's IPv4 scenario, for the measurements that
 * hold other work against it (bench/l2.bench.ts's reference, bench/lib/fastpath-callgrind.ts):
 * an in-memory data plane (workers: 0) whose `in` vif replays 64k 64-byte frames to
 * destinations inside `prefixes` BGP-like routes (same seeds as pipeline.bench.ts), the routes
 * written straight into the LPM table over four encap next hops on a sink vif `out`.
 */
import { createDataplane, type VRouterDataplane } from '../../src/dataplane/dataplane.js';
import { formatIpv4 } from '../../src/lib/addr.js';
import * as F from '../../test/support/frames.js';
import { mask4, randomPrefixes4, rng } from '../../test/support/random.js';

export async function ipv4Rig(prefixes: number): Promise<VRouterDataplane> {
  const routes = randomPrefixes4(prefixes, 1);
  const r = rng(7);
  const frames: Uint8Array[] = [];
  for (let k = 0; k < 65536; k++) {
    const i = r() % routes.addr.length;
    const dst = (routes.addr[i]! | (r() & ~mask4(routes.len[i]!))) >>> 0;
    if (dst >>> 28 >= 14 || dst >>> 24 === 0) { k--; continue; } // multicast and 0/8 are not forwarded
    const f = F.eth('02:aa:00:00:00:01', '02:00:00:00:00:01', 0x0800, F.ipv4({ src: '10.0.1.10', dst: formatIpv4(dst), payload: F.udp(1000 + (k & 1023), 53, new Uint8Array(18)) }));
    const padded = new Uint8Array(Math.max(60, f.length));
    padded.set(f);
    frames.push(padded);
  }
  const dp = createDataplane({ workers: 0, poolSize: 4096 });
  await dp.addVif({ name: 'in', driver: 'memory', mac: '02:aa:00:00:00:01', addresses: ['10.0.1.1/24'], memory: { replay: frames } });
  await dp.addVif({ name: 'out', driver: 'memory', mac: '02:aa:00:00:00:02', addresses: ['10.0.2.1/24'], memory: { sink: true } });
  const nhs = [0, 1, 2, 3].map((k) => dp.addNexthop({ type: 'encap', vif: 'out', dmac: `02:00:00:00:02:0${k}` }));
  const w = new Uint32Array(1);
  for (let k = 0; k < routes.addr.length; k++) {
    w[0] = routes.addr[k]!;
    dp.tables.lpm4.insert(0, w, routes.len[k]!, nhs[k & 3]!);
  }
  return dp;
}
