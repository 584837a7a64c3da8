import { expect } from 'chai';
import { Counters } from '../../base/actor';
import { ACTOR_BLOCK_BYTES } from '../../base/layout';
import { RingReader, RingWriter, createRing } from '../../base/ring';
import { FakeClock, SeededRandom } from '../../base/clock';
import { RECORD_HEADER_LEN, encodeRecord, readRecordHeader } from '../../actors/ip/records';
import { create } from '../../actors/tcp/actor';
import { createTcpShared } from '../../actors/tcp/table';
import { parseTcp } from '../../protocol/tcp';
import { LOCAL, REMOTE, TCP_ACK, TCP_SYN, buildSeg } from './harness';

describe('tcp: actor shell over IP records', () => {
  it('a SYN record to a listener produces a SYN-ACK record on port ip; restarts reattach', () => {
    const clock = new FakeClock(1000);
    const rnd = new SeededRandom(3);
    const shared = createTcpShared({ maxConns: 4, sendBufBytes: 1 << 14, recvBufBytes: 1 << 14 }, () => rnd.u32());
    const ring = createRing(1 << 16);
    const w = new RingWriter(ring);
    const events: unknown[] = [];
    const ctx = {
      name: 'tcp', incarnation: 0, inline: true, now: () => clock.now(), random: () => rnd.next(), randomU32: () => rnd.u32(),
      counters: new Counters(new SharedArrayBuffer(ACTOR_BLOCK_BYTES)), out: (p: string) => (p === 'ip' ? w : undefined), outPorts: () => ['ip'],
      shared: { tcbs: shared.tcbs, tcpStreams: shared.tcpStreams }, emit: (_e: string, d?: unknown) => events.push(d),
    };
    const a = create(ctx, {});
    const lid = a.control!('listen', { addr: LOCAL, port: 80 }) as number;
    const seg = buildSeg({ sport: 4000, dport: 80, seq: 1, flags: TCP_SYN });
    const rec = encodeRecord({ family: 4, proto: 6, ifindex: 1, ttl: 64, tos: 0, flags: 0, src: REMOTE, dst: LOCAL }, seg.buf);
    a.onRecord('ip', rec, 0, rec.length);
    const r = new RingReader(ring);
    const out: Uint8Array[] = [];
    r.drain((b, o, l) => void out.push(b.slice(o, o + l)));
    expect(out).to.have.length(1);
    const h = readRecordHeader(out[0], 0, out[0].length)!;
    expect(h.proto).to.equal(6);
    expect(h.src).to.equal(LOCAL);
    expect(h.dst).to.equal(REMOTE);
    const t = parseTcp(out[0], RECORD_HEADER_LEN, out[0].length - RECORD_HEADER_LEN);
    expect(t.ok && t.value.flags).to.equal(TCP_SYN | TCP_ACK);
    // A new incarnation over the same shared memory still has the listener and the embryonic connection.
    const b = create({ ...ctx, incarnation: 1 }, {});
    const dump = b.control!('dump', {}) as { stateName: string }[];
    expect(dump.map((d) => d.stateName).sort()).to.deep.equal(['LISTEN', 'SYN-RECEIVED']);
    expect(b.control!('accept', { id: lid })).to.equal(null);
  });
});
