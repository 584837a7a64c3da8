// The TCP header: view, header value with options (as an ordered list plus decoded fields),
// parse (length and option validation; no checksum, for speed), emit, and checksum
// verification/filling with the IPv4 or IPv6 pseudo-header. Follows RFC 9293 (TCP), RFC 7323
// (window scale, timestamps), RFC 2018 (SACK), RFC 3168 (ECE, CWR) and RFC 6691 (MSS).
//
//    0                   1                   2                   3
//   |          Source Port          |       Destination Port        |
//   |                        Sequence Number                        |
//   |                    Acknowledgment Number                      |
//   |  Data |       |C|E|U|A|P|R|S|F|                               |
//   | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
//   |           Checksum            |         Urgent Pointer        |
//   |                           [Options]                           |
//
// `flags` keeps the 12 bits after Data Offset (the 4 reserved bits too, bit 8 being the
// historic NS / AccECN "AE" bit), so a parsed header re-emits identically.
//
// Options: RFC 9293 §3.1: "A TCP implementation MUST be able to receive a TCP Option in any
// segment" and §3.2 "A TCP implementation MUST ignore without error any TCP Option it does not
// implement, assuming that the option has a length field". Unknown options are kept in the list
// as { kind: 'unknown', type, data } so they can be reported, and otherwise ignored. RFC 9293
// §3.2: "A TCP implementation MUST be prepared to handle an illegal option length (e.g., zero)
// without crashing" -- lengths 0 or 1, lengths that run past the header, and known options with
// the wrong length make the segment 'format'.

import { Ipv4Addr, Ipv6Addr } from './address';
import { okReused, rangeOk, readU16, readU32, writeU16, writeU32 } from './bytes';
import { finish, pseudoSumV4, pseudoSumV6Addrs, sum16 } from './checksum';
import { ParseError, ParseResult, err, ok } from './result';

export const TCP_MIN_HEADER_LEN = 20;
export const TCP_MAX_HEADER_LEN = 60;
const IP_PROTO_TCP = 6;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
/** RFC 3168 ECN-Echo. */
export const TCP_ECE = 0x40;
/** RFC 3168 Congestion Window Reduced. */
export const TCP_CWR = 0x80;
/** RFC 3540 NS (historic, RFC 8311); reused as AE by AccECN. */
export const TCP_NS = 0x100;

export const TCP_OPT_EOL = 0;
export const TCP_OPT_NOP = 1;
export const TCP_OPT_MSS = 2;
export const TCP_OPT_WSCALE = 3;
export const TCP_OPT_SACK_PERMITTED = 4;
export const TCP_OPT_SACK = 5;
export const TCP_OPT_TIMESTAMP = 8;

/** RFC 7323 §2.3: "If a Window Scale option is received with a shift.cnt value larger than 14,
 *  the TCP SHOULD log the error but MUST use 14 instead of the specified value." Parse keeps the
 *  value as received; the connection clamps with this. */
export const TCP_MAX_WSCALE = 14;

/** RFC 2018: a SACK block is [left, right): "Left Edge of Block ... the first sequence number of
 *  this block", "Right Edge of Block ... the sequence number immediately following the last
 *  sequence number of this block." */
export interface TcpSackBlock {
  left: number;
  right: number;
}

export type TcpOption =
  | { kind: 'nop' }
  | { kind: 'eol' }
  /** RFC 9293 §3.7.1 MSS, length 4. */
  | { kind: 'mss'; value: number }
  /** RFC 7323 §2.2 window scale, length 3. */
  | { kind: 'wscale'; shift: number }
  /** RFC 2018 §2 SACK-permitted, length 2. */
  | { kind: 'sackPermitted' }
  /** RFC 2018 §3 SACK, length 2 + 8n, n = 1..4. */
  | { kind: 'sack'; blocks: TcpSackBlock[] }
  /** RFC 7323 §3.2 timestamps, length 10. */
  | { kind: 'timestamp'; tsVal: number; tsEcr: number }
  /** Any other option with a length octet; `data` excludes kind and length (a subarray of the
   *  parsed buffer). */
  | { kind: 'unknown'; type: number; data: Uint8Array };

