/**
 * Bridge port filters (`firewall family bridge`, input and output, docs/l2.md): the API's
 * terms checked and turned into the ACL table's L2 rule words (tables/acl-table.ts setL2;
 * IPv4 or IPv6 payload fields, one version per term),
 * and back into the canonical form listAcls shows. Kept apart from dataplane.ts, which only
 * stores them.
 */
import { AddressError, formatMac, formatPrefix, parseMac, parsePrefix, type Prefix } from '../lib/addr.js';
import type { BridgeFilterTerm } from './api.js';
import { ALL_PORTS, MAX_ACL_RULES, PROTO_ANY, type L2RuleWords } from './tables/acl-table.js';

const PROTOCOLS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, icmp6: 58, sctp: 132 };

/** A MAC with an optional /len (0..48) as [hi16, lo32] words and their mask. */
function macMatch(s: string, why: (m: string) => Error): { mac: [number, number]; mask: [number, number]; text: string } {
  const m = /^([^/]+)(?:\/(\d{1,2}))?$/.exec(String(s));
  const len = m?.[2] !== undefined ? Number(m[2]) : 48;
  if (!m || len > 48) throw why(`invalid MAC match '${s}' (MAC or MAC/0..48)`);
  let b: Uint8Array;
  try {
    b = parseMac(m[1]!);
  } catch (e) {
    if (e instanceof AddressError) throw why(e.message);
    throw e;
  }
  // the 48-bit mask, as hi16 and lo32
  const hiBits = Math.min(len, 16);
  const loBits = Math.max(len - 16, 0);
  const mask: [number, number] = [hiBits === 0 ? 0 : (0xffff << (16 - hiBits)) & 0xffff, loBits === 0 ? 0 : (0xffffffff << (32 - loBits)) >>> 0];
  const mac: [number, number] = [((b[0]! << 8) | b[1]!) & mask[0], (((b[2]! << 24) | (b[3]! << 16) | (b[4]! << 8) | b[5]!) & mask[1]) >>> 0];
  const canon = Uint8Array.of(mac[0] >>> 8, mac[0] & 0xff, mac[1] >>> 24, (mac[1] >>> 16) & 0xff, (mac[1] >>> 8) & 0xff, mac[1] & 0xff);
  return { mac, mask, text: `${formatMac(canon)}/${len}` };
}

/** The table words of a filter's terms, and the terms in canonical form (MACs masked, with /len). Throws `bad(why)`. */
export function bridgeFilterRules(terms: BridgeFilterTerm[], bad: (why: string) => Error): { words: L2RuleWords[]; canonical: BridgeFilterTerm[] } {
  if (!Array.isArray(terms)) throw bad('the input filter must be a list of terms');
  if (terms.length > MAX_ACL_RULES) throw bad(`too many filter terms (max ${MAX_ACL_RULES})`);
  const words: L2RuleWords[] = [];
  const canonical: BridgeFilterTerm[] = [];
  terms.forEach((t, k) => {
    const at = (why: string) => bad(`filter term ${t?.name ?? k + 1}: ${why}`);
    if (!t || (t.action !== 'accept' && t.action !== 'discard')) throw at('action must be accept or discard');
    const c: BridgeFilterTerm = { action: t.action };
    if (t.name !== undefined) c.name = String(t.name);
    const w: L2RuleWords = { permit: t.action === 'accept', smac: [0, 0], smask: [0, 0], dmac: [0, 0], dmask: [0, 0], vlan: 0, etherType: 0 };
    if (t.srcMac !== undefined) {
      const m = macMatch(t.srcMac, at);
      [w.smac, w.smask, c.srcMac] = [m.mac, m.mask, m.text];
    }
    if (t.dstMac !== undefined) {
      const m = macMatch(t.dstMac, at);
      [w.dmac, w.dmask, c.dstMac] = [m.mac, m.mask, m.text];
    }
    if (t.vlan !== undefined) {
      if (!Number.isInteger(t.vlan) || t.vlan < 1 || t.vlan > 4094) throw at(`invalid VLAN ${String(t.vlan)} (1..4094)`);
      w.vlan = c.vlan = t.vlan;
    }
    if (t.etherType !== undefined) {
      if (!Number.isInteger(t.etherType) || t.etherType < 0x600 || t.etherType > 0xffff) throw at(`invalid EtherType ${String(t.etherType)} (0x0600..0xffff)`);
      w.etherType = c.etherType = t.etherType;
    }
    ipFields(t, w, c, at);
    if (t.count !== undefined) c.count = String(t.count);
    words.push(w);
    canonical.push(c);
  });
  return { words, canonical };
}

