/**
 * Bridge ports and bridge domains for L2 switching (docs/l2.md), as a struct of arrays shared
 * with the workers. Per vif: its port mode (access, trunk, or the IRB of a domain), the VLANs
 * it carries (one for an access port; a 4096-bit set and a native VLAN for a trunk), its
 * flags (no-local-switching, QinQ tunnel port), the TPID of its tags, its storm-control rate and its MAC limit with the count of MACs
 * learned on it. Per bridge domain: its VLAN, its IRB vif, its MAC limit and count, and its
 * member ports, the list flooding walks. VLAN -> domain is one 4096-entry array.
 *
 * The main thread is the only writer (l2.ts). A port's mode is stored last when it becomes a
 * port and first when it stops being one; a domain's port list is hidden (count 0) while it
 * is rewritten, so a reader sees the old list, none, or the new one: at worst a frame flooded
 * during a change reaches fewer ports.
 */

export const PORT_NONE = 0;
export const PORT_ACCESS = 1;
export const PORT_TRUNK = 2;
export const PORT_IRB = 3;
export const PORT_MODE_NAMES = ['none', 'access', 'trunk', 'irb'];

/** port flag: frames between two such ports are not switched */
export const PORT_NO_LOCAL_SWITCHING = 1;
/** port flag (access ports): QinQ tunnel port, untagged and 802.1Q-tagged frames alike go into its VLAN, the tag kept as payload */
export const PORT_DOT1Q_TUNNEL = 2;
/** the TPID a port's tags carry unless configured otherwise (802.1Q); a provider trunk uses 0x88a8 (802.1ad) */
export const TPID_8021Q = 0x8100;
/** the TPIDs a trunk may use: 802.1Q, 802.1ad, and the older pre-standard QinQ 0x9100 */
export const QINQ_TPIDS: readonly number[] = [TPID_8021Q, 0x88a8, 0x9100];

/** the most ports one bridge domain floods to */
export const MAX_BD_PORTS = 256;
/** bdFlags: interface-mac-limit packet-action none (frames from a source over a port's limit are forwarded, not learned) */
export const BD_LIMIT_FORWARD = 1;
/** bdFlags: mac-table-size packet-action none (frames from a source over the domain's limit are forwarded, not learned) */
export const BD_TABLE_FORWARD = 2;
/** BridgeTable.global[LEARN_ACK_BASE + w]: the event batches of worker w (Graph.eventBatches) the main thread has applied */
export const LEARN_ACK_BASE = 16;
/** 4096 VLAN bits per trunk port */
const VLAN_WORDS = 128;

export interface BridgeShared {
  maxVifs: number;
  maxDomains: number;
  buf: SharedArrayBuffer;
}

export class BridgeTable {
  readonly maxVifs: number;
  readonly maxDomains: number;
  /** per vif: PORT_* */
  readonly mode: Uint8Array;
  /** per vif: PORT_* flags */
  readonly pflags: Uint8Array;
  /** per vif: the access VLAN; for the IRB, its domain */
  readonly access: Uint16Array;
  /** per vif: a trunk's native VLAN (untagged both ways), 0 for none */
  readonly native: Uint16Array;
  /** per vif: the TPID (first EtherType) of the port's VLAN tags, 0x8100 or a QinQ trunk's 0x88a8 */
  readonly tpid: Uint16Array;
  /** per vif: VLAN_WORDS words, bit v set when the trunk carries VLAN v */
  readonly vlans: Uint32Array;
  /** per vif: storm control, bytes per ms (0: off), and the bucket's depth in bytes */
  readonly stormRate: Float64Array;
  readonly stormBurst: Float64Array;
  /** per vif: MAC limit (0: none) and MACs learned on it (written by the main thread) */
  readonly portLimit: Uint32Array;
  readonly portCount: Int32Array;
  /** VLAN -> bridge domain (0: none) */
  readonly vlanDomain: Uint16Array;
  /** per domain (1..maxDomains-1): its VLAN, IRB vif (-1: none), MAC limit (0: none), MACs learned */
  readonly bdVlan: Uint16Array;
  readonly bdIrb: Int32Array;
  readonly bdLimit: Uint32Array;
  readonly bdCount: Int32Array;
  /** per domain: the member ports flooding walks (MAX_BD_PORTS each) and their number */
  readonly bdPorts: Uint16Array;
  readonly bdNports: Int32Array;
  /** per domain: BD_* flags */
  readonly bdFlags: Uint8Array;
  /**
   * [0]: the MAC table's epoch, bumped by the writer with every change (workers re-post learn
   * events across it); [LEARN_ACK_BASE + w] (up to 16 workers): worker w's event batches applied
   */
  readonly global: Int32Array;

