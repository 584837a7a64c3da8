// The IPv6 header and its extension header chain: the fixed-header view, header value, parse
// with validation and emit; the chain walker (Hop-by-Hop, Routing, Fragment, Destination
// Options, AH and the RFC 6564 uniform-format headers) with option TLVs; emit for the Fragment
// header and for Hop-by-Hop / Destination Options headers. Follows RFC 8200 (IPv6), RFC 5095
// (deprecation of type 0 Routing headers), RFC 6946 (atomic fragments), RFC 2711 (Router Alert),
// RFC 4302 §2.2 (AH length), RFC 6564 (uniform extension header format), RFC 7045 and
// RFC 8504 §5.3 (limits on options).
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   |Version| Traffic Class |           Flow Label                  |
//   |         Payload Length        |  Next Header  |   Hop Limit   |
//   |                     Source Address (128 bits)                 |
//   |                  Destination Address (128 bits)               |
//
// The walker never throws and never reads outside [off, off + 40 + Payload Length): every header
// length is checked against the payload end before any of its bytes are read, each step moves
// forward by at least 8 bytes, and the number of headers and options is capped (`Ipv6Limits`),
// so a hostile chain costs at most a bounded amount of work. Where RFC 8200 says the receiver
// must answer with an ICMPv6 Parameter Problem, the walker says so through `Ipv6Problem` (error
// results) or `ipv6ChainVerdict` (well-formed chains that must still be discarded); sending the
// message is the IP layer's job. Jumbograms (RFC 2675) are not supported.

import { Ipv6Addr } from './address';
import { rangeOk, readU16, readU32, writeU16, writeU32 } from './bytes';
import { ParseError, ParseResult, err, ok } from './result';

export const IPV6_HEADER_LEN = 40;
/** RFC 8200 §5: "IPv6 requires that every link in the Internet have an MTU of 1280 octets or
 *  greater." */
export const IPV6_MIN_MTU = 1280;
/** Largest Payload Length (and largest reassembled payload, RFC 8200 §4.5). */
export const IPV6_MAX_PAYLOAD = 65535;
export const IPV6_FRAGMENT_HEADER_LEN = 8;

// Next Header values (IANA "Assigned Internet Protocol Numbers"; the extension header subset is
// the IANA "IPv6 Extension Header Types" registry, RFC 7045 §2).
export const NH_HOP_BY_HOP = 0;
export const NH_TCP = 6;
export const NH_UDP = 17;
export const NH_ROUTING = 43;
export const NH_FRAGMENT = 44;
export const NH_ESP = 50;
export const NH_AH = 51;
export const NH_ICMPV6 = 58;
export const NH_NONE = 59;
export const NH_DEST_OPTS = 60;
export const NH_MOBILITY = 135;
export const NH_HIP = 139;
export const NH_SHIM6 = 140;
export const NH_EXPERIMENT_1 = 253;
export const NH_EXPERIMENT_2 = 254;

// Option types inside Hop-by-Hop and Destination Options headers (IANA "Destination Options and
// Hop-by-Hop Options").
export const OPT_PAD1 = 0x00;
export const OPT_PADN = 0x01;
/** RFC 2473 §5.1 Tunnel Encapsulation Limit. */
export const OPT_TUNNEL_LIMIT = 0x04;
/** RFC 2711 Router Alert; value 0 = "Datagram contains a Multicast Listener Discovery message". */
export const OPT_ROUTER_ALERT = 0x05;
/** RFC 2675 Jumbo Payload (not supported). */
export const OPT_JUMBO = 0xc2;
/** RFC 6275 §6.3 Home Address (not supported, handled as unrecognized). */
export const OPT_HOME_ADDRESS = 0xc9;

/** RFC 8200 §4.2: the two high-order bits of an option type say what a node that does not
 *  recognize the option must do: "The Option Type identifiers are internally encoded such that
 *  their highest-order 2 bits specify the action that must be taken if the processing IPv6 node
 *  does not recognize the Option Type". */
export type Ipv6OptionAction = 0 | 1 | 2 | 3;
/** 00: "skip over this option and continue processing the header." */
export const OPT_ACTION_SKIP = 0;
/** 01: "discard the packet." */
export const OPT_ACTION_DISCARD = 1;
/** 10: "discard the packet and, regardless of whether or not the packet's Destination Address
 *  was a multicast address, send an ICMP Parameter Problem, Code 2, message to the packet's
 *  Source Address, pointing to the unrecognized Option Type." */
export const OPT_ACTION_DISCARD_ICMP = 2;
/** 11: "discard the packet and, only if the packet's Destination Address was not a multicast
 *  address, send an ICMP Parameter Problem, Code 2, message ..." */
export const OPT_ACTION_DISCARD_ICMP_UNICAST = 3;

/** ICMPv6 Parameter Problem codes (RFC 4443 §3.4), repeated here so the walker does not depend
 *  on icmpv6.ts. */
