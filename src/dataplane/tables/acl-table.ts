/**
 * Ingress filters per vif (the acl node): an ordered list of rules, the first that matches
 * decides (permit or deny); a packet no rule matches is denied, as in router ACLs. An empty
 * list removes the filter. Rules match on family, source and destination prefix, protocol
 * and TCP/UDP/SCTP port ranges.
 *
 * A bridge port's filter (`firewall family bridge`, setL2) is the same list of rules in
 * the same areas with other words (FAMILY_L2 marks them): source and destination MAC under
 * a mask, VLAN and EtherType, and for IPv4 or IPv6 payloads source and destination prefix,
 * protocol, port or ICMP type ranges, matched by l2-input (input filters) and l2-output
 * (output filters, in the output table) through decideL2. An IPv6 rule's addresses do not fit
 * its 16 words: they live in the `ip6` area beside (8 words per rule, at half the rule's word
 * offset), which only decideL2 reads, so the L3 rules and their scan keep their size. A vif has one kind or the other (a bridge port has no
 * inet family), and L2 filters do not count in `active`: the L3 path never looks for them.
 *
 * An L3 rule's action word (R_PERMIT) is one of ACT_*: besides permit and deny, reject (a
 * deny the acl node answers with ICMP unreachable, administratively prohibited) and skip (a
 * Junos `except` prefix: the packet leaves the term it is in, and the scan goes on at rule
 * R_SKIP_TO). ICMP rules keep the type range in the source-port word (R_SPORT): the nodes
 * pass an ICMP packet's type as its source port.
 *
 * Publication: each vif has two rule areas. The writer fills the area no reader is told
 * about, then publishes it with one Atomics.store of the vif's descriptor (area << 16 |
 * count); `active` counts vifs with a filter, so the graph skips the acl node when it is 0.
 * (Two replacements of one vif's list within one burst could show a reader the second
 * write in progress; the control plane changes filters far less often than that.)
 */

export const MAX_ACL_RULES = 64;
export const RULE_WORDS = 16;
/** rule words */
export const R_PERMIT = 0;
export const R_FAMILY = 1; // 0 any, 4, 6
export const R_PROTO = 2; // 256: any
export const R_SRC_LEN = 3;
export const R_DST_LEN = 4;
export const R_SRC = 5; // 4 words, masked
export const R_DST = 9; // 4 words, masked
export const R_SPORT = 13; // lo << 16 | hi
export const R_DPORT = 14;
/** the rule index a skip rule resumes the scan at */
export const R_SKIP_TO = 15;
export const PROTO_ANY = 256;
/** R_PERMIT's values */
export const ACT_DENY = 0;
export const ACT_PERMIT = 1;
export const ACT_REJECT = 2;
export const ACT_SKIP = 3;
export const ALL_PORTS = 0xffff;
/** R_FAMILY of a bridge port's rule; its other words: */
export const FAMILY_L2 = 2;
export const L_SMAC = 2; // hi16, lo32, masked
export const L_DMAC = 4; // hi16, lo32, masked
export const L_MASK_HI = 6; // source mask hi16 << 16 | destination mask hi16
export const L_SMASK_LO = 7;
export const L_DMASK_LO = 8;
export const L_VLAN_ETYPE = 9; // VLAN (0: any) | EtherType (0: any) << 16
/** IP fields (a rule with any sets L_IP and matches payloads of that IP version only): */
export const L_IP_SRC = 10; // IPv4: masked (IPv6: in the ip6 area, words 0..3)
export const L_IP_DST = 11; // IPv4: masked (IPv6: in the ip6 area, words 4..7)
export const L_IP_LENS = 12; // source length | destination length << 8 | protocol (PROTO_ANY: any) << 16
export const L_SPORT = 13; // lo << 16 | hi, ALL_PORTS: any; an ICMP/ICMPv6 rule's type range
export const L_DPORT = 14;
/** L_IP_V4 or L_IP_V6, | L_NH_SET | next header << 8 for an IPv6 rule's ipv6-next-header (the fixed header's) */
export const L_IP = 15;
export const L_IP_V4 = 4;
export const L_IP_V6 = 6;
export const L_NH_SET = 0x10000;
/** words per rule in the ip6 area (masked source, masked destination) */
export const IP6_WORDS = 8;
/** AclTable.decide's permit flag (the rule index is below it) */
export const DECIDE_PERMIT = 0x10000;
/** decide's flag of a deny that owes its source an ICMP unreachable (reject) */
export const DECIDE_REJECT = 0x20000;

