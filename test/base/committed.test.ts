// Tests for base/committed.ts: crash-atomic records (two slots and an atomically flipped index).
// A "crash" is simulated by writing part of the inactive slot directly and never flipping, which
// is exactly what a thread that dies inside commit() leaves behind.

import { expect } from 'chai';
import fc from 'fast-check';
import { CommittedRecords } from '../../base/committed';

/** Raw views of the layout described in base/committed.ts (selector words, then 2 slots per
 *  record of `fields` Float64s each). */
function raw(buffer: SharedArrayBuffer, count: number, fields: number, byteOffset = 0) {
  const selBytes = Math.ceil((count * 4) / 8) * 8;
  const sel = new Int32Array(buffer, byteOffset, count);
  const slots = new Float64Array(buffer, byteOffset + selBytes, count * 2 * fields);
  return {
    sel,
    slots,
    /** A thread dies in commit(i) after writing the first k fields of the inactive slot. */
    crashMidCommit(i: number, values: number[], k: number): void {
      const inactive = (Atomics.load(sel, i) & 1) ^ 1;
      const base = (i * 2 + inactive) * fields;
      for (let f = 0; f < k; f++) slots[base + f] = values[f];
    },
  };
}

function committedOf(rec: CommittedRecords, i: number): number[] {
  return Array.from({ length: rec.fields }, (_, f) => rec.get(i, f));
}

