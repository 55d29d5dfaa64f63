/**
 * Leaf types: each turns one word of configuration into its canonical stored value or throws
 * an Error whose message is the reason shown to the user (with the line and path added by
 * the caller).
 */
import { canonicalPrefix, parseCidr, tryParseIpv4, tryParseIpv6, formatIpv4, formatIpv6, parsePrefix } from '../../../lib/addr.js';
import type { LeafType } from './dsl.js';

function type(name: string, parse: (w: string) => string | number, values?: readonly string[]): LeafType {
  return values ? { name, parse, values } : { name, parse };
}

export const str: LeafType = type('string', (w) => {
  if (w.length > 1024) throw new Error('string longer than 1024 characters');
  return w;
});

/** Names of things (groups, policies, filters, instances): no spaces or quotes. */
export const name: LeafType = type('name', (w) => {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.:@+-]{0,127}$/.test(w)) {
    throw new Error(`invalid name '${w}' (letters, digits and _ . : @ + -, at most 128, not starting with a symbol)`);
  }
  return w;
});

/** A Linux network device name. */
export const ifname: LeafType = type('interface-name', (w) => {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.@:-]{0,14}$/.test(w)) {
    throw new Error(`invalid interface name '${w}' (a Linux netdev name: at most 15 characters, no '/' or spaces)`);
  }
  return w;
});

export const hostname: LeafType = type('hostname', (w) => {
  if (!/^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(w)) {
    throw new Error(`invalid host name '${w}'`);
  }
  return w;
});

export function uint(min: number, max: number): LeafType {
  return type(`integer ${min}..${max}`, (w) => {
    if (!/^\d+$/.test(w)) throw new Error(`'${w}' is not a number (${min}..${max})`);
    const n = Number(w);
    if (n < min || n > max) throw new Error(`${w} is out of range (${min}..${max})`);
    return n;
  });
}

export function enumOf(...values: string[]): LeafType {
  return type(values.join(' | '), (w) => {
    if (!values.includes(w)) throw new Error(`'${w}' is not one of: ${values.join(', ')}`);
    return w;
  }, values);
}

export const ipv4: LeafType = type('ipv4-address', (w) => {
  const v = tryParseIpv4(w);
  if (v === undefined) throw new Error(`invalid IPv4 address '${w}'`);
  return formatIpv4(v);
});

export const ipv6: LeafType = type('ipv6-address', (w) => {
  const v = tryParseIpv6(w);
  if (v === undefined) throw new Error(`invalid IPv6 address '${w}'`);
  return formatIpv6(v);
});

export const ip: LeafType = type('ip-address', (w) => {
  const v4 = tryParseIpv4(w);
  if (v4 !== undefined) return formatIpv4(v4);
  const v6 = tryParseIpv6(w);
  if (v6 !== undefined) return formatIpv6(v6);
  throw new Error(`invalid IP address '${w}'`);
});

function prefixType(tname: string, family: 4 | 6 | 0): LeafType {
  return type(tname, (w) => {
    let p: ReturnType<typeof parsePrefix>;
    try {
      p = parsePrefix(w);
    } catch (e) {
      throw new Error((e as Error).message);
    }
    if (family && p.family !== family) throw new Error(`'${w}' is not an IPv${family} prefix`);
    return canonicalPrefix(w);
  });
}

/** A route prefix; host bits are cleared, so 10.1.2.3/8 is stored as 10.0.0.0/8. */
export const prefix = prefixType('ip-prefix', 0);
export const prefix4 = prefixType('ipv4-prefix', 4);
export const prefix6 = prefixType('ipv6-prefix', 6);

/** An interface address with its length, host bits kept (10.0.0.1/24). */
function cidrType(tname: string, family: 4 | 6): LeafType {
  return type(tname, (w) => {
    let p: ReturnType<typeof parseCidr>;
    try {
      p = parseCidr(w);
    } catch (e) {
      throw new Error((e as Error).message);
    }
    if (p.family !== family) throw new Error(`'${w}' is not an IPv${family} address/length`);
    const addr = family === 4 ? formatIpv4(tryParseIpv4(w.slice(0, w.indexOf('/')))!) : formatIpv6(p.addr);
    return `${addr}/${p.len}`;
  });
}
export const cidr4 = cidrType('ipv4-address/length', 4);
export const cidr6 = cidrType('ipv6-address/length', 6);

/** An autonomous system number (4-byte, plain or asdot notation). */
export const asn: LeafType = type('as-number 1..4294967295', (w) => {
  const dot = /^(\d+)\.(\d+)$/.exec(w);
  const n = dot ? Number(dot[1]) * 65536 + Number(dot[2]) : /^\d+$/.test(w) ? Number(w) : NaN;
  if (dot && (Number(dot[1]) > 65535 || Number(dot[2]) > 65535)) throw new Error(`invalid AS number '${w}'`);
  if (!Number.isInteger(n) || n < 1 || n > 4294967295) throw new Error(`invalid AS number '${w}' (1..4294967295)`);
  return n;
});

