import { expect } from 'chai';
import { LOCAL, REMOTE, Rig, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, establishedActive } from './harness';

const TS = (v: number, e = 0) => ({ tsVal: v, tsEcr: e });

describe('tcp: closing, RST handling, RFC 5961', () => {
  it('active close: FIN-WAIT-1 -> FIN-WAIT-2 -> TIME-WAIT -> freed after 2*MSL', () => {
    const r = new Rig({ msl: 1000 });
    const id = establishedActive(r);
    r.core.close(id);
    const fin = r.one();
    expect(fin.flags).to.equal(TCP_FIN | TCP_ACK);
    expect(fin.seq).to.equal(1001);
    expect(r.core.dumpTcb(id).stateName).to.equal('FIN-WAIT-1');
    r.send({ seq: 5001, ack: 1002, flags: TCP_ACK, opts: TS(101) });
    expect(r.core.dumpTcb(id).stateName).to.equal('FIN-WAIT-2');
    expect(r.take()).to.have.length(0);
    r.send({ seq: 5001, ack: 1002, flags: TCP_FIN | TCP_ACK, opts: TS(102) });
    const ack = r.one();
    expect(ack.ack).to.equal(5002);
    expect(r.core.dumpTcb(id).stateName).to.equal('TIME-WAIT');
    // A retransmitted FIN is acknowledged again and restarts the timer.
    r.send({ seq: 5001, ack: 1002, flags: TCP_FIN | TCP_ACK, opts: TS(103) }, 1500);
    expect(r.one().ack).to.equal(5002);
    r.runUntil(1500 + 1999);
    expect(r.core.dumpTcb(id).stateName).to.equal('TIME-WAIT');
    r.runUntil(1500 + 2001);
    expect(() => r.core.dumpTcb(id)).to.throw(/EBADF/);
  });

  it('passive close: CLOSE-WAIT (peer-closed) -> LAST-ACK -> closed', () => {
    const r = new Rig();
    const id = establishedActive(r);
    r.send({ seq: 5001, ack: 1001, flags: TCP_FIN | TCP_ACK, opts: TS(101) });
    expect(r.one().ack).to.equal(5002);
    expect(r.takeEvents()).to.deep.equal(['peer-closed']);
    expect(r.core.dumpTcb(id).stateName).to.equal('CLOSE-WAIT');
    r.core.shutdown(id);
    const fin = r.one();
    expect(fin.flags & TCP_FIN).to.not.equal(0);
    expect(r.core.dumpTcb(id).stateName).to.equal('LAST-ACK');
    r.send({ seq: 5002, ack: 1002, flags: TCP_ACK, opts: TS(102) });
    expect(r.core.dumpTcb(id).stateName).to.equal('CLOSED');
    expect(r.takeEvents()).to.deep.equal(['closed']);
    r.core.close(id);
  });

  it('simultaneous close: FIN-WAIT-1 + FIN -> CLOSING -> ACK -> TIME-WAIT', () => {
    const r = new Rig();
    const id = establishedActive(r);
    r.core.shutdown(id);
    r.one();
    r.send({ seq: 5001, ack: 1001, flags: TCP_FIN | TCP_ACK, opts: TS(101) });
    expect(r.one().ack).to.equal(5002);
    expect(r.core.dumpTcb(id).stateName).to.equal('CLOSING');
    r.send({ seq: 5002, ack: 1002, flags: TCP_ACK, opts: TS(102) });
    expect(r.core.dumpTcb(id).stateName).to.equal('TIME-WAIT');
  });

  it('half-close: after shutdown the peer can still send data that we read', () => {
    const r = new Rig();
    const id = establishedActive(r);
    r.core.shutdown(id);
    r.one();
    r.send({ seq: 5001, ack: 1002, flags: TCP_ACK, opts: TS(101) });
    expect(r.core.dumpTcb(id).stateName).to.equal('FIN-WAIT-2');
    r.send({ seq: 5001, ack: 1002, flags: TCP_ACK, payload: new Uint8Array([1, 2, 3]), opts: TS(102) });
    expect(Array.from(r.core.read(id))).to.deep.equal([1, 2, 3]);
    expect(() => r.core.write(id, new Uint8Array(1))).to.throw(/ENOTCONN/);
  });

  it('RST: exact RCV.NXT resets; in-window gets a challenge ACK; out-of-window is dropped', () => {
    const r = new Rig();
    const id = establishedActive(r);
    expect(r.send({ seq: 9_000_000, flags: TCP_RST })).to.equal('drop-out-of-window');
    expect(r.take()).to.have.length(0);
    expect(r.send({ seq: 5100, flags: TCP_RST })).to.equal('challenge-ack');
    const c = r.one();
    expect(c.flags).to.equal(TCP_ACK);
    expect(c.seq).to.equal(1001);
    expect(c.ack).to.equal(5001);
    expect(r.core.dumpTcb(id).stateName).to.equal('ESTABLISHED');
    expect(r.send({ seq: 5001, flags: TCP_RST })).to.equal('reset');
    expect(r.takeEvents()).to.deep.equal(['reset:ECONNRESET', 'closed']);
    expect(r.core.dumpTcb(id).error).to.equal('ECONNRESET');
  });

  it('SYN in ESTABLISHED gets a challenge ACK (RFC 5961 4.2), the connection stays', () => {
    const r = new Rig();
    const id = establishedActive(r);
    expect(r.send({ seq: 5001, flags: TCP_SYN, opts: TS(101) })).to.equal('challenge-ack');
    expect(r.one().ack).to.equal(5001);
    expect(r.core.dumpTcb(id).stateName).to.equal('ESTABLISHED');
  });

  it('ACK validation (RFC 5961 5.2): an ACK for unsent data or far below SND.UNA is dropped with an ACK', () => {
    const r = new Rig();
    const id = establishedActive(r, { window: 1000 });
    r.core.write(id, new Uint8Array(100));
    r.take();
    expect(r.send({ seq: 5001, ack: 5000, flags: TCP_ACK, opts: TS(101) })).to.equal('drop-bad-ack');
    expect(r.one().flags).to.equal(TCP_ACK);
    expect(r.send({ seq: 5001, ack: 1001 - 100_000, flags: TCP_ACK, opts: TS(101) })).to.equal('drop-bad-ack');
    expect(r.one().flags).to.equal(TCP_ACK);
    expect(r.core.dumpTcb(id).sndUna).to.equal(1001);
  });

  it('challenge ACKs are rate limited per second', () => {
    const r = new Rig({ challengeAckLimit: 3 });
    establishedActive(r);
    for (let i = 0; i < 10; i++) r.send({ seq: 5100 + i, flags: TCP_RST });
    expect(r.take()).to.have.length(3);
    r.send({ seq: 5100, flags: TCP_RST }, 2500);
    expect(r.take()).to.have.length(1);
  });

  it('SYN-RECEIVED (passive): RST at RCV.NXT returns quietly to LISTEN', () => {
    const r = new Rig();
    const lid = r.core.listen(LOCAL, 80, 4);
    r.send({ sport: 40000, dport: 80, seq: 7000, flags: TCP_SYN });
    r.one();
    expect(r.send({ sport: 40000, dport: 80, seq: 7001, flags: TCP_RST })).to.equal('reset');
    expect(r.core.connections()).to.deep.equal([lid]);
    expect(r.takeEvents()).to.deep.equal([]);
  });

  it('abort sends <SEQ=SND.NXT><CTL=RST> and frees the id', () => {
    const r = new Rig();
    const id = establishedActive(r);
    r.core.abort(id);
    const rst = r.one();
    expect(rst.flags).to.equal(TCP_RST);
    expect(rst.seq).to.equal(1001);
    expect(() => r.core.dumpTcb(id)).to.throw(/EBADF/);
  });

  it('close with unread received data sends RST (RFC 1122 4.2.2.13)', () => {
    const r = new Rig();
    const id = establishedActive(r);
    r.send({ seq: 5001, ack: 1001, flags: TCP_ACK, payload: new Uint8Array(10), opts: TS(101) });
    r.take();
    r.core.close(id);
    expect(r.one().flags).to.equal(TCP_RST);
  });

  it('TIME-WAIT: a new SYN with a higher timestamp reuses the 4-tuple (RFC 6191)', () => {
    const r = new Rig();
    const lid = r.core.listen(LOCAL, 80, 4);
    r.send({ sport: 40000, dport: 80, seq: 7000, flags: TCP_SYN, opts: { tsVal: 10, sackPermitted: true } });
    const sa = r.one();
    r.send({ sport: 40000, dport: 80, seq: 7001, ack: sa.seq + 1, flags: TCP_ACK, opts: TS(11, sa.h.tsVal!) });
    const id = r.core.accept(lid)!;
    r.core.close(id);
    const fin = r.one();
    r.send({ sport: 40000, dport: 80, seq: 7001, ack: fin.seq + 1, flags: TCP_FIN | TCP_ACK, opts: TS(12, fin.h.tsVal!) });
    r.take();
    expect(r.core.dumpTcb(id).stateName).to.equal('TIME-WAIT');
    // An old-timestamp SYN is not a reuse: it is answered with a challenge ACK.
    expect(r.send({ sport: 40000, dport: 80, seq: 9000, flags: TCP_SYN, opts: { tsVal: 5 } })).to.equal('drop-paws');
    r.take();
    expect(r.send({ sport: 40000, dport: 80, seq: 9000, flags: TCP_SYN, opts: { tsVal: 50 } })).to.equal('syn-ack-sent');
    expect(r.one().flags).to.equal(TCP_SYN | TCP_ACK);
  });

  it('RST in TIME-WAIT / LAST-ACK closes quietly', () => {
    const r = new Rig();
    const id = establishedActive(r);
    r.send({ seq: 5001, ack: 1001, flags: TCP_FIN | TCP_ACK, opts: TS(101) });
    r.core.shutdown(id);
    r.take();
    r.takeEvents();
    expect(r.send({ seq: 5002, flags: TCP_RST })).to.equal('reset');
    expect(r.core.dumpTcb(id).stateName).to.equal('CLOSED');
    expect(r.takeEvents()).to.deep.equal(['closed']);
  });

  it('connect to an address without a source address fails with EADDRNOTAVAIL; listen twice EADDRINUSE', () => {
    const r = new Rig();
    expect(() => r.core.connect(null, REMOTE, 80)).to.throw(/EADDRNOTAVAIL/);
    r.core.listen(null, 80);
    expect(() => r.core.listen(LOCAL, 80)).to.throw(/EADDRINUSE/);
  });
});