const PP_ERRONEOUS_FIELD = 0;
const PP_UNRECOGNIZED_NEXT_HEADER = 1;
const PP_UNRECOGNIZED_OPTION = 2;

// ---------------------------------------------------------------------------------------------
// Fixed header

export interface Ipv6Header {
  /** 8 bits: DSCP (RFC 2474) in the high six, ECN (RFC 3168) in the low two. */
  trafficClass: number;
  /** 20 bits (RFC 6437). */
  flowLabel: number;
  /** "Length of the IPv6 payload, i.e., the rest of the packet following this IPv6 header, in
   *  octets. (Note that any extension headers present are considered part of the payload, i.e.,
   *  included in the length count.)" */
  payloadLength: number;
  nextHeader: number;
  hopLimit: number;
  src: Ipv6Addr;
  dst: Ipv6Addr;
}

const E_SHORT = err('format', 'ipv6: shorter than the fixed header');
const E_VERSION = err('format', 'ipv6: version is not 6');
const E_TRUNC = err('format', 'ipv6: payload length exceeds the buffer');

/** View over the 40-byte fixed header at `off`. Construct unchecked with `new` when 40 bytes are
 *  known to be there (emit side); use `Ipv6View.check`/`checked` on input. */
export class Ipv6View {
  constructor(public buf: Uint8Array, public off: number) {}

  /** Null when the fixed header and the Payload Length fit in `len` bytes and the version is 6.
   *  `len` may exceed 40 + Payload Length (Ethernet padding); the rest is ignored. */
  static check(buf: Uint8Array, off: number, len: number): ParseError | null {
    if (!rangeOk(buf, off, len) || len < IPV6_HEADER_LEN) return E_SHORT;
    // RFC 8200 §3: "Version 4-bit Internet Protocol version number = 6."
    if (buf[off] >>> 4 !== 6) return E_VERSION;
    if (readU16(buf, off + 4) > len - IPV6_HEADER_LEN) return E_TRUNC;
    return null;
  }

  static checked(buf: Uint8Array, off: number, len: number): ParseResult<Ipv6View> {
    return Ipv6View.check(buf, off, len) ?? ok(new Ipv6View(buf, off));
  }

  get version(): number {
    return this.buf[this.off] >>> 4;
  }
  get trafficClass(): number {
    return ((this.buf[this.off] & 0x0f) << 4) | (this.buf[this.off + 1] >>> 4);
  }
  set trafficClass(v: number) {
    this.buf[this.off] = 0x60 | ((v >>> 4) & 0x0f);
    this.buf[this.off + 1] = ((v & 0x0f) << 4) | (this.buf[this.off + 1] & 0x0f);
  }
  get flowLabel(): number {
    return ((this.buf[this.off + 1] & 0x0f) << 16) | readU16(this.buf, this.off + 2);
  }
  set flowLabel(v: number) {
    this.buf[this.off + 1] = (this.buf[this.off + 1] & 0xf0) | ((v >>> 16) & 0x0f);
    writeU16(this.buf, this.off + 2, v & 0xffff);
  }
  get payloadLength(): number {
    return readU16(this.buf, this.off + 4);
  }
  set payloadLength(v: number) {
    writeU16(this.buf, this.off + 4, v);
  }
  get nextHeader(): number {
    return this.buf[this.off + 6];
  }
  set nextHeader(v: number) {
    this.buf[this.off + 6] = v;
  }
  get hopLimit(): number {
    return this.buf[this.off + 7];
  }
  set hopLimit(v: number) {
    this.buf[this.off + 7] = v;
  }
  /** Absolute offset of the source address (for pseudoSumV6 and in-place comparisons). */
  get srcOff(): number {
    return this.off + 8;
  }
  get dstOff(): number {
    return this.off + 24;
  }
  get payloadOff(): number {
    return this.off + IPV6_HEADER_LEN;
  }
  /** A copy of the source address. */
  src(): Ipv6Addr {
    return this.buf.slice(this.off + 8, this.off + 24);
  }
  dst(): Ipv6Addr {
    return this.buf.slice(this.off + 24, this.off + 40);
  }
  setSrc(a: Ipv6Addr): void {
    for (let i = 0; i < 16; i++) this.buf[this.off + 8 + i] = a[i];
  }
  setDst(a: Ipv6Addr): void {
    for (let i = 0; i < 16; i++) this.buf[this.off + 24 + i] = a[i];
  }
}

/** Parses the fixed header at `off` in a region of `len` bytes. The payload is
 *  `payloadLength` bytes at `off + 40`; walk it with `walkIpv6Chain`. Pass `out` to reuse a
 *  header value (its address arrays are overwritten in place). Never throws. */
