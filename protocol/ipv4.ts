// The IPv4 header: view, header value (with options as a list), parse with validation and
// header-checksum verification, emit with checksum. Follows RFC 791 (Internet Protocol),
// RFC 1122 §3.2.1 (requirements on receiving IP), RFC 2474/3168 (DSCP and ECN in the old TOS
// octet), RFC 6864 (the ID field) and RFC 1071 (checksum).
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   |Version|  IHL  |    DSCP   |ECN|          Total Length         |
//   |         Identification        |Flags|      Fragment Offset    |
//   |  Time to Live |    Protocol   |         Header Checksum       |
//   |                       Source Address                          |
//   |                    Destination Address                        |
//   |                    Options                    |    Padding    |
//
// Fragment offsets are kept in bytes in the header value (the wire field counts 8-byte units).
// Reassembly is not here; this file only reads and writes one header.

import { Ipv4Addr } from './address';
import { okReused, rangeOk, readU16, readU32, writeU16, writeU32 } from './bytes';
import { sum16, finish } from './checksum';
import { ParseError, ParseResult, err, ok } from './result';

export const IPV4_MIN_HEADER_LEN = 20;
export const IPV4_MAX_HEADER_LEN = 60;
/** RFC 791: "Total Length is the length of the datagram ... allows the length of a datagram to
 *  be up to 65,535 octets." */
export const IPV4_MAX_DATAGRAM = 65535;
/** RFC 791: "Every internet module must be able to forward a datagram of 68 octets without
 *  further fragmentation." */
export const IPV4_MIN_MTU = 68;

export const IP_PROTO_ICMP = 1;
export const IP_PROTO_IGMP = 2;
export const IP_PROTO_TCP = 6;
export const IP_PROTO_UDP = 17;
export const IP_PROTO_IPV6_ICMP = 58;

/** Option types (RFC 791 §3.1; IANA "IP Option Numbers"). Type = copied(1) class(2) number(5). */
export const IPV4_OPT_EOL = 0;
export const IPV4_OPT_NOP = 1;
export const IPV4_OPT_RR = 7; // Record Route
export const IPV4_OPT_TS = 68; // Internet Timestamp
export const IPV4_OPT_LSRR = 131; // Loose Source and Record Route
export const IPV4_OPT_SSRR = 137; // Strict Source and Record Route
export const IPV4_OPT_RA = 148; // Router Alert (RFC 2113)

/** One option. EOL and NOP carry no data; every other type is type/length/value and `data`
 *  holds the value bytes (length - 2 of them). After parse, `data` is a subarray of the input
 *  buffer (no copy). */
export interface Ipv4Option {
  type: number;
  data?: Uint8Array;
}

export interface Ipv4Header {
  /** Differentiated Services code point (RFC 2474), 6 bits. */
  dscp: number;
  /** Explicit Congestion Notification (RFC 3168), 2 bits. */
  ecn: number;
  /** Identification. */
  ident: number;
  /** The reserved flag bit (RFC 791: "Bit 0: reserved, must be zero"); kept so a parsed header
   *  re-emits identically. */
  reservedFlag: boolean;
  /** DF: "0 = May Fragment, 1 = Don't Fragment". */
  dontFragment: boolean;
  /** MF: "0 = Last Fragment, 1 = More Fragments". */
  moreFragments: boolean;
  /** Fragment offset in bytes (a multiple of 8). */
  fragOffset: number;
  ttl: number;
  protocol: number;
  /** Header checksum as read (parse) or as written by the last emit. */
  checksum: number;
  src: Ipv4Addr;
  dst: Ipv4Addr;
  /** Options in order, without the EOL and padding at the end. */
  options: Ipv4Option[];
  /** Header length in bytes (IHL * 4). On emit it is recomputed from the options. */
  headerLen: number;
  /** Total Length - header length. */
  payloadLen: number;
}

const E_SHORT = err('format', 'ipv4: shorter than the header');
const E_VERSION = err('format', 'ipv4: version is not 4');
const E_IHL = err('format', 'ipv4: IHL below 5');
const E_TOTAL = err('format', 'ipv4: total length below header length');
const E_TRUNC = err('format', 'ipv4: total length exceeds the buffer');
const E_FRAG = err('format', 'ipv4: fragment extends past 65535 octets');
const E_OPTLEN = err('format', 'ipv4: option length below 2 or past the header');
const E_CHECKSUM = err('checksum', 'ipv4: header checksum');

/** View over an IPv4 header. */
export class Ipv4View {
  constructor(public buf: Uint8Array, public off: number) {}

