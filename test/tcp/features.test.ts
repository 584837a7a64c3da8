import { expect } from 'chai';
import { LOCAL, REMOTE, Rig, TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN, establishedActive, patternBytes } from './harness';

const TS = (v: number, e = 0) => ({ tsVal: v, tsEcr: e });

describe('tcp: timestamps and PAWS', () => {
  it('a segment with an older TSval is dropped and answered with an ACK (RFC 7323 5.3)', () => {
    const r = new Rig();
    const id = establishedActive(r);
    expect(r.send({ seq: 5001, ack: 1001, flags: TCP_ACK, payload: new Uint8Array(5), opts: TS(99) })).to.equal('drop-paws');
    const a = r.one();
    expect(a.ack).to.equal(5001);
    expect(r.core.dumpTcb(id).recvQueued).to.equal(0);
    expect(r.send({ seq: 5001, ack: 1001, flags: TCP_ACK, payload: new Uint8Array(5), opts: TS(100) })).to.equal('accepted');
    expect(r.core.dumpTcb(id).recvQueued).to.equal(5);
  });

  it('a non-RST segment without timestamps is dropped once they are negotiated', () => {
    const r = new Rig();
    establishedActive(r);
    expect(r.send({ seq: 5001, ack: 1001, flags: TCP_ACK, payload: new Uint8Array(5) })).to.equal('drop-no-timestamp');
  });

  it('TS.Recent follows the peer and every segment echoes it', () => {
    const r = new Rig();
    const id = establishedActive(r);
    r.send({ seq: 5001, ack: 1001, flags: TCP_ACK | TCP_PSH, payload: new Uint8Array(5), opts: TS(150) });
    r.runUntil(2000);
    const a = r.one();
    expect(a.h.tsEcr).to.equal(150);
    expect(r.core.dumpTcb(id).tsRecent).to.equal(150);
  });
});

describe('tcp: Nagle and delayed ACK', () => {
  it('delayed ACK: one segment is acknowledged after 40 ms, two at once', () => {
    const r = new Rig();
    establishedActive(r);
    r.send({ seq: 5001, ack: 1001, flags: TCP_ACK, payload: new Uint8Array(100), opts: TS(101) }, 2000);
    expect(r.take()).to.have.length(0);
    r.runUntil(2039);
    expect(r.take()).to.have.length(0);
    r.runUntil(2040);
    expect(r.one().ack).to.equal(5101);
    r.send({ seq: 5101, ack: 1001, flags: TCP_ACK, payload: new Uint8Array(100), opts: TS(102) }, 3000);
    expect(r.take()).to.have.length(0);
    r.send({ seq: 5201, ack: 1001, flags: TCP_ACK, payload: new Uint8Array(100), opts: TS(103) }, 3001);
    expect(r.one().ack).to.equal(5301);
  });

  it('out-of-order data is acknowledged at once with a SACK block', () => {
    const r = new Rig();
    const id = establishedActive(r);
    r.send({ seq: 5101, ack: 1001, flags: TCP_ACK, payload: new Uint8Array(100), opts: TS(101) });
    const a = r.one();
    expect(a.ack).to.equal(5001);
    expect(a.h.sack).to.deep.equal([{ left: 5101, right: 5201 }]);
    r.send({ seq: 5301, ack: 1001, flags: TCP_ACK, payload: new Uint8Array(100), opts: TS(102) });
    expect(r.one().h.sack).to.deep.equal([{ left: 5301, right: 5401 }, { left: 5101, right: 5201 }]);
    // Filling the first hole moves RCV.NXT over the first block and ACKs at once.
    r.send({ seq: 5001, ack: 1001, flags: TCP_ACK, payload: patternBytes(100, 1), opts: TS(103) });
    const b = r.one();
    expect(b.ack).to.equal(5201);
    expect(b.h.sack).to.deep.equal([{ left: 5301, right: 5401 }]);
    expect(r.core.dumpTcb(id).recvQueued).to.equal(200);
  });

  it('Nagle holds a small segment while data is unacknowledged; nodelay sends it', () => {
    const r = new Rig();
    const id = establishedActive(r);
    r.core.write(id, new Uint8Array(10));
    expect(r.one().payload.length).to.equal(10);
    r.core.write(id, new Uint8Array(10));
    expect(r.take()).to.have.length(0); // held: 10 bytes outstanding
    // The (delayed) ACK for the first segment releases the second.
    r.send({ seq: 5001, ack: 1011, flags: TCP_ACK, opts: TS(101) }, 1040);
    const s = r.one();
    expect(s.seq).to.equal(1011);
    expect(s.payload.length).to.equal(10);
    r.core.setOption(id, { nodelay: true });
    r.core.write(id, new Uint8Array(10));
    expect(r.one().seq).to.equal(1021);
  });

  it('Nagle still sends full-sized segments', () => {
    const r = new Rig();
    const id = establishedActive(r);
    r.core.write(id, new Uint8Array(10));
    r.take();
    r.core.write(id, new Uint8Array(3000));
    const o = r.take();
    expect(o.map((x) => x.payload.length)).to.deep.equal([1448, 1448]); // 1460 - 12 (timestamps)
  });
});

