/**
 * Finding a received packet's session (RFC 5880 section 6.8.6): by Your Discriminator when
 * it is set, else by where the packet came from — the interface and source address for a
 * single-hop session (RFC 5881 section 3), the address pair for a multihop one (RFC 5883
 * section 3). The table also hands out local discriminators, unique and never 0.
 */
import { BFD_PORT_MULTIHOP, BFD_PORT_SINGLE_HOP } from '../wire/bfd.js';
import { type BfdSession, type BfdSessionKey, sessionKeyText } from './session.js';

/** Where a packet came from and how: what the transport saw around the BFD payload. */
export interface BfdPacketMeta {
  readonly ifname: string;
  readonly srcAddress: string;
  readonly dstAddress: string;
  readonly srcPort: number;
  readonly dstPort: number;
  /** IPv4 TTL or IPv6 Hop Limit as received */
  readonly ttl: number;
}

export class SessionTable {
  private readonly byDiscr = new Map<number, BfdSession>();
  private readonly byKey = new Map<string, BfdSession>();
  private nextDiscr: number;

  /** `firstDiscriminator`: tests fix it; a router starts anywhere (then counts up, skipping 0) */
  constructor(firstDiscriminator: number) {
    this.nextDiscr = firstDiscriminator >>> 0 || 1;
  }

  allocateDiscriminator(): number {
    for (;;) {
      const d = this.nextDiscr;
      this.nextDiscr = (this.nextDiscr + 1) >>> 0 || 1;
      if (!this.byDiscr.has(d)) return d;
    }
  }

  add(s: BfdSession): void {
    const k = sessionKeyText(s.key);
    if (this.byKey.has(k)) throw new Error(`bfd: session ${k} exists`);
    this.byKey.set(k, s);
    this.byDiscr.set(s.localDiscr, s);
  }

  remove(key: BfdSessionKey): BfdSession | undefined {
    const s = this.byKey.get(sessionKeyText(key));
    if (!s) return undefined;
    this.byKey.delete(sessionKeyText(key));
    this.byDiscr.delete(s.localDiscr);
    return s;
  }

  get(key: BfdSessionKey): BfdSession | undefined {
    return this.byKey.get(sessionKeyText(key));
  }

  byDiscriminator(d: number): BfdSession | undefined {
    return this.byDiscr.get(d);
  }

  all(): IterableIterator<BfdSession> {
    return this.byKey.values();
  }

  get size(): number {
    return this.byKey.size;
  }

  /**
   * The session a packet is for, or why none is: Your Discriminator first; with 0 (a peer
   * still Down), the packet's source. The session found must be of the kind the port says.
   */
  demultiplex(yourDiscriminator: number, meta: BfdPacketMeta): BfdSession | 'no_session' {
    const multihop = meta.dstPort === BFD_PORT_MULTIHOP;
    let s: BfdSession | undefined;
    if (yourDiscriminator !== 0) s = this.byDiscr.get(yourDiscriminator);
    else if (multihop) s = this.byKey.get(sessionKeyText({ kind: 'multihop', local: meta.dstAddress, peer: meta.srcAddress }));
    else if (meta.dstPort === BFD_PORT_SINGLE_HOP) s = this.byKey.get(sessionKeyText({ kind: 'single-hop', ifname: meta.ifname, peer: meta.srcAddress, local: meta.dstAddress }));
    if (!s || (s.key.kind === 'multihop') !== multihop) return 'no_session';
    // a single-hop session's packets come over its own interface from its own peer (RFC 5881 section 3)
    if (s.key.kind === 'single-hop' && (s.key.ifname !== meta.ifname || s.key.peer !== meta.srcAddress)) return 'no_session';
    return s;
  }
}
