import { expect } from 'chai';
import * as fc from 'fast-check';
import {
  checksum, finish, fold, incrementalUpdate16, incrementalUpdate32, pseudoSumV4, pseudoSumV6, pseudoSumV6Addrs, sum16,
} from '../../protocol/checksum';
import { hex } from './v4-helpers';

/** Straightforward reference: 16-bit big-endian words, end-around carry each step. */
function reference(b: Uint8Array, off: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i += 2) {
    s += (b[off + i] << 8) | (i + 1 < len ? b[off + i + 1] : 0);
    s = (s & 0xffff) + (s >>> 16);
  }
  return ~s & 0xffff;
}

describe('protocol/checksum', () => {
  it('RFC 1071 section 3 example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2', () => {
    const b = hex('0001 f203 f4f5 f6f7');
    expect(fold(sum16(b, 0, 8))).to.equal(0xddf2);
    expect(checksum(b)).to.equal(~0xddf2 & 0xffff);
  });
  it('a header including its checksum sums to zero', () => {
    const h = hex('4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7');
    expect(checksum(h)).to.equal(0);
    h[10] = 0;
    h[11] = 0;
    expect(checksum(h)).to.equal(0xb861);
  });
  it('odd lengths pad with a zero byte', () => {
    expect(checksum(Uint8Array.of(0x12))).to.equal(~0x1200 & 0xffff);
    expect(checksum(Uint8Array.of(0x12, 0x34, 0x56))).to.equal(~(0x1234 + 0x5600) & 0xffff);
    expect(checksum(new Uint8Array(0))).to.equal(0xffff);
  });
  it('matches the reference for any length and any (unaligned) offset, both paths (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 600 }), fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 7 }),
      (data, pre, post) => {
        // place the data at an arbitrary offset inside a larger buffer, itself a subarray at an
        // unaligned byteOffset, so both the 32-bit and the byte loops run
        const backing = new Uint8Array(data.length + pre + post + 8);
        const view = backing.subarray(pre % 4);
        view.set(data, pre);
        expect(checksum(view, pre, data.length)).to.equal(reference(data, 0, data.length));
      }), { numRuns: 1000 });
  });
  it('large buffers (64 KiB) agree with the reference', () => {
    const b = new Uint8Array(65536 + 3);
    for (let i = 0; i < b.length; i++) b[i] = (i * 2654435761) >>> 24;
    for (const off of [0, 1, 2, 3]) expect(checksum(b, off, 65536)).to.equal(reference(b, off, 65536));
    b.fill(0xff);
    expect(checksum(b, 0, 65536)).to.equal(reference(b, 0, 65536));
  });
  it('sum16 chains: summing in two pieces with an even split equals summing at once', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 2, maxLength: 300 }), fc.nat(), (b, k) => {
      const split = (k % (b.length >> 1)) * 2;
      const whole = finish(sum16(b, 0, b.length));
      expect(finish(sum16(b, split, b.length - split, sum16(b, 0, split)))).to.equal(whole);
    }));
  });
  it('RFC 1624 incremental update equals recomputation (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 20, maxLength: 60 }).map((b) => b.subarray(0, b.length & ~1)),
      fc.nat(), fc.integer({ min: 0, max: 0xffff }), (b, k, nw) => {
        const idx = (k % (b.length >> 1)) * 2;
        if (idx === 10) return; // keep the checksum field itself out of it
        b[10] = 0;
        b[11] = 0;
        const c = checksum(b);
        b[10] = c >> 8;
        b[11] = c & 0xff;
        const old = (b[idx] << 8) | b[idx + 1];
        b[idx] = nw >> 8;
        b[idx + 1] = nw & 0xff;
        const inc = incrementalUpdate16(c, old, nw);
        b[10] = 0;
        b[11] = 0;
        const full = checksum(b);
        // RFC 1624 eqn 3 never produces 0xffff->0 ambiguity issues except for the all-zero case
        expect(inc === full || (inc === 0xffff && full === 0) || (inc === 0 && full === 0xffff)).to.equal(true);
      }), { numRuns: 2000 });
  });
  it('incrementalUpdate32 (a NAT address rewrite) equals recomputation (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.integer({ min: 0, max: 0xffffffff }), (b, addr) => {
      b[10] = 0;
      b[11] = 0;
      const c = checksum(b);
      const old = ((b[12] << 24) | (b[13] << 16) | (b[14] << 8) | b[15]) >>> 0;
      b[12] = addr >>> 24;
      b[13] = addr >>> 16;
      b[14] = addr >>> 8;
      b[15] = addr;
      const inc = incrementalUpdate32(c, old, addr);
      const full = checksum(b);
      expect(inc === full || (inc === 0xffff && full === 0) || (inc === 0 && full === 0xffff)).to.equal(true);
    }), { numRuns: 2000 });
  });
  it('pseudo-headers: v4 sums src, dst, protocol, length; v6 forms agree', () => {
    expect(pseudoSumV4(0xc0000201, 0xc0000202, 6, 40)).to.equal(0xc000 + 0x0201 + 0xc000 + 0x0202 + 6 + 40);
    const b = new Uint8Array(40);
    for (let i = 0; i < 40; i++) b[i] = i * 7;
    expect(pseudoSumV6(b, 2, 20, 17, 70000)).to.equal(pseudoSumV6Addrs(b.subarray(2, 18), b.subarray(20, 36), 17, 70000));
  });
});