describe('tcp: retransmission', () => {
  it('RTO: first after 1 s (no RTT sample), then doubling; reset by an ACK', () => {
    const r = new Rig();
    const id = r.core.connect(LOCAL, REMOTE, 80, { localPort: 5000 });
    r.take();
    r.send({ seq: 5000, ack: 1001, flags: TCP_SYN | TCP_ACK, opts: { mss: 1460 } }, 1000); // RTT sample 0 -> 1 ms
    r.take();
    const rto0 = r.core.dumpTcb(id).rto as number;
    expect(rto0).to.equal(200); // RFC 6298 min (our 200 ms)
    r.core.write(id, new Uint8Array(100));
    const first = r.one();
    const times: number[] = [];
    for (let i = 0; i < 4; i++) {
      const d = r.core.nextDeadline();
      r.runUntil(d);
      const o = r.one();
      expect(o.seq).to.equal(first.seq);
      times.push(d - 1000);
    }
    expect(times).to.deep.equal([200, 600, 1400, 3000]);
    expect(r.core.dumpTcb(id).backoff).to.equal(4);
    r.send({ seq: 5001, ack: 1101, flags: TCP_ACK }, 5000);
    expect(r.core.dumpTcb(id).backoff).to.equal(0);
    expect(r.core.nextDeadline()).to.equal(Infinity);
  });

  it('gives up after dataRetries with ETIMEDOUT and a RST', () => {
    const r = new Rig({ dataRetries: 3 });
    const id = establishedActive(r);
    r.core.write(id, new Uint8Array(100));
    r.runUntil(1_000_000);
    expect(r.takeEvents()).to.deep.equal(['timeout:ETIMEDOUT', 'closed']);
    expect(r.take().pop()!.flags).to.equal(0x04);
  });

  it('user timeout: gives up when data stays unacknowledged that long', () => {
    const r = new Rig();
    const id = establishedActive(r, { connect: { userTimeout: 2500 } });
    r.core.write(id, new Uint8Array(100));
    r.runUntil(3000);
    expect(r.core.dumpTcb(id).stateName).to.equal('ESTABLISHED');
    r.runUntil(10_000);
    expect(r.core.dumpTcb(id).error).to.equal('ETIMEDOUT');
  });

  it('fast retransmit / NewReno (no SACK): 3 dup ACKs retransmit SND.UNA, partial ACK the next hole', () => {
    const r = new Rig({ congestion: 'newreno' });
    const id = establishedActive(r, { sack: false, ts: false });
    r.send({ seq: 5001, ack: 1001, flags: TCP_ACK }); // the first scaled window
    r.core.write(id, new Uint8Array(1460 * 6));
    const segs = r.take();
    expect(segs).to.have.length(6);
    const s = (i: number) => 1001 + 1460 * i;
    // segments 0 and 2 lost; the peer ACKs 1 (no: 0 lost -> dupacks for 1001)
    for (let i = 0; i < 3; i++) r.send({ seq: 5001, ack: s(0), flags: TCP_ACK });
    const rt = r.one();
    expect(rt.seq).to.equal(s(0));
    expect(r.core.dumpTcb(id).flagNames).to.include('IN_RECOVERY');
    const ssthresh = r.core.dumpTcb(id).ssthresh as number;
    expect(ssthresh).to.equal(Math.floor((1460 * 6) / 2));
    // partial ACK up to segment 2 (lost too): retransmit it at once
    r.send({ seq: 5001, ack: s(2), flags: TCP_ACK });
    const rt2 = r.take().find((o) => o.seq === s(2));
    expect(rt2).to.not.equal(undefined);
    // full ACK ends recovery
    r.send({ seq: 5001, ack: s(6), flags: TCP_ACK });
    expect(r.core.dumpTcb(id).flagNames).to.not.include('IN_RECOVERY');
    expect(r.core.counters()['fast-retransmit']).to.equal(1);
  });

  it('SACK recovery (RFC 6675): retransmits only the holes the scoreboard marks lost', () => {
    const r = new Rig();
    const id = establishedActive(r, { ts: false });
    r.core.write(id, new Uint8Array(1460 * 8));
    expect(r.take()).to.have.length(8);
    const s = (i: number) => 1001 + 1460 * i;
    // segments 1 and 4 lost; SACKs for 2-3 and 5-7
    r.send({ seq: 5001, ack: s(1), flags: TCP_ACK, opts: { sack: [{ left: s(2), right: s(3) }] } });
    r.send({ seq: 5001, ack: s(1), flags: TCP_ACK, opts: { sack: [{ left: s(2), right: s(4) }] } });
    r.send({ seq: 5001, ack: s(1), flags: TCP_ACK, opts: { sack: [{ left: s(5), right: s(6) }, { left: s(2), right: s(4) }] } });
    const out = r.take();
    expect(out.map((o) => o.seq)).to.include(s(1));
    expect(out.map((o) => o.seq)).to.not.include(s(2));
    expect(r.core.dumpTcb(id).flagNames).to.include('IN_RECOVERY');
    r.send({ seq: 5001, ack: s(1), flags: TCP_ACK, opts: { sack: [{ left: s(5), right: s(8) }, { left: s(2), right: s(4) }] } });
    const out2 = r.take().map((o) => o.seq);
    expect(out2).to.include(s(4));
    expect(out2).to.not.include(s(5));
    r.send({ seq: 5001, ack: s(8), flags: TCP_ACK });
    expect(r.core.dumpTcb(id).flagNames).to.not.include('IN_RECOVERY');
    expect(r.core.dumpTcb(id).sack).to.deep.equal([]);
  });
});

