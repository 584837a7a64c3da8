// impair wrapper: seeded determinism, rates close to the configured probabilities over many
// frames, delay/jitter/rate on a fake clock, runtime changes, both directions.

import { expect } from 'chai';
import { SeededRandom, FakeClock } from '../../base/clock';
import { ImpairLink, ImpairConfig } from '../../actors/nic/impair';
import { LoopbackLink } from '../../actors/nic/loopback';
import { Wire } from '../../actors/nic/wire';
import { WriteStatus } from '../../actors/nic/link';
import { Collector, seqFrame, frameSeq, bitDiff } from './frames';

/** Sends `n` frames through an impaired loopback on a fake clock (one frame per `gapMs`), runs
 *  timers until everything is out, and returns what came back. */
function run(cfg: ImpairConfig, seed: number, n: number, gapMs = 0, len = 64): { got: Collector; link: ImpairLink; clock: FakeClock } {
  const clock = new FakeClock(0);
  const lo = new LoopbackLink({ queueFrames: n * 3 + 10 });
  const link = new ImpairLink(lo, { ...cfg, random: new SeededRandom(seed) });
  const got = new Collector();
  link.attach(got);
  // Runs every timer due up to `t`, at its own time, then moves the clock to `t`.
  const until = (t: number): void => {
    for (let k = 0; k < 1_000_000; k++) {
      link.poll(clock.now(), 1 << 20);
      const d = link.nextDeadline();
      if (d > t) break;
      clock.advanceTo(d);
      link.onTimer(clock.now());
    }
    clock.advanceTo(t);
    link.poll(clock.now(), 1 << 20);
  };
  for (let i = 0; i < n; i++) {
    link.write(seqFrame(i, len), 0, len, clock.now());
    until(clock.now() + gapMs);
  }
  for (let k = 0; k < 1_000_000; k++) {
    link.poll(clock.now(), 1 << 20);
    const d = link.nextDeadline();
    if (d === Infinity && lo.pending === 0) break;
    if (d > clock.now()) clock.advanceTo(d);
    link.onTimer(clock.now());
  }
  return { got, link, clock };
}

/** Deliveries that arrive after a higher sequence number already did. */
function lateCount(seqs: number[]): number {
  let max = -1;
  let late = 0;
  for (const s of seqs) {
    if (s < max) late++;
    else max = s;
  }
  return late;
}

