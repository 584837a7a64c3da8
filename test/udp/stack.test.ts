// UDP end to end with real workers: two Stacks joined by an in-memory wire, talking through
// stack.dgram sockets exactly as Node's dgram would (bind, send, 'message' with rinfo, connect,
// ephemeral ports, EADDRINUSE, SO_BROADCAST opt-in, ECONNREFUSED from ICMP port unreachable,
// Node's synchronous ERR_* codes), then the UDP actor killed mid-traffic in several ways while
// the bound sockets keep working with no action by the user. Waits are on events with deadlines.

import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import { Stack } from '../../api/stack';
import type { Socket, RemoteInfo } from '../../api/dgram';
import type { FaultKind } from '../../base/types';
import { once } from '../util';


async function bound(s: Socket, port = 0, address?: string): Promise<number> {
  const p = once(s, 'listening');
  s.bind(port, address);
  await p;
  return s.address().port;
}

/** Sends until the peer's echo of `text` comes back (UDP may lose datagrams while an actor
 *  restarts); each try waits for the reply event with a deadline. */
async function roundTrip(s: Socket, port: number, addr: string, text: string, tries = 20, perTryMs = 500): Promise<RemoteInfo> {
  for (let i = 0; i < tries; i++) {
    const got = once<[Buffer, RemoteInfo]>(s, 'message', perTryMs, (m) => m.toString() === `echo:${text}`);
    s.send(text, port, addr);
    try {
      return (await got)[1];
    } catch {
      /* lost: try again */
    }
  }
  throw new Error(`no echo of ${text} after ${tries} tries`);
}

