// Neighbor Discovery messages: Router Solicitation and Advertisement, Neighbor Solicitation and
// Advertisement, Redirect, and their options (source/target link-layer address, prefix
// information, redirected header, MTU). Views, message values, parse with the RFC 4861
// validity checks that depend only on the packet, and emit into a caller-provided buffer.
// Follows RFC 4861 (Neighbor Discovery), in the context of RFC 4862 (SLAAC: the A flag and the
// lifetimes of the Prefix Information option), RFC 4191 (router preference bits) and RFC 2464
// §6 (link-layer address options on Ethernet are 8 bytes).
//
// What the parsers check (RFC 4861 §6.1.1, §6.1.2, §7.1.1, §7.1.2, §8.1: "A node MUST silently
// discard any received ... messages that do not satisfy all of the following validity checks"):
// - "The IP Hop Limit field has a value of 255, i.e., the packet could not possibly have been
//   forwarded by a router."                                                    -> 'unexpected'
// - "ICMP Checksum is valid."                                                  -> 'checksum'
// - "ICMP Code is 0."                                                          -> 'format'
// - "ICMP length (derived from the IP length) is 8 [RS] / 16 [RA] / 24 [NS, NA] / 40 [Redirect]
//   or more octets."                                                           -> 'format'
// - "All included options have a length that is greater than zero."            -> 'format'
// - the per-message address rules quoted at `validateNdp`                     -> 'unexpected'
// Rules that need state (the Redirect's source being the current first-hop router, the
// hop-by-hop and prefix rules of RFC 4861 §6.3.4 / RFC 4862 §5.5.3) belong to the NDP layer.
// Options with a known type but a size that does not fit their format are 'format' errors; a
// link-layer address option keeps all its bytes (6 on Ethernet).

import { Ipv6Addr, ipv6IsLinkLocal, ipv6IsMulticast, ipv6IsSolicitedNode, ipv6IsUnspecified, ipv6Equal } from './address';
import { rangeOk, readU16, readU32, writeU16, writeU32 } from './bytes';
import {
  ICMPV6_NEIGHBOR_ADVERT, ICMPV6_NEIGHBOR_SOLICIT, ICMPV6_REDIRECT, ICMPV6_ROUTER_ADVERT,
  ICMPV6_ROUTER_SOLICIT, icmpv6Checksum,
} from './icmpv6';
import { ParseError, ParseResult, err, ok } from './result';

// Option types (RFC 4861 §4.6; IANA "IPv6 Neighbor Discovery Option Formats").
export const NDP_OPT_SOURCE_LINK_ADDR = 1;
export const NDP_OPT_TARGET_LINK_ADDR = 2;
export const NDP_OPT_PREFIX_INFO = 3;
export const NDP_OPT_REDIRECTED_HEADER = 4;
export const NDP_OPT_MTU = 5;
/** RFC 3971 §5.3.2, also used by RFC 7527 enhanced DAD; not interpreted here. */
export const NDP_OPT_NONCE = 14;

/** The hop limit every ND message is sent and must be received with. */
export const NDP_HOP_LIMIT = 255;

/** Fixed part of each message before its options (ICMP header included). */
export const RS_LEN = 8;
export const RA_LEN = 16;
export const NS_LEN = 24;
export const NA_LEN = 24;
export const REDIRECT_LEN = 40;

/** RFC 4861 §4.2 flags octet. */
export const RA_FLAG_MANAGED = 0x80;
export const RA_FLAG_OTHER = 0x40;
/** RFC 4861 §4.4 flags (first octet of the 32-bit field). */
export const NA_FLAG_ROUTER = 0x80;
export const NA_FLAG_SOLICITED = 0x40;
export const NA_FLAG_OVERRIDE = 0x20;
/** RFC 4861 §4.6.2 prefix flags. */
export const PREFIX_FLAG_ON_LINK = 0x80;
export const PREFIX_FLAG_AUTONOMOUS = 0x40;
/** RFC 4861 §4.6.2: "A value of all one bits (0xffffffff) represents infinity." */
export const NDP_INFINITE_LIFETIME = 0xffffffff;

// ---------------------------------------------------------------------------------------------
// Values

