import { expect } from 'chai';
import * as fc from 'fast-check';
import {
  inWindow, seqAdd, seqBetween, seqDiff, seqGe, seqGt, seqLe, seqLt, seqMax, seqMin, seqSub,
} from '../../protocol/seq';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const delta = fc.integer({ min: -(2 ** 31) + 1, max: 2 ** 31 - 1 });

describe('protocol/seq', () => {
  it('wraps around 2^32', () => {
    expect(seqAdd(0xffffffff, 1)).to.equal(0);
    expect(seqAdd(0, -1)).to.equal(0xffffffff);
    expect(seqLt(0xfffffff0, 0x10)).to.equal(true);
    expect(seqGt(0x10, 0xfffffff0)).to.equal(true);
    expect(seqSub(0x10, 0xfffffff0)).to.equal(0x20);
    expect(seqDiff(0xfffffff0, 0x10)).to.equal(-0x20);
    expect(seqLe(5, 5)).to.equal(true);
    expect(seqGe(5, 5)).to.equal(true);
    expect(seqLt(5, 5)).to.equal(false);
    expect(seqMax(0xfffffff0, 0x10)).to.equal(0x10);
    expect(seqMin(0xfffffff0, 0x10)).to.equal(0xfffffff0);
  });
  it('inWindow and seqBetween across the wrap', () => {
    expect(inWindow(0xfffffffe, 0xfffffff0, 100)).to.equal(true);
    expect(inWindow(0x20, 0xfffffff0, 100)).to.equal(true);
    expect(inWindow(0xfffffff0 + 100 - 2 ** 32, 0xfffffff0, 100)).to.equal(false);
    expect(inWindow(0xffffffef, 0xfffffff0, 100)).to.equal(false);
    expect(inWindow(7, 7, 0)).to.equal(false);
    expect(seqBetween(3, 0xfffffffe, 5)).to.equal(true);
    expect(seqBetween(6, 0xfffffffe, 5)).to.equal(false);
  });
  it('a + d compares like d against 0 for |d| < 2^31 (property)', () => {
    fc.assert(fc.property(u32, delta, (a, d) => {
      const b = seqAdd(a, d);
      expect(b).to.be.within(0, 0xffffffff);
      expect(seqSub(b, a)).to.equal(d);
      expect(seqLt(a, b)).to.equal(d > 0);
      expect(seqGt(a, b)).to.equal(d < 0);
      expect(seqLe(a, b)).to.equal(d >= 0);
      expect(seqGe(a, b)).to.equal(d <= 0);
      expect(seqMax(a, b)).to.equal(d >= 0 ? b : a);
      expect(seqMin(a, b)).to.equal(d >= 0 ? a : b);
    }));
  });
  it('inWindow(s, start, len) iff 0 <= s - start < len (property)', () => {
    fc.assert(fc.property(u32, fc.integer({ min: 0, max: 2 ** 31 - 1 }), delta, (start, len, d) => {
      expect(inWindow(seqAdd(start, d), start, len)).to.equal(d >= 0 && d < len);
    }));
  });
  it('results are always uint32 or int32, never NaN', () => {
    fc.assert(fc.property(u32, u32, (a, b) => {
      expect(Number.isInteger(seqSub(a, b))).to.equal(true);
      expect(seqMax(a, b) >>> 0).to.equal(seqMax(a, b));
    }));
  });
});
