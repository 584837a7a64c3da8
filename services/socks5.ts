// A SOCKS5 front (RFC 1928, with RFC 1929 username/password): it listens on the host (Node's
// `net`, normally on loopback) and carries CONNECT over an outbound `net`-like module and UDP
// ASSOCIATE over an outbound `dgram`-like module, e.g. Salamander's stack.net / stack.dgram.
//
// Supported: CONNECT to IPv4, IPv6 and domain names (resolved by the `lookup` option; without it
// only literal addresses and "localhost" -> 127.0.0.1 are accepted, anything else gets 0x04);
// UDP ASSOCIATE (RFC 1928 §7 header; fragments are dropped); methods 0x00 (no auth) and 0x02
// (RFC 1929, required whenever `auth` is set).
// Not supported: BIND (reply 0x07), GSSAPI, UDP fragmentation, TCP half-close (an end from either
// side ends the other), idle timeouts on established relays.

import { isIP, isIPv4, isIPv6 } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { ByteReader } from './reader';
import {
  bindDgram, closeDgram, closeServer, DgramLike, DgramSocketLike, listenServer, NetLike, ServiceError,
  SocketLike, track,
} from './types';

/** RFC 1928 §6 reply codes. */
export const SocksReply = {
  SUCCEEDED: 0x00,
  GENERAL_FAILURE: 0x01,
  NOT_ALLOWED: 0x02,
  NETWORK_UNREACHABLE: 0x03,
  HOST_UNREACHABLE: 0x04,
  CONNECTION_REFUSED: 0x05,
  TTL_EXPIRED: 0x06,
  COMMAND_NOT_SUPPORTED: 0x07,
  ADDRESS_TYPE_NOT_SUPPORTED: 0x08,
} as const;

const VERSION = 0x05;
const AUTH_VERSION = 0x01;
const METHOD_NONE = 0x00;
const METHOD_USERPASS = 0x02;
const METHOD_NO_ACCEPTABLE = 0xff;
const CMD_CONNECT = 0x01;
const CMD_BIND = 0x02;
const CMD_UDP_ASSOCIATE = 0x03;
const ATYP_IPV4 = 0x01;
const ATYP_DOMAIN = 0x03;
const ATYP_IPV6 = 0x04;
/** Greeting (257) + auth (513) + request (262), if a client pipelines them all. */
const HANDSHAKE_LIMIT = 2048;

export interface SocksOptions {
  /** Where to listen on the host. A non-loopback host requires `auth`. */
  listen: { host: string; port: number };
  /** The stack the proxied traffic goes out on. */
  outbound: { net: NetLike; dgram?: DgramLike };
  /** Require RFC 1929 username/password. */
  auth?: { user: string; pass: string };
  /** The host's `net` (for the listener). */
  hostNet: NetLike;
  /** The host's `dgram` (for UDP ASSOCIATE's client-facing socket). Without it, or without
   *  outbound.dgram, UDP ASSOCIATE gets 0x07. */
  hostDgram?: DgramLike;
  /** Resolve a domain name to an address literal. Default: literals and localhost only. */
  lookup?: (hostname: string) => Promise<string>;
  /** Time allowed from accept to a complete request. Default 10 s. */
  handshakeTimeoutMs?: number;
  /** Time allowed for the outbound connect. Default 15 s (then reply 0x06). */
  connectTimeoutMs?: number;
  /** Concurrent client connections; more are closed at once. Default 1024. */
  maxConnections?: number;
}

export interface SocksCounters {
  accepted: number;
  rejected: number;
  authFailures: number;
  connects: number;
  connectFailures: number;
  udpAssociations: number;
  udpRelayed: number;
  udpDropped: number;
  badRequests: number;
}

export interface SocksServer {
  readonly host: string;
  readonly port: number;
  readonly counters: SocksCounters;
  close(): Promise<void>;
}

/** Loopback: 127.0.0.0/8, ::1, ::ffff:127.x.x.x, "localhost". */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIPv4(v4) && v4.startsWith('127.');
}