  /** Null when the header and Total Length fit in `len` bytes and the fixed fields are sane:
   *  version 4, IHL >= 5, IHL*4 <= Total Length <= len. RFC 1122 §3.2.1.1: "A datagram whose
   *  version number is not 4 MUST be silently discarded." RFC 1122 §3.2.1.2: "A host MUST verify
   *  the IP header checksum on every received datagram and silently discard every datagram that
   *  has a bad checksum" (checked by parseIpv4Header, not here). */
  static check(buf: Uint8Array, off: number, len: number): ParseError | null {
    if (!rangeOk(buf, off, len) || len < IPV4_MIN_HEADER_LEN) return E_SHORT;
    const vihl = buf[off];
    if (vihl >>> 4 !== 4) return E_VERSION;
    const hl = (vihl & 15) << 2;
    if (hl < IPV4_MIN_HEADER_LEN) return E_IHL;
    const total = (buf[off + 2] << 8) | buf[off + 3];
    if (total < hl) return E_TOTAL;
    if (total > len) return E_TRUNC;
    return null;
  }

  static checked(buf: Uint8Array, off: number, len: number): ParseResult<Ipv4View> {
    return Ipv4View.check(buf, off, len) ?? ok(new Ipv4View(buf, off));
  }

  get version(): number {
    return this.buf[this.off] >>> 4;
  }
  get headerLen(): number {
    return (this.buf[this.off] & 15) << 2;
  }
  get dscp(): number {
    return this.buf[this.off + 1] >>> 2;
  }
  set dscp(v: number) {
    this.buf[this.off + 1] = ((v & 0x3f) << 2) | (this.buf[this.off + 1] & 3);
  }
  get ecn(): number {
    return this.buf[this.off + 1] & 3;
  }
  set ecn(v: number) {
    this.buf[this.off + 1] = (this.buf[this.off + 1] & 0xfc) | (v & 3);
  }
  get totalLen(): number {
    return readU16(this.buf, this.off + 2);
  }
  set totalLen(v: number) {
    writeU16(this.buf, this.off + 2, v);
  }
  get payloadLen(): number {
    return this.totalLen - this.headerLen;
  }
  get payloadOff(): number {
    return this.off + this.headerLen;
  }
  get ident(): number {
    return readU16(this.buf, this.off + 4);
  }
  set ident(v: number) {
    writeU16(this.buf, this.off + 4, v);
  }
  get dontFragment(): boolean {
    return (this.buf[this.off + 6] & 0x40) !== 0;
  }
  set dontFragment(v: boolean) {
    this.buf[this.off + 6] = (this.buf[this.off + 6] & ~0x40) | (v ? 0x40 : 0);
  }
  get moreFragments(): boolean {
    return (this.buf[this.off + 6] & 0x20) !== 0;
  }
  set moreFragments(v: boolean) {
    this.buf[this.off + 6] = (this.buf[this.off + 6] & ~0x20) | (v ? 0x20 : 0);
  }
  /** Fragment offset in bytes. */
  get fragOffset(): number {
    return (readU16(this.buf, this.off + 6) & 0x1fff) << 3;
  }
  set fragOffset(bytes: number) {
    const w = (readU16(this.buf, this.off + 6) & 0xe000) | ((bytes >>> 3) & 0x1fff);
    writeU16(this.buf, this.off + 6, w);
  }
  /** True for any fragment (MF set or offset non-zero). */
  get isFragment(): boolean {
    return (readU16(this.buf, this.off + 6) & 0x3fff) !== 0;
  }
  get ttl(): number {
    return this.buf[this.off + 8];
  }
  set ttl(v: number) {
    this.buf[this.off + 8] = v;
  }
  get protocol(): number {
    return this.buf[this.off + 9];
  }
  set protocol(v: number) {
    this.buf[this.off + 9] = v;
  }
  get checksum(): number {
    return readU16(this.buf, this.off + 10);
  }
  set checksum(v: number) {
    writeU16(this.buf, this.off + 10, v);
  }
  get src(): Ipv4Addr {
    return readU32(this.buf, this.off + 12);
  }
  set src(a: Ipv4Addr) {
    writeU32(this.buf, this.off + 12, a);
  }
  get dst(): Ipv4Addr {
    return readU32(this.buf, this.off + 16);
  }
  set dst(a: Ipv4Addr) {
    writeU32(this.buf, this.off + 16, a);
  }
  /** True if the header checksum verifies (RFC 791: "The checksum field is the 16 bit one's
   *  complement of the one's complement sum of all 16 bit words in the header"; summing the
   *  header including the checksum gives 0xffff). */
  verifyChecksum(): boolean {
    return finish(sum16(this.buf, this.off, this.headerLen)) === 0;
  }
  /** Recomputes and stores the header checksum. */
  fillChecksum(): void {
    this.checksum = 0;
    this.checksum = finish(sum16(this.buf, this.off, this.headerLen));
  }
}

