// net over Salamander, threaded: two Stacks on a wire, Node-style servers and sockets. Connect
// refused, echo both ways, reset mid-stream, half-close both ways, back-pressure, server close
// with open connections, EADDRINUSE, keep-alive, setTimeout. Waits are on events with deadlines.

import { expect } from 'chai';
import { Stack } from '../../api/stack';
import type { Socket, Server } from '../../api/net';
import { A_ADDR, B_ADDR, collect, deadline, once, twoStacks } from './helpers';

describe('net: sockets and servers over two stacks (threaded)', function () {
  this.timeout(60000);
  let A: Stack;
  let B: Stack;

  before(async () => {
    [A, B] = await twoStacks();
  });

  after(async () => {
    await A?.stop();
    await B?.stop();
  });

  async function listening(srv: Server, port = 0): Promise<number> {
    const p = once(srv, 'listening');
    srv.listen(port, B_ADDR);
    await p;
    return srv.address()!.port;
  }

  it('connect to a closed port fails with ECONNREFUSED', async () => {
    const s = A.net.connect(7, B_ADDR);
    const closed = once(s, 'close');
    const [err] = await once<[NodeJS.ErrnoException]>(s, 'error');
    expect(err.code).to.equal('ECONNREFUSED');
    expect(err.message).to.equal(`connect ECONNREFUSED ${B_ADDR}:7`);
    expect((err as { syscall?: string }).syscall).to.equal('connect');
    await closed;
  });

  it('connect to an address nobody answers fails with EHOSTUNREACH (neighbour resolution fails)', async () => {
    const s = A.net.connect(80, '192.0.2.99');
    const [err] = await once<[NodeJS.ErrnoException]>(s, 'error', 15000);
    expect(err.code).to.equal('EHOSTUNREACH');
    expect(err.message).to.equal('connect EHOSTUNREACH 192.0.2.99:80');
  });

  it('writing after the peer closed and reset gives EPIPE', async () => {
    const srv = B.net.createServer((c) => {
      c.end();
      c.destroy();
    });
    const port = await listening(srv);
    const s = A.net.connect({ port, host: B_ADDR, allowHalfOpen: true });
    s.resume();
    await once(s, 'end');
    const errP = once<[NodeJS.ErrnoException]>(s, 'error');
    s.write('anyone there?');
    const [err] = await errP;
    expect(err.code).to.equal('EPIPE');
    expect((err as { syscall?: string }).syscall).to.equal('write');
    srv.close();
  });

  it('echoes both ways with Node-style addresses and counters', async () => {
    const srv = B.net.createServer((c) => c.pipe(c));
    const port = await listening(srv, 7007);
    expect(port).to.equal(7007);
    expect(srv.address()).to.deep.equal({ address: B_ADDR, family: 'IPv4', port: 7007 });
    const conn = once<[Socket]>(srv, 'connection');
    const s = A.net.createConnection({ port, host: B_ADDR, noDelay: true });
    expect(s.readyState).to.equal('opening');
    await once(s, 'connect');
    expect(s.readyState).to.equal('open');
    expect(s.remoteAddress).to.equal(B_ADDR);
    expect(s.remotePort).to.equal(7007);
    expect(s.remoteFamily).to.equal('IPv4');
    expect(s.localAddress).to.equal(A_ADDR);
    expect(s.localPort).to.be.within(49152, 65535);
    const [c] = await conn;
    expect(c.remoteAddress).to.equal(A_ADDR);
    expect(c.remotePort).to.equal(s.localPort);
    expect(c.address()).to.deep.equal({ address: B_ADDR, family: 'IPv4', port: 7007 });
    const got = collect(s);
    const closed = once(s, 'close');
    s.write('hello ');
    s.end('world');
    expect((await deadline(got, 10000, 'echo')).toString()).to.equal('hello world');
    expect(s.bytesWritten).to.equal(11);
    expect(s.bytesRead).to.equal(11);
    await closed;
    await new Promise<void>((r) => srv.close(() => r()));
  });

  it('connection reset mid-stream gives ECONNRESET', async () => {
    const srv = B.net.createServer((c) => {
      c.once('data', () => c.resetAndDestroy());
    });
    const port = await listening(srv);
    const s = A.net.connect(port, B_ADDR);
    await once(s, 'connect');
    s.write('trigger');
    const [err] = await once<[NodeJS.ErrnoException]>(s, 'error');
    expect(err.code).to.equal('ECONNRESET');
    srv.close();
  });

  it('half-close both ways with allowHalfOpen', async () => {
    const srv = B.net.createServer({ allowHalfOpen: true }, (c) => {
      const chunks: Buffer[] = [];
      c.on('data', (d: Buffer) => chunks.push(d));
      c.on('end', () => {
        // The client finished writing; we can still answer, then end our side.
        c.end(`got ${Buffer.concat(chunks).toString()}`);
      });
    });
    const port = await listening(srv);
    const s = A.net.connect({ port, host: B_ADDR, allowHalfOpen: true });
    await once(s, 'connect');
    const reply = collect(s);
    const closed = once(s, 'close');
    s.end('request');
    expect(s.writable).to.equal(false);
    expect((await deadline(reply, 10000, 'reply after half-close')).toString()).to.equal('got request');
    await closed;

    // The other way: the server ends first, the client keeps writing.
    const srv2 = B.net.createServer({ allowHalfOpen: true }, (c) => {
      c.end('server done');
      const chunks: Buffer[] = [];
      c.on('data', (d: Buffer) => chunks.push(d));
      c.on('end', () => srv2.emit('client-said', Buffer.concat(chunks).toString()));
    });
    const port2 = await listening(srv2);
    const s2 = A.net.connect({ port: port2, host: B_ADDR, allowHalfOpen: true });
    const first = collect(s2);
    expect((await deadline(first, 10000, 'server data then end')).toString()).to.equal('server done');
    expect(s2.readyState).to.equal('writeOnly');
    const said = once<[string]>(srv2, 'client-said');
    const closed2 = once(s2, 'close');
    s2.end('client still writing');
    expect((await said)[0]).to.equal('client still writing');
    await closed2;
    srv.close();
    srv2.close();
  });

  it('back-pressure: write() returns false with a slow reader, then drain', async () => {
    let server: Socket | null = null;
    const srv = B.net.createServer((c) => {
      server = c;
      c.pause();
    });
    const port = await listening(srv);
    const s = A.net.connect(port, B_ADDR);
    await once(s, 'connect');
    const chunk = Buffer.alloc(16384, 7);
    let written = 0;
    while (s.write(chunk)) {
      written += chunk.length;
      expect(written).to.be.below(8 << 20);
    }
    written += chunk.length;
    // Everything queued: at least the send stream plus the peer's receive stream.
    expect(written).to.be.greaterThan(64 << 10);
    const drained = once(s, 'drain');
    await deadline(new Promise<void>((r) => {
      const t = setInterval(() => {
        if (server) {
          clearInterval(t);
          r();
        }
      }, 1);
    }), 5000, 'accept');
    let got = 0;
    server!.on('data', (d: Buffer) => (got += d.length));
    server!.resume();
    await deadline(drained, 20000, 'drain');
    s.end();
    await once(server!, 'end', 20000);
    expect(got).to.equal(written);
    srv.close();
  });

  it('EADDRNOTAVAIL for a local address that is not ours', async () => {
    const s = A.net.connect({ port: 80, host: B_ADDR, localAddress: '192.0.2.77' });
    expect((await once<[NodeJS.ErrnoException]>(s, 'error'))[0].code).to.equal('EADDRNOTAVAIL');
    const srv = B.net.createServer();
    srv.listen(80, '198.51.100.1');
    const [err] = await once<[NodeJS.ErrnoException]>(srv, 'error');
    expect(err.code).to.equal('EADDRNOTAVAIL');
    expect(err.message).to.equal('listen EADDRNOTAVAIL: address not available 198.51.100.1:80');
  });

  it('EADDRINUSE when listening twice on a port', async () => {
    const a = B.net.createServer();
    await listening(a, 7100);
    const b = B.net.createServer();
    b.listen(7100);
    const [err] = await once<[NodeJS.ErrnoException]>(b, 'error');
    expect(err.code).to.equal('EADDRINUSE');
    expect(err.message).to.match(/^listen EADDRINUSE: address already in use/);
    await new Promise<void>((r) => a.close(() => r()));
    // Free again after close.
    const c = B.net.createServer();
    await listening(c, 7100);
    c.close();
  });

  it('server close waits for open connections; close(cb) when not listening errors', async () => {
    const conns: Socket[] = [];
    const srv = B.net.createServer((c) => {
      conns.push(c);
      c.on('data', (d: Buffer) => srv.emit('got', d.toString()));
    });
    const port = await listening(srv);
    const s1 = A.net.connect(port, B_ADDR);
    const s2 = A.net.connect(port, B_ADDR);
    await Promise.all([once(s1, 'connect'), once(s2, 'connect')]);
    await deadline(new Promise<void>((r) => {
      const t = setInterval(() => conns.length === 2 && (clearInterval(t), r()), 1);
    }), 5000, 'two connections');
    const count = await new Promise<number>((r) => srv.getConnections((_e, n) => r(n)));
    expect(count).to.equal(2);
    let closed = false;
    srv.close(() => (closed = true));
    expect(srv.listening).to.equal(false);
    // New connections are refused, existing ones keep working.
    const s3 = A.net.connect(port, B_ADDR);
    const got = once<[string]>(srv, 'got');
    s1.write('still here');
    expect((await once<[NodeJS.ErrnoException]>(s3, 'error'))[0].code).to.equal('ECONNREFUSED');
    expect((await got)[0]).to.equal('still here');
    expect(closed).to.equal(false);
    const srvClosed = once(srv, 'close');
    s1.end();
    s2.end();
    await deadline(srvClosed, 10000, "server 'close' after the last connection");
    expect(closed).to.equal(true);
    const err = await new Promise<Error | undefined>((r) => srv.close((e) => r(e)));
    expect((err as { code?: string }).code).to.equal('ERR_SERVER_NOT_RUNNING');
  });

  it('keep-alive and no-delay options are accepted; setTimeout fires timeout', async () => {
    const srv = B.net.createServer({ keepAlive: true, keepAliveInitialDelay: 1000 }, (c) => c.on('data', () => undefined));
    const port = await listening(srv);
    const s = A.net.connect({ port, host: B_ADDR, keepAlive: true, keepAliveInitialDelay: 500 });
    await once(s, 'connect');
    expect(s.setKeepAlive(true, 2000)).to.equal(s);
    expect(s.setNoDelay(true)).to.equal(s);
    const t0 = Date.now();
    s.setTimeout(150);
    expect(s.timeout).to.equal(150);
    await once(s, 'timeout', 5000);
    expect(Date.now() - t0).to.be.at.least(140);
    // Still open after the timeout event.
    expect(s.readyState).to.equal('open');
    s.setTimeout(0);
    s.destroy();
    await once(s, 'close');
    srv.close();
  });

  it('isIP, isIPv4, isIPv6 and ENOTFOUND for names', async () => {
    expect(A.net.isIP('192.0.2.1')).to.equal(4);
    expect(A.net.isIP('2001:db8::1')).to.equal(6);
    expect(A.net.isIP('example')).to.equal(0);
    expect(A.net.isIPv4('192.0.2.1')).to.equal(true);
    expect(A.net.isIPv6('192.0.2.1')).to.equal(false);
    const s = A.net.connect(80, 'no-such-host.invalid');
    const [err] = await once<[NodeJS.ErrnoException]>(s, 'error');
    expect(err.code).to.equal('ENOTFOUND');
    // A custom lookup resolves names.
    const srv = B.net.createServer((c) => c.end('named'));
    const port = await listening(srv);
    const s2 = A.net.connect({
      port, host: 'b.example',
      lookup: (_h: string, _o: unknown, cb: (e: null, a: string, f: number) => void) => cb(null, B_ADDR, 4),
    });
    expect((await collect(s2)).toString()).to.equal('named');
    srv.close();
  });
});
