// A connection's byte stream in shared memory: a one-writer one-reader byte ring with
// free-running u32 positions (HEAD, TAIL; see layout.ts StreamWord). Usable from any thread that
// holds the `tcpStreams` SharedArrayBuffer:
//   - producer: write bytes at [HEAD, TAIL + capacity), then Atomics.store(HEAD) (the publish);
//   - consumer: read bytes at [TAIL, HEAD), then Atomics.store(TAIL) (the release).
// TCP reads its send stream at any position in [TAIL, HEAD) (retransmissions) and frees bytes
// only when they are acknowledged; it writes out-of-order receive data beyond HEAD (never past
// TAIL + capacity) and publishes HEAD when the hole fills.

import { STREAM_HEADER_BYTES, StreamWord } from './layout';

export class ByteStream {
  readonly words: Int32Array;
  readonly data: Uint8Array;
  readonly mask: number;

  constructor(buffer: SharedArrayBuffer, byteOffset: number, readonly capacity: number) {
    this.words = new Int32Array(buffer, byteOffset, STREAM_HEADER_BYTES / 4);
    this.data = new Uint8Array(buffer, byteOffset + STREAM_HEADER_BYTES, capacity);
    this.mask = capacity - 1;
  }

  /** Empties the stream for a new owner; both positions start at `pos`. */
  reset(pos: number, gen: number): void {
    Atomics.store(this.words, StreamWord.HEAD, pos | 0);
    Atomics.store(this.words, StreamWord.TAIL, pos | 0);
    Atomics.store(this.words, StreamWord.CAPACITY, this.capacity);
    Atomics.store(this.words, StreamWord.GEN, gen | 0);
  }

  gen(): number {
    return Atomics.load(this.words, StreamWord.GEN);
  }
  head(): number {
    return Atomics.load(this.words, StreamWord.HEAD) >>> 0;
  }
  tail(): number {
    return Atomics.load(this.words, StreamWord.TAIL) >>> 0;
  }
  /** Bytes in [TAIL, HEAD). */
  used(): number {
    const u = (this.head() - this.tail()) >>> 0;
    return u > this.capacity ? this.capacity : u; // a torn or hostile value stays in range
  }
  free(): number {
    return this.capacity - this.used();
  }

  // ---- producer side

  /** Copies up to `len` bytes to HEAD and publishes them; returns the count written. */
  write(src: Uint8Array, off = 0, len = src.length - off): number {
    const n = Math.min(len, this.free());
    if (n <= 0) return 0;
    const h = this.head();
    this.copyIn(h, src, off, n);
    this.publish((h + n) >>> 0);
    return n;
  }

  /** Copies bytes to absolute position `pos` without publishing (the caller keeps pos within
   *  [HEAD, TAIL + capacity)). */
  copyIn(pos: number, src: Uint8Array, off: number, len: number): void {
    const p = pos & this.mask;
    const first = Math.min(len, this.capacity - p);
    this.data.set(src.subarray(off, off + first), p);
    if (first < len) this.data.set(src.subarray(off + first, off + len), 0);
  }

  publish(head: number): void {
    Atomics.store(this.words, StreamWord.HEAD, head | 0);
  }

  // ---- consumer side

  /** Copies up to `len` bytes from TAIL and releases them; returns the count read. */
  read(dst: Uint8Array, off = 0, len = dst.length - off): number {
    const n = Math.min(len, this.used());
    if (n <= 0) return 0;
    const t = this.tail();
    this.copyOut(t, dst, off, n);
    this.release((t + n) >>> 0);
    return n;
  }

  /** Copies `len` bytes at absolute position `pos` into dst. */
  copyOut(pos: number, dst: Uint8Array, off: number, len: number): void {
    const p = pos & this.mask;
    const first = Math.min(len, this.capacity - p);
    dst.set(this.data.subarray(p, p + first), off);
    if (first < len) dst.set(this.data.subarray(0, len - first), off + first);
  }

  release(tail: number): void {
    Atomics.store(this.words, StreamWord.TAIL, tail | 0);
  }
}