describe('base/committed', () => {
  it('bytes() covers the selectors (8-byte aligned) and two slots per record', () => {
    expect(CommittedRecords.bytes(1, 3)).to.equal(8 + 2 * 3 * 8);
    expect(CommittedRecords.bytes(2, 3)).to.equal(8 + 4 * 3 * 8);
    expect(CommittedRecords.bytes(3, 2)).to.equal(16 + 6 * 2 * 8);
    // and the constructor fits in exactly that many bytes
    for (const [c, f] of [
      [1, 1],
      [3, 5],
      [8, 2],
    ]) {
      expect(() => new CommittedRecords(new SharedArrayBuffer(CommittedRecords.bytes(c, f)), c, f)).to.not.throw();
    }
  });

  it('a fresh record reads as zeros', () => {
    const rec = new CommittedRecords(new SharedArrayBuffer(CommittedRecords.bytes(2, 3)), 2, 3);
    expect(committedOf(rec, 0)).to.deep.equal([0, 0, 0]);
    expect(committedOf(rec, 1)).to.deep.equal([0, 0, 0]);
    expect([...rec.load(1)]).to.deep.equal([0, 0, 0]);
  });

  it('commit() makes the new version visible in one flip; get/load return it', () => {
    const buffer = new SharedArrayBuffer(CommittedRecords.bytes(1, 3));
    const rec = new CommittedRecords(buffer, 1, 3);
    const r = raw(buffer, 1, 3);
    rec.commit(0, [1, 2, 3]);
    expect(r.sel[0] & 1).to.equal(1);
    expect(committedOf(rec, 0)).to.deep.equal([1, 2, 3]);
    rec.commit(0, [4, 5, 6]);
    expect(r.sel[0] & 1).to.equal(0);
    expect(committedOf(rec, 0)).to.deep.equal([4, 5, 6]);
    const d = rec.load(0);
    expect(d).to.equal(rec.draft, 'load() fills and returns the draft');
    expect([...d]).to.deep.equal([4, 5, 6]);
    d[1] = 50;
    expect(rec.get(0, 1)).to.equal(5, 'editing the draft changes nothing committed');
    rec.commit(0);
    expect(committedOf(rec, 0)).to.deep.equal([4, 50, 6]);
  });

  it('keeps integers up to 2^53 and uint32 ring positions exactly', () => {
    const rec = new CommittedRecords(new SharedArrayBuffer(CommittedRecords.bytes(1, 3)), 1, 3);
    rec.commit(0, [2 ** 53 - 1, 2 ** 32 - 4, -1]);
    expect(committedOf(rec, 0)).to.deep.equal([2 ** 53 - 1, 2 ** 32 - 4, -1]);
  });

  it('records are independent, and a byteOffset leaves the bytes before it alone', () => {
    const buffer = new SharedArrayBuffer(64 + CommittedRecords.bytes(3, 2));
    const prefix = new Uint8Array(buffer, 0, 64);
    prefix.fill(0xab);
    const rec = new CommittedRecords(buffer, 3, 2, 64);
    rec.commit(0, [1, 1]);
    rec.commit(2, [3, 3]);
    rec.commit(2, [4, 4]);
    expect(committedOf(rec, 0)).to.deep.equal([1, 1]);
    expect(committedOf(rec, 1)).to.deep.equal([0, 0]);
    expect(committedOf(rec, 2)).to.deep.equal([4, 4]);
    expect(prefix.every((b) => b === 0xab)).to.equal(true);
  });

  it('a new instance on the same buffer (the next incarnation) reads the committed version', () => {
    const buffer = new SharedArrayBuffer(CommittedRecords.bytes(1, 3));
    new CommittedRecords(buffer, 1, 3).commit(0, [10, 20, 30]);
    const again = new CommittedRecords(buffer, 1, 3);
    expect(committedOf(again, 0)).to.deep.equal([10, 20, 30]);
    expect([...again.load(0)]).to.deep.equal([10, 20, 30]);
  });

  it('a crash in the middle of writing the draft slot leaves the old version readable', () => {
    const buffer = new SharedArrayBuffer(CommittedRecords.bytes(1, 3));
    const rec = new CommittedRecords(buffer, 1, 3);
    const r = raw(buffer, 1, 3);
    rec.commit(0, [1, 2, 3]);
    for (let k = 0; k <= 3; k++) {
      r.crashMidCommit(0, [-7, -8, -9], k); // k = 3: every field written, crash before the flip
      expect(committedOf(rec, 0)).to.deep.equal([1, 2, 3]);
      const next = new CommittedRecords(buffer, 1, 3);
      expect(committedOf(next, 0)).to.deep.equal([1, 2, 3]);
      expect([...next.load(0)]).to.deep.equal([1, 2, 3]);
    }
    // the next incarnation commits over the half-written slot
    const next = new CommittedRecords(buffer, 1, 3);
    next.commit(0, [4, 5, 6]);
    expect(committedOf(rec, 0)).to.deep.equal([4, 5, 6]);
    expect(committedOf(next, 0)).to.deep.equal([4, 5, 6]);
  });

  it('property: after any sequence of commits and mid-commit crashes, every record reads its last committed version', () => {
    const value = fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 32 }), fc.double({ noNaN: true }));
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 6 }),
        fc.array(
          fc.record({
            i: fc.nat(),
            values: fc.array(value, { minLength: 6, maxLength: 6 }),
            crashAfter: fc.option(fc.nat({ max: 6 }), { nil: undefined }),
            reattach: fc.boolean(),
          }),
          { maxLength: 60, size: 'max' },
        ),
        (count, fields, ops) => {
          const buffer = new SharedArrayBuffer(CommittedRecords.bytes(count, fields));
          let rec = new CommittedRecords(buffer, count, fields);
          const r = raw(buffer, count, fields);
          const model: number[][] = Array.from({ length: count }, () => new Array<number>(fields).fill(0));
          for (const op of ops) {
            const i = op.i % count;
            const values = op.values.slice(0, fields);
            if (op.crashAfter !== undefined) r.crashMidCommit(i, values, Math.min(op.crashAfter, fields));
            else {
              rec.commit(i, values);
              model[i] = values;
            }
            if (op.reattach) rec = new CommittedRecords(buffer, count, fields);
            for (let j = 0; j < count; j++) expect(committedOf(rec, j)).to.deep.equal(model[j]);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
