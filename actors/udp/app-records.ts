// The record format between the app (api/dgram.ts on the main thread) and the UDP actor, on the
// actor's `app` ports. One fixed 56-byte header in both directions, then a payload (datagram
// bytes, for REQ_SEND and EV_DATAGRAM only). Big-endian. Every record is validated by its
// reader (decodeAppRecord): the app and the actor are different threads and isolation between
// them is by discipline, not by the MMU.
//
//   off size field   app -> udp (requests)                 udp -> app (events)
//    0   1   kind    REQ_* below                           EV_* below
//    1   1   family  4 or 6 (0 when the op has no address) 4 or 6 (0 when no address)
//    2   2   flags   REQF_* below                          EVF_* below
//    4   4   sock    socket id chosen by the app (!= 0)    the socket the event is about
//    8   4   req     request id echoed in the reply;       REPLY: the request's id
//                    0 = no reply wanted on success
//   12   2   port    BIND: local port (0 = ephemeral)      REPLY to BIND/CONNECT: local port
//                    CONNECT/SEND: remote port              DATAGRAM: source port
//                                                           ERROR: remote port
//   14   2   aux     SETOPT: option (OPT_*)                 REPLY: the kind it answers (REQ_*)
//   16   4   value   SETOPT: the option's value             DATAGRAM: socket slot (receive
//                    SEND: 0                                accounting, table.ts)
//                                                           REPLY to SEND: bytes accepted
//   20   4   code    0                                      ERRNO_* (0 = success)
//   24  16   addr    BIND: local address (zero = any)       REPLY to BIND/CONNECT: local address
//                    CONNECT/SEND: remote address           DATAGRAM: source address
//                    MEMBERSHIP: group                      ERROR: remote address
//   40  16   addr2   MEMBERSHIP: interface (zero = any)     DATAGRAM: destination address (ours)
//                                                           REPLY to CONNECT: remote address
//   56   .   payload SEND: the datagram's data              DATAGRAM: the datagram's data
//
// IPv4 addresses sit in the first 4 bytes of a 16-byte address field, the rest zero (the same
// convention as actors/ip/records.ts).

import { fold, sum16 } from '../../protocol/checksum';

export const APP_HEADER_LEN = 56;

// Requests (app -> udp).
/** Bind the socket: family, port (0 = pick an ephemeral port), addr (zero = any), REQF_REUSEADDR. */
export const REQ_BIND = 1;
/** Set the default remote (filters receive): family, port (1..65535), addr. Socket must be bound. */
export const REQ_CONNECT = 2;
/** Drop the default remote. */
export const REQ_DISCONNECT = 3;
/** Send a datagram: family, port+addr (both zero with REQF_CONNECTED = the connected remote), payload. */
export const REQ_SEND = 4;
/** Set an option: aux = OPT_*, value. */
export const REQ_SETOPT = 5;
/** Join (bookkeeping only, see docs/udp.md) a multicast group: addr = group, addr2 = interface. */
export const REQ_ADD_MEMBERSHIP = 6;
/** Leave a group. */
export const REQ_DROP_MEMBERSHIP = 7;
/** Close the socket: frees its binding and memberships. */
export const REQ_CLOSE = 8;
export const REQ_MAX = 8;

// Events (udp -> app).
/** The answer to a request: req, aux = the request kind, code, and per kind port/addr/addr2/value. */
export const EV_REPLY = 1;
/** A received datagram: port/addr = source, addr2 = destination, value = slot, payload. */
export const EV_DATAGRAM = 2;
/** An asynchronous error on a socket (an ICMP error about a datagram it sent): code, port/addr = remote. */
export const EV_ERROR = 3;
export const EV_MAX = 3;

// Request flags.
/** BIND: allow other REQF_REUSEADDR sockets on the same address and port (SO_REUSEADDR). */
export const REQF_REUSEADDR = 0x0001;
/** SEND: to the connected remote (port and addr must be zero). */
export const REQF_CONNECTED = 0x0002;
/** BIND (family 6): IPV6_V6ONLY (not dual-stack). */
export const REQF_V6ONLY = 0x0004;
/** SEND: `aux` holds the record's seal (sealAppRecord). */
export const REQF_SEALED = 0x0008;

// Event flags.
/** DATAGRAM: it arrived as a broadcast or multicast (actors/ip/records.ts RECORD_FLAG_BROADCAST). */
export const EVF_BROADCAST = 0x0001;
/** DATAGRAM: it carried no checksum (IPv4 zero checksum). */
export const EVF_NO_CHECKSUM = 0x0002;
/** DATAGRAM: `aux` holds the record's seal (sealAppRecord). */
export const EVF_SEALED = 0x0004;

