// A single-producer single-consumer ring of variable-size records in a SharedArrayBuffer.
//
// Producer: off = tryReserve(n) -> write payload into bytes[off .. off+n) -> commit() | abort().
// Consumer: peek() -> read -> release(), or drain(fn) for a whole batch with one release.
//
// Positions are free-running 32-bit byte counters (they carry the wrap count; the slot is
// position & (capacity-1)), and can start just below 2^32 so wraparound is exercised early,
// as gVisor's shared-memory pipe does. A record is a u32 length then the payload, padded to
// 4 bytes; a record never straddles the end of the data region (a WRAP marker sends the
// consumer back to the start). The producer publishes a record only by storing HEAD after the
// payload is written, so a consumer never sees an uncommitted or torn record, even if the
// producer's thread dies mid-write. Both positions live in shared memory, so a new producer or
// consumer attaches to the ring of a dead one and carries on from the last commit / release.
// Consumer death between peek and release re-delivers those records (at-least-once on the
// consumer side; protocol layers above tolerate duplicates as the network itself may
// duplicate). The consumer validates every length it reads (isolation between threads is by
// discipline, not by the MMU): a corrupt record discards the committed backlog and is counted.

import { RingWord, RING_HEADER_BYTES, RING_MAGIC, RECORD_HEADER_BYTES, RECORD_WRAP, CorruptMode } from './layout';
import { Bell, BellDescriptor } from './bell';

export interface RingDescriptor {
  buffer: SharedArrayBuffer;
  /** Bell rung when records are published (the consumer's). Defaults to the embedded bell. */
  consumerBell?: BellDescriptor;
  /** Bell rung when space is released (the producer's). Defaults to the embedded bell. */
  producerBell?: BellDescriptor;
}

export class RingError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
    this.name = 'RingError';
  }
}

/** Allocates and initialises a ring. `capacity` is the data size in bytes (power of two). */
export function createRing(capacity: number, initialPosition = 0): RingDescriptor {
  if (!Number.isInteger(capacity) || capacity < 1024 || capacity > 2 ** 30 || (capacity & (capacity - 1)) !== 0) {
    throw new RingError(`ring capacity must be a power of two between 1 KiB and 1 GiB, got ${capacity}`, 'ERR_RING_CAPACITY');
  }
  if ((initialPosition & 3) !== 0) throw new RingError('initial position must be 4-byte aligned', 'ERR_RING_POSITION');
  const buffer = new SharedArrayBuffer(RING_HEADER_BYTES + capacity);
  const i32 = new Int32Array(buffer, 0, RING_HEADER_BYTES / 4);
  i32[RingWord.HEAD] = initialPosition | 0;
  i32[RingWord.TAIL] = initialPosition | 0;
  i32[RingWord.CAPACITY] = capacity;
  Atomics.store(i32, RingWord.MAGIC, RING_MAGIC);
  return { buffer };
}

/** Largest payload a ring of this capacity accepts: half the ring less a header, so that a
 *  record always fits after at most one wrap marker once the ring drains. */
export function maxRecordFor(capacity: number): number {
  return capacity / 2 - RECORD_HEADER_BYTES;
}

class RingBase {
  readonly hdr: Int32Array;
  /** The data region; record payloads are addressed as offsets into it. */
  readonly bytes: Uint8Array;
  protected readonly u32: Uint32Array;
  readonly capacity: number;
  protected readonly mask: number;
  readonly maxRecord: number;
  readonly consumerBell: Bell;
  readonly producerBell: Bell;