describe('nic impair wrapper', () => {
  const mixed: ImpairConfig = { tx: { loss: 0.1, duplicate: 0.05, reorder: 0.1, corrupt: 0.02 } };

  it('same seed => same drops, duplicates, reorders and bit flips', () => {
    const a = run(mixed, 42, 3000);
    const b = run(mixed, 42, 3000);
    expect(a.got.seqs()).to.deep.equal(b.got.seqs());
    expect(a.got.frames.map((f) => Buffer.from(f).toString('hex'))).to.deep.equal(b.got.frames.map((f) => Buffer.from(f).toString('hex')));
    expect(a.link.counters.snapshot()).to.deep.equal(b.link.counters.snapshot());
    const c = run(mixed, 43, 3000);
    expect(c.got.seqs()).to.not.deep.equal(a.got.seqs());
  });

  it('loss, duplication, corruption and reordering happen at roughly the configured rates', () => {
    const n = 20000;
    const { got, link } = run({ tx: { loss: 0.1, duplicate: 0.05, corrupt: 0.02, reorder: 0.1 } }, 7, n);
    const lost = link.counters.get('drop.tx.loss');
    const dup = link.counters.get('tx.duplicated');
    const corrupted = link.counters.get('tx.corrupted');
    const reordered = link.counters.get('tx.reordered');
    expect(lost / n).to.be.closeTo(0.1, 0.01);
    expect(dup / (n - lost)).to.be.closeTo(0.05, 0.008);
    expect(corrupted / (n - lost + dup)).to.be.closeTo(0.02, 0.005);
    expect(reordered / (n - lost + dup)).to.be.closeTo(0.1, 0.01);
    expect(got.frames.length).to.equal(n - lost + dup);
    // Every corrupted frame differs from the original by exactly one bit.
    let flipped = 0;
    for (const f of got.frames) {
      const orig = seqFrame(frameSeq(f), f.length);
      const d = bitDiff(f, orig);
      if (d !== 0) {
        // A flip inside the seq field changes which original we compare with; skip those.
        if (d === 1) flipped++;
      }
    }
    expect(flipped).to.be.closeTo(corrupted, corrupted * 0.15);
    expect(lateCount(got.seqs())).to.be.greaterThan(reordered * 0.8);
  });

  it('with nothing configured passes frames straight through, keeping back-pressure', () => {
    const lo = new LoopbackLink({ queueFrames: 2 });
    const link = new ImpairLink(lo, { random: new SeededRandom(1) });
    expect(link.write(seqFrame(0), 0, 64, 0)).to.equal(WriteStatus.SENT);
    expect(link.write(seqFrame(1), 0, 64, 0)).to.equal(WriteStatus.SENT);
    expect(link.write(seqFrame(2), 0, 64, 0)).to.equal(WriteStatus.BUSY);
  });

  it('delays frames by delay ± jitter on the caller clock', () => {
    const { got } = run({ tx: { delayMs: 20, jitterMs: 5 } }, 3, 500, 1);
    expect(got.frames).to.have.length(500);
    for (let i = 0; i < got.frames.length; i++) {
      const sent = frameSeq(got.frames[i]); // frame i was sent at t = i (1 ms apart)
      const lat = got.times[i] - sent;
      expect(lat).to.be.within(15, 25.0001);
    }
    // Jitter wider than the spacing reorders some frames, as netem does.
    expect(lateCount(got.seqs())).to.be.greaterThan(0);
  });

  it('without jitter a fixed delay keeps order and exposes the deadline', () => {
    const clock = new FakeClock(100);
    const lo = new LoopbackLink();
    const link = new ImpairLink(lo, { tx: { delayMs: 10 }, random: new SeededRandom(1) });
    const got = new Collector();
    link.attach(got);
    link.write(seqFrame(1), 0, 64, 100);
    link.write(seqFrame(2), 0, 64, 101);
    expect(link.nextDeadline()).to.equal(110);
    expect(link.held).to.equal(2);
    link.onTimer(109);
    link.poll(109, 10);
    expect(got.frames).to.have.length(0);
    link.onTimer(111);
    link.poll(111, 10);
    expect(got.seqs()).to.deep.equal([1, 2]);
    expect(got.times).to.deep.equal([111, 111]);
  });

  it('limits the rate with a token bucket', () => {
    // 1 Mbit/s, 1000-byte frames: 125 frames/s after the initial burst.
    const { got, clock } = run({ tx: { rateBps: 1_000_000, burstBytes: 5000 } }, 1, 500, 0, 1000);
    expect(got.frames).to.have.length(500);
    const elapsedS = clock.now() / 1000;
    expect(elapsedS).to.be.closeTo((500 * 1000 - 5000) / 125000, 0.05);
    // Within any window after the burst, no more than rate * window bytes leave.
    const t0 = got.times[10];
    const inFirst = got.times.filter((t) => t >= t0 && t < t0 + 1000).length;
    expect(inFirst).to.be.within(120, 131);
  });

  it('drops frames beyond the holding limit', () => {
    const { link, got } = run({ tx: { delayMs: 50, queueFrames: 100 } }, 1, 300);
    expect(link.counters.get('drop.tx.queue-full')).to.equal(200);
    expect(got.frames).to.have.length(100);
  });

  it('changes parameters at runtime', () => {
    const lo = new LoopbackLink({ queueFrames: 100000 });
    const link = new ImpairLink(lo, { random: new SeededRandom(9) });
    const got = new Collector();
    link.attach(got);
    for (let i = 0; i < 1000; i++) link.write(seqFrame(i), 0, 64, 0);
    link.setParams('tx', { loss: 1 });
    for (let i = 1000; i < 2000; i++) link.write(seqFrame(i), 0, 64, 0);
    link.setParams('tx', { loss: 0 });
    for (let i = 2000; i < 3000; i++) link.write(seqFrame(i), 0, 64, 0);
    link.poll(0, 1 << 20);
    expect(got.frames).to.have.length(2000);
    expect(link.counters.get('drop.tx.loss')).to.equal(1000);
    expect(link.params().tx.loss).to.equal(0);
    expect(() => link.setParams('both', { loss: 2 })).to.throw(RangeError);
  });

  it('impairs the receive direction independently', () => {
    const w = new Wire();
    const link = new ImpairLink(w.b, { rx: { loss: 0.5 }, random: new SeededRandom(5) });
    const got = new Collector();
    link.attach(got);
    for (let i = 0; i < 100; i++) w.a.write(seqFrame(i), 0, 64, 0);
    link.poll(0, 1000);
    const lost = link.counters.get('drop.rx.loss');
    expect(lost).to.be.within(30, 70);
    expect(got.frames).to.have.length(100 - lost);
    // The send direction is untouched.
    const back = new Collector();
    w.a.attach(back);
    for (let i = 0; i < 50; i++) link.write(seqFrame(i), 0, 64, 0);
    w.a.poll(0, 1000);
    expect(back.frames).to.have.length(50);
  });

  it('reorder holds a frame until the gap has passed, or until reorderMaxMs', () => {
    const lo = new LoopbackLink();
    const link = new ImpairLink(lo, { tx: { reorder: 1, reorderGap: 2, reorderMaxMs: 5 }, random: new SeededRandom(1) });
    const got = new Collector();
    link.attach(got);
    link.write(seqFrame(1), 0, 64, 0); // held
    link.setParams('tx', { reorder: 0 });
    link.write(seqFrame(2), 0, 64, 0);
    link.write(seqFrame(3), 0, 64, 0); // 1 is released after 2 frames overtook it
    link.poll(0, 10);
    expect(got.seqs()).to.deep.equal([2, 3, 1]);
    link.setParams('tx', { reorder: 1 });
    link.write(seqFrame(4), 0, 64, 1); // held, nothing follows
    expect(link.nextDeadline()).to.equal(6);
    link.onTimer(6);
    link.poll(6, 10);
    expect(got.seqs()).to.deep.equal([2, 3, 1, 4]);
  });

  it('flushes held frames when the link goes down', () => {
    const lo = new LoopbackLink();
    const link = new ImpairLink(lo, { tx: { delayMs: 10 }, random: new SeededRandom(1) });
    link.attach(new Collector());
    for (let i = 0; i < 5; i++) link.write(seqFrame(i), 0, 64, 0);
    link.setUp(false, 1);
    expect(link.held).to.equal(0);
    expect(link.counters.get('drop.tx.link-down')).to.equal(5);
  });
});
