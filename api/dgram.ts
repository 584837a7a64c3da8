// A `dgram`-compatible API over the UDP actor, on the main thread: `stack.dgram.createSocket()`
// returns a Socket that behaves like Node's dgram.Socket (same methods, events, argument forms
// and error codes), so code written for `node:dgram` runs over Salamander unchanged. Every
// operation is a record on the app ring to the UDP actor (actors/udp/app-records.ts); replies,
// datagrams and errors come back on the other ring and are dispatched here by socket id.
//
// Differences from Node (see docs/udp.md): addresses must be IP literals or "localhost" (no DNS
// lookup); sockets are not dual-stack (an udp6 socket does not receive IPv4); send callbacks
// fire when the UDP actor has accepted the datagram (built it into the ring to IP), not when a
// NIC wrote it.

import EventEmitter from 'node:events';
import * as os from 'node:os';
import type { AppPort } from './appport';
import { parseIpv4, parseIpv6, formatIpv4, formatIpv6 } from '../protocol/address';
import {
  AppRecord, APP_HEADER_LEN, decodeAppRecord, emptyRecord, writeAppHeader, ERRNO_NAMES,
  REQ_BIND, REQ_CONNECT, REQ_DISCONNECT, REQ_SEND, REQ_SETOPT, REQ_ADD_MEMBERSHIP, REQ_DROP_MEMBERSHIP, REQ_CLOSE,
  REQF_REUSEADDR, REQF_CONNECTED, REQF_V6ONLY, EV_REPLY, EV_DATAGRAM, EV_ERROR, sealAppRecord, appRecordSealOk,
  OPT_BROADCAST, OPT_TTL, OPT_MULTICAST_TTL, OPT_MULTICAST_LOOP, OPT_RCVBUF,
} from '../actors/udp/app-records';
import { RecvAccounting } from '../actors/udp/table';

export type SocketType = 'udp4' | 'udp6';

export interface SocketOptions {
  type: SocketType;
  reuseAddr?: boolean;
  ipv6Only?: boolean;
  recvBufferSize?: number;
}

export interface BindOptions {
  port?: number;
  address?: string;
  exclusive?: boolean;
}

export interface RemoteInfo {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
  size: number;
}

export interface AddressInfo {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
}

type SendCallback = (error: Error | null, bytes?: number) => void;
type MsgInput = string | ArrayBufferView | ReadonlyArray<string | ArrayBufferView>;

// ------------------------------------------------------------------------------ errors

/** Node's internal errors (ERR_*): an Error, RangeError or TypeError with a stable `code`,
 *  printed as "RangeError [ERR_SOCKET_BAD_PORT]: ...". */
export type DgramError = Error & { code: string };

export function nodeError(code: string, message: string, Base: ErrorConstructor | RangeErrorConstructor | TypeErrorConstructor = Error): DgramError {
  const e = new Base(message) as DgramError;
  e.code = code;
  Object.defineProperty(e, 'toString', { value: () => `${e.name} [${code}]: ${e.message}`, enumerable: false });
  return e;
}

export interface ErrnoError extends Error {
  code: string;
  errno: number;
  syscall: string;
  address?: string;
  port?: number;
}

/** As Node's ErrnoException / ExceptionWithHostPort: "bind EADDRINUSE 0.0.0.0:5000". */
export function errnoError(code: string, syscall: string, address?: string, port?: number): ErrnoError {
  const errno = (os.constants.errno as Record<string, number>)[code];
  let where = '';
  if (address) where = port ? ` ${address}:${port}` : ` ${address}`;
  const e = new Error(`${syscall} ${code}${where}`) as ErrnoError;
  e.code = code;
  e.errno = errno === undefined ? -1 : -errno;
  e.syscall = syscall;
  if (address) e.address = address;
  if (port) e.port = port;
  return e;
}

const notRunning = (): DgramError => nodeError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running');
const badPort = (name: string, port: unknown, allowZero: boolean): DgramError =>
  nodeError('ERR_SOCKET_BAD_PORT', `${name} should be ${allowZero ? '>=' : '>'} 0 and < 65536. Received ${typeof port === 'string' ? `type string ('${port}')` : String(port)}.`, RangeError);