/** Header length for a header value: 20 + options, padded to a multiple of 4. */
export function ipv4HeaderLen(h: Ipv4Header): number {
  return IPV4_MIN_HEADER_LEN + ipv4OptionsLen(h.options);
}

/** Bytes the options take on the wire, padded to a multiple of 4. */
export function ipv4OptionsLen(options: readonly Ipv4Option[]): number {
  let n = 0;
  for (const o of options) n += o.type === IPV4_OPT_EOL || o.type === IPV4_OPT_NOP ? 1 : 2 + (o.data ? o.data.length : 0);
  return (n + 3) & ~3;
}

// Shared by every header without options; frozen so a caller cannot push into it.
const NO_OPTIONS: Ipv4Option[] = Object.freeze([]) as unknown as Ipv4Option[];

/** Parses the options area [off, end). Returns null (success) or an error. RFC 791: "The
 *  option-length octet counts the option-type octet and the option-length octet as well as the
 *  option-data octets." A length below 2 or past the header is malformed. Options after an EOL
 *  are padding and ignored ("The end of option list ... is used at the end of all options"). */
function parseOptions(buf: Uint8Array, off: number, end: number, out: Ipv4Option[]): ParseError | null {
  let p = off;
  while (p < end) {
    const t = buf[p];
    if (t === IPV4_OPT_EOL) break;
    if (t === IPV4_OPT_NOP) {
      out.push({ type: t });
      p++;
      continue;
    }
    if (p + 1 >= end) return E_OPTLEN;
    const l = buf[p + 1];
    if (l < 2 || p + l > end) return E_OPTLEN;
    out.push({ type: t, data: buf.subarray(p + 2, p + l) });
    p += l;
  }
  return null;
}

/** Parses and validates an IPv4 header at `off` in a buffer region of `len` bytes (which may be
 *  longer than Total Length, e.g. Ethernet padding: the payload is `payloadLen` bytes at
 *  `off + headerLen`). Verifies the header checksum unless `verifyChecksum` is false. Rejects a
 *  fragment that would end past 65535 octets. Pass `out` to reuse a header value. Never throws. */
export function parseIpv4Header(
  buf: Uint8Array, off: number, len: number, verifyChecksum = true, out?: Ipv4Header,
): ParseResult<Ipv4Header> {
  const e = Ipv4View.check(buf, off, len);
  if (e !== null) return e;
  return parseChecked(buf, off, verifyChecksum, out);
}

/** Folded 1's complement sum of the header; 0xffff when the checksum verifies. The fixed
 *  20 bytes are summed unrolled (this is on every received packet's path). */
function headerSum(b: Uint8Array, off: number, hl: number): number {
  let s = ((b[off] << 8) | b[off + 1]) + ((b[off + 2] << 8) | b[off + 3]) + ((b[off + 4] << 8) | b[off + 5]) +
    ((b[off + 6] << 8) | b[off + 7]) + ((b[off + 8] << 8) | b[off + 9]) + ((b[off + 10] << 8) | b[off + 11]) +
    ((b[off + 12] << 8) | b[off + 13]) + ((b[off + 14] << 8) | b[off + 15]) + ((b[off + 16] << 8) | b[off + 17]) +
    ((b[off + 18] << 8) | b[off + 19]);
  for (let i = off + 20; i < off + hl; i += 2) s += (b[i] << 8) | b[i + 1];
  s = (s & 0xffff) + (s >>> 16);
  return (s & 0xffff) + (s >>> 16);
}

function parseChecked(buf: Uint8Array, off: number, verifyChecksum: boolean, out?: Ipv4Header): ParseResult<Ipv4Header> {
  const hl = (buf[off] & 15) << 2;
  const total = (buf[off + 2] << 8) | buf[off + 3];
  const fw = (buf[off + 6] << 8) | buf[off + 7];
  const fragOffset = (fw & 0x1fff) << 3;
  const payloadLen = total - hl;
  if (fragOffset + payloadLen > IPV4_MAX_DATAGRAM) return E_FRAG;
  if (verifyChecksum && headerSum(buf, off, hl) !== 0xffff) return E_CHECKSUM;
  let options = NO_OPTIONS;
  if (hl > IPV4_MIN_HEADER_LEN) {
    options = out !== undefined && out.options !== NO_OPTIONS ? out.options : [];
    options.length = 0;
    const oe = parseOptions(buf, off + IPV4_MIN_HEADER_LEN, off + hl, options);
    if (oe !== null) return oe;
  }
  const tos = buf[off + 1];
  const h: Ipv4Header = out ?? ({} as Ipv4Header);
  h.dscp = tos >>> 2;
  h.ecn = tos & 3;
  h.ident = (buf[off + 4] << 8) | buf[off + 5];
  h.reservedFlag = (fw & 0x8000) !== 0;
  h.dontFragment = (fw & 0x4000) !== 0;
  h.moreFragments = (fw & 0x2000) !== 0;
  h.fragOffset = fragOffset;
  h.ttl = buf[off + 8];
  h.protocol = buf[off + 9];
  h.checksum = (buf[off + 10] << 8) | buf[off + 11];
  h.src = readU32(buf, off + 12);
  h.dst = readU32(buf, off + 16);
  h.options = options;
  h.headerLen = hl;
  h.payloadLen = payloadLen;
  return out !== undefined ? okReused(h) : ok(h);
}