  constructor(readonly desc: RingDescriptor) {
    this.hdr = new Int32Array(desc.buffer, 0, RING_HEADER_BYTES / 4);
    if (Atomics.load(this.hdr, RingWord.MAGIC) !== RING_MAGIC) {
      throw new RingError('not an initialised ring buffer', 'ERR_RING_MAGIC');
    }
    this.capacity = this.hdr[RingWord.CAPACITY];
    if (desc.buffer.byteLength !== RING_HEADER_BYTES + this.capacity) {
      throw new RingError('ring buffer size does not match its header', 'ERR_RING_MAGIC');
    }
    this.mask = this.capacity - 1;
    this.maxRecord = maxRecordFor(this.capacity);
    this.bytes = new Uint8Array(desc.buffer, RING_HEADER_BYTES, this.capacity);
    this.u32 = new Uint32Array(desc.buffer, RING_HEADER_BYTES, this.capacity / 4);
    this.consumerBell = new Bell(desc.consumerBell ?? { buffer: desc.buffer, index: RingWord.CONSUMER_BELL });
    this.producerBell = new Bell(desc.producerBell ?? { buffer: desc.buffer, index: RingWord.PRODUCER_BELL });
  }

  /** Committed bytes not yet released (records, headers and padding). */
  used(): number {
    return (Atomics.load(this.hdr, RingWord.HEAD) - Atomics.load(this.hdr, RingWord.TAIL)) >>> 0;
  }
  /** 0..1, for `ctl top`. */
  fill(): number {
    return this.used() / this.capacity;
  }
  get head(): number {
    return Atomics.load(this.hdr, RingWord.HEAD) >>> 0;
  }
  get tail(): number {
    return Atomics.load(this.hdr, RingWord.TAIL) >>> 0;
  }
  /** Fault-injection requests this ring's producers have applied (RingWord.CORRUPT_REQ). */
  get corruptionsApplied(): number {
    return Atomics.load(this.hdr, RingWord.CORRUPT_APPLIED);
  }
  get corruptCount(): number {
    return Atomics.load(this.hdr, RingWord.CORRUPT);
  }
  get fullCount(): number {
    return Atomics.load(this.hdr, RingWord.FULL);
  }
  get committedCount(): number {
    return Atomics.load(this.hdr, RingWord.COMMITTED) >>> 0;
  }
  get releasedCount(): number {
    return Atomics.load(this.hdr, RingWord.RELEASED) >>> 0;
  }
}

const align4 = (n: number): number => (n + 3) & ~3;

export class RingWriter extends RingBase {
  /** Local copy of HEAD (this writer is the only one that moves it). */
  private headLocal: number;
  /** Cached TAIL; refreshed from shared memory only when the cache says the ring is full. */
  private tailCache: number;
  /** Reservation in progress: payload offset, its capacity, and the position after it. */
  private resvOff = -1;
  private resvLen = 0;
  private resvStart = 0;
  /** Commits not yet published (commit(n, false) followed by publish()). */
  private unpublished = 0;
  /** Word index (in u32) of the length word of the last committed record. */
  private lastRecWord = 0;

  constructor(desc: RingDescriptor) {
    super(desc);
    // Attach: continue from the last published position, whatever the previous writer did.
    this.headLocal = Atomics.load(this.hdr, RingWord.HEAD) >>> 0;
    this.tailCache = Atomics.load(this.hdr, RingWord.TAIL) >>> 0;
  }

  /** Reserves room for a record of `n` payload bytes. Returns the payload's offset in `bytes`,
   *  or -1 when the ring is full (back-pressure: the caller may wait for space or drop).
   *  Throws RingError for a record that can never fit. */
  tryReserve(n: number): number {
    if (this.resvOff >= 0) throw new RingError('reserve() while a reservation is open', 'ERR_RING_STATE');
    if (!(n >= 0 && n <= this.maxRecord)) {
      throw new RingError(`record of ${n} bytes exceeds this ring's maximum of ${this.maxRecord}`, 'ERR_RING_RECORD_TOO_LARGE');
    }
    const need = RECORD_HEADER_BYTES + align4(n);
    const pos = this.headLocal & this.mask;
    const contiguous = this.capacity - pos;
    const total = need <= contiguous ? need : contiguous + need;
    if (((this.headLocal - this.tailCache) >>> 0) + total > this.capacity) {
      this.tailCache = Atomics.load(this.hdr, RingWord.TAIL) >>> 0;
      const used = (this.headLocal - this.tailCache) >>> 0;
      if (used > this.capacity) {
        // A corrupt TAIL (it is shared memory): refuse rather than overwrite unread data.
        throw new RingError('ring indices are inconsistent (tail ahead of head)', 'ERR_RING_CORRUPT');
      }
      if (used + total > this.capacity) {
        Atomics.add(this.hdr, RingWord.FULL, 1);
        return -1;
      }
    }
    let start = this.headLocal;
    if (need > contiguous) {
      this.u32[pos >>> 2] = RECORD_WRAP; // consumer skips to the start of the data region
      start = (start + contiguous) >>> 0;
    }
    const recPos = start & this.mask;
    this.resvStart = start;
    this.resvOff = recPos + RECORD_HEADER_BYTES;
    this.resvLen = n;
    return this.resvOff;
  }

