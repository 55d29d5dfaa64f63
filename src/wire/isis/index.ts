/**
 * IS-IS on the wire, as pure codecs (no sockets, timers or logging):
 * - frame.ts: 802.3 + LLC framing and the multicast destinations;
 * - pdu.ts: the common header and the five PDU kinds (hellos, LSP, CSNP, PSNP), with the LSP
 *   checksum (checksum.ts) and HMAC-MD5 digests computed on encode;
 * - tlv.ts and subtlv.ts: the TLVs and sub-TLVs, including segment routing (RFC 8667);
 * - auth.ts: checking a received PDU's authentication against a key;
 * - pack.ts: splitting long lists over TLVs, padding hellos, dealing TLVs into LSP fragments;
 * - ids.ts: system, node and LSP IDs and area addresses as checked values.
 * Decoding returns values or an IsisError naming the PDU, TLV and offset; encoding writes into
 * a caller's ByteWriter (src/lib/bytes.ts).
 */
export * from './auth.js';
export * from './checksum.js';
export * from './errors.js';
export * from './frame.js';
export * from './ids.js';
export * from './pdu.js';
export * from './subtlv.js';
export * from './tlv.js';
export * from './pack.js';
