/**
 * Bridge port filters (`firewall family bridge`, input and output, docs/l2.md): the API's
 * terms checked and turned into the ACL table's L2 rule words (tables/acl-table.ts setL2),
 * and back into the canonical form listAcls shows. Kept apart from dataplane.ts, which only
 * stores them.
 */
import { AddressError, formatMac, formatPrefix, parseMac, parsePrefix, type Prefix } from '../lib/addr.js';
import type { BridgeFilterTerm } from './api.js';
import { ALL_PORTS, MAX_ACL_RULES, PROTO_ANY, type L2RuleWords } from './tables/acl-table.js';

const PROTOCOLS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, sctp: 132 };

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

/** A term's IPv4 fields into w.ip (and canonical into c), if it has any. */
function ipFields(t: BridgeFilterTerm, w: L2RuleWords, c: BridgeFilterTerm, at: (why: string) => Error): void {
  if (t.srcIp === undefined && t.dstIp === undefined && t.ipProtocol === undefined && t.srcPort === undefined && t.dstPort === undefined) return;
  const prefix = (v: string, what: string): { n: number; len: number; text: string } => {
    let p: Prefix;
    try {
      p = parsePrefix(String(v));
    } catch (e) {
      throw at(`invalid ${what} '${String(v)}': ${(e as Error).message}`);
    }
    if (p.family !== 4) throw at(`${what} ${String(v)} is not IPv4`);
    const n = ((p.addr[0]! << 24) | (p.addr[1]! << 16) | (p.addr[2]! << 8) | p.addr[3]!) >>> 0;
    return { n, len: p.len, text: formatPrefix(p) };
  };
  const ip: NonNullable<L2RuleWords['ip']> = { src: 0, srcLen: 0, dst: 0, dstLen: 0, proto: PROTO_ANY, sport: [0, ALL_PORTS], dport: [0, ALL_PORTS] };
  if (t.srcIp !== undefined) ({ n: ip.src, len: ip.srcLen, text: c.srcIp } = prefix(t.srcIp, 'source address'));
  if (t.dstIp !== undefined) ({ n: ip.dst, len: ip.dstLen, text: c.dstIp } = prefix(t.dstIp, 'destination address'));
  if (t.ipProtocol !== undefined) {
    const v = t.ipProtocol;
    const n = typeof v === 'number' ? v : (PROTOCOLS[v] ?? (/^\d+$/.test(v) ? Number(v) : -1));
    if (!Number.isInteger(n) || n < 0 || n > 255) throw at(`invalid IP protocol '${String(v)}'`);
    ip.proto = n;
    c.ipProtocol = n;
  }
  const range = (v: number | [number, number], what: string): [number, number] => {
    const [lo, hi] = Array.isArray(v) ? v : [v, v];
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 0 || hi > 0xffff || lo > hi) throw at(`invalid ${what} ${JSON.stringify(v)}`);
    return [lo, hi];
  };
  const canon = ([lo, hi]: [number, number]): number | [number, number] => (lo === hi ? lo : [lo, hi]);
  if (t.srcPort !== undefined) c.srcPort = canon((ip.sport = range(t.srcPort, 'source port')));
  if (t.dstPort !== undefined) c.dstPort = canon((ip.dport = range(t.dstPort, 'destination port')));
  w.ip = ip;
}