  /** Publishes the open reservation, optionally shrunk to `len` bytes. With publish=false the
   *  record becomes visible at the next publish() (batching: one shared store per batch). */
  commit(len = this.resvLen, publish = true): void {
    if (this.resvOff < 0) throw new RingError('commit() without a reservation', 'ERR_RING_STATE');
    if (!(len >= 0 && len <= this.resvLen)) throw new RingError('commit length exceeds the reservation', 'ERR_RING_STATE');
    this.lastRecWord = (this.resvOff - RECORD_HEADER_BYTES) >>> 2;
    this.u32[this.lastRecWord] = len;
    this.headLocal = (this.resvStart + RECORD_HEADER_BYTES + align4(len)) >>> 0;
    this.resvOff = -1;
    this.unpublished++;
    if (publish) this.publish();
  }

  /** HEAD as it will be after the next publish() (for exactly-once bookkeeping). */
  get pendingHead(): number {
    return this.headLocal;
  }

  /** Free bytes as last seen (refreshes the cached TAIL). */
  free(): number {
    this.tailCache = Atomics.load(this.hdr, RingWord.TAIL) >>> 0;
    return this.capacity - ((this.headLocal - this.tailCache) >>> 0);
  }

  /** Drops the open reservation; nothing becomes visible. */
  abort(): void {
    this.resvOff = -1;
  }

  /** Makes all committed records visible and wakes a sleeping consumer. */
  publish(): void {
    if (this.unpublished === 0) return;
    // Fault injection: one load per batch; a pending request damages the last record of this
    // batch before any reader can see it (RingWord.CORRUPT_REQ).
    const req = Atomics.load(this.hdr, RingWord.CORRUPT_REQ);
    if (req !== CorruptMode.NONE) this.applyCorruption(req);
    Atomics.store(this.hdr, RingWord.HEAD, this.headLocal | 0);
    Atomics.add(this.hdr, RingWord.COMMITTED, this.unpublished);
    this.unpublished = 0;
    this.consumerBell.ring();
  }

  /** Damages the last committed, unpublished record as requested in CORRUPT_REQ (see layout.ts).
   *  A payload request waits for a record with a payload. */
  private applyCorruption(mode: number): void {
    const seed = Atomics.load(this.hdr, RingWord.CORRUPT_SEED) >>> 0;
    const len = this.u32[this.lastRecWord];
    if (mode === CorruptMode.PAYLOAD && len === 0) return;
    if (Atomics.compareExchange(this.hdr, RingWord.CORRUPT_REQ, mode, CorruptMode.NONE) !== mode) return; // withdrawn
    if (mode !== CorruptMode.LENGTH && mode !== CorruptMode.PAYLOAD) return; // not a request: cleared
    if (mode === CorruptMode.LENGTH) {
      // Larger than any record can be: the reader must reject it.
      this.u32[this.lastRecWord] = (0x7fff0000 | (seed & 0xffff)) >>> 0;
    } else {
      const i = ((this.lastRecWord << 2) + RECORD_HEADER_BYTES + ((seed >>> 3) % len)) & this.mask;
      this.bytes[i] ^= 1 << (seed & 7);
    }
    Atomics.add(this.hdr, RingWord.CORRUPT_APPLIED, 1);
  }

