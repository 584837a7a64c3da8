// The TCP core's public types in one place: addresses, configuration, the segments it takes and
// emits, per-connection options, events, outcomes and errors. The actor shell (actor.ts), the
// app-side socket layer and tests use only these and core.ts's methods.

import type { CongestionName } from './cc';

/** An IP address: IPv4 as a u32 number, IPv6 as 16 bytes. */
export type IpAddr = number | Uint8Array;

export function familyOf(a: IpAddr): 4 | 6 {
  return typeof a === 'number' ? 4 : 6;
}

/** Bytes reserved in front of every emitted segment (`bytes.byteOffset >= SEGMENT_HEADROOM`),
 *  room for the IP actor's record header (actors/ip/records.ts RECORD_HEADER_LEN = 40). */
export const SEGMENT_HEADROOM = 40;

/** A segment from IP: `buf[off, off+len)` is the TCP header and payload (no IP header). */
export interface TcpSegmentIn {
  src: IpAddr;
  dst: IpAddr;
  buf: Uint8Array;
  off: number;
  len: number;
}

/** A segment for IP: `bytes` is the TCP header and payload with the checksum filled in; its
 *  backing buffer has SEGMENT_HEADROOM free bytes before it. */
export interface TcpSegmentOut {
  family: 4 | 6;
  src: IpAddr;
  dst: IpAddr;
  bytes: Uint8Array;
}

export type TcpEventKind =
  /** A listener has a connection waiting in accept(). */
  | 'connection'
  /** An active open completed. */
  | 'established'
  /** New in-order bytes in the receive stream. */
  | 'readable'
  /** Acknowledged bytes were freed from a send stream that was at least half full. */
  | 'writable'
  /** The peer's FIN arrived: no more bytes will come (after those in the stream). */
  | 'peer-closed'
  /** The connection was reset (code ECONNRESET or ECONNREFUSED). */
  | 'reset'
  /** Retransmissions, the user timeout or keep-alive gave up (code ETIMEDOUT). */
  | 'timeout'
  /** The connection is over (after a graceful close, a reset or a timeout). The id stays valid
   *  until close(id) if the user had not closed it. */
  | 'closed';

export interface TcpEvent {
  id: number;
  kind: TcpEventKind;
  code?: TcpErrorName;
}

export type TcpErrorName = 'ECONNRESET' | 'ECONNREFUSED' | 'ETIMEDOUT' | 'ECONNABORTED';

/** Errors of user calls (never thrown on the data path). */
export class TcpError extends Error {
  constructor(readonly code: 'EADDRINUSE' | 'EADDRNOTAVAIL' | 'EBADF' | 'EINVAL' | 'ENOBUFS' | 'ENOTCONN' | 'EISCONN', message: string) {
    super(`${code}: ${message}`);
  }
}

/** Per-connection options (connect() and setOption()). */
export interface TcpConnOptions {
  /** Disable Nagle's algorithm. */
  nodelay?: boolean;
  keepAlive?: boolean;
  /** Idle time before the first keep-alive probe (ms). */
  keepAliveIdle?: number;
  /** Time between unanswered probes (ms). */
  keepAliveInterval?: number;
  /** Unanswered probes before the connection times out. */
  keepAliveCount?: number;
  /** RFC 5482 user timeout: give up when data stays unacknowledged this long (ms; 0 = use the
   *  retransmission count). */
  userTimeout?: number;
  congestion?: CongestionName;
}

export interface ConnectOptions extends TcpConnOptions {
  /** Local port (0 or absent: an ephemeral port per RFC 6056). */
  localPort?: number;
  /** Path MTU towards the peer if known (else the configured MTU). */
  mtu?: number;
}

export interface ListenOptions {
  /** Bound of the SYN queue (SYN-RECEIVED connections); beyond it SYN cookies are used. */
  synQueue?: number;
}

/** Where a crash can be injected (tests): inside processing after streams were written, before
 *  the TCBs are committed, between two TCB commits, after committing but before segments and
 *  events leave the core. */
export type FaultPoint = 'segment-built' | 'before-commit' | 'mid-commit' | 'after-commit';