export interface TcpHeader {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** The 12 bits after Data Offset: TCP_FIN | TCP_SYN | ... (see the constants). */
  flags: number;
  window: number;
  /** As read; emitted as given (compute with tcpFillChecksum). */
  checksum: number;
  urgent: number;
  /** Options in wire order (without the trailing EOL/padding). This is what emit writes. */
  options: TcpOption[];
  /** Data Offset * 4 as parsed; emit recomputes it from `options`. */
  headerLen: number;
  // Decoded from `options` by parse (and by tcpHeader()); emit ignores these.
  mss: number | null;
  windowScale: number | null;
  sackPermitted: boolean;
  /** SACK blocks (empty if none). */
  sack: TcpSackBlock[];
  tsVal: number | null;
  tsEcr: number | null;
}

const E_SHORT = err('format', 'tcp: shorter than the header');
const E_OFFSET = err('format', 'tcp: data offset below 5');
const E_OPTLEN = err('format', 'tcp: option length 0/1 or past the header');
const E_OPTBAD = err('format', 'tcp: known option with the wrong length');
const E_CHECKSUM = err('checksum', 'tcp: checksum');

/** View over a TCP segment. */
export class TcpView {
  constructor(public buf: Uint8Array, public off: number) {}

  /** Null when the 20-byte header fits in `len`, Data Offset >= 5 and the options fit. */
  static check(buf: Uint8Array, off: number, len: number): ParseError | null {
    if (!rangeOk(buf, off, len) || len < TCP_MIN_HEADER_LEN) return E_SHORT;
    const hl = (buf[off + 12] >>> 4) << 2;
    if (hl < TCP_MIN_HEADER_LEN) return E_OFFSET;
    if (hl > len) return E_SHORT;
    return null;
  }
  static checked(buf: Uint8Array, off: number, len: number): ParseResult<TcpView> {
    return TcpView.check(buf, off, len) ?? ok(new TcpView(buf, off));
  }

  get srcPort(): number {
    return readU16(this.buf, this.off);
  }
  set srcPort(v: number) {
    writeU16(this.buf, this.off, v);
  }
  get dstPort(): number {
    return readU16(this.buf, this.off + 2);
  }
  set dstPort(v: number) {
    writeU16(this.buf, this.off + 2, v);
  }
  get seq(): number {
    return readU32(this.buf, this.off + 4);
  }
  set seq(v: number) {
    writeU32(this.buf, this.off + 4, v);
  }
  get ack(): number {
    return readU32(this.buf, this.off + 8);
  }
  set ack(v: number) {
    writeU32(this.buf, this.off + 8, v);
  }
  get headerLen(): number {
    return (this.buf[this.off + 12] >>> 4) << 2;
  }
  get flags(): number {
    return readU16(this.buf, this.off + 12) & 0x0fff;
  }
  set flags(v: number) {
    writeU16(this.buf, this.off + 12, (this.buf[this.off + 12] & 0xf0) << 8 | (v & 0x0fff));
  }
  get fin(): boolean {
    return (this.buf[this.off + 13] & TCP_FIN) !== 0;
  }
  get syn(): boolean {
    return (this.buf[this.off + 13] & TCP_SYN) !== 0;
  }
  get rst(): boolean {
    return (this.buf[this.off + 13] & TCP_RST) !== 0;
  }
  get psh(): boolean {
    return (this.buf[this.off + 13] & TCP_PSH) !== 0;
  }
  get ackFlag(): boolean {
    return (this.buf[this.off + 13] & TCP_ACK) !== 0;
  }
  get urg(): boolean {
    return (this.buf[this.off + 13] & TCP_URG) !== 0;
  }
  get ece(): boolean {
    return (this.buf[this.off + 13] & TCP_ECE) !== 0;
  }
  get cwr(): boolean {
    return (this.buf[this.off + 13] & TCP_CWR) !== 0;
  }
  get window(): number {
    return readU16(this.buf, this.off + 14);
  }
  set window(v: number) {
    writeU16(this.buf, this.off + 14, v);
  }
  get checksum(): number {
    return readU16(this.buf, this.off + 16);
  }
  set checksum(v: number) {
    writeU16(this.buf, this.off + 16, v);
  }
  get urgent(): number {
    return readU16(this.buf, this.off + 18);
  }
  set urgent(v: number) {
    writeU16(this.buf, this.off + 18, v);
  }
  get payloadOff(): number {
    return this.off + this.headerLen;
  }
}

