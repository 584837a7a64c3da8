// Built-in services for `salamander up --serve`, written against a `net`/`dgram`-like module:
//   echo    TCP and UDP (RFC 862): everything received is sent back
//   discard TCP and UDP (RFC 863): everything received is thrown away
//   source  TCP (RFC 864 "chargen" lines): sends until the client closes, ignores input
//   http    see ./http.ts
//   iperf3  see ./iperf3.ts
// and the parser for the CLI syntax `--serve NAME[=PORT][,NAME[=PORT]...]`.

import { serveHttp } from './http';
import { serveIperf3 } from './iperf3';
import {
  bindDgram, closeDgram, closeServer, DgramSocketLike, listenServer, RunningService, ServiceContext,
  ServiceError, SocketLike, track,
} from './types';

export type ServiceName = 'echo' | 'discard' | 'source' | 'http' | 'iperf3';

/** Default port per service (the IANA ones; chargen's 19 for source). */
export const DEFAULT_PORTS: Readonly<Record<ServiceName, number>> = {
  echo: 7,
  discard: 9,
  source: 19,
  http: 80,
  iperf3: 5201,
};

export interface ServeSpec {
  name: ServiceName;
  port: number;
}

function isServiceName(s: string): s is ServiceName {
  return Object.prototype.hasOwnProperty.call(DEFAULT_PORTS, s);
}

/**
 * Parse `--serve` syntax: a comma-separated list of `NAME=PORT` or `NAME` (default port).
 * Throws a ServiceError (code ERR_SERVE_SPEC) naming the bad item.
 */
export function parseServe(spec: string): ServeSpec[] {
  const known = Object.keys(DEFAULT_PORTS).join(', ');
  const fail = (msg: string): never => {
    throw new ServiceError('ERR_SERVE_SPEC', `--serve ${JSON.stringify(spec)}: ${msg}`);
  };
  if (spec.trim() === '') fail(`empty; want NAME=PORT[,NAME=PORT...] with NAME one of ${known}`);
  const out: ServeSpec[] = [];
  for (const raw of spec.split(',')) {
    const item = raw.trim();
    if (item === '') fail('empty item (stray comma?)');
    const eq = item.indexOf('=');
    const name = (eq < 0 ? item : item.slice(0, eq)).trim().toLowerCase();
    if (!isServiceName(name)) fail(`unknown service ${JSON.stringify(name)}; known: ${known}`);
    const n = name as ServiceName;
    let port = DEFAULT_PORTS[n];
    if (eq >= 0) {
      const p = item.slice(eq + 1).trim();
      if (!/^[0-9]{1,5}$/.test(p) || Number(p) < 1 || Number(p) > 65535) {
        fail(`bad port ${JSON.stringify(p)} for ${n}: want an integer from 1 to 65535`);
      }
      port = Number(p);
    }
    for (const o of out) {
      // Every service listens on TCP, so two services can never share a port.
      if (o.port === port) {
        fail(`${n} and ${o.name} both want port ${port}`);
      }
    }
    out.push({ name: n, port });
  }
  return out;
}

/** Start one service on ctx.net (and ctx.dgram where it has a UDP side). Port 0: any. */
export async function serve(name: string, port: number, ctx: ServiceContext): Promise<RunningService> {
  switch (name) {
    case 'echo':
      return serveEchoOrDiscard('echo', port, ctx);
    case 'discard':
      return serveEchoOrDiscard('discard', port, ctx);
    case 'source':
      return serveSource(port, ctx);
    case 'http':
      return serveHttp(port, ctx);
    case 'iperf3':
      return serveIperf3(port, ctx);
    default:
      throw new ServiceError('ERR_UNKNOWN_SERVICE', `unknown service ${JSON.stringify(name)}; known: ${Object.keys(DEFAULT_PORTS).join(', ')}`);
  }
}

/** Start every service of a parsed spec; on a failure, stop the ones already started. */
export async function serveAll(specs: ServeSpec[], ctx: ServiceContext): Promise<RunningService[]> {
  const running: RunningService[] = [];
  try {
    for (const s of specs) running.push(await serve(s.name, s.port, ctx));
  } catch (err) {
    await Promise.all(running.map((r) => r.close()));
    throw err;
  }
  return running;
}

/** Write with back-pressure: pause the reader `from` until `to` drains. */
function writeOrPause(to: SocketLike, data: Uint8Array, from: SocketLike): void {
  if (!to.write(data)) {
    from.pause();
    to.once('drain', () => from.resume());
  }
}

async function serveEchoOrDiscard(name: 'echo' | 'discard', port: number, ctx: ServiceContext): Promise<RunningService> {
  const host = ctx.host ?? '0.0.0.0';
  const sockets = new Set<SocketLike>();
  const tcp = ctx.net.createServer((s) => {
    track(sockets, s);
    if (name === 'echo') {
      // RFC 862: "Once a connection is established any data received is sent back."
      s.on('data', (d: Uint8Array) => writeOrPause(s, d, s));
    } else {
      // RFC 863: "Once a connection is established any data received is thrown away."
      s.on('data', () => {});
    }
    s.on('end', () => s.end());
  });
  const bound = await listenServer(tcp, port, host);
  let udp: DgramSocketLike | undefined;
  if (ctx.dgram) {
    udp = ctx.dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    try {
      await bindDgram(udp, bound, host);
    } catch (err) {
      await closeServer(tcp, sockets);
      throw err;
    }
    const u = udp;
    u.on('error', () => {});
    if (name === 'echo') {
      // RFC 862: "When a datagram is received, the data from it is sent back in an answering datagram."
      u.on('message', (msg: Uint8Array, rinfo: { address: string; port: number }) => u.send(msg, rinfo.port, rinfo.address));
    } else {
      u.on('message', () => {});
    }
  }
  return {
    name,
    port: bound,
    close: async () => {
      await Promise.all([closeServer(tcp, sockets), udp ? closeDgram(udp) : Promise.resolve()]);
    },
  };
}

// RFC 864's pattern: 72-character lines of the 95 printable ASCII characters, each line starting
// one character later than the one before, CR LF after each; it repeats every 95 lines.
const CHARGEN = (() => {
  const lines: string[] = [];
  for (let i = 0; i < 95; i++) {
    let line = '';
    for (let j = 0; j < 72; j++) line += String.fromCharCode(32 + ((i + j) % 95));
    lines.push(line + '\r\n');
  }
  return Buffer.from(lines.join(''), 'latin1');
})();

async function serveSource(port: number, ctx: ServiceContext): Promise<RunningService> {
  const sockets = new Set<SocketLike>();
  const tcp = ctx.net.createServer((s) => {
    track(sockets, s);
    s.on('data', () => {}); // RFC 864: "Any data received is thrown away."
    s.on('end', () => s.destroy());
    const pump = (): void => {
      while (!s.destroyed) {
        if (!s.write(CHARGEN)) {
          s.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
  const bound = await listenServer(tcp, port, ctx.host ?? '0.0.0.0');
  return { name: 'source', port: bound, close: () => closeServer(tcp, sockets) };
}