export interface AclShared {
  desc: SharedArrayBuffer;
  rules: SharedArrayBuffer;
  active: SharedArrayBuffer;
  /** IPv6 addresses of bridge rules (IP6_WORDS per rule) */
  ip6: SharedArrayBuffer;
}

/** One rule in table form (the API validates and converts). */
export interface AclRuleWords {
  permit: boolean;
  /** a deny answered with ICMP unreachable */
  reject?: boolean;
  /** a skip rule (Junos except): the index of the rule the scan resumes at, after this one */
  skipTo?: number;
  family: 0 | 4 | 6;
  proto: number;
  src: Uint32Array;
  srcLen: number;
  dst: Uint32Array;
  dstLen: number;
  sport: [number, number];
  dport: [number, number];
}

/** One bridge-port rule in table form: MACs as [hi16, lo32] with their masks; IPv4 fields (ip set) as for an L3 rule. */
export interface L2RuleWords {
  permit: boolean;
  smac: [number, number];
  smask: [number, number];
  dmac: [number, number];
  dmask: [number, number];
  vlan: number;
  etherType: number;
  /**
   * IP payload fields: the version they match; addresses (IPv4: one number; IPv6: four words)
   * with prefix lengths, protocol (IPv6: the upper layer's, after any extension headers;
   * PROTO_ANY), port ranges (for ICMP/ICMPv6 the source range is the type range); for IPv6 the
   * fixed header's Next Header (-1 or absent: any)
   */
  ip?: { version?: 4 | 6; src: number | Uint32Array; srcLen: number; dst: number | Uint32Array; dstLen: number; proto: number; sport: [number, number]; dport: [number, number]; nextHeader?: number };
}

export class AclTable {
  /** writer side: vifs whose rules are a bridge port's (not counted in `active`) */
  private readonly l2Vifs = new Set<number>();

  readonly desc: Uint32Array;
  readonly rules: Uint32Array;
  readonly active: Int32Array;
  readonly ip6: Uint32Array;
  /**
   * The IPv6 addresses of the frame decideL2 is asked about (source words 0..3, destination
   * 4..7, as int32): a caller with an IPv6 payload writes them here first (one scratch per
   * table, so per isolate: no call passes eight more arguments).
   */
  readonly frame6 = new Int32Array(8);

  static create(maxVifs: number): AclTable {
    return new AclTable({
      desc: new SharedArrayBuffer(maxVifs * 4),
      rules: new SharedArrayBuffer(maxVifs * 2 * MAX_ACL_RULES * RULE_WORDS * 4),
      active: new SharedArrayBuffer(4),
      ip6: new SharedArrayBuffer(maxVifs * 2 * MAX_ACL_RULES * IP6_WORDS * 4),
    });
  }

  static attach(shared: AclShared): AclTable {
    return new AclTable(shared);
  }

  private constructor(readonly shared: AclShared) {
    this.desc = new Uint32Array(shared.desc);
    this.rules = new Uint32Array(shared.rules);
    this.active = new Int32Array(shared.active);
    this.ip6 = new Uint32Array(shared.ip6);
    this.decide = AclTable.makeDecide(this.rules);
    this.decideL2 = AclTable.makeDecideL2(this.rules, this.ip6, this.frame6);
  }

  /**
   * decide() for a bridge port's frame: source MAC shi (16 bits) / slo (32), destination
   * dhi / dlo, its VLAN and EtherType (the one after the tag); for an IP payload its version
   * `ipv` (4 or 6, else 0), for IPv4 its source and destination address (int32; IPv6: in
   * frame6), the fixed header's Next Header `nh` (IPv6), the upper-layer protocol and ports
   * (-1: none; an ICMP type as the source port, as for decide). Same answer: the deciding
   * rule's index plus DECIDE_PERMIT, or MAX_ACL_RULES when none matched (discarded).
   */
  readonly decideL2: (vif: number, dsc: number, shi: number, slo: number, dhi: number, dlo: number, vlan: number, etype: number, ipv: number, ipSrc: number, ipDst: number, nh: number, proto: number, sp: number, dp: number) => number;