/** Prefix Information (RFC 4861 §4.6.2), 32 bytes on the wire. */
export interface NdpPrefixInfo {
  kind: 'prefixInfo';
  /** "The number of leading bits in the Prefix that are valid. The value ranges from 0 to 128." */
  prefixLength: number;
  /** L: "When set, indicates that this prefix can be used for on-link determination." */
  onLink: boolean;
  /** A: "When set indicates that this prefix can be used for stateless address
   *  configuration as specified in [ADDRCONF]." */
  autonomous: boolean;
  /** The other six bits of the flags octet (Reserved1 in RFC 4861; R in RFC 6275), kept so a
   *  parsed option re-emits identically. */
  otherFlags: number;
  /** Seconds; 0xffffffff is infinity. */
  validLifetime: number;
  preferredLifetime: number;
  prefix: Ipv6Addr;
}

export type NdpOption =
  /** RFC 4861 §4.6.1. `addr` is the option's address bytes (length * 8 - 2 of them; RFC 2464
   *  §6 makes this the 6-byte MAC on Ethernet). */
  | { kind: 'sourceLinkAddr'; addr: Uint8Array }
  | { kind: 'targetLinkAddr'; addr: Uint8Array }
  | NdpPrefixInfo
  /** RFC 4861 §4.6.3: "IP header + data: The original packet truncated to ensure that the size
   *  of the redirect message does not exceed the minimum MTU". `data` is everything after the
   *  6 reserved bytes, padding included (a subarray of the input after parse). */
  | { kind: 'redirectedHeader'; data: Uint8Array }
  /** RFC 4861 §4.6.4: "The recommended MTU for the link." */
  | { kind: 'mtu'; mtu: number }
  /** RFC 4861 §4.6: "Receivers MUST silently ignore any options they do not recognize and
   *  continue processing the message." Kept (data after type and length, a subarray of the
   *  input) so they can be counted and re-emitted. */
  | { kind: 'unknown'; type: number; data: Uint8Array };

export interface RouterSolicit {
  kind: 'routerSolicit';
  options: NdpOption[];
}

export interface RouterAdvert {
  kind: 'routerAdvert';
  /** "The default value that should be placed in the Hop Count field of the IP header for
   *  outgoing IP packets. A value of zero means unspecified (by this router)." */
  curHopLimit: number;
  /** M: "Managed address configuration" flag. */
  managed: boolean;
  /** O: "Other configuration" flag. */
  otherConfig: boolean;
  /** The other six bits of the flags octet (H of RFC 6275, Prf of RFC 4191, ...). */
  otherFlags: number;
  /** Seconds; 0 = "not a default router". */
  routerLifetime: number;
  /** Milliseconds; 0 = unspecified. */
  reachableTime: number;
  /** Milliseconds; 0 = unspecified. */
  retransTimer: number;
  options: NdpOption[];
}

export interface NeighborSolicit {
  kind: 'neighborSolicit';
  target: Ipv6Addr;
  options: NdpOption[];
}

export interface NeighborAdvert {
  kind: 'neighborAdvert';
  /** R: "When set, the R-bit indicates that the sender is a router." */
  router: boolean;
  /** S: "When set, the S-bit indicates that the advertisement was sent in response to a
   *  Neighbor Solicitation from the Destination address." */
  solicited: boolean;
  /** O: "When set, the O-bit indicates that the advertisement should override an existing
   *  cache entry and update the cached link-layer address." */
  override: boolean;
  target: Ipv6Addr;
  options: NdpOption[];
}

export interface Redirect {
  kind: 'redirect';
  /** "An IP address that is a better first hop to use for the ICMP Destination Address." */
  target: Ipv6Addr;
  /** "The IP address of the destination that is redirected to the target." */
  destination: Ipv6Addr;
  options: NdpOption[];
}

export type NdpMessage = RouterSolicit | RouterAdvert | NeighborSolicit | NeighborAdvert | Redirect;

/** What the validity checks need from the IPv6 header (an Ipv6Header fits). */
export interface NdpIpContext {
  src: Ipv6Addr;
  dst: Ipv6Addr;
  hopLimit: number;
}

// ---------------------------------------------------------------------------------------------
// Views