/** Wire length of one option. */
function optionLen(o: TcpOption): number {
  switch (o.kind) {
    case 'nop':
    case 'eol':
      return 1;
    case 'mss':
      return 4;
    case 'wscale':
      return 3;
    case 'sackPermitted':
      return 2;
    case 'sack':
      return 2 + 8 * o.blocks.length;
    case 'timestamp':
      return 10;
    case 'unknown':
      return 2 + o.data.length;
  }
}

/** Bytes the options take, padded to a multiple of 4. */
export function tcpOptionsLen(options: readonly TcpOption[]): number {
  let n = 0;
  for (let i = 0; i < options.length; i++) n += optionLen(options[i]);
  return (n + 3) & ~3;
}

/** Header length for a header value: 20 + padded options. */
export function tcpHeaderLen(h: TcpHeader): number {
  return TCP_MIN_HEADER_LEN + tcpOptionsLen(h.options);
}

const OPT_NOP: TcpOption = Object.freeze({ kind: 'nop' }) as TcpOption;
const OPT_SACKPERM: TcpOption = Object.freeze({ kind: 'sackPermitted' }) as TcpOption;
const NO_SACK: TcpSackBlock[] = Object.freeze([]) as unknown as TcpSackBlock[];

/** Parses the options in [p, end) into h.options and the decoded fields. Option objects already
 *  in h.options (when parsing into a reused header) are overwritten in place where the kind
 *  matches, so steady-state parsing of similar segments allocates nothing. */
function parseOptions(buf: Uint8Array, p: number, end: number, h: TcpHeader): ParseError | null {
  const opts = h.options;
  let n = 0;
  while (p < end) {
    const kind = buf[p];
    if (kind === TCP_OPT_EOL) break; // RFC 9293 §3.1: "End of Option List ... used at the end of all options"
    if (kind === TCP_OPT_NOP) {
      opts[n++] = OPT_NOP;
      p++;
      continue;
    }
    if (p + 1 >= end) return optFail(opts, n, E_OPTLEN);
    const l = buf[p + 1];
    if (l < 2 || p + l > end) return optFail(opts, n, E_OPTLEN);
    const old = n < opts.length ? opts[n] : undefined;
    switch (kind) {
      case TCP_OPT_MSS: {
        if (l !== 4) return optFail(opts, n, E_OPTBAD);
        const v = (buf[p + 2] << 8) | buf[p + 3];
        h.mss = v;
        if (old !== undefined && old.kind === 'mss') old.value = v;
        else opts[n] = { kind: 'mss', value: v };
        break;
      }
      case TCP_OPT_WSCALE: {
        if (l !== 3) return optFail(opts, n, E_OPTBAD);
        const v = buf[p + 2];
        h.windowScale = v;
        if (old !== undefined && old.kind === 'wscale') old.shift = v;
        else opts[n] = { kind: 'wscale', shift: v };
        break;
      }
      case TCP_OPT_SACK_PERMITTED:
        if (l !== 2) return optFail(opts, n, E_OPTBAD);
        h.sackPermitted = true;
        opts[n] = OPT_SACKPERM;
        break;
      case TCP_OPT_SACK: {
        if (l < 10 || ((l - 2) & 7) !== 0) return optFail(opts, n, E_OPTBAD);
        const blocks: TcpSackBlock[] = [];
        for (let q = p + 2; q < p + l; q += 8) blocks.push({ left: readU32(buf, q), right: readU32(buf, q + 4) });
        h.sack = blocks;
        opts[n] = { kind: 'sack', blocks };
        break;
      }
      case TCP_OPT_TIMESTAMP: {
        if (l !== 10) return optFail(opts, n, E_OPTBAD);
        const v = readU32(buf, p + 2);
        const e = readU32(buf, p + 6);
        h.tsVal = v;
        h.tsEcr = e;
        if (old !== undefined && old.kind === 'timestamp') {
          old.tsVal = v;
          old.tsEcr = e;
        } else {
          opts[n] = { kind: 'timestamp', tsVal: v, tsEcr: e };
        }
        break;
      }
      default:
        opts[n] = { kind: 'unknown', type: kind, data: buf.subarray(p + 2, p + l) };
    }
    n++;
    p += l;
  }
  if (opts.length !== n) opts.length = n;
  return null;
}