export function parseIpv6Header(
  buf: Uint8Array, off: number, len: number, out?: Ipv6Header,
): ParseResult<Ipv6Header> {
  const e = Ipv6View.check(buf, off, len);
  if (e !== null) return e;
  const h: Ipv6Header = out ?? {
    trafficClass: 0, flowLabel: 0, payloadLength: 0, nextHeader: 0, hopLimit: 0,
    src: new Uint8Array(16), dst: new Uint8Array(16),
  };
  const w0 = readU32(buf, off);
  h.trafficClass = (w0 >>> 20) & 0xff;
  h.flowLabel = w0 & 0xfffff;
  h.payloadLength = readU16(buf, off + 4);
  h.nextHeader = buf[off + 6];
  h.hopLimit = buf[off + 7];
  for (let i = 0; i < 16; i++) {
    h.src[i] = buf[off + 8 + i];
    h.dst[i] = buf[off + 24 + i];
  }
  return ok(h);
}

/** Writes the 40-byte fixed header at `off` (the payload, including any extension headers, is
 *  already in place after it). Returns 40. */
export function emitIpv6Header(h: Ipv6Header, buf: Uint8Array, off: number): number {
  writeU32(buf, off, (0x60000000 | ((h.trafficClass & 0xff) << 20) | (h.flowLabel & 0xfffff)) >>> 0);
  writeU16(buf, off + 4, h.payloadLength);
  buf[off + 6] = h.nextHeader;
  buf[off + 7] = h.hopLimit;
  for (let i = 0; i < 16; i++) {
    buf[off + 8 + i] = h.src[i];
    buf[off + 24 + i] = h.dst[i];
  }
  return IPV6_HEADER_LEN;
}

/** A header value with common defaults (hop limit 64, traffic class and flow label 0). */
export function ipv6Header(
  fields: Partial<Ipv6Header> & Pick<Ipv6Header, 'src' | 'dst' | 'nextHeader' | 'payloadLength'>,
): Ipv6Header {
  return { trafficClass: 0, flowLabel: 0, hopLimit: 64, ...fields };
}

// ---------------------------------------------------------------------------------------------
// Extension headers: views

/** View over a Fragment header (RFC 8200 §4.5), 8 bytes at `off`:
 *  Next Header (8), Reserved (8), Fragment Offset (13), Res (2), M (1), Identification (32). */
export class Ipv6FragmentView {
  constructor(public buf: Uint8Array, public off: number) {}
  get nextHeader(): number {
    return this.buf[this.off];
  }
  set nextHeader(v: number) {
    this.buf[this.off] = v;
  }
  /** "The offset, in 8-octet units, of the data following this header, relative to the start
   *  of the Fragmentable Part of the original packet." Returned in bytes. */
  get fragOffset(): number {
    return readU16(this.buf, this.off + 2) & 0xfff8;
  }
  set fragOffset(bytes: number) {
    writeU16(this.buf, this.off + 2, (bytes & 0xfff8) | (this.buf[this.off + 3] & 7));
  }
  /** M flag: "1 = more fragments; 0 = last fragment." */
  get more(): boolean {
    return (this.buf[this.off + 3] & 1) !== 0;
  }
  set more(v: boolean) {
    this.buf[this.off + 3] = (this.buf[this.off + 3] & 0xfe) | (v ? 1 : 0);
  }
  get ident(): number {
    return readU32(this.buf, this.off + 4);
  }
  set ident(v: number) {
    writeU32(this.buf, this.off + 4, v);
  }
}

/** View over the first 4 bytes of a Routing header (RFC 8200 §4.4): Next Header, Hdr Ext Len,
 *  Routing Type, Segments Left. */
export class Ipv6RoutingView {
  constructor(public buf: Uint8Array, public off: number) {}
  get nextHeader(): number {
    return this.buf[this.off];
  }
  /** Length in bytes: (Hdr Ext Len + 1) * 8. */
  get length(): number {
    return (this.buf[this.off + 1] + 1) << 3;
  }
  get routingType(): number {
    return this.buf[this.off + 2];
  }
  get segmentsLeft(): number {
    return this.buf[this.off + 3];
  }
  set segmentsLeft(v: number) {
    this.buf[this.off + 3] = v;
  }
}

/** View over a Hop-by-Hop or Destination Options header (RFC 8200 §4.3, §4.6): Next Header,
 *  Hdr Ext Len, then TLV options to (Hdr Ext Len + 1) * 8 bytes. */
export class Ipv6OptionsView {
  constructor(public buf: Uint8Array, public off: number) {}
  get nextHeader(): number {
    return this.buf[this.off];
  }
  get length(): number {
    return (this.buf[this.off + 1] + 1) << 3;
  }
  get optionsOff(): number {
    return this.off + 2;
  }
}

// ---------------------------------------------------------------------------------------------
// Extension headers: walker

/** One extension header seen by the walker. */
export interface Ipv6ExtHeader {
  /** The Next Header value that named this header (NH_HOP_BY_HOP, NH_ROUTING, ...). */
  type: number;
  /** Absolute offset in the buffer. */
  off: number;
  /** Length in bytes. */
  len: number;
  /** Its own Next Header field. */
  nextHeader: number;
}

