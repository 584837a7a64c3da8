// A `net`-compatible API over the TCP actor, on the main thread: `stack.net.createServer()`,
// `stack.net.connect()` / `createConnection()`, `Server` and `Socket` behave like Node's (same
// argument forms, events, properties and error codes), so code written for `node:net` (and
// Node's own `http`, see api/http.ts) runs over Salamander unchanged.
//
// Control goes through the app ring pair to the TCP actor (actors/tcp/app.ts records). Bytes
// never do: a Socket copies straight into its connection's send stream and out of its receive
// stream in the shared region `tcpStreams` (actors/tcp/stream.ts), then "pokes" the actor with a
// 16-byte record (coalesced per tick). Back-pressure is the send stream: write() returns false
// when it is full and the rest of a write goes in as acknowledgements free room ('writable'
// events), so a large write never blocks the event loop. After a TCP actor restart the socket
// layer re-checks every socket (status, stream positions), because events in flight are lost.
//
// Differences from Node (docs/net.md): IPv4 only in practice (the stack's addresses are IPv4);
// host names go through `lookup` (default: IP literals and "localhost" only, else ENOTFOUND);
// no IPC paths, no `fd`/`handle` options; listening with port 0 picks a random port in
// 49152-65535 on the app side.

import { Duplex } from 'node:stream';
import EventEmitter from 'node:events';
import * as os from 'node:os';
import { isIP as nodeIsIP } from 'node:net';
import type { AppPort } from './appport';
import { ByteStream } from '../actors/tcp/stream';
import { STREAM_HEADER_BYTES, TABLE_HEADER_BYTES, TABLE_MAGIC, TableWord, streamSlotBytes } from '../actors/tcp/layout';
import { TcpShared, TcpSharedOptions, tcpSharedBytes } from '../actors/tcp/table';
import type { TcpConfig } from '../actors/tcp/types';
import {
  AcceptedConn, ConnStatus, ERRNO_NAMES, EV_CLOSED, EV_CONNECTION, EV_ESTABLISHED, EV_MAX, EV_PEER_CLOSED,
  EV_READABLE, EV_REPLY, EV_RESET, EV_RESYNC, EV_TIMEOUT, EV_WRITABLE, REQ_ABORT, REQ_ACCEPT, REQ_CLOSE, REQ_CONNECT,
  REQ_LISTEN, REQ_POKE, REQ_SETOPT, REQ_SHUTDOWN, REQ_STATUS, TCP_APP_HEADER_LEN, decodeTcpAppRecord,
  encodeTcpAppRecord, writeTcpAppHeader,
} from '../actors/tcp/app';

// ------------------------------------------------------------------------------ errors

export type NetErrnoError = Error & { code: string; errno: number; syscall: string; address?: string; port?: number; hostname?: string };

const MESSAGES: Record<string, string> = {
  EADDRINUSE: 'address already in use', EADDRNOTAVAIL: 'address not available',
};

/** An error shaped like libuv's: "connect ECONNREFUSED 192.0.2.2:80", with code/errno/syscall. */
export function netErrnoError(code: string, syscall: string, address?: string, port?: number): NetErrnoError {
  const errno = (os.constants.errno as Record<string, number>)[code];
  let where = address === undefined ? '' : port === undefined || port < 0 ? ` ${address}` : ` ${address}:${port}`;
  if (syscall === 'getaddrinfo') where = ` ${address}`;
  const msg = MESSAGES[code] && syscall === 'listen' ? `${syscall} ${code}: ${MESSAGES[code]}${where}` : `${syscall} ${code}${where}`;
  const e = new Error(msg) as NetErrnoError;
  e.code = code;
  e.errno = errno === undefined ? (code === 'ENOTFOUND' ? -3008 : -1) : -errno;
  e.syscall = syscall;
  if (syscall === 'getaddrinfo') e.hostname = address;
  else if (address !== undefined) e.address = address;
  if (port !== undefined && port >= 0 && syscall !== 'getaddrinfo') e.port = port;
  return e;
}

function nodeError(code: string, message: string, Base: ErrorConstructor | RangeErrorConstructor | TypeErrorConstructor = Error): Error & { code: string } {
  const e = new Base(message) as Error & { code: string };
  e.code = code;
  return e;
}

function validatePort(port: unknown, allowZero = true): number {
  const n = typeof port === 'string' && port.trim() !== '' ? Number(port) : port;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65535 || (!allowZero && n === 0)) {
    throw nodeError('ERR_SOCKET_BAD_PORT', `Port should be >= 0 and < 65536. Received ${typeof port === 'string' ? `type string ('${port}')` : String(port)}.`, RangeError);
  }
  return n;
}

// ------------------------------------------------------------------------------ addresses