/** View over one option at `off`: Type, Length (in units of 8 octets), data. */
export class NdpOptionView {
  constructor(public buf: Uint8Array, public off: number) {}
  get type(): number {
    return this.buf[this.off];
  }
  /** The Length field: "The length of the option (including the type and length fields) in
   *  units of 8 octets." */
  get length(): number {
    return this.buf[this.off + 1];
  }
  get byteLen(): number {
    return this.buf[this.off + 1] << 3;
  }
  get dataOff(): number {
    return this.off + 2;
  }
}

/** View over an ND message of `len` bytes at `off` (the ICMPv6 header included). Field getters
 *  are valid for the message types they belong to once `NdpView.check` has passed. */
export class NdpView {
  constructor(public buf: Uint8Array, public off: number, public len: number) {}

  /** Null when the region is valid and at least the fixed part of the message's type fits.
   *  Unknown types are 'unexpected'. */
  static check(buf: Uint8Array, off: number, len: number): ParseError | null {
    if (!rangeOk(buf, off, len) || len < RS_LEN) return E_SHORT;
    const fixed = ndpFixedLen(buf[off]);
    if (fixed < 0) return E_TYPE;
    if (len < fixed) return E_SHORT;
    return null;
  }

  static checked(buf: Uint8Array, off: number, len: number): ParseResult<NdpView> {
    return NdpView.check(buf, off, len) ?? ok(new NdpView(buf, off, len));
  }

  get type(): number {
    return this.buf[this.off];
  }
  get code(): number {
    return this.buf[this.off + 1];
  }
  get checksum(): number {
    return readU16(this.buf, this.off + 2);
  }
  set checksum(v: number) {
    writeU16(this.buf, this.off + 2, v);
  }
  /** RA: Cur Hop Limit. */
  get curHopLimit(): number {
    return this.buf[this.off + 4];
  }
  set curHopLimit(v: number) {
    this.buf[this.off + 4] = v;
  }
  /** RA: the flags octet (M, O, ...). */
  get raFlags(): number {
    return this.buf[this.off + 5];
  }
  set raFlags(v: number) {
    this.buf[this.off + 5] = v;
  }
  /** RA: Router Lifetime, seconds. */
  get routerLifetime(): number {
    return readU16(this.buf, this.off + 6);
  }
  set routerLifetime(v: number) {
    writeU16(this.buf, this.off + 6, v);
  }
  /** RA: Reachable Time, milliseconds. */
  get reachableTime(): number {
    return readU32(this.buf, this.off + 8);
  }
  set reachableTime(v: number) {
    writeU32(this.buf, this.off + 8, v);
  }
  /** RA: Retrans Timer, milliseconds. */
  get retransTimer(): number {
    return readU32(this.buf, this.off + 12);
  }
  set retransTimer(v: number) {
    writeU32(this.buf, this.off + 12, v);
  }
  /** NA: the flags octet (R, S, O). */
  get naFlags(): number {
    return this.buf[this.off + 4];
  }
  set naFlags(v: number) {
    this.buf[this.off + 4] = v;
  }
  /** NS, NA, Redirect: absolute offset of the Target Address. */
  get targetOff(): number {
    return this.off + 8;
  }
  /** Redirect: absolute offset of the Destination Address. */
  get destinationOff(): number {
    return this.off + 24;
  }
  /** Absolute offset of the first option. */
  get optionsOff(): number {
    return this.off + ndpFixedLen(this.buf[this.off]);
  }
  verifyChecksum(src: Ipv6Addr, dst: Ipv6Addr): boolean {
    return icmpv6Checksum(this.buf, this.off, this.len, src, dst) === 0;
  }
}

/** The fixed length of an ND message type, or -1 if `type` is not an ND message. */
export function ndpFixedLen(type: number): number {
  switch (type) {
    case ICMPV6_ROUTER_SOLICIT: return RS_LEN;
    case ICMPV6_ROUTER_ADVERT: return RA_LEN;
    case ICMPV6_NEIGHBOR_SOLICIT: return NS_LEN;
    case ICMPV6_NEIGHBOR_ADVERT: return NA_LEN;
    case ICMPV6_REDIRECT: return REDIRECT_LEN;
    default: return -1;
  }
}

// ---------------------------------------------------------------------------------------------
// Parse

