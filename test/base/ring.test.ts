// Tests for base/ring.ts: the SPSC record ring.
//
// Fit rule (from RingWriter.tryReserve), used by the model below: a record of n payload bytes
// occupies need = 4 + align4(n) bytes (u32 length + payload padded to 4). With h = HEAD mod
// capacity, if need <= capacity - h the record goes at HEAD; otherwise a WRAP marker is written
// at HEAD and the record goes at the start of the data region, and the skipped bytes
// (capacity - h) count as used. The reservation succeeds iff
//     (HEAD_local - TAIL) + (need <= capacity - h ? need : (capacity - h) + need) <= capacity
// where TAIL is the consumer's *published* position. Equivalently: the record's end, measured
// from TAIL on the unwrapped line of positions, is at most TAIL + capacity. The largest payload
// is capacity/2 - 4, so an empty ring always accepts it after at most one wrap.

import { expect } from 'chai';
import fc from 'fast-check';
import { createRing, maxRecordFor, RingDescriptor, RingError, RingReader, RingWriter } from '../../base/ring';
import { Bell } from '../../base/bell';
import { RingWord, RING_HEADER_BYTES, RECORD_WRAP, CorruptMode } from '../../base/layout';

const align4 = (n: number): number => (n + 3) & ~3;
/** Long command sequences shrink slowly: stop (and report the smallest failure found so far)
 *  rather than run into the mocha timeout. A passing run takes ~2 s. */
const SHRINK_LIMIT = { interruptAfterTimeLimit: 20_000, markInterruptAsFailure: true };
const U32 = 2 ** 32;

