// The app<->TCP record protocol (actors/tcp/app.ts) and the TCP actor's `app` port, inline (no
// workers): encode/decode and validation, a first attach initialising zeroed regions (as the
// supervisor allocates them), requests answered with replies carrying Node error codes, and
// events for the app.

import { expect } from 'chai';
import { Stack } from '../../api/stack';
import { Counters } from '../../base/actor';
import { ACTOR_BLOCK_BYTES } from '../../base/layout';
import { RingReader, RingWriter, createRing } from '../../base/ring';
import { FakeClock, SeededRandom } from '../../base/clock';
import { create } from '../../actors/tcp/actor';
import { TcbTable, tcpSharedBytes } from '../../actors/tcp/table';
import {
  ERRNO_NAMES, EV_MAX, EV_REPLY, REQ_CONNECT, REQ_LISTEN, REQ_MAX, REQ_POKE, REQ_STATUS, TCP_APP_HEADER_LEN,
  decodeTcpAppRecord, encodeTcpAppRecord,
} from '../../actors/tcp/app';

describe('tcp app protocol (actors/tcp/app.ts)', () => {
  it('round-trips header-only and JSON records; rejects malformed ones', () => {
    const poke = encodeTcpAppRecord(REQ_POKE, 0x7fff_0001);
    expect(poke.length).to.equal(TCP_APP_HEADER_LEN);
    expect(decodeTcpAppRecord(poke, 0, poke.length, REQ_MAX)).to.deep.equal({ kind: REQ_POKE, code: 0, aux: 0, req: 0, id: 0x7fff_0001, body: undefined });
    const r = encodeTcpAppRecord(EV_REPLY, 5, 77, 3, REQ_CONNECT, { id: 5, local: '192.0.2.1' });
    expect(decodeTcpAppRecord(r, 0, r.length, EV_MAX)).to.deep.equal({ kind: EV_REPLY, code: 3, aux: REQ_CONNECT, req: 77, id: 5, body: { id: 5, local: '192.0.2.1' } });
    expect(decodeTcpAppRecord(r, 0, 15, EV_MAX)).to.equal(null); // short
    expect(decodeTcpAppRecord(r, 0, r.length - 1, EV_MAX)).to.equal(null); // body cut
    const bad = r.slice();
    bad[0] = 200;
    expect(decodeTcpAppRecord(bad, 0, bad.length, EV_MAX)).to.equal(null); // unknown kind
    const junk = encodeTcpAppRecord(REQ_LISTEN, 0, 1, 0, 0, {});
    junk[TCP_APP_HEADER_LEN] = 0x7b + 1; // not JSON any more
    expect(decodeTcpAppRecord(junk, 0, junk.length, REQ_MAX)).to.equal(null);
    expect(ERRNO_NAMES[3]).to.equal('ETIMEDOUT');
  });

  it('the actor initialises zeroed regions, answers requests on port app, reports errors by code', () => {
    const clock = new FakeClock(1000);
    const rnd = new SeededRandom(9);
    const sizes = { maxConns: 8, sendBufBytes: 1 << 14, recvBufBytes: 1 << 14 };
    const b = tcpSharedBytes(sizes);
    const shared = { tcbs: new SharedArrayBuffer(b.tcbs), tcpStreams: new SharedArrayBuffer(b.tcpStreams) };
    const ipRing = createRing(1 << 16);
    const appRing = createRing(1 << 16);
    const ipW = new RingWriter(ipRing);
    const appW = new RingWriter(appRing);
    const ctx = {
      name: 'tcp', incarnation: 0, inline: true, now: () => clock.now(), random: () => rnd.next(), randomU32: () => rnd.u32(),
      counters: new Counters(new SharedArrayBuffer(ACTOR_BLOCK_BYTES)),
      out: (p: string) => (p === 'ip' ? ipW : p === 'app' ? appW : undefined), outPorts: () => ['ip', 'app'],
      shared, emit: () => undefined,
    };
    const actor = create(ctx, { ...sizes, addresses: ['192.0.2.1/24'] });
    const table = new TcbTable(shared);
    expect([table.maxConns, table.sendCap, table.recvCap]).to.deep.equal([8, 1 << 14, 1 << 14]);

    const replies: ReturnType<typeof decodeTcpAppRecord>[] = [];
    const reader = new RingReader(appRing);
    const send = (rec: Uint8Array): void => {
      actor.onRecord('app', rec, 0, rec.length);
      appW.publish();
      reader.drain((bytes, off, len) => void replies.push(decodeTcpAppRecord(bytes, off, len, EV_MAX)));
    };
    send(encodeTcpAppRecord(REQ_LISTEN, 0, 1, 0, 0, { addr: null, port: 80, backlog: 16 }));
    expect(replies[0]).to.include({ kind: EV_REPLY, req: 1, code: 0, aux: REQ_LISTEN });
    send(encodeTcpAppRecord(REQ_LISTEN, 0, 2, 0, 0, { addr: '192.0.2.1', port: 80 }));
    expect(ERRNO_NAMES[replies[1]!.code]).to.equal('EADDRINUSE');
    // connect picks the source address from the configured subnet and sends a SYN to IP.
    send(encodeTcpAppRecord(REQ_CONNECT, 0, 3, 0, 0, { remote: '192.0.2.2', port: 8080 }));
    const c = replies[2]!.body as { id: number; local: string; localPort: number };
    expect(replies[2]!.code).to.equal(0);
    expect(c.local).to.equal('192.0.2.1');
    expect(c.localPort).to.be.within(49152, 65535);
    expect(new RingReader(ipRing).drain(() => undefined)).to.equal(1);
    send(encodeTcpAppRecord(REQ_STATUS, c.id, 4));
    expect(replies[3]!.body).to.deep.equal({ state: 'SYN-SENT', finRcvd: false, error: null });
    // Without a usable source address: EADDRNOTAVAIL.
    send(encodeTcpAppRecord(REQ_CONNECT, 0, 5, 0, 0, { remote: '2001:db8::1', port: 80 }));
    expect(ERRNO_NAMES[replies[4]!.code]).to.equal('EADDRNOTAVAIL');
    // A gone id: EBADF.
    send(encodeTcpAppRecord(REQ_STATUS, 12345, 6));
    expect(ERRNO_NAMES[replies[5]!.code]).to.equal('EBADF');
    // A malformed record is dropped and counted, not answered.
    send(new Uint8Array(5));
    expect(replies).to.have.length(6);
    expect(ctx.counters.get('tcp.app-bad-record')).to.equal(1);
    // A second incarnation over the same memory does not re-initialise it.
    const again = create({ ...ctx, incarnation: 1 }, { maxConns: 4 });
    expect((again.control!('dump', {}) as unknown[]).length).to.equal(2);
  });

  it('a socket on a stack that is not started fails with ENETDOWN; bad ports throw like Node', async () => {
    const st = new Stack({ name: 'idle', links: [{ name: 'w0', type: 'wire', addresses: ['192.0.2.1/24'] }] });
    const s = st.net.connect(80, '192.0.2.2');
    const err = await new Promise<NodeJS.ErrnoException>((r) => s.once('error', r));
    expect(err.code).to.equal('ENETDOWN');
    expect(() => st.net.connect(70000, '192.0.2.2')).to.throw(RangeError).with.property('code', 'ERR_SOCKET_BAD_PORT');
    expect(() => st.net.createServer().listen(-1)).to.throw(RangeError).with.property('code', 'ERR_SOCKET_BAD_PORT');
    expect(() => new Stack({ tcp: { sendBufBytes: 5000 } })).to.throw(RangeError);
  });
});
