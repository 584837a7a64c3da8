// Regression tests for bugs found by the lab (lab/scenarios/tcp-*.ts, test/stack-inline), each
// reduced to a segment-level fixture. The seed that first showed each bug is named in the test.

import { expect } from 'chai';
import { Rig, TCP_ACK, establishedActive } from './harness';

describe('tcp: regressions from the lab', () => {
  it('after a timeout (go-back-N) a pure ACK carries SEQ=SND.MAX, so a peer that has our data accepts it (15% loss + 15% corruption seeds 7, 13, 22, 25: ETIMEDOUT)', () => {
    const r = new Rig();
    const id = establishedActive(r, { ts: false });
    r.core.write(id, new Uint8Array(1460 * 3));
    const data = r.take();
    expect(data.map((o) => o.seq)).to.deep.equal([1001, 2461, 3921]);
    // Every ACK is lost: the RTO rewinds SND.NXT to SND.UNA and resends the first segment.
    r.runUntil(r.core.nextDeadline());
    const rtx = r.one();
    expect(rtx.seq).to.equal(1001);
    // The peer (which has all our bytes, RCV.NXT 5381) sends data of its own: we owe an ACK.
    r.send({ seq: 5001, ack: 1001, flags: TCP_ACK, payload: new Uint8Array(100) });
    r.runUntil(r.core.nextDeadline()); // the delayed ACK
    const ack = r.one();
    expect(ack.payload.length).to.equal(0);
    expect(ack.ack).to.equal(5101);
    // RFC 9293 §3.10.7.4: zero-length segments are acceptable only when RCV.NXT =< SEG.SEQ; the
    // peer's RCV.NXT is 5381, so SEQ=SND.NXT (2461) would be dropped unread. SND.MAX is 5381.
    expect(ack.seq).to.equal(5381);
  });
});