export function isIP(input: unknown): number {
  return typeof input === 'string' ? nodeIsIP(input) : 0;
}
export function isIPv4(input: unknown): boolean {
  return isIP(input) === 4;
}
export function isIPv6(input: unknown): boolean {
  return isIP(input) === 6;
}

export type LookupFunction = (
  hostname: string,
  options: { family?: number; all?: boolean },
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
) => void;

/** The default lookup: IP literals and "localhost" (127.0.0.1); any other name is ENOTFOUND
 *  (Salamander has no resolver of its own; pass `lookup` to use one, e.g. dns.lookup). */
export const defaultLookup: LookupFunction = (hostname, _options, cb) => {
  const fam = isIP(hostname);
  if (fam !== 0) return process.nextTick(() => cb(null, hostname, fam));
  if (hostname === 'localhost') return process.nextTick(() => cb(null, '127.0.0.1', 4));
  process.nextTick(() => cb(netErrnoError('ENOTFOUND', 'getaddrinfo', hostname), '', 0));
};

export interface AddressInfo {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
}

function familyName(a: string): 'IPv4' | 'IPv6' {
  return isIP(a) === 6 ? 'IPv6' : 'IPv4';
}

// ------------------------------------------------------------------------------ the socket layer

/** What the socket layer needs from its Stack. */
export interface NetHost {
  appPort: AppPort;
  /** The TCP actor's shared regions, once the stack runs. */
  regions(): TcpShared | undefined;
  /** The TCP actor's role name ("tcp"). */
  actor: string;
}

type ReplyFn = (code: number, body: unknown) => void;

const ID_SLOT = 65536;
const READ_CHUNK = 1 << 18;

export interface SocketConnectOpts {
  port: number | string;
  host?: string;
  localAddress?: string;
  localPort?: number;
  family?: number;
  lookup?: LookupFunction;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  timeout?: number;
}

export interface SocketOptions {
  allowHalfOpen?: boolean;
  readable?: boolean;
  writable?: boolean;
  signal?: AbortSignal;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
}

export interface NetConnectOpts extends SocketConnectOpts, SocketOptions {}

export interface ServerOpts {
  allowHalfOpen?: boolean;
  pauseOnConnect?: boolean;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
}

export interface ListenOpts {
  port?: number | string;
  host?: string;
  backlog?: number;
  exclusive?: boolean;
  ipv6Only?: boolean;
  signal?: AbortSignal;
}

/** `stack.net`: the module-like object (createServer, connect, createConnection, Socket,
 *  Server, isIP...). */
export class NetApi {
  readonly isIP = isIP;
  readonly isIPv4 = isIPv4;
  readonly isIPv6 = isIPv6;
  /** `new stack.net.Socket(options)` as with Node's net.Socket. */
  readonly Socket: new (options?: SocketOptions) => Socket;
  /** `new stack.net.Server(options, listener)` as with Node's net.Server. */
  readonly Server: new (options?: ServerOpts | ((s: Socket) => void), listener?: (s: Socket) => void) => Server;

  /** @internal */ readonly sockets = new Map<number, Socket>();
  /** @internal */ readonly servers = new Map<number, Server>();
  private readonly replies = new Map<number, ReplyFn>();
  private nextReq = 1;
  private readonly pokes = new Set<number>();
  private pokeScheduled = false;
  private readonly backlog: Uint8Array[] = [];
  private flushing = false;
  private layout: { slotBytes: number; sendCap: number; recvCap: number; maxConns: number } | null = null;
  private closed = false;

  constructor(private readonly host: NetHost) {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const api = this;
    this.Socket = class extends Socket {
      constructor(options?: SocketOptions) {
        super(api, options);
      }
    };
    this.Server = class extends Server {
      constructor(options?: ServerOpts | ((s: Socket) => void), listener?: (s: Socket) => void) {
        super(api, options, listener);
      }
    };
  }

  createServer(options?: ServerOpts | ((s: Socket) => void), connectionListener?: (s: Socket) => void): Server {
    return new Server(this, options, connectionListener);
  }

  connect(...args: unknown[]): Socket {
    return this.createConnection(...args);
  }

  /** createConnection(options[, cb]) | (port[, host][, cb]) */
  createConnection(...args: unknown[]): Socket {
    const [opts, cb] = normalizeConnectArgs(args);
    const s = new Socket(this, opts);
    if (opts.timeout) s.setTimeout(opts.timeout);
    return s.connect(opts, cb);
  }

  // ---- records

