import { expect } from 'chai';
import { LOCAL, REMOTE, Rig, TCP_ACK, TCP_RST, TCP_SYN, establishedActive } from './harness';

describe('tcp: handshake and option negotiation', () => {
  it('active open sends SYN with MSS, WS, SACK-permitted, TS and completes on SYN-ACK', () => {
    const r = new Rig();
    const id = r.core.connect(LOCAL, REMOTE, 80, { localPort: 5000 });
    const syn = r.one();
    expect(syn.flags).to.equal(TCP_SYN);
    expect(syn.seq).to.equal(1000);
    expect(syn.h.mss).to.equal(1460);
    expect(syn.h.windowScale).to.equal(1); // 65535 < 64 KiB
    expect(syn.h.sackPermitted).to.equal(true);
    expect(syn.h.tsVal).to.be.a('number');
    expect(r.core.dumpTcb(id).stateName).to.equal('SYN-SENT');
    const o = r.send({ seq: 5000, ack: 1001, flags: TCP_SYN | TCP_ACK, opts: { mss: 1200, windowScale: 3, sackPermitted: true, tsVal: 77, tsEcr: syn.h.tsVal } }, 1010);
    expect(o).to.equal('accepted');
    const ack = r.one();
    expect(ack.flags).to.equal(TCP_ACK);
    expect(ack.seq).to.equal(1001);
    expect(ack.ack).to.equal(5001);
    expect(ack.h.tsEcr).to.equal(77);
    const d = r.core.dumpTcb(id);
    expect(d.stateName).to.equal('ESTABLISHED');
    expect(d.sndWscale).to.equal(3);
    expect(d.peerMss).to.equal(1200);
    expect(d.flagNames).to.include.members(['TS_OK', 'SACK_OK', 'WS_OK']);
    expect(d.srtt).to.equal(10);
    expect(r.takeEvents()).to.deep.equal(['established']);
  });

  it('a peer without options gets none (MSS defaults to 536)', () => {
    const r = new Rig();
    const id = r.core.connect(LOCAL, REMOTE, 80, { localPort: 5000 });
    r.take();
    r.send({ seq: 5000, ack: 1001, flags: TCP_SYN | TCP_ACK });
    const ack = r.one();
    expect(ack.h.tsVal).to.equal(null);
    const d = r.core.dumpTcb(id);
    expect(d.peerMss).to.equal(536);
    expect(d.mss).to.equal(536);
    expect(d.rcvWscale).to.equal(0);
    expect(d.flagNames).to.not.include('TS_OK');
  });

  it('window scale above 14 is clamped to 14 (RFC 7323 2.3)', () => {
    const r = new Rig();
    const id = establishedActive(r, { ws: 20 });
    expect(r.core.dumpTcb(id).sndWscale).to.equal(14);
  });

  it('passive open: SYN -> SYN-ACK mirroring offered options -> ACK -> accept', () => {
    const r = new Rig({}, { maxConns: 8, sendBufBytes: 1 << 20, recvBufBytes: 1 << 20 });
    const lid = r.core.listen(LOCAL, 80, 4);
    expect(r.send({ sport: 40000, dport: 80, seq: 7000, flags: TCP_SYN, opts: { mss: 1400, windowScale: 2, tsVal: 5 } })).to.equal('syn-ack-sent');
    const sa = r.one();
    expect(sa.flags).to.equal(TCP_SYN | TCP_ACK);
    expect(sa.ack).to.equal(7001);
    expect(sa.h.windowScale).to.equal(5); // 1 MiB stream
    expect(sa.h.sackPermitted).to.equal(false); // not offered
    expect(sa.h.tsEcr).to.equal(5);
    expect(r.core.accept(lid)).to.equal(null);
    r.send({ sport: 40000, dport: 80, seq: 7001, ack: sa.seq + 1, flags: TCP_ACK, window: 1000, opts: { tsVal: 6, tsEcr: sa.h.tsVal } });
    expect(r.takeEvents()).to.deep.equal(['connection']);
    const id = r.core.accept(lid)!;
    expect(id).to.be.a('number');
    const d = r.core.dumpTcb(id);
    expect(d.stateName).to.equal('ESTABLISHED');
    expect(d.sndWnd).to.equal(4000);
    expect(d.peerMss).to.equal(1400);
    expect(r.core.accept(lid)).to.equal(null);
  });

  it('a SYN to a closed port gets RST,ACK; an ACK gets RST with SEQ=SEG.ACK', () => {
    const r = new Rig();
    expect(r.send({ seq: 9, flags: TCP_SYN, dport: 81 })).to.equal('rst-sent');
    const a = r.one();
    expect(a.flags).to.equal(TCP_RST | TCP_ACK);
    expect(a.seq).to.equal(0);
    expect(a.ack).to.equal(10);
    r.send({ seq: 9, ack: 1234, flags: TCP_ACK, dport: 81 });
    const b = r.one();
    expect(b.flags).to.equal(TCP_RST);
    expect(b.seq).to.equal(1234);
    expect(r.send({ seq: 9, flags: TCP_RST, dport: 81 })).to.equal('drop-rst');
    expect(r.take()).to.have.length(0);
  });

  it('SYN-SENT: RST with an acceptable ACK refuses the connection; a bad ACK gets RST', () => {
    const r = new Rig();
    const id = r.core.connect(LOCAL, REMOTE, 80, { localPort: 5000 });
    r.take();
    expect(r.send({ seq: 0, ack: 999, flags: TCP_ACK })).to.equal('rst-sent');
    expect(r.one().seq).to.equal(999);
    expect(r.send({ seq: 0, ack: 1001, flags: TCP_RST })).to.equal('drop-rst');
    expect(r.send({ seq: 0, ack: 1001, flags: TCP_RST | TCP_ACK })).to.equal('reset');
    expect(r.takeEvents()).to.deep.equal(['reset:ECONNREFUSED', 'closed']);
    const d = r.core.dumpTcb(id);
    expect(d.stateName).to.equal('CLOSED');
    expect(d.error).to.equal('ECONNREFUSED');
    r.core.close(id);
    expect(() => r.core.dumpTcb(id)).to.throw(/EBADF/);
  });

  it('SYN retransmission backs off and times out with ETIMEDOUT', () => {
    const r = new Rig({ synRetries: 3 });
    r.core.connect(LOCAL, REMOTE, 80, { localPort: 5000 });
    const times: number[] = [];
    r.take();
    r.runUntil(100_000);
    // 1 s, then 2, 4 s
    expect(r.takeEvents()).to.deep.equal(['timeout:ETIMEDOUT', 'closed']);
    void times;
  });

  it('simultaneous open: SYN-SENT + SYN -> SYN-RECEIVED, SYN-ACK -> ESTABLISHED', () => {
    const r = new Rig();
    const id = r.core.connect(LOCAL, REMOTE, 80, { localPort: 5000 });
    r.take();
    expect(r.send({ seq: 5000, flags: TCP_SYN, opts: { mss: 1460, tsVal: 1, sackPermitted: true, windowScale: 1 } })).to.equal('syn-ack-sent');
    const sa = r.one();
    expect(sa.flags).to.equal(TCP_SYN | TCP_ACK);
    expect(sa.seq).to.equal(1000);
    expect(sa.ack).to.equal(5001);
    expect(r.core.dumpTcb(id).stateName).to.equal('SYN-RECEIVED');
    r.send({ seq: 5000, ack: 1001, flags: TCP_SYN | TCP_ACK, opts: { mss: 1460, tsVal: 2, tsEcr: sa.h.tsVal, sackPermitted: true, windowScale: 1 } });
    // the SYN,ACK's SYN is a retransmission of the SYN we saw
    r.send({ seq: 5001, ack: 1001, flags: TCP_ACK, opts: { tsVal: 3, tsEcr: sa.h.tsVal } });
    expect(r.core.dumpTcb(id).stateName).to.equal('ESTABLISHED');
    expect(r.takeEvents()).to.include('established');
  });
});