  private static makeDecideL2(r: Uint32Array, r6: Uint32Array, f6: Int32Array): AclTable['decideL2'] {
    const words = RULE_WORDS;
    const area = MAX_ACL_RULES * RULE_WORDS;
    const permitted = DECIDE_PERMIT;
    const none = MAX_ACL_RULES;
    const any = PROTO_ANY;
    const all = ALL_PORTS;
    const v6 = L_IP_V6;
    const nhSet = L_NH_SET;
    return (vif, dsc, shi, slo, dhi, dlo, vlan, etype, ipv, ipSrc, ipDst, nh, proto, sp, dp) => {
      let b = (vif * 2 + (dsc >>> 16)) * area;
      const count = dsc & 0xffff;
      for (let q = 0; q < count; q++, b += words) {
        const mh = r[b + 6]!;
        if ((shi & (mh >>> 16)) !== r[b + 2] || ((slo & r[b + 7]!) >>> 0) !== r[b + 3]) continue;
        if ((dhi & mh & 0xffff) !== r[b + 4] || ((dlo & r[b + 8]!) >>> 0) !== r[b + 5]) continue;
        const ve = r[b + 9]!;
        const rv = ve & 0xffff;
        if (rv !== 0 && rv !== vlan) continue;
        const re = ve >>> 16;
        if (re !== 0 && re !== etype) continue;
        const ipw = r[b + 15]!;
        if (ipw !== 0) {
          // IP fields: only a payload of their version can match them
          if ((ipw & 255) !== ipv) continue;
          const lens = r[b + 12]!;
          const sl = lens & 255;
          const dl = (lens >>> 8) & 255;
          if (ipv === v6) {
            const b6 = b >>> 1;
            if (!AclTable.matchPrefix(r6, b6, sl, f6[0]!, f6[1]!, f6[2]!, f6[3]!)) continue;
            if (!AclTable.matchPrefix(r6, b6 + 4, dl, f6[4]!, f6[5]!, f6[6]!, f6[7]!)) continue;
            if ((ipw & nhSet) !== 0 && ((ipw >>> 8) & 255) !== nh) continue;
          } else {
            if (sl !== 0 && ((ipSrc & (0xffffffff << (32 - sl))) >>> 0) !== r[b + 10]) continue;
            if (dl !== 0 && ((ipDst & (0xffffffff << (32 - dl))) >>> 0) !== r[b + 11]) continue;
          }
          const rp = lens >>> 16;
          if (rp !== any && rp !== proto) continue;
          const spr = r[b + 13]!;
          const dpr = r[b + 14]!;
          if (spr !== all || dpr !== all) {
            // an ICMP frame's type comes as its source port: only an ICMP rule (its protocol set) takes it
            if (rp === any && (proto === 1 || proto === 58)) continue;
            if (spr !== all && (sp < spr >>> 16 || sp > (spr & 0xffff))) continue;
            if (dpr !== all && (dp < dpr >>> 16 || dp > (dpr & 0xffff))) continue;
          }
        }
        return r[b] === 1 ? q | permitted : q;
      }
      return none;
    };
  }

  /**
   * The rule that decides a packet on `vif` (dsc: its descriptor, non-zero): the first rule
   * that matches family fam (4, 6), protocol, source s0..s3, destination d0..d3 (words as
   * int32 or uint32; callers on a hot path pass int32, which never needs a heap number) and ports
   * sp/dp (-1: none). Returns the rule's index, or MAX_ACL_RULES when none matched (denied),
   * plus DECIDE_PERMIT when it permits. A closure over this table's rules: with one table per
   * isolate (one per worker thread) V8 specialises it to them (see makeFastPath in graph/fast-path.ts).
   */
  readonly decide: (vif: number, dsc: number, fam: number, proto: number, s0: number, s1: number, s2: number, s3: number, d0: number, d1: number, d2: number, d3: number, sp: number, dp: number) => number;

