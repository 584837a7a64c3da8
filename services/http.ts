// A small HTTP/1.1 service: Node's own `http` parser and response writer, fed with sockets
// accepted from the given `net`-like module (`httpServer.emit('connection', socket)`).
//   GET /            a small HTML page
//   GET /bytes?n=N   N bytes (0 <= N <= 10 GiB) of deterministic content (`patternChunk`),
//                    Content-Length set, streamed with back-pressure
// Anything else is 404; a bad N is 400; a method other than GET/HEAD is 405.
// The accepted sockets must be stream Duplexes like net.Socket (Node's http needs that much).

import * as http from 'node:http';
import type { Duplex } from 'node:stream';
import { closeServer, listenServer, RunningService, ServiceContext, SocketLike, track } from './types';

/** The largest body /bytes serves. */
export const MAX_BYTES = 10 * 1024 ** 3;

/** The content repeats with this period: a prime, so no power-of-two chunking lines up with it. */
export const PATTERN_PERIOD = 89;
const CHUNK = 64 * 1024;
// Byte k of every /bytes body is 0x21 + (k mod 89): printable ASCII '!'..'y'.
const PATTERN = Buffer.alloc(CHUNK + PATTERN_PERIOD);
for (let i = 0; i < PATTERN.length; i++) PATTERN[i] = 0x21 + (i % PATTERN_PERIOD);

/** Bytes [offset, offset+length) of the /bytes content (length <= 64 KiB; a view, not a copy). */
export function patternChunk(offset: number, length: number): Buffer {
  if (length > CHUNK) throw new RangeError(`patternChunk: length ${length} > ${CHUNK}`);
  const start = offset % PATTERN_PERIOD;
  return PATTERN.subarray(start, start + length);
}

const HOME = `<!doctype html>
<html><head><meta charset="utf-8"><title>Salamander</title></head>
<body><h1>Salamander</h1>
<p>This page is served by a userspace TCP/IP stack for Node.js.</p>
<p><a href="/bytes?n=1048576">/bytes?n=N</a> returns N bytes (up to 10 GiB).</p>
</body></html>
`;

/** Parse the `n` of /bytes: a decimal integer 0..MAX_BYTES, else null. */
export function parseByteCount(v: string | null): number | null {
  if (v === null || !/^[0-9]{1,11}$/.test(v)) return null;
  const n = Number(v);
  return n <= MAX_BYTES ? n : null;
}

function sendText(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** Stream n pattern bytes into res, waiting for 'drain' whenever the socket is full. */
function streamBytes(res: http.ServerResponse, n: number): void {
  let offset = 0;
  let stopped = false;
  res.on('close', () => (stopped = true));
  const pump = (): void => {
    while (!stopped) {
      const len = Math.min(CHUNK, n - offset);
      if (len === 0) {
        res.end();
        return;
      }
      const chunk = patternChunk(offset, len);
      offset += len;
      if (offset === n) {
        res.end(chunk);
        return;
      }
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
  };
  pump();
}

export function handleHttpRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://salamander.invalid');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    sendText(res, 405, 'method not allowed\n');
    return;
  }
  if (url.pathname === '/') {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(HOME) });
    res.end(req.method === 'HEAD' ? undefined : HOME);
    return;
  }
  if (url.pathname === '/bytes') {
    const n = parseByteCount(url.searchParams.get('n'));
    if (n === null) {
      sendText(res, 400, `bad n: want /bytes?n=N with N a decimal integer from 0 to ${MAX_BYTES}\n`);
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(n) });
    if (req.method === 'HEAD') res.end();
    else streamBytes(res, n);
    return;
  }
  sendText(res, 404, 'not found\n');
}

/** Start the HTTP service on ctx.net at port (0: any). */
export async function serveHttp(port: number, ctx: ServiceContext): Promise<RunningService> {
  const httpServer = http.createServer(handleHttpRequest);
  httpServer.keepAliveTimeout = 5000;
  const sockets = new Set<SocketLike>();
  const tcp = ctx.net.createServer((s) => {
    track(sockets, s);
    httpServer.emit('connection', s as unknown as Duplex);
  });
  const bound = await listenServer(tcp, port, ctx.host ?? '0.0.0.0');
  return {
    name: 'http',
    port: bound,
    close: async () => {
      await closeServer(tcp, sockets);
      httpServer.close();
    },
  };
}