  /** @internal Sends a request; `reply` (if any) runs synchronously when the answer is drained,
   *  before any later event of the same connection. */
  request(kind: number, id: number, body?: unknown, reply?: ReplyFn): void {
    if (this.closed || !this.host.regions()) {
      // Not started, or stopped: answer like a network that is down.
      if (reply) process.nextTick(() => reply(ERRNO_NAMES.indexOf('ENETDOWN'), null));
      return;
    }
    this.flushPokes();
    let req = 0;
    if (reply) {
      req = this.nextReq++;
      if (this.nextReq > 0xffffffff) this.nextReq = 1;
      this.replies.set(req, reply);
    }
    this.sendRecord(encodeTcpAppRecord(kind, id, req, 0, 0, body));
  }

  private sendRecord(rec: Uint8Array): void {
    if (this.closed) return;
    if (this.backlog.length === 0 && this.host.appPort.trySend(this.host.actor, rec)) return;
    this.backlog.push(rec);
    void this.flushBacklog();
  }

  private async flushBacklog(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.backlog.length > 0 && !this.closed) {
        if (!(await this.host.appPort.send(this.host.actor, this.backlog[0], 60000))) break;
        this.backlog.shift();
      }
    } finally {
      this.flushing = false;
    }
  }

  /** @internal The app moved a stream position of `id`; one POKE per id per tick. */
  poke(id: number): void {
    this.pokes.add(id);
    if (!this.pokeScheduled) {
      this.pokeScheduled = true;
      queueMicrotask(() => this.flushPokes());
    }
  }

  private flushPokes(): void {
    this.pokeScheduled = false;
    if (this.pokes.size === 0 || this.closed) return;
    if (this.backlog.length === 0) {
      const w = this.host.appPort.writer(this.host.actor);
      for (const id of this.pokes) {
        const at = w.tryReserve(TCP_APP_HEADER_LEN);
        if (at < 0) break;
        writeTcpAppHeader(w.bytes, at, REQ_POKE, id);
        w.commit(TCP_APP_HEADER_LEN, false);
        this.pokes.delete(id);
      }
      w.publish();
    }
    for (const id of this.pokes) this.sendRecord(encodeTcpAppRecord(REQ_POKE, id));
    this.pokes.clear();
  }

  /** @internal The connection's streams, or null if the id's slot now belongs to another. */
  streamsOf(id: number): { send: ByteStream; recv: ByteStream; gen: number } | null {
    const r = this.host.regions();
    if (!r) return null;
    if (!this.layout) {
      const h = new Int32Array(r.tcbs, 0, TABLE_HEADER_BYTES / 4);
      if (Atomics.load(h, TableWord.MAGIC) !== TABLE_MAGIC) return null;
      const sendCap = h[TableWord.SEND_CAP];
      const recvCap = h[TableWord.RECV_CAP];
      this.layout = { sendCap, recvCap, maxConns: h[TableWord.MAX_CONNS], slotBytes: streamSlotBytes(sendCap, recvCap) };
    }
    const L = this.layout;
    const slot = id % ID_SLOT;
    const gen = Math.floor(id / ID_SLOT);
    if (slot >= L.maxConns || (slot + 1) * L.slotBytes > r.tcpStreams.byteLength) return null;
    const send = new ByteStream(r.tcpStreams, slot * L.slotBytes, L.sendCap);
    const recv = new ByteStream(r.tcpStreams, slot * L.slotBytes + STREAM_HEADER_BYTES + L.sendCap, L.recvCap);
    if (send.gen() !== gen || recv.gen() !== gen) return null;
    return { send, recv, gen };
  }

  /** Called by the Stack for every record from the TCP actor. */
  onRecord(b: Uint8Array, off: number, len: number): void {
    const r = decodeTcpAppRecord(b, off, len, EV_MAX);
    if (r === null) return;
    try {
      switch (r.kind) {
        case EV_REPLY: {
          const fn = this.replies.get(r.req);
          if (fn) {
            this.replies.delete(r.req);
            fn(r.code, r.body);
          }
          return;
        }
        case EV_CONNECTION:
          this.servers.get(r.id)?._acceptAll();
          return;
        case EV_RESYNC:
          this.resync();
          return;
      }
      const s = this.sockets.get(r.id);
      if (!s) return;
      switch (r.kind) {
        case EV_ESTABLISHED:
          s._onEstablished();
          break;
        case EV_READABLE:
          s._pull();
          break;
        case EV_WRITABLE:
          s._continueWrite();
          break;
        case EV_PEER_CLOSED:
          s._onPeerClosed();
          break;
        case EV_RESET:
        case EV_TIMEOUT:
          s._onError(ERRNO_NAMES[r.code] ?? 'ECONNRESET');
          break;
        case EV_CLOSED:
          s._onClosed();
          break;
      }
    } catch (e) {
      // A user callback threw: surface it like Node would (an uncaught exception), but do not
      // leave the app ring's drain loop half done.
      process.nextTick(() => {
        throw e;
      });
    }
  }

  /** Re-checks every socket and listener: after a TCP actor restart (events in flight were
   *  lost) or an EV_RESYNC (events were dropped). */
  resync(): void {
    for (const s of [...this.sockets.values()]) s._resync();
    for (const srv of [...this.servers.values()]) srv._acceptAll();
  }

  /** Destroys every socket and server (Stack.stop). */
  closeAll(): void {
    for (const s of [...this.sockets.values()]) s.destroy();
    for (const srv of [...this.servers.values()]) srv.close();
    this.closed = true;
  }

  /** @internal */ ref(): void {
    this.host.appPort.ref();
  }
  /** @internal */ unref(): void {
    this.host.appPort.unref();
  }
}