  static create(maxVifs: number, maxDomains: number): BridgeTable {
    const bytes = maxVifs * (1 + 1 + 2 + 2 + 2 + VLAN_WORDS * 4 + 8 + 8 + 4 + 4) + 4096 * 2 + maxDomains * (2 + 4 + 4 + 4 + MAX_BD_PORTS * 2 + 4 + 1) + 128 + 64;
    const t = new BridgeTable({ maxVifs, maxDomains, buf: new SharedArrayBuffer(bytes) });
    t.bdIrb.fill(-1);
    t.tpid.fill(TPID_8021Q);
    return t;
  }

  static attach(s: BridgeShared): BridgeTable {
    return new BridgeTable(s);
  }

  private constructor(readonly shared: BridgeShared) {
    const n = (this.maxVifs = shared.maxVifs);
    const m = (this.maxDomains = shared.maxDomains);
    const b = shared.buf;
    let off = 0;
    this.global = new Int32Array(b, off, 32); off += 128;
    // 8-byte fields first, then 4, 2, 1 (alignment)
    this.stormRate = new Float64Array(b, off, n); off += n * 8;
    this.stormBurst = new Float64Array(b, off, n); off += n * 8;
    this.vlans = new Uint32Array(b, off, n * VLAN_WORDS); off += n * VLAN_WORDS * 4;
    this.portLimit = new Uint32Array(b, off, n); off += n * 4;
    this.portCount = new Int32Array(b, off, n); off += n * 4;
    this.bdIrb = new Int32Array(b, off, m); off += m * 4;
    this.bdLimit = new Uint32Array(b, off, m); off += m * 4;
    this.bdCount = new Int32Array(b, off, m); off += m * 4;
    this.bdNports = new Int32Array(b, off, m); off += m * 4;
    this.access = new Uint16Array(b, off, n); off += n * 2;
    this.native = new Uint16Array(b, off, n); off += n * 2;
    this.tpid = new Uint16Array(b, off, n); off += n * 2;
    this.vlanDomain = new Uint16Array(b, off, 4096); off += 4096 * 2;
    this.bdVlan = new Uint16Array(b, off, m); off += m * 2;
    this.bdPorts = new Uint16Array(b, off, m * MAX_BD_PORTS); off += m * MAX_BD_PORTS * 2;
    this.mode = new Uint8Array(b, off, n); off += n;
    this.pflags = new Uint8Array(b, off, n); off += n;
    this.bdFlags = new Uint8Array(b, off, m); off += m;
  }

  /** Does the port carry VLAN v? (access: its VLAN; trunk: its list, the native VLAN included) */
  carries(vif: number, v: number): boolean {
    const m = this.mode[vif];
    if (m === PORT_ACCESS) return this.access[vif] === v;
    if (m === PORT_TRUNK) return (this.vlans[vif * VLAN_WORDS + (v >>> 5)]! & (1 << (v & 31))) !== 0;
    return false;
  }

  /** Writer: the trunk's VLAN set. */
  setVlans(vif: number, list: readonly number[]): void {
    const base = vif * VLAN_WORDS;
    const w = new Uint32Array(VLAN_WORDS);
    for (const v of list) w[v >>> 5] |= 1 << (v & 31);
    for (let k = 0; k < VLAN_WORDS; k++) Atomics.store(this.vlans, base + k, w[k]!);
  }

  /** Writer: replace a domain's flood list. */
  setPorts(bd: number, ports: readonly number[]): void {
    Atomics.store(this.bdNports, bd, 0);
    const n = Math.min(ports.length, MAX_BD_PORTS);
    for (let k = 0; k < n; k++) this.bdPorts[bd * MAX_BD_PORTS + k] = ports[k]!;
    Atomics.store(this.bdNports, bd, n);
  }
}

/** a trunk port's VLAN bit words, for the nodes */
export const TRUNK_VLAN_WORDS = VLAN_WORDS;