describe('udp end to end (two stacks on a wire, threaded)', function () {
  this.timeout(60000);
  let A: Stack;
  let B: Stack;

  before(async () => {
    const sup = { spares: 1, hangTimeoutMs: 1000, ringCapacity: 1 << 18 };
    A = new Stack({ name: 'ua', links: [{ name: 'w0', type: 'wire', addresses: ['192.0.2.1/24'] }], supervisor: sup });
    B = new Stack({ name: 'ub', links: [{ name: 'w0', type: 'wire', addresses: ['192.0.2.2/24'] }], supervisor: sup });
    await A.start();
    await B.start();
    await Stack.join(A, 'w0', B, 'w0');
  });

  after(async () => {
    await A?.stop();
    await B?.stop();
  });

  it('exchanges datagrams both ways with Node-style rinfo', async () => {
    const a = A.dgram.createSocket('udp4');
    const b = B.dgram.createSocket({ type: 'udp4' });
    expect(await bound(a, 41000)).to.equal(41000);
    expect(await bound(b, 42000, '192.0.2.2')).to.equal(42000);
    expect(b.address()).to.deep.equal({ address: '192.0.2.2', family: 'IPv4', port: 42000 });
    const atB = once<[Buffer, RemoteInfo]>(b, 'message');
    let sent = -1;
    a.send(Buffer.from('ping over the wire'), 42000, '192.0.2.2', (err, n) => {
      expect(err).to.equal(null);
      sent = n!;
    });
    const [msg, rinfo] = await atB;
    expect(msg.toString()).to.equal('ping over the wire');
    expect(rinfo).to.deep.equal({ address: '192.0.2.1', family: 'IPv4', port: 41000, size: 18 });
    expect(sent).to.equal(18);
    const atA = once<[Buffer, RemoteInfo]>(a, 'message');
    b.send('pong', 0, 4, rinfo.port, rinfo.address);
    const [m2, r2] = await atA;
    expect([m2.toString(), r2.address, r2.port]).to.deep.equal(['pong', '192.0.2.2', 42000]);
    // Large datagram (fragmented by IP) and a list of buffers.
    const big = Buffer.alloc(8000, 0x5a);
    const atB2 = once<[Buffer, RemoteInfo]>(b, 'message');
    a.send([big.subarray(0, 3000), big.subarray(3000)], 42000, '192.0.2.2');
    expect((await atB2)[0].equals(big)).to.equal(true);
    await new Promise<void>((r) => a.close(r));
    b.close();
  });

  it('binds port 0 to an ephemeral port and implicitly on first send', async () => {
    const b = B.dgram.createSocket('udp4');
    const port = await bound(b, 0);
    expect(port).to.be.within(49152, 65535);
    const a = A.dgram.createSocket('udp4');
    const got = once<[Buffer, RemoteInfo]>(b, 'message');
    const listening = once(a, 'listening');
    a.send('implicit bind', port, '192.0.2.2');
    await listening;
    const [, rinfo] = await got;
    expect(rinfo.port).to.equal(a.address().port);
    expect(rinfo.port).to.be.within(49152, 65535);
    a.close();
    b.close();
  });

  it('reports EADDRINUSE and EADDRNOTAVAIL as Node does', async () => {
    const s1 = A.dgram.createSocket('udp4');
    const port = await bound(s1, 0);
    const s2 = A.dgram.createSocket('udp4');
    s2.bind(port);
    const [e] = await once<[NodeJS.ErrnoException]>(s2, 'error');
    expect([e.code, e.syscall, e.message]).to.deep.equal(['EADDRINUSE', 'bind', `bind EADDRINUSE 0.0.0.0:${port}`]);
    const s3 = A.dgram.createSocket('udp4');
    s3.bind(0, '198.51.100.9');
    const [e3] = await once<[NodeJS.ErrnoException]>(s3, 'error');
    expect(e3.code).to.equal('EADDRNOTAVAIL');
    // SO_REUSEADDR on both: allowed.
    const r1 = A.dgram.createSocket({ type: 'udp4', reuseAddr: true });
    const r2 = A.dgram.createSocket({ type: 'udp4', reuseAddr: true });
    const rp = await bound(r1, 0);
    expect(await bound(r2, rp)).to.equal(rp);
    for (const s of [s1, s2, s3, r1, r2]) s.close();
  });

  it('needs setBroadcast(true) to send to a broadcast address', async () => {
    const b = B.dgram.createSocket('udp4');
    const port = await bound(b, 0);
    const a = A.dgram.createSocket('udp4');
    await bound(a, 0);
    const err = await new Promise<NodeJS.ErrnoException | null>((r) => a.send('x', port, '192.0.2.255', (e) => r(e)));
    expect(err?.code).to.equal('EACCES');
    a.setBroadcast(true);
    const got = once<[Buffer, RemoteInfo]>(b, 'message');
    a.send('to all', port, '192.0.2.255');
    expect((await got)[0].toString()).to.equal('to all');
    a.close();
    b.close();
  });

  it('connect(): filters, sends without an address, and gets ECONNREFUSED from a closed port', async () => {
    const b = B.dgram.createSocket('udp4');
    const bport = await bound(b, 0);
    const a = A.dgram.createSocket('udp4');
    const connected = once(a, 'connect');
    a.connect(bport, '192.0.2.2');
    await connected;
    expect(a.remoteAddress()).to.deep.equal({ address: '192.0.2.2', family: 'IPv4', port: bport });
    expect(a.address().address).to.equal('192.0.2.1');
    expect(() => a.send(Buffer.from('x'), 0, 1, bport, '192.0.2.2')).to.throw().with.property('code', 'ERR_SOCKET_DGRAM_IS_CONNECTED');
    expect(() => a.connect(1, '192.0.2.2')).to.throw().with.property('code', 'ERR_SOCKET_DGRAM_IS_CONNECTED');
    const got = once<[Buffer, RemoteInfo]>(b, 'message');
    a.send('connected send');
    expect((await got)[0].toString()).to.equal('connected send');
    a.disconnect();
    expect(() => a.disconnect()).to.throw().with.property('code', 'ERR_SOCKET_DGRAM_NOT_CONNECTED');
    expect(() => a.remoteAddress()).to.throw().with.property('code', 'ERR_SOCKET_DGRAM_NOT_CONNECTED');
    expect(a.address().address).to.equal('0.0.0.0');
    // A closed port answers with ICMP Port Unreachable: ECONNREFUSED on the connected socket.
    const c = A.dgram.createSocket('udp4');
    await new Promise<void>((r) => c.connect(9, '192.0.2.2', r));
    const errP = once<[NodeJS.ErrnoException]>(c, 'error');
    c.send('anyone there?');
    const [e] = await errP;
    expect([e.code, e.syscall]).to.deep.equal(['ECONNREFUSED', 'recvmsg']);
    for (const s of [a, b, c]) s.close();
  });

  it('throws Node\'s errors synchronously for bad arguments and closed sockets', async () => {
    const s = A.dgram.createSocket('udp4');
    expect(() => s.bind(70000)).to.throw(RangeError).with.property('code', 'ERR_SOCKET_BAD_PORT');
    expect(() => s.send('x', 0, '192.0.2.2')).to.throw(RangeError).with.property('code', 'ERR_SOCKET_BAD_PORT');
    expect(() => s.connect(0, '192.0.2.2')).to.throw(RangeError).with.property('code', 'ERR_SOCKET_BAD_PORT');
    expect(() => s.address()).to.throw().with.property('code', 'EBADF');
    expect(() => A.dgram.createSocket('udp5' as never)).to.throw().with.property('code', 'ERR_SOCKET_BAD_TYPE');
    await bound(s, 0);
    expect(() => s.bind(0)).to.throw().with.property('code', 'ERR_SOCKET_ALREADY_BOUND');
    s.addMembership('224.0.0.1');
    expect(() => s.addMembership('224.0.0.1')).to.throw().with.property('code', 'EADDRINUSE');
    expect(() => s.addMembership('192.0.2.7')).to.throw().with.property('code', 'EINVAL');
    s.dropMembership('224.0.0.1');
    expect(() => s.dropMembership('224.0.0.1')).to.throw().with.property('code', 'EADDRNOTAVAIL');
    const closed = once(s, 'close');
    s.close();
    await closed;
    expect(() => s.send('x', 1, '192.0.2.2')).to.throw().with.property('code', 'ERR_SOCKET_DGRAM_NOT_RUNNING');
    expect(() => s.close()).to.throw().with.property('code', 'ERR_SOCKET_DGRAM_NOT_RUNNING');
  });

  it('keeps the bound sockets working while the UDP actor is killed mid-traffic (no re-bind)', async () => {
    const echo = B.dgram.createSocket('udp4');
    const eport = await bound(echo, 0);
    echo.on('message', (m, r) => echo.send(`echo:${m.toString()}`, r.port, r.address));
    const member = B.dgram.createSocket({ type: 'udp4', reuseAddr: true });
    await bound(member, 0);
    member.addMembership('224.0.0.1');
    const cli = A.dgram.createSocket('udp4');
    const cport = await bound(cli, 0);
    await roundTrip(cli, eport, '192.0.2.2', 'before');
    const kinds: Array<[Stack, FaultKind]> = [[B, 'throw'], [B, 'exit'], [B, 'terminate'], [B, 'hang'], [A, 'throw'], [A, 'terminate']];
    let n = 0;
    for (const [stack, kind] of kinds) {
      const restarted = stack.supervisor.waitRestarted('udp', 15000);
      // Traffic in flight while the fault lands.
      for (let i = 0; i < 5; i++) cli.send(`burst-${kind}-${i}`, eport, '192.0.2.2');
      await stack.inject('udp', kind);
      const r = await restarted;
      expect(r.incarnation).to.be.greaterThan(0);
      const rinfo = await roundTrip(cli, eport, '192.0.2.2', `after-${kind}-${n++}`);
      expect(rinfo.port).to.equal(eport);
    }
    // Same ports as before: nothing was re-bound.
    expect(cli.address().port).to.equal(cport);
    expect(echo.address().port).to.equal(eport);
    const st = (await B.control('udp', 'sockets')) as Array<{ local: string; memberships: string[] }>;
    expect(st.map((x) => x.local)).to.include(`0.0.0.0:${eport}`);
    expect(st.find((x) => x.memberships.length > 0)?.memberships).to.deep.equal(['224.0.0.1']);
    expect(B.supervisor.counters('udp')['table.restored']).to.be.greaterThan(0);
    for (const s of [echo, member, cli]) s.close();
  });
});