/** One option from a Hop-by-Hop or Destination Options header (padding is not listed). */
export interface Ipv6Option {
  /** NH_HOP_BY_HOP or NH_DEST_OPTS. */
  header: number;
  type: number;
  /** Absolute offset of the option type byte. */
  off: number;
  /** The option data (a subarray of the input, no copy). */
  data: Uint8Array;
}

/** The first option the walker did not recognize whose action is not "skip". */
export interface Ipv6UnrecognizedOption {
  option: Ipv6Option;
  action: Ipv6OptionAction;
  /** Offset of the option type from the start of the IPv6 header (the Parameter Problem
   *  pointer, RFC 4443 §3.4). */
  pointer: number;
}

export interface Ipv6FragmentInfo {
  /** Absolute offset of the Fragment header. */
  off: number;
  nextHeader: number;
  /** Fragment offset in bytes (a multiple of 8). */
  fragOffset: number;
  more: boolean;
  ident: number;
  /** Length of the fragment data (the Fragmentable Part carried by this packet). */
  dataLen: number;
  /** Length of the Unfragmentable Part's extension headers (between the IPv6 header and the
   *  Fragment header), which the reassembled packet keeps. */
  unfragmentableLen: number;
}

export interface Ipv6RoutingInfo {
  /** Absolute offset of the Routing header. */
  off: number;
  routingType: number;
  segmentsLeft: number;
  /** Offset of the Routing Type field from the start of the IPv6 header (the Parameter Problem
   *  pointer for an unrecognized routing type). */
  typePointer: number;
  /** RFC 5095 §3: "An IPv6 node that receives a packet with a destination address assigned to
   *  it and that contains an RH0 extension header MUST NOT execute the algorithm specified in
   *  the latter part of Section 4.4 of [RFC2460] for RH0. Instead, such packets MUST be
   *  processed according to the behaviour specified in Section 4.4 of [RFC2460] for a datagram
   *  that includes an unrecognised Routing Type value." */
  deprecated: boolean;
}

/** Result of walking the chain. */
export interface Ipv6Chain {
  /** The Next Header value after the last header walked: the upper-layer protocol (TCP, UDP,
   *  ICMPv6, ...), NH_NONE, NH_ESP (opaque), an unrecognized value, or, for a fragment that is
   *  not atomic, the Next Header of the Fragment header (the payload is fragment data). */
  protocol: number;
  /** Absolute offset of the upper-layer header (or fragment data). */
  protocolOff: number;
  /** Bytes from `protocolOff` to the end of the IPv6 payload (trailing link padding excluded). */
  protocolLen: number;
  /** Offset, from the start of the IPv6 header, of the Next Header field holding `protocol`:
   *  6 without extension headers. RFC 8200 §4: for an unrecognized Next Header value a node
   *  "should discard the packet and send an ICMP Parameter Problem message to the source of the
   *  packet, with an ICMP Code value of 1 ("unrecognized Next Header type encountered") and the
   *  ICMP Pointer field containing the offset of the unrecognized value within the original
   *  packet." Which upper layers are recognized is the IP layer's knowledge, not the walker's. */
  protocolPointer: number;
  /** Extension headers in order. */
  headers: Ipv6ExtHeader[];
  /** Non-padding options of Hop-by-Hop and Destination Options headers, in order. */
  options: Ipv6Option[];
  /** The first unrecognized option whose two high bits are not 00, or null. */
  unrecognizedOption: Ipv6UnrecognizedOption | null;
  /** The Router Alert value (RFC 2711) from the Hop-by-Hop header, or -1. */
  routerAlert: number;
  fragment: Ipv6FragmentInfo | null;
  routing: Ipv6RoutingInfo | null;
}

/** Filled in when the walk fails for a reason RFC 8200 answers with a Parameter Problem. */
export interface Ipv6Problem {
  /** RFC 4443 §3.4 code: 0 erroneous header field, 1 unrecognized Next Header, 2 unrecognized
   *  option; -1 when the error calls for a silent discard. */
  code: number;
  /** Offset from the start of the IPv6 header of the offending field. */
  pointer: number;
}

export interface Ipv6Limits {
  /** Extension headers walked before giving up (RFC 8200 §4.1 lists at most seven in the
   *  recommended order; more than this is treated as hostile). */
  maxHeaders: number;
  /** Non-padding options per Hop-by-Hop / Destination Options header. RFC 8504 §5.3: "Hosts MAY
   *  impose a limit on the maximum number of non-padding options allowed in the Destination
   *  Options and Hop-by-Hop extension headers. If this feature is supported, the maximum
   *  number MUST be configurable, and the default SHOULD be set to 8." */
  maxOptions: number;
  /** Total bytes of extension headers. */
  maxChainBytes: number;
}

