/**
 * Bridge port input filters (`firewall family bridge`, docs/l2.md): the API's terms checked
 * and turned into the ACL table's L2 rule words (tables/acl-table.ts setL2), and back into
 * the canonical form listAcls shows. Kept apart from dataplane.ts, which only stores them.
 */
import { AddressError, formatMac, parseMac } from '../lib/addr.js';
import type { BridgeFilterTerm } from './api.js';
import { MAX_ACL_RULES, type L2RuleWords } from './tables/acl-table.js';

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
    if (t.count !== undefined) c.count = String(t.count);
    words.push(w);
    canonical.push(c);
  });
  return { words, canonical };
}
