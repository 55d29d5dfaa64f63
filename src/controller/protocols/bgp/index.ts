/**
 * cnr's BGP-4 speaker. Its parts, outside in:
 *  - speaker.ts: the instances, the shared TCP listener, and the configuration consumer
 *    (validate, then apply only the difference of each commit);
 *  - one BGP instance, split as every protocol is (docs/design.md, "The protocol
 *    pattern"): instance.ts (its state, BgpContext, and the entry points, BgpInstance),
 *    events.ts (one handler per input), rib.ts (Adj-RIB-In, Loc-RIB entries, next hops),
 *    decision.ts (best path, best-path.ts, into the RIB), adj-rib-out.ts (what each peer
 *    is sent; the Adj-RIB-Out per update group: update-group.ts), policy.ts (import/export policy, ../../policy), vpn.ts (L3VPN);
 *  - neighbor.ts: one peer's session: FSM (fsm.ts), timers, OPEN negotiation, a second
 *    connection tracked until its OPEN decides (collision.ts), over a framed TCP connection
 *    (connection.ts) with TTL and TCP MD5 (socket-options.ts) from the source address facing
 *    the peer (source-address.ts);
 *  - config.ts: the configuration tree resolved per peer; commands.ts: show and clear.
 * Wire formats are in src/wire/bgp.
 */
import type { ConfigConsumer, OperationalCommand } from '../../types.js';
import type { RibApi } from '../../rib/types.js';
import { BgpSpeaker, type BgpOptions } from './speaker.js';
import { bgpCommands } from './commands.js';

export { BgpSpeaker, type BgpOptions } from './speaker.js';

export interface Bgp {
  consumer: ConfigConsumer;
  commands: OperationalCommand[];
  stop(): Promise<void>;
  /** the speaker itself, for tests and benchmarks (listening port, instances) */
  speaker: BgpSpeaker;
}

export function createBgp(rib: RibApi, opts: BgpOptions = {}): Bgp {
  const speaker = new BgpSpeaker(rib, opts);
  return { consumer: speaker.consumer(), commands: bgpCommands(speaker), stop: () => speaker.stop(), speaker };
}