/** Node's validatePort: a number or numeric string in range. */
function validatePort(port: unknown, name: string, allowZero: boolean): number {
  const ok = (typeof port === 'number' || (typeof port === 'string' && port.trim().length > 0)) &&
    +(port as number) === +(port as number) >>> 0 && +(port as number) <= 0xffff && (allowZero || +(port as number) !== 0);
  if (!ok) throw badPort(name, port, allowZero);
  return +(port as number) | 0;
}

// ------------------------------------------------------------------------------ addresses

interface Resolved {
  family: 4 | 6;
  bytes: Uint8Array;
  text: string;
}

function resolve(address: string, family: 4 | 6): Resolved | null {
  const a = address === 'localhost' ? (family === 4 ? '127.0.0.1' : '::1') : address;
  if (family === 4) {
    const v = parseIpv4(a);
    if (v === null) return null;
    const b = new Uint8Array(16);
    b[0] = v >>> 24; b[1] = v >>> 16; b[2] = v >>> 8; b[3] = v;
    return { family, bytes: b, text: formatIpv4(v) };
  }
  const v = parseIpv6(a);
  if (v === null) return null;
  return { family, bytes: Uint8Array.from(v), text: formatIpv6(v) };
}

function format(family: number, b: Uint8Array): string {
  if (family === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  return formatIpv6(b.subarray(0, 16));
}

function toBuffer(m: string | ArrayBufferView): Buffer {
  if (typeof m === 'string') return Buffer.from(m);
  if (ArrayBuffer.isView(m)) return Buffer.from(m.buffer, m.byteOffset, m.byteLength);
  throw nodeError('ERR_INVALID_ARG_TYPE', `The "buffer" argument must be of type string or an instance of Buffer, TypedArray, or DataView. Received ${typeof m}`, TypeError);
}

// ------------------------------------------------------------------------------ the API

/** `stack.dgram`: creates sockets and dispatches the UDP actor's records to them. */
export class DgramApi {
  private readonly sockets = new Map<number, Socket>();
  private readonly pending = new Map<number, (r: AppRecord) => void>();
  private nextSock = 1;
  private nextReq = 1;
  private readonly outq: Uint8Array[] = [];
  private flushing = false;
  private attached = false;
  private stopped = false;
  private acct: RecvAccounting | null = null;
  private readonly rec = emptyRecord();
  /** Records the app dropped: malformed events, events for unknown sockets. */
  readonly stats = { malformed: 0, unknownSocket: 0, datagrams: 0, /** Datagrams whose record seal did not match (damaged in the ring): dropped. */ sealBroken: 0 };

  /** `region` returns the UDP actor's shared region (receive accounting), once it exists. */
  constructor(readonly port: AppPort, private readonly region: () => SharedArrayBuffer | undefined, readonly actor = 'udp') {}

  createSocket(type: SocketType | SocketOptions, listener?: (msg: Buffer, rinfo: RemoteInfo) => void): Socket {
    const opts: SocketOptions = typeof type === 'string' ? { type } : { ...type };
    if (opts.type !== 'udp4' && opts.type !== 'udp6') {
      throw nodeError('ERR_SOCKET_BAD_TYPE', 'Bad socket type specified. Valid types are: udp4, udp6', TypeError);
    }
    const id = this.nextSock;
    this.nextSock = (this.nextSock % 0xfffffffe) + 1;
    const s = new Socket(this, id, opts);
    this.sockets.set(id, s);
    if (listener) s.on('message', listener);
    return s;
  }

  /** The AppPort is connected to the actor: start sending. */
  attach(): void {
    this.attached = true;
    void this.flush();
  }

  /** @internal */
  submit(r: Partial<AppRecord> & { kind: number; sock: number }, payload?: Uint8Array, onReply?: (r: AppRecord) => void): void {
    const full = { ...emptyRecord(), ...r };
    if (onReply) {
      full.req = this.nextReq;
      this.nextReq = (this.nextReq % 0xfffffffe) + 1;
      this.pending.set(full.req, onReply);
    }
    const b = new Uint8Array(APP_HEADER_LEN + (payload?.length ?? 0));
    writeAppHeader(full, b, 0);
    if (payload) b.set(payload, APP_HEADER_LEN);
    if (full.kind === REQ_SEND) sealAppRecord(b, 0, b.length, 'request');
    if (this.stopped) return;
    if (this.attached && this.outq.length === 0 && this.port.trySend(this.actor, b)) return;
    this.outq.push(b);
    void this.flush();
  }

  private async flush(): Promise<void> {
    if (this.flushing || !this.attached) return;
    this.flushing = true;
    try {
      while (this.outq.length > 0 && !this.stopped) {
        // Waits for ring space without blocking the event loop (a busy or restarting actor).
        if (await this.port.send(this.actor, this.outq[0], 30000)) this.outq.shift();
      }
    } finally {
      this.flushing = false;
    }
  }

  /** @internal */
  forget(id: number): void {
    this.sockets.delete(id);
  }

  /** The AppPort handler for records from the UDP actor. */
  onRecord(b: Uint8Array, off: number, len: number): void {
    const r = this.rec;
    if (decodeAppRecord(b, off, len, 'event', r) !== null) {
      this.stats.malformed++;
      return;
    }
    if (r.kind === EV_DATAGRAM) {
      // Every datagram taken out of the ring gives its bytes back to the slot's receive budget,
      // whether or not its socket still exists (table.ts RecvAccounting).
      this.accounting()?.consumed(r.value, len);
      this.stats.datagrams++;
      if (!appRecordSealOk(b, off, len, 'event')) {
        // Damaged in the ring after the UDP actor checked its checksum: dropped, not delivered.
        this.stats.sealBroken++;
        return;
      }
    }
    const s = this.sockets.get(r.sock);
    if (r.kind === EV_REPLY) {
      const cb = r.req !== 0 ? this.pending.get(r.req) : undefined;
      if (cb) {
        this.pending.delete(r.req);
        this.safely(() => cb(r));
      } else if (r.req === 0 && r.code !== 0 && s) {
        // An error for a send that asked for no reply: Node emits it on the socket.
        const addr = format(r.family || s.family, r.addr);
        this.safely(() => s.fail(errnoError(ERRNO_NAMES[r.code] ?? 'EINVAL', 'send', addr, r.port)));
      }
      return;
    }
    if (!s) {
      this.stats.unknownSocket++;
      return;
    }
    if (r.kind === EV_DATAGRAM) {
      const msg = Buffer.from(b.subarray(r.payloadOff, r.payloadOff + r.payloadLen));
      const rinfo: RemoteInfo = { address: format(r.family, r.addr), family: r.family === 4 ? 'IPv4' : 'IPv6', port: r.port, size: r.payloadLen };
      this.safely(() => s.deliver(msg, rinfo));
    } else if (r.kind === EV_ERROR) {
      const e = errnoError(ERRNO_NAMES[r.code] ?? 'EPROTO', 'recvmsg');
      this.safely(() => s.fail(e));
    }
  }

  /** A user's handler throwing must not break the ring drain: rethrow it on its own tick, where
   *  it is an uncaught exception as it would be with Node's dgram. */
  private safely(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      process.nextTick(() => {
        throw e;
      });
    }
  }

  private accounting(): RecvAccounting | null {
    if (this.acct) return this.acct;
    const region = this.region();
    const sizes = region ? RecvAccounting.sizesOf(region) : null;
    if (region && sizes) this.acct = new RecvAccounting(region, sizes.maxSockets);
    return this.acct;
  }

  /** Closes every socket (stack.stop()): each emits 'close'. */
  closeAll(): void {
    for (const s of [...this.sockets.values()]) s.closeQuietly();
    this.stopped = true;
    this.outq.length = 0;
    this.pending.clear();
  }
}