const E_SHORT = err('format', 'ndp: ICMP length below the message minimum');
const E_TYPE = err('unexpected', 'ndp: not a neighbor discovery message type');
const E_WRONG_TYPE = err('unexpected', 'ndp: message type differs from the one asked for');
const E_CODE = err('format', 'ndp: ICMP code is not 0');
const E_CHECKSUM = err('checksum', 'ndp: checksum');
const E_HOP_LIMIT = err('unexpected', 'ndp: hop limit is not 255');
export const E_NDP_OPT_ZERO = err('format', 'ndp: option with length zero');
const E_OPT_OVERRUN = err('format', 'ndp: option overruns the message');
const E_OPT_SIZE = err('format', 'ndp: option size does not fit its type');
const E_RA_SRC = err('unexpected', 'ndp: router advertisement source is not link-local');
const E_REDIRECT_SRC = err('unexpected', 'ndp: redirect source is not link-local');
const E_TARGET_MULTICAST = err('unexpected', 'ndp: target address is multicast');
const E_DAD_DST = err('unexpected', 'ndp: solicitation from :: not to a solicited-node address');
const E_SLLA_FROM_UNSPEC = err('unexpected', 'ndp: source link-layer option with source ::');
const E_SOLICITED_MULTICAST = err('unexpected', 'ndp: solicited advertisement to a multicast address');
const E_REDIRECT_DST_MULTICAST = err('unexpected', 'ndp: redirect destination is multicast');
const E_REDIRECT_TARGET = err('unexpected', 'ndp: redirect target neither link-local nor the destination');

/** Parses the options in [p, end) into `out`. RFC 4861 §4.6: "Length: The length of the option
 *  (including the type and length fields) in units of 8 octets. The value 0 is invalid. Nodes
 *  MUST silently discard an ND packet that contains an option with length zero." */
function parseOptions(buf: Uint8Array, p: number, end: number, out: NdpOption[]): ParseError | null {
  while (p < end) {
    if (end - p < 2) return E_OPT_OVERRUN;
    const type = buf[p];
    const units = buf[p + 1];
    if (units === 0) return E_NDP_OPT_ZERO;
    const n = units << 3;
    if (n > end - p) return E_OPT_OVERRUN;
    switch (type) {
      case NDP_OPT_SOURCE_LINK_ADDR:
        out.push({ kind: 'sourceLinkAddr', addr: buf.slice(p + 2, p + n) });
        break;
      case NDP_OPT_TARGET_LINK_ADDR:
        out.push({ kind: 'targetLinkAddr', addr: buf.slice(p + 2, p + n) });
        break;
      case NDP_OPT_PREFIX_INFO: {
        // RFC 4861 §4.6.2: "Length 4"
        if (units !== 4) return E_OPT_SIZE;
        const flags = buf[p + 3];
        out.push({
          kind: 'prefixInfo',
          prefixLength: buf[p + 2],
          onLink: (flags & PREFIX_FLAG_ON_LINK) !== 0,
          autonomous: (flags & PREFIX_FLAG_AUTONOMOUS) !== 0,
          otherFlags: flags & 0x3f,
          validLifetime: readU32(buf, p + 4),
          preferredLifetime: readU32(buf, p + 8),
          // Reserved2 (p + 12, 4 bytes): "This field is unused. It MUST be initialized to zero
          // by the sender and MUST be ignored by the receiver."
          prefix: buf.slice(p + 16, p + 32),
        });
        break;
      }
      case NDP_OPT_REDIRECTED_HEADER:
        // RFC 4861 §4.6.3: Type, Length, 6 reserved bytes, then the IP header + data.
        out.push({ kind: 'redirectedHeader', data: buf.subarray(p + 8, p + n) });
        break;
      case NDP_OPT_MTU:
        // RFC 4861 §4.6.4: "Length 1"
        if (units !== 1) return E_OPT_SIZE;
        out.push({ kind: 'mtu', mtu: readU32(buf, p + 4) });
        break;
      default:
        out.push({ kind: 'unknown', type, data: buf.subarray(p + 2, p + n) });
        break;
    }
    p += n;
  }
  return null;
}

/** Checks shared by every message: region, type, fixed length, code, hop limit, checksum. */
function checkCommon(
  buf: Uint8Array, off: number, len: number, type: number, ip: NdpIpContext, verifyChecksum: boolean,
): ParseError | null {
  const e = NdpView.check(buf, off, len);
  if (e !== null) return e;
  if (type >= 0 && buf[off] !== type) return E_WRONG_TYPE;
  if (buf[off + 1] !== 0) return E_CODE;
  if (ip.hopLimit !== NDP_HOP_LIMIT) return E_HOP_LIMIT;
  if (verifyChecksum && icmpv6Checksum(buf, off, len, ip.src, ip.dst) !== 0) return E_CHECKSUM;
  return null;
}

