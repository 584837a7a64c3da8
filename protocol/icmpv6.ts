// ICMPv6 messages: the common view, the checksum over the IPv6 pseudo-header, the error
// messages (Destination Unreachable, Packet Too Big, Time Exceeded, Parameter Problem) and Echo
// Request/Reply, parse and emit, plus building an error that quotes the invoking packet and the
// rules for when an error may be sent. Follows RFC 4443 (ICMPv6), RFC 8200 §8.1 (upper-layer
// checksums), RFC 7112 (Parameter Problem code 3) and RFC 6554 (Destination Unreachable code 7).
// Neighbor Discovery (ndp.ts) and MLD (mld.ts) share the view and the checksum.
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   |     Type      |     Code      |          Checksum             |
//   |   Identifier / MTU / Pointer / Unused (32 bits, per type)     |
//   |                         Message body ...                      |
//
// RFC 4443 §2.3: "The checksum is the 16-bit one's complement of the one's complement sum of
// the entire ICMPv6 message, starting with the ICMPv6 message type field, and prepended with a
// "pseudo-header" of IPv6 header fields, as specified in [IPv6, Section 8.1]." Unlike UDP over
// IPv4 it is mandatory; every parser here verifies it.

import { Ipv6Addr, ipv6IsMulticast, ipv6IsUnspecified } from './address';
import { rangeOk, readU16, readU32, writeU16, writeU32 } from './bytes';
import { finish, pseudoSumV6Addrs, sum16 } from './checksum';
import { IPV6_HEADER_LEN, IPV6_MIN_MTU, NH_ICMPV6, walkIpv6Chain } from './ipv6';
import { ParseError, ParseResult, err, ok } from './result';

export const ICMPV6_HEADER_LEN = 8;

// Types (IANA "ICMPv6 Parameters"). RFC 4443 §2.1: "Error messages are identified as such by a
// zero in the high-order bit of their message Type field values."
export const ICMPV6_DST_UNREACHABLE = 1;
export const ICMPV6_PACKET_TOO_BIG = 2;
export const ICMPV6_TIME_EXCEEDED = 3;
export const ICMPV6_PARAM_PROBLEM = 4;
export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;
export const ICMPV6_MLD_QUERY = 130;
export const ICMPV6_MLD_REPORT = 131;
export const ICMPV6_MLD_DONE = 132;
export const ICMPV6_ROUTER_SOLICIT = 133;
export const ICMPV6_ROUTER_ADVERT = 134;
export const ICMPV6_NEIGHBOR_SOLICIT = 135;
export const ICMPV6_NEIGHBOR_ADVERT = 136;
export const ICMPV6_REDIRECT = 137;
export const ICMPV6_MLDV2_REPORT = 143;

// Destination Unreachable codes (RFC 4443 §3.1; 7 from RFC 6554).
export const DU_NO_ROUTE = 0;
export const DU_ADMIN_PROHIBITED = 1;
export const DU_BEYOND_SCOPE = 2;
export const DU_ADDRESS_UNREACHABLE = 3;
export const DU_PORT_UNREACHABLE = 4;
export const DU_SOURCE_POLICY_FAILED = 5;
export const DU_REJECT_ROUTE = 6;
export const DU_SOURCE_ROUTING_ERROR = 7;
// Time Exceeded codes (RFC 4443 §3.3).
export const TE_HOP_LIMIT = 0;
export const TE_REASSEMBLY = 1;
// Parameter Problem codes (RFC 4443 §3.4; 3 from RFC 7112).
export const PP_ERRONEOUS_FIELD = 0;
export const PP_UNRECOGNIZED_NEXT_HEADER = 1;
export const PP_UNRECOGNIZED_OPTION = 2;
export const PP_INCOMPLETE_CHAIN = 3;

/** RFC 4443 §2.4(c): the largest quote that keeps an error message (40-byte IPv6 header +
 *  8-byte ICMPv6 header + quote) within the minimum MTU of 1280. */
export const ICMPV6_ERROR_MAX_QUOTE = IPV6_MIN_MTU - IPV6_HEADER_LEN - ICMPV6_HEADER_LEN;

/** RFC 4443 §2.1: types 0..127 are errors, 128..255 informational. */
export function icmpv6IsError(type: number): boolean {
  return type < 128;
}

/** The checksum of the ICMPv6 message [off, off+len) with the IPv6 pseudo-header for the given
 *  addresses. A message whose checksum field is correct gives 0. */
export function icmpv6Checksum(buf: Uint8Array, off: number, len: number, src: Ipv6Addr, dst: Ipv6Addr): number {
  return finish(sum16(buf, off, len, pseudoSumV6Addrs(src, dst, NH_ICMPV6, len)));
}

/** View over an ICMPv6 message of `len` bytes at `off`. After `check`, the type, code,
 *  checksum and 32-bit field are readable. */