type BindState = 'unbound' | 'binding' | 'bound';
type ConnectState = 'none' | 'connecting' | 'connected';

export class Socket extends EventEmitter {
  readonly type: SocketType;
  /** @internal */
  readonly family: 4 | 6;
  private bindState: BindState = 'unbound';
  private connectState: ConnectState = 'none';
  private closed = false;
  private local: AddressInfo | null = null;
  private remote: AddressInfo | null = null;
  /** Operations waiting for the bind (or connect) to finish, as Node's queue. */
  private queue: Array<() => void> = [];
  private afterConnect: Array<() => void> = [];
  private readonly memberships = new Set<string>();
  private wantRef = true;
  private holdsRef = false;
  private rcvbuf: number | undefined;
  /** The local address bind() got (connect() may narrow a wildcard; disconnect() restores it). */
  private boundAddr = '';

  constructor(private readonly api: DgramApi, readonly id: number, private readonly opts: SocketOptions) {
    super();
    this.type = opts.type;
    this.family = opts.type === 'udp4' ? 4 : 6;
    this.rcvbuf = opts.recvBufferSize;
  }

  private get fam(): 'IPv4' | 'IPv6' {
    return this.family === 4 ? 'IPv4' : 'IPv6';
  }

  private healthCheck(): void {
    if (this.closed) throw notRunning();
  }