export const IPV6_DEFAULT_LIMITS: Readonly<Ipv6Limits> = Object.freeze({
  maxHeaders: 16,
  maxOptions: 8,
  maxChainBytes: 4096,
});

export const E_EXT_TRUNC = err('format', 'ipv6: extension header overruns the payload');
export const E_HBH_NOT_FIRST = err('format', 'ipv6: hop-by-hop header not first');
export const E_OPT_OVERRUN = err('format', 'ipv6: option overruns its header');
export const E_TOO_MANY_HEADERS = err('unsupported', 'ipv6: too many extension headers');
export const E_TOO_MANY_OPTIONS = err('unsupported', 'ipv6: too many options in one header');
export const E_CHAIN_TOO_LONG = err('unsupported', 'ipv6: extension headers too long');
export const E_JUMBO = err('unsupported', 'ipv6: jumbo payload option (RFC 2675)');
/** RFC 8200 §4.5: reassembled payload would exceed 65,535 octets. */
export const E_FRAG_TOO_BIG = err('format', 'ipv6: fragment ends past 65535 octets');
/** RFC 8200 §4.5: a fragment with M = 1 whose length is not a multiple of 8. */
export const E_FRAG_NOT_MULTIPLE_8 = err('format', 'ipv6: non-final fragment length not a multiple of 8');

function emptyChain(): Ipv6Chain {
  return {
    protocol: 0, protocolOff: 0, protocolLen: 0, protocolPointer: 6, headers: [], options: [],
    unrecognizedOption: null, routerAlert: -1, fragment: null, routing: null,
  };
}

function setProblem(p: Ipv6Problem | undefined, code: number, pointer: number): void {
  if (p !== undefined) {
    p.code = code;
    p.pointer = pointer;
  }
}

/** True for the Next Header values walked as extension headers. ESP (50) is an extension header
 *  too, but its contents are encrypted, so the walk ends there with protocol NH_ESP. */
export function ipv6IsExtensionHeader(nh: number): boolean {
  switch (nh) {
    case NH_HOP_BY_HOP: case NH_ROUTING: case NH_FRAGMENT: case NH_DEST_OPTS: case NH_AH:
    case NH_MOBILITY: case NH_HIP: case NH_SHIM6: case NH_EXPERIMENT_1: case NH_EXPERIMENT_2:
      return true;
    default:
      return false;
  }
}

/** Parses the TLV options of one Hop-by-Hop/Destination Options header [p, end). `ipOff` is the
 *  start of the IPv6 header. Returns null or an error. */
function walkOptions(
  buf: Uint8Array, header: number, p: number, end: number, ipOff: number, chain: Ipv6Chain,
  limits: Ipv6Limits, problem: Ipv6Problem | undefined,
): ParseError | null {
  let count = 0;
  while (p < end) {
    const t = buf[p];
    // RFC 8200 §4.2: "The Pad1 option is used to insert one octet of padding into the Options
    // area of a header ... the Pad1 option is a special case -- it does not have length and
    // value fields."
    if (t === OPT_PAD1) {
      p++;
      continue;
    }
    // "Opt Data Len: 8-bit unsigned integer. Length of the Option Data field of this option, in
    // octets."
    if (p + 2 > end || p + 2 + buf[p + 1] > end) {
      setProblem(problem, -1, p - ipOff);
      return E_OPT_OVERRUN;
    }
    const dl = buf[p + 1];
    if (t !== OPT_PADN) {
      if (++count > limits.maxOptions) {
        setProblem(problem, -1, p - ipOff);
        return E_TOO_MANY_OPTIONS;
      }
      const opt: Ipv6Option = { header, type: t, off: p, data: buf.subarray(p + 2, p + 2 + dl) };
      chain.options.push(opt);
      if (t === OPT_JUMBO) {
        setProblem(problem, -1, p - ipOff);
        return E_JUMBO;
      }
      if (t === OPT_ROUTER_ALERT && header === NH_HOP_BY_HOP && dl === 2) {
        chain.routerAlert = readU16(buf, p + 2);
      } else if (t !== OPT_ROUTER_ALERT && t !== OPT_TUNNEL_LIMIT) {
        const action = (t >>> 6) as Ipv6OptionAction;
        if (action !== OPT_ACTION_SKIP && chain.unrecognizedOption === null) {
          chain.unrecognizedOption = { option: opt, action, pointer: p - ipOff };
        }
      }
    }
    p += 2 + dl;
  }
  return null;
}

/** Walks the IPv6 packet at `off` (`len` bytes available; the packet is 40 + Payload Length of
 *  them): checks the fixed header, then follows Next Header through the extension headers until
 *  a value that is not an extension header, a non-atomic Fragment header, ESP, or No Next
 *  Header. Returns the chain or an error result; on error, `problem` (if given) says whether
 *  RFC 8200 asks for a Parameter Problem and where it points. Pass `out` to reuse a chain value
 *  (its arrays are cleared). Never throws. */
