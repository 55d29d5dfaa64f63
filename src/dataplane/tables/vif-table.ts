/**
 * Interfaces (vifs) as a struct of arrays shared with workers: the router's MAC, MTU, VRF,
 * VLAN tag and own addresses per vif. Own addresses are also installed as receive routes
 * in the FIB; the copy here answers ARP/NDP only on the vif that owns the address and picks
 * the source address of ICMP errors and neighbor solicitations.
 */

export const MAX_ADDR = 8;
export const VIF_UP = 1;
export const VIF_VHOST = 2;
/** VifTable.global slots: [0] the vhost vif id (-1: none); [G_PUNT_OSI] non-zero while OSI frames (IS-IS) are punted to the main thread */
export const G_PUNT_OSI = 1;
/** a bridge port (L2 mode): its frames go to l2-input, never to the L3 fast path */
export const VIF_L2 = 4;
/** the IRB of a bridge domain: no driver; what it sends enters the domain (l2-input) */
export const VIF_IRB = 8;

export interface VifShared {
  capacity: number;
  buf: SharedArrayBuffer;
}

export class VifTable {
  readonly capacity: number;
  readonly flags: Uint8Array;
  readonly n4: Uint8Array;
  readonly n6: Uint8Array;
  readonly mtu: Uint16Array;
  readonly vrf: Uint16Array;
  readonly vlan: Uint16Array;
  readonly mac: Uint8Array;
  /** the netdev's own MAC as the kernel knows it (vhost0: where punted frames go) */
  readonly hwaddr: Uint8Array;
  readonly addr4: Uint32Array;
  readonly plen4: Uint8Array;
  /** 4 words per address; slot 0 is the link-local address */
  readonly addr6: Uint32Array;
  readonly plen6: Uint8Array;
  /** [0] = vhost vif id, or -1; [G_PUNT_OSI] = OSI frames punted */
  readonly global: Int32Array;
  /** the router MAC as a 32-bit head and 16-bit tail, for a two-load compare */
  readonly macHi: Uint32Array;
  readonly macLo: Uint16Array;
  /** the vif's connected-subnet (glean) next hop, also used for link-local destinations */
  readonly glean: Uint32Array;
  /** the worker whose engine holds the vif's driver (-1: the calling thread / none) */
  readonly owner: Int32Array;

  static create(capacity: number): VifTable {
    const bytes = 64 + capacity * (4 + 4 + 4 + 2 + 1 + 1 + 1 + 2 + 2 + 2 + 6 + 6 + MAX_ADDR * (4 + 1) + MAX_ADDR * (16 + 1) + 8);
    const t = new VifTable({ capacity, buf: new SharedArrayBuffer(bytes) });
    t.global[0] = -1;
    t.owner.fill(-1);
    return t;
  }

  static attach(s: VifShared): VifTable {
    return new VifTable(s);
  }

  private constructor(readonly shared: VifShared) {
    const n = (this.capacity = shared.capacity);
    const b = shared.buf;
    let off = 0;
    this.global = new Int32Array(b, off, 16); off += 64;
    this.owner = new Int32Array(b, off, n); off += n * 4;
    this.macHi = new Uint32Array(b, off, n); off += n * 4;
    this.glean = new Uint32Array(b, off, n); off += n * 4;
    this.addr4 = new Uint32Array(b, off, n * MAX_ADDR); off += n * MAX_ADDR * 4;
    this.addr6 = new Uint32Array(b, off, n * MAX_ADDR * 4); off += n * MAX_ADDR * 16;
    this.mtu = new Uint16Array(b, off, n); off += n * 2;
    this.vrf = new Uint16Array(b, off, n); off += n * 2;
    this.vlan = new Uint16Array(b, off, n); off += n * 2;
    this.macLo = new Uint16Array(b, off, n); off += n * 2;
    this.flags = new Uint8Array(b, off, n); off += n;
    this.n4 = new Uint8Array(b, off, n); off += n;
    this.n6 = new Uint8Array(b, off, n); off += n;
    this.mac = new Uint8Array(b, off, n * 6); off += n * 6;
    this.hwaddr = new Uint8Array(b, off, n * 6); off += n * 6;
    this.plen4 = new Uint8Array(b, off, n * MAX_ADDR); off += n * MAX_ADDR;
    this.plen6 = new Uint8Array(b, off, n * MAX_ADDR); off += n * MAX_ADDR;
  }

  setMac(vif: number, mac: Uint8Array): void {
    this.mac.set(mac.subarray(0, 6), vif * 6);
    this.macHi[vif] = ((mac[0]! << 24) | (mac[1]! << 16) | (mac[2]! << 8) | mac[3]!) >>> 0;
    this.macLo[vif] = (mac[4]! << 8) | mac[5]!;
  }

  /** Is IPv4 `a` one of vif's own addresses? */
  hasAddr4(vif: number, a: number): boolean {
    const n = this.n4[vif]!;
    const base = vif * MAX_ADDR;
    for (let k = 0; k < n; k++) if (this.addr4[base + k] === a) return true;
    return false;
  }

  /** Is the IPv6 address in words (w0..w3) one of vif's own addresses (including link-local)? */
  hasAddr6(vif: number, w0: number, w1: number, w2: number, w3: number): boolean {
    const n = this.n6[vif]!;
    const a = this.addr6;
    for (let k = 0; k < n; k++) {
      const o = (vif * MAX_ADDR + k) * 4;
      if (a[o] === w0 && a[o + 1] === w1 && a[o + 2] === w2 && a[o + 3] === w3) return true;
    }
    return false;
  }

  /** The vif's IPv4 address on the same subnet as `a`, else its first, else 0. */
  sourceFor4(vif: number, a: number): number {
    const n = this.n4[vif]!;
    const base = vif * MAX_ADDR;
    for (let k = 0; k < n; k++) {
      const l = this.plen4[base + k]!;
      const m = l === 0 ? 0 : (~0 << (32 - l)) >>> 0;
      if (((this.addr4[base + k]! ^ a) & m) === 0) return this.addr4[base + k]!;
    }
    return n > 0 ? this.addr4[base]! : 0;
  }
}
