// The record protocol between the app (api/net.ts on the main thread) and the TCP actor, on the
// actor's `app` ports (api/appport.ts makes the ring pair). Every record starts with the same
// 16-byte header; the frequent records (POKE one way, READABLE / WRITABLE the other) are just
// that header. Rare records (LISTEN, CONNECT, SETOPT, ACCEPT, DUMP, and replies) carry a JSON
// body after it. Little-endian (both ends are the same process). The bytes of a connection
// never travel here: the app reads and writes the connection's byte streams in the shared
// region `tcpStreams` directly (layout.ts, stream.ts), checking the stream's GEN word.
//
//   off size field
//    0   1   kind   REQ_* (app -> tcp) or EV_* (tcp -> app)
//    1   1   code   EV_REPLY / EV_RESET / EV_TIMEOUT: ERRNO_* (0 = success)
//    2   2   aux    EV_REPLY: the REQ_* kind it answers
//    4   4   req    request id, echoed in EV_REPLY (0 = no reply wanted)
//    8   4   id     connection / listener id (TcpCore ids are < 2^31)
//   12   4   len    length of the JSON body that follows (0 = none)
//   16   .   body   UTF-8 JSON
//
// Every record is validated by its reader (decodeTcpAppRecord): the two ends are different
// threads and isolation between them is by discipline (design.md).

export const TCP_APP_HEADER_LEN = 16;
/** Largest JSON body accepted (bigger records are dropped and counted). */
export const TCP_APP_MAX_BODY = 1 << 20;

// ---- requests (app -> tcp)
/** body {addr: string|null, port, backlog}; reply body {id}. */
export const REQ_LISTEN = 1;
/** body {remote: string, port, local?: string, localPort?, options?: TcpConnOptions}; reply
 *  body {id, local, localPort}. The outcome of the handshake comes as EV_ESTABLISHED / EV_RESET /
 *  EV_TIMEOUT. */
export const REQ_CONNECT = 2;
/** id = listener: accepts every waiting connection; reply body [AcceptedConn...]. */
export const REQ_ACCEPT = 3;
/** Half-close (FIN after the queued bytes). */
export const REQ_SHUTDOWN = 4;
/** Graceful close (RST if received bytes are unread); the id is invalid afterwards. */
export const REQ_CLOSE = 5;
/** RST and free; the id is invalid afterwards. */
export const REQ_ABORT = 6;
/** body TcpConnOptions. */
export const REQ_SETOPT = 7;
/** The app moved a stream position of `id` (wrote into its send stream or read from its receive
 *  stream). No reply; header only. */
export const REQ_POKE = 8;
/** id: reply body ConnStatus (or code EBADF when the id is gone). For the app's re-check after a
 *  TCP actor restart. */
export const REQ_STATUS = 9;
export const REQ_MAX = 9;

// ---- events (tcp -> app)
export const EV_REPLY = 1;
/** A listener (id) has connections to accept. */
export const EV_CONNECTION = 2;
export const EV_ESTABLISHED = 3;
/** New bytes in the receive stream (one per in-order advance; the app ignores it while its
 *  Readable is full and pulls by itself when it resumes). */
export const EV_READABLE = 4;
/** Acknowledged bytes were freed from a send stream that was at least half full. */
export const EV_WRITABLE = 5;
/** The peer's FIN arrived (after the bytes in the stream). */
export const EV_PEER_CLOSED = 6;
/** code ECONNRESET / ECONNREFUSED / ECONNABORTED, or EHOSTUNREACH / ENETUNREACH when an ICMP
 *  error (or IP's own neighbour / route failure) ends a connection attempt. */
export const EV_RESET = 7;
/** code ERRNO_ETIMEDOUT. */
export const EV_TIMEOUT = 8;
export const EV_CLOSED = 9;
/** Events were dropped (the ring to the app was full): the app re-checks every socket. */
export const EV_RESYNC = 10;
export const EV_MAX = 10;

export const ERRNO_NAMES = [
  'OK', 'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'ECONNABORTED', 'EADDRINUSE', 'EADDRNOTAVAIL', 'EBADF',
  'EINVAL', 'ENOBUFS', 'ENOTCONN', 'EISCONN', 'EHOSTUNREACH', 'EPROTO', 'ENETUNREACH',
  /** Used by the app side only: the stack is not running. */
  'ENETDOWN',
] as const;
export type TcpErrnoName = (typeof ERRNO_NAMES)[number];

export function errnoOf(name: string | undefined | null): number {
  if (!name) return 0;
  const i = (ERRNO_NAMES as readonly string[]).indexOf(name);
  return i < 0 ? ERRNO_NAMES.indexOf('EPROTO') : i;
}

/** One accepted connection (REQ_ACCEPT reply). */
export interface AcceptedConn {
  id: number;
  local: string;
  localPort: number;
  remote: string;
  remotePort: number;
  status: ConnStatus;
}

/** What the app needs to re-synchronise a socket (REQ_STATUS reply, and with each accept). */
export interface ConnStatus {
  state: string;
  /** The peer's FIN was received. */
  finRcvd: boolean;
  /** The error the connection ended with (ECONNRESET, ETIMEDOUT, ...) or null. */
  error: string | null;
}

export interface TcpAppRecord {
  kind: number;
  code: number;
  aux: number;
  req: number;
  id: number;
  /** Parsed JSON body, or undefined. */
  body: unknown;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Encodes a record (a fresh buffer; for the rare kinds). */
export function encodeTcpAppRecord(kind: number, id: number, req = 0, code = 0, aux = 0, body?: unknown): Uint8Array {
  const b = body === undefined ? null : enc.encode(JSON.stringify(body));
  const out = new Uint8Array(TCP_APP_HEADER_LEN + (b ? b.length : 0));
  writeTcpAppHeader(out, 0, kind, id, req, code, aux, b ? b.length : 0);
  if (b) out.set(b, TCP_APP_HEADER_LEN);
  return out;
}

/** Writes the 16-byte header in place (the hot path: no allocation). */
export function writeTcpAppHeader(b: Uint8Array, off: number, kind: number, id: number, req = 0, code = 0, aux = 0, bodyLen = 0): void {
  const v = new DataView(b.buffer, b.byteOffset + off, TCP_APP_HEADER_LEN);
  v.setUint8(0, kind);
  v.setUint8(1, code);
  v.setUint16(2, aux, true);
  v.setUint32(4, req, true);
  v.setUint32(8, id, true);
  v.setUint32(12, bodyLen, true);
}

/** Validates and decodes a record; null when malformed (the caller counts and drops). */
export function decodeTcpAppRecord(b: Uint8Array, off: number, len: number, maxKind: number): TcpAppRecord | null {
  if (len < TCP_APP_HEADER_LEN) return null;
  const v = new DataView(b.buffer, b.byteOffset + off, len);
  const kind = v.getUint8(0);
  if (kind < 1 || kind > maxKind) return null;
  const bodyLen = v.getUint32(12, true);
  if (bodyLen > TCP_APP_MAX_BODY || TCP_APP_HEADER_LEN + bodyLen > len) return null;
  let body: unknown;
  if (bodyLen > 0) {
    try {
      body = JSON.parse(dec.decode(b.subarray(off + TCP_APP_HEADER_LEN, off + TCP_APP_HEADER_LEN + bodyLen)));
    } catch {
      return null;
    }
  }
  return { kind, code: v.getUint8(1), aux: v.getUint16(2, true), req: v.getUint32(4, true), id: v.getUint32(8, true), body };
}