/** The packet-level validity checks without decoding anything (no allocation): region, ND
 *  type, ICMP length >= the type's minimum, code 0, hop limit 255, checksum, and every option
 *  length non-zero and inside the message. The address rules need the decoded message; see
 *  validateNdp. Returns null when the packet passes. */
export function ndpCheckPacket(
  buf: Uint8Array, off: number, len: number, ip: NdpIpContext, verifyChecksum = true,
): ParseError | null {
  const e = checkCommon(buf, off, len, -1, ip, verifyChecksum);
  if (e !== null) return e;
  const end = off + len;
  let p = off + ndpFixedLen(buf[off]);
  while (p < end) {
    if (end - p < 2) return E_OPT_OVERRUN;
    const n = buf[p + 1] << 3;
    if (n === 0) return E_NDP_OPT_ZERO;
    if (n > end - p) return E_OPT_OVERRUN;
    p += n;
  }
  return null;
}

function decode(buf: Uint8Array, off: number, len: number): ParseResult<NdpMessage> {
  const type = buf[off];
  const options: NdpOption[] = [];
  const oe = parseOptions(buf, off + ndpFixedLen(type), off + len, options);
  if (oe !== null) return oe;
  switch (type) {
    case ICMPV6_ROUTER_SOLICIT:
      // Reserved: "This field is unused. It MUST be initialized to zero by the sender and MUST
      // be ignored by the receiver." (the same for every reserved field below)
      return ok({ kind: 'routerSolicit', options });
    case ICMPV6_ROUTER_ADVERT: {
      const f = buf[off + 5];
      return ok({
        kind: 'routerAdvert',
        curHopLimit: buf[off + 4],
        managed: (f & RA_FLAG_MANAGED) !== 0,
        otherConfig: (f & RA_FLAG_OTHER) !== 0,
        otherFlags: f & 0x3f,
        routerLifetime: readU16(buf, off + 6),
        reachableTime: readU32(buf, off + 8),
        retransTimer: readU32(buf, off + 12),
        options,
      });
    }
    case ICMPV6_NEIGHBOR_SOLICIT:
      return ok({ kind: 'neighborSolicit', target: buf.slice(off + 8, off + 24), options });
    case ICMPV6_NEIGHBOR_ADVERT: {
      const f = buf[off + 4];
      return ok({
        kind: 'neighborAdvert',
        router: (f & NA_FLAG_ROUTER) !== 0,
        solicited: (f & NA_FLAG_SOLICITED) !== 0,
        override: (f & NA_FLAG_OVERRIDE) !== 0,
        target: buf.slice(off + 8, off + 24),
        options,
      });
    }
    default: // ICMPV6_REDIRECT (checkCommon let only ND types through)
      return ok({
        kind: 'redirect',
        target: buf.slice(off + 8, off + 24),
        destination: buf.slice(off + 24, off + 40),
        options,
      });
  }
}

function parseTyped(
  buf: Uint8Array, off: number, len: number, type: number, ip: NdpIpContext, verifyChecksum: boolean,
): ParseResult<NdpMessage> {
  const e = checkCommon(buf, off, len, type, ip, verifyChecksum);
  if (e !== null) return e;
  const r = decode(buf, off, len);
  if (!r.ok) return r;
  const v = validateNdp(r.value, ip);
  return v ?? r;
}

/** Parses any ND message (types 133..137) of `len` bytes at `off` (the ICMPv6 message from the
 *  chain walk), with every packet-only validity check. Never throws. */
export function parseNdp(
  buf: Uint8Array, off: number, len: number, ip: NdpIpContext, verifyChecksum = true,
): ParseResult<NdpMessage> {
  return parseTyped(buf, off, len, -1, ip, verifyChecksum);
}

export function parseRouterSolicit(
  buf: Uint8Array, off: number, len: number, ip: NdpIpContext, verifyChecksum = true,
): ParseResult<RouterSolicit> {
  return parseTyped(buf, off, len, ICMPV6_ROUTER_SOLICIT, ip, verifyChecksum) as ParseResult<RouterSolicit>;
}