describe('tcp: flow control', () => {
  it('zero window: persist probes with backoff; the window opening resumes sending', () => {
    const r = new Rig();
    const id = establishedActive(r, { window: 0 });
    r.core.write(id, new Uint8Array(500));
    expect(r.take()).to.have.length(0);
    const d1 = r.core.nextDeadline();
    r.runUntil(d1);
    const p = r.one();
    expect(p.payload.length).to.equal(1);
    expect(p.seq).to.equal(1001);
    r.send({ seq: 5001, ack: 1001, flags: TCP_ACK, window: 0, opts: TS(101) });
    const d2 = r.core.nextDeadline();
    expect(d2 - d1).to.be.greaterThan(d1 - 1000);
    r.runUntil(d2);
    expect(r.one().payload.length).to.equal(1);
    expect(r.core.counters()['zero-window-probe']).to.equal(2);
    r.send({ seq: 5001, ack: 1001, flags: TCP_ACK, window: 100, opts: TS(102) });
    const o = r.one();
    expect(o.payload.length).to.equal(500 > 100 * 128 ? 0 : 500);
  });

  it('receiver: the window closes as the stream fills and an update goes out when the app reads', () => {
    const r = new Rig({ rcvBufInitial: 1 << 16 });
    const id = establishedActive(r);
    let seq = 5001;
    for (let i = 0; i < 46; i++) {
      r.send({ seq, ack: 1001, flags: TCP_ACK, payload: new Uint8Array(1400), opts: TS(101) });
      seq += 1400;
    }
    r.runUntil(2000);
    const last = r.take().pop()!;
    const wnd = last.window * 2; // our shift is 1
    expect(wnd).to.be.lessThan(65536 - 46 * 1400 + 1);
    expect(wnd).to.be.greaterThan(0);
    r.core.read(id, 30_000);
    const u = r.one();
    expect(u.window * 2).to.be.greaterThan(wnd);
  });

  it('receive buffer auto-tuning grows the limit when the peer fills it each RTT', () => {
    const r = new Rig({ rcvBufInitial: 16384 }, { maxConns: 4, sendBufBytes: 1 << 16, recvBufBytes: 1 << 20 });
    const id = establishedActive(r);
    let seq = 5001;
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 20; i++) {
        r.send({ seq, ack: 1001, flags: TCP_ACK, payload: new Uint8Array(1400), opts: TS(101 + round) }, 1000 + round * 200);
        seq += 1400;
        r.core.read(id);
      }
    }
    expect(r.core.dumpTcb(id).rcvBufLimit as number).to.be.greaterThan(16384);
  });

  it('keep-alive: probes after idle, gives up after the count without answers', () => {
    const r = new Rig();
    const id = establishedActive(r, { connect: { keepAlive: true, keepAliveIdle: 10_000, keepAliveInterval: 1000, keepAliveCount: 3 } });
    r.runUntil(1000 + 10_000);
    const p = r.one();
    expect(p.seq).to.equal(1000); // SND.NXT - 1
    expect(p.payload.length).to.equal(0);
    // an answer resets the probe count
    r.send({ seq: 5001, ack: 1001, flags: TCP_ACK, opts: TS(101) }, 11_100);
    r.runUntil(21_099);
    expect(r.take()).to.have.length(0);
    r.runUntil(21_100);
    expect(r.take()).to.have.length(1);
    r.runUntil(40_000);
    expect(r.takeEvents()).to.deep.equal(['timeout:ETIMEDOUT', 'closed']);
    expect(r.core.dumpTcb(id).error).to.equal('ETIMEDOUT');
  });
});