/** The reply code for an error from the outbound stack or the resolver. */
export function replyForError(err: unknown): number {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return SocksReply.CONNECTION_REFUSED;
    case 'ENETUNREACH':
    case 'EHOSTUNREACH':
      return SocksReply.NETWORK_UNREACHABLE;
    case 'ENOTFOUND':
    case 'EAI_NONAME':
    case 'EAI_AGAIN':
    case 'EHOSTDOWN':
      return SocksReply.HOST_UNREACHABLE;
    case 'ETIMEDOUT':
      return SocksReply.TTL_EXPIRED;
    case 'EACCES':
    case 'EPERM':
      return SocksReply.NOT_ALLOWED;
    case 'EAFNOSUPPORT':
      return SocksReply.ADDRESS_TYPE_NOT_SUPPORTED;
    default:
      return SocksReply.GENERAL_FAILURE;
  }
}

// ---- addresses ----

/** 16 bytes of an IPv6 literal (zone dropped), or null. */
export function ipv6ToBytes(text: string): Buffer | null {
  const pct = text.indexOf('%');
  const s = pct >= 0 ? text.slice(0, pct) : text;
  if (!isIPv6(s)) return null;
  const groups = (part: string): number[] => {
    const out: number[] = [];
    if (part === '') return out;
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const [a, b, c, d] = g.split('.').map(Number);
        out.push((a << 8) | b, (c << 8) | d);
      } else {
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  const dbl = s.indexOf('::');
  const head = groups(dbl >= 0 ? s.slice(0, dbl) : s);
  const tail = dbl >= 0 ? groups(s.slice(dbl + 2)) : [];
  const words = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  const b = Buffer.alloc(16);
  words.forEach((w, i) => b.writeUInt16BE(w, i * 2));
  return b;
}

function bytesToIpv6(b: Buffer): string {
  const w: string[] = [];
  for (let i = 0; i < 16; i += 2) w.push(b.readUInt16BE(i).toString(16));
  return w.join(':');
}

/** ATYP + address + port, as in replies and UDP headers. */
export function encodeAddress(address: string, port: number): Buffer {
  if (isIPv4(address)) {
    return Buffer.from([ATYP_IPV4, ...address.split('.').map(Number), port >> 8, port & 0xff]);
  }
  const v6 = ipv6ToBytes(address);
  if (v6) return Buffer.concat([Buffer.from([ATYP_IPV6]), v6, Buffer.from([port >> 8, port & 0xff])]);
  const name = Buffer.from(address, 'utf8').subarray(0, 255);
  return Buffer.concat([Buffer.from([ATYP_DOMAIN, name.length]), name, Buffer.from([port >> 8, port & 0xff])]);
}

export type SocksAddress = { kind: 'ip'; host: string; port: number } | { kind: 'domain'; host: string; port: number };

/** Parse ATYP/address/port at `off` of a UDP request header. */
export function parseAddress(b: Buffer, off: number): { addr: SocksAddress; next: number } | { error: 'short' | 'atyp' } {
  if (b.length < off + 1) return { error: 'short' };
  const atyp = b[off];
  if (atyp === ATYP_IPV4) {
    if (b.length < off + 7) return { error: 'short' };
    const host = `${b[off + 1]}.${b[off + 2]}.${b[off + 3]}.${b[off + 4]}`;
    return { addr: { kind: 'ip', host, port: b.readUInt16BE(off + 5) }, next: off + 7 };
  }
  if (atyp === ATYP_IPV6) {
    if (b.length < off + 19) return { error: 'short' };
    return { addr: { kind: 'ip', host: bytesToIpv6(b.subarray(off + 1, off + 17)), port: b.readUInt16BE(off + 17) }, next: off + 19 };
  }
  if (atyp === ATYP_DOMAIN) {
    if (b.length < off + 2) return { error: 'short' };
    const len = b[off + 1];
    if (len === 0 || b.length < off + 2 + len + 2) return { error: 'short' };
    const host = b.subarray(off + 2, off + 2 + len).toString('utf8');
    return { addr: { kind: 'domain', host, port: b.readUInt16BE(off + 2 + len) }, next: off + 4 + len };
  }
  return { error: 'atyp' };
}

function reply(code: number, address = '0.0.0.0', port = 0): Buffer {
  return Buffer.concat([Buffer.from([VERSION, code, 0x00]), encodeAddress(address, port)]);
}

function equalSecret(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) {
    timingSafeEqual(a, a); // same work either way
    return false;
  }
  return timingSafeEqual(a, b);
}

