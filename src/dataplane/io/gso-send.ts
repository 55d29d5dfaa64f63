/**
 * GSO super-frames out of AF_PACKET (io/af-packet.ts's transmit side): consecutive TCP segments
 * of one flow in a transmit burst are merged into one super-frame (io/tcp-coalesce.ts, the
 * rules of Linux's tcp_gro_receive) and sent with a virtio_net_hdr that asks for GSO, so the
 * netdev takes one skb of up to 64 KiB instead of ~45: a veth hands it whole to its peer, whose
 * TCP receives it once (that receive runs in our sending thread: a veth's transmit is its
 * peer's receive), and a NIC with TSO cuts it in hardware. Where the netdev cannot take it
 * (TSO off), the kernel's own GSO cuts it before the driver, in C, into exactly the segments
 * the graph forwarded (gso_size is their payload size).
 *
 * Why a second socket: a 64 KiB frame does not fit a TX ring frame, and once a packet socket
 * has a TX ring every sendmsg() on it sends from the ring (packet_sendmsg -> tpacket_snd),
 * never from the caller's buffer. So the super-frame goes through a ring-less packet socket
 * bound to the same netdev with protocol 0 (it receives nothing), with PACKET_VNET_HDR and
 * PACKET_QDISC_BYPASS like the ring's socket: the same dev_direct_xmit path. The ring is kicked
 * first, so frames queued before the super-frame leave before it.
 *
 * What is never merged, and why each rule holds (GSO is only a shorter way of sending the
 * segments the graph already forwarded one by one):
 * - anything but plain TCP over IPv4/IPv6 directly in Ethernet (the coalescer parses only
 *   that): 802.1Q-tagged frames, MPLS-encapsulated ones (labels, MPLS over UDP) and every
 *   other protocol go into the ring as they are;
 * - filters, TTL, ICMP too-big / PMTU: the graph applied them to every segment before
 *   transmit; each segment fit the out MTU, and the super-frame's gso_size is the first
 *   segment's payload, so the wire carries segments of the same sizes;
 * - a segment whose TCP checksum is wrong ends the run and is sent alone (the merged frame's
 *   checksum is recomputed by the kernel or NIC and would hide it); segments io/gso.ts cut
 *   from a super-frame (PF_CSUM_SELF) are not verified again;
 * - memif, AF_XDP and TAP pods: other drivers, not this path (the TAP merges for the host's
 *   GRO-like receive itself, io/tap.ts).
 * When the send fails (socket buffer full, the device refusing it), the segments go into the
 * ring one by one as before: nothing is dropped for GSO's sake.
 */
import { AF_PACKET, PACKET_QDISC_BYPASS, PACKET_VNET_HDR, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_RAW, SOL_PACKET, SOL_SOCKET, SO_SNDBUFFORCE } from '../../sys/constants.js';
import { libc, setIntOption, sockaddrLl, sysError } from '../../sys/libc.js';
import { TcpCoalescer } from './tcp-coalesce.js';

/** frames of one burst the sender looks at together */
const MAX_BURST = 1024;

export class GsoSender {
  readonly coalescer = new TcpCoalescer();
  /** the burst's frames: offset and length in the pool's data */
  readonly off = new Int32Array(MAX_BURST);
  readonly len = new Int32Array(MAX_BURST);
  /** the frames' PF_CSUM_SELF bits (their checksums need no verifying) */
  readonly trusted = new Uint8Array(MAX_BURST);
  /** super-frames the kernel took, and the segments in them; sends that failed (their segments went by the ring) */
  frames = 0;
  segments = 0;
  failed = 0;
  /** the ring-less socket, opened at the first super-frame (-1: not yet; -2: could not be opened) */
  private fd = -1;

  constructor(private readonly ifindex: number) {}

  /** Send the super-frame coalescer.buf[0..w) (virtio_net_hdr first) of `segments` segments; false when the kernel did not take it. */
  send(w: number, segments: number): boolean {
    return this.sendFrom(this.coalescer.buf, w, segments);
  }

  /** Send buf[0..w) (virtio_net_hdr first), a super-frame of `segments` segments built elsewhere (a carried one, io/super-frame.ts). */
  sendFrom(buf: Uint8Array, w: number, segments: number): boolean {
    if (this.fd === -1) this.fd = this.open();
    if (this.fd < 0 || libc().write(this.fd, buf, w) !== w) {
      this.failed++;
      return false;
    }
    this.frames++;
    this.segments += segments;
    return true;
  }

  private open(): number {
    const c = libc();
    const fd = c.socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -2;
    try {
      setIntOption(fd, SOL_PACKET, PACKET_VNET_HDR, 1, 'PACKET_VNET_HDR');
      setIntOption(fd, SOL_PACKET, PACKET_QDISC_BYPASS, 1, 'PACKET_QDISC_BYPASS');
      // a few super-frames in flight: each is charged to the socket until the peer has taken it
      setIntOption(fd, SOL_SOCKET, SO_SNDBUFFORCE, 4 << 20, 'SO_SNDBUFFORCE');
      // protocol 0: bound to the netdev for sending, receiving nothing
      if (c.bind(fd, sockaddrLl(this.ifindex, 0), 20) < 0) throw sysError('bind(AF_PACKET, GSO send)');
    } catch {
      c.close(fd);
      return -2;
    }
    return fd;
  }

  /** The socket, for the driver's close (closed off the thread: a packet socket's close waits for RCU). */
  takeFd(): number {
    const fd = this.fd;
    this.fd = -2;
    return fd;
  }
}
