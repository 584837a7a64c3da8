// Interop with the Linux kernel's TCP over a TAP device in a namespace of our own (root only;
// 192.0.2.0/24): curl in the namespace downloads a large body from Node's http server running
// on Salamander (SHA-256 checked), and Salamander's http client fetches from a Node http server
// running in the namespace on the kernel's stack. Skips with a clear message without root.

import { expect } from 'chai';
import * as http from 'node:http';
import type { ChildProcess } from 'node:child_process';
import { Stack } from '../../api/stack';
import { httpGet, serveHttp } from '../../api/http';
import { Netns, delLinkIfAny, hasTool, tapTestsSkipReason, uniq, waitExit, waitOutput } from '../nic/netns';
import { collect, deadline, pattern, sha256 } from './helpers';

/** Runs a command in the namespace without blocking the event loop (the app side of the stack
 *  lives on this thread); resolves with its stdout. */
async function nsRun(ns: Netns, args: string[], timeoutMs: number): Promise<{ code: number | null; out: string; err: string }> {
  const child = ns.spawn(args);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const code = await waitExit(child, timeoutMs);
  return { code, out, err };
}

describe('net: interop with Linux TCP over TAP (curl, kernel http server)', function () {
  this.timeout(120000);
  const skip = tapTestsSkipReason() ?? (hasTool('curl') ? null : 'curl is not installed');
  const ns = new Netns('net');
  const dev = `saln${uniq()}`.slice(0, 15);
  const body = pattern(4 << 20, 11);
  let stack: Stack | null = null;
  let httpServer: http.Server | null = null;
  let peer: ChildProcess | null = null;

  before(async function () {
    if (skip) {
      console.log(`      skipped: ${skip}`); // eslint-disable-line no-console
      this.skip();
    }
    ns.add();
    stack = new Stack({ name: 'nlx', links: [{ name: 'tap0', type: 'tap', device: dev, addresses: ['192.0.2.2/24'] }], supervisor: { spares: 1 } });
    await stack.start();
    ns.adopt(dev, '192.0.2.1/24');
    httpServer = http.createServer((req, res) => {
      if (req.url === '/big') {
        res.writeHead(200, { 'content-length': body.length });
        res.end(body);
      } else res.end(`hello ${req.socket.remoteAddress}\n`);
    });
    await serveHttp(stack.net, httpServer, 8080, '192.0.2.2');
  });

  after(async () => {
    httpServer?.closeAllConnections();
    if (peer && peer.exitCode === null) {
      peer.kill('SIGKILL');
      await waitExit(peer, 5000);
    }
    await stack?.stop();
    if (!skip) {
      ns.del();
      delLinkIfAny(dev);
    }
  });

  it('curl (Linux TCP) fetches a small page and a 4 MiB body intact', async () => {
    const small = await nsRun(ns, ['curl', '-sS', '--max-time', '20', 'http://192.0.2.2:8080/'], 30000);
    expect(small.code, small.err).to.equal(0);
    expect(small.out).to.equal('hello 192.0.2.1\n');
    const big = await nsRun(ns, ['sh', '-c', 'curl -sS --max-time 60 http://192.0.2.2:8080/big | sha256sum'], 70000);
    expect(big.code, big.err).to.equal(0);
    expect(big.out.split(' ')[0]).to.equal(sha256(body));
  });

  it('Salamander http.get fetches from a kernel-stack http server in the namespace', async () => {
    peer = ns.spawn([process.execPath, '-e',
      "require('http').createServer((q,s)=>s.end(Buffer.alloc(1<<20,120))).listen(8081,'192.0.2.1',()=>console.log('ready'))"]);
    await waitOutput(peer, /ready/, 20000);
    const res = await deadline(new Promise<http.IncomingMessage>((resolve, reject) => {
      httpGet(stack!.net, { host: '192.0.2.1', port: 8081, path: '/' }, resolve).on('error', reject);
    }), 20000, 'response from the kernel-stack server');
    expect(res.statusCode).to.equal(200);
    const got = await deadline(collect(res), 30000, 'body');
    expect(got.equals(Buffer.alloc(1 << 20, 120))).to.equal(true);
  });
});
