// ICMP for IPv4: view, message value, parse (with checksum), emit, and the helpers to build an
// error message quoting the offending datagram and to read such a quote back. Follows RFC 792
// (ICMP), RFC 1191 (Path MTU Discovery: the Next-Hop MTU field), RFC 1122 §3.2.2 (host
// requirements for ICMP: when not to send errors), and RFC 1812 §4.3.2.3 (how much to quote).
//
//    0                   1                   2                   3
//   |     Type      |     Code      |          Checksum             |
//   |             rest of header (meaning depends on type)          |
//   |   data: echo payload, or the quoted IP header + 64 bits ...   |
//
// Supported types: echo reply (0), destination unreachable (3), redirect (5), echo request (8),
// time exceeded (11), parameter problem (12). Others (source quench, timestamp, information,
// address mask, router discovery) are parsed as 'unsupported'.

import { Ipv4Addr } from './address';
import { rangeOk, readU16, readU32, writeU16, writeU32 } from './bytes';
import { finish, sum16 } from './checksum';
import { Ipv4Header, IPV4_MIN_HEADER_LEN, IP_PROTO_ICMP, parseIpv4Quoted } from './ipv4';
import { ParseError, ParseResult, err, ok } from './result';

export const ICMPV4_ECHO_REPLY = 0;
export const ICMPV4_DEST_UNREACHABLE = 3;
export const ICMPV4_REDIRECT = 5;
export const ICMPV4_ECHO_REQUEST = 8;
export const ICMPV4_TIME_EXCEEDED = 11;
export const ICMPV4_PARAMETER_PROBLEM = 12;

/** Destination unreachable codes (RFC 792, RFC 1122 §3.2.2.1, RFC 1812 §5.2.7.1). */
export const UNREACH_NET = 0;
export const UNREACH_HOST = 1;
export const UNREACH_PROTOCOL = 2;
export const UNREACH_PORT = 3;
/** "fragmentation needed and DF set"; RFC 1191 puts the Next-Hop MTU in the low 16 bits. */
export const UNREACH_FRAG_NEEDED = 4;
export const UNREACH_SOURCE_ROUTE_FAILED = 5;
export const UNREACH_ADMIN_PROHIBITED = 13;
/** Time exceeded codes. */
export const TIME_EXCEEDED_TTL = 0;
export const TIME_EXCEEDED_REASSEMBLY = 1;

export const ICMPV4_HEADER_LEN = 8;
/** RFC 1812 §4.3.2.3: "the ICMP datagram SHOULD contain as much of the original datagram as
 *  possible without the length of the ICMP datagram exceeding 576 bytes." (576 is the whole IP
 *  datagram carrying the error.) */
export const ICMPV4_ERROR_MAX_DATAGRAM = 576;

export type Icmpv4Message =
  | { type: 0 | 8; code: number; ident: number; seq: number }
  /** nextHopMtu: RFC 1191 §4 "the low-order 16 bits of the ICMP header" for code 4; zero
   *  (unused) for the other codes. */
  | { type: 3; code: number; nextHopMtu: number }
  | { type: 5; code: number; gateway: Ipv4Addr }
  | { type: 11; code: number }
  /** pointer: RFC 792 "identifies the octet where an error was detected". */
  | { type: 12; code: number; pointer: number };

/** A message plus its checksum as read. */
export type Icmpv4Header = Icmpv4Message & { checksum?: number };

const E_SHORT = err('format', 'icmpv4: shorter than 8 bytes');
const E_CHECKSUM = err('checksum', 'icmpv4: checksum');
const E_TYPE = err('unsupported', 'icmpv4: message type not supported');

/** View over an ICMPv4 message of `len` bytes. */
export class Icmpv4View {
  constructor(public buf: Uint8Array, public off: number, public len: number) {}

  static check(buf: Uint8Array, off: number, len: number): ParseError | null {
    if (!rangeOk(buf, off, len) || len < ICMPV4_HEADER_LEN) return E_SHORT;
    return null;
  }
  static checked(buf: Uint8Array, off: number, len: number): ParseResult<Icmpv4View> {
    return Icmpv4View.check(buf, off, len) ?? ok(new Icmpv4View(buf, off, len));
  }

