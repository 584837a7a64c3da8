// Every shared-memory word of the TCP actor, named in one place (style.md point 7): the
// connection table (`shared.tcbs`) and the per-connection byte streams (`shared.tcpStreams`).
// Both regions outlive a TCP actor incarnation; a new core reattaches to them (docs/tcp.md).
//
// Region `tcbs`:
//   [0, TABLE_HEADER_BYTES)      table header, Int32 words (TableWord)
//   [TABLE_HEADER_BYTES, ...)    base/committed.ts CommittedRecords: maxConns records of
//                                TCB_WORDS Float64 words each (TcbWord), two slots + selector
//                                per record, so a crash leaves the old or the new TCB, never a mix.
// Region `tcpStreams`: maxConns slots of STREAM_SLOT_BYTES(sendCap, recvCap) bytes:
//   [send stream header (STREAM_HEADER_BYTES)][send data, sendCap]
//   [recv stream header (STREAM_HEADER_BYTES)][recv data, recvCap]
// Each stream is a one-writer one-reader byte ring (StreamWord): for the send stream the app
// writes (HEAD) and TCP frees acknowledged bytes (TAIL); for the receive stream TCP writes in-order
// bytes (HEAD) and the app frees what it read (TAIL).

/** Table header words (Int32 over the start of `tcbs`). */
export const TableWord = {
  /** TABLE_MAGIC once initialised. Written last at initialisation. */
  MAGIC: 0,
  /** TABLE_VERSION; a reattaching core refuses another version. */
  VERSION: 1,
  /** Number of TCB slots. */
  MAX_CONNS: 2,
  /** Float64 words per TCB (TCB_WORDS). */
  TCB_WORDS: 3,
  /** Capacity in bytes of each send stream (a power of two). */
  SEND_CAP: 4,
  /** Capacity in bytes of each receive stream (a power of two). */
  RECV_CAP: 5,
  /** RFC 6056 Algorithm 3 `next_ephemeral` counter (u32, free-running). */
  NEXT_EPHEMERAL: 6,
  /** Counter giving established passive connections their FIFO accept order. */
  ACCEPT_COUNTER: 7,
  /** Secret key for the ISN, SYN-cookie, timestamp-offset and port hashes: 4 words (128 bits),
   *  chosen at initialisation and kept across restarts so cookies stay valid. */
  KEY0: 8,
  KEY1: 9,
  KEY2: 10,
  KEY3: 11,
  /** Incremented by every core that attaches (0 = fresh table). For `ctl` and tests. */
  ATTACH_COUNT: 12,
} as const;
export const TABLE_HEADER_BYTES = 64;
export const TABLE_MAGIC = 0x54434254; // "TCBT"
export const TABLE_VERSION = 1;

/** TCP states (RFC 9293 §3.3.2), plus Free (slot unused) and Closed-but-owned (the connection is
 *  over but the user has not called close() yet, so the id, its error and unread data stay). */
export enum TcpState {
  Free = 0,
  Closed = 1,
  Listen = 2,
  SynSent = 3,
  SynReceived = 4,
  Established = 5,
  FinWait1 = 6,
  FinWait2 = 7,
  CloseWait = 8,
  Closing = 9,
  LastAck = 10,
  TimeWait = 11,
}

/** Bits of TcbWord.flags. */
export const TcbFlag = {
  /** Nagle off (setOption nodelay). */
  NODELAY: 1 << 0,
  /** Keep-alive probing on. */
  KEEPALIVE: 1 << 1,
  /** Created by a listener (passive open). */
  PASSIVE: 1 << 2,
  /** Timestamps negotiated (RFC 7323). */
  TS_OK: 1 << 3,
  /** SACK negotiated (RFC 2018). */
  SACK_OK: 1 << 4,
  /** Window scaling negotiated (RFC 7323). */
  WS_OK: 1 << 5,
  /** The user asked for a FIN (shutdown or close): it follows the queued data. */
  FIN_QUEUED: 1 << 6,
  /** Our FIN has been sent at least once. */
  FIN_SENT: 1 << 7,
  /** Our FIN has been acknowledged (SND.UNA counts it). */
  FIN_ACKED: 1 << 8,
  /** The peer's FIN has been processed (RCV.NXT counts it). */
  FIN_RCVD: 1 << 9,
  /** A FIN arrived ahead of a hole; it is at TcbWord.finSeq and is processed when RCV.NXT gets
   *  there. */
  FIN_PENDING: 1 << 10,
  /** The user called close(): nobody owns the id; the slot is freed when the connection ends. */
  USER_CLOSED: 1 << 11,
  /** Handed to the user by accept(). */
  ACCEPTED: 1 << 12,
  /** Established passive connection waiting in its listener's accept queue. */
  ACCEPTABLE: 1 << 13,
  /** Our SYN has been acknowledged. */
  SYN_ACKED: 1 << 14,
  /** In fast recovery (NewReno RFC 6582 or SACK RFC 6675). */
  IN_RECOVERY: 1 << 15,
  /** The SYN was retransmitted (RFC 6298 5.7: RTO re-initialised to 3 s afterwards). */
  SYN_RTX: 1 << 16,
  /** Created from a SYN cookie. */
  COOKIE: 1 << 17,
  /** Our advertised window was zero when last sent (send an update as soon as it opens). */
  ZERO_WND_SENT: 1 << 18,
} as const;

