/**
 * IPv4 unicast UPDATEs written straight from prefix values (lib/addr ipv4PrefixCodes, the
 * Loc-RIB's keys): the outbound hot path. packUpdates/packWithdrawals take prefix text, which
 * the sender had to format and the packer to parse again, byte by byte through a ByteWriter;
 * here one pass sizes the messages, a second writes them all into one buffer, and each
 * message is a view of it. Full messages: as many NLRI as fit in 4096 octets, or 65535 with
 * extended messages (RFC 8654). Without ADD-PATH (the caller keeps the general packer for it).
 */
import { prefixCodeLength } from '../../lib/addr.js';
import { HEADER_LENGTH, MessageType, writeHeader } from './header.js';
import { maxMessageLength, type SessionOptions } from './options.js';

/** Whether every key is an ipv4PrefixCode (a number), so the value packers below apply. */
export function allIpv4Codes(keys: readonly (number | string)[]): keys is readonly number[] {
  for (let i = 0; i < keys.length; i++) if (typeof keys[i] !== 'number') return false;
  return true;
}

/**
 * Messages of `fixed` octets before the NLRI each, filled with as many prefixes as fit in
 * `max`; `head` writes a message's fixed part (header included) at an offset given its length.
 */
function pack(codes: readonly number[], fixed: number, max: number, head: (buf: Uint8Array, off: number, msgLen: number, nlriLen: number) => void): Uint8Array[] {
  const room = max - fixed;
  if (room < 5) throw new Error('attribute block too large for one message');
  // pass 1: where each message ends (index of its first prefix after it), and the total size
  const ends: number[] = [];
  let used = 0;
  let total = 0;
  for (let i = 0; i < codes.length; i++) {
    const n = 1 + ((prefixCodeLength(codes[i]!) + 7) >> 3);
    if (used + n > room) {
      ends.push(i);
      total += fixed + used;
      used = 0;
    }
    used += n;
  }
  if (used > 0) {
    ends.push(codes.length);
    total += fixed + used;
  }
  // pass 2: write
  const buf = new Uint8Array(total);
  const out: Uint8Array[] = [];
  let off = 0;
  let i = 0;
  for (const end of ends) {
    let p = off + fixed;
    for (; i < end; i++) {
      const code = codes[i]!;
      const len = prefixCodeLength(code);
      const addr = len === 0 ? 0 : ((code - (len <= 30 ? 1 << len : 2 ** len)) * 2 ** (32 - len)) >>> 0;
      buf[p++] = len;
      const n = (len + 7) >> 3;
      for (let k = 0; k < n; k++) buf[p++] = (addr >>> (24 - 8 * k)) & 0xff;
    }
    head(buf, off, p - off, p - off - fixed);
    out.push(buf.subarray(off, p));
    off = p;
  }
  return out;
}

/** UPDATEs announcing IPv4 unicast prefixes (ipv4PrefixCodes) with the attribute block `block` (from encodeAttributeBlock, NEXT_HOP in it). */
export function packIpv4Updates(block: Uint8Array, codes: readonly number[], o: SessionOptions): Uint8Array[] {
  const fixed = HEADER_LENGTH + 2 + 2 + block.length;
  return pack(codes, fixed, maxMessageLength(o), (buf, off, msgLen) => {
    writeHeader(buf, off, msgLen, MessageType.Update);
    buf[off + HEADER_LENGTH] = 0; // no withdrawn routes
    buf[off + HEADER_LENGTH + 1] = 0;
    buf[off + HEADER_LENGTH + 2] = block.length >>> 8;
    buf[off + HEADER_LENGTH + 3] = block.length & 0xff;
    buf.set(block, off + HEADER_LENGTH + 4);
  });
}

/** UPDATEs withdrawing IPv4 unicast prefixes (ipv4PrefixCodes). */
export function packIpv4Withdrawals(codes: readonly number[], o: SessionOptions): Uint8Array[] {
  const fixed = HEADER_LENGTH + 2;
  const msgs = pack(codes, fixed + 2, maxMessageLength(o), (buf, off, msgLen, nlriLen) => {
    writeHeader(buf, off, msgLen, MessageType.Update);
    buf[off + HEADER_LENGTH] = nlriLen >>> 8;
    buf[off + HEADER_LENGTH + 1] = nlriLen & 0xff;
  });
  // the withdrawn routes come first and the (empty) attribute length after them: move the NLRI
  // two octets back, then write the zero length at the end
  for (const m of msgs) {
    m.copyWithin(fixed, fixed + 2);
    m[m.length - 2] = 0;
    m[m.length - 1] = 0;
  }
  return msgs;
}
