// Node's own `http` over Salamander: small adapters, no HTTP code of our own.
//
//   - serveHttp(stack.net, httpServer, port[, host]): a Salamander listener whose connections
//     are handed to an ordinary `http.createServer()` by `server.emit('connection', socket)`
//     (the documented way to feed a Node http server a socket it did not accept itself).
//   - SalamanderAgent: an `http.Agent` whose createConnection() opens stack.net sockets, so
//     `http.request` / `http.get` with `{ agent }` go through Salamander, with keep-alive pooling.
//   - httpRequest / httpGet: `http.request` / `http.get` with a `createConnection` option that
//     uses stack.net (no pooling: one connection per request, like `agent: false`).

import * as http from 'node:http';
import type { Duplex } from 'node:stream';
import type { NetApi, Server as NetServer } from './net';

/** Serves `httpServer` (from http.createServer) on a Salamander listener; resolves once listening.
 *  Closing the returned server stops accepting; call httpServer.close() too to end idle
 *  keep-alive connections. */
export function serveHttp(net: NetApi, httpServer: http.Server, port: number, host?: string): Promise<NetServer> {
  const srv = net.createServer((socket) => httpServer.emit('connection', socket));
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, host, () => {
      srv.off('error', reject);
      srv.on('error', (e) => httpServer.emit('error', e));
      resolve(srv);
    });
  });
}

/** An http.Agent whose connections are Salamander sockets (keep-alive pooling as usual). */
export class SalamanderAgent extends http.Agent {
  constructor(private readonly net: NetApi, options?: http.AgentOptions) {
    super(options);
  }

  override createConnection(opts: http.ClientRequestArgs, cb?: (err: Error | null, s: Duplex) => void): Duplex {
    const options = opts as unknown as Record<string, unknown>;
    void cb; // returning the socket is enough: the Agent then calls cb(null, socket) itself
    return this.net.createConnection({
      port: Number(options.port ?? 80),
      host: (options.host as string | undefined) ?? (options.hostname as string | undefined) ?? 'localhost',
      localAddress: options.localAddress as string | undefined,
      lookup: options.lookup as never,
      keepAlive: options.keepAlive as boolean | undefined,
      keepAliveInitialDelay: options.keepAliveInitialDelay as number | undefined,
      noDelay: true,
    });
  }
}

function withConnection(net: NetApi, options: http.RequestOptions): http.RequestOptions {
  return {
    ...options,
    agent: undefined,
    createConnection: ((o: Record<string, unknown>) => net.createConnection({
      port: Number(o.port ?? 80),
      host: (o.host as string | undefined) ?? (o.hostname as string | undefined) ?? 'localhost',
      localAddress: o.localAddress as string | undefined,
      lookup: o.lookup as never,
      noDelay: true,
    })) as unknown as http.RequestOptions['createConnection'],
  };
}

/** `http.request(options, cb)` over Salamander (one connection per request). */
export function httpRequest(net: NetApi, options: http.RequestOptions, cb?: (res: http.IncomingMessage) => void): http.ClientRequest {
  return http.request(withConnection(net, options), cb);
}

/** `http.get(options, cb)` over Salamander (one connection per request). */
export function httpGet(net: NetApi, options: http.RequestOptions, cb?: (res: http.IncomingMessage) => void): http.ClientRequest {
  return http.get(withConnection(net, options), cb);
}
