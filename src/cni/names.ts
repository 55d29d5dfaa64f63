/**
 * Deterministic names of one attachment (container id + ifname): the host end of the veth
 * (at most 15 characters, the kernel's limit), the controller configuration group, the MACs
 * of both ends. DEL, CHECK and GC recompute them, so they work even when the attachment
 * record is gone.
 *
 * The hash is FNV-1a run with four seeds (128 bits), not node:crypto: the names need
 * spread, not secrecy, and loading the crypto module costs more than the whole hash at
 * every plugin start.
 */

export interface AttachmentNames {
  /** 12 hex digits of the hash of containerId/ifname */
  shortId: string;
  hostVeth: string;
  group: string;
  hostMac: string;
  podMac: string;
}

function fnv1a(text: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // final avalanche (murmur3 fmix32), so neighbouring ids differ in every digit
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

function hashBytes(text: string): Uint8Array {
  const out = new Uint8Array(16);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < 4; i++) dv.setUint32(i * 4, fnv1a(text, Math.imul(i + 1, 0x9e3779b9)));
  return out;
}

function hex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

function mac(bytes: Uint8Array): string {
  const b = [...bytes];
  // locally administered, unicast
  b[0] = (b[0]! & 0xfc) | 0x02;
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export function attachmentNames(containerId: string, ifname: string): AttachmentNames {
  const h = hashBytes(`${containerId}/${ifname}`);
  const shortId = hex(h.subarray(0, 6));
  return {
    shortId,
    hostVeth: `cnr${shortId}`,
    group: `cni-${shortId}`,
    hostMac: mac(h.subarray(6, 12)),
    podMac: mac(new Uint8Array([h[12]!, h[13]!, h[14]!, h[15]!, h[0]! ^ h[7]!, h[1]! ^ h[8]!])),
  };
}