export function walkIpv6Chain(
  buf: Uint8Array, off: number, len: number, out?: Ipv6Chain, problem?: Ipv6Problem,
  limits: Ipv6Limits = IPV6_DEFAULT_LIMITS,
): ParseResult<Ipv6Chain> {
  const e = Ipv6View.check(buf, off, len);
  if (e !== null) {
    setProblem(problem, -1, 0);
    return e;
  }
  return walkFrom(buf, off, off + IPV6_HEADER_LEN + readU16(buf, off + 4), true, out, problem, limits);
}

const E_QSHORT = err('format', 'ipv6: quoted packet shorter than the fixed header');

/** Walks the invoking packet quoted in an ICMPv6 error message (RFC 4443 §2.4(c): "as much of
 *  the IPv6 offending (invoking) packet ... as possible"): like walkIpv6Chain, but the quote may
 *  end before 40 + Payload Length, so the walk stops at min(that, len) and `protocolLen` counts
 *  only the quoted bytes. A header cut by the end of the quote is an error. Never throws. */
export function walkIpv6Quoted(
  buf: Uint8Array, off: number, len: number, out?: Ipv6Chain,
  limits: Ipv6Limits = IPV6_DEFAULT_LIMITS,
): ParseResult<Ipv6Chain> {
  if (!rangeOk(buf, off, len) || len < IPV6_HEADER_LEN) return E_QSHORT;
  if (buf[off] >>> 4 !== 6) return E_VERSION;
  const end = Math.min(off + IPV6_HEADER_LEN + readU16(buf, off + 4), off + len);
  return walkFrom(buf, off, end, false, out, undefined, limits);
}

/** The walk over [off + 40, end), with the fixed header at `off` already checked. `whole` is
 *  false for a quote, where fragment lengths are not checked (the quote cuts the data). */