/** A term's IP fields into w.ip (and canonical into c), if it has any. */
function ipFields(t: BridgeFilterTerm, w: L2RuleWords, c: BridgeFilterTerm, at: (why: string) => Error): void {
  if (t.srcIp === undefined && t.dstIp === undefined && t.ipProtocol === undefined && t.srcPort === undefined && t.dstPort === undefined && t.nextHeader === undefined && t.icmpType === undefined && t.ipVersion === undefined) return;
  const parse = (v: string, what: string): Prefix => {
    try {
      return parsePrefix(String(v));
    } catch (e) {
      throw at(`invalid ${what} '${String(v)}': ${(e as Error).message}`);
    }
  };
  const src = t.srcIp !== undefined ? parse(t.srcIp, 'source address') : undefined;
  const dst = t.dstIp !== undefined ? parse(t.dstIp, 'destination address') : undefined;
  if (t.ipVersion !== undefined && t.ipVersion !== 4 && t.ipVersion !== 6) throw at(`invalid IP version ${String(t.ipVersion)} (4 or 6)`);
  const version: 4 | 6 = t.ipVersion ?? (src?.family === 6 || dst?.family === 6 || t.nextHeader !== undefined ? 6 : 4);
  for (const [p, what] of [[src, 'source address'], [dst, 'destination address']] as const) {
    if (p && p.family !== version) throw at(`${what} ${formatPrefix(p)} is not IPv${version} (the term's other IP fields are)`);
  }
  if (version === 4 && t.nextHeader !== undefined) throw at('a next header is an IPv6 field (the term is IPv4)');
  if (t.etherType !== undefined && t.etherType !== (version === 4 ? 0x0800 : 0x86dd)) throw at(`IPv${version} fields match IPv${version} frames only, not EtherType 0x${t.etherType.toString(16).padStart(4, '0')}`);
  const words = (p: Prefix | undefined): number | Uint32Array => {
    if (!p) return 0;
    const a = p.addr;
    if (version === 4) return ((a[0]! << 24) | (a[1]! << 16) | (a[2]! << 8) | a[3]!) >>> 0;
    const v = new Uint32Array(4);
    for (let q = 0; q < 4; q++) v[q] = ((a[4 * q]! << 24) | (a[4 * q + 1]! << 16) | (a[4 * q + 2]! << 8) | a[4 * q + 3]!) >>> 0;
    return v;
  };
  const ip: NonNullable<L2RuleWords['ip']> = { version, src: words(src), srcLen: src?.len ?? 0, dst: words(dst), dstLen: dst?.len ?? 0, proto: PROTO_ANY, sport: [0, ALL_PORTS], dport: [0, ALL_PORTS] };
  if (version === 6) c.ipVersion = 6;
  if (src) c.srcIp = formatPrefix(src);
  if (dst) c.dstIp = formatPrefix(dst);
  const protocol = (v: number | string, what: string): number => {
    const n = typeof v === 'number' ? v : (PROTOCOLS[v] ?? (/^\d+$/.test(v) ? Number(v) : -1));
    if (!Number.isInteger(n) || n < 0 || n > 255) throw at(`invalid ${what} '${String(v)}'`);
    return n;
  };
  if (t.ipProtocol !== undefined) ip.proto = c.ipProtocol = protocol(t.ipProtocol, 'IP protocol');
  if (t.nextHeader !== undefined) ip.nextHeader = c.nextHeader = protocol(t.nextHeader, 'next header');
  const range = (v: number | [number, number], what: string, max: number): [number, number] => {
    const [lo, hi] = Array.isArray(v) ? v : [v, v];
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 0 || hi > max || lo > hi) throw at(`invalid ${what} ${JSON.stringify(v)}`);
    return [lo, hi];
  };
  const canon = ([lo, hi]: [number, number]): number | [number, number] => (lo === hi ? lo : [lo, hi]);
  if (t.srcPort !== undefined) c.srcPort = canon((ip.sport = range(t.srcPort, 'source port', 0xffff)));
  if (t.dstPort !== undefined) c.dstPort = canon((ip.dport = range(t.dstPort, 'destination port', 0xffff)));
  const ported = t.srcPort !== undefined || t.dstPort !== undefined;
  if (ported && ip.proto !== PROTO_ANY && ip.proto !== 6 && ip.proto !== 17 && ip.proto !== 132) throw at(`ports need protocol tcp, udp or sctp (or none), not ${ip.proto}`);
  if (t.icmpType !== undefined) {
    // the type range goes in the source-port word, as the frame's type comes (bridge-filter.ts)
    const icmp = version === 4 ? 1 : 58;
    if (ported) throw at('ICMP has no ports (an ICMP type beside source or destination ports)');
    if (ip.proto !== PROTO_ANY && ip.proto !== icmp) throw at(`an ICMP type needs protocol ${icmp} (${version === 4 ? 'icmp' : 'icmp6'}), not ${ip.proto}`);
    ip.proto = c.ipProtocol = icmp;
    c.icmpType = canon((ip.sport = range(t.icmpType, 'ICMP type', 255)));
  }
  w.ip = ip;
}