function optFail(opts: TcpOption[], n: number, e: ParseError): ParseError {
  opts.length = n;
  return e;
}

/** Parses the header of the segment occupying `len` bytes (the IP payload) at `off`. The
 *  payload is `len - headerLen` bytes at `off + headerLen`. Does not verify the checksum (see
 *  tcpVerifyChecksum / parseTcpV4Verified). Pass `out` to reuse a header value: it, its options
 *  array and the option objects in it are overwritten (so do not keep references to them across
 *  parses). Never throws. */
export function parseTcp(buf: Uint8Array, off: number, len: number, out?: TcpHeader): ParseResult<TcpHeader> {
  if (!rangeOk(buf, off, len) || len < TCP_MIN_HEADER_LEN) return E_SHORT;
  const hl = (buf[off + 12] >>> 4) << 2;
  if (hl < TCP_MIN_HEADER_LEN) return E_OFFSET;
  if (hl > len) return E_SHORT;
  let h: TcpHeader;
  if (out !== undefined) {
    h = out;
  } else {
    h = {
      srcPort: 0, dstPort: 0, seq: 0, ack: 0, flags: 0, window: 0, checksum: 0, urgent: 0, options: [],
      headerLen: 0, mss: null, windowScale: null, sackPermitted: false, sack: NO_SACK, tsVal: null, tsEcr: null,
    };
  }
  h.srcPort = (buf[off] << 8) | buf[off + 1];
  h.dstPort = (buf[off + 2] << 8) | buf[off + 3];
  h.seq = readU32(buf, off + 4);
  h.ack = readU32(buf, off + 8);
  h.flags = ((buf[off + 12] & 0x0f) << 8) | buf[off + 13];
  h.window = (buf[off + 14] << 8) | buf[off + 15];
  h.checksum = (buf[off + 16] << 8) | buf[off + 17];
  h.urgent = (buf[off + 18] << 8) | buf[off + 19];
  h.headerLen = hl;
  h.mss = null;
  h.windowScale = null;
  h.sackPermitted = false;
  h.sack = NO_SACK;
  h.tsVal = null;
  h.tsEcr = null;
  if (hl > TCP_MIN_HEADER_LEN) {
    const e = parseOptions(buf, off + TCP_MIN_HEADER_LEN, off + hl, h);
    if (e !== null) return e;
  } else if (h.options.length !== 0) {
    h.options.length = 0;
  }
  return out !== undefined ? okReused(h) : ok(h);
}

/** Writes the header at `off` (payload already in place after it): Data Offset from the
 *  options, options in list order padded with EOL (zero) octets to a multiple of 4, and
 *  `h.checksum` as given. Returns the header length. The caller ensures options fit in 40
 *  bytes (tcpHeaderLen(h) <= 60). */
