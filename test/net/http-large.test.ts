// Node's http over Salamander with 64 MiB bodies (issue acceptance): Node's http server on one
// stack and http.get from another exchange a 64 MiB body intact; Linux curl downloads 64 MiB
// from a Salamander http server over TAP, and POSTs 64 MiB to it, SHA-256 checked (root only).

import { expect } from 'chai';
import * as http from 'node:http';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';

/** Runs a command without blocking this thread (the stack's app side lives on it). */
function run(cmd: string, args: string[], timeoutMs: number): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout!.on('error', () => undefined); // a child's stdio may end in ECONNRESET
    p.stderr!.on('error', () => undefined);
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (status) => {
      clearTimeout(t);
      resolve({ status, stdout, stderr });
    });
  });
}
import { Stack } from '../../api/stack';
import { serveHttp, httpGet } from '../../api/http';
import { A_ADDR, deadline, pattern, sha256, twoStacks } from './helpers';
import { Netns, tapTestsSkipReason, uniq, delLinkIfAny, hasTool } from '../nic/netns';

const SIZE = 64 << 20;

/** An http server streaming `body` on GET and hashing what a POST brings. */
function server(body: Buffer, posted: (hash: string, bytes: number) => void): http.Server {
  return http.createServer((req, res) => {
    if (req.method === 'POST') {
      const h = createHash('sha256');
      let n = 0;
      req.on('data', (d: Buffer) => {
        h.update(d);
        n += d.length;
      });
      req.on('end', () => {
        const hex = h.digest('hex');
        posted(hex, n);
        res.end(hex);
      });
      return;
    }
    res.writeHead(200, { 'content-length': String(body.length) });
    res.end(body);
  });
}

describe('http over Salamander, 64 MiB bodies', function () {
  this.timeout(180000);
  const body = pattern(SIZE, 7);
  const want = sha256(body);

  it('Node http.get on one stack from Node http.createServer on another: 64 MiB intact', async () => {
    const [A, B] = await twoStacks({ sendBufBytes: 1 << 20, recvBufBytes: 1 << 20, maxConns: 64 });
    const srv = server(body, () => undefined);
    const l = await serveHttp(A.net, srv, 80, A_ADDR);
    try {
      const got = await deadline(new Promise<{ hash: string; n: number }>((resolve, reject) => {
        httpGet(B.net, { host: A_ADDR, port: 80, path: '/big' }, (res) => {
          const h = createHash('sha256');
          let n = 0;
          res.on('data', (d: Buffer) => {
            h.update(d);
            n += d.length;
          });
          res.on('end', () => resolve({ hash: h.digest('hex'), n }));
          res.on('error', reject);
        }).on('error', reject);
      }), 150000, '64 MiB http body');
      expect(got.n).to.equal(SIZE);
      expect(got.hash).to.equal(want);
    } finally {
      l.close();
      srv.close();
      await B.stop();
      await A.stop();
    }
  });

  describe('against Linux curl over TAP', function () {
    const skip = tapTestsSkipReason() ?? (hasTool('curl') ? null : 'curl is not installed');
    const ns = new Netns('http');
    const dev = `salh${uniq()}`.slice(0, 15);
    let stack: Stack | null = null;
    let srv: http.Server | null = null;
    let lastPost: { hash: string; bytes: number } | null = null;
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'salhttp-'));

    before(async function () {
      if (skip) {
        console.log(`      skipped: ${skip}`);
        this.skip();
      }
      ns.add();
      stack = new Stack({ name: 'h', links: [{ name: dev, type: 'tap', device: dev, addresses: ['192.0.2.2/24'] }], tcp: { sendBufBytes: 1 << 20, recvBufBytes: 1 << 20, maxConns: 64 } });
      await stack.start();
      ns.adopt(dev, '192.0.2.1/24');
      srv = server(body, (hash, bytes) => (lastPost = { hash, bytes }));
      await serveHttp(stack.net, srv, 80, '192.0.2.2');
    });

    after(async () => {
      srv?.close();
      await stack?.stop();
      ns.del();
      delLinkIfAny(dev);
      fs.rmSync(tmp, { recursive: true, force: true });
    });

    it('curl downloads 64 MiB from Node http on Salamander, intact', async () => {
      const out = path.join(tmp, 'down');
      const r = await run('ip', ['netns', 'exec', ns.name, 'curl', '-s', '--max-time', '120', '-o', out, '-w', '%{speed_download}', 'http://192.0.2.2/big'], 130000);
      expect(r.status, r.stderr).to.equal(0);
      const got = fs.readFileSync(out);
      expect(got.length).to.equal(SIZE);
      expect(sha256(got)).to.equal(want);
      console.log(`      curl GET 64 MiB: ${((Number(r.stdout) * 8) / 1e6).toFixed(0)} Mbit/s`);
    });

    it('curl POSTs 64 MiB to Node http on Salamander, intact', async () => {
      const file = path.join(tmp, 'up');
      fs.writeFileSync(file, body);
      const r = await run('ip', ['netns', 'exec', ns.name, 'curl', '-s', '--max-time', '120', '--data-binary', `@${file}`, '-H', 'Expect:', 'http://192.0.2.2/upload'], 130000);
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stdout).to.equal(want);
      expect(lastPost).to.deep.equal({ hash: want, bytes: SIZE });
    });
  });
});