export class Icmpv6View {
  constructor(public buf: Uint8Array, public off: number, public len: number) {}

  /** Null when [off, off+len) is inside `buf` and holds at least the 8-byte header (every
   *  ICMPv6 message defined so far is at least 8 bytes). */
  static check(buf: Uint8Array, off: number, len: number): ParseError | null {
    if (!rangeOk(buf, off, len) || len < ICMPV6_HEADER_LEN) return E_SHORT;
    return null;
  }

  static checked(buf: Uint8Array, off: number, len: number): ParseResult<Icmpv6View> {
    return Icmpv6View.check(buf, off, len) ?? ok(new Icmpv6View(buf, off, len));
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
  /** The 32 bits after the checksum (MTU, pointer, identifier+sequence, flags, ...). */
  get word(): number {
    return readU32(this.buf, this.off + 4);
  }
  set word(v: number) {
    writeU32(this.buf, this.off + 4, v);
  }
  /** Echo identifier. */
  get ident(): number {
    return readU16(this.buf, this.off + 4);
  }
  set ident(v: number) {
    writeU16(this.buf, this.off + 4, v);
  }
  /** Echo sequence number. */
  get seq(): number {
    return readU16(this.buf, this.off + 6);
  }
  set seq(v: number) {
    writeU16(this.buf, this.off + 6, v);
  }
  /** Packet Too Big MTU. */
  get mtu(): number {
    return readU32(this.buf, this.off + 4);
  }
  set mtu(v: number) {
    writeU32(this.buf, this.off + 4, v);
  }
  /** Parameter Problem pointer. */
  get pointer(): number {
    return readU32(this.buf, this.off + 4);
  }
  set pointer(v: number) {
    writeU32(this.buf, this.off + 4, v);
  }
  /** Absolute offset of the body after the 8-byte header (echo data, invoking packet). */
  get dataOff(): number {
    return this.off + ICMPV6_HEADER_LEN;
  }
  get dataLen(): number {
    return this.len - ICMPV6_HEADER_LEN;
  }
  verifyChecksum(src: Ipv6Addr, dst: Ipv6Addr): boolean {
    return icmpv6Checksum(this.buf, this.off, this.len, src, dst) === 0;
  }
  fillChecksum(src: Ipv6Addr, dst: Ipv6Addr): void {
    this.checksum = 0;
    this.checksum = icmpv6Checksum(this.buf, this.off, this.len, src, dst);
  }
}

/** An ICMPv6 message handled in this file. Informational types owned by ndp.ts / mld.ts and
 *  unknown types come back as 'other' (RFC 4443 §2.4(a)/(b): unknown errors go to the upper
 *  layer, unknown informational messages are silently discarded; that is the caller's call).
 *  `dataLen` is the length of the body after the 8-byte header, which starts at `off + 8`: echo
 *  data, or the quoted invoking packet of an error. On emit the body is already in place. */
export type Icmpv6Message =
  | { kind: 'echoRequest' | 'echoReply'; code: number; ident: number; seq: number; dataLen: number }
  /** RFC 4443 §3.1; "Unused: This field is unused for all code values. It must be initialized
   *  to zero by the originator and ignored by the receiver." */
  | { kind: 'dstUnreachable'; code: number; dataLen: number }
  /** RFC 4443 §3.2: "Code: Set to 0 by the originator and ignored by the receiver." */
  | { kind: 'packetTooBig'; code: number; mtu: number; dataLen: number }
  | { kind: 'timeExceeded'; code: number; dataLen: number }
  /** RFC 4443 §3.4: "Pointer: Identifies the octet offset within the invoking packet where the
   *  error was detected." */
  | { kind: 'paramProblem'; code: number; pointer: number; dataLen: number }
  | { kind: 'other'; type: number; code: number; word: number; dataLen: number };

export type Icmpv6Kind = Icmpv6Message['kind'];

const E_SHORT = err('format', 'icmpv6: shorter than 8 bytes');
const E_CHECKSUM = err('checksum', 'icmpv6: checksum');

/** The wire type of a message value. */
export function icmpv6Type(m: Icmpv6Message): number {
  switch (m.kind) {
    case 'echoRequest': return ICMPV6_ECHO_REQUEST;
    case 'echoReply': return ICMPV6_ECHO_REPLY;
    case 'dstUnreachable': return ICMPV6_DST_UNREACHABLE;
    case 'packetTooBig': return ICMPV6_PACKET_TOO_BIG;
    case 'timeExceeded': return ICMPV6_TIME_EXCEEDED;
    case 'paramProblem': return ICMPV6_PARAM_PROBLEM;
    case 'other': return m.type;
  }
}

/** The 32-bit field after the checksum for a message value. */
function icmpv6Word(m: Icmpv6Message): number {
  switch (m.kind) {
    case 'echoRequest': case 'echoReply': return (((m.ident & 0xffff) << 16) | (m.seq & 0xffff)) >>> 0;
    case 'packetTooBig': return m.mtu >>> 0;
    case 'paramProblem': return m.pointer >>> 0;
    case 'other': return m.word >>> 0;
    case 'dstUnreachable': case 'timeExceeded': return 0;
  }
}

/** Parses the ICMPv6 message of `len` bytes at `off` (the upper-layer payload from the chain
 *  walk), carried from `src` to `dst` (the final destination, RFC 8200 §8.1: "If the IPv6
 *  packet contains a Routing header, the Destination Address used in the pseudo-header is that
 *  of the final destination"). Verifies the checksum unless `verifyChecksum` is false.
 *  Never throws. */
export function parseIcmpv6(
  buf: Uint8Array, off: number, len: number, src: Ipv6Addr, dst: Ipv6Addr, verifyChecksum = true,
): ParseResult<Icmpv6Message> {
  const e = Icmpv6View.check(buf, off, len);
  if (e !== null) return e;
  if (verifyChecksum && icmpv6Checksum(buf, off, len, src, dst) !== 0) return E_CHECKSUM;
  return ok(decode(buf, off, len));
}

function decode(buf: Uint8Array, off: number, len: number): Icmpv6Message {
  const type = buf[off];
  const code = buf[off + 1];
  const dataLen = len - ICMPV6_HEADER_LEN;
  switch (type) {
    case ICMPV6_ECHO_REQUEST:
      return { kind: 'echoRequest', code, ident: readU16(buf, off + 4), seq: readU16(buf, off + 6), dataLen };
    case ICMPV6_ECHO_REPLY:
      return { kind: 'echoReply', code, ident: readU16(buf, off + 4), seq: readU16(buf, off + 6), dataLen };
    case ICMPV6_DST_UNREACHABLE:
      return { kind: 'dstUnreachable', code, dataLen };
    case ICMPV6_PACKET_TOO_BIG:
      return { kind: 'packetTooBig', code, mtu: readU32(buf, off + 4), dataLen };
    case ICMPV6_TIME_EXCEEDED:
      return { kind: 'timeExceeded', code, dataLen };
    case ICMPV6_PARAM_PROBLEM:
      return { kind: 'paramProblem', code, pointer: readU32(buf, off + 4), dataLen };
    default:
      return { kind: 'other', type, code, word: readU32(buf, off + 4), dataLen };
  }
}

/** Writes the 8-byte header of `m` at `off` and the checksum over the header and the
 *  `m.dataLen` body bytes already in place after it. Returns the message length
 *  (8 + dataLen). */
export function emitIcmpv6(m: Icmpv6Message, buf: Uint8Array, off: number, src: Ipv6Addr, dst: Ipv6Addr): number {
  const len = ICMPV6_HEADER_LEN + m.dataLen;
  buf[off] = icmpv6Type(m);
  buf[off + 1] = m.code;
  buf[off + 2] = 0;
  buf[off + 3] = 0;
  writeU32(buf, off + 4, icmpv6Word(m));
  writeU16(buf, off + 2, icmpv6Checksum(buf, off, len, src, dst));
  return len;
}

/** How many bytes of an invoking packet of `invokingLen` bytes an error message quotes, given
 *  `extraHeaderLen` bytes of IPv6 extension headers on the error itself. RFC 4443 §2.4(c):
 *  "Every ICMPv6 error message (type < 128) MUST include as much of the IPv6 offending
 *  (invoking) packet (the packet that caused the error) as possible without making the error
 *  message packet exceed the minimum IPv6 MTU [IPv6]." */
export function icmpv6ErrorQuoteLen(invokingLen: number, extraHeaderLen = 0): number {
  const room = ICMPV6_ERROR_MAX_QUOTE - extraHeaderLen;
  return invokingLen < room ? (invokingLen > 0 ? invokingLen : 0) : room > 0 ? room : 0;
}

/** An error message to build: one of the four error kinds (its dataLen is ignored). */
export type Icmpv6ErrorMessage =
  Extract<Icmpv6Message, { kind: 'dstUnreachable' | 'packetTooBig' | 'timeExceeded' | 'paramProblem' }>;

/** Builds an ICMPv6 error message at `off`: copies the start of the invoking packet
 *  (`invoking[invOff .. invOff+invLen)`, from its IPv6 header on) to `off + 8`, as much as
 *  RFC 4443 §2.4(c) allows (see icmpv6ErrorQuoteLen), then writes the header and checksum for
 *  `src` -> `dst`. The invoking bytes may live in `buf` itself (the copy handles overlap).
 *  The caller leaves room for 8 + ICMPV6_ERROR_MAX_QUOTE bytes at `off` and prepends the IPv6
 *  header (40 bytes before `off`). Returns the message length. */
export function emitIcmpv6Error(
  m: Icmpv6ErrorMessage, invoking: Uint8Array, invOff: number, invLen: number,
  buf: Uint8Array, off: number, src: Ipv6Addr, dst: Ipv6Addr, extraHeaderLen = 0,
): number {
  const q = icmpv6ErrorQuoteLen(invLen, extraHeaderLen);
  if (invoking === buf) buf.copyWithin(off + ICMPV6_HEADER_LEN, invOff, invOff + q);
  else buf.set(invoking.subarray(invOff, invOff + q), off + ICMPV6_HEADER_LEN);
  return emitIcmpv6({ ...m, dataLen: q }, buf, off, src, dst);
}

/** Link-layer facts about how the invoking packet arrived (RFC 4443 §2.4(e.3), (e.4)). */
export interface Icmpv6ArrivalInfo {
  linkMulticast: boolean;
  linkBroadcast: boolean;
}

const NOT_LINK_GROUP: Icmpv6ArrivalInfo = Object.freeze({ linkMulticast: false, linkBroadcast: false });

/** RFC 4443 §2.4(e): whether an error of `type`/`code` may be sent in response to the invoking
 *  packet at `off` (`len` bytes, from its IPv6 header). Rate limiting (§2.4(f)) is the
 *  caller's. "An ICMPv6 error message MUST NOT be originated as a result of receiving:
 *  (e.1) An ICMPv6 error message. (e.2) An ICMPv6 redirect message [IPv6-DISC]. (e.3) A packet
 *  destined to an IPv6 multicast address. (There are two exceptions to this rule: (1) the Packet
 *  Too Big Message (Section 3.2) to allow Path MTU discovery to work for IPv6 multicast, and
 *  (2) the Parameter Problem Message, Code 2 (Section 3.4) reporting an unrecognized IPv6
 *  option (see Section 4.2 of [IPv6]) that has the Option Type highest-order two bits set to
 *  10). (e.4) A packet sent as a link-layer multicast (the exceptions from e.3 apply to this
 *  case, too). (e.5) A packet sent as a link-layer broadcast (the exceptions from e.3 apply to
 *  this case, too). (e.6) A packet whose source address does not uniquely identify a single
 *  node -- e.g., the IPv6 Unspecified Address, an IPv6 multicast address, or an address known
 *  by the ICMP message originator to be an IPv6 anycast address." Anycast is not known here.
 *  A packet whose header cannot be read gets no error either. Never throws. */
export function icmpv6ErrorAllowed(
  invoking: Uint8Array, off: number, len: number, type: number, code: number,
  arrival: Icmpv6ArrivalInfo = NOT_LINK_GROUP, optionHighBits10 = false,
): boolean {
  if (!rangeOk(invoking, off, len) || len < IPV6_HEADER_LEN || invoking[off] >>> 4 !== 6) return false;
  // (e.6) the source must identify one node.
  const srcFirst = invoking[off + 8];
  if (srcFirst === 0xff) return false;
  let unspecified = true;
  for (let i = 0; i < 16; i++) if (invoking[off + 8 + i] !== 0) unspecified = false;
  if (unspecified) return false;
  // (e.3)-(e.5)
  const groupDst = invoking[off + 24] === 0xff || arrival.linkMulticast || arrival.linkBroadcast;
  if (groupDst) {
    const excepted = type === ICMPV6_PACKET_TOO_BIG ||
      (type === ICMPV6_PARAM_PROBLEM && code === PP_UNRECOGNIZED_OPTION && optionHighBits10);
    if (!excepted) return false;
  }
  // (e.1), (e.2): look at the upper layer of the invoking packet.
  const r = walkIpv6Chain(invoking, off, len);
  if (r.ok) {
    const c = r.value;
    if (c.protocol === NH_ICMPV6 && c.fragment === null && c.protocolLen >= 1) {
      const t = invoking[c.protocolOff];
      if (icmpv6IsError(t) || t === ICMPV6_REDIRECT) return false;
    }
  }
  return true;
}

/** Convenience for callers holding addresses rather than the invoking packet's bytes: (e.6)
 *  and the multicast part of (e.3) only. */
export function icmpv6ErrorAllowedAddrs(
  src: Ipv6Addr, dst: Ipv6Addr, type: number, code: number, optionHighBits10 = false,
): boolean {
  if (ipv6IsUnspecified(src) || ipv6IsMulticast(src)) return false;
  if (ipv6IsMulticast(dst)) {
    return type === ICMPV6_PACKET_TOO_BIG ||
      (type === ICMPV6_PARAM_PROBLEM && code === PP_UNRECOGNIZED_OPTION && optionHighBits10);
  }
  return true;
}