function asnOrIpAndNumber(w: string, what: string, prefixWord = ''): string {
  const m = /^(.+):(\d+)$/.exec(w);
  if (!m) throw new Error(`invalid ${what} '${prefixWord}${w}' (expected ASN:number or IPv4:number)`);
  const [, admin, assigned] = m as unknown as [string, string, string];
  if (tryParseIpv4(admin) !== undefined) {
    if (Number(assigned) > 65535) throw new Error(`invalid ${what} '${prefixWord}${w}': number after an IPv4 address is 0..65535`);
    return w;
  }
  if (!/^\d+$/.test(admin) || Number(admin) > 4294967295) throw new Error(`invalid ${what} '${prefixWord}${w}'`);
  const limit = Number(admin) > 65535 ? 65535 : 4294967295;
  if (Number(assigned) > limit) throw new Error(`invalid ${what} '${prefixWord}${w}': assigned number too large`);
  return w;
}

export const routeDistinguisher: LeafType = type('route-distinguisher (ASN:n or IPv4:n)', (w) => asnOrIpAndNumber(w, 'route distinguisher'));

/** An extended route-target community, `target:65000:1` or `target:10.0.0.1:1`. */
export const routeTarget: LeafType = type('route-target (target:ASN:n or target:IPv4:n)', (w) => {
  if (!w.startsWith('target:')) throw new Error(`invalid route target '${w}' (expected target:ASN:n)`);
  asnOrIpAndNumber(w.slice(7), 'route target', 'target:');
  return w;
});

/** A community member: `65000:100`, `target:...`, `origin:...`, `large:A:B:C`, a well-known name, or a regex. */
export const communityMember: LeafType = type('community (A:B, target:A:B, large:A:B:C, no-export, ... or a regex)', (w) => {
  if (w.length === 0 || /\s/.test(w)) throw new Error(`invalid community '${w}'`);
  if (/^\d+:\d+$/.test(w)) {
    const [a, b] = w.split(':').map(Number) as [number, number];
    if (a > 65535 || b > 65535) throw new Error(`invalid community '${w}' (each half 0..65535)`);
  }
  if (w.startsWith('target:') || w.startsWith('origin:')) asnOrIpAndNumber(w.slice(w.indexOf(':') + 1), 'extended community', w.slice(0, w.indexOf(':') + 1));
  return w;
});

export const regex: LeafType = type('regular-expression', (w) => {
  try {
    new RegExp(w);
  } catch {
    throw new Error(`invalid regular expression '${w}'`);
  }
  return w;
});

/** `1000` or `1000-2000` or a well-known service name. */
const PORT_NAMES = ['bgp', 'ssh', 'telnet', 'http', 'https', 'domain', 'ntp', 'snmp', 'ftp', 'smtp', 'bfd', 'netconf', 'ldp'];
export const portMatch: LeafType = type('port (N, N-M, or a service name)', (w) => {
  if (PORT_NAMES.includes(w)) return w;
  const m = /^(\d+)(?:-(\d+))?$/.exec(w);
  if (!m || Number(m[1]) > 65535 || (m[2] !== undefined && (Number(m[2]) > 65535 || Number(m[2]) < Number(m[1])))) {
    throw new Error(`invalid port '${w}' (0..65535, a range N-M, or one of ${PORT_NAMES.join(', ')})`);
  }
  return w;
});

const PROTO_NAMES = ['icmp', 'icmp6', 'tcp', 'udp', 'gre', 'ospf', 'esp', 'ah', 'sctp', 'pim', 'vrrp', 'igmp'];
export const ipProtocol: LeafType = type(`ip-protocol (0..255 or ${PROTO_NAMES.join(', ')})`, (w) => {
  if (PROTO_NAMES.includes(w)) return w;
  if (/^\d+$/.test(w) && Number(w) <= 255) return w;
  throw new Error(`invalid protocol '${w}'`);
}, PROTO_NAMES);

/** `/24` */
export const prefixLength: LeafType = type('/length', (w) => {
  const m = /^\/(\d{1,3})$/.exec(w);
  if (!m || Number(m[1]) > 128) throw new Error(`invalid prefix length '${w}' (expected /N)`);
  return w;
});

/** `/16-/24` */
export const prefixLengthRange: LeafType = type('/min-/max', (w) => {
  const m = /^\/(\d{1,3})-\/(\d{1,3})$/.exec(w);
  if (!m || Number(m[1]) > Number(m[2]) || Number(m[2]) > 128) throw new Error(`invalid prefix length range '${w}' (expected /N-/M)`);
  return w;
});

/** `65001 65001` (for as-path-prepend) */
export const asPathText: LeafType = type('as-path (AS numbers separated by spaces)', (w) => {
  const parts = w.trim().split(/\s+/);
  for (const p of parts) asn.parse(p);
  return parts.join(' ');
});

/** `self`, `discard`, `reject` or an IP address */
export const policyNextHop: LeafType = type('self | discard | reject | ip-address', (w) => {
  if (w === 'self' || w === 'discard' || w === 'reject' || w === 'peer-address') return w;
  return ip.parse(w);
}, ['self', 'discard', 'reject', 'peer-address']);
