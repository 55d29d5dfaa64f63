/**
 * How a link-layer control protocol (IS-IS: ISO 10589 PDUs are not IP) sends and receives
 * whole Ethernet frames on one named interface. Two implementations share this shape: one
 * over the vRouter (frames punted by the data plane and sent through it, over the agent
 * contract: `cnr start` and `cnr controller` + `cnr vrouter`), and one over a kernel
 * AF_PACKET socket on a netdev (tests against real peers, a controller without a vRouter).
 */
import type { Mac } from '../../lib/addr.js';

/** One frame as received: the interface it arrived on and its bytes from the destination MAC on. */
export interface ReceivedFrame {
  readonly ifname: string;
  /** the whole Ethernet frame: destination, source, 802.3 length (or EtherType), payload */
  readonly frame: Uint8Array;
}

export interface FramePort {
  /**
   * Delivers the frames of one protocol received on `ifname`: IS-IS asks for 802.3 frames
   * whose LLC header is DSAP 0xFE, SSAP 0xFE (OSI). Returns the function that stops it.
   */
  listen(ifname: string, proto: 'osi', onFrame: (f: ReceivedFrame) => void): () => void;
  /** Sends one whole Ethernet frame out of `ifname`; false when the interface is not there (yet). */
  send(ifname: string, frame: Uint8Array): boolean;
  /** The interface's own MAC (the SNPA IS-IS puts in its LAN hellos), if the interface is there. */
  macOf(ifname: string): Mac | undefined;
  /** Interface state changes (attached and up / gone or down), so adjacencies can react. */
  onLinkChange(handler: (ifname: string, up: boolean) => void): () => void;
  close(): void;
}
