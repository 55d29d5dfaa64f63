/**
 * Packet I/O drivers. Each attached interface has one driver; a worker polls all of its
 * drivers' receive sides, runs the burst through the graph and hands the frames to send
 * back to the drivers. Frames live in a PacketPool slot from receive until transmit or drop.
 * Implementations: af-packet.ts (PACKET_MMAP TPACKET_V2 rings via koffi), tap.ts
 * (/dev/net/tun), memory.ts (tests and the in-memory benchmark).
 */
import type { PacketPool } from '../pool.js';
import type { CarriedRx } from './gso.js';

/**
 * What a driver lost or reshaped on its own side of the graph, cumulative since it opened:
 * the engine copies these into the shared counters (per vif, and the drops by reason), so
 * `cnr vif --list`, `cnr dropstats` and the metrics show them. Every field is a count of frames.
 */
export interface IoCounters {
  /** frames the kernel dropped before we saw them: ring full, or refused (PACKET_STATISTICS tp_drops, XDP rx_dropped + rx_ring_full) */
  kernelDrops: number;
  /** received frames larger than a packet buffer */
  rxTooBig: number;
  /** received frames dropped for want of a free packet buffer */
  rxNoBuffer: number;
  /** GSO super-frames of a kind not segmented, or with unparsable headers */
  gsoUnsupported: number;
  /** descriptors the kernel refused as invalid (AF_XDP) */
  invalidDescs: number;
  /** frames txBurst refused because the ring was full (the graph also counts them as tx_full) */
  txRingFull: number;
  /** super-frames received and cut into segments */
  gsoFrames: number;
  /** segments made from them */
  gsoSegments: number;
  /** partial checksums completed in software */
  csumCompleted: number;
  /** receive polls that found the pool empty and left frames waiting in the ring (AF_XDP; not drops until the ring overflows) */
  poolEmpty: number;
  /** times the kernel found the fill ring empty (XDP_STATISTICS rx_fill_ring_empty_descs) and the TX ring empty when kicked (tx_ring_empty_descs) */
  fillRingEmpty: number;
  txRingEmpty: number;
  /** GSO super-frames sent (AF_PACKET's merged TCP segments, vhost0's toward the host), and the segments they carried */
  txGsoFrames: number;
  txGsoSegments: number;
  /** super-frames received and carried through the graph whole (io/super-frame.ts), and the segments they stood for; drivers that never carry leave them out */
  carried?: number;
  carriedSegments?: number;
  /** carried super-frames sent whole (txSuper), and the segments they stood for */
  txCarried?: number;
  txCarriedSegments?: number;
}

export interface IoDriver {
  /** the Linux netdev name (af-packet, tap) or a label (memory) */
  readonly name: string;
  /** the netdev's own MAC as the kernel knows it */
  readonly hwaddr: Uint8Array;
  /**
   * Receive up to `max` frames without blocking. Each frame is copied into a slot taken from
   * `pool`; its index is written to out[0..n). Returns n (0 when nothing is waiting or the
   * pool is empty).
   */
  rxBurst(pool: PacketPool, out: Uint32Array, max: number): number;
  /**
   * Queue out[start..start+count) for transmission and return their slots to the pool
   * (a frame the ring has no room for is dropped and counted by the caller via the return
   * value: the number actually queued).
   */
  txBurst(pool: PacketPool, idx: Uint32Array, start: number, count: number): number;
  /**
   * Send the TCP super-frame carried whole in pool slot `slot` (io/super-frame.ts) as one GSO
   * frame, after everything txBurst queued before it; returns the segments it stands for, or 0
   * when it was not sent (the caller cuts it and queues the segments). Does not free the slot.
   * Only drivers whose far side takes GSO frames have it (vhost0's TAP, AF_PACKET with the GSO
   * send); the others get segments.
   */
  txSuper?(pool: PacketPool, slot: number): number;
  /** Segments and bytes of carried super-frames received beyond their one slot each (io/gso.ts), for the graph's receive counters. */
  readonly carriedRx?: CarriedRx;
  /**
   * Let the driver carry received TCP super-frames whole (io/super-frame.ts) while `when()` says
   * so (asked per super-frame); drivers without it always cut them. A driver that carried one
   * in a burst says so by carriedRx (the engine then runs that burst without the fast path,
   * which handles no super-frame).
   */
  setCarry?(when: (() => boolean) | null): void;
  /** Make the kernel send what txBurst queued (one syscall per burst, not per frame). */
  flush(): void;
  /** Cumulative I/O counters (drivers without any leave it out). May make a syscall: not per burst. */
  ioCounters?(): IoCounters;
  /** A file descriptor that becomes readable when frames arrive, for poll() when idle; -1 if none. */
  readonly fd: number;
  /**
   * Called by a worker whose poll() returned with `fd` readable, before its next turn: a
   * driver whose fd stays readable until it is read (memif's interrupt eventfd) clears it
   * here, once per wake-up, instead of looking on every idle turn. Optional.
   */
  woke?(): void;
  close(): void;
}
