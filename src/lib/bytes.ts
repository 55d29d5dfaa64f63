/**
 * A reading cursor and a growing writer over bytes, for codecs. DataViews are built from
 * (buffer, byteOffset, byteLength) so they work on any subarray of a larger buffer.
 */

export class ShortBufferError extends Error {
  constructor(need: number, have: number) {
    super(`truncated: need ${need} bytes, have ${have}`);
    this.name = 'ShortBufferError';
  }
}

export class ByteCursor {
  readonly view: DataView;
  pos = 0;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get remaining(): number {
    return this.bytes.byteLength - this.pos;
  }
  need(n: number): void {
    if (this.remaining < n) throw new ShortBufferError(n, this.remaining);
  }
  u8(): number {
    this.need(1);
    return this.view.getUint8(this.pos++);
  }
  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }
  /** A view (no copy) of the next n bytes. */
  bytesView(n: number): Uint8Array {
    this.need(n);
    const v = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }
}

export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  pos = 0;
  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
    this.view = new DataView(this.buf.buffer);
  }
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): this {
    this.ensure(1);
    this.view.setUint8(this.pos++, v);
    return this;
  }
  u16(v: number): this {
    this.ensure(2);
    this.view.setUint16(this.pos, v);
    this.pos += 2;
    return this;
  }
  u32(v: number): this {
    this.ensure(4);
    this.view.setUint32(this.pos, v >>> 0);
    this.pos += 4;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }
  /** Reserve a length field of `size` bytes; call the returned function to fill it with the bytes written since. */
  reserveLength(size: 1 | 2 | 4, extra = 0): () => void {
    const at = this.pos;
    this.ensure(size);
    this.pos += size;
    return () => {
      const len = this.pos - at - size + extra;
      if (size === 1) this.view.setUint8(at, len);
      else if (size === 2) this.view.setUint16(at, len);
      else this.view.setUint32(at, len);
    };
  }
  setU16(at: number, v: number): void {
    this.view.setUint16(at, v);
  }
  /** The written bytes (a view, valid until the next write). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}