  private static makeDecide(r: Uint32Array): AclTable['decide'] {
    // the layout as consts of this scope: V8 folds those into the specialised code, while an
    // exported constant is a module cell it loads and checks on every use
    const words = RULE_WORDS;
    const area = MAX_ACL_RULES * RULE_WORDS;
    const fFamily = R_FAMILY;
    const fProto = R_PROTO;
    const fSrc = R_SRC;
    const fSrcLen = R_SRC_LEN;
    const fDst = R_DST;
    const fDstLen = R_DST_LEN;
    const fSport = R_SPORT;
    const fDport = R_DPORT;
    const fPermit = R_PERMIT;
    const any = PROTO_ANY;
    const all = ALL_PORTS;
    const permitted = DECIDE_PERMIT;
    const rejected = DECIDE_REJECT;
    const none = MAX_ACL_RULES;
    const actPermit = ACT_PERMIT;
    const actReject = ACT_REJECT;
    const actSkip = ACT_SKIP;
    const fSkipTo = R_SKIP_TO;
    return (vif, dsc, fam, proto, s0, s1, s2, s3, d0, d1, d2, d3, sp, dp) => {
      const b0 = (vif * 2 + (dsc >>> 16)) * area;
      let b = b0;
      const count = dsc & 0xffff;
      for (let q = 0; q < count; q++, b += words) {
        const rf = r[b + fFamily]!;
        if (rf !== 0 && rf !== fam) continue;
        const rp = r[b + fProto]!;
        if (rp !== any && rp !== proto) continue;
        if (!AclTable.matchPrefix(r, b + fSrc, r[b + fSrcLen]!, s0, s1, s2, s3)) continue;
        if (!AclTable.matchPrefix(r, b + fDst, r[b + fDstLen]!, d0, d1, d2, d3)) continue;
        const spr = r[b + fSport]!;
        const dpr = r[b + fDport]!;
        if (spr !== all && (sp < spr >>> 16 || sp > (spr & 0xffff))) continue;
        if (dpr !== all && (dp < dpr >>> 16 || dp > (dpr & 0xffff))) continue;
        const act = r[b + fPermit]!;
        if (act === actPermit) return q | permitted;
        if (act === actSkip) {
          // an except prefix matched: on at the next term (the writer checked it lies ahead)
          q = r[b + fSkipTo]! - 1;
          b = b0 + q * words;
          continue;
        }
        return act === actReject ? q | rejected : q;
      }
      return none;
    };
  }

  /** Word offset of a vif's rule area. */
  static base(vif: number, area: number): number {
    return (vif * 2 + area) * MAX_ACL_RULES * RULE_WORDS;
  }

  /** Writer: replace a vif's rules (empty: no filter). */
  set(vif: number, rules: AclRuleWords[]): void {
    if (rules.length > MAX_ACL_RULES) throw new Error(`at most ${MAX_ACL_RULES} rules per interface`);
    rules.forEach((x, k) => {
      // decide() jumps there: only ahead, and at most just past the last rule
      if (x.skipTo !== undefined && (!Number.isInteger(x.skipTo) || x.skipTo <= k || x.skipTo > rules.length)) throw new Error(`rule ${k + 1}: skip target ${x.skipTo} is not after it`);
    });
    const old = this.desc[vif]!;
    if (this.l2Vifs.has(vif)) {
      this.setL2(vif, []);
      if (rules.length) this.set(vif, rules);
      return;
    }
    if (rules.length === 0) {
      if (old !== 0) {
        Atomics.store(this.desc, vif, 0);
        Atomics.sub(this.active, 0, 1);
      }
      return;
    }
    this.publish(vif, old, rules, (r, b, x) => {
      r[b + R_FAMILY] = x.family;
      r[b + R_PROTO] = x.proto;
      r[b + R_SRC_LEN] = x.srcLen;
      r[b + R_DST_LEN] = x.dstLen;
      r.set(x.src.subarray(0, 4), b + R_SRC);
      r.set(x.dst.subarray(0, 4), b + R_DST);
      r[b + R_SPORT] = ((x.sport[0] << 16) | x.sport[1]) >>> 0;
      r[b + R_DPORT] = ((x.dport[0] << 16) | x.dport[1]) >>> 0;
      if (x.skipTo !== undefined) {
        r[b + R_PERMIT] = ACT_SKIP;
        r[b + R_SKIP_TO] = x.skipTo;
      } else if (!x.permit && x.reject) r[b + R_PERMIT] = ACT_REJECT;
    });
    if (old === 0) Atomics.add(this.active, 0, 1);
  }

