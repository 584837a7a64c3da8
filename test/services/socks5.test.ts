// The SOCKS5 front (RFC 1928/1929) on Node's own net/dgram over 127.0.0.1: curl through it to the
// http service, and raw-socket tests of every reply path.

import { expect } from 'chai';
import * as net from 'node:net';
import * as dgram from 'node:dgram';
import { createHash } from 'node:crypto';
import { createSocksServer, SocksReply, SocksServer, encodeAddress, parseAddress, ipv6ToBytes, replyForError } from '../../services/socks5';
import { serve } from '../../services/serve';
import { patternChunk } from '../../services/http';
import type { RunningService } from '../../services/types';
import { bindUdp, Collector, connect, hasCommand, nextMessage, nodeCtx, runCommand, withDeadline } from './helpers';

const GREETING = Buffer.from([5, 1, 0]);

function request(cmd: number, addr: Buffer): Buffer {
  return Buffer.concat([Buffer.from([5, cmd, 0]), addr]);
}

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('services: SOCKS5 front', () => {
  let socks: SocksServer;
  let httpSvc: RunningService;
  let echo: RunningService;
  const extra: Array<{ close(): Promise<void> }> = [];

  before(async () => {
    httpSvc = await serve('http', 0, nodeCtx);
    echo = await serve('echo', 0, nodeCtx);
    socks = await createSocksServer({
      listen: { host: '127.0.0.1', port: 0 },
      outbound: { net, dgram },
      hostNet: net,
      hostDgram: dgram,
      lookup: async (name) => {
        if (name === 'echo.test') return '127.0.0.1';
        throw Object.assign(new Error(`no such name ${name}`), { code: 'ENOTFOUND' });
      },
    });
  });
  after(async () => {
    await Promise.all([socks?.close(), httpSvc?.close(), echo?.close(), ...extra.map((e) => e.close())]);
  });

  /** Greet, send a request, return the reply's first bytes and the collector. */
  async function ask(req: Buffer, port = socks.port): Promise<{ rep: Buffer; c: Collector; s: net.Socket }> {
    const s = await connect(port);
    const c = new Collector(s);
    s.write(GREETING);
    expect([...(await c.read(2))]).to.deep.equal([5, 0]);
    s.write(req);
    const head = await c.read(4);
    const rest = head[3] === 1 ? 6 : head[3] === 4 ? 18 : 0;
    const tail = rest ? await c.read(rest) : Buffer.alloc(0);
    return { rep: Buffer.concat([head, tail]), c, s };
  }

  describe('with curl', function () {
    before(function () {
      if (!hasCommand('curl')) {
        console.log('    (skipped: curl is not installed)');
        this.skip();
      }
    });

    it('curl --socks5-hostname fetches /bytes through the proxy, intact', async () => {
      const n = 1_000_000;
      const r = await runCommand('curl', ['-sS', '--max-time', '20', '--socks5-hostname', `127.0.0.1:${socks.port}`, `http://127.0.0.1:${httpSvc.port}/bytes?n=${n}`], 30000);
      expect(r.stderr).to.equal('');
      expect(r.code).to.equal(0);
      expect(r.stdout.length).to.equal(n);
      const want = createHash('sha256');
      for (let off = 0; off < n; off += 65536) want.update(patternChunk(off, Math.min(65536, n - off)));
      expect(createHash('sha256').update(r.stdout, 'latin1').digest('hex')).to.equal(want.digest('hex'));
    });

    it('curl --socks5 (IPv4 address type) and a domain name (localhost)', async () => {
      const a = await runCommand('curl', ['-sS', '--max-time', '20', '--socks5', `127.0.0.1:${socks.port}`, `http://127.0.0.1:${httpSvc.port}/`], 30000);
      expect(a.code).to.equal(0);
      expect(a.stdout).to.contain('<h1>Salamander</h1>');
      // Without a lookup option, "localhost" is the one name the proxy resolves itself.
      const plain = await createSocksServer({ listen: { host: '127.0.0.1', port: 0 }, outbound: { net }, hostNet: net });
      extra.push(plain);
      const b = await runCommand('curl', ['-sS', '--max-time', '20', '--socks5-hostname', `127.0.0.1:${plain.port}`, `http://localhost:${httpSvc.port}/`], 30000);
      expect(b.code).to.equal(0);
      expect(b.stdout).to.contain('<h1>Salamander</h1>');
    });
  });

  it('CONNECT carries data both ways (greeting and request in one write)', async () => {
    const s = await connect(socks.port);
    const c = new Collector(s);
    s.write(Buffer.concat([GREETING, request(1, encodeAddress('127.0.0.1', echo.port)), Buffer.from('early bytes|')]));
    expect([...(await c.read(2))]).to.deep.equal([5, 0]);
    const rep = await c.read(10);
    expect(rep[1]).to.equal(SocksReply.SUCCEEDED);
    expect(rep[3]).to.equal(1);
    s.write('later bytes');
    expect((await c.read(23)).toString()).to.equal('early bytes|later bytes');
    s.end();
    await c.toEnd();
  });

  it('CONNECT to a domain name goes through the lookup option', async () => {
    const name = Buffer.from('echo.test');
    const { rep, c, s } = await ask(request(1, Buffer.concat([Buffer.from([3, name.length]), name, Buffer.from([echo.port >> 8, echo.port & 0xff])])));
    expect(rep[1]).to.equal(SocksReply.SUCCEEDED);
    s.write('ping');
    expect((await c.read(4)).toString()).to.equal('ping');
    s.destroy();
  });

  it('an unresolvable name gets 0x04 host unreachable', async () => {
    const name = Buffer.from('nowhere.test');
    const { rep, c } = await ask(request(1, Buffer.concat([Buffer.from([3, name.length]), name, Buffer.from([0, 80])])));
    expect(rep[1]).to.equal(SocksReply.HOST_UNREACHABLE);
    await c.toEnd();
  });

  it('CONNECT to a closed port gets 0x05 connection refused', async () => {
    const { rep, c } = await ask(request(1, encodeAddress('127.0.0.1', await closedPort())));
    expect(rep[1]).to.equal(SocksReply.CONNECTION_REFUSED);
    await c.toEnd();
  });

  it('CONNECT over IPv6 (::1), when the host has IPv6 loopback', async function () {
    let echo6: RunningService;
    try {
      echo6 = await serve('echo', 0, { net, host: '::1' });
    } catch {
      console.log('    (skipped: no IPv6 loopback)');
      this.skip();
      return;
    }
    extra.push(echo6);
    const { rep, c, s } = await ask(request(1, encodeAddress('::1', echo6.port)));
    expect(rep[1]).to.equal(SocksReply.SUCCEEDED);
    expect(rep[3]).to.equal(4);
    s.write('six');
    expect((await c.read(3)).toString()).to.equal('six');
    s.destroy();
  });

  it('a wrong version gets "no acceptable methods" and a close', async () => {
    const s = await connect(socks.port);
    const c = new Collector(s);
    s.write(Buffer.from([4, 1, 0, 80, 127, 0, 0, 1, 0]));
    expect([...(await c.toEnd())]).to.deep.equal([5, 0xff]);
  });

  it('a request with a wrong version gets 0x01', async () => {
    const { rep, c } = await ask(Buffer.concat([Buffer.from([4, 1, 0]), encodeAddress('127.0.0.1', 80)]));
    expect(rep[1]).to.equal(SocksReply.GENERAL_FAILURE);
    await c.toEnd();
  });

  it('BIND gets 0x07 command not supported, and so does an unknown command', async () => {
    for (const cmd of [2, 9]) {
      const { rep, c } = await ask(request(cmd, encodeAddress('127.0.0.1', 80)));
      expect(rep[1], `cmd ${cmd}`).to.equal(SocksReply.COMMAND_NOT_SUPPORTED);
      await c.toEnd();
    }
  });

  it('an unknown address type gets 0x08', async () => {
    const { rep, c } = await ask(Buffer.from([5, 1, 0, 7, 1, 2, 3, 4, 0, 80]));
    expect(rep[1]).to.equal(SocksReply.ADDRESS_TYPE_NOT_SUPPORTED);
    await c.toEnd();
  });

  it('a client offering no acceptable method is refused', async () => {
    const s = await connect(socks.port);
    const c = new Collector(s);
    s.write(Buffer.from([5, 1, 2]));
    expect([...(await c.toEnd())]).to.deep.equal([5, 0xff]);
  });

  it('a stalled handshake is cut off by the timeout, and oversize input by the bound', async () => {
    const quick = await createSocksServer({ listen: { host: '127.0.0.1', port: 0 }, outbound: { net }, hostNet: net, handshakeTimeoutMs: 200 });
    extra.push(quick);
    const s = await connect(quick.port);
    const c = new Collector(s);
    s.write(Buffer.from([5, 2]));
    await c.toEnd(5000);
    const s2 = await connect(quick.port);
    const c2 = new Collector(s2);
    s2.write(Buffer.concat([Buffer.from([5, 255]), Buffer.alloc(255, 1)]));
    expect([...(await c2.toEnd(5000))]).to.deep.equal([5, 0xff]);
  });

  it('the server keeps serving after bad requests', async () => {
    const { rep, c, s } = await ask(request(1, encodeAddress('127.0.0.1', echo.port)));
    expect(rep[1]).to.equal(SocksReply.SUCCEEDED);
    s.write('still here');
    expect((await c.read(10)).toString()).to.equal('still here');
    s.destroy();
    expect(socks.counters.badRequests).to.be.greaterThan(0);
  });

  describe('username/password (RFC 1929)', () => {
    let authed: SocksServer;
    before(async () => {
      authed = await createSocksServer({ listen: { host: '127.0.0.1', port: 0 }, outbound: { net }, hostNet: net, auth: { user: 'alice', pass: 's3cret' } });
      extra.push(authed);
    });
    function authMsg(user: string, pass: string): Buffer {
      return Buffer.concat([Buffer.from([1, user.length]), Buffer.from(user), Buffer.from([pass.length]), Buffer.from(pass)]);
    }

    it('no-auth is refused when auth is configured', async () => {
      const s = await connect(authed.port);
      const c = new Collector(s);
      s.write(GREETING);
      expect([...(await c.toEnd())]).to.deep.equal([5, 0xff]);
    });

    it('a wrong password fails and closes', async () => {
      for (const [u, p] of [['alice', 'wrong'], ['bob', 's3cret'], ['alice', 's3cret!']]) {
        const s = await connect(authed.port);
        const c = new Collector(s);
        s.write(Buffer.from([5, 2, 0, 2]));
        expect([...(await c.read(2))]).to.deep.equal([5, 2]);
        s.write(authMsg(u, p));
        expect([...(await c.toEnd())]).to.deep.equal([1, 1]);
      }
      expect(authed.counters.authFailures).to.be.at.least(3);
    });

    it('good credentials work', async () => {
      const s = await connect(authed.port);
      const c = new Collector(s);
      s.write(Buffer.from([5, 1, 2]));
      expect([...(await c.read(2))]).to.deep.equal([5, 2]);
      s.write(authMsg('alice', 's3cret'));
      expect([...(await c.read(2))]).to.deep.equal([1, 0]);
      s.write(request(1, encodeAddress('127.0.0.1', echo.port)));
      expect((await c.read(10))[1]).to.equal(SocksReply.SUCCEEDED);
      s.write('authed');
      expect((await c.read(6)).toString()).to.equal('authed');
      s.destroy();
    });

    it('curl with --proxy-user', async function () {
      if (!hasCommand('curl')) this.skip();
      const r = await runCommand('curl', ['-sS', '--max-time', '20', '--socks5-hostname', `127.0.0.1:${authed.port}`, '--proxy-user', 'alice:s3cret', `http://127.0.0.1:${httpSvc.port}/`], 30000);
      expect(r.code).to.equal(0);
      expect(r.stdout).to.contain('Salamander');
    });
  });

  it('UDP ASSOCIATE relays a datagram to a UDP echo and back; fragments are dropped', async () => {
    const { rep, c, s } = await ask(request(3, encodeAddress('0.0.0.0', 0)));
    expect(rep[1]).to.equal(SocksReply.SUCCEEDED);
    const relayPort = rep.readUInt16BE(8);
    expect(rep.subarray(4, 8).join('.')).to.equal('127.0.0.1');
    const u = await bindUdp();
    try {
      // A fragment (FRAG=1) first: dropped. Then the real datagram.
      const dropped = socks.counters.udpDropped;
      const frag = Buffer.concat([Buffer.from([0, 0, 1]), encodeAddress('127.0.0.1', echo.port), Buffer.from('frag')]);
      u.send(frag, relayPort, '127.0.0.1');
      const got = nextMessage(u);
      u.send(Buffer.concat([Buffer.from([0, 0, 0]), encodeAddress('127.0.0.1', echo.port), Buffer.from('over udp')]), relayPort, '127.0.0.1');
      const { msg } = await got;
      const parsed = parseAddress(msg, 3);
      if ('error' in parsed) throw new Error('bad reply header');
      expect(parsed.addr).to.deep.equal({ kind: 'ip', host: '127.0.0.1', port: echo.port });
      expect(msg.subarray(parsed.next).toString()).to.equal('over udp');
      expect(socks.counters.udpDropped).to.equal(dropped + 1);
    } finally {
      u.close();
      s.destroy();
      await c.toEnd();
    }
  });

  it('refuses to listen on a non-loopback address without auth', async () => {
    for (const host of ['0.0.0.0', '::', '192.0.2.1']) {
      let err: (Error & { code?: string }) | undefined;
      try {
        await createSocksServer({ listen: { host, port: 0 }, outbound: { net }, hostNet: net });
      } catch (e) {
        err = e as Error;
      }
      expect(err?.code, host).to.equal('ERR_SOCKS_OPEN_PROXY');
      expect(err?.message).to.match(/open SOCKS proxy/);
    }
    const withAuth = await withDeadline(createSocksServer({ listen: { host: '0.0.0.0', port: 0 }, outbound: { net }, hostNet: net, auth: { user: 'u', pass: 'p' } }), 5000, 'listen');
    await withAuth.close();
  });

  it('maps errors to reply codes; encodes and parses addresses', () => {
    expect(replyForError({ code: 'ECONNREFUSED' })).to.equal(5);
    expect(replyForError({ code: 'ENETUNREACH' })).to.equal(3);
    expect(replyForError({ code: 'EHOSTUNREACH' })).to.equal(3);
    expect(replyForError({ code: 'ENOTFOUND' })).to.equal(4);
    expect(replyForError({ code: 'ETIMEDOUT' })).to.equal(6);
    expect(replyForError(new Error('x'))).to.equal(1);
    expect([...ipv6ToBytes('::1')!]).to.deep.equal([...Buffer.alloc(15), 1]);
    expect(ipv6ToBytes('2001:db8::ffff:192.0.2.1')!.toString('hex')).to.equal('20010db8000000000000ffffc0000201');
    expect(ipv6ToBytes('fe80::1%eth0')!.toString('hex')).to.equal('fe800000000000000000000000000001');
    expect(ipv6ToBytes('1.2.3.4')).to.equal(null);
    for (const [host, port] of [['10.1.2.3', 1080], ['2001:db8:0:0:0:0:0:1', 443], ['example.org', 80]] as const) {
      const p = parseAddress(encodeAddress(host, port), 0);
      expect('error' in p ? p : p.addr.host).to.equal(host);
    }
    expect(parseAddress(Buffer.from([9, 0, 0]), 0)).to.deep.equal({ error: 'atyp' });
    expect(parseAddress(Buffer.from([1, 0, 0]), 0)).to.deep.equal({ error: 'short' });
  });
});