function normalizeConnectArgs(args: unknown[]): [NetConnectOpts, (() => void) | undefined] {
  let cb: (() => void) | undefined;
  if (typeof args[args.length - 1] === 'function') cb = args.pop() as () => void;
  const a0 = args[0];
  if (a0 !== null && typeof a0 === 'object') return [{ ...(a0 as NetConnectOpts) }, cb];
  if (typeof a0 === 'string' && isNaN(Number(a0))) {
    throw nodeError('ERR_INVALID_ARG_VALUE', 'IPC paths are not supported by Salamander', TypeError);
  }
  return [{ port: a0 as number, host: typeof args[1] === 'string' ? (args[1] as string) : undefined }, cb];
}

// ------------------------------------------------------------------------------ Socket

export class Socket extends Duplex {
  /** Connection id in the TCP actor (0 = none). */
  private id = 0;
  private streams: { send: ByteStream; recv: ByteStream; gen: number } | null = null;
  connecting = false;
  private established = false;
  private peerClosed = false;
  private readEnded = false;
  private wantRead = false;
  private pendingWrite: { chunk: Buffer; off: number; cb: (e?: Error | null) => void } | null = null;
  private pendingFinal: ((e?: Error | null) => void) | null = null;
  private abortOnDestroy = false;
  private holdsRef = false;
  private refd = true;
  private opts: { noDelay?: boolean; keepAlive?: boolean; keepAliveInitialDelay?: number };
  private timeoutMs = 0;
  private timer: NodeJS.Timeout | null = null;
  private lastActivity = 0;
  private _bytesWritten = 0;
  bytesRead = 0;
  remoteAddress?: string;
  remotePort?: number;
  remoteFamily?: 'IPv4' | 'IPv6';
  localAddress?: string;
  localPort?: number;
  /** The Server that accepted this socket (null for client sockets). */
  server: Server | null = null;
  /** @internal */ _server: Server | null = null;

  constructor(private readonly api: NetApi, options: SocketOptions = {}) {
    super({ allowHalfOpen: options.allowHalfOpen ?? false, emitClose: true, autoDestroy: true, decodeStrings: true, signal: options.signal });
    this.opts = { noDelay: options.noDelay, keepAlive: options.keepAlive, keepAliveInitialDelay: options.keepAliveInitialDelay };
  }

  // ---- properties like Node's