export interface TcpEnv {
  /** Time in ms on a clock shared by every incarnation (deadlines are stored absolute). */
  now(): number;
  randomU32(): number;
  /** Called for each segment to send, after the state that produced it is committed. */
  output(seg: TcpSegmentOut): void;
  /** Per-connection events, after the state that produced them is committed. */
  onEvent?(ev: TcpEvent): void;
  /** Source address to use towards `remote` when connect() gets none (IP's route lookup). */
  sourceAddress?(remote: IpAddr): IpAddr | null;
  /** Counters (drops by reason, state changes, retransmissions ...). */
  count?(name: string, n: number): void;
  /** Test hook: may throw to simulate a crash at the named point. */
  fault?(point: FaultPoint): void;
}

export interface TcpConfig {
  /** Maximum segment lifetime (ms); TIME-WAIT lasts 2*MSL. Default 30 s. */
  msl: number;
  /** Link MTU used for the advertised MSS and the initial path MTU. Default 1500. */
  mtu: number;
  rtoMin: number;
  rtoMax: number;
  rtoInitial: number;
  /** Delayed ACK timeout (ms). Default 40. */
  delayedAckMs: number;
  /** Initial window in segments (RFC 6928: 10). */
  initialWindow: number;
  synRetries: number;
  synAckRetries: number;
  /** Data retransmissions before ETIMEDOUT when no user timeout is set (RFC 9293 R2). */
  dataRetries: number;
  windowScaling: boolean;
  timestamps: boolean;
  sack: boolean;
  synCookies: boolean;
  congestion: CongestionName;
  keepAliveIdle: number;
  keepAliveInterval: number;
  keepAliveCount: number;
  userTimeout: number;
  /** FIN-WAIT-2 timeout of connections the user closed (ms). */
  finWait2Timeout: number;
  /** Receive buffer limit at connection start; auto-tuning grows it up to the stream size. */
  rcvBufInitial: number;
  /** Ephemeral port range (RFC 6056 §2.1 / IANA 49152-65535). */
  ephemeralLow: number;
  ephemeralHigh: number;
  /** Challenge ACKs per second (RFC 5961 §7). */
  challengeAckLimit: number;
  /** Position both streams of a new connection start at (tests start just below 2^32). */
  initialStreamPos: number;
  /** Verify checksums of received segments (IP may have done it). */
  verifyChecksum: boolean;
  /** Test hook: choose the ISS instead of RFC 6528. */
  iss?: (local: IpAddr, localPort: number, remote: IpAddr, remotePort: number) => number;
}

export const DEFAULT_CONFIG: TcpConfig = {
  msl: 30_000,
  mtu: 1500,
  rtoMin: 200,
  rtoMax: 60_000,
  rtoInitial: 1000,
  delayedAckMs: 40,
  initialWindow: 10,
  synRetries: 6,
  synAckRetries: 5,
  dataRetries: 15,
  windowScaling: true,
  timestamps: true,
  sack: true,
  synCookies: true,
  congestion: 'cubic',
  keepAliveIdle: 7_200_000,
  keepAliveInterval: 75_000,
  keepAliveCount: 9,
  userTimeout: 0,
  finWait2Timeout: 60_000,
  rcvBufInitial: 65_536,
  ephemeralLow: 49152,
  ephemeralHigh: 65535,
  challengeAckLimit: 1000,
  initialStreamPos: 0xffff_f000,
  verifyChecksum: true,
};

/** Named results of onSegment (each is also counted). */
export type SegmentOutcome =
  | 'accepted'
  | 'drop-format'
  | 'drop-checksum'
  | 'drop-no-timestamp'
  | 'drop-paws'
  | 'drop-out-of-window'
  | 'drop-bad-ack'
  | 'drop-no-ack'
  | 'drop-listen'
  | 'drop-syn-queue-full'
  | 'drop-accept-queue-full'
  | 'drop-table-full'
  | 'drop-rst'
  | 'challenge-ack'
  | 'syn-cookie-sent'
  | 'syn-cookie-accepted'
  | 'syn-ack-sent'
  | 'rst-sent'
  | 'reset'
  | 'time-wait-reused';