function payload(seed: number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = Math.imul(seed | 0, 0x9e3779b1) >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

function expectRingError(fn: () => unknown, code: string): RingError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected RingError ${code}`).to.be.instanceOf(RingError);
  expect((caught as RingError).code).to.equal(code);
  expect((caught as RingError).name).to.equal('RingError');
  return caught as RingError;
}

/** Reads every available record (releasing them) into an array of copies. */
function readAll(r: RingReader): Uint8Array[] {
  const out: Uint8Array[] = [];
  r.drain((b, off, len) => {
    out.push(b.slice(off, off + len));
  });
  return out;
}

function write(w: RingWriter, data: Uint8Array, publish = true): boolean {
  const at = w.tryReserve(data.length);
  if (at < 0) return false;
  w.bytes.set(data, at);
  w.commit(data.length, publish);
  return true;
}

describe('base/ring', () => {
  describe('creation and attach', () => {
    it('validates capacity: power of two between 1 KiB and 1 GiB', () => {
      for (const bad of [0, 512, 1000, 1023, 1536, 3000, 2 ** 31, -1024, 1024.5, NaN, Infinity]) {
        const e = expectRingError(() => createRing(bad), 'ERR_RING_CAPACITY');
        expect(e.message).to.contain(String(bad));
      }
      for (const good of [1024, 2048, 65536]) {
        const d = createRing(good);
        expect(d.buffer.byteLength).to.equal(RING_HEADER_BYTES + good);
        const w = new RingWriter(d);
        expect(w.capacity).to.equal(good);
        expect(w.maxRecord).to.equal(good / 2 - 4);
        expect(maxRecordFor(good)).to.equal(good / 2 - 4);
      }
    });

    it('rejects an unaligned initial position', () => {
      expectRingError(() => createRing(1024, 2), 'ERR_RING_POSITION');
      expectRingError(() => createRing(1024, 2 ** 32 - 3), 'ERR_RING_POSITION');
    });

    it('starts HEAD and TAIL at the initial position (also just below 2^32)', () => {
      for (const p of [0, 4, 2 ** 32 - 4, 2 ** 32 - 4096]) {
        const r = new RingReader(createRing(1024, p));
        expect(r.head).to.equal(p);
        expect(r.tail).to.equal(p);
        expect(r.used()).to.equal(0);
        expect(r.fill()).to.equal(0);
      }
    });

    it('refuses a buffer that is not an initialised ring', () => {
      expectRingError(() => new RingReader({ buffer: new SharedArrayBuffer(RING_HEADER_BYTES + 1024) }), 'ERR_RING_MAGIC');
      const d = createRing(1024);
      const bigger = new SharedArrayBuffer(RING_HEADER_BYTES + 2048);
      new Int32Array(bigger).set(new Int32Array(d.buffer, 0, RING_HEADER_BYTES / 4));
      expectRingError(() => new RingWriter({ buffer: bigger }), 'ERR_RING_MAGIC');
    });
  });

  describe('writer', () => {
    it('reserve/commit makes one record visible; abort makes nothing visible', () => {
      const d = createRing(1024);
      const w = new RingWriter(d);
      const r = new RingReader(d);
      let at = w.tryReserve(5);
      expect(at).to.equal(4);
      w.bytes.set([1, 2, 3, 4, 5], at);
      expect(r.hasData()).to.equal(false);
      w.abort();
      expect(r.hasData()).to.equal(false);
      expect(r.peek()).to.equal(-1);
      at = w.tryReserve(3);
      expect(at).to.equal(4, 'an aborted reservation gives its space back');
      w.bytes.set([7, 8, 9], at);
      w.commit();
      expect(r.hasData()).to.equal(true);
      expect(r.used()).to.equal(8);
      expect(w.head).to.equal(8);
      expect(w.committedCount).to.equal(1);
      expect(readAll(r).map((b) => [...b])).to.deep.equal([[7, 8, 9]]);
      expect(r.used()).to.equal(0);
      expect(r.releasedCount).to.equal(1);
    });

    it('commit(len) shrinks the record to len bytes and frees the rest', () => {
      const d = createRing(1024);
      const w = new RingWriter(d);
      const r = new RingReader(d);
      const at = w.tryReserve(100);
      w.bytes.set(payload(1, 100), at);
      w.commit(10);
      expect(w.head).to.equal(4 + 12);
      expect(r.used()).to.equal(16);
      expect(w.tryReserve(0)).to.equal(16 + 4, 'the next record starts right after the shrunk one');
      w.commit(0);
      const got = readAll(r);
      expect(got.map((b) => [...b])).to.deep.equal([[...payload(1, 100).subarray(0, 10)], []]);
    });

    it('commit(len) longer than the reservation throws and keeps the reservation open', () => {
      const w = new RingWriter(createRing(1024));
      const at = w.tryReserve(8);
      expectRingError(() => w.commit(9), 'ERR_RING_STATE');
      expectRingError(() => w.commit(-1), 'ERR_RING_STATE');
      w.commit(8);
      expect(w.head).to.equal(12);
      expect(at).to.equal(4);
    });

    it('commit() without a reservation throws; reserve while a reservation is open throws', () => {
      const w = new RingWriter(createRing(1024));
      expectRingError(() => w.commit(), 'ERR_RING_STATE');
      w.tryReserve(4);
      const e = expectRingError(() => w.tryReserve(4), 'ERR_RING_STATE');
      expect(e.message).to.match(/reservation is open/);
      w.commit();
      expectRingError(() => w.commit(), 'ERR_RING_STATE');
      w.tryReserve(4);
      w.abort();
      expect(w.tryReserve(4)).to.be.greaterThan(0);
    });

    it('a record too large throws ERR_RING_RECORD_TOO_LARGE with the sizes in the message', () => {
      const d = createRing(4096);
      const w = new RingWriter(d);
      const e = expectRingError(() => w.tryReserve(2045), 'ERR_RING_RECORD_TOO_LARGE');
      expect(e.message).to.contain('2045');
      expect(e.message).to.contain('2044');
      expect(e.message).to.match(/exceeds/);
      expectRingError(() => w.tryReserve(1e9), 'ERR_RING_RECORD_TOO_LARGE');
      expectRingError(() => w.tryReserve(-1), 'ERR_RING_RECORD_TOO_LARGE');
      expectRingError(() => w.tryReserve(NaN), 'ERR_RING_RECORD_TOO_LARGE');
      // the ring is unaffected and the maximum itself fits
      expect(w.head).to.equal(0);
      expect(w.tryReserve(2044)).to.equal(4);
      w.commit();
      expectRingError(() => w.write(new Uint8Array(2045)), 'ERR_RING_RECORD_TOO_LARGE');
    });

    it('publish batching: commit(len, false) is invisible until publish()', () => {
      const d = createRing(1024);
      const w = new RingWriter(d);
      const r = new RingReader(d);
      for (let i = 0; i < 5; i++) expect(write(w, payload(i, i * 3), false)).to.equal(true);
      expect(r.hasData()).to.equal(false);
      expect(r.peek()).to.equal(-1);
      expect(r.used()).to.equal(0);
      expect(w.head).to.equal(0);
      expect(w.committedCount).to.equal(0);
      expect(w.pendingHead).to.equal([0, 3, 6, 9, 12].reduce((s, n) => s + 4 + align4(n), 0));
      w.publish();
      expect(w.head).to.equal(w.pendingHead);
      expect(w.committedCount).to.equal(5);
      w.publish(); // nothing pending: no change
      expect(w.committedCount).to.equal(5);
      const got = readAll(r);
      expect(got.map((b) => [...b])).to.deep.equal([0, 1, 2, 3, 4].map((i) => [...payload(i, i * 3)]));
    });

    it('a record that does not fit before the end wraps: WRAP marker, payload at offset 4', () => {
      const d = createRing(1024);
      const w = new RingWriter(d);
      const r = new RingReader(d);
      const u32 = new Uint32Array(d.buffer, RING_HEADER_BYTES, 256);
      expect(write(w, payload(1, 500))).to.equal(true); // 0..504
      expect(write(w, payload(2, 400))).to.equal(true); // 504..908
      expect(readAll(r).length).to.equal(2);
      expect(write(w, payload(3, 200))).to.equal(true); // 116 left before the end: wraps
      expect(u32[908 / 4]).to.equal(RECORD_WRAP);
      expect(u32[0]).to.equal(200);
      expect(w.head).to.equal(1024 + 204);
      expect(r.used()).to.equal(116 + 204, 'the skipped bytes count as used');
      expect(r.peek()).to.equal(4);
      expect(r.peekLength).to.equal(200);
      r.release();
      expect(r.tail).to.equal(1024 + 204);
      expect(r.used()).to.equal(0);
    });

    it('a record exactly filling the rest of the region does not wrap', () => {
      const d = createRing(1024);
      const w = new RingWriter(d);
      const r = new RingReader(d);
      expect(write(w, payload(1, 500))).to.equal(true); // 0..504
      expect(write(w, payload(2, 300))).to.equal(true); // 504..808
      readAll(r);
      expect(w.tryReserve(212)).to.equal(812); // 808 + 4 + 212 = 1024 exactly
      w.commit();
      expect(w.head).to.equal(1024);
      expect(w.tryReserve(0)).to.equal(4); // next starts at 0, no marker needed
      w.commit();
      const got = readAll(r);
      expect(got.map((b) => b.length)).to.deep.equal([212, 0]);
    });

    it('a zero-length record in the last word of the region (offset === capacity) is fine', () => {
      const d = createRing(1024, 2 ** 32 - 4);
      const w = new RingWriter(d);
      const r = new RingReader(d);
      expect(w.tryReserve(0)).to.equal(1024);
      w.commit();
      expect(w.head).to.equal(0);
      expect(r.peek()).to.equal(1024);
      expect(r.peekLength).to.equal(0);
      r.release();
      expect(r.tail).to.equal(0);
    });

    it('back-pressure: tryReserve returns -1 when full, counts FULL, succeeds after a release', () => {
      const d = createRing(1024);
      const w = new RingWriter(d);
      const r = new RingReader(d);
      let n = 0;
      while (n < 100 && write(w, payload(n, 60))) n++;
      expect(n).to.equal(16); // 16 * 64 = 1024
      expect(r.used()).to.equal(1024);
      expect(r.fill()).to.equal(1);
      expect(w.free()).to.equal(0);
      expect(w.fullCount).to.equal(1);
      expect(w.tryReserve(0)).to.equal(-1);
      expect(w.fullCount).to.equal(2);
      expect(r.peek()).to.equal(4);
      expect(w.tryReserve(0)).to.equal(-1, 'peek alone frees nothing');
      r.release();
      expect(r.used()).to.equal(960);
      expect(w.tryReserve(60)).to.equal(4);
      w.abort();
      expect(w.tryReserve(61)).to.equal(-1, '61 bytes need 68');
      w.write(payload(99, 60));
      const got = readAll(r);
      expect(got.length).to.equal(16);
      expect([...got[15]]).to.deep.equal([...payload(99, 60)]);
    });

    it('reserveAsync waits for space and resolves when the reader releases', async () => {
      const d = createRing(1024);
      const w = new RingWriter(d);
      const r = new RingReader(d);
      for (let i = 0; i < 100 && write(w, payload(0, 124), false); i++);
      expect(r.hasData()).to.equal(false);
      const p = w.reserveAsync(124, 10_000);
      // reserveAsync published the pending commits before sleeping
      expect(r.used()).to.equal(1024);
      expect(w.producerBell.sleeping).to.equal(true);
      expect(r.peek()).to.equal(4);
      r.release();
      const at = await p;
      expect(at).to.equal(4);
      expect(w.producerBell.sleeping).to.equal(false);
      w.commit();
    });

    it('reserveAsync returns at once when there is room and -1 after its timeout', async () => {
      const d = createRing(1024);
      const w = new RingWriter(d);
      expect(await w.reserveAsync(10, 1000)).to.equal(4);
      w.commit();
      for (let i = 0; i < 100 && write(w, payload(0, 60)); i++);
      expect(await w.reserveAsync(60, 5)).to.equal(-1);
      expect(w.producerBell.sleeping).to.equal(false);
    });

    it('rings an external consumer bell on publish only when its owner sleeps', () => {
      const bell = Bell.create();
      const d = createRing(1024);
      const w = new RingWriter({ ...d, consumerBell: bell.desc });
      const seq0 = Atomics.load(bell.i32, bell.seqIndex);
      write(w, payload(1, 4));
      expect(Atomics.load(bell.i32, bell.seqIndex)).to.equal(seq0);
      bell.prepare();
      write(w, payload(1, 4), false);
      expect(Atomics.load(bell.i32, bell.seqIndex)).to.equal(seq0, 'commit without publish rings nothing');
      w.publish();
      expect(Atomics.load(bell.i32, bell.seqIndex)).to.equal(seq0 + 1);
      bell.cancel();
    });
  });

  describe('reader', () => {
    it('peek returns the same record until release; release without peek throws', () => {
      const d = createRing(1024);
      const w = new RingWriter(d);
      const r = new RingReader(d);
      expectRingError(() => r.release(), 'ERR_RING_STATE');
      write(w, payload(1, 7));
      write(w, payload(2, 9));
      const a = r.peek();
      expect(r.peek()).to.equal(a);
      expect(r.peekLength).to.equal(7);
      expect([...r.bytes.subarray(a, a + 7)]).to.deep.equal([...payload(1, 7)]);
      r.release();
      expectRingError(() => r.release(), 'ERR_RING_STATE');
      const b = r.peek();
      expect(r.peekLength).to.equal(9);
      expect([...r.bytes.subarray(b, b + 9)]).to.deep.equal([...payload(2, 9)]);
      r.release();
      expect(r.peek()).to.equal(-1);
      expectRingError(() => r.release(), 'ERR_RING_STATE');
      expect(r.releasedCount).to.equal(2);
    });

    it('drain hands batches of at most max records and releases them with one store', () => {
      const d = createRing(4096);
      const w = new RingWriter(d);
      const r = new RingReader(d);
      for (let i = 0; i < 10; i++) write(w, payload(i, i + 1), false);
      w.publish();
      const seen: number[] = [];
      const h = (b: Uint8Array, off: number, len: number): void => {
        seen.push(len);
        expect([...b.subarray(off, off + len)]).to.deep.equal([...payload(len - 1, len)]);
      };
      expect(r.drain(h, 3)).to.equal(3);
      expect(r.releasedCount).to.equal(3);
      expect(r.tail).to.equal([1, 2, 3].reduce((s, n) => s + 4 + align4(n), 0));
      expect(r.drain(h, 0)).to.equal(0);
      expect(r.drain(h)).to.equal(7);
      expect(r.drain(h)).to.equal(0);
      expect(seen).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(r.used()).to.equal(0);
    });

    it('a drain handler returning false leaves that record in the ring', () => {
      const d = createRing(1024);
      const w = new RingWriter(d);
      const r = new RingReader(d);
      for (let i = 0; i < 4; i++) write(w, payload(i, 8));
      let calls = 0;
      expect(
        r.drain(() => {
          calls++;
          return calls < 3;
        }),
      ).to.equal(2);
      expect(calls).to.equal(3);
      expect(r.used()).to.equal(24, 'records 2 and 3 remain');
      expect(r.drain(() => false)).to.equal(0);
      const a = r.peek();
      expect([...r.bytes.subarray(a, a + 8)]).to.deep.equal([...payload(2, 8)]);
      const rest = readAll(r);
      expect(rest.map((b) => [...b])).to.deep.equal([2, 3].map((i) => [...payload(i, 8)]));
    });

    it('drain(fn, max, false) consumes locally; releaseConsumed() gives the space back', () => {
      const d = createRing(1024);
      const w = new RingWriter(d);
      const r = new RingReader(d);
      for (let i = 0; i < 6; i++) write(w, payload(i, 12));
      const got: number[][] = [];
      const h = (b: Uint8Array, off: number, len: number): void => void got.push([...b.subarray(off, off + len)]);
      expect(r.drain(h, 2, false)).to.equal(2);
      expect(r.used()).to.equal(96);
      expect(r.tail).to.equal(0);
      expect(r.drain(h, 2, false)).to.equal(2);
      expect(r.used()).to.equal(96);
      expect(r.releasedCount).to.equal(0);
      r.releaseConsumed();
      expect(r.used()).to.equal(32);
      expect(r.releasedCount).to.equal(4);
      r.releaseConsumed(); // nothing more
      expect(r.releasedCount).to.equal(4);
      expect(r.drain(h)).to.equal(2);
      expect(got).to.deep.equal([0, 1, 2, 3, 4, 5].map((i) => [...payload(i, 12)]));
    });

    it('hasData refreshes HEAD', () => {
      const d = createRing(1024);
      const w = new RingWriter(d);
      const r = new RingReader(d);
      expect(r.hasData()).to.equal(false);
      write(w, payload(0, 1));
      expect(r.hasData()).to.equal(true);
    });

    it('waitDataAsync resolves when the writer publishes, and false after its timeout', async () => {
      const d = createRing(1024);
      const w = new RingWriter(d);
      const r = new RingReader(d);
      const p = r.waitDataAsync(10_000);
      expect(r.consumerBell.sleeping).to.equal(true);
      write(w, payload(0, 1));
      expect(await p).to.equal(true);
      expect(r.consumerBell.sleeping).to.equal(false);
      expect(await r.waitDataAsync(0)).to.equal(true, 'data already there');
      readAll(r);
      expect(await r.waitDataAsync(5)).to.equal(false);
      expect(r.consumerBell.sleeping).to.equal(false);
    });
  });

  describe('re-attach', () => {
    it('a new writer continues from the last published HEAD; unpublished commits are dropped', () => {
      const d = createRing(1024, 2 ** 32 - 64);
      const w1 = new RingWriter(d);
      const r = new RingReader(d);
      write(w1, payload(1, 20));
      write(w1, payload(2, 20), false); // never published: w1 "dies"
      w1.tryReserve(30); // and an open reservation
      const w2 = new RingWriter(d);
      expect(w2.pendingHead).to.equal(w1.head);
      write(w2, payload(3, 40));
      expect(readAll(r).map((b) => [...b])).to.deep.equal([[...payload(1, 20)], [...payload(3, 40)]]);
    });

    it('a new reader continues from the last released TAIL', () => {
      const d = createRing(1024, 2 ** 32 - 64);
      const w = new RingWriter(d);
      const r1 = new RingReader(d);
      for (let i = 0; i < 5; i++) write(w, payload(i, 20));
      expect(r1.drain(() => undefined, 2)).to.equal(2);
      r1.peek(); // peeked, never released
      const r2 = new RingReader(d);
      expect(readAll(r2).map((b) => [...b])).to.deep.equal([2, 3, 4].map((i) => [...payload(i, 20)]));
      write(w, payload(5, 20));
      const r3 = new RingReader(d);
      expect(readAll(r3).map((b) => [...b])).to.deep.equal([[...payload(5, 20)]]);
    });

    it('a reader that dies between drain(.., false) and release re-delivers exactly those records', () => {
      const d = createRing(1024);
      const w = new RingWriter(d);
      let r = new RingReader(d);
      for (let i = 0; i < 4; i++) write(w, payload(i, 100));
      expect(r.drain(() => undefined, 2)).to.equal(2); // 0, 1 released
      const seen: number[][] = [];
      expect(r.drain((b, o, l) => void seen.push([...b.subarray(o, o + l)]), Infinity, false)).to.equal(2);
      expect(seen).to.deep.equal([2, 3].map((i) => [...payload(i, 100)]));
      r = new RingReader(d); // the old reader died before releaseConsumed()
      write(w, payload(4, 100));
      expect(readAll(r).map((b) => [...b])).to.deep.equal([2, 3, 4].map((i) => [...payload(i, 100)]));
      expect(readAll(r)).to.deep.equal([]);
    });
  });

  describe('corruption', () => {
    function setup(cap = 1024, initial = 0) {
      const d = createRing(cap, initial);
      const w = new RingWriter(d);
      const r = new RingReader(d);
      const u32 = new Uint32Array(d.buffer, RING_HEADER_BYTES, cap / 4);
      return { d, w, r, u32 };
    }
    function expectRecoversAfterCorruption(w: RingWriter, r: RingReader, corrupt: number): void {
      expect(r.corruptCount).to.equal(corrupt);
      expect(r.used()).to.equal(0, 'the backlog is dropped');
      expect(r.tail).to.equal(r.head);
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 10; i++) expect(write(w, payload(1000 + i, 50))).to.equal(true);
        const got = readAll(r);
        expect(got.map((b) => [...b])).to.deep.equal(Array.from({ length: 10 }, (_, i) => [...payload(1000 + i, 50)]));
      }
      expect(r.corruptCount).to.equal(corrupt);
    }

    it('a length above the maximum: counted, backlog dropped, no throw, new records flow', () => {
      const { w, r, u32 } = setup();
      for (let i = 0; i < 5; i++) write(w, payload(i, 16));
      u32[0] = 0x7fffffff;
      expect(r.peek()).to.equal(-1);
      expectRecoversAfterCorruption(w, r, 1);
    });

    it('a length that runs past HEAD', () => {
      const { w, r, u32 } = setup();
      for (let i = 0; i < 3; i++) write(w, payload(i, 16)); // records at 0, 20, 40; HEAD 60
      u32[40 / 4] = 20; // 40 + 4 + 20 > 60
      const got: number[] = [];
      expect(r.drain((_b, _o, len) => void got.push(len))).to.equal(2);
      expect(got).to.deep.equal([16, 16]);
      expectRecoversAfterCorruption(w, r, 1);
    });

    it('a length that straddles the end of the data region', () => {
      const { w, r, u32 } = setup(1024, 1000);
      write(w, payload(0, 16)); // at 1000..1020
      write(w, payload(1, 200)); // wraps: marker at 1020, record at 0..204
      u32[1000 / 4] = 100; // 1000 + 104 > 1024, though within the committed span
      expect(r.peek()).to.equal(-1);
      expectRecoversAfterCorruption(w, r, 1);
    });

    it('a WRAP marker where nothing follows it', () => {
      const { w, r, u32 } = setup();
      write(w, payload(0, 16));
      u32[0] = RECORD_WRAP; // skip = 1024 >= 20 available
      expect(r.peek()).to.equal(-1);
      expectRecoversAfterCorruption(w, r, 1);
    });

    it('a bad length after a (genuine) WRAP marker', () => {
      const { w, r, u32 } = setup(1024, 1000);
      write(w, payload(1, 200)); // marker at 1000, record at 0
      u32[0] = RECORD_WRAP;
      expect(r.peek()).to.equal(-1);
      expectRecoversAfterCorruption(w, r, 1);
    });

    it('corruption in the middle of a drain batch', () => {
      const { w, r, u32 } = setup();
      for (let i = 0; i < 6; i++) write(w, payload(i, 16));
      u32[60 / 4] = 999;
      const lens: number[] = [];
      expect(r.drain((_b, _o, l) => void lens.push(l), Infinity, false)).to.equal(3);
      expect(lens).to.deep.equal([16, 16, 16]);
      r.releaseConsumed();
      expectRecoversAfterCorruption(w, r, 1);
    });

    it('property: arbitrary scribbles over committed data never make the reader throw or loop, and the ring recovers', () => {
      fc.assert(
        fc.property(
          fc.constantFrom(1024, 2048),
          fc.integer({ min: 0, max: 2 ** 30 - 1 }).map((x) => (x * 4) >>> 0),
          fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 30 }),
          fc.array(fc.tuple(fc.nat(), fc.oneof(fc.nat({ max: 600 }), fc.constant(RECORD_WRAP), fc.nat({ max: 0xffffffff }))), {
            minLength: 1,
            maxLength: 4,
          }),
          (cap, initial, sizes, scribbles) => {
            const { w, r, u32 } = setup(cap, initial);
            for (const n of sizes) if (!write(w, payload(n, n))) break;
            const used = r.used();
            const tailSlot = (r.tail % cap) / 4;
            for (const [where, value] of scribbles) u32[(tailSlot + (where % Math.max(1, used / 4))) % (cap / 4)] = value;
            let records = 0;
            for (let guard = 0; guard < 1000; guard++) {
              const k = r.drain((_b, off, len) => {
                expect(off).to.be.at.least(4);
                expect(off + len).to.be.at.most(cap);
                expect(len).to.be.at.most(r.maxRecord);
              });
              if (k === 0) break;
              records += k;
            }
            expect(records).to.be.at.most(sizes.length + used / 4);
            expect(r.hasData()).to.equal(false);
            expect(r.tail).to.equal(r.head);
            // fresh records are delivered intact afterwards
            const c0 = r.corruptCount;
            for (let i = 0; i < 10; i++) expect(write(w, payload(i, 30 + i))).to.equal(true);
            expect(readAll(r).map((b) => [...b])).to.deep.equal(Array.from({ length: 10 }, (_, i) => [...payload(i, 30 + i)]));
            expect(r.corruptCount).to.equal(c0);
          },
        ),
        { numRuns: 300, ...SHRINK_LIMIT },
      );
    });
  });

  describe('corruption requests (fault injection in transit, RingWord.CORRUPT_REQ)', () => {
    function setup(cap = 1024, initial = 0) {
      const d = createRing(cap, initial);
      const hdr = new Int32Array(d.buffer, 0, RING_HEADER_BYTES / 4);
      const request = (mode: CorruptMode, seed: number): void => {
        Atomics.store(hdr, RingWord.CORRUPT_SEED, seed | 0);
        Atomics.store(hdr, RingWord.CORRUPT_REQ, mode);
      };
      return { d, w: new RingWriter(d), r: new RingReader(d), hdr, request };
    }
    const bitsDiffering = (a: Uint8Array, b: Uint8Array): number => {
      let n = 0;
      for (let i = 0; i < a.length; i++) for (let x = a[i] ^ b[i]; x; x &= x - 1) n++;
      return n;
    };

    it('a payload request flips one bit of the last record of the next published batch, never a record already visible', () => {
      const { w, r, hdr, request } = setup();
      for (let i = 0; i < 3; i++) write(w, payload(i, 40));
      // The reader holds record 0 (peeked, being processed) while the request arrives.
      const off = r.peek();
      const held = r.bytes.slice(off, off + r.peekLength);
      request(CorruptMode.PAYLOAD, 12345);
      expect(Atomics.load(hdr, RingWord.CORRUPT_REQ)).to.equal(CorruptMode.PAYLOAD, 'nothing published yet: still pending');
      expect([...r.bytes.subarray(off, off + r.peekLength)]).to.deep.equal([...held]);
      r.release();
      for (let i = 3; i < 6; i++) write(w, payload(i, 40), false);
      w.publish();
      expect(Atomics.load(hdr, RingWord.CORRUPT_REQ)).to.equal(CorruptMode.NONE);
      expect(w.corruptionsApplied).to.equal(1);
      const got = readAll(r);
      expect(got.length).to.equal(5);
      for (let i = 0; i < 5; i++) {
        const want = payload(i + 1, 40);
        expect(bitsDiffering(got[i], want)).to.equal(i === 4 ? 1 : 0, `record ${i + 1}`);
      }
      // The next batch is clean.
      write(w, payload(9, 40));
      expect([...readAll(r)[0]]).to.deep.equal([...payload(9, 40)]);
      expect(w.corruptionsApplied).to.equal(1);
    });

    it('a length request makes the reader reject the batch tail: earlier records delivered, the rest dropped and counted, then recovery', () => {
      const { w, r, request } = setup();
      request(CorruptMode.LENGTH, 7);
      for (let i = 0; i < 4; i++) write(w, payload(i, 20), false);
      w.publish();
      const got = readAll(r);
      expect(got.map((b) => [...b])).to.deep.equal([0, 1, 2].map((i) => [...payload(i, 20)]));
      expect(r.corruptCount).to.equal(1);
      expect(r.used()).to.equal(0);
      for (let i = 0; i < 5; i++) write(w, payload(10 + i, 33));
      expect(readAll(r).map((b) => [...b])).to.deep.equal([0, 1, 2, 3, 4].map((i) => [...payload(10 + i, 33)]));
      expect(r.corruptCount).to.equal(1);
    });

    it('a payload request waits for a record with a payload; a withdrawn or meaningless request damages nothing', () => {
      const { w, r, hdr, request } = setup();
      request(CorruptMode.PAYLOAD, 99);
      write(w, new Uint8Array(0));
      expect(Atomics.load(hdr, RingWord.CORRUPT_REQ)).to.equal(CorruptMode.PAYLOAD);
      expect(readAll(r).map((b) => b.length)).to.deep.equal([0]);
      Atomics.store(hdr, RingWord.CORRUPT_REQ, CorruptMode.NONE); // withdrawn
      write(w, payload(1, 50));
      expect([...readAll(r)[0]]).to.deep.equal([...payload(1, 50)]);
      request(77 as CorruptMode, 1); // not a mode: cleared, nothing damaged
      write(w, payload(2, 50));
      expect(Atomics.load(hdr, RingWord.CORRUPT_REQ)).to.equal(CorruptMode.NONE);
      expect([...readAll(r)[0]]).to.deep.equal([...payload(2, 50)]);
      expect(w.corruptionsApplied).to.equal(0);
      expect(r.corruptCount).to.equal(0);
    });

    it('property: with wraparound and any seed, exactly one bit of exactly one record (the batch\'s last) differs', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 2 ** 30 - 1 }).map((x) => (x * 4) >>> 0),
          fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 6 }),
          fc.integer({ min: 0, max: 4 }),
          fc.nat({ max: 0xffffffff }),
          (initial, sizes, warm, seed) => {
            const { w, r, request } = setup(2048, initial);
            for (let i = 0; i < warm; i++) {
              write(w, payload(i, 200));
              readAll(r);
            }
            request(CorruptMode.PAYLOAD, seed);
            const sent: Uint8Array[] = [];
            for (const n of sizes) {
              const p = payload(n * 7, n);
              if (!write(w, p, false)) break;
              sent.push(p);
            }
            w.publish();
            const got = readAll(r);
            expect(got.length).to.equal(sent.length);
            for (let i = 0; i < sent.length; i++) expect(bitsDiffering(got[i], sent[i])).to.equal(i === sent.length - 1 ? 1 : 0);
          },
        ),
        { numRuns: 300, ...SHRINK_LIMIT },
      );
    });
  });

  describe('wraparound of the 32-bit positions', () => {
    for (const start of [2 ** 32 - 4, 2 ** 32 - 8, 2 ** 32 - 1024, 2 ** 32 - 1028, 2 ** 32 - 512, 2 ** 32 - 4096, 0]) {
      it(`streams 20000 records through a 1 KiB ring starting at ${start}`, () => {
        const cap = 1024;
        const d = createRing(cap, start);
        const w = new RingWriter(d);
        const r = new RingReader(d);
        let wrote = 0;
        let read = 0;
        let pos = start; // unwrapped model of HEAD
        let wraps = 0;
        let x = start >>> 2;
        const next = (): number => (x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0);
        const check = (b: Uint8Array, off: number, len: number): void => {
          const exp = payload(read, len);
          expect(len).to.equal(sizeOf(read));
          for (let i = 0; i < len; i++) if (b[off + i] !== exp[i]) expect.fail(`record ${read} byte ${i}`);
          read++;
        };
        const sizeOf = (k: number): number => (k * 37 + (k >>> 3)) % (r.maxRecord + 1);
        for (let stalls = 0; wrote < 20000; ) {
          const before = wrote + read;
          const burst = 1 + (next() % 8);
          for (let i = 0; i < burst && wrote < 20000; i++) {
            const n = sizeOf(wrote);
            const at = w.tryReserve(n);
            if (at < 0) break;
            const need = 4 + align4(n);
            const h = pos % cap;
            if (h + need > cap) {
              wraps++;
              pos += cap - h;
            }
            expect(at).to.equal((pos % cap) + 4);
            w.bytes.set(payload(wrote, n), at);
            w.commit(n, false);
            pos += need;
            wrote++;
          }
          w.publish();
          expect(w.head).to.equal(pos % U32);
          r.drain(check, 1 + (next() % 8));
          if (wrote + read === before && ++stalls > 3) expect.fail(`no progress after ${wrote} records`);
        }
        for (let i = 0; i < 100 && r.drain(check) > 0; i++);
        expect(read).to.equal(20000);
        expect(r.used()).to.equal(0);
        expect(wraps).to.be.greaterThan(100);
        expect(r.tail).to.equal(pos % U32);
        if (start > 0) expect(pos).to.be.greaterThan(U32, 'crossed 2^32');
        expect(r.corruptCount).to.equal(0);
        expect(r.committedCount).to.equal(20000);
        expect(r.releasedCount).to.equal(20000);
      });
    }
  });

  describe('model-based property', () => {
    type Size = { kind: 'small' | 'any' | 'max' | 'over'; raw: number };
    type Op =
      | { k: 'reserve'; size: Size; seed: number }
      | { k: 'commit'; frac: number; publish: boolean; useDefault: boolean }
      | { k: 'abort' }
      | { k: 'write'; size: Size; seed: number; how: 'commit' | 'abort' | 'shrink'; frac: number; publish: boolean }
      | { k: 'burst'; size: Size; count: number; seed: number }
      | { k: 'publish' }
      | { k: 'peek' }
      | { k: 'release' }
      | { k: 'peekRelease'; count: number }
      | { k: 'drain'; max: number; release: boolean; stopAt: number }
      | { k: 'releaseConsumed' }
      | { k: 'free' }
      | { k: 'reattachWriter' }
      | { k: 'reattachReader' };

    const sizeArb: fc.Arbitrary<Size> = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant('small' as const), raw: fc.nat({ max: 64 }) }) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('any' as const), raw: fc.nat() }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('max' as const), raw: fc.constant(0) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('over' as const), raw: fc.nat({ max: 5000 }) }) },
    );
    const frac = fc.double({ min: 0, max: 1, noNaN: true });
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      { weight: 4, arbitrary: fc.record({ k: fc.constant('reserve' as const), size: sizeArb, seed: fc.nat() }) },
      { weight: 3, arbitrary: fc.record({ k: fc.constant('commit' as const), frac, publish: fc.boolean(), useDefault: fc.boolean() }) },
      { weight: 1, arbitrary: fc.record({ k: fc.constant('abort' as const) }) },
      {
        weight: 8,
        arbitrary: fc.record({
          k: fc.constant('write' as const),
          size: sizeArb,
          seed: fc.nat(),
          how: fc.constantFrom('commit' as const, 'commit' as const, 'abort' as const, 'shrink' as const),
          frac,
          publish: fc.boolean(),
        }),
      },
      { weight: 2, arbitrary: fc.record({ k: fc.constant('burst' as const), size: sizeArb, count: fc.integer({ min: 1, max: 60 }), seed: fc.nat() }) },
      { weight: 2, arbitrary: fc.record({ k: fc.constant('publish' as const) }) },
      { weight: 2, arbitrary: fc.record({ k: fc.constant('peek' as const) }) },
      { weight: 2, arbitrary: fc.record({ k: fc.constant('release' as const) }) },
      { weight: 2, arbitrary: fc.record({ k: fc.constant('peekRelease' as const), count: fc.integer({ min: 1, max: 8 }) }) },
      {
        weight: 4,
        arbitrary: fc.record({
          k: fc.constant('drain' as const),
          max: fc.oneof(fc.integer({ min: 0, max: 10 }), fc.constant(Infinity)),
          release: fc.boolean(),
          stopAt: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 6 })),
        }),
      },
      { weight: 1, arbitrary: fc.record({ k: fc.constant('releaseConsumed' as const) }) },
      { weight: 1, arbitrary: fc.record({ k: fc.constant('free' as const) }) },
      { weight: 1, arbitrary: fc.record({ k: fc.constant('reattachWriter' as const) }) },
      { weight: 1, arbitrary: fc.record({ k: fc.constant('reattachReader' as const) }) },
    );
    const initialArb = fc.oneof(
      fc.constantFrom(0, 2 ** 32 - 4096, 2 ** 32 - 4, 2 ** 32 - 8, 2 ** 32 - 1024, 2 ** 32 - 2048, 2 ** 32 - 8192, 2 ** 32 - 516),
      fc.integer({ min: 0, max: 2 ** 30 - 1 }).map((x) => x * 4),
      fc.integer({ min: 1, max: 3000 }).map((x) => 2 ** 32 - x * 4),
    );

    interface Rec {
      data: Uint8Array;
      /** Unwrapped position of the record's length word, and of the byte after it. */
      start: number;
      end: number;
    }

    /** The model: positions are unwrapped (plain numbers that grow past 2^32). */
    class Model {
      recs: Rec[] = [];
      pub = 0; // records [0, pub) are published
      hPub: number;
      hLocal: number;
      tPub: number;
      con = 0; // records [0, con) consumed by the current reader object
      rel = 0; // records [0, rel) released (TAIL covers them)
      readerPos: number; // the reader's local tail
      peeked = false; // recs[con] located by peek/drain and not consumed
      resv: { n: number; start: number; data: Uint8Array } | null = null;
      unpublished = 0;
      committed = 0;
      released = 0;
      full = 0;
      constructor(
        readonly cap: number,
        initial: number,
      ) {
        this.hPub = this.hLocal = this.tPub = this.readerPos = initial;
      }
      get maxRecord(): number {
        return this.cap / 2 - 4;
      }
      /** Where a record of n bytes would start, and whether it fits. */
      place(n: number): { start: number; fits: boolean } {
        const need = 4 + align4(n);
        const h = this.hLocal % this.cap;
        const start = h + need <= this.cap ? this.hLocal : this.hLocal + (this.cap - h);
        return { start, fits: start + need - this.tPub <= this.cap };
      }
      locate(): Rec | null {
        if (this.peeked) return this.recs[this.con];
        if (this.con >= this.pub) return null;
        const rec = this.recs[this.con];
        this.readerPos = rec.start; // skips a wrap marker, if any
        this.peeked = true;
        return rec;
      }
      consume(): void {
        this.readerPos = this.recs[this.con].end;
        this.con++;
        this.peeked = false;
      }
      publishTail(): void {
        this.tPub = this.readerPos;
        this.released += this.con - this.rel;
        this.rel = this.con;
      }
      publish(): void {
        if (this.unpublished === 0) return;
        this.pub = this.recs.length;
        this.hPub = this.hLocal;
        this.committed += this.unpublished;
        this.unpublished = 0;
      }
    }

    function sizeOf(s: Size, maxRecord: number): number {
      switch (s.kind) {
        case 'small':
          return s.raw;
        case 'any':
          return s.raw % (maxRecord + 1);
        case 'max':
          return maxRecord;
        case 'over':
          return maxRecord + 1 + s.raw;
      }
    }

    function run(cap: number, initial: number, ops: Op[]): void {
      const d: RingDescriptor = createRing(cap, initial);
      let w = new RingWriter(d);
      let r = new RingReader(d);
      const m = new Model(cap, initial);
      const off = (rec: Rec): number => (rec.start % cap) + 4;
      const same = (b: Uint8Array, o: number, len: number, rec: Rec, what: string): void => {
        expect(len, `${what}: length`).to.equal(rec.data.length);
        for (let i = 0; i < len; i++) if (b[o + i] !== rec.data[i]) expect.fail(`${what}: byte ${i} differs`);
      };

      const reserve = (n: number, seed: number): boolean => {
        if (m.resv) {
          expectRingError(() => w.tryReserve(n), 'ERR_RING_STATE');
          return false;
        }
        if (n > m.maxRecord) {
          expectRingError(() => w.tryReserve(n), 'ERR_RING_RECORD_TOO_LARGE');
          return false;
        }
        const { start, fits } = m.place(n);
        const at = w.tryReserve(n);
        if (!fits) {
          expect(at, `reserve(${n}) on a full ring`).to.equal(-1);
          m.full++;
          return false;
        }
        expect(at, `reserve(${n}) must fit: used ${m.hLocal - m.tPub}, head slot ${m.hLocal % cap}`).to.equal((start % cap) + 4);
        const data = payload(seed, n);
        w.bytes.set(data, at);
        m.resv = { n, start, data };
        return true;
      };
      const commit = (len: number | undefined, publish: boolean): void => {
        if (!m.resv) {
          expectRingError(() => w.commit(len ?? 0, publish), 'ERR_RING_STATE');
          return;
        }
        const n = len ?? m.resv.n;
        if (len === undefined && publish) w.commit();
        else w.commit(n, publish);
        m.recs.push({ data: m.resv.data.slice(0, n), start: m.resv.start, end: m.resv.start + 4 + align4(n) });
        m.hLocal = m.resv.start + 4 + align4(n);
        m.resv = null;
        m.unpublished++;
        if (publish) m.publish();
      };
      const peek = (): void => {
        const rec = m.locate();
        const at = r.peek();
        if (!rec) {
          expect(at, 'peek on an empty ring').to.equal(-1);
          return;
        }
        expect(at).to.equal(off(rec));
        same(r.bytes, at, r.peekLength, rec, `peek of record ${m.con}`);
      };
      const release = (): void => {
        if (!m.peeked) {
          expectRingError(() => r.release(), 'ERR_RING_STATE');
          return;
        }
        r.release();
        m.consume();
        m.publishTail();
      };

      for (const op of ops) {
        switch (op.k) {
          case 'reserve':
            reserve(sizeOf(op.size, m.maxRecord), op.seed);
            break;
          case 'commit':
            commit(op.useDefault ? undefined : m.resv ? Math.floor(op.frac * m.resv.n) : 0, op.publish);
            break;
          case 'abort':
            w.abort();
            m.resv = null;
            break;
          case 'write': {
            if (m.resv) {
              w.abort();
              m.resv = null;
            }
            if (!reserve(sizeOf(op.size, m.maxRecord), op.seed)) break;
            if (op.how === 'abort') {
              w.abort();
              m.resv = null;
            } else commit(op.how === 'shrink' ? Math.floor(op.frac * m.resv!.n) : undefined, op.publish);
            break;
          }
          case 'burst': {
            if (m.resv) {
              w.abort();
              m.resv = null;
            }
            for (let i = 0; i < op.count; i++) {
              if (!reserve(sizeOf(op.size, m.maxRecord), op.seed + i)) break;
              commit(undefined, false);
            }
            w.publish();
            m.publish();
            break;
          }
          case 'publish':
            w.publish();
            m.publish();
            break;
          case 'peek':
            peek();
            break;
          case 'release':
            release();
            break;
          case 'peekRelease':
            for (let i = 0; i < op.count; i++) {
              peek();
              release();
            }
            break;
          case 'drain': {
            let calls = 0;
            let stopped = false;
            const n = r.drain(
              (b, o, len) => {
                const rec = m.locate();
                expect(rec, 'drain delivered a record the model does not have').to.not.equal(null);
                expect(o).to.equal(off(rec!));
                same(b, o, len, rec!, `drain of record ${m.con}`);
                if (calls++ === op.stopAt) {
                  stopped = true;
                  return false;
                }
                m.consume();
                return true;
              },
              op.max,
              op.release,
            );
            expect(n).to.equal(calls - (stopped ? 1 : 0));
            if (!stopped && n < op.max) expect(m.locate(), 'drain stopped early').to.equal(null);
            if (n > 0 && op.release) m.publishTail();
            break;
          }
          case 'releaseConsumed':
            r.releaseConsumed();
            if (m.con > m.rel) m.publishTail();
            break;
          case 'free':
            expect(w.free()).to.equal(cap - (m.hLocal - m.tPub));
            break;
          case 'reattachWriter':
            w = new RingWriter(d);
            m.recs.length = m.pub;
            m.hLocal = m.hPub;
            m.resv = null;
            m.unpublished = 0;
            break;
          case 'reattachReader':
            r = new RingReader(d);
            m.con = m.rel;
            m.readerPos = m.tPub;
            m.peeked = false;
            break;
        }
        // bookkeeping after every step
        expect(r.head, 'HEAD').to.equal(m.hPub % U32);
        expect(r.tail, 'TAIL').to.equal(m.tPub % U32);
        expect(w.pendingHead, 'pendingHead').to.equal(m.hLocal % U32);
        expect(r.used(), 'used()').to.equal(m.hPub - m.tPub);
        expect(w.used(), 'used() seen by the writer').to.equal(m.hPub - m.tPub);
        expect(r.fill()).to.equal((m.hPub - m.tPub) / cap);
        expect(r.committedCount, 'COMMITTED').to.equal(m.committed);
        expect(r.releasedCount, 'RELEASED').to.equal(m.released);
        expect(r.fullCount, 'FULL').to.equal(m.full);
        expect(r.corruptCount, 'CORRUPT').to.equal(0);
      }
      // finally everything published is delivered, in order, exactly once more
      w.abort();
      w.publish();
      m.publish();
      r = new RingReader(d);
      m.con = m.rel;
      m.peeked = false;
      const rest: Uint8Array[] = readAll(r);
      expect(rest.length).to.equal(m.pub - m.rel);
      rest.forEach((b, i) => expect([...b]).to.deep.equal([...m.recs[m.rel + i].data]));
      expect(r.used()).to.equal(0);
    }

    it('the reader sees exactly the model queue, byte-identical and in order; full iff the fit rule says so', () => {
      fc.assert(
        fc.property(fc.constantFrom(1024, 2048, 4096, 8192), initialArb, fc.array(opArb, { maxLength: 150, size: 'max' }), (cap, initial, ops) =>
          run(cap, initial, ops),
        ),
        { numRuns: 400, ...SHRINK_LIMIT },
      );
    }).timeout(30_000);

    it('same, heavy on writes (long sequences that fill and wrap the ring many times)', () => {
      const heavy = fc.oneof(
        { weight: 5, arbitrary: opArb },
        { weight: 5, arbitrary: fc.record({ k: fc.constant('burst' as const), size: sizeArb, count: fc.integer({ min: 1, max: 60 }), seed: fc.nat() }) },
        { weight: 5, arbitrary: fc.record({ k: fc.constant('drain' as const), max: fc.integer({ min: 1, max: 40 }), release: fc.boolean(), stopAt: fc.constant(-1) }) },
      );
      fc.assert(
        fc.property(fc.constantFrom(1024, 2048), initialArb, fc.array(heavy, { minLength: 100, maxLength: 400, size: 'max' }), (cap, initial, ops) =>
          run(cap, initial, ops),
        ),
        { numRuns: 100, ...SHRINK_LIMIT },
      );
    }).timeout(30_000);

    it('regression examples', () => {
      const D = (max: number, release = true, stopAt = -1): Op => ({ k: 'drain', max, release, stopAt });
      const W = (raw: number, publish = true): Op => ({ k: 'write', size: { kind: 'small', raw }, seed: raw, how: 'commit', frac: 1, publish });
      // a wrapped record whose drain is refused: TAIL may move past the marker, not past the record
      run(1024, 1000, [W(8), D(Infinity), W(40), D(1, true, 0), { k: 'reattachReader' }, D(Infinity)]);
      // drain(.., false) then a peek across a wrap, then releaseConsumed
      run(1024, 2 ** 32 - 40, [W(20), W(20), W(20), D(2, false), { k: 'peek' }, { k: 'releaseConsumed' }, { k: 'reattachReader' }, D(Infinity)]);
      // exactly full then wrap
      run(1024, 2 ** 32 - 4, [{ k: 'burst', size: { kind: 'small', raw: 60 }, count: 60, seed: 1 }, D(3), W(100), W(0), D(Infinity)]);
    });
  });
});