  get bytesWritten(): number {
    return this._bytesWritten + (this.pendingWrite ? this.pendingWrite.chunk.length - this.pendingWrite.off : 0);
  }
  get pending(): boolean {
    return !this.established;
  }
  get readyState(): 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed' {
    if (this.connecting) return 'opening';
    if (this.readable && this.writable) return 'open';
    if (this.readable && !this.writable) return 'readOnly';
    if (!this.readable && this.writable) return 'writeOnly';
    return 'closed';
  }
  get timeout(): number | undefined {
    return this.timeoutMs || undefined;
  }
  get bufferSize(): number {
    return this.writableLength;
  }

  address(): AddressInfo | Record<string, never> {
    if (!this.localAddress) return {};
    return { address: this.localAddress, family: familyName(this.localAddress), port: this.localPort ?? 0 };
  }

  // ---- connect

  connect(...args: unknown[]): this {
    const [opts, cb] = normalizeConnectArgs(args);
    if (this.connecting || this.id) throw nodeError('ERR_SOCKET_CONNECTION_ALREADY_OPEN', 'Socket is already open'); // eslint-disable-line
    const port = validatePort(opts.port, false);
    const host = opts.host ?? 'localhost';
    if (opts.localPort !== undefined) validatePort(opts.localPort);
    if (opts.localAddress !== undefined && !isIP(opts.localAddress)) throw nodeError('ERR_INVALID_IP_ADDRESS', `Invalid IP address: ${opts.localAddress}`, TypeError);
    if (opts.noDelay !== undefined) this.opts.noDelay = opts.noDelay;
    if (opts.keepAlive !== undefined) this.opts.keepAlive = opts.keepAlive;
    if (opts.keepAliveInitialDelay !== undefined) this.opts.keepAliveInitialDelay = opts.keepAliveInitialDelay;
    if (opts.timeout) this.setTimeout(opts.timeout);
    if (cb) this.once('connect', cb);
    this.connecting = true;
    this.takeRef();
    const lookup = opts.lookup ?? defaultLookup;
    lookup(host, { family: opts.family }, (err, address, family) => {
      this.emit('lookup', err, address, family, host);
      if (this.destroyed) return;
      if (err) {
        this.connecting = false;
        this.destroy(err);
        return;
      }
      const body = {
        remote: address, port, local: opts.localAddress ?? null, localPort: opts.localPort ?? 0,
        options: this.connOptions(),
      };
      this.remoteAddress = address;
      this.remotePort = port;
      this.remoteFamily = familyName(address);
      this.api.request(REQ_CONNECT, 0, body, (code, rep) => {
        if (code !== 0) {
          this.connecting = false;
          this.destroy(netErrnoError(ERRNO_NAMES[code] ?? 'EINVAL', 'connect', address, port));
          return;
        }
        const r = rep as { id: number; local: string; localPort: number };
        if (this.destroyed) {
          this.api.request(REQ_ABORT, r.id);
          return;
        }
        this.attach(r.id);
        this.localAddress = r.local;
        this.localPort = r.localPort;
      });
    });
    return this;
  }

  private connOptions(): Record<string, unknown> {
    const o: Record<string, unknown> = {};
    if (this.opts.noDelay !== undefined) o.nodelay = this.opts.noDelay;
    if (this.opts.keepAlive !== undefined) o.keepAlive = this.opts.keepAlive;
    if (this.opts.keepAlive && this.opts.keepAliveInitialDelay) o.keepAliveIdle = this.opts.keepAliveInitialDelay;
    return o;
  }

  /** @internal Binds the socket to connection `id` (connect reply, or an accepted connection). */
  _attachAccepted(c: AcceptedConn, server: Server): void {
    this.server = server;
    this._server = server;
    this.remoteAddress = c.remote;
    this.remotePort = c.remotePort;
    this.remoteFamily = familyName(c.remote);
    this.localAddress = c.local;
    this.localPort = c.localPort;
    this.takeRef();
    this.attach(c.id);
    this.established = true;
    if (Object.keys(this.connOptions()).length > 0) this.api.request(REQ_SETOPT, this.id, this.connOptions());
  }

  /** @internal Applies a status read from the actor (accept or re-check after a restart). */
  _applyStatus(st: ConnStatus): void {
    if (!this.established && (st.state !== 'SYN-SENT' && st.state !== 'SYN-RECEIVED' && st.state !== 'CLOSED')) this._onEstablished();
    if (st.finRcvd) this._onPeerClosed();
    if (st.error) this._onError(st.error);
    else if (st.state === 'CLOSED' && !this.established) this._onError('ECONNREFUSED');
    this._pull();
    this._continueWrite();
  }

  private attach(id: number): void {
    this.id = id;
    this.api.sockets.set(id, this);
    this.streams = this.api.streamsOf(id);
  }

  private takeRef(): void {
    if (!this.holdsRef && this.refd) {
      this.holdsRef = true;
      this.api.ref();
    }
  }

  private dropRef(): void {
    if (this.holdsRef) {
      this.holdsRef = false;
      this.api.unref();
    }
  }

  ref(): this {
    this.refd = true;
    if (!this.destroyed && (this.connecting || this.id)) this.takeRef();
    return this;
  }

  unref(): this {
    this.refd = false;
    this.dropRef();
    return this;
  }

  /** The stream still belongs to our connection (the slot may have been reused after close). */
  private live(): boolean {
    if (!this.streams) this.streams = this.id ? this.api.streamsOf(this.id) : null;
    if (!this.streams) return false;
    if (this.streams.recv.gen() !== this.streams.gen) {
      this.streams = null;
      return false;
    }
    return true;
  }

  /** @internal */
  _onEstablished(): void {
    if (this.established || this.destroyed) return;
    this.established = true;
    this.connecting = false;
    this.touch();
    this.emit('connect');
    this.emit('ready');
    this._continueWrite();
    if (this.pendingFinal && !this.pendingWrite) this.doFinal();
    this._pull();
  }

  // ---- reading

  override _read(): void {
    this.wantRead = true;
    this._pull();
  }

  /** @internal Moves bytes from the receive stream into the Readable while it wants more. */
  _pull(): void {
    if (this.destroyed || this.readEnded || !this.established || !this.live()) return;
    const recv = this.streams!.recv;
    let moved = false;
    while (this.wantRead) {
      const n = recv.used();
      if (n === 0) break;
      const take = Math.min(n, READ_CHUNK);
      const buf = Buffer.allocUnsafe(take);
      const t = recv.tail();
      recv.copyOut(t, buf, 0, take);
      recv.release((t + take) >>> 0);
      this.bytesRead += take;
      moved = true;
      if (!this.push(buf)) this.wantRead = false;
    }
    if (moved) {
      this.touch();
      this.api.poke(this.id);
    }
    if (this.peerClosed && recv.used() === 0 && !this.readEnded) {
      this.readEnded = true;
      this.push(null);
    }
  }

  /** @internal */
  _onPeerClosed(): void {
    if (this.peerClosed) return;
    this.peerClosed = true;
    this._pull();
  }

  // ---- writing

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.pendingWrite = { chunk, off: 0, cb };
    this._continueWrite();
  }

  /** @internal Copies as much of the pending chunk as fits; the rest waits for EV_WRITABLE. */
  _continueWrite(): void {
    const p = this.pendingWrite;
    if (!p || !this.established || this.destroyed) return;
    if (!this.live()) return;
    // Write until the chunk is in or a write finds no room right after our own publish: then
    // the TCP actor, releasing acknowledged bytes, is bound to see our HEAD and send WRITABLE
    // (core.ts processAck re-reads HEAD after its release).
    let moved = 0;
    for (;;) {
      const n = this.streams!.send.write(p.chunk, p.off, p.chunk.length - p.off);
      if (n === 0) break;
      p.off += n;
      moved += n;
      if (p.off === p.chunk.length) break;
    }
    if (moved > 0) {
      this._bytesWritten += moved;
      this.touch();
      this.api.poke(this.id);
    }
    if (p.off === p.chunk.length) {
      this.pendingWrite = null;
      p.cb();
      if (this.pendingFinal && !this.pendingWrite) this.doFinal();
    }
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.pendingFinal = cb;
    if (this.established) this.doFinal();
  }

  private doFinal(): void {
    const cb = this.pendingFinal;
    this.pendingFinal = null;
    if (!cb) return;
    if (this.id) this.api.request(REQ_SHUTDOWN, this.id);
    cb();
  }

  // ---- errors and closing

  /** @internal The connection was reset or timed out (or refused while connecting). */
  _onError(code: string): void {
    if (this.destroyed) return;
    let syscall = this.established ? 'read' : 'connect';
    if (code === 'ECONNRESET' && this.peerClosed && this.established) {
      // The peer had closed and answered our later bytes with a RST: Linux reports that to the
      // writer as EPIPE (write(2) after the connection is gone).
      code = 'EPIPE';
      syscall = 'write';
    }
    const e = this.established ? netErrnoError(code, syscall) : netErrnoError(code, syscall, this.remoteAddress, this.remotePort);
    this.connecting = false;
    this.destroy(e);
  }

  /** @internal The connection is over in the actor. */
  _onClosed(): void {
    if (!this.established) this._onError('ECONNREFUSED');
  }

  /** @internal After a TCP actor restart: re-read the status and the streams. */
  _resync(): void {
    if (!this.id || this.destroyed) return;
    const id = this.id;
    this.api.request(REQ_STATUS, id, undefined, (code, body) => {
      if (this.id !== id || this.destroyed) return;
      if (code !== 0) this._onError('ECONNRESET');
      else this._applyStatus(body as ConnStatus);
    });
    this.api.poke(id);
  }

  /** Node 18.3+: closes with a RST. */
  resetAndDestroy(): this {
    this.abortOnDestroy = true;
    this.destroy();
    return this;
  }

  override _destroy(err: Error | null, cb: (e: Error | null) => void): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.connecting = false;
    this.dropRef();
    if (this.id) {
      this.api.sockets.delete(this.id);
      // After a reset the TCB is CLOSED and close() frees it; otherwise close() is graceful
      // (a FIN after the queued bytes; a RST if received bytes are unread, RFC 1122 4.2.2.13).
      this.api.request(this.abortOnDestroy ? REQ_ABORT : REQ_CLOSE, this.id);
      this.id = 0;
    }
    this.streams = null;
    const srv = this.server;
    if (srv) srv._removeConnection(this);
    cb(err);
  }

  // ---- options and timeouts

  setNoDelay(noDelay = true): this {
    this.opts.noDelay = noDelay;
    if (this.id) this.api.request(REQ_SETOPT, this.id, { nodelay: noDelay });
    return this;
  }

  setKeepAlive(enable = false, initialDelay = 0): this {
    this.opts.keepAlive = enable;
    if (initialDelay > 0) this.opts.keepAliveInitialDelay = initialDelay;
    if (this.id) this.api.request(REQ_SETOPT, this.id, this.connOptions());
    return this;
  }

  /** Emits 'timeout' after `ms` of inactivity (no bytes read or written), as Node does; the
   *  socket stays open. 0 disables. */
  setTimeout(ms: number, cb?: () => void): this {
    if (typeof ms !== 'number' || !(ms >= 0)) throw nodeError('ERR_OUT_OF_RANGE', `The value of "timeout" is out of range. Received ${String(ms)}`, RangeError);
    this.timeoutMs = ms;
    if (cb) {
      if (ms === 0) this.off('timeout', cb);
      else this.once('timeout', cb);
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.lastActivity = Date.now();
    if (ms > 0 && !this.destroyed) this.armTimer(ms);
    return this;
  }

  private armTimer(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.destroyed || this.timeoutMs === 0) return;
      const idle = Date.now() - this.lastActivity;
      if (idle + 1 >= this.timeoutMs) this.emit('timeout');
      else this.armTimer(this.timeoutMs - idle);
    }, ms);
    this.timer.unref();
  }

  private touch(): void {
    if (this.timeoutMs === 0) return;
    this.lastActivity = Date.now();
    if (!this.timer && !this.destroyed) this.armTimer(this.timeoutMs);
  }
}

