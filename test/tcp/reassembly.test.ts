import { expect } from 'chai';
import fc from 'fast-check';
import { reassemble } from '../../actors/tcp/reassembly';
import { addRange, trimBelow } from '../../actors/tcp/ranges';
import { ByteStream } from '../../actors/tcp/stream';
import { newTcb } from '../../actors/tcp/tcb';
import { patternBytes } from './harness';

function tcbWithStreams(cap: number, irs: number, pos: number) {
  const sab = new SharedArrayBuffer(2 * (128 + cap));
  const snd = new ByteStream(sab, 0, cap);
  const rcv = new ByteStream(sab, 128 + cap, cap);
  snd.reset(pos, 1);
  rcv.reset(pos, 1);
  const t = newTcb(0, snd, rcv);
  t.rcvBase = (irs + 1 - pos) >>> 0;
  return t;
}

describe('tcp: reassembly and ranges (properties)', () => {
  it('any order and duplication of segments delivers the stream exactly (bounded ranges)', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 30 }),
      fc.array(fc.nat(), { maxLength: 200 }),
      (irs, pos, sizes, order) => {
        const cap = 8192;
        const t = tcbWithStreams(cap, irs, pos);
        const total = sizes.reduce((a, b) => a + b, 0);
        const data = patternBytes(total, irs);
        const segs: [number, number][] = [];
        let o = 0;
        for (const s of sizes) {
          segs.push([o, s]);
          o += s;
        }
        // deliver in a random order with duplicates, then everything in order to finish
        const plan = order.map((k) => segs[k % segs.length]).concat(segs);
        const out: number[] = [];
        for (const [off, len] of plan) {
          reassemble(t, (irs + 1 + off) >>> 0, data, off, len, (irs + 1 + cap) >>> 0);
          expect(t.oooList.length / 2).to.be.at.most(8);
          const got = new Uint8Array(t.rcv.used());
          t.rcv.read(got);
          out.push(...got);
        }
        expect(out.length).to.equal(total);
        expect(Buffer.from(out).equals(Buffer.from(data))).to.equal(true);
      },
    ), { numRuns: 200 });
  });

  it('addRange keeps ranges sorted, disjoint and merged across the wrap', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 1, max: 500 })), { maxLength: 40 }), (rs) => {
      const base = 0xffffff00;
      const l: number[] = [];
      const covered = new Set<number>();
      for (const [a, n] of rs) {
        if (addRange(l, (base + a) >>> 0, (base + a + n) >>> 0, 64) >= 0) for (let i = a; i < a + n; i++) covered.add(i);
      }
      let count = 0;
      for (let i = 0; i < l.length; i += 2) {
        const lo = (l[i] - base) | 0;
        const hi = (l[i + 1] - base) | 0;
        expect(hi).to.be.greaterThan(lo);
        if (i > 0) expect(lo).to.be.greaterThan((l[i - 1] - base) | 0);
        count += hi - lo;
      }
      expect(count).to.equal(covered.size);
      trimBelow(l, (base + 2500) >>> 0);
      for (let i = 0; i < l.length; i++) expect((l[i] - base) | 0).to.be.at.least(2500);
    }));
  });
});