  private updateRef(): void {
    const want = this.wantRef && !this.closed && this.bindState !== 'unbound';
    if (want && !this.holdsRef) this.api.port.ref();
    if (!want && this.holdsRef) this.api.port.unref();
    this.holdsRef = want;
  }

  // -------------------------------------------------------------------------- bind

  bind(port?: number | BindOptions | (() => void), address?: string | (() => void), callback?: () => void): this {
    this.healthCheck();
    if (this.bindState !== 'unbound') throw nodeError('ERR_SOCKET_ALREADY_BOUND', 'Socket is already bound');
    let p: unknown = port;
    let addr: unknown = address;
    let cb: unknown = callback;
    if (typeof p === 'function') {
      cb = p;
      p = 0;
      addr = undefined;
    } else if (p !== null && typeof p === 'object') {
      cb = address;
      addr = (p as BindOptions).address;
      p = (p as BindOptions).port ?? 0;
    }
    if (typeof addr === 'function') {
      cb = addr;
      addr = undefined;
    }
    if (p === undefined || p === null) p = 0;
    const portNum = validatePort(p, 'Port', true);
    if (typeof cb === 'function') this.once('listening', cb as () => void);
    const text = typeof addr === 'string' && addr !== '' ? addr : this.family === 4 ? '0.0.0.0' : '::';
    this.bindState = 'binding';
    this.updateRef();
    const res = resolve(text, this.family);
    if (!res) {
      this.bindState = 'unbound';
      this.updateRef();
      process.nextTick(() => this.fail(errnoError('ENOTFOUND', 'getaddrinfo', text)));
      return this;
    }
    let flags = this.opts.reuseAddr ? REQF_REUSEADDR : 0;
    if (this.family === 6 && this.opts.ipv6Only) flags |= REQF_V6ONLY;
    this.api.submit({ kind: REQ_BIND, sock: this.id, family: this.family, port: portNum, addr: res.bytes, flags }, undefined, (r) => {
      if (this.closed) return;
      if (r.code !== 0) {
        this.bindState = 'unbound';
        this.updateRef();
        this.queue = [];
        this.fail(errnoError(ERRNO_NAMES[r.code] ?? 'EINVAL', 'bind', res.text, portNum));
        return;
      }
      this.bindState = 'bound';
      this.local = { address: format(r.family, r.addr), family: this.fam, port: r.port };
      this.boundAddr = this.local.address;
      if (this.rcvbuf !== undefined) this.setopt(OPT_RCVBUF, this.rcvbuf);
      this.emit('listening');
      const q = this.queue;
      this.queue = [];
      for (const fn of q) fn();
    });
    return this;
  }

  /** Runs `fn` once bound, binding implicitly to port 0 as Node does. */
  private whenBound(fn: () => void): void {
    if (this.bindState === 'bound') return fn();
    if (this.bindState === 'unbound') this.bind({ port: 0 });
    this.queue.push(fn);
  }

  // -------------------------------------------------------------------------- connect