  /** Convenience: copies one record in. Returns false when the ring is full. */
  write(src: Uint8Array, off = 0, len = src.length - off): boolean {
    const at = this.tryReserve(len);
    if (at < 0) return false;
    this.bytes.set(len === src.length && off === 0 ? src : src.subarray(off, off + len), at);
    this.commit(len);
    return true;
  }

  /** Blocking reserve for worker threads: waits (Atomics.wait, no spinning) up to timeoutMs for
   *  space. Returns -1 on timeout. Before waiting it publishes pending commits (the consumer
   *  cannot free space for records it cannot see); a writer that keeps exactly-once
   *  bookkeeping of its batches passes publishPending=false and publishes itself. */
  reserveWait(n: number, timeoutMs: number, publishPending = true): number {
    let at = this.tryReserve(n);
    if (at >= 0) return at;
    if (publishPending) this.publish();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const seq = this.producerBell.prepare();
      at = this.tryReserve(n);
      if (at >= 0) {
        this.producerBell.cancel();
        return at;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        this.producerBell.cancel();
        return -1;
      }
      this.producerBell.wait(seq, left);
    }
  }

  /** Non-blocking wait for space, for the main thread. Resolves with the offset or -1.
   *  publishPending as for reserveWait(). */
  async reserveAsync(n: number, timeoutMs: number, publishPending = true): Promise<number> {
    let at = this.tryReserve(n);
    if (at >= 0) return at;
    if (publishPending) this.publish();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const seq = this.producerBell.prepare();
      at = this.tryReserve(n);
      if (at >= 0) {
        this.producerBell.cancel();
        return at;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        this.producerBell.cancel();
        return -1;
      }
      await this.producerBell.waitAsync(seq, left);
    }
  }
}

/** Called for each record during drain(); `bytes[off .. off+len)` is valid only during the call.
 *  Returning false leaves the record in the ring and stops the drain (back-pressure: the
 *  consumer cannot take it now and will see it again next time). */
export type RecordHandler = (bytes: Uint8Array, off: number, len: number) => void | boolean;

export class RingReader extends RingBase {
  /** Ring position (free-running) of the record last returned by peek() or handed to a drain
   *  handler: a stable identity for that record across reader incarnations. */
  recordPos = 0;
  private tailLocal: number;
  private headCache: number;
  /** Position after the record returned by peek(), or -1. */
  private peekNext = -1;
  private peekOff = 0;
  private peekLen = 0;
  private releasedLocal = 0;

  constructor(desc: RingDescriptor) {
    super(desc);
    // Attach: continue from the last released position.
    this.tailLocal = Atomics.load(this.hdr, RingWord.TAIL) >>> 0;
    this.headCache = Atomics.load(this.hdr, RingWord.HEAD) >>> 0;
  }

  /** True when a committed record is waiting (reads shared HEAD). */
  hasData(): boolean {
    if (this.tailLocal !== this.headCache) return true;
    this.headCache = Atomics.load(this.hdr, RingWord.HEAD) >>> 0;
    return this.tailLocal !== this.headCache;
  }

  /** Locates the next record at or after tailLocal. Returns its payload offset and sets
   *  peekLen/peekNext, or returns -1 when empty. Validates the length. */
  private locate(): number {
    if (!this.hasData()) return -1;
    let pos = this.tailLocal;
    let avail = (this.headCache - pos) >>> 0;
    if (avail > this.capacity || avail < RECORD_HEADER_BYTES) return this.corrupt();
    let len = this.u32[(pos & this.mask) >>> 2];
    if (len === RECORD_WRAP) {
      const skip = this.capacity - (pos & this.mask);
      if (skip >= avail) return this.corrupt();
      pos = (pos + skip) >>> 0;
      avail -= skip;
      this.tailLocal = pos; // the wrap marker itself is consumed
      len = this.u32[(pos & this.mask) >>> 2];
    }
    const size = RECORD_HEADER_BYTES + align4(len);
    if (len > this.maxRecord || size > avail || (pos & this.mask) + size > this.capacity) return this.corrupt();
    this.recordPos = pos;
    this.peekOff = (pos & this.mask) + RECORD_HEADER_BYTES;
    this.peekLen = len;
    this.peekNext = (pos + size) >>> 0;
    return this.peekOff;
  }

