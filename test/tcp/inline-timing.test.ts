// Regressions: whole stacks inline (lab/inline-stack.ts) over a delayed link took 32 s of fake
// time with 79 retransmissions for 256 KiB each way with a 1 ms one-way delay and no loss.
// Cause: the NIC's impair lane released delayed frames to the wire in poll(), which reported 0
// (only frames received count), so the NIC's step said "no work"; base/inline.ts then jumped
// the fake clock to the next deadline (often a TCP RTO or delayed-ACK timer, 50-200 ms later)
// with the frames already in the wire ring unread. Fixed twice: ImpairLink.poll() counts the
// frames its lanes release, and InlinePipeline.step() treats a round as idle only when no actor
// has input waiting or a timer due. Also: a rate-limited lane could spin forever at one fake
// instant (float shortfall in the token bucket).

import { expect } from 'chai';
import { bulkBothWays } from '../../lab/inline-stack';
import { ImpairLink } from '../../actors/nic/impair';
import { LoopbackLink } from '../../actors/nic/loopback';
import { SeededRandom } from '../../base/clock';
import { runShortConns } from '../../lab/scenarios/tcp-short-conns';

describe('tcp inline: delayed links (no loss) need no retransmissions', () => {
  for (const delayMs of [1, 5]) {
    it(`256 KiB each way over a ${delayMs} ms one-way delay: done in a few RTTs, zero retransmissions`, () => {
      const r = bulkBothWays({ seed: 1, impair: { delayMs }, bytes: 262144, bytesBack: 262144, deadlineMs: 60_000 });
      expect(r.done, r.errors.join('; ')).to.equal(true);
      expect(r.intact).to.equal(true);
      expect(r.retransmits).to.equal(0);
      // About 4 * delayMs of RTT; the windows are 64 KiB: ~8 round trips plus handshake/close.
      expect(r.fakeMs).to.be.below(40 * delayMs + 20);
    });
  }

  it('the inline pipeline does not jump the clock past output a step reported as no work', () => {
    // The old ImpairLink.poll (released frames not counted): InlinePipeline.step() alone must
    // still see the frames waiting in the peer's input ring.
    const proto = ImpairLink.prototype as unknown as { poll: (now: number, budget: number) => number };
    const orig = proto.poll;
    proto.poll = function (this: ImpairLink, now: number, budget: number): number {
      orig.call(this, now, budget);
      return 0;
    };
    try {
      const r = bulkBothWays({ seed: 2, impair: { delayMs: 1 }, bytes: 65536, bytesBack: 65536, deadlineMs: 60_000 });
      expect(r.done).to.equal(true);
      expect(r.retransmits).to.equal(0);
      expect(r.fakeMs).to.be.below(40);
    } finally {
      proto.poll = orig;
    }
  });

  it('ImpairLink.poll() counts frames its delay lane released', () => {
    const lo = new LoopbackLink();
    const link = new ImpairLink(lo, { tx: { delayMs: 1 }, random: new SeededRandom(1) });
    const f = new Uint8Array(60);
    link.write(f, 0, 60, 0);
    link.write(f, 0, 60, 0);
    expect(link.poll(0.5, 64)).to.equal(0);
    expect(link.held).to.equal(2);
    expect(link.poll(1, 64)).to.equal(2);
    expect(link.held).to.equal(0);
  });

  it('a rate-limited link finishes (the token bucket does not stall a run at one instant)', () => {
    const r = bulkBothWays({ seed: 1, impair: { rateBps: 100e6 }, bytes: 262144, bytesBack: 262144, deadlineMs: 60_000 });
    expect(r.done).to.equal(true);
    expect(r.intact).to.equal(true);
    expect(r.retransmits).to.equal(0);
    expect(r.fakeMs).to.be.below(100);
  });

  it('lab tcp-short-conns seed 756 passes (was: a server connection left in LAST-ACK, srtt 375 ms on a 0-2 ms link)', () => {
    const r = runShortConns(756);
    expect(r.pass, r.failure ?? r.summary).to.equal(true);
  });
});