// The seal: a 16-bit ones'-complement sum (RFC 1071) of the whole record but its `aux` field,
// stored in `aux`, flagged by REQF_SEALED / EVF_SEALED. Datagrams cross the
// app ring in shared memory, where no network checksum covers them (UDP's is verified before
// an EV_DATAGRAM is written and computed after a REQ_SEND is read): the seal carries the check
// end to end, so a record damaged in the ring (the campaign's corrupt-payload fault; a stray
// write) is dropped and counted instead of being delivered or sent as data. A flipped byte
// always changes the sum. (One that clears the flag leaves the payload intact.)
function sealSum(b: Uint8Array, off: number, len: number): number {
  return fold(sum16(b, off, 14) + sum16(b, off + 16, len - 16));
}

/** Seals a record already written at b[off, off+len): sets the flag for its direction and
 *  stores the sum in `aux`. */
export function sealAppRecord(b: Uint8Array, off: number, len: number, dir: 'request' | 'event'): void {
  const flags = ((b[off + 2] << 8) | b[off + 3]) | (dir === 'request' ? REQF_SEALED : EVF_SEALED);
  b[off + 2] = flags >> 8;
  b[off + 3] = flags & 0xff;
  b[off + 14] = 0;
  b[off + 15] = 0;
  const s = sealSum(b, off, len);
  b[off + 14] = s >> 8;
  b[off + 15] = s & 0xff;
}

/** False when the record is sealed and its seal does not match (it was damaged in between). */
export function appRecordSealOk(b: Uint8Array, off: number, len: number, dir: 'request' | 'event'): boolean {
  if (len < APP_HEADER_LEN) return true;
  const flags = (b[off + 2] << 8) | b[off + 3];
  if ((flags & (dir === 'request' ? REQF_SEALED : EVF_SEALED)) === 0) return true;
  return sealSum(b, off, len) === ((b[off + 14] << 8) | b[off + 15]);
}

// Options (REQ_SETOPT aux).
/** SO_BROADCAST: value 0/1. Sending to a broadcast address needs it (else EACCES). */
export const OPT_BROADCAST = 1;
/** IP_TTL / IPV6_UNICAST_HOPS: 1..255. */
export const OPT_TTL = 2;
/** IP_MULTICAST_TTL: 0..255. */
export const OPT_MULTICAST_TTL = 3;
/** IP_MULTICAST_LOOP: 0/1 (stored; loopback of our own multicast is not implemented). */
export const OPT_MULTICAST_LOOP = 4;
/** SO_RCVBUF: bytes of datagram payload that may wait in the udp->app ring for this socket. */
export const OPT_RCVBUF = 5;
export const OPT_MAX = 5;

/** Error codes carried in `code`, mapped to Node's error codes by ERRNO_NAMES. */
export const ERRNO_OK = 0;
export const ERRNO_EADDRINUSE = 1;
export const ERRNO_EADDRNOTAVAIL = 2;
export const ERRNO_EINVAL = 3;
export const ERRNO_ENOTCONN = 4;
export const ERRNO_EISCONN = 5;
export const ERRNO_EACCES = 6;
export const ERRNO_ECONNREFUSED = 7;
export const ERRNO_EHOSTUNREACH = 8;
export const ERRNO_ENETUNREACH = 9;
export const ERRNO_EMSGSIZE = 10;
export const ERRNO_ENOBUFS = 11;
export const ERRNO_EBADF = 12;
export const ERRNO_EAFNOSUPPORT = 13;
export const ERRNO_ENOPROTOOPT = 14;
export const ERRNO_EPROTO = 15;
export const ERRNO_EOPNOTSUPP = 16;

export const ERRNO_NAMES: readonly string[] = [
  'OK', 'EADDRINUSE', 'EADDRNOTAVAIL', 'EINVAL', 'ENOTCONN', 'EISCONN', 'EACCES', 'ECONNREFUSED',
  'EHOSTUNREACH', 'ENETUNREACH', 'EMSGSIZE', 'ENOBUFS', 'EBADF', 'EAFNOSUPPORT', 'ENOPROTOOPT', 'EPROTO', 'EOPNOTSUPP',
];

/** One decoded record (either direction). Addresses are copies (16 bytes each). */
export interface AppRecord {
  kind: number;
  family: number;
  flags: number;
  sock: number;
  req: number;
  port: number;
  aux: number;
  value: number;
  code: number;
  addr: Uint8Array;
  addr2: Uint8Array;
  /** Offset and length of the payload in the buffer that was decoded (valid only as long as it). */
  payloadOff: number;
  payloadLen: number;
}

