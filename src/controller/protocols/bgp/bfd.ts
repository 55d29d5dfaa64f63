/**
 * BGP as a BFD client (RFC 5882): each neighbor of the master instance with
 * `bfd-liveness-detection` (at the bgp, group or neighbor level) has its peer watched by a
 * BFD session the vRouter runs; when the session goes from Up to Down the BGP session is
 * closed at once (Cease, subcode 10 "BFD Down", RFC 9384), which also ends graceful restart,
 * so the peer's routes leave the RIB and the FIB without waiting for the hold time. BGP then
 * reconnects as after any error. Routing instances get no BFD: the vRouter's sessions run
 * in the default VRF (docs/bfd.md).
 */
import { parsePrefix, parseIp, prefixContains } from '../../../lib/addr.js';
import type { BfdClients, BfdRequest } from '../bfd/manager.js';
import type { ConfiguredInterface } from '../../rib/service.js';
import type { BgpInstance } from './instance.js';

/** RFC 9384: Cease subcode "BFD Down" */
export const CEASE_BFD_DOWN = 10;

/** Whether `peer` is on the subnet of one of the interfaces (single hop under `session-mode automatic`). */
export function onConnectedSubnet(peer: string, interfaces: readonly ConfiguredInterface[]): boolean {
  const ip = parseIp(peer);
  return interfaces.some((i) => [...i.inet, ...i.inet6].some((a) => {
    const p = parsePrefix(a);
    return p.family === ip.family && prefixContains(p, ip.bytes);
  }));
}

export class BgpBfdHook {
  /** by neighbor address: the request watched and how to stop watching */
  private readonly watches = new Map<string, { key: string; unwatch: () => void }>();

  constructor(
    private readonly bfd: BfdClients,
    private readonly log: (msg: string) => void,
  ) {}

  /** Watch exactly the neighbors that ask for BFD now (after each commit). */
  sync(instances: Iterable<BgpInstance>, interfaces: readonly ConfiguredInterface[]): void {
    const keep = new Set<string>();
    for (const inst of instances) {
      if (inst.cfg.name !== 'master') continue;
      for (const nb of inst.neighbors.values()) {
        const t = nb.cfg.bfd;
        if (!t || nb.cfg.shutdown) continue;
        const address = nb.cfg.address;
        const multihop = t.mode === 'multihop' || (t.mode === 'automatic' && !onConnectedSubnet(address, interfaces));
        const req: BfdRequest = { peer: address, local: t.localAddress ?? nb.cfg.localAddress ?? '', interface: '', multihop, minTxMs: t.minTxMs, minRxMs: t.minRxMs, multiplier: t.multiplier, ...(t.auth ? { auth: t.auth } : {}), ...(t.minTtl ? { minTtl: t.minTtl } : {}) };
        const key = JSON.stringify(req);
        keep.add(address);
        const cur = this.watches.get(address);
        if (cur?.key === key) continue;
        cur?.unwatch();
        const unwatch = this.bfd.watch('bgp', req, (v) => {
          if (!v.wentDown) return;
          const n = inst.neighbors.get(address);
          if (!n?.established) return;
          this.log(`bgp neighbor ${address}: BFD session ${v.state || 'removed'} (diag ${v.diag}): closing the BGP session`);
          n.stop(CEASE_BFD_DOWN, true);
        });
        this.watches.set(address, { key, unwatch });
      }
    }
    for (const [address, w] of this.watches) {
      if (keep.has(address)) continue;
      w.unwatch();
      this.watches.delete(address);
    }
  }

  close(): void {
    for (const w of this.watches.values()) w.unwatch();
    this.watches.clear();
  }
}
