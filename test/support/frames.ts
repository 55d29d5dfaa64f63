/**
 * Frame builders for the data plane's tests, the fuzzer and the pipeline benchmark: plain
 * byte layouts with correct checksums, independent of the graph's own code.
 */
import { parseIp, parseMac } from '../../src/lib/addr.js';

export function mac(s: string): Uint8Array {
  return parseMac(s);
}

export function ip(s: string): Uint8Array {
  return parseIp(s).bytes;
}

function sum(b: Uint8Array, off: number, len: number, init = 0): number {
  let s = init;
  let i = 0;
  for (; i + 1 < len; i += 2) s += (b[off + i]! << 8) | b[off + i + 1]!;
  if (i < len) s += b[off + i]! << 8;
  return s;
}

export function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return ~s & 0xffff;
}

export function checksum(b: Uint8Array, off = 0, len = b.length - off): number {
  return fold(sum(b, off, len));
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

export function eth(dst: string | Uint8Array, src: string | Uint8Array, type: number, payload: Uint8Array, vlan?: number): Uint8Array {
  const h = new Uint8Array(vlan ? 18 : 14);
  h.set(typeof dst === 'string' ? mac(dst) : dst, 0);
  h.set(typeof src === 'string' ? mac(src) : src, 6);
  if (vlan) {
    h[12] = 0x81; h[13] = 0; h[14] = vlan >> 8; h[15] = vlan & 255; h[16] = type >> 8; h[17] = type & 255;
  } else {
    h[12] = type >> 8; h[13] = type & 255;
  }
  return concat(h, payload);
}

export interface Ip4Opts { src: string; dst: string; ttl?: number; proto?: number; df?: boolean; id?: number; tos?: number; payload?: Uint8Array; options?: Uint8Array }

export function ipv4(o: Ip4Opts): Uint8Array {
  const opt = o.options ?? new Uint8Array(0);
  const ihl = 20 + opt.length;
  const payload = o.payload ?? new Uint8Array(0);
  const b = new Uint8Array(ihl + payload.length);
  b[0] = 0x40 | (ihl / 4); b[1] = o.tos ?? 0;
  b[2] = b.length >> 8; b[3] = b.length & 255;
  b[4] = (o.id ?? 0) >> 8; b[5] = (o.id ?? 0) & 255;
  b[6] = o.df ? 0x40 : 0;
  b[8] = o.ttl ?? 64; b[9] = o.proto ?? 17;
  b.set(ip(o.src), 12); b.set(ip(o.dst), 16);
  b.set(opt, 20);
  const c = checksum(b, 0, ihl);
  b[10] = c >> 8; b[11] = c & 255;
  b.set(payload, ihl);
  return b;
}

export function udp(sport: number, dport: number, payload: Uint8Array = new Uint8Array(18)): Uint8Array {
  const b = new Uint8Array(8 + payload.length);
  b[0] = sport >> 8; b[1] = sport & 255; b[2] = dport >> 8; b[3] = dport & 255;
  b[4] = b.length >> 8; b[5] = b.length & 255;
  b.set(payload, 8);
  return b;
}

export function icmpEcho(type: number, id = 1, seq = 1, data: Uint8Array = new Uint8Array(8)): Uint8Array {
  const b = new Uint8Array(8 + data.length);
  b[0] = type; b[4] = id >> 8; b[5] = id & 255; b[6] = seq >> 8; b[7] = seq & 255;
  b.set(data, 8);
  const c = checksum(b);
  b[2] = c >> 8; b[3] = c & 255;
  return b;
}

export interface Ip6Opts { src: string; dst: string; hlim?: number; next?: number; payload?: Uint8Array }

export function ipv6(o: Ip6Opts): Uint8Array {
  const payload = o.payload ?? new Uint8Array(0);
  const b = new Uint8Array(40 + payload.length);
  b[0] = 0x60;
  b[4] = payload.length >> 8; b[5] = payload.length & 255;
  b[6] = o.next ?? 17; b[7] = o.hlim ?? 64;
  b.set(ip(o.src), 8); b.set(ip(o.dst), 24);
  b.set(payload, 40);
  return b;
}

/** An IPv6 packet carrying ICMPv6 `msg` (checksum filled). */
export function ipv6Icmp(src: string, dst: string, msg: Uint8Array, hlim = 64): Uint8Array {
  const m = new Uint8Array(msg);
  m[2] = 0; m[3] = 0;
  const s = sum(ip(src), 0, 16) + sum(ip(dst), 0, 16) + m.length + 58;
  const c = fold(sum(m, 0, m.length, s));
  m[2] = c >> 8; m[3] = c & 255;
  return ipv6({ src, dst, hlim, next: 58, payload: m });
}

export function icmp6Valid(pkt: Uint8Array): boolean {
  const len = (pkt[4]! << 8) | pkt[5]!;
  const s = sum(pkt, 8, 32) + len + 58;
  return fold(sum(pkt, 40, len, s)) === 0;
}

export function neighborSolicit(target: string, srcMac: string): Uint8Array {
  const m = new Uint8Array(32);
  m[0] = 135;
  m.set(ip(target), 8);
  m[24] = 1; m[25] = 1; m.set(mac(srcMac), 26);
  return m;
}

export function neighborAdvert(target: string, tgtMac: string, flags = 0x60): Uint8Array {
  const m = new Uint8Array(32);
  m[0] = 136; m[4] = flags;
  m.set(ip(target), 8);
  m[24] = 2; m[25] = 1; m.set(mac(tgtMac), 26);
  return m;
}

export function solicitedNode(target: string): string {
  const t = ip(target);
  const h = (x: number) => x.toString(16).padStart(2, '0');
  return `ff02::1:ff${h(t[13]!)}:${h(t[14]!)}${h(t[15]!)}`;
}

export function arp(op: 1 | 2, sha: string, spa: string, tha: string, tpa: string): Uint8Array {
  const b = new Uint8Array(28);
  b[1] = 1; b[2] = 8; b[4] = 6; b[5] = 4; b[7] = op;
  b.set(mac(sha), 8); b.set(ip(spa), 14); b.set(mac(tha), 18); b.set(ip(tpa), 24);
  return b;
}

/** A label stack entry list (outermost first); the last gets bottom-of-stack unless bos=false. */
export function mpls(labels: number[], ttl: number, payload: Uint8Array, bos = true): Uint8Array {
  const b = new Uint8Array(labels.length * 4);
  labels.forEach((l, k) => {
    const w = ((l << 12) | (bos && k === labels.length - 1 ? 0x100 : 0) | ttl) >>> 0;
    b[k * 4] = w >>> 24; b[k * 4 + 1] = (w >>> 16) & 255; b[k * 4 + 2] = (w >>> 8) & 255; b[k * 4 + 3] = w & 255;
  });
  return concat(b, payload);
}

export function readLabels(b: Uint8Array, off: number): { label: number; s: number; ttl: number }[] {
  const out: { label: number; s: number; ttl: number }[] = [];
  for (let o = off; o + 4 <= b.length; o += 4) {
    const w = ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
    out.push({ label: w >>> 12, s: (w >>> 8) & 1, ttl: w & 255 });
    if ((w >>> 8) & 1) break;
  }
  return out;
}

export function hex(b: Uint8Array, off: number, len: number): string {
  return Array.from(b.subarray(off, off + len), (x) => x.toString(16).padStart(2, '0')).join(':');
}

export function ipAt(b: Uint8Array, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}