  /** Writer: replace a bridge port's rules (empty: no filter); never counted in `active`. */
  setL2(vif: number, rules: L2RuleWords[]): void {
    if (rules.length > MAX_ACL_RULES) throw new Error(`at most ${MAX_ACL_RULES} rules per interface`);
    if (!this.l2Vifs.has(vif) && this.desc[vif] !== 0) this.set(vif, []); // an inet filter goes
    const old = this.desc[vif]!;
    if (rules.length === 0) {
      Atomics.store(this.desc, vif, 0);
      this.l2Vifs.delete(vif);
      return;
    }
    this.publish(vif, old, rules, (r, b, x) => {
      r[b + R_FAMILY] = FAMILY_L2;
      // the MAC and address words stored masked, as decideL2 compares them
      r[b + L_MASK_HI] = ((x.smask[0] << 16) | x.dmask[0]) >>> 0;
      r[b + L_SMASK_LO] = x.smask[1] >>> 0;
      r[b + L_DMASK_LO] = x.dmask[1] >>> 0;
      r[b + L_SMAC] = x.smac[0] & x.smask[0];
      r[b + L_SMAC + 1] = (x.smac[1] & x.smask[1]) >>> 0;
      r[b + L_DMAC] = x.dmac[0] & x.dmask[0];
      r[b + L_DMAC + 1] = (x.dmac[1] & x.dmask[1]) >>> 0;
      r[b + L_VLAN_ETYPE] = (x.vlan | (x.etherType << 16)) >>> 0;
      const ip = x.ip;
      const b6 = b >>> 1;
      this.ip6.fill(0, b6, b6 + IP6_WORDS);
      if (ip) {
        const mask = (len: number) => (len <= 0 ? 0 : len >= 32 ? 0xffffffff : (0xffffffff << (32 - len)) >>> 0);
        if (ip.version === 6) {
          // the addresses masked, as matchPrefix compares them, in the ip6 area
          const put = (at: number, a: number | Uint32Array, len: number) => {
            for (let q = 0; q < 4; q++) this.ip6[at + q] = ((typeof a === 'number' ? 0 : a[q]!) & mask(len - 32 * q)) >>> 0;
          };
          put(b6, ip.src, ip.srcLen);
          put(b6 + 4, ip.dst, ip.dstLen);
          r[b + L_IP] = L_IP_V6 | (ip.nextHeader !== undefined && ip.nextHeader >= 0 ? L_NH_SET | (ip.nextHeader << 8) : 0);
        } else {
          r[b + L_IP_SRC] = ((typeof ip.src === 'number' ? ip.src : 0) & mask(ip.srcLen)) >>> 0;
          r[b + L_IP_DST] = ((typeof ip.dst === 'number' ? ip.dst : 0) & mask(ip.dstLen)) >>> 0;
          r[b + L_IP] = L_IP_V4;
        }
        r[b + L_IP_LENS] = (ip.srcLen | (ip.dstLen << 8) | (ip.proto << 16)) >>> 0;
        r[b + L_SPORT] = ((ip.sport[0] << 16) | ip.sport[1]) >>> 0;
        r[b + L_DPORT] = ((ip.dport[0] << 16) | ip.dport[1]) >>> 0;
      }
    });
    this.l2Vifs.add(vif);
  }

  /**
   * Writes `rules` (each zeroed, its action set, then `fill`) into the area of `vif` no
   * reader is told about (`old`: its descriptor) and publishes them.
   */
  private publish<T extends { permit: boolean }>(vif: number, old: number, rules: T[], fill: (r: Uint32Array, b: number, x: T) => void): void {
    const area = old === 0 ? 0 : 1 - (old >>> 16);
    const r = this.rules;
    let b = AclTable.base(vif, area);
    for (const x of rules) {
      r.fill(0, b, b + RULE_WORDS);
      r[b + R_PERMIT] = x.permit ? ACT_PERMIT : ACT_DENY;
      fill(r, b, x);
      b += RULE_WORDS;
    }
    Atomics.store(this.desc, vif, ((area << 16) | rules.length) >>> 0);
  }

  /** Whether the masked prefix at r[at..at+4) of length len covers the address a0..a3. */
  static matchPrefix(r: Uint32Array, at: number, len: number, a0: number, a1: number, a2: number, a3: number): boolean {
    for (let q = 0; q < 4 && len > q * 32; q++) {
      const bits = len - q * 32;
      const m = bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
      const a = q === 0 ? a0 : q === 1 ? a1 : q === 2 ? a2 : a3;
      if (((a & m) >>> 0) !== r[at + q]) return false;
    }
    return true;
  }
}
