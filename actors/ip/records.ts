// The record format between the IP actor and the transports (ports `tcp`, `udp`, `icmp` in both
// directions). One fixed 40-byte header, then the transport payload (no IP header):
//
//   off size field
//    0   1   family     4 or 6
//    1   1   proto      IP protocol number (6 TCP, 17 UDP, 1 ICMP; on the `tcp`/`udp` outputs an
//                       ICMP error about one of their packets comes with proto 1 and the whole
//                       ICMP message as payload, so the transport can match the quote)
//    2   2   ifindex    interface the packet came in on (1-based; 0 = unknown / let IP choose)
//    4   1   ttl        received TTL / hop limit; on send 0 = the default (64)
//    5   1   tos        received DSCP+ECN octet; on send the octet to use
//    6   2   flags      RECORD_FLAG_* below
//    8  16   src        IPv4: the address in bytes 8..11, bytes 12..23 zero; IPv6: 16 bytes.
//                       On send, an all-zero src lets IP pick the source address.
//   24  16   dst
//   40   .   payload
//
// Big-endian like the wire. Written and read only through the helpers here, which check every
// length (a reader validates what crosses a boundary).

export const RECORD_HEADER_LEN = 40;

/** DF: do not fragment (send). */
export const RECORD_FLAG_DF = 0x0001;
/** The packet arrived as a link-layer or IP broadcast/multicast (receive). */
export const RECORD_FLAG_BROADCAST = 0x0002;
/** The payload is an ICMP error message about a packet this transport sent (receive). */
export const RECORD_FLAG_ICMP_ERROR = 0x0004;

export interface RecordHeader {
  family: 4 | 6;
  proto: number;
  ifindex: number;
  ttl: number;
  tos: number;
  flags: number;
  /** IPv4 addresses as u32 numbers (the family-6 half fills src6/dst6 instead). */
  src: number;
  dst: number;
  src6?: Uint8Array;
  dst6?: Uint8Array;
}

/** Writes a header at `off` (40 bytes must fit). */
export function writeRecordHeader(h: RecordHeader, b: Uint8Array, off: number): void {
  b.fill(0, off, off + RECORD_HEADER_LEN);
  b[off] = h.family;
  b[off + 1] = h.proto;
  b[off + 2] = h.ifindex >>> 8;
  b[off + 3] = h.ifindex;
  b[off + 4] = h.ttl;
  b[off + 5] = h.tos;
  b[off + 6] = h.flags >>> 8;
  b[off + 7] = h.flags;
  if (h.family === 4) {
    writeAddr4(b, off + 8, h.src);
    writeAddr4(b, off + 24, h.dst);
  } else {
    if (h.src6) b.set(h.src6.subarray(0, 16), off + 8);
    if (h.dst6) b.set(h.dst6.subarray(0, 16), off + 24);
  }
}

function writeAddr4(b: Uint8Array, o: number, a: number): void {
  b[o] = a >>> 24;
  b[o + 1] = a >>> 16;
  b[o + 2] = a >>> 8;
  b[o + 3] = a;
}

function readAddr4(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/** Reads a header; null when the record is too short or the family is unknown. */
export function readRecordHeader(b: Uint8Array, off: number, len: number): RecordHeader | null {
  if (!(len >= RECORD_HEADER_LEN) || off < 0 || off + len > b.length) return null;
  const family = b[off];
  if (family !== 4 && family !== 6) return null;
  const h: RecordHeader = {
    family,
    proto: b[off + 1],
    ifindex: (b[off + 2] << 8) | b[off + 3],
    ttl: b[off + 4],
    tos: b[off + 5],
    flags: (b[off + 6] << 8) | b[off + 7],
    src: 0,
    dst: 0,
  };
  if (family === 4) {
    h.src = readAddr4(b, off + 8);
    h.dst = readAddr4(b, off + 24);
  } else {
    h.src6 = b.slice(off + 8, off + 24);
    h.dst6 = b.slice(off + 24, off + 40);
  }
  return h;
}

/** A whole record (header + payload) as a new array: for transports and tests. */
export function encodeRecord(h: RecordHeader, payload: Uint8Array): Uint8Array {
  const r = new Uint8Array(RECORD_HEADER_LEN + payload.length);
  writeRecordHeader(h, r, 0);
  r.set(payload, RECORD_HEADER_LEN);
  return r;
}