export function emitTcp(h: TcpHeader, buf: Uint8Array, off: number): number {
  const hl = h.options.length === 0 ? TCP_MIN_HEADER_LEN : tcpHeaderLen(h);
  writeU16(buf, off, h.srcPort);
  writeU16(buf, off + 2, h.dstPort);
  writeU32(buf, off + 4, h.seq);
  writeU32(buf, off + 8, h.ack);
  buf[off + 12] = ((hl >>> 2) << 4) | ((h.flags >>> 8) & 0x0f);
  buf[off + 13] = h.flags;
  writeU16(buf, off + 14, h.window);
  writeU16(buf, off + 16, h.checksum);
  writeU16(buf, off + 18, h.urgent);
  let p = off + TCP_MIN_HEADER_LEN;
  for (let i = 0; i < h.options.length; i++) {
    const o = h.options[i];
    switch (o.kind) {
      case 'nop':
        buf[p++] = TCP_OPT_NOP;
        break;
      case 'eol':
        buf[p++] = TCP_OPT_EOL;
        break;
      case 'mss':
        buf[p] = TCP_OPT_MSS;
        buf[p + 1] = 4;
        writeU16(buf, p + 2, o.value);
        p += 4;
        break;
      case 'wscale':
        buf[p] = TCP_OPT_WSCALE;
        buf[p + 1] = 3;
        buf[p + 2] = o.shift;
        p += 3;
        break;
      case 'sackPermitted':
        buf[p] = TCP_OPT_SACK_PERMITTED;
        buf[p + 1] = 2;
        p += 2;
        break;
      case 'sack':
        buf[p] = TCP_OPT_SACK;
        buf[p + 1] = 2 + 8 * o.blocks.length;
        p += 2;
        for (const b of o.blocks) {
          writeU32(buf, p, b.left);
          writeU32(buf, p + 4, b.right);
          p += 8;
        }
        break;
      case 'timestamp':
        buf[p] = TCP_OPT_TIMESTAMP;
        buf[p + 1] = 10;
        writeU32(buf, p + 2, o.tsVal);
        writeU32(buf, p + 6, o.tsEcr);
        p += 10;
        break;
      case 'unknown':
        buf[p] = o.type;
        buf[p + 1] = 2 + o.data.length;
        buf.set(o.data, p + 2);
        p += 2 + o.data.length;
        break;
    }
  }
  while (p < off + hl) buf[p++] = TCP_OPT_EOL;
  return hl;
}

/** What a sender wants to put in the options; see tcpOptions. */
export interface TcpOptionValues {
  mss?: number | null;
  windowScale?: number | null;
  sackPermitted?: boolean;
  tsVal?: number | null;
  tsEcr?: number | null;
  sack?: readonly TcpSackBlock[];
}

/** Builds an option list in the layout Linux uses, with NOPs aligning the 4-byte fields:
 *  MSS; SACK-permitted + timestamps as "sackOK,TS" (or NOP,NOP,TS / NOP,NOP,sackOK);
 *  NOP + window scale; NOP,NOP + SACK blocks. Timestamps are included when tsVal is a number.
 *  At most 4 SACK blocks are written, fewer if they would not fit in 40 bytes (RFC 2018 §3: with
 *  timestamps at most 3). */
export function tcpOptions(v: TcpOptionValues): TcpOption[] {
  const out: TcpOption[] = [];
  if (v.mss != null) out.push({ kind: 'mss', value: v.mss });
  const ts = v.tsVal != null;
  if (v.sackPermitted && ts) {
    out.push(OPT_SACKPERM, { kind: 'timestamp', tsVal: v.tsVal!, tsEcr: v.tsEcr ?? 0 });
  } else if (ts) {
    out.push(OPT_NOP, OPT_NOP, { kind: 'timestamp', tsVal: v.tsVal!, tsEcr: v.tsEcr ?? 0 });
  } else if (v.sackPermitted) {
    out.push(OPT_NOP, OPT_NOP, OPT_SACKPERM);
  }
  if (v.windowScale != null) out.push(OPT_NOP, { kind: 'wscale', shift: v.windowScale });
  if (v.sack && v.sack.length > 0) {
    let used = 0;
    for (const o of out) used += optionLen(o);
    used = (used + 3) & ~3;
    const room = Math.floor((40 - used - 4) / 8);
    const n = Math.min(v.sack.length, 4, room);
    if (n > 0) {
      out.push(OPT_NOP, OPT_NOP, { kind: 'sack', blocks: v.sack.slice(0, n).map((b) => ({ left: b.left, right: b.right })) });
    }
  }
  return out;
}

/** Fills the decoded fields of `h` (mss, windowScale, ...) from `h.options`, as parse does. */
export function tcpDecodeOptions(h: TcpHeader): TcpHeader {
  h.mss = null;
  h.windowScale = null;
  h.sackPermitted = false;
  h.sack = NO_SACK;
  h.tsVal = null;
  h.tsEcr = null;
  for (const o of h.options) {
    switch (o.kind) {
      case 'mss':
        h.mss = o.value;
        break;
      case 'wscale':
        h.windowScale = o.shift;
        break;
      case 'sackPermitted':
        h.sackPermitted = true;
        break;
      case 'sack':
        h.sack = o.blocks;
        break;
      case 'timestamp':
        h.tsVal = o.tsVal;
        h.tsEcr = o.tsEcr;
        break;
      default:
        break;
    }
  }
  return h;
}