export function emptyRecord(): AppRecord {
  return { kind: 0, family: 0, flags: 0, sock: 0, req: 0, port: 0, aux: 0, value: 0, code: 0, addr: new Uint8Array(16), addr2: new Uint8Array(16), payloadOff: 0, payloadLen: 0 };
}

const u32 = (b: Uint8Array, o: number): number => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
const w32 = (b: Uint8Array, o: number, v: number): void => {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
};

/** Writes the header of `r` at `off` (56 bytes must fit; the payload is the caller's). */
export function writeAppHeader(r: Omit<AppRecord, 'payloadOff' | 'payloadLen'>, b: Uint8Array, off: number): void {
  b[off] = r.kind;
  b[off + 1] = r.family;
  b[off + 2] = r.flags >>> 8;
  b[off + 3] = r.flags;
  w32(b, off + 4, r.sock);
  w32(b, off + 8, r.req);
  b[off + 12] = r.port >>> 8;
  b[off + 13] = r.port;
  b[off + 14] = r.aux >>> 8;
  b[off + 15] = r.aux;
  w32(b, off + 16, r.value);
  w32(b, off + 20, r.code);
  b.set(r.addr.subarray(0, 16), off + 24);
  if (r.addr.length < 16) b.fill(0, off + 24 + r.addr.length, off + 40);
  b.set(r.addr2.subarray(0, 16), off + 40);
  if (r.addr2.length < 16) b.fill(0, off + 40 + r.addr2.length, off + 56);
}

/** A whole record as a new array (tests, the app's control requests). */
export function encodeAppRecord(r: Partial<AppRecord> & { kind: number; sock: number }, payload?: Uint8Array): Uint8Array {
  const full = { ...emptyRecord(), ...r };
  const b = new Uint8Array(APP_HEADER_LEN + (payload?.length ?? 0));
  writeAppHeader(full, b, 0);
  if (payload) b.set(payload, APP_HEADER_LEN);
  return b;
}

/** Why a record was refused (counter suffixes). */
export type AppRecordError = 'short' | 'kind' | 'family' | 'sock' | 'addr' | 'payload' | 'flags';

/** Reads and validates a record; `dir` says which kinds are legal. On success fills `out` and
 *  returns null; otherwise returns the reason (nothing in `out` is to be trusted). Checks: the
 *  header fits, a known kind, family 0/4/6 (4/6 where the kind needs an address), a non-zero
 *  socket id, IPv4 addresses with zero padding, a payload only on SEND/DATAGRAM, only known flags. */
export function decodeAppRecord(b: Uint8Array, off: number, len: number, dir: 'request' | 'event', out: AppRecord): AppRecordError | null {
  if (!(len >= APP_HEADER_LEN) || off < 0 || off + len > b.length) return 'short';
  const kind = b[off];
  if (kind < 1 || kind > (dir === 'request' ? REQ_MAX : EV_MAX)) return 'kind';
  const family = b[off + 1];
  if (family !== 0 && family !== 4 && family !== 6) return 'family';
  const needsFamily = dir === 'request'
    ? kind === REQ_BIND || kind === REQ_CONNECT || kind === REQ_SEND || kind === REQ_ADD_MEMBERSHIP || kind === REQ_DROP_MEMBERSHIP
    : kind === EV_DATAGRAM;
  if (needsFamily && family === 0) return 'family';
  const flags = (b[off + 2] << 8) | b[off + 3];
  if (dir === 'request' && (flags & ~(REQF_REUSEADDR | REQF_CONNECTED | REQF_V6ONLY | REQF_SEALED)) !== 0) return 'flags';
  if (dir === 'event' && (flags & ~(EVF_BROADCAST | EVF_NO_CHECKSUM | EVF_SEALED)) !== 0) return 'flags';
  const sock = u32(b, off + 4);
  if (sock === 0) return 'sock';
  if (family === 4) {
    for (let i = 4; i < 16; i++) if (b[off + 24 + i] !== 0 || b[off + 40 + i] !== 0) return 'addr';
  }
  const hasPayload = dir === 'request' ? kind === REQ_SEND : kind === EV_DATAGRAM;
  if (!hasPayload && len !== APP_HEADER_LEN) return 'payload';
  out.kind = kind;
  out.family = family;
  out.flags = flags;
  out.sock = sock;
  out.req = u32(b, off + 8);
  out.port = (b[off + 12] << 8) | b[off + 13];
  out.aux = (b[off + 14] << 8) | b[off + 15];
  out.value = u32(b, off + 16);
  out.code = u32(b, off + 20);
  out.addr.set(b.subarray(off + 24, off + 40));
  out.addr2.set(b.subarray(off + 40, off + 56));
  out.payloadOff = off + APP_HEADER_LEN;
  out.payloadLen = len - APP_HEADER_LEN;
  return null;
}
