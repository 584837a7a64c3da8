// The built-in services (echo, discard, source, http) on Node's own net/dgram, and parseServe.

import { expect } from 'chai';
import * as http from 'node:http';
import { createHash } from 'node:crypto';
import { parseServe, serve } from '../../services/serve';
import { patternChunk, MAX_BYTES } from '../../services/http';
import type { RunningService } from '../../services/types';
import { bindUdp, Collector, connect, nextMessage, nodeCtx, withDeadline } from './helpers';

function get(port: number, path: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; length: number; sha256: string; text: string }> {
  return withDeadline(
    new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        const h = createHash('sha256');
        let length = 0;
        const head: Buffer[] = [];
        res.on('data', (d: Buffer) => {
          h.update(d);
          length += d.length;
          if (length <= 4096) head.push(d);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, length, sha256: h.digest('hex'), text: Buffer.concat(head).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
    }),
    30000,
    `GET ${path}`,
  );
}

function expectedSha(n: number): string {
  const h = createHash('sha256');
  for (let off = 0; off < n; off += 65536) h.update(patternChunk(off, Math.min(65536, n - off)));
  return h.digest('hex');
}

describe('services: built-in', () => {
  const running: RunningService[] = [];
  after(async () => {
    await Promise.all(running.map((r) => r.close()));
  });
  async function start(name: string): Promise<RunningService> {
    const r = await serve(name, 0, nodeCtx);
    running.push(r);
    return r;
  }

  it('echo over TCP returns every byte, in order (RFC 862)', async () => {
    const svc = await start('echo');
    expect(svc.port).to.be.greaterThan(0);
    const s = await connect(svc.port);
    const c = new Collector(s);
    const payload = Buffer.alloc(1 << 20);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + (i >> 11)) & 0xff;
    s.write(payload);
    expect((await c.read(payload.length, 20000)).equals(payload)).to.equal(true);
    s.end();
    await c.toEnd();
  });

  it('echo over UDP answers each datagram with the same data', async () => {
    const svc = await start('echo');
    const u = await bindUdp();
    try {
      const got = nextMessage(u);
      u.send(Buffer.from('hello, echo'), svc.port, '127.0.0.1');
      const { msg, rinfo } = await got;
      expect(msg.toString()).to.equal('hello, echo');
      expect(rinfo.port).to.equal(svc.port);
    } finally {
      u.close();
    }
  });

  it('discard reads everything and sends nothing (RFC 863)', async () => {
    const svc = await start('discard');
    const s = await connect(svc.port);
    const c = new Collector(s);
    s.end(Buffer.alloc(256 * 1024, 1));
    expect((await c.toEnd(10000)).length).to.equal(0);
  });

  it('source sends RFC 864 chargen lines until the client closes', async () => {
    const svc = await start('source');
    const s = await connect(svc.port);
    const first = await withDeadline(
      new Promise<Buffer>((resolve) => {
        const got: Buffer[] = [];
        let n = 0;
        s.on('data', (d: Buffer) => {
          got.push(d);
          n += d.length;
          if (n >= 74 * 2) {
            s.destroy(); // the source keeps sending until the client closes
            resolve(Buffer.concat(got));
          }
        });
      }),
      5000,
      'chargen lines',
    );
    expect(first.subarray(0, 74).toString('latin1')).to.equal(`${' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefg'}\r\n`);
    expect(first.subarray(74, 75).toString()).to.equal('!');
  });

  describe('http', () => {
    let port = 0;
    before(async () => {
      port = (await start('http')).port;
    });

    it('GET / is a small HTML page', async () => {
      const r = await get(port, '/');
      expect(r.status).to.equal(200);
      expect(r.headers['content-type']).to.match(/^text\/html/);
      expect(r.text).to.contain('<h1>Salamander</h1>');
      expect(Number(r.headers['content-length'])).to.equal(r.length);
    });

    it('GET /bytes?n=10000000: Content-Length, body length and SHA-256 match', async () => {
      const n = 10_000_000;
      const r = await get(port, `/bytes?n=${n}`);
      expect(r.status).to.equal(200);
      expect(r.headers['content-length']).to.equal(String(n));
      expect(r.length).to.equal(n);
      expect(r.sha256).to.equal(expectedSha(n));
    });

    it('GET /bytes?n=0 and n=1 and an odd size', async () => {
      for (const n of [0, 1, 65537, 131071]) {
        const r = await get(port, `/bytes?n=${n}`);
        expect(r.status, `n=${n}`).to.equal(200);
        expect(r.length).to.equal(n);
        expect(r.sha256).to.equal(expectedSha(n));
      }
    });

    it('a bad N is 400', async () => {
      for (const q of ['', '?n=', '?n=-1', '?n=abc', '?n=1.5', '?n=1e6', `?n=${MAX_BYTES + 1}`, '?n=99999999999999999999', '?n=%20']) {
        const r = await get(port, `/bytes${q}`);
        expect(r.status, q).to.equal(400);
        expect(r.text).to.contain('bad n');
      }
    });

    it('an unknown path is 404', async () => {
      expect((await get(port, '/nope')).status).to.equal(404);
    });

    it('a client going away mid-body does not stop the service', async () => {
      const s = await connect(port);
      const c = new Collector(s);
      s.write('GET /bytes?n=10737418240 HTTP/1.1\r\nHost: x\r\n\r\n');
      const head = (await c.read(64)).toString('latin1');
      expect(head).to.match(/^HTTP\/1\.1 200/);
      s.destroy();
      expect((await get(port, '/')).status).to.equal(200);
    });
  });

  describe('parseServe', () => {
    it('parses NAME=PORT lists and default ports', () => {
      expect(parseServe('echo=7')).to.deep.equal([{ name: 'echo', port: 7 }]);
      expect(parseServe('echo=7007,discard=9009, http=8080')).to.deep.equal([
        { name: 'echo', port: 7007 },
        { name: 'discard', port: 9009 },
        { name: 'http', port: 8080 },
      ]);
      expect(parseServe('iperf3')).to.deep.equal([{ name: 'iperf3', port: 5201 }]);
      expect(parseServe('http,echo')).to.deep.equal([{ name: 'http', port: 80 }, { name: 'echo', port: 7 }]);
      expect(parseServe('HTTP=65535')).to.deep.equal([{ name: 'http', port: 65535 }]);
      expect(parseServe('iperf3=5202,source')).to.deep.equal([{ name: 'iperf3', port: 5202 }, { name: 'source', port: 19 }]);
    });

    it('rejects bad input with a clear message', () => {
      const bad: Array<[string, RegExp]> = [
        ['', /empty/],
        ['   ', /empty/],
        ['echo=7,', /empty item/],
        [',echo', /empty item/],
        ['gopher=70', /unknown service "gopher"; known: echo, discard, source, http, iperf3/],
        ['echo=0', /bad port "0" for echo/],
        ['echo=65536', /bad port "65536"/],
        ['echo=abc', /bad port "abc"/],
        ['echo=', /bad port ""/],
        ['echo=-1', /bad port "-1"/],
        ['echo=7.5', /bad port "7.5"/],
        ['echo=8080,http=8080', /http and echo both want port 8080/],
        ['http,http', /http and http both want port 80/],
      ];
      for (const [spec, re] of bad) {
        let err: (Error & { code?: string }) | undefined;
        try {
          parseServe(spec);
        } catch (e) {
          err = e as Error;
        }
        expect(err, spec).to.be.instanceOf(Error);
        expect(err!.message, spec).to.match(re);
        expect(err!.message, spec).to.contain('--serve');
        expect(err!.code).to.equal('ERR_SERVE_SPEC');
      }
    });

    it('serve() rejects an unknown name', async () => {
      let err: Error | undefined;
      try {
        await serve('gopher', 0, nodeCtx);
      } catch (e) {
        err = e as Error;
      }
      expect(err?.message).to.match(/unknown service "gopher"/);
    });
  });
});