function walkFrom(
  buf: Uint8Array, off: number, end: number, whole: boolean, out: Ipv6Chain | undefined,
  problem: Ipv6Problem | undefined, limits: Ipv6Limits,
): ParseResult<Ipv6Chain> {
  const chain = out ?? emptyChain();
  chain.headers.length = 0;
  chain.options.length = 0;
  chain.unrecognizedOption = null;
  chain.routerAlert = -1;
  chain.fragment = null;
  chain.routing = null;
  let nh = buf[off + 6];
  let nhField = off + 6; // absolute offset of the Next Header field naming `nh`
  let p = off + IPV6_HEADER_LEN;
  while (ipv6IsExtensionHeader(nh)) {
    // RFC 8200 §4.1: "IPv6 nodes must accept and attempt to process extension headers in any
    // order and occurring any number of times in the same packet, except for the Hop-by-Hop
    // Options header, which is restricted to appear immediately after an IPv6 header only."
    // §4: "The same action should be taken if a node encounters a Next Header value of zero in
    // any header other than an IPv6 header" (Parameter Problem code 1).
    if (nh === NH_HOP_BY_HOP && p !== off + IPV6_HEADER_LEN) {
      setProblem(problem, PP_UNRECOGNIZED_NEXT_HEADER, nhField - off);
      return E_HBH_NOT_FIRST;
    }
    if (chain.headers.length >= limits.maxHeaders) {
      setProblem(problem, -1, nhField - off);
      return E_TOO_MANY_HEADERS;
    }
    // Every extension header is at least 8 bytes (RFC 8200 §4: "Each extension header is an
    // integer multiple of 8 octets long"), so the first 2 bytes are safe to read once 8 fit.
    if (end - p < 8) {
      setProblem(problem, -1, p - off);
      return E_EXT_TRUNC;
    }
    let hl: number;
    if (nh === NH_FRAGMENT) hl = IPV6_FRAGMENT_HEADER_LEN;
    // RFC 4302 §2.2: "This 8-bit field specifies the length of AH in 32-bit words (4-byte
    // units), minus "2"."
    else if (nh === NH_AH) hl = (buf[p + 1] + 2) << 2;
    // RFC 8200 §4.3 / §4.4 / §4.6 and RFC 6564 §4: "Hdr Ext Len: 8-bit unsigned integer.
    // Length of the ... header in 8-octet units, not including the first 8 octets."
    else hl = (buf[p + 1] + 1) << 3;
    if (hl > end - p) {
      setProblem(problem, -1, p - off);
      return E_EXT_TRUNC;
    }
    if (p + hl - (off + IPV6_HEADER_LEN) > limits.maxChainBytes) {
      setProblem(problem, -1, p - off);
      return E_CHAIN_TOO_LONG;
    }
    const next = buf[p];
    chain.headers.push({ type: nh, off: p, len: hl, nextHeader: next });
    if (nh === NH_HOP_BY_HOP || nh === NH_DEST_OPTS) {
      const oe = walkOptions(buf, nh, p + 2, p + hl, off, chain, limits, problem);
      if (oe !== null) return oe;
    } else if (nh === NH_ROUTING) {
      const rt = buf[p + 2];
      chain.routing = { off: p, routingType: rt, segmentsLeft: buf[p + 3], typePointer: p + 2 - off, deprecated: rt === 0 };
    } else if (nh === NH_FRAGMENT) {
      const fw = readU16(buf, p + 2);
      const dataLen = end - (p + IPV6_FRAGMENT_HEADER_LEN);
      const unfragmentableLen = p - (off + IPV6_HEADER_LEN);
      const f: Ipv6FragmentInfo = {
        off: p, nextHeader: next, fragOffset: fw & 0xfff8, more: (fw & 1) !== 0,
        ident: readU32(buf, p + 4), dataLen, unfragmentableLen,
      };
      chain.fragment = f;
      // RFC 8200 §4.5: "If the length of a fragment, as derived from the fragment packet's
      // Payload Length field, is not a multiple of 8 octets and the M flag of that fragment is
      // 1, then that fragment must be discarded and an ICMP Parameter Problem, Code 0, message
      // should be sent to the source of the fragment, pointing to the Payload Length field of
      // the fragment packet."
      if (whole && f.more && (dataLen & 7) !== 0) {
        setProblem(problem, PP_ERRONEOUS_FIELD, 4);
        return E_FRAG_NOT_MULTIPLE_8;
      }
      // "If the length and offset of a fragment are such that the Payload Length of the packet
      // reassembled from that fragment would exceed 65,535 octets, then that fragment must be
      // discarded and an ICMP Parameter Problem, Code 0, message should be sent to the source of
      // the fragment, pointing to the Fragment Offset field of the fragment packet."
      if (whole && unfragmentableLen + f.fragOffset + dataLen > IPV6_MAX_PAYLOAD) {
        setProblem(problem, PP_ERRONEOUS_FIELD, p + 2 - off);
        return E_FRAG_TOO_BIG;
      }
      // RFC 6946 §4: "A host that receives an IPv6 packet that includes a Fragment Header with
      // the "Fragment Offset" equal to 0 and the "M" flag equal to 0 MUST process such packet in
      // isolation from any other packets/fragments". Other fragments end the walk: what follows
      // is fragment data for reassembly, which re-walks the reassembled packet.
      if (f.fragOffset !== 0 || f.more) {
        chain.protocol = next;
        chain.protocolOff = p + hl;
        chain.protocolLen = end - (p + hl);
        chain.protocolPointer = p - off;
        return ok(chain);
      }
    }
    nhField = p;
    nh = next;
    p += hl;
  }
  // RFC 8200 §4.7: "If the Payload Length field of the IPv6 header indicates the presence of
  // octets past the end of a header whose Next Header field contains 59, those octets must be
  // ignored" (protocolLen still counts them; the caller ignores them for NH_NONE).
  chain.protocol = nh;
  chain.protocolOff = p;
  chain.protocolLen = end - p;
  chain.protocolPointer = nhField - off;
  return ok(chain);
}

/** Absolute offset of the address upper layers put in their pseudo-header as destination.
 *  RFC 8200 §8.1: "If the IPv6 packet contains a Routing header, the Destination Address used in
 *  the pseudo-header is that of the final destination. At the originating node, that address
 *  will be in the last element of the Routing header; at the recipient(s), that address will be
 *  in the Destination Address field of the IPv6 header." With Segments Left > 0 the packet is
 *  not yet at its last hop: for types 0 and 2 (RFC 6275 §6.4) the final destination is the last
 *  address of the header, for type 4 (RFC 8754 §2) Segment List[0]; otherwise (and for other
 *  types, whose layout is not known here) it is the header's Destination Address. */
export function ipv6FinalDestinationOff(buf: Uint8Array, ipOff: number, chain: Ipv6Chain): number {
  const r = chain.routing;
  if (r === null || r.segmentsLeft === 0) return ipOff + 24;
  const units = buf[r.off + 1]; // Hdr Ext Len: 2 per address for types 0 and 2
  if ((r.routingType === 0 || r.routingType === 2) && units >= 2) return r.off + 8 + 16 * ((units >>> 1) - 1);
  if (r.routingType === 4 && units >= 2) return r.off + 8;
  return ipOff + 24;
}

/** What the IP layer must do with a well-formed chain addressed to this host. */
export type Ipv6ChainVerdict =
  | { readonly action: 'accept' }
  | { readonly action: 'discard'; readonly reason: string }
  | { readonly action: 'paramProblem'; readonly code: number; readonly pointer: number; readonly reason: string };

const ACCEPT: Ipv6ChainVerdict = Object.freeze({ action: 'accept' as const });
const DISCARD_OPTION: Ipv6ChainVerdict = Object.freeze({
  action: 'discard' as const, reason: 'ipv6: unrecognized option (discard)',
});