describe('tcp: listen queues and SYN cookies', () => {
  it('accept backlog and SYN queue are bounded; a full SYN queue answers with cookies that complete', () => {
    const r = new Rig({}, { maxConns: 16, sendBufBytes: 1 << 16, recvBufBytes: 1 << 16 });
    const lid = r.core.listen(LOCAL, 80, 2, { synQueue: 2 });
    expect(r.send({ sport: 1, dport: 80, seq: 100, flags: TCP_SYN })).to.equal('syn-ack-sent');
    expect(r.send({ sport: 2, dport: 80, seq: 200, flags: TCP_SYN })).to.equal('syn-ack-sent');
    r.take();
    expect(r.send({ sport: 3, dport: 80, seq: 300, flags: TCP_SYN, opts: { mss: 1400, tsVal: 9, sackPermitted: true, windowScale: 4 } })).to.equal('syn-cookie-sent');
    const c = r.one();
    expect(r.core.connections()).to.have.length(3); // no state kept for the cookie
    // A forged ACK is refused with a RST.
    expect(r.send({ sport: 3, dport: 80, seq: 301, ack: c.seq + 2, flags: TCP_ACK, opts: TS(10, c.h.tsVal!) })).to.equal('rst-sent');
    r.take();
    expect(r.send({ sport: 3, dport: 80, seq: 301, ack: c.seq + 1, flags: TCP_ACK, payload: new Uint8Array([7, 7]), opts: TS(10, c.h.tsVal!) })).to.equal('syn-cookie-accepted');
    const id = r.core.accept(lid)!;
    const d = r.core.dumpTcb(id);
    expect(d.stateName).to.equal('ESTABLISHED');
    expect(d.peerMss).to.equal(1300);
    expect(d.sndWscale).to.equal(4);
    expect(d.flagNames).to.include.members(['COOKIE', 'SACK_OK', 'TS_OK']);
    expect(Array.from(r.core.read(id))).to.deep.equal([7, 7]);
  });

  it('a full accept queue drops new SYNs', () => {
    const r = new Rig();
    const lid = r.core.listen(LOCAL, 80, 1);
    r.send({ sport: 1, dport: 80, seq: 100, flags: TCP_SYN });
    const sa = r.one();
    r.send({ sport: 1, dport: 80, seq: 101, ack: sa.seq + 1, flags: TCP_ACK });
    expect(r.send({ sport: 2, dport: 80, seq: 200, flags: TCP_SYN })).to.equal('drop-accept-queue-full');
    expect(r.core.accept(lid)).to.be.a('number');
    expect(r.send({ sport: 2, dport: 80, seq: 200, flags: TCP_SYN })).to.equal('syn-ack-sent');
  });

  it('ephemeral ports follow RFC 6056 algorithm 3 and avoid used tuples', () => {
    const r = new Rig();
    const a = r.core.connect(LOCAL, REMOTE, 80);
    const b = r.core.connect(LOCAL, REMOTE, 80);
    const pa = r.core.dumpTcb(a).localPort as number;
    const pb = r.core.dumpTcb(b).localPort as number;
    expect(pa).to.be.within(49152, 65535);
    expect(pb).to.equal(pa === 65535 ? 49152 : pa + 1);
  });
});

