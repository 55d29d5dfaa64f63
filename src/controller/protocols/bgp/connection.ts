/**
 * One TCP connection to a peer: frames the byte stream into BGP messages and writes
 * encoded ones. It knows nothing of the FSM; the neighbor feeds what it reads into events.
 * Reads are framed in place (subarray views of the received chunk); only a partial message
 * at a chunk's end is copied. A busy connection yields the thread between slices (deliver()).
 */
import type { Socket } from 'node:net';
import { HEADER_LENGTH, frameLength, frameMessage } from '../../../wire/bgp/header.js';
import type { NotifyError } from '../../../wire/bgp/errors.js';

export interface ConnectionHandlers {
  /** a whole message (type, body view valid only during the call) */
  message(type: number, body: Uint8Array, length: number): void;
  /** a header that cannot be framed: the stream is unusable */
  headerError(e: NotifyError): void;
  /** handling a message threw: a bug, which must cost this session only */
  failed(err: unknown): void;
  closed(reason: string): void;
}

/** The longest a connection decodes and hands on received messages in one event-loop turn. */
const READ_SLICE_MS = 20;

/** Numbers the slices of every connection (deliver() calls): see Connection.slice. */
let slices = 0;

export class Connection {
  private rest: Buffer | undefined;
  private open = true;
  /** messages up to this length are accepted (4096, or 65535 with extended messages) */
  maxLength = 4096;
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  inOctets = 0;
  outOctets = 0;
  /** our OPEN went out on it (a tracked second connection that becomes the session's keeps it) */
  openSent = false;
  /** when this event-loop turn's reading began (-1: not reading in this turn); see deliver() */
  private sliceStart = -1;
  /** received messages wait for the next turn, the socket paused */
  private waiting = false;
  /** pause delivery (collision handling waits on the other connection) */
  private handlers: ConnectionHandlers | undefined;
  /**
   * The slice (one deliver() call) the message being handed on belongs to, unique among all
   * connections: what is done once per received message but needs doing only once per read
   * (the hold timer's restart, the time last heard) is done once per slice.
   */
  slice = 0;

  constructor(
    readonly socket: Socket,
    /** true when we opened it (for collision resolution, RFC 4271 6.8) */
    readonly outgoing: boolean,
  ) {
    this.localAddress = normalize(socket.localAddress ?? '');
    this.localPort = socket.localPort ?? 0;
    this.remoteAddress = normalize(socket.remoteAddress ?? '');
    this.remotePort = socket.remotePort ?? 0;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.onClose(err.message));
    socket.on('close', () => this.onClose('connection closed'));
  }

  attach(h: ConnectionHandlers): void {
    this.handlers = h;
  }

  get isOpen(): boolean {
    return this.open;
  }

  private onData(chunk: Buffer): void {
    this.inOctets += chunk.length;
    this.rest = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    // (a chunk read before the pause took effect waits with the rest for the next turn)
    if (!this.waiting) this.deliver();
  }

  /**
   * Hands the whole messages received so far to the handlers, for at most READ_SLICE_MS of one
   * event-loop turn: Node reads a busy socket many times per turn (a full table's UPDATEs are
   * megabytes), and everything else on the thread (the FIB export, an agent in the same
   * process, BFD, the CLI) waited until all of it was decoded and decided. Past the slice
   * the socket pauses, the rest waits, and both continue on the next turn.
   */
  private deliver(): void {
    const buf = this.rest;
    if (!buf) return;
    this.rest = undefined;
    const now = performance.now();
    if (this.sliceStart < 0) {
      this.sliceStart = now;
      setImmediate(() => (this.sliceStart = -1));
    }
    this.slice = ++slices;
    let off = 0;
    let later = false;
    while (this.open && this.handlers) {
      const n = frameLength(buf, this.maxLength, off);
      if (n === 0) break;
      if (n < 0) {
        const f = frameMessage(buf, this.maxLength, off);
        if (f.kind === 'error') this.handlers.headerError(f);
        return;
      }
      // the body as a plain Uint8Array view (a Buffer's subarray costs a FastBuffer construction)
      const body = new Uint8Array(buf.buffer, buf.byteOffset + off + HEADER_LENGTH, n - HEADER_LENGTH);
      const type = buf[off + 18]!;
      off += n;
      try {
        this.handlers.message(type, body, n);
      } catch (err) {
        this.handlers.failed(err);
        return;
      }
      if (off < buf.length && performance.now() - this.sliceStart >= READ_SLICE_MS) {
        later = true;
        break;
      }
    }
    if (off >= buf.length || !this.open) return;
    // what waits for the next turn is this chunk's own (no copy); a partial message is copied
    this.rest = later ? buf.subarray(off) : Buffer.from(buf.subarray(off));
    if (!later) return;
    this.waiting = true;
    this.socket.pause();
    setImmediate(() => {
      if (!this.open) return;
      this.waiting = false;
      this.deliver();
      // (unless that slice ran out too: then its own turn resumes)
      if (!this.waiting && this.open && !this.socket.destroyed) this.socket.resume();
    });
  }

  private onClose(reason: string): void {
    if (!this.open) return;
    this.open = false;
    this.handlers?.closed(reason);
  }

  send(msg: Uint8Array): void {
    if (!this.open) return;
    this.outOctets += msg.length;
    this.socket.write(msg);
  }

  /** Send several messages with one write. */
  sendMany(msgs: Uint8Array[]): void {
    if (!this.open || msgs.length === 0) return;
    const b = Buffer.concat(msgs);
    this.outOctets += b.length;
    this.socket.write(b);
  }

  /** Close after what was written has gone out (a NOTIFICATION must reach the peer). */
  close(): void {
    if (!this.open) return;
    this.open = false;
    this.socket.end();
    const t = setTimeout(() => this.socket.destroy(), 2000);
    t.unref();
    this.socket.once('close', () => clearTimeout(t));
  }
}

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) is 10.0.0.1. */
export function normalize(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