function optionProblem(pointer: number): Ipv6ChainVerdict {
  return { action: 'paramProblem', code: PP_UNRECOGNIZED_OPTION, pointer, reason: 'ipv6: unrecognized option' };
}

/** Applies the receive rules that depend only on the chain: unrecognized options (RFC 8200
 *  §4.2) and Routing headers with Segments Left > 0 (this host implements no routing type).
 *  `dstIsMulticast` is the packet's destination. Whether `chain.protocol` is a recognized upper
 *  layer is the caller's check (Parameter Problem code 1 at `chain.protocolPointer`). */
export function ipv6ChainVerdict(chain: Ipv6Chain, dstIsMulticast: boolean): Ipv6ChainVerdict {
  const u = chain.unrecognizedOption;
  if (u !== null) {
    switch (u.action) {
      case OPT_ACTION_DISCARD:
        return DISCARD_OPTION;
      case OPT_ACTION_DISCARD_ICMP:
        return optionProblem(u.pointer);
      case OPT_ACTION_DISCARD_ICMP_UNICAST:
        return dstIsMulticast ? DISCARD_OPTION : optionProblem(u.pointer);
      default:
        break;
    }
  }
  const r = chain.routing;
  // RFC 8200 §4.4: "If Segments Left is zero, the node must ignore the Routing header and
  // proceed to process the next header in the packet ... If Segments Left is non-zero, the node
  // must discard the packet and send an ICMP Parameter Problem, Code 0, message to the packet's
  // Source Address, pointing to the unrecognized Routing Type." We recognize no routing type
  // (RFC 5095 makes type 0 one of the unrecognized).
  if (r !== null && r.segmentsLeft !== 0) {
    return {
      action: 'paramProblem', code: PP_ERRONEOUS_FIELD, pointer: r.typePointer,
      reason: r.deprecated ? 'ipv6: type 0 routing header (RFC 5095)' : 'ipv6: unrecognized routing type',
    };
  }
  return ACCEPT;
}

// ---------------------------------------------------------------------------------------------
// Extension headers: emit

export interface Ipv6FragmentHeader {
  nextHeader: number;
  /** Fragment offset in bytes; must be a multiple of 8. */
  fragOffset: number;
  more: boolean;
  ident: number;
}

/** Writes an 8-byte Fragment header at `off` (RFC 8200 §4.5; both reserved fields zero).
 *  Returns 8. */
export function emitIpv6Fragment(h: Ipv6FragmentHeader, buf: Uint8Array, off: number): number {
  buf[off] = h.nextHeader;
  buf[off + 1] = 0;
  writeU16(buf, off + 2, (h.fragOffset & 0xfff8) | (h.more ? 1 : 0));
  writeU32(buf, off + 4, h.ident);
  return IPV6_FRAGMENT_HEADER_LEN;
}

/** An option to emit: type and data (data length 0..255). */
export interface Ipv6OptionValue {
  type: number;
  data: Uint8Array;
}

/** Length of a Hop-by-Hop/Destination Options header holding `options`, padded to 8. */
export function ipv6OptionsHeaderLen(options: readonly Ipv6OptionValue[]): number {
  let n = 2;
  for (const o of options) n += o.type === OPT_PAD1 ? 1 : 2 + o.data.length;
  return (n + 7) & ~7;
}

/** Writes a Hop-by-Hop or Destination Options header at `off`: Next Header, Hdr Ext Len, the
 *  options in order, then padding to a multiple of 8 (RFC 8200 §4.2: Pad1 for one octet, PadN
 *  with zero data for two or more). Options are not aligned (no xn+y rules applied); callers
 *  that need alignment insert padding options. Returns the header length. */
export function emitIpv6OptionsHeader(
  nextHeader: number, options: readonly Ipv6OptionValue[], buf: Uint8Array, off: number,
): number {
  const hl = ipv6OptionsHeaderLen(options);
  buf[off] = nextHeader;
  buf[off + 1] = (hl >>> 3) - 1;
  let p = off + 2;
  for (const o of options) {
    buf[p++] = o.type;
    if (o.type === OPT_PAD1) continue;
    buf[p++] = o.data.length;
    buf.set(o.data, p);
    p += o.data.length;
  }
  const pad = off + hl - p;
  if (pad === 1) buf[p] = OPT_PAD1;
  else if (pad >= 2) {
    buf[p] = OPT_PADN;
    buf[p + 1] = pad - 2;
    buf.fill(0, p + 2, off + hl);
  }
  return hl;
}

/** The Router Alert option value for MLD (RFC 2711 §2.1: "0 Datagram contains a Multicast
 *  Listener Discovery message [RFC-2710]"). */
export function routerAlertMld(): Ipv6OptionValue {
  return { type: OPT_ROUTER_ALERT, data: Uint8Array.of(0, 0) };
}