/** Start the SOCKS5 server. Rejects (ERR_SOCKS_OPEN_PROXY) on a non-loopback listen without auth. */
export async function createSocksServer(opts: SocksOptions): Promise<SocksServer> {
  const { listen, outbound, auth } = opts;
  if (!auth && !isLoopbackHost(listen.host)) {
    throw new ServiceError(
      'ERR_SOCKS_OPEN_PROXY',
      `refusing to run an open SOCKS proxy on ${listen.host}: listen on a loopback address (127.0.0.1, ::1) or configure a username and password`,
    );
  }
  let user: Buffer | undefined;
  let pass: Buffer | undefined;
  if (auth) {
    user = Buffer.from(auth.user, 'utf8');
    pass = Buffer.from(auth.pass, 'utf8');
    if (user.length < 1 || user.length > 255 || pass.length < 1 || pass.length > 255) {
      throw new ServiceError('ERR_SOCKS_AUTH', 'SOCKS username and password must each be 1 to 255 bytes (RFC 1929)');
    }
  }
  const handshakeTimeoutMs = opts.handshakeTimeoutMs ?? 10_000;
  const connectTimeoutMs = opts.connectTimeoutMs ?? 15_000;
  const maxConnections = opts.maxConnections ?? 1024;
  const counters: SocksCounters = {
    accepted: 0, rejected: 0, authFailures: 0, connects: 0, connectFailures: 0, udpAssociations: 0,
    udpRelayed: 0, udpDropped: 0, badRequests: 0,
  };
  const clients = new Set<SocketLike>();
  const closers = new Set<() => void>();

  const resolve = async (a: SocksAddress): Promise<string> => {
    if (a.kind === 'ip' || isIP(a.host)) return a.host;
    if (opts.lookup) return opts.lookup(a.host);
    if (a.host.toLowerCase() === 'localhost') return '127.0.0.1';
    throw Object.assign(new Error(`cannot resolve ${a.host}: no resolver configured`), { code: 'ENOTFOUND' });
  };

  const fail = (s: SocketLike, code: number): void => {
    s.write(reply(code));
    s.end();
  };

  async function handshake(s: SocketLike): Promise<void> {
    const r = new ByteReader(s, HANDSHAKE_LIMIT);
    const timer = setTimeout(() => s.destroy(), handshakeTimeoutMs);
    s.once('close', () => clearTimeout(timer));
    try {
      // RFC 1928 §3: VER NMETHODS METHODS
      const [ver, nmethods] = await r.read(2);
      if (ver !== VERSION) {
        counters.badRequests++;
        s.write(Buffer.from([VERSION, METHOD_NO_ACCEPTABLE]));
        s.end();
        return;
      }
      const methods = nmethods > 0 ? await r.read(nmethods) : Buffer.alloc(0);
      const want = auth ? METHOD_USERPASS : METHOD_NONE;
      if (!methods.includes(want)) {
        // "If the selected METHOD is X'FF', ... the client MUST close the connection."
        if (auth) counters.authFailures++;
        s.write(Buffer.from([VERSION, METHOD_NO_ACCEPTABLE]));
        s.end();
        return;
      }
      s.write(Buffer.from([VERSION, want]));
      if (auth) {
        // RFC 1929 §2: VER ULEN UNAME PLEN PASSWD; "A STATUS field of X'00' indicates success.
        // If the server returns a failure ... it MUST close the connection."
        const [aver, ulen] = await r.read(2);
        const uname = await r.read(ulen);
        const [plen] = await r.read(1);
        const passwd = await r.read(plen);
        const ok = aver === AUTH_VERSION && equalSecret(uname, user!) && equalSecret(passwd, pass!);
        if (!ok) {
          counters.authFailures++;
          s.write(Buffer.from([AUTH_VERSION, 0x01]));
          s.end();
          return;
        }
        s.write(Buffer.from([AUTH_VERSION, 0x00]));
      }
      // RFC 1928 §4: VER CMD RSV ATYP DST.ADDR DST.PORT
      const [rver, cmd, , atyp] = await r.read(4);
      if (rver !== VERSION) {
        counters.badRequests++;
        fail(s, SocksReply.GENERAL_FAILURE);
        return;
      }
      let addrBytes: Buffer;
      if (atyp === ATYP_IPV4) addrBytes = await r.read(4);
      else if (atyp === ATYP_IPV6) addrBytes = await r.read(16);
      else if (atyp === ATYP_DOMAIN) {
        const [len] = await r.read(1);
        if (len === 0) {
          counters.badRequests++;
          fail(s, SocksReply.GENERAL_FAILURE);
          return;
        }
        addrBytes = Buffer.concat([Buffer.from([len]), await r.read(len)]);
      } else {
        counters.badRequests++;
        fail(s, SocksReply.ADDRESS_TYPE_NOT_SUPPORTED);
        return;
      }
      const portBytes = await r.read(2);
      const parsed = parseAddress(Buffer.concat([Buffer.from([atyp]), addrBytes, portBytes]), 0);
      if ('error' in parsed) {
        counters.badRequests++;
        fail(s, SocksReply.GENERAL_FAILURE);
        return;
      }
      s.pause();
      if (cmd === CMD_CONNECT) {
        await doConnect(s, r, parsed.addr, timer);
      } else if (cmd === CMD_UDP_ASSOCIATE) {
        await doUdpAssociate(s, r, parsed.addr, timer);
      } else {
        // BIND (and anything else): "X'07' Command not supported".
        counters.badRequests += cmd === CMD_BIND ? 0 : 1;
        s.resume();
        fail(s, SocksReply.COMMAND_NOT_SUPPORTED);
      }
    } catch {
      s.destroy();
    }
  }

  async function doConnect(s: SocketLike, r: ByteReader, dst: SocksAddress, timer: NodeJS.Timeout): Promise<void> {
    let host: string;
    try {
      host = await resolve(dst);
    } catch (err) {
      counters.connectFailures++;
      s.resume();
      fail(s, (err as { code?: string }).code ? replyForError(err) : SocksReply.HOST_UNREACHABLE);
      return;
    }
    if (s.destroyed) return;
    clearTimeout(timer);
    const out = outbound.net.connect({ host, port: dst.port });
    let settled = false;
    const connectTimer = setTimeout(() => {
      if (settled) return;
      settled = true;
      counters.connectFailures++;
      out.destroy();
      s.resume();
      fail(s, SocksReply.TTL_EXPIRED);
    }, connectTimeoutMs);
    s.once('close', () => {
      clearTimeout(connectTimer);
      if (!settled) out.destroy();
    });
    out.once('error', (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      counters.connectFailures++;
      s.resume();
      fail(s, replyForError(err));
    });
    out.once('connect', () => {
      if (settled) {
        out.destroy();
        return;
      }
      settled = true;
      clearTimeout(connectTimer);
      counters.connects++;
      if (s.destroyed) {
        out.destroy();
        return;
      }
      out.on('error', () => {});
      s.write(reply(SocksReply.SUCCEEDED, out.localAddress ?? '0.0.0.0', out.localPort ?? 0));
      const early = r.detach();
      if (early.length > 0) out.write(early);
      relay(s, out);
      relay(out, s);
      s.resume();
    });
  }

  async function doUdpAssociate(s: SocketLike, r: ByteReader, dst: SocksAddress, timer: NodeJS.Timeout): Promise<void> {
    if (!opts.hostDgram || !outbound.dgram) {
      s.resume();
      fail(s, SocksReply.COMMAND_NOT_SUPPORTED);
      return;
    }
    const hostDgram = opts.hostDgram;
    const outDgram = outbound.dgram;
    // RFC 1928 §7: "The UDP relay server MUST acquire from the SOCKS server the expected IP address
    // of the client that will send datagrams to the BND.PORT given in the reply to UDP ASSOCIATE.
    // It MUST drop any datagrams arriving from any source IP address other than the one recorded
    // for the particular association." The client's TCP address is that IP; a non-zero DST.PORT
    // in the request also pins the port.
    const clientIp = s.remoteAddress ?? '';
    const pinnedPort = dst.port;
    let clientPort = pinnedPort;
    const relaySock = hostDgram.createSocket(listen.host.includes(':') ? 'udp6' : 'udp4');
    let bound: number;
    try {
      bound = await bindDgram(relaySock, 0, listen.host);
    } catch {
      s.resume();
      fail(s, SocksReply.GENERAL_FAILURE);
      return;
    }
    relaySock.on('error', () => {});
    const outSocks: Partial<Record<'udp4' | 'udp6', Promise<DgramSocketLike>>> = {};
    const opened: DgramSocketLike[] = [];
    let closed = false;
    const outSocket = (family: 'udp4' | 'udp6'): Promise<DgramSocketLike> => {
      let p = outSocks[family];
      if (!p) {
        const u = outDgram.createSocket(family);
        opened.push(u);
        u.on('error', () => {});
        u.on('message', (msg: Buffer, rinfo: { address: string; port: number }) => {
          if (closed || clientPort === 0) return;
          counters.udpRelayed++;
          relaySock.send(Buffer.concat([Buffer.from([0, 0, 0]), encodeAddress(rinfo.address, rinfo.port), msg]), clientPort, clientIp);
        });
        p = bindDgram(u, 0, family === 'udp6' ? '::' : '0.0.0.0').then(() => u);
        outSocks[family] = p;
      }
      return p;
    };
    relaySock.on('message', (msg: Buffer, rinfo: { address: string; port: number }) => {
      if (closed) return;
      if (rinfo.address !== clientIp || (pinnedPort !== 0 && rinfo.port !== pinnedPort)) {
        counters.udpDropped++;
        return;
      }
      // +----+------+------+----------+----------+----------+
      // |RSV | FRAG | ATYP | DST.ADDR | DST.PORT |   DATA   |
      // "An implementation that does not support fragmentation MUST drop any datagram whose FRAG
      // field is other than X'00'."
      if (msg.length < 4 || msg[2] !== 0) {
        counters.udpDropped++;
        return;
      }
      const p = parseAddress(msg, 3);
      if ('error' in p) {
        counters.udpDropped++;
        return;
      }
      clientPort = rinfo.port;
      const data = msg.subarray(p.next);
      void resolve(p.addr)
        .then(async (host) => {
          const sock = await outSocket(isIPv6(host) ? 'udp6' : 'udp4');
          if (closed) return;
          counters.udpRelayed++;
          sock.send(data, p.addr.port, host);
        })
        .catch(() => counters.udpDropped++);
    });
    const close = (): void => {
      if (closed) return;
      closed = true;
      closers.delete(close);
      void closeDgram(relaySock);
      for (const u of opened) void closeDgram(u);
    };
    closers.add(close);
    s.once('close', close);
    clearTimeout(timer);
    counters.udpAssociations++;
    r.detach();
    // "A UDP association terminates when the TCP connection that the UDP ASSOCIATE request
    // arrived on terminates." Anything else on it is ignored.
    s.on('data', () => {});
    s.on('end', () => s.end());
    s.on('error', () => {});
    s.write(reply(SocksReply.SUCCEEDED, listen.host === 'localhost' ? '127.0.0.1' : listen.host, bound));
    s.resume();
  }

  const server = opts.hostNet.createServer((s) => {
    if (clients.size >= maxConnections) {
      counters.rejected++;
      s.on('error', () => {});
      s.destroy();
      return;
    }
    counters.accepted++;
    track(clients, s);
    void handshake(s);
  });
  const port = await listenServer(server, listen.port, listen.host);
  return {
    host: listen.host,
    port,
    counters,
    close: async () => {
      for (const c of [...closers]) c();
      await closeServer(server, clients);
    },
  };
}

/** One direction of a relay, with back-pressure. An abrupt close destroys the other side; an
 *  orderly end ends it (after its pending writes). */
function relay(from: SocketLike, to: SocketLike): void {
  let ended = false;
  from.on('data', (d: Uint8Array) => {
    if (!to.write(d)) {
      from.pause();
      to.once('drain', () => from.resume());
    }
  });
  from.on('end', () => {
    ended = true;
    to.end();
  });
  from.on('close', () => {
    if (!ended) to.destroy();
  });
}