  connect(port: number, address?: string | (() => void), callback?: () => void): void {
    const portNum = validatePort(port, 'Port', false);
    let addr: unknown = address;
    let cb: unknown = callback;
    if (typeof addr === 'function') {
      cb = addr;
      addr = '';
    } else if (addr === undefined) addr = '';
    if (typeof addr !== 'string') throw nodeError('ERR_INVALID_ARG_TYPE', 'The "address" argument must be of type string', TypeError);
    this.healthCheck();
    if (this.connectState !== 'none') throw nodeError('ERR_SOCKET_DGRAM_IS_CONNECTED', 'Already connected');
    this.connectState = 'connecting';
    const text = addr || 'localhost';
    const done = (err: Error | null): void => {
      process.nextTick(() => {
        if (err) {
          if (typeof cb === 'function') (cb as (e: Error) => void)(err);
          else this.fail(err);
        } else {
          this.emit('connect');
        }
      });
    };
    if (typeof cb === 'function') this.once('connect', cb as () => void);
    this.whenBound(() => {
      const res = resolve(text, this.family);
      const failed = (e: Error): void => {
        this.connectState = 'none';
        if (typeof cb === 'function') this.removeListener('connect', cb as () => void);
        this.afterConnect = [];
        done(e);
      };
      if (!res) return failed(errnoError('ENOTFOUND', 'getaddrinfo', text));
      this.api.submit({ kind: REQ_CONNECT, sock: this.id, family: this.family, port: portNum, addr: res.bytes }, undefined, (r) => {
        if (this.closed) return;
        if (r.code !== 0) return failed(errnoError(ERRNO_NAMES[r.code] ?? 'EINVAL', 'connect', res.text, portNum));
        this.connectState = 'connected';
        this.remote = { address: res.text, family: this.fam, port: portNum };
        this.local = { address: format(r.family, r.addr), family: this.fam, port: r.port };
        done(null);
        const q = this.afterConnect;
        this.afterConnect = [];
        for (const fn of q) fn();
      });
    });
  }

  disconnect(): void {
    this.healthCheck();
    if (this.connectState !== 'connected') throw nodeError('ERR_SOCKET_DGRAM_NOT_CONNECTED', 'Not connected');
    this.connectState = 'none';
    this.remote = null;
    this.api.submit({ kind: REQ_DISCONNECT, sock: this.id });
    // A wildcard binding that connect() narrowed to a source address is wide again (as Linux).
    if (this.local) this.local = { ...this.local, address: this.boundAddr };
  }

  // -------------------------------------------------------------------------- send

  send(msg: MsgInput, port?: number | string, address?: string, callback?: SendCallback): void;
  send(msg: MsgInput, port?: number | string, callback?: SendCallback): void;
  send(msg: MsgInput, offset: number, length: number, port?: number | string, address?: string, callback?: SendCallback): void;
  send(msg: MsgInput, offset: number, length: number, port?: number | string, callback?: SendCallback): void;
  send(msg: MsgInput, offset: number, length: number, callback?: SendCallback): void;
  send(msg: MsgInput, callback?: SendCallback): void;
  send(msg: MsgInput, ...args: unknown[]): void {
    let list: MsgInput = msg;
    let offset: unknown = args[0];
    let length: unknown = args[1];
    let port: unknown = args[2];
    let address: unknown = args[3];
    let callback: unknown = args[4];
    // While connect() is in progress, a send without a port is taken as the connected form and
    // waits for the connection (Node would throw ERR_SOCKET_BAD_PORT).
    const unconnectedPort = args[3] || (args[2] && typeof args[2] !== 'function') ? args[2] : args[0];
    const connected = this.connectState === 'connected' ||
      (this.connectState === 'connecting' && typeof unconnectedPort !== 'number' && typeof unconnectedPort !== 'string');
    const slice = (m: MsgInput, o: unknown, l: unknown): MsgInput => {
      const b = typeof m === 'string' ? Buffer.from(m) : m;
      if (Array.isArray(b) || !ArrayBuffer.isView(b)) return b;
      const buf = toBuffer(b as ArrayBufferView);
      const off = (o as number) >>> 0;
      const len = (l as number) >>> 0;
      if (off > buf.length) throw nodeError('ERR_BUFFER_OUT_OF_BOUNDS', '"offset" is outside of buffer bounds', RangeError);
      if (len > buf.length - off) throw nodeError('ERR_BUFFER_OUT_OF_BOUNDS', '"length" is outside of buffer bounds', RangeError);
      return buf.subarray(off, off + len);
    };
    if (!connected) {
      if (address || (port && typeof port !== 'function')) list = slice(list, offset, length);
      else {
        callback = port;
        port = offset;
        address = length;
      }
    } else {
      if (typeof length === 'number') {
        list = slice(list, offset, length);
        if (typeof port === 'function') {
          callback = port;
          port = null;
        }
      } else {
        callback = offset;
        port = null;
        address = undefined;
      }
      if (port || address) throw nodeError('ERR_SOCKET_DGRAM_IS_CONNECTED', 'Already connected');
    }
    let parts: Buffer[];
    if (Array.isArray(list)) parts = list.map((m) => toBuffer(m as string | ArrayBufferView));
    else parts = [toBuffer(list as string | ArrayBufferView)];
    const payload = parts.length === 1 ? Uint8Array.from(parts[0]) : Uint8Array.from(Buffer.concat(parts));
    let portNum = 0;
    if (!connected) portNum = validatePort(port, 'Port', false);
    if (typeof callback !== 'function') callback = undefined;
    if (typeof address === 'function') {
      callback = address;
      address = undefined;
    } else if (address != null && typeof address !== 'string') {
      throw nodeError('ERR_INVALID_ARG_TYPE', 'The "address" argument must be of type string', TypeError);
    }
    this.healthCheck();
    const cb = callback as SendCallback | undefined;
    const go = (): void => {
      if (this.closed) return;
      if (connected) {
        this.api.submit({ kind: REQ_SEND, sock: this.id, family: this.family, flags: REQF_CONNECTED }, payload, cb ? (r) => this.sendDone(r, cb, this.remote?.address, this.remote?.port) : undefined);
        return;
      }
      const text = (address as string | undefined) || 'localhost';
      const res = resolve(text, this.family);
      if (!res) {
        const e = errnoError('ENOTFOUND', 'getaddrinfo', text);
        process.nextTick(() => (cb ? cb(e) : this.fail(e)));
        return;
      }
      this.api.submit({ kind: REQ_SEND, sock: this.id, family: this.family, port: portNum, addr: res.bytes }, payload, cb ? (r) => this.sendDone(r, cb, res.text, portNum) : undefined);
    };
    if (connected && this.connectState === 'connecting') {
      this.afterConnect.push(go);
      return;
    }
    this.whenBound(go);
  }