  get type(): number {
    return this.buf[this.off];
  }
  set type(v: number) {
    this.buf[this.off] = v;
  }
  get code(): number {
    return this.buf[this.off + 1];
  }
  set code(v: number) {
    this.buf[this.off + 1] = v;
  }
  get checksum(): number {
    return readU16(this.buf, this.off + 2);
  }
  set checksum(v: number) {
    writeU16(this.buf, this.off + 2, v);
  }
  /** The 32-bit "rest of header" word. */
  get rest(): number {
    return readU32(this.buf, this.off + 4);
  }
  set rest(v: number) {
    writeU32(this.buf, this.off + 4, v);
  }
  get ident(): number {
    return readU16(this.buf, this.off + 4);
  }
  get seq(): number {
    return readU16(this.buf, this.off + 6);
  }
  get nextHopMtu(): number {
    return readU16(this.buf, this.off + 6);
  }
  get pointer(): number {
    return this.buf[this.off + 4];
  }
  get gateway(): Ipv4Addr {
    return readU32(this.buf, this.off + 4);
  }
  get payloadOff(): number {
    return this.off + ICMPV4_HEADER_LEN;
  }
  get payloadLen(): number {
    return this.len - ICMPV4_HEADER_LEN;
  }
  /** RFC 792: "The checksum is the 16-bit ones's complement of the one's complement sum of the
   *  ICMP message starting with the ICMP Type." */
  verifyChecksum(): boolean {
    return finish(sum16(this.buf, this.off, this.len)) === 0;
  }
  fillChecksum(): void {
    this.checksum = 0;
    this.checksum = finish(sum16(this.buf, this.off, this.len));
  }
}

export function icmpv4HeaderLen(_h?: Icmpv4Message): number {
  return ICMPV4_HEADER_LEN;
}

/** True for the error types (whose payload is a quoted datagram). */
export function icmpv4IsError(type: number): boolean {
  return type === 3 || type === 4 || type === 5 || type === 11 || type === 12;
}

/** Parses an ICMPv4 message occupying `len` bytes (the IPv4 payload). The payload (echo data
 *  or quoted datagram) is the `len - 8` bytes after the header. Never throws. */
export function parseIcmpv4(buf: Uint8Array, off: number, len: number, verifyChecksum = true): ParseResult<Icmpv4Header> {
  if (!rangeOk(buf, off, len) || len < ICMPV4_HEADER_LEN) return E_SHORT;
  if (verifyChecksum && finish(sum16(buf, off, len)) !== 0) return E_CHECKSUM;
  const type = buf[off];
  const code = buf[off + 1];
  const checksum = readU16(buf, off + 2);
  switch (type) {
    case ICMPV4_ECHO_REPLY:
    case ICMPV4_ECHO_REQUEST:
      return ok({ type, code, ident: readU16(buf, off + 4), seq: readU16(buf, off + 6), checksum });
    case ICMPV4_DEST_UNREACHABLE:
      return ok({ type, code, nextHopMtu: readU16(buf, off + 6), checksum });
    case ICMPV4_REDIRECT:
      return ok({ type, code, gateway: readU32(buf, off + 4), checksum });
    case ICMPV4_TIME_EXCEEDED:
      return ok({ type, code, checksum });
    case ICMPV4_PARAMETER_PROBLEM:
      return ok({ type, code, pointer: buf[off + 4], checksum });
    default:
      return E_TYPE;
  }
}

/** Writes the 8-byte header at `off`, with the `payloadLen` payload bytes already in place after
 *  it, and computes the checksum over header + payload. Unused fields are written as zero
 *  (RFC 792: "unused ... zero"). Returns 8. */
export function emitIcmpv4(h: Icmpv4Message, buf: Uint8Array, off: number, payloadLen: number): number {
  buf[off] = h.type;
  buf[off + 1] = h.code;
  buf[off + 2] = 0;
  buf[off + 3] = 0;
  let rest = 0;
  switch (h.type) {
    case 0:
    case 8:
      rest = ((h.ident & 0xffff) << 16) | (h.seq & 0xffff);
      break;
    case 3:
      rest = h.nextHopMtu & 0xffff;
      break;
    case 5:
      rest = h.gateway;
      break;
    case 11:
      break;
    case 12:
      rest = (h.pointer & 0xff) << 24;
      break;
  }
  writeU32(buf, off + 4, rest);
  writeU16(buf, off + 2, finish(sum16(buf, off, ICMPV4_HEADER_LEN + payloadLen)));
  return ICMPV4_HEADER_LEN;
}

/** How many bytes of the offending datagram (`origLen` bytes, starting at its IP header) an
 *  error should quote, given the header length of the IP datagram that will carry the error.
 *  RFC 792: "the internet header plus the first 64 bits of the original datagram's data";
 *  RFC 1812 §4.3.2.3: as much as fits in 576 bytes. The larger rule wins. */
