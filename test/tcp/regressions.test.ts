// Regression tests for bugs found by the lab (lab/scenarios/tcp-*.ts, test/stack-inline), each
// reduced to a segment-level fixture. The seed that first showed each bug is named in the test.

import { expect } from 'chai';
import { Rig, TCP_ACK, TCP_FIN, TCP_RST, establishedActive } from './harness';

const TS = (v: number, e = 0) => ({ tsVal: v, tsEcr: e });

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

  it('TIME-WAIT: a read sends no window update, and a RST is ignored (RFC 1337; tcp-short-conns)', () => {
    const r = new Rig({ msl: 1000 });
    const id = establishedActive(r);
    // 40 KiB arrive unread, so the window shrinks; then our close and the peer's FIN.
    for (let i = 0; i < 28; i++) r.send({ seq: 5001 + 1448 * i, ack: 1001, flags: TCP_ACK, opts: TS(101), payload: new Uint8Array(1448) });
    r.core.shutdown(id);
    r.send({ seq: 5001 + 1448 * 28, ack: 1002, flags: TCP_FIN | TCP_ACK, opts: TS(102) });
    expect(r.core.dumpTcb(id).stateName).to.equal('TIME-WAIT');
    r.take();
    // Reading everything would open the window by far more than two segments: no ACK for it.
    expect(r.core.read(id).length).to.equal(1448 * 28);
    r.core.poke(id);
    expect(r.take()).to.deep.equal([]);
    // A RST (e.g. the peer's answer to a stray segment after it left LAST-ACK) leaves TIME-WAIT.
    expect(r.send({ seq: 5002 + 1448 * 28, flags: TCP_RST })).to.equal('drop-rst');
    expect(r.core.dumpTcb(id).stateName).to.equal('TIME-WAIT');
    r.runUntil(r.clock.now() + 2001);
    expect(r.core.dumpTcb(id).stateName).to.equal('CLOSED');
  });
});