  private sendDone(r: AppRecord, cb: SendCallback, address: string | undefined, port: number | undefined): void {
    if (r.code !== 0) cb(errnoError(ERRNO_NAMES[r.code] ?? 'EINVAL', 'send', address, port));
    else cb(null, r.value);
  }

  // -------------------------------------------------------------------------- addresses

  address(): AddressInfo {
    this.healthCheck();
    if (this.bindState !== 'bound' || !this.local) throw errnoError('EBADF', 'getsockname');
    return { ...this.local };
  }

  remoteAddress(): AddressInfo {
    this.healthCheck();
    if (this.connectState !== 'connected' || !this.remote) throw nodeError('ERR_SOCKET_DGRAM_NOT_CONNECTED', 'Not connected');
    return { ...this.remote };
  }

  // -------------------------------------------------------------------------- options

  private setopt(opt: number, value: number): void {
    this.api.submit({ kind: REQ_SETOPT, sock: this.id, aux: opt, value }, undefined, (r) => {
      if (r.code !== 0 && !this.closed) this.fail(errnoError(ERRNO_NAMES[r.code] ?? 'EINVAL', 'setsockopt'));
    });
  }

  /** Options need a bound socket, as with Node (EBADF otherwise). */
  private boundForOption(syscall: string): void {
    this.healthCheck();
    if (this.bindState !== 'bound') throw errnoError('EBADF', syscall);
  }

  setBroadcast(flag: boolean): void {
    this.boundForOption('setBroadcast');
    this.setopt(OPT_BROADCAST, flag ? 1 : 0);
  }

  setTTL(ttl: number): number {
    if (typeof ttl !== 'number') throw nodeError('ERR_INVALID_ARG_TYPE', 'The "ttl" argument must be of type number', TypeError);
    this.boundForOption('setTTL');
    if (!(Number.isInteger(ttl) && ttl >= 1 && ttl <= 255)) throw errnoError('EINVAL', 'setTTL');
    this.setopt(OPT_TTL, ttl);
    return ttl;
  }

  setMulticastTTL(ttl: number): number {
    if (typeof ttl !== 'number') throw nodeError('ERR_INVALID_ARG_TYPE', 'The "ttl" argument must be of type number', TypeError);
    this.boundForOption('setMulticastTTL');
    if (!(Number.isInteger(ttl) && ttl >= 0 && ttl <= 255)) throw errnoError('EINVAL', 'setMulticastTTL');
    this.setopt(OPT_MULTICAST_TTL, ttl);
    return ttl;
  }