export function parseRouterAdvert(
  buf: Uint8Array, off: number, len: number, ip: NdpIpContext, verifyChecksum = true,
): ParseResult<RouterAdvert> {
  return parseTyped(buf, off, len, ICMPV6_ROUTER_ADVERT, ip, verifyChecksum) as ParseResult<RouterAdvert>;
}

export function parseNeighborSolicit(
  buf: Uint8Array, off: number, len: number, ip: NdpIpContext, verifyChecksum = true,
): ParseResult<NeighborSolicit> {
  return parseTyped(buf, off, len, ICMPV6_NEIGHBOR_SOLICIT, ip, verifyChecksum) as ParseResult<NeighborSolicit>;
}

export function parseNeighborAdvert(
  buf: Uint8Array, off: number, len: number, ip: NdpIpContext, verifyChecksum = true,
): ParseResult<NeighborAdvert> {
  return parseTyped(buf, off, len, ICMPV6_NEIGHBOR_ADVERT, ip, verifyChecksum) as ParseResult<NeighborAdvert>;
}

export function parseRedirect(
  buf: Uint8Array, off: number, len: number, ip: NdpIpContext, verifyChecksum = true,
): ParseResult<Redirect> {
  return parseTyped(buf, off, len, ICMPV6_REDIRECT, ip, verifyChecksum) as ParseResult<Redirect>;
}

function hasOption(m: NdpMessage, kind: NdpOption['kind']): boolean {
  for (const o of m.options) if (o.kind === kind) return true;
  return false;
}

/** The per-message validity rules of RFC 4861 that depend on the IPv6 addresses and the
 *  message fields only. Returns null when valid. (Hop limit, code, length, checksum and option
 *  lengths are checked while parsing.) */