const E_QSHORT = err('format', 'ipv4: quoted header truncated');

/** Parses the IPv4 header quoted inside an ICMP error (RFC 792: "Internet Header + 64 bits of
 *  Original Data Datagram"). The quote is usually shorter than the quoted Total Length, so the
 *  length check is relaxed to "the header fits", and the checksum is not verified (routers may
 *  have changed the TTL after computing it, RFC 1812 §4.3.2.3 notes the quote is as received).
 *  `payloadLen` is still the original datagram's; the quoted payload is
 *  min(payloadLen, len - headerLen) bytes. */
export function parseIpv4Quoted(buf: Uint8Array, off: number, len: number): ParseResult<Ipv4Header> {
  if (!rangeOk(buf, off, len) || len < IPV4_MIN_HEADER_LEN) return E_QSHORT;
  const vihl = buf[off];
  if (vihl >>> 4 !== 4) return E_VERSION;
  const hl = (vihl & 15) << 2;
  if (hl < IPV4_MIN_HEADER_LEN) return E_IHL;
  if (hl > len) return E_QSHORT;
  if (((buf[off + 2] << 8) | buf[off + 3]) < hl) return E_TOTAL;
  return parseChecked(buf, off, false);
}

/** Writes the header at `off` (payload already in place after it) with Total Length =
 *  ipv4HeaderLen(h) + h.payloadLen and a freshly computed header checksum (`h.checksum` and
 *  `h.headerLen` are ignored, and `h` is not mutated). Options are written in order and padded with EOL (zero) octets to a multiple of 4.
 *  Returns the header length. The caller ensures the header fits (ipv4HeaderLen(h) <= 60). */
export function emitIpv4Header(h: Ipv4Header, buf: Uint8Array, off: number): number {
  const hl = h.options.length === 0 ? IPV4_MIN_HEADER_LEN : ipv4HeaderLen(h);
  buf[off] = 0x40 | (hl >>> 2);
  buf[off + 1] = ((h.dscp & 0x3f) << 2) | (h.ecn & 3);
  writeU16(buf, off + 2, hl + h.payloadLen);
  writeU16(buf, off + 4, h.ident);
  const fw = (h.reservedFlag ? 0x8000 : 0) | (h.dontFragment ? 0x4000 : 0) | (h.moreFragments ? 0x2000 : 0) |
    ((h.fragOffset >>> 3) & 0x1fff);
  writeU16(buf, off + 6, fw);
  buf[off + 8] = h.ttl;
  buf[off + 9] = h.protocol;
  buf[off + 10] = 0;
  buf[off + 11] = 0;
  writeU32(buf, off + 12, h.src);
  writeU32(buf, off + 16, h.dst);
  if (hl > IPV4_MIN_HEADER_LEN) {
    let p = off + IPV4_MIN_HEADER_LEN;
    for (const o of h.options) {
      buf[p++] = o.type;
      if (o.type === IPV4_OPT_EOL || o.type === IPV4_OPT_NOP) continue;
      const d = o.data;
      const dl = d ? d.length : 0;
      buf[p++] = dl + 2;
      for (let i = 0; i < dl; i++) buf[p + i] = d![i];
      p += dl;
    }
    while (p < off + hl) buf[p++] = IPV4_OPT_EOL;
  }
  writeU16(buf, off + 10, finish(sum16(buf, off, hl)));
  return hl;
}

/** A header value with common defaults (TTL 64, DF set, no options), for building packets. */
export function ipv4Header(fields: Partial<Ipv4Header> & Pick<Ipv4Header, 'src' | 'dst' | 'protocol' | 'payloadLen'>): Ipv4Header {
  const h: Ipv4Header = {
    dscp: 0, ecn: 0, ident: 0, reservedFlag: false, dontFragment: true, moreFragments: false, fragOffset: 0,
    ttl: 64, checksum: 0, options: [], headerLen: 0,
    ...fields,
  };
  h.headerLen = ipv4HeaderLen(h);
  return h;
}