export function icmpv4QuoteLen(origLen: number, origHeaderLen: number, outerHeaderLen = IPV4_MIN_HEADER_LEN,
  maxDatagram = ICMPV4_ERROR_MAX_DATAGRAM): number {
  const fit = maxDatagram - outerHeaderLen - ICMPV4_HEADER_LEN;
  const min = origHeaderLen + 8;
  return Math.min(origLen, Math.max(fit, min));
}

/** Builds an error message at `off` in `buf`: copies the quote of the offending datagram (at
 *  `origOff`, `origLen` bytes, starting with its IP header) after the 8-byte header, and writes
 *  the header with checksum. `buf` needs room for 8 + icmpv4QuoteLen(...) bytes at `off`; it may
 *  be the same buffer as `orig` (the copy handles overlap). Returns the ICMP message length. */
export function emitIcmpv4Error(
  h: Icmpv4Message, orig: Uint8Array, origOff: number, origLen: number, buf: Uint8Array, off: number,
  outerHeaderLen = IPV4_MIN_HEADER_LEN, maxDatagram = ICMPV4_ERROR_MAX_DATAGRAM,
): number {
  const ohl = origLen > 0 ? (orig[origOff] & 15) << 2 : 0;
  const q = icmpv4QuoteLen(origLen, ohl, outerHeaderLen, maxDatagram);
  // TypedArray.prototype.set copies through a clone when source and target share a buffer.
  buf.set(orig.subarray(origOff, origOff + q), off + ICMPV4_HEADER_LEN);
  emitIcmpv4(h, buf, off, q);
  return ICMPV4_HEADER_LEN + q;
}

/** The quote inside an error message: the offending datagram's IP header and where the first
 *  bytes of its transport header sit (ports for TCP/UDP: `transportLen` >= 4). */
export interface Icmpv4Quote {
  ip: Ipv4Header;
  transportOff: number;
  /** Quoted transport bytes available (at least 8 per RFC 792 when the sender complied). */
  transportLen: number;
}

const E_NOT_ERROR = err('unexpected', 'icmpv4: not an error message');

/** Reads the datagram quoted by an error message occupying `len` bytes at `off`. */
export function parseIcmpv4Quote(buf: Uint8Array, off: number, len: number): ParseResult<Icmpv4Quote> {
  if (!rangeOk(buf, off, len) || len < ICMPV4_HEADER_LEN) return E_SHORT;
  if (!icmpv4IsError(buf[off])) return E_NOT_ERROR;
  const qOff = off + ICMPV4_HEADER_LEN;
  const qLen = len - ICMPV4_HEADER_LEN;
  const r = parseIpv4Quoted(buf, qOff, qLen);
  if (!r.ok) return r;
  const hl = r.value.headerLen;
  return ok({ ip: r.value, transportOff: qOff + hl, transportLen: Math.min(qLen - hl, r.value.payloadLen) });
}

/** RFC 1122 §3.2.2: "An ICMP error message MUST NOT be sent as the result of receiving:
 *  * an ICMP error message, or
 *  * a datagram destined to an IP broadcast or IP multicast address, or
 *  * a datagram sent as a link-layer broadcast, or
 *  * a non-initial fragment, or
 *  * a datagram whose source address does not define a single host -- e.g., a zero address, a
 *    loopback address, a broadcast address, a multicast address, or a Class E address."
 *  `firstPayloadByte` is the ICMP type when ip.protocol is ICMP (else ignored);
 *  `dstIsBroadcast` tells whether ip.dst is a broadcast address for the receiving interface
 *  (the subnet-directed broadcast depends on its prefix). */
export function icmpv4ErrorAllowed(
  ip: Ipv4Header, firstPayloadByte: number, linkBroadcast: boolean, dstIsBroadcast: boolean,
): boolean {
  if (ip.protocol === IP_PROTO_ICMP && icmpv4IsError(firstPayloadByte)) return false;
  if (linkBroadcast || dstIsBroadcast) return false;
  const dst = ip.dst >>> 0;
  if (dst === 0xffffffff || dst >>> 28 === 0xe) return false;
  if (ip.fragOffset !== 0) return false;
  const src = ip.src >>> 0;
  if (src === 0 || src >>> 24 === 127 || src >>> 28 >= 0xe) return false;
  return true;
}
