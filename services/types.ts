// The socket API the services are written against: the small subset of Node's `net` and `dgram`
// they use. Node's own modules satisfy these interfaces (the tests run on them), and so does
// Salamander's `stack.net` / `stack.dgram`; a service never reaches past them.

/** A connected stream socket (the part of `net.Socket` the services use). */
export interface SocketLike {
  on(event: string, listener: (...args: any[]) => void): this;
  once(event: string, listener: (...args: any[]) => void): this;
  removeListener(event: string, listener: (...args: any[]) => void): this;
  write(chunk: Uint8Array | string, cb?: (err?: Error | null) => void): boolean;
  end(cb?: () => void): this;
  destroy(error?: Error): this;
  pause(): this;
  resume(): this;
  setNoDelay?(noDelay?: boolean): this;
  readonly destroyed: boolean;
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  readonly localAddress?: string;
  readonly localPort?: number;
}

export interface AddressInfoLike {
  address: string;
  family: string;
  port: number;
}

/** A listening stream server (the part of `net.Server` the services use). */
export interface ServerLike {
  on(event: string, listener: (...args: any[]) => void): this;
  once(event: string, listener: (...args: any[]) => void): this;
  removeListener(event: string, listener: (...args: any[]) => void): this;
  listen(port: number, host: string, listeningListener?: () => void): this;
  address(): AddressInfoLike | string | null;
  close(cb?: (err?: Error) => void): this;
}

/** The `net`-like module a service is given. */
export interface NetLike {
  createServer(connectionListener?: (socket: SocketLike) => void): ServerLike;
  connect(options: { host: string; port: number }, connectListener?: () => void): SocketLike;
}

export interface RemoteInfoLike {
  address: string;
  family: string;
  port: number;
  size: number;
}

/** A datagram socket (the part of `dgram.Socket` the services use). */
export interface DgramSocketLike {
  on(event: string, listener: (...args: any[]) => void): this;
  once(event: string, listener: (...args: any[]) => void): this;
  removeListener(event: string, listener: (...args: any[]) => void): this;
  bind(port: number, address: string, callback?: () => void): this;
  send(msg: Uint8Array, port: number, address: string, callback?: (error: Error | null, bytes: number) => void): void;
  address(): AddressInfoLike;
  close(callback?: () => void): this;
  /** Optional (Node has it once bound): raise SO_RCVBUF for bursty receivers. */
  setRecvBufferSize?(size: number): void;
}

/** The `dgram`-like module a service is given. */
export interface DgramLike {
  createSocket(type: 'udp4' | 'udp6'): DgramSocketLike;
}

/** A running service; `close()` stops listening and ends every connection it owns. */
export interface RunningService {
  readonly name: string;
  /** The bound port (the real one when 0 was asked for). */
  readonly port: number;
  close(): Promise<void>;
}

/** What every service is given: the stack to listen on, and where. */
export interface ServiceContext {
  net: NetLike;
  dgram?: DgramLike;
  /** Address to listen on; default '0.0.0.0'. */
  host?: string;
}

/** An Error with a stable `code`, like Node's. */
export class ServiceError extends Error {
  constructor(public readonly code: string, message: string) {
    super(message);
    this.name = 'ServiceError';
  }
}

// ---- small helpers shared by the services ----

/** Listen a stream server and resolve with its bound port, or reject with the listen error. */
export function listenServer(server: ServerLike, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.removeListener('error', onError);
      const a = server.address();
      resolve(typeof a === 'object' && a !== null ? a.port : port);
    });
  });
}

/** Bind a datagram socket; resolves with the bound port. */
export function bindDgram(sock: DgramSocketLike, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    sock.once('error', onError);
    sock.bind(port, host, () => {
      sock.removeListener('error', onError);
      resolve(sock.address().port);
    });
  });
}

/** Close a stream server, destroying the connections it is tracking. */
export function closeServer(server: ServerLike, sockets: Set<SocketLike>): Promise<void> {
  return new Promise((resolve) => {
    for (const s of sockets) s.destroy();
    sockets.clear();
    server.close(() => resolve());
  });
}

export function closeDgram(sock: DgramSocketLike): Promise<void> {
  return new Promise((resolve) => {
    try {
      sock.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}

/** Track a socket in a set until it closes; errors are swallowed (the peer went away). */
export function track(sockets: Set<SocketLike>, s: SocketLike): void {
  sockets.add(s);
  s.on('error', () => {});
  s.on('close', () => sockets.delete(s));
}