/** Connection error codes kept in TcbWord.error (Node's codes, style.md point 10). */
export enum TcpErrorCode {
  None = 0,
  ECONNRESET = 1,
  ECONNREFUSED = 2,
  ETIMEDOUT = 3,
  ECONNABORTED = 4,
}

/** Congestion controllers (TcbWord.cc). */
export enum CcAlgo {
  NewReno = 1,
  Cubic = 2,
}

/** Capacity of the SACK scoreboard and of the out-of-order range list (ranges). */
export const SACK_MAX_RANGES = 8;
export const OOO_MAX_RANGES = 8;

/** TCB words: Float64 slots of one CommittedRecords record. Sequence numbers are u32 values;
 *  times are ms on the core's clock (0 = timer not armed). */
export const TcbWord = {
  // ---- identity
  /** TcpState. */
  state: 0,
  /** Generation of the slot, bumped at each allocation; id = gen * 65536 + slot. */
  gen: 1,
  /** TcbFlag bits. */
  flags: 2,
  /** 4 or 6. */
  family: 3,
  /** Local address: IPv4 in localA0; IPv6 as four big-endian u32 words. */
  localA0: 4,
  localA1: 5,
  localA2: 6,
  localA3: 7,
  remoteA0: 8,
  remoteA1: 9,
  remoteA2: 10,
  remoteA3: 11,
  localPort: 12,
  remotePort: 13,
  /** Listener slot of a passive connection, or -1. */
  parent: 14,
  /** Position in the listener's accept queue (TableWord.ACCEPT_COUNTER at establishment). */
  acceptOrder: 15,
  /** LISTEN: bound of the accept queue. */
  backlog: 16,
  /** LISTEN: bound of the SYN queue (SYN-RECEIVED children); beyond it, SYN cookies. */
  synQueueMax: 17,
  // ---- sequence space (RFC 9293 §3.3.1)
  iss: 18,
  irs: 19,
  /** Sequence number of send-stream position 0 (mod 2^32): SND.UNA = sndBase + TAIL (+1 once
   *  the FIN is acked). The stream's TAIL is the commit point of an ACK. */
  sndBase: 20,
  /** Sequence number of receive-stream position 0: RCV.NXT = rcvBase + HEAD (+1 after FIN). */
  rcvBase: 21,
  sndNxt: 22,
  /** Highest sequence number sent + 1 (SND.NXT can go back on a retransmission timeout). */
  sndMax: 23,
  /** SND.WND in bytes (already scaled). */
  sndWnd: 24,
  sndWl1: 25,
  sndWl2: 26,
  /** Largest SND.WND seen (RFC 5961 MAX.SND.WND; SWS "maximum window"). */
  maxSndWnd: 27,
  /** Peer's window shift (Snd.Wind.Shift). */
  sndWscale: 28,
  /** Our window shift (Rcv.Wind.Shift). */
  rcvWscale: 29,
  /** MSS option received (536 / 1220 by default). */
  peerMss: 30,
  /** Effective send MSS without options: min(peerMss, path MTU - IP - 20). */
  mss: 31,
  /** MSS we advertised. */
  advMss: 32,
  /** Path MTU used for `mss`. */
  pathMtu: 33,
  /** Right edge of the window we advertised, RCV.NXT + RCV.WND (never moves left). */
  rcvAdv: 34,
  /** Sequence number of a pending out-of-order FIN (TcbFlag.FIN_PENDING). */
  finSeq: 35,
  // ---- timestamps (RFC 7323)
  tsRecent: 36,
  /** Time TS.Recent was set (PAWS: invalid after 24 days idle). */
  tsRecentAge: 37,
  /** Offset added to the clock for our TSval (per 4-tuple, keyed hash). */
  tsOffset: 38,
  /** Last.ACK.sent. */
  lastAckSent: 39,
  // ---- RTT (RFC 6298)
  srtt: 40,
  rttvar: 41,
  rto: 42,
  /** Consecutive timeouts (backoff exponent), reset by an ACK of new data. */
  backoff: 43,
  /** Sequence number being timed when timestamps are off (Karn), and the send time. */
  rttSeq: 44,
  rttTime: 45,
  /** Segments retransmitted (counter). */
  rtxSegs: 46,
  // ---- congestion (RFC 5681, 6582, 6675, 9438)
  /** CcAlgo. */
  cc: 47,
  cwnd: 48,
  ssthresh: 49,
  /** `recover` (RFC 6582) / RecoveryPoint (RFC 6675), exclusive: highest sent + 1. */
  recover: 50,
  dupAcks: 51,
  /** HighRxt (RFC 6675): highest sequence retransmitted in this recovery + 1. */
  highRxt: 52,
  /** CUBIC W_max (bytes). */
  ccWMax: 53,
  /** CUBIC K (seconds). */
  ccK: 54,
  /** CUBIC epoch start (ms, 0 = none). */
  ccEpoch: 55,
  /** CUBIC W_est (bytes, Reno-friendly estimate). */
  ccWEst: 56,
  /** CUBIC cwnd at the last congestion event (bytes), for fast convergence. */
  ccWLastMax: 57,
  /** Bytes acked in congestion avoidance, not yet turned into cwnd growth. */
  bytesAcked: 58,
  // ---- SACK scoreboard: sackCount ranges [left, right) above SND.UNA, ascending
  sackCount: 59,
  sack0: 60, // 16 words: left0, right0, left1, right1, ...
  // ---- out-of-order receive ranges [left, right) above RCV.NXT, ascending; the bytes are in
  // the receive stream beyond HEAD
  oooCount: 76,
  ooo0: 77, // 16 words
  /** Index of the range holding the most recent out-of-order segment (RFC 2018 first block). */
  oooLast: 93,
  // ---- timer deadlines (0 = off)
  tRto: 94,
  tDelack: 95,
  tPersist: 96,
  tKeepalive: 97,
  tTimewait: 98,
  persistBackoff: 99,
  /** Time of the last segment received (keep-alive idle). */
  lastRecv: 100,
  /** Time since which the oldest outstanding data has been unacknowledged (user timeout). */
  unackedSince: 101,
  /** User timeout in ms (0 = use retry counts). */
  userTimeout: 102,
  kaIdle: 103,
  kaIntvl: 104,
  kaCnt: 105,
  kaProbes: 106,
  /** In-order data segments received and not yet acknowledged (delayed ACK). */
  unackedSegs: 107,
  // ---- receive buffer auto-tuning
  /** Current receive buffer limit (<= stream capacity). */
  rcvBufLimit: 108,
  /** RCV.NXT at the start of the current measurement and its time. */
  rcvSpaceSeq: 109,
  rcvSpaceTime: 110,
  /** TcpErrorCode of the connection's end. */
  error: 111,
  /** Counters. */
  segsIn: 112,
  segsOut: 113,
  /** Time the connection was opened (ms). */
  openedAt: 114,
  /** Local port's listener-less owner check: 1 when this TCB was created by connect(). */
  active: 115,
} as const;
export const TCB_WORDS = 116;
export type TcbWordName = keyof typeof TcbWord;

/** Byte-stream header words (Int32 over the stream's first STREAM_HEADER_BYTES). */
export const StreamWord = {
  /** Producer position in bytes, free-running u32. Only the producer stores it (Atomics.store,
   *  after the bytes are written). */
  HEAD: 0,
  /** Consumer position in bytes, free-running u32. Only the consumer stores it. */
  TAIL: 8,
  /** Generation of the connection owning the stream (TcbWord.gen); the app checks it. */
  GEN: 16,
  /** Capacity (a power of two), constant. */
  CAPACITY: 17,
} as const;
export const STREAM_HEADER_BYTES = 128;

/** Bytes of one connection's pair of streams. */
export function streamSlotBytes(sendCap: number, recvCap: number): number {
  return 2 * STREAM_HEADER_BYTES + sendCap + recvCap;
}
