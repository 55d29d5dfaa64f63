/**
 * NETCONF message framing over SSH (RFC 6242): the `]]>]]>` end-of-message marker of
 * base:1.0, used for the hellos, then chunked framing (`\n#LEN\n` chunks, `\n##\n` to end
 * a message) once both sides announced base:1.1. Bytes arrive in arbitrary pieces; a
 * framing error is fatal to the session (the RFC's answer), reported by `feed` throwing.
 */

export const EOM = ']]>]]>';
const EOM_BYTES = Buffer.from(EOM);
/** largest message accepted (a whole configuration fits many times over) */
export const MAX_MESSAGE = 64 * 1024 * 1024;

export class FramingError extends Error {}

export class NetconfFramer {
  private buf: Buffer = Buffer.alloc(0);
  private chunkedMode = false;
  /** until the peer's hello is read, one message at a time (the framing may change after it) */
  private helloPending = true;
  /** chunked: parts of the message being assembled */
  private parts: Buffer[] = [];
  private size = 0;

  get chunked(): boolean {
    return this.chunkedMode;
  }

  /** The hellos are done: chunked framing from now on if both sides speak base:1.1. */
  helloDone(chunked: boolean): void {
    this.helloPending = false;
    this.chunkedMode = chunked;
  }

  /** Adds bytes; returns the complete messages they finish. Throws FramingError. */
  feed(data: Buffer): string[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, data]) : data;
    const out: string[] = [];
    for (;;) {
      const m = this.chunkedMode ? this.nextChunked() : this.nextEom();
      if (m === undefined) break;
      out.push(m);
      if (this.helloPending) break;
    }
    if (this.buf.length > MAX_MESSAGE) throw new FramingError(`message larger than ${MAX_MESSAGE} bytes`);
    return out;
  }

  /** Messages still buffered (after the hello switched the framing). */
  drain(): string[] {
    return this.feed(Buffer.alloc(0));
  }

  private nextEom(): string | undefined {
    const i = this.buf.indexOf(EOM_BYTES);
    if (i < 0) return undefined;
    const msg = this.buf.subarray(0, i).toString('utf8');
    this.buf = this.buf.subarray(i + EOM_BYTES.length);
    return msg;
  }

  private nextChunked(): string | undefined {
    for (;;) {
      const b = this.buf;
      if (b.length < 4) return undefined;
      if (b[0] !== 0x0a || b[1] !== 0x23) throw new FramingError('expected a chunk header (\\n#)');
      if (b[2] === 0x23) {
        if (b[3] !== 0x0a) throw new FramingError('bad end-of-chunks marker');
        this.buf = b.subarray(4);
        if (this.parts.length === 0) throw new FramingError('message with no chunk');
        const msg = Buffer.concat(this.parts).toString('utf8');
        this.parts = [];
        this.size = 0;
        return msg;
      }
      const nl = b.indexOf(0x0a, 2);
      if (nl < 0) {
        if (b.length > 13) throw new FramingError('chunk size too long');
        return undefined;
      }
      const digits = b.subarray(2, nl).toString('latin1');
      if (!/^[1-9][0-9]{0,9}$/.test(digits) || Number(digits) > 4294967295) throw new FramingError(`bad chunk size "${digits.slice(0, 12)}"`);
      const len = Number(digits);
      if (this.size + len > MAX_MESSAGE) throw new FramingError(`message larger than ${MAX_MESSAGE} bytes`);
      if (b.length < nl + 1 + len) return undefined;
      this.parts.push(b.subarray(nl + 1, nl + 1 + len));
      this.size += len;
      this.buf = b.subarray(nl + 1 + len);
    }
  }

  /** One outgoing message in the current framing. */
  encode(msg: string): Buffer {
    const body = Buffer.from(msg, 'utf8');
    if (!this.chunkedMode) return Buffer.concat([body, EOM_BYTES]);
    return Buffer.concat([Buffer.from(`\n#${body.length}\n`), body, Buffer.from('\n##\n')]);
  }
}