describe('tcp: sequence wraparound, MSS and path MTU', () => {
  it('ISNs just below 2^32: data crosses the wrap on both directions', () => {
    const r = new Rig({ iss: () => 0xffffff00 });
    const id = r.core.connect(LOCAL, REMOTE, 80, { localPort: 5000 });
    const syn = r.one();
    r.send({ seq: 0xfffffff0, ack: 0xffffff01, flags: TCP_SYN | TCP_ACK, opts: { mss: 1460, tsVal: 1, tsEcr: syn.h.tsVal } });
    r.take();
    r.core.setOption(id, { nodelay: true });
    const data = patternBytes(1000, 3);
    r.core.write(id, data);
    const o = r.take();
    expect(o[0].seq).to.equal(0xffffff01);
    const end = (0xffffff01 + 1000) >>> 0;
    r.send({ seq: 0xfffffff1, ack: end, flags: TCP_ACK, payload: patternBytes(100, 4), opts: TS(2) });
    const d = r.core.dumpTcb(id);
    expect(d.sndUna).to.equal(end);
    expect(d.rcvNxt).to.equal((0xfffffff1 + 100) >>> 0);
    expect(Buffer.from(r.core.read(id)).equals(Buffer.from(patternBytes(100, 4)))).to.equal(true);
  });

  it('MSS is clamped to the path MTU, and pathMtuChanged shrinks live connections', () => {
    const r = new Rig();
    const id = establishedActive(r);
    expect(r.core.dumpTcb(id).mss).to.equal(1460);
    r.core.pathMtuChanged(REMOTE, 1280);
    expect(r.core.dumpTcb(id).mss).to.equal(1240);
    r.core.write(id, new Uint8Array(5000));
    expect(r.take()[0].payload.length).to.equal(1240 - 12);
    const b = r.core.connect(LOCAL, REMOTE, 81);
    expect(r.core.dumpTcb(b).pathMtu).to.equal(1280);
  });

  it('FIN flags: data then FIN in one segment when the user closes with data queued', () => {
    const r = new Rig();
    const id = establishedActive(r);
    r.core.write(id, new Uint8Array(10));
    r.take();
    r.core.write(id, new Uint8Array(10)); // held by Nagle
    expect(r.take()).to.have.length(0);
    r.core.shutdown(id);
    const o = r.take();
    expect(o).to.have.length(1);
    expect(o[0].flags & TCP_FIN).to.not.equal(0);
    expect(o[0].payload.length).to.equal(10);
  });
});