  setMulticastLoopback(flag: boolean): boolean {
    this.boundForOption('setMulticastLoopback');
    this.setopt(OPT_MULTICAST_LOOP, flag ? 1 : 0);
    return flag;
  }

  setRecvBufferSize(size: number): void {
    if (!(Number.isInteger(size) && size >= 0 && size <= 0x7fffffff)) throw nodeError('ERR_SOCKET_BUFFER_SIZE', 'Could not get or set buffer size', Error);
    this.healthCheck();
    this.rcvbuf = size;
    if (this.bindState === 'bound') this.setopt(OPT_RCVBUF, size);
  }

  getRecvBufferSize(): number {
    this.healthCheck();
    return this.rcvbuf ?? 212992;
  }

  // -------------------------------------------------------------------------- multicast

  private membershipKey(group: string, iface: string | undefined): { key: string; g: Resolved; i: Uint8Array } {
    const g = resolve(group, this.family);
    if (!g) throw errnoError('EINVAL', 'addMembership');
    const i = iface ? resolve(iface, this.family) : null;
    if (iface && !i) throw errnoError('EINVAL', 'addMembership');
    return { key: `${g.text}%${i?.text ?? ''}`, g, i: i?.bytes ?? new Uint8Array(16) };
  }

  /** Bookkeeping only: the socket receives the group's datagrams that reach the stack (the IP
   *  actor does not join groups with IGMP yet; see docs/udp.md). */
  addMembership(multicastAddress: string, interfaceAddress?: string): void {
    this.healthCheck();
    if (!multicastAddress) throw nodeError('ERR_MISSING_ARGS', 'The "multicastAddress" argument must be specified', TypeError);
    const { key, g, i } = this.membershipKey(multicastAddress, interfaceAddress);
    const first = this.family === 4 ? g.bytes[0] >>> 4 === 0xe : g.bytes[0] === 0xff;
    if (!first) throw errnoError('EINVAL', 'addMembership');
    if (this.memberships.has(key)) throw errnoError('EADDRINUSE', 'addMembership');
    this.memberships.add(key);
    this.whenBound(() => this.api.submit({ kind: REQ_ADD_MEMBERSHIP, sock: this.id, family: this.family, addr: g.bytes, addr2: i }, undefined, (r) => {
      if (r.code !== 0 && !this.closed) {
        this.memberships.delete(key);
        this.fail(errnoError(ERRNO_NAMES[r.code] ?? 'EINVAL', 'addMembership'));
      }
    }));
  }

  dropMembership(multicastAddress: string, interfaceAddress?: string): void {
    this.healthCheck();
    if (!multicastAddress) throw nodeError('ERR_MISSING_ARGS', 'The "multicastAddress" argument must be specified', TypeError);
    const { key, g, i } = this.membershipKey(multicastAddress, interfaceAddress);
    if (!this.memberships.delete(key)) throw errnoError('EADDRNOTAVAIL', 'dropMembership');
    this.whenBound(() => this.api.submit({ kind: REQ_DROP_MEMBERSHIP, sock: this.id, family: this.family, addr: g.bytes, addr2: i }));
  }

  // -------------------------------------------------------------------------- lifecycle

  close(callback?: () => void): this {
    this.healthCheck();
    if (typeof callback === 'function') this.once('close', callback);
    this.closeQuietly();
    return this;
  }

  /** @internal */
  closeQuietly(): void {
    if (this.closed) return;
    const wasUnbound = this.bindState === 'unbound';
    this.closed = true;
    this.queue = [];
    this.afterConnect = [];
    this.updateRef();
    if (!wasUnbound) this.api.submit({ kind: REQ_CLOSE, sock: this.id });
    this.api.forget(this.id);
    process.nextTick(() => this.emit('close'));
  }

  ref(): this {
    this.wantRef = true;
    this.updateRef();
    return this;
  }

  unref(): this {
    this.wantRef = false;
    this.updateRef();
    return this;
  }

  /** @internal */
  deliver(msg: Buffer, rinfo: RemoteInfo): void {
    if (!this.closed) this.emit('message', msg, rinfo);
  }

  /** @internal An error for the user: to 'error' listeners, thrown (uncaught) without any, as
   *  Node's EventEmitter does. */
  fail(e: Error): void {
    if (!this.closed) this.emit('error', e);
  }

  [Symbol.asyncDispose](): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((r) => this.close(() => r()));
  }
}
