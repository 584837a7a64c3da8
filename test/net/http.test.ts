// Node's own http over Salamander: http.createServer() fed Salamander sockets on one stack,
// http.get / http.request from the other (createConnection and a keep-alive Agent), a large
// body both ways checked by SHA-256.

import { expect } from 'chai';
import * as http from 'node:http';
import { Stack } from '../../api/stack';
import { SalamanderAgent, httpGet, httpRequest, serveHttp } from '../../api/http';
import { B_ADDR, collect, deadline, pattern, sha256, twoStacks } from './helpers';

describe('net: Node http over two stacks (threaded)', function () {
  this.timeout(120000);
  let A: Stack;
  let B: Stack;
  const body = pattern(8 << 20, 7);
  let httpServer: http.Server;

  before(async () => {
    [A, B] = await twoStacks({ sendBufBytes: 1 << 18, recvBufBytes: 1 << 18 }, ['ha', 'hb']);
    httpServer = http.createServer((req, res) => {
      if (req.url === '/big') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
        res.end(body);
      } else if (req.url === '/upload') {
        collect(req).then((b) => {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end(`${b.length} ${sha256(b)} from ${req.socket.remoteAddress}`);
        });
      } else {
        res.writeHead(404);
        res.end('not found');
      }
    });
    await serveHttp(B.net, httpServer, 8080, B_ADDR);
  });

  after(async () => {
    httpServer?.closeAllConnections();
    await A?.stop();
    await B?.stop();
  });

  it('http.get of an 8 MiB body arrives intact', async () => {
    const res = await deadline(new Promise<http.IncomingMessage>((resolve, reject) => {
      httpGet(A.net, { host: B_ADDR, port: 8080, path: '/big' }, resolve).on('error', reject);
    }), 20000, 'response');
    expect(res.statusCode).to.equal(200);
    expect(res.headers['content-length']).to.equal(String(body.length));
    const got = await deadline(collect(res), 60000, 'body');
    expect(got.length).to.equal(body.length);
    expect(sha256(got)).to.equal(sha256(body));
  });

  it('http.request POST of an 8 MiB body, and a 404, through a keep-alive Agent', async () => {
    const agent = new SalamanderAgent(A.net, { keepAlive: true, maxSockets: 1 });
    const post = await deadline(new Promise<string>((resolve, reject) => {
      const req = http.request({ host: B_ADDR, port: 8080, path: '/upload', method: 'POST', agent }, (res) => {
        collect(res).then((b) => resolve(b.toString()), reject);
      });
      req.on('error', reject);
      req.end(body);
    }), 60000, 'upload');
    expect(post).to.equal(`${body.length} ${sha256(body)} from 192.0.2.1`);
    const missing = await deadline(new Promise<number>((resolve, reject) => {
      http.get({ host: B_ADDR, port: 8080, path: '/nope', agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      }).on('error', reject);
    }), 20000, '404');
    expect(missing).to.equal(404);
    agent.destroy();
  });

  it('connection errors surface as request errors (ECONNREFUSED)', async () => {
    const err = await deadline(new Promise<NodeJS.ErrnoException>((resolve) => {
      httpRequest(A.net, { host: B_ADDR, port: 8081, path: '/' }, () => undefined).on('error', resolve).end();
    }), 20000, 'error');
    expect(err.code).to.equal('ECONNREFUSED');
  });
});