export function validateNdp(m: NdpMessage, ip: NdpIpContext): ParseError | null {
  const fromUnspecified = ipv6IsUnspecified(ip.src);
  switch (m.kind) {
    case 'routerSolicit':
      // §6.1.1: "If the IP source address is the unspecified address, there is no source
      // link-layer address option in the message."
      if (fromUnspecified && hasOption(m, 'sourceLinkAddr')) return E_SLLA_FROM_UNSPEC;
      return null;
    case 'routerAdvert':
      // §6.1.2: "IP Source Address is a link-local address. Routers must use their link-local
      // address as the source for Router Advertisement and Redirect messages so that hosts can
      // uniquely identify routers."
      if (!ipv6IsLinkLocal(ip.src)) return E_RA_SRC;
      return null;
    case 'neighborSolicit':
      // §7.1.1: "Target Address is not a multicast address."
      if (ipv6IsMulticast(m.target)) return E_TARGET_MULTICAST;
      if (fromUnspecified) {
        // "If the IP source address is the unspecified address, the IP destination address is
        // a solicited-node multicast address."
        if (!ipv6IsSolicitedNode(ip.dst)) return E_DAD_DST;
        // "If the IP source address is the unspecified address, there is no source link-layer
        // address option in the message."
        if (hasOption(m, 'sourceLinkAddr')) return E_SLLA_FROM_UNSPEC;
      }
      return null;
    case 'neighborAdvert':
      // §7.1.2: "Target Address is not a multicast address."
      if (ipv6IsMulticast(m.target)) return E_TARGET_MULTICAST;
      // "If the IP Destination Address is a multicast address the Solicited flag is zero."
      if (ipv6IsMulticast(ip.dst) && m.solicited) return E_SOLICITED_MULTICAST;
      return null;
    case 'redirect':
      // §8.1: "IP Source Address is a link-local address."
      if (!ipv6IsLinkLocal(ip.src)) return E_REDIRECT_SRC;
      // "The ICMP Destination Address field in the redirect message does not contain a
      // multicast address."
      if (ipv6IsMulticast(m.destination)) return E_REDIRECT_DST_MULTICAST;
      // "The ICMP Target Address is either a link-local address (when redirected to a router)
      // or the same as the ICMP Destination Address (when redirected to the on-link
      // destination)."
      if (!ipv6IsLinkLocal(m.target) && !ipv6Equal(m.target, m.destination)) return E_REDIRECT_TARGET;
      return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Option lookup

export function ndpSourceLinkAddr(m: { options: NdpOption[] }): Uint8Array | null {
  for (const o of m.options) if (o.kind === 'sourceLinkAddr') return o.addr;
  return null;
}

export function ndpTargetLinkAddr(m: { options: NdpOption[] }): Uint8Array | null {
  for (const o of m.options) if (o.kind === 'targetLinkAddr') return o.addr;
  return null;
}

/** The MTU option's value, or -1. */
export function ndpMtu(m: { options: NdpOption[] }): number {
  for (const o of m.options) if (o.kind === 'mtu') return o.mtu;
  return -1;
}

export function ndpPrefixes(m: { options: NdpOption[] }): NdpPrefixInfo[] {
  const out: NdpPrefixInfo[] = [];
  for (const o of m.options) if (o.kind === 'prefixInfo') out.push(o);
  return out;
}

/** RFC 4191 §2.2 Default Router Preference from an RA's flags: 1 high, 0 medium, -1 low. "If
 *  the Reserved (10) value is received, the receiver MUST treat the value as if it were (00)." */
export function raPreference(ra: RouterAdvert): number {
  const prf = (ra.otherFlags >>> 3) & 3;
  return prf === 1 ? 1 : prf === 3 ? -1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Emit

/** Bytes an option takes on the wire (a multiple of 8). */
export function ndpOptionLen(o: NdpOption): number {
  switch (o.kind) {
    case 'sourceLinkAddr': case 'targetLinkAddr': return (2 + o.addr.length + 7) & ~7;
    case 'prefixInfo': return 32;
    case 'redirectedHeader': return (8 + o.data.length + 7) & ~7;
    case 'mtu': return 8;
    case 'unknown': return (2 + o.data.length + 7) & ~7;
  }
}

export function ndpOptionsLen(options: readonly NdpOption[]): number {
  let n = 0;
  for (const o of options) n += ndpOptionLen(o);
  return n;
}

/** The whole message length (ICMPv6 header, fixed part, options). */
export function ndpMessageLen(m: NdpMessage): number {
  return ndpFixedLen(ndpType(m)) + ndpOptionsLen(m.options);
}

export function ndpType(m: NdpMessage): number {
  switch (m.kind) {
    case 'routerSolicit': return ICMPV6_ROUTER_SOLICIT;
    case 'routerAdvert': return ICMPV6_ROUTER_ADVERT;
    case 'neighborSolicit': return ICMPV6_NEIGHBOR_SOLICIT;
    case 'neighborAdvert': return ICMPV6_NEIGHBOR_ADVERT;
    case 'redirect': return ICMPV6_REDIRECT;
  }
}

/** Writes one option at `off`, zero-padded to its length; returns the bytes written. Option
 *  data may be a subarray of `buf` itself (TypedArray.set copies overlapping sources first). */
export function emitNdpOption(o: NdpOption, buf: Uint8Array, off: number): number {
  const n = ndpOptionLen(o);
  switch (o.kind) {
    case 'sourceLinkAddr':
    case 'targetLinkAddr':
      buf.set(o.addr, off + 2);
      buf.fill(0, off + 2 + o.addr.length, off + n);
      buf[off] = o.kind === 'sourceLinkAddr' ? NDP_OPT_SOURCE_LINK_ADDR : NDP_OPT_TARGET_LINK_ADDR;
      break;
    case 'prefixInfo':
      buf[off] = NDP_OPT_PREFIX_INFO;
      buf[off + 2] = o.prefixLength;
      buf[off + 3] = (o.onLink ? PREFIX_FLAG_ON_LINK : 0) | (o.autonomous ? PREFIX_FLAG_AUTONOMOUS : 0) |
        (o.otherFlags & 0x3f);
      writeU32(buf, off + 4, o.validLifetime);
      writeU32(buf, off + 8, o.preferredLifetime);
      writeU32(buf, off + 12, 0); // Reserved2
      for (let i = 0; i < 16; i++) buf[off + 16 + i] = o.prefix[i];
      break;
    case 'redirectedHeader':
      buf.set(o.data, off + 8);
      buf.fill(0, off + 8 + o.data.length, off + n);
      buf.fill(0, off + 2, off + 8); // Reserved
      buf[off] = NDP_OPT_REDIRECTED_HEADER;
      break;
    case 'mtu':
      buf[off] = NDP_OPT_MTU;
      writeU16(buf, off + 2, 0); // Reserved
      writeU32(buf, off + 4, o.mtu);
      break;
    case 'unknown':
      buf.set(o.data, off + 2);
      buf.fill(0, off + 2 + o.data.length, off + n);
      buf[off] = o.type;
      break;
  }
  buf[off + 1] = n >>> 3;
  return n;
}

function emitOptions(options: readonly NdpOption[], buf: Uint8Array, off: number): number {
  let p = off;
  for (const o of options) p += emitNdpOption(o, buf, p);
  return p - off;
}

/** Writes any ND message at `off` (ICMPv6 header, fixed part, options, checksum for
 *  `src` -> `dst`; reserved fields zero). The caller leaves ndpMessageLen(m) bytes of room.
 *  Returns the message length. */
export function emitNdp(m: NdpMessage, buf: Uint8Array, off: number, src: Ipv6Addr, dst: Ipv6Addr): number {
  const fixed = ndpFixedLen(ndpType(m));
  buf.fill(0, off, off + fixed);
  buf[off] = ndpType(m);
  switch (m.kind) {
    case 'routerSolicit':
      break;
    case 'routerAdvert':
      buf[off + 4] = m.curHopLimit;
      buf[off + 5] = (m.managed ? RA_FLAG_MANAGED : 0) | (m.otherConfig ? RA_FLAG_OTHER : 0) | (m.otherFlags & 0x3f);
      writeU16(buf, off + 6, m.routerLifetime);
      writeU32(buf, off + 8, m.reachableTime);
      writeU32(buf, off + 12, m.retransTimer);
      break;
    case 'neighborSolicit':
      for (let i = 0; i < 16; i++) buf[off + 8 + i] = m.target[i];
      break;
    case 'neighborAdvert':
      buf[off + 4] = (m.router ? NA_FLAG_ROUTER : 0) | (m.solicited ? NA_FLAG_SOLICITED : 0) |
        (m.override ? NA_FLAG_OVERRIDE : 0);
      for (let i = 0; i < 16; i++) buf[off + 8 + i] = m.target[i];
      break;
    case 'redirect':
      for (let i = 0; i < 16; i++) buf[off + 8 + i] = m.target[i];
      for (let i = 0; i < 16; i++) buf[off + 24 + i] = m.destination[i];
      break;
  }
  const len = fixed + emitOptions(m.options, buf, off + fixed);
  writeU16(buf, off + 2, icmpv6Checksum(buf, off, len, src, dst));
  return len;
}

export function emitRouterSolicit(m: RouterSolicit, buf: Uint8Array, off: number, src: Ipv6Addr, dst: Ipv6Addr): number {
  return emitNdp(m, buf, off, src, dst);
}

export function emitRouterAdvert(m: RouterAdvert, buf: Uint8Array, off: number, src: Ipv6Addr, dst: Ipv6Addr): number {
  return emitNdp(m, buf, off, src, dst);
}

export function emitNeighborSolicit(m: NeighborSolicit, buf: Uint8Array, off: number, src: Ipv6Addr, dst: Ipv6Addr): number {
  return emitNdp(m, buf, off, src, dst);
}

export function emitNeighborAdvert(m: NeighborAdvert, buf: Uint8Array, off: number, src: Ipv6Addr, dst: Ipv6Addr): number {
  return emitNdp(m, buf, off, src, dst);
}

export function emitRedirect(m: Redirect, buf: Uint8Array, off: number, src: Ipv6Addr, dst: Ipv6Addr): number {
  return emitNdp(m, buf, off, src, dst);
}

/** The redirected-header option for a Redirect (RFC 4861 §8.2: "as much of the forwarded packet
 *  as can fit without the redirect packet exceeding the minimum MTU required to support IPv6").
 *  `fixedLen` is the size of everything else in the Redirect (IPv6 header, 40-byte message,
 *  other options). The data is a subarray of `packet`. */
export function ndpRedirectedHeader(packet: Uint8Array, off: number, len: number, fixedLen: number): NdpOption {
  const room = (1280 - fixedLen - 8) & ~7;
  const n = Math.max(0, Math.min(len, room));
  return { kind: 'redirectedHeader', data: packet.subarray(off, off + n) };
}