  /** A record failed validation: drop everything committed so far, count it, carry on.
   *  Inside a drain that defers its release, the new TAIL is published by releaseConsumed()
   *  (records already handed out in that batch must not be released before the actor has
   *  published its outputs). */
  private corrupt(): number {
    Atomics.add(this.hdr, RingWord.CORRUPT, 1);
    this.headCache = Atomics.load(this.hdr, RingWord.HEAD) >>> 0;
    this.tailLocal = this.headCache;
    this.peekNext = -1;
    if (this.deferRelease) this.tailDirty = true;
    else {
      Atomics.store(this.hdr, RingWord.TAIL, this.tailLocal | 0);
      this.producerBell.ring();
    }
    return -1;
  }
  private deferRelease = false;
  private tailDirty = false;

  /** Returns the offset in `bytes` of the next record's payload (length in `peekLength`), or
   *  -1 when the ring is empty. */
  peek(): number {
    if (this.peekNext >= 0) return this.peekOff;
    return this.locate();
  }

  get peekLength(): number {
    return this.peekLen;
  }

  /** Consumes the record returned by peek() and publishes the freed space. */
  release(): void {
    if (this.peekNext < 0) throw new RingError('release() without peek()', 'ERR_RING_STATE');
    this.tailLocal = this.peekNext;
    this.peekNext = -1;
    this.releasedLocal++;
    this.publishTail();
  }

  private publishTail(): void {
    this.tailDirty = false;
    Atomics.store(this.hdr, RingWord.TAIL, this.tailLocal | 0);
    if (this.releasedLocal) {
      Atomics.add(this.hdr, RingWord.RELEASED, this.releasedLocal);
      this.releasedLocal = 0;
    }
    this.producerBell.ring();
  }

  /** Hands up to `max` records to `fn`, then releases them all with one shared store.
   *  With release=false the records are consumed locally but the space is only given back by
   *  a later releaseConsumed() (an actor publishes its outputs first, so a crash in between
   *  re-delivers rather than loses). Returns the number of records handled. */
  drain(fn: RecordHandler, max = Infinity, release = true): number {
    let n = 0;
    this.deferRelease = !release;
    try {
      while (n < max) {
        const off = this.peekNext >= 0 ? this.peekOff : this.locate();
        if (off < 0) break;
        const next = this.peekNext;
        if (fn(this.bytes, off, this.peekLen) === false) break;
        this.tailLocal = next;
        this.peekNext = -1;
        n++;
      }
    } finally {
      // Even if a handler throws, the records it already consumed are accounted for.
      this.deferRelease = false;
      this.releasedLocal += n;
      if (release && (n > 0 || this.tailDirty)) this.publishTail();
    }
    return n;
  }

  /** Publishes the space of records consumed by drain(fn, max, false). */
  releaseConsumed(): void {
    if (this.releasedLocal > 0 || this.tailDirty) this.publishTail();
  }

  /** Blocking wait for data (worker threads only). Returns true when data is available. */
  waitData(timeoutMs: number): boolean {
    if (this.hasData()) return true;
    const seq = this.consumerBell.prepare();
    if (this.hasData()) {
      this.consumerBell.cancel();
      return true;
    }
    this.consumerBell.wait(seq, timeoutMs);
    return this.hasData();
  }

  /** Non-blocking wait for data, for the main thread. */
  async waitDataAsync(timeoutMs: number): Promise<boolean> {
    if (this.hasData()) return true;
    const seq = this.consumerBell.prepare();
    if (this.hasData()) {
      this.consumerBell.cancel();
      return true;
    }
    await this.consumerBell.waitAsync(seq, timeoutMs);
    return this.hasData();
  }
}