// ------------------------------------------------------------------------------ Server

export class Server extends EventEmitter {
  private id = 0;
  listening = false;
  maxConnections?: number;
  private readonly conns = new Set<Socket>();
  private bound: AddressInfo | null = null;
  private closing = false;
  private holdsRef = false;
  private refd = true;
  private readonly opts: ServerOpts;

  constructor(private readonly api: NetApi, options?: ServerOpts | ((s: Socket) => void), connectionListener?: (s: Socket) => void) {
    super();
    if (typeof options === 'function') {
      connectionListener = options;
      options = {};
    }
    this.opts = { ...(options ?? {}) };
    if (connectionListener) this.on('connection', connectionListener);
  }

  /** listen(port[, host][, backlog][, cb]) | listen({port, host, backlog}[, cb]) | listen([cb]) */
  listen(...args: unknown[]): this {
    let cb: (() => void) | undefined;
    if (typeof args[args.length - 1] === 'function') cb = args.pop() as () => void;
    let o: ListenOpts;
    if (args[0] !== null && typeof args[0] === 'object') o = { ...(args[0] as ListenOpts) };
    else o = { port: args[0] as number, host: typeof args[1] === 'string' ? (args[1] as string) : undefined, backlog: typeof args[1] === 'number' ? (args[1] as number) : (args[2] as number) };
    if (this.listening || this.id) throw nodeError('ERR_SERVER_ALREADY_LISTEN', 'Listen method has been called more than once without closing.');
    const port = o.port === undefined || o.port === null ? 0 : validatePort(o.port);
    const backlog = typeof o.backlog === 'number' && o.backlog > 0 ? o.backlog : 511;
    if (cb) this.once('listening', cb);
    this.closing = false;
    const fail = (e: Error): void => {
      this.dropRef();
      this.emit('error', e);
    };
    this.takeRef();
    const host = o.host;
    const go = (addr: string | null): void => {
      const shown = addr ?? '0.0.0.0';
      let tries = port === 0 ? 64 : 1;
      const attempt = (): void => {
        const p = port === 0 ? 49152 + Math.floor(Math.random() * 16384) : port;
        this.api.request(REQ_LISTEN, 0, { addr, port: p, backlog }, (code, rep) => {
          if (code !== 0) {
            const name = ERRNO_NAMES[code] ?? 'EINVAL';
            if (name === 'EADDRINUSE' && --tries > 0) return attempt();
            return fail(netErrnoError(name, 'listen', shown, p));
          }
          const id = (rep as { id: number }).id;
          if (this.closing) {
            this.api.request(REQ_CLOSE, id);
            this.dropRef();
            return;
          }
          this.id = id;
          this.api.servers.set(id, this);
          this.bound = { address: shown, family: familyName(shown), port: p };
          this.listening = true;
          this.emit('listening');
          this._acceptAll(); // connections that raced the reply
        });
      };
      attempt();
    };
    if (host === undefined || host === null || host === '' || host === '0.0.0.0' || host === '::') go(null);
    else {
      defaultLookup(host, {}, (err, address) => {
        if (err) return fail(err);
        go(address);
      });
    }
    return this;
  }

