/**
 * Deterministic names of one attachment (container id + ifname): the host end of the veth
 * (at most 15 characters, the kernel's limit), the controller configuration group, the MACs
 * of both ends. DEL, CHECK and GC recompute them, so they work even when the attachment
 * record is gone.
 */
import { createHash } from 'node:crypto';

export interface AttachmentNames {
  /** 12 hex digits of sha256(containerId/ifname) */
  shortId: string;
  hostVeth: string;
  group: string;
  hostMac: string;
  podMac: string;
}

function mac(bytes: Buffer, off: number): string {
  const b = [...bytes.subarray(off, off + 6)];
  // locally administered, unicast
  b[0] = (b[0]! & 0xfc) | 0x02;
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export function attachmentNames(containerId: string, ifname: string): AttachmentNames {
  const h = createHash('sha256').update(`${containerId}/${ifname}`).digest();
  const shortId = h.subarray(0, 6).toString('hex');
  return {
    shortId,
    hostVeth: `cnr${shortId}`,
    group: `cni-${shortId}`,
    hostMac: mac(h, 8),
    podMac: mac(h, 16),
  };
}