/** A header value with defaults, decoded fields derived from `options`. */
export function tcpHeader(fields: Partial<TcpHeader> & Pick<TcpHeader, 'srcPort' | 'dstPort'>): TcpHeader {
  const h: TcpHeader = {
    seq: 0, ack: 0, flags: 0, window: 0, checksum: 0, urgent: 0, options: [], headerLen: 0,
    mss: null, windowScale: null, sackPermitted: false, sack: NO_SACK, tsVal: null, tsEcr: null,
    ...fields,
  };
  h.headerLen = tcpHeaderLen(h);
  return tcpDecodeOptions(h);
}

/** The checksum for the `len`-byte segment at `off` with the pseudo-header partial sum, the
 *  checksum field treated as zero. RFC 9293 §3.1: "The checksum field is the 16-bit ones'
 *  complement of the ones' complement sum of all 16-bit words in the header and text." */
export function tcpComputeChecksum(buf: Uint8Array, off: number, len: number, pseudoSum: number): number {
  return finish(sum16(buf, off, len, pseudoSum) - ((buf[off + 16] << 8) | buf[off + 17]));
}

/** Computes and stores the checksum; returns it. */
export function tcpFillChecksum(buf: Uint8Array, off: number, len: number, pseudoSum: number): number {
  buf[off + 16] = 0;
  buf[off + 17] = 0;
  const c = finish(sum16(buf, off, len, pseudoSum));
  writeU16(buf, off + 16, c);
  return c;
}

/** True if the checksum of the `len`-byte segment verifies with the pseudo-header sum. */
export function tcpVerifyChecksum(buf: Uint8Array, off: number, len: number, pseudoSum: number): boolean {
  if (!rangeOk(buf, off, len) || len < TCP_MIN_HEADER_LEN) return false;
  return finish(sum16(buf, off, len, pseudoSum)) === 0;
}

/** Pseudo-header sum for TCP over IPv4 (RFC 9293 §3.1: source, destination, zero, PTCL, TCP
 *  length). */
export function tcpPseudoSumV4(src: Ipv4Addr, dst: Ipv4Addr, len: number): number {
  return pseudoSumV4(src, dst, IP_PROTO_TCP, len);
}

export function tcpVerifyV4(buf: Uint8Array, off: number, len: number, src: Ipv4Addr, dst: Ipv4Addr): boolean {
  return tcpVerifyChecksum(buf, off, len, pseudoSumV4(src, dst, IP_PROTO_TCP, len));
}

export function tcpVerifyV6(buf: Uint8Array, off: number, len: number, src: Ipv6Addr, dst: Ipv6Addr): boolean {
  return tcpVerifyChecksum(buf, off, len, pseudoSumV6Addrs(src, dst, IP_PROTO_TCP, len));
}

/** Parses and verifies the checksum (IPv4) in one call. */
export function parseTcpV4Verified(
  buf: Uint8Array, off: number, len: number, src: Ipv4Addr, dst: Ipv4Addr, out?: TcpHeader,
): ParseResult<TcpHeader> {
  if (!tcpVerifyV4(buf, off, len, src, dst)) return rangeOk(buf, off, len) && len >= TCP_MIN_HEADER_LEN ? E_CHECKSUM : E_SHORT;
  return parseTcp(buf, off, len, out);
}

/** Parses and verifies the checksum (IPv6) in one call. */
export function parseTcpV6Verified(
  buf: Uint8Array, off: number, len: number, src: Ipv6Addr, dst: Ipv6Addr, out?: TcpHeader,
): ParseResult<TcpHeader> {
  if (!tcpVerifyV6(buf, off, len, src, dst)) return rangeOk(buf, off, len) && len >= TCP_MIN_HEADER_LEN ? E_CHECKSUM : E_SHORT;
  return parseTcp(buf, off, len, out);
}