  /** @internal Accepts every waiting connection of this listener. */
  _acceptAll(): void {
    if (!this.id || !this.listening) return;
    this.api.request(REQ_ACCEPT, this.id, undefined, (code, body) => {
      if (code !== 0) return;
      for (const c of body as AcceptedConn[]) {
        const s = new Socket(this.api, {
          allowHalfOpen: this.opts.allowHalfOpen, noDelay: this.opts.noDelay, keepAlive: this.opts.keepAlive,
          keepAliveInitialDelay: this.opts.keepAliveInitialDelay,
        });
        s._attachAccepted(c, this);
        if (this.maxConnections !== undefined && this.conns.size >= this.maxConnections) {
          this.emit('drop', { localAddress: c.local, localPort: c.localPort, remoteAddress: c.remote, remotePort: c.remotePort, remoteFamily: familyName(c.remote) });
          s.destroy();
          continue;
        }
        this.conns.add(s);
        if (this.opts.pauseOnConnect) s.pause();
        this.emit('connection', s);
        s._applyStatus(c.status);
      }
    });
  }

  /** @internal */
  _removeConnection(s: Socket): void {
    if (this.conns.delete(s)) this.maybeClosed();
  }

  private maybeClosed(): void {
    if (this.closing && !this.listening && this.conns.size === 0) {
      this.closing = false;
      process.nextTick(() => this.emit('close'));
    }
  }

  /** Stops accepting; 'close' (and cb) once every connection has ended, as in Node. */
  close(cb?: (err?: Error) => void): this {
    if (!this.listening) {
      if (cb) process.nextTick(() => cb(nodeError('ERR_SERVER_NOT_RUNNING', 'Server is not running.')));
      return this;
    }
    if (cb) this.once('close', () => cb());
    this.listening = false;
    this.closing = true;
    if (this.id) {
      this.api.servers.delete(this.id);
      this.api.request(REQ_CLOSE, this.id);
      this.id = 0;
    }
    this.dropRef();
    this.maybeClosed();
    return this;
  }

  address(): AddressInfo | null {
    return this.listening ? this.bound : null;
  }

  getConnections(cb: (err: Error | null, count: number) => void): this {
    const n = this.conns.size;
    process.nextTick(() => cb(null, n));
    return this;
  }

  get connections(): number {
    return this.conns.size;
  }

  private takeRef(): void {
    if (!this.holdsRef && this.refd) {
      this.holdsRef = true;
      this.api.ref();
    }
  }

  private dropRef(): void {
    if (this.holdsRef) {
      this.holdsRef = false;
      this.api.unref();
    }
  }

  ref(): this {
    this.refd = true;
    if (this.listening) this.takeRef();
    return this;
  }

  unref(): this {
    this.refd = false;
    this.dropRef();
    return this;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return new Promise((resolve) => this.close(() => resolve()));
  }
}

void EV_CLOSED;

// ------------------------------------------------------------------------------ Stack config

/** `StackConfig.tcp`: sizes of the TCP actor's shared regions and TcpConfig overrides. */
export interface StackTcpConfig {
  /** Connection table slots (listeners, connections, TIME-WAIT). Default 1024. */
  maxConns?: number;
  /** Per-connection send stream bytes (a power of two >= 4096). Default 64 KiB. */
  sendBufBytes?: number;
  /** Per-connection receive stream bytes (a power of two >= 4096). Default 64 KiB. */
  recvBufBytes?: number;
  /** TcpConfig overrides (actors/tcp/types.ts), e.g. { msl: 1000, congestion: 'newreno' }. */
  options?: Partial<TcpConfig>;
  /** Resilience (docs/resilience.md): how long a connection whose local address was removed
   *  waits for it to come back before failing with EADDRNOTAVAIL (ms). Default 30000. */
  addressGraceMs?: number;
}

export const TCP_STACK_DEFAULTS = { maxConns: 1024, sendBufBytes: 1 << 16, recvBufBytes: 1 << 16 };

function resolvedSizes(c: StackTcpConfig): TcpSharedOptions {
  return {
    maxConns: c.maxConns ?? TCP_STACK_DEFAULTS.maxConns,
    sendBufBytes: c.sendBufBytes ?? TCP_STACK_DEFAULTS.sendBufBytes,
    recvBufBytes: c.recvBufBytes ?? TCP_STACK_DEFAULTS.recvBufBytes,
  };
}

/** ActorSpec.shared sizes of the TCP role (throws RangeError on bad sizes). */
export function tcpSharedSizes(c: StackTcpConfig): { tcbs: number; tcpStreams: number } {
  return tcpSharedBytes(resolvedSizes(c));
}

/** The TCP actor's config (actors/tcp/actor.ts TcpActorConfig). */
export function tcpActorConfig(c: StackTcpConfig, addresses: string[]): Record<string, unknown> {
  const grace = c.addressGraceMs === undefined ? {} : { addressGraceMs: c.addressGraceMs }; // resilience
  return { ...(c.options ?? {}), ...resolvedSizes(c), ...grace, addresses };
}
