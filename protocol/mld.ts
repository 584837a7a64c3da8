// Multicast Listener Discovery messages: MLDv2 Multicast Listener Reports (type 143) with their
// multicast address records, MLDv2 Queries, and MLDv1 Query / Report / Done. View, message
// values, parse with the packet-only validity checks, emit. Follows RFC 3810 (MLDv2) and
// RFC 2710 (MLDv1), with RFC 2711 (the Router Alert option they are sent with).
//
// MLDv1 (RFC 2710 §3), 24 bytes:          MLDv2 Report (RFC 3810 §5.2):
//   Type | Code | Checksum                  Type=143 | Reserved | Checksum
//   Maximum Response Delay | Reserved        Reserved | Nr of Mcast Address Records (M)
//   Multicast Address (16)                   Multicast Address Record [1..M]
// MLDv2 Query (RFC 3810 §5.1), 28 + 16N:   Address record (RFC 3810 §5.2.4):
//   Type=130 | Code | Checksum               Record Type | Aux Data Len | Number of Sources (N)
//   Maximum Response Code | Reserved         Multicast Address (16)
//   Multicast Address (16)                   Source Address [1..N] (16 each)
//   Resv|S|QRV | QQIC | Number of Sources    Auxiliary Data (Aux Data Len * 4)
//   Source Address [1..N]
//
// RFC 3810 §8.1 tells the two query versions apart by length: "MLDv1 Query: length = 24
// octets; MLDv2 Query: length >= 28 octets. Query messages that do not match any of the above
// conditions (e.g., a Query Message of length 26 octets) MUST be silently ignored."

import { Ipv6Addr, ipv6IsLinkLocal, ipv6IsUnspecified } from './address';
import { rangeOk, readU16, writeU16 } from './bytes';
import { ICMPV6_MLDV2_REPORT, ICMPV6_MLD_DONE, ICMPV6_MLD_QUERY, ICMPV6_MLD_REPORT, icmpv6Checksum } from './icmpv6';
import { ParseError, ParseResult, err, ok } from './result';

export const MLDV1_LEN = 24;
export const MLDV2_QUERY_MIN_LEN = 28;
export const MLDV2_REPORT_MIN_LEN = 8;
export const MLDV2_RECORD_MIN_LEN = 20;

// Multicast Address Record types (RFC 3810 §5.2.12).
export const MLD_MODE_IS_INCLUDE = 1;
export const MLD_MODE_IS_EXCLUDE = 2;
export const MLD_CHANGE_TO_INCLUDE = 3;
export const MLD_CHANGE_TO_EXCLUDE = 4;
export const MLD_ALLOW_NEW_SOURCES = 5;
export const MLD_BLOCK_OLD_SOURCES = 6;

/** RFC 3810 §5: "MLDv2 messages are sent with a link-local IPv6 Source Address, an IPv6 Hop
 *  Limit of 1, and an IPv6 Router Alert option [RFC2711] in a Hop-by-Hop Options header." */
export const MLD_HOP_LIMIT = 1;

export interface MldV1Message {
  kind: 'queryV1' | 'reportV1' | 'doneV1';
  /** RFC 2710 §3.4, milliseconds; "In all other messages, it is set to zero by the sender and
   *  ignored by receivers." */
  maxResponseDelay: number;
  /** Zero in a General Query; the group for a specific query, a report or a done. */
  address: Ipv6Addr;
}

export interface MldV2Query {
  kind: 'queryV2';
  /** RFC 3810 §5.1.3, the raw code; decode with mldMaxResponseDelay. */
  maxResponseCode: number;
  address: Ipv6Addr;
  /** S: "When set to one, the S Flag indicates to any receiving multicast routers that they
   *  have to suppress the normal timer updates they perform upon hearing a Query." */
  suppressRouterSide: boolean;
  /** Querier's Robustness Variable, 0..7. */
  qrv: number;
  /** Querier's Query Interval Code, raw; decode with mldQqi. */
  qqic: number;
  sources: Ipv6Addr[];
}

export interface MldRecord {
  /** One of MLD_MODE_IS_INCLUDE .. MLD_BLOCK_OLD_SOURCES. Records of other types are kept
   *  here; ignoring them is the receiver's job (RFC 3810 §5.2.12). */
  recordType: number;
  address: Ipv6Addr;
  sources: Ipv6Addr[];
  /** Auxiliary Data (RFC 3810 §5.2.10: MLDv2 defines none, senders set Aux Data Len to 0 and
   *  receivers ignore the bytes). Kept (a subarray of the input) so the record re-emits
   *  identically; its length must be a multiple of 4 (Aux Data Len counts 32-bit words). */
  auxData: Uint8Array;
}

export interface MldV2Report {
  kind: 'reportV2';
  records: MldRecord[];
}

export type MldMessage = MldV1Message | MldV2Query | MldV2Report;

/** What the validity checks need from the IPv6 header and its chain. */
export interface MldIpContext {
  src: Ipv6Addr;
  dst: Ipv6Addr;
  hopLimit: number;
  /** True when the Hop-by-Hop header carried a Router Alert option (Ipv6Chain.routerAlert >= 0). */
  routerAlert: boolean;
}

// ---------------------------------------------------------------------------------------------
// View

/** View over an MLD message of `len` bytes at `off`. */
export class MldView {
  constructor(public buf: Uint8Array, public off: number, public len: number) {}

  /** Null when the region is valid, the type is an MLD type and its fixed part fits. */
  static check(buf: Uint8Array, off: number, len: number): ParseError | null {
    if (!rangeOk(buf, off, len) || len < MLDV2_REPORT_MIN_LEN) return E_SHORT;
    const t = buf[off];
    if (t === ICMPV6_MLDV2_REPORT) return null;
    if (t === ICMPV6_MLD_QUERY || t === ICMPV6_MLD_REPORT || t === ICMPV6_MLD_DONE) {
      return len < MLDV1_LEN ? E_SHORT : null;
    }
    return E_TYPE;
  }

  static checked(buf: Uint8Array, off: number, len: number): ParseResult<MldView> {
    return MldView.check(buf, off, len) ?? ok(new MldView(buf, off, len));
  }

  get type(): number {
    return this.buf[this.off];
  }
  get checksum(): number {
    return readU16(this.buf, this.off + 2);
  }
  set checksum(v: number) {
    writeU16(this.buf, this.off + 2, v);
  }
  /** Queries (and MLDv1): Maximum Response Code / Delay. */
  get maxResponseCode(): number {
    return readU16(this.buf, this.off + 4);
  }
  set maxResponseCode(v: number) {
    writeU16(this.buf, this.off + 4, v);
  }
  /** Queries and MLDv1: absolute offset of the Multicast Address. */
  get addressOff(): number {
    return this.off + 8;
  }
  /** MLDv2 Query: S flag. */
  get suppressRouterSide(): boolean {
    return (this.buf[this.off + 24] & 0x08) !== 0;
  }
  get qrv(): number {
    return this.buf[this.off + 24] & 0x07;
  }
  get qqic(): number {
    return this.buf[this.off + 25];
  }
  /** MLDv2 Query: Number of Sources. */
  get querySourceCount(): number {
    return readU16(this.buf, this.off + 26);
  }
  /** MLDv2 Report: Nr of Mcast Address Records. */
  get recordCount(): number {
    return readU16(this.buf, this.off + 6);
  }
  verifyChecksum(src: Ipv6Addr, dst: Ipv6Addr): boolean {
    return icmpv6Checksum(this.buf, this.off, this.len, src, dst) === 0;
  }
}

/** RFC 3810 §5.1.3: "If Maximum Response Code < 32768, Maximum Response Delay = Maximum
 *  Response Code. If Maximum Response Code >=32768, Maximum Response Code represents a
 *  floating-point value as follows: 1|exp|mant ... Maximum Response Delay = (mant | 0x1000) <<
 *  (exp+3)". Milliseconds. */
export function mldMaxResponseDelay(code: number): number {
  if (code < 32768) return code;
  return ((code & 0x0fff) | 0x1000) * 2 ** (((code >>> 12) & 7) + 3);
}

/** The smallest Maximum Response Code whose delay is >= `ms` (clamped to the largest). */
export function mldEncodeMaxResponse(ms: number): number {
  if (ms < 32768) return Math.max(0, Math.ceil(ms));
  for (let exp = 0; exp < 8; exp++) {
    const mant = Math.ceil(ms / 2 ** (exp + 3)) - 0x1000;
    if (mant <= 0x0fff) return 0x8000 | (exp << 12) | Math.max(0, mant);
  }
  return 0xffff;
}

/** RFC 3810 §5.1.9: "If QQIC < 128, QQI = QQIC. If QQIC >= 128, QQIC represents a
 *  floating-point value as follows: 1|exp|mant ... QQI = (mant | 0x10) << (exp + 3)". Seconds. */
export function mldQqi(qqic: number): number {
  if (qqic < 128) return qqic;
  return ((qqic & 0x0f) | 0x10) << (((qqic >>> 4) & 7) + 3);
}

// ---------------------------------------------------------------------------------------------
// Parse

const E_SHORT = err('format', 'mld: shorter than the message minimum');
const E_TYPE = err('unexpected', 'mld: not an MLD message type');
const E_WRONG_TYPE = err('unexpected', 'mld: message type differs from the one asked for');
const E_QUERY_LEN = err('format', 'mld: query length neither 24 nor >= 28 (RFC 3810 8.1)');
const E_SOURCES = err('format', 'mld: number of sources overruns the message');
const E_RECORD = err('format', 'mld: address record overruns the message');
const E_CHECKSUM = err('checksum', 'mld: checksum');
const E_HOP_LIMIT = err('unexpected', 'mld: hop limit is not 1');
const E_NO_ROUTER_ALERT = err('unexpected', 'mld: no router alert option');
const E_QUERY_SRC = err('unexpected', 'mld: query source is not link-local');
const E_REPORT_SRC = err('unexpected', 'mld: report source neither link-local nor ::');

function readSources(buf: Uint8Array, p: number, n: number): Ipv6Addr[] {
  const out: Ipv6Addr[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = buf.slice(p + 16 * i, p + 16 * i + 16);
  return out;
}

/** Decodes a checked message (no checksum or context rules). */
function decode(buf: Uint8Array, off: number, len: number): ParseResult<MldMessage> {
  const t = buf[off];
  if (t === ICMPV6_MLDV2_REPORT) {
    const m = readU16(buf, off + 6);
    const end = off + len;
    let p = off + MLDV2_REPORT_MIN_LEN;
    // Each record is at least 20 bytes, so a count the message cannot hold fails before any
    // allocation proportional to it.
    if (m * MLDV2_RECORD_MIN_LEN > len - MLDV2_REPORT_MIN_LEN) return E_RECORD;
    const records: MldRecord[] = [];
    for (let i = 0; i < m; i++) {
      if (end - p < MLDV2_RECORD_MIN_LEN) return E_RECORD;
      const n = readU16(buf, p + 2);
      const aux = buf[p + 1] << 2;
      const rl = MLDV2_RECORD_MIN_LEN + 16 * n + aux;
      if (rl > end - p) return E_RECORD;
      records.push({
        recordType: buf[p],
        address: buf.slice(p + 4, p + 20),
        sources: readSources(buf, p + 20, n),
        auxData: buf.subarray(p + 20 + 16 * n, p + rl),
      });
      p += rl;
    }
    // RFC 3810 §5.2.11 (Additional Data): "MLDv2 implementations MUST include those octets in
    // the computation to verify the received MLD Checksum, but MUST otherwise ignore those
    // additional octets."
    return ok({ kind: 'reportV2', records });
  }
  if (t === ICMPV6_MLD_QUERY) {
    if (len === MLDV1_LEN) {
      return ok({ kind: 'queryV1', maxResponseDelay: readU16(buf, off + 4), address: buf.slice(off + 8, off + 24) });
    }
    if (len < MLDV2_QUERY_MIN_LEN) return E_QUERY_LEN;
    const n = readU16(buf, off + 26);
    if (16 * n > len - MLDV2_QUERY_MIN_LEN) return E_SOURCES;
    const b = buf[off + 24];
    return ok({
      kind: 'queryV2',
      maxResponseCode: readU16(buf, off + 4),
      address: buf.slice(off + 8, off + 24),
      suppressRouterSide: (b & 0x08) !== 0,
      qrv: b & 0x07,
      qqic: buf[off + 25],
      sources: readSources(buf, off + 28, n),
    });
  }
  // RFC 2710 §3: Report (131) and Done (132) have the MLDv1 layout.
  return ok({
    kind: t === ICMPV6_MLD_REPORT ? 'reportV1' : 'doneV1',
    maxResponseDelay: readU16(buf, off + 4),
    address: buf.slice(off + 8, off + 24),
  });
}

/** The validity rules that depend on the IPv6 header only. Returns null when valid.
 *  RFC 3810 §6.2: "Upon reception of an MLD message that contains a Query, the node checks if
 *  the source address of the message is a valid link-local address, if the Hop Limit is set to
 *  1, and if the Router Alert option is present in the Hop-By-Hop Options header of the IPv6
 *  packet. If any of these checks fails, the packet is dropped." §5.1.14: a Query from "the
 *  unspecified address (::), or any other address that is not a valid IPv6 link-local address"
 *  is discarded. §5.2.13: "An MLDv2 Report MUST be sent with a valid IPv6 link-local source
 *  address, or the unspecified address (::), if the sending interface has not acquired a valid
 *  link-local address yet." The same hop-limit and Router Alert checks apply to reports and
 *  MLDv1 messages (RFC 2710 §3: "All MLD messages ... are sent with a link-local IPv6 Source
 *  Address, an IPv6 Hop Limit of 1, and an IPv6 Router Alert option"); routers (RFC 3810 §7.4)
 *  accept reports from :: too. */
export function validateMld(m: MldMessage, ip: MldIpContext): ParseError | null {
  if (ip.hopLimit !== MLD_HOP_LIMIT) return E_HOP_LIMIT;
  if (!ip.routerAlert) return E_NO_ROUTER_ALERT;
  if (m.kind === 'queryV1' || m.kind === 'queryV2') {
    if (!ipv6IsLinkLocal(ip.src)) return E_QUERY_SRC;
  } else if (!ipv6IsLinkLocal(ip.src) && !ipv6IsUnspecified(ip.src)) {
    return E_REPORT_SRC;
  }
  return null;
}

/** Parses any MLD message (types 130, 131, 132, 143) of `len` bytes at `off`, verifying the
 *  checksum (unless `verifyChecksum` is false) and the rules of validateMld. `type`, when given,
 *  is the only type accepted. Never throws. */
export function parseMld(
  buf: Uint8Array, off: number, len: number, ip: MldIpContext, verifyChecksum = true, type = -1,
): ParseResult<MldMessage> {
  const e = MldView.check(buf, off, len);
  if (e !== null) return e;
  if (type >= 0 && buf[off] !== type) return E_WRONG_TYPE;
  if (verifyChecksum && icmpv6Checksum(buf, off, len, ip.src, ip.dst) !== 0) return E_CHECKSUM;
  const r = decode(buf, off, len);
  if (!r.ok) return r;
  return validateMld(r.value, ip) ?? r;
}

/** Parses an MLDv2 Report (type 143). */
export function parseMldV2Report(
  buf: Uint8Array, off: number, len: number, ip: MldIpContext, verifyChecksum = true,
): ParseResult<MldV2Report> {
  return parseMld(buf, off, len, ip, verifyChecksum, ICMPV6_MLDV2_REPORT) as ParseResult<MldV2Report>;
}

/** Parses a Query (type 130), MLDv1 or MLDv2 by length (RFC 3810 §8.1). */
export function parseMldQuery(
  buf: Uint8Array, off: number, len: number, ip: MldIpContext, verifyChecksum = true,
): ParseResult<MldV1Message | MldV2Query> {
  return parseMld(buf, off, len, ip, verifyChecksum, ICMPV6_MLD_QUERY) as ParseResult<MldV1Message | MldV2Query>;
}

// ---------------------------------------------------------------------------------------------
// Emit

export function mldType(m: MldMessage): number {
  switch (m.kind) {
    case 'queryV1': case 'queryV2': return ICMPV6_MLD_QUERY;
    case 'reportV1': return ICMPV6_MLD_REPORT;
    case 'doneV1': return ICMPV6_MLD_DONE;
    case 'reportV2': return ICMPV6_MLDV2_REPORT;
  }
}

export function mldRecordLen(r: MldRecord): number {
  return MLDV2_RECORD_MIN_LEN + 16 * r.sources.length + (r.auxData.length & ~3);
}

/** The whole message length. */
export function mldMessageLen(m: MldMessage): number {
  switch (m.kind) {
    case 'queryV1': case 'reportV1': case 'doneV1': return MLDV1_LEN;
    case 'queryV2': return MLDV2_QUERY_MIN_LEN + 16 * m.sources.length;
    case 'reportV2': {
      let n = MLDV2_REPORT_MIN_LEN;
      for (const r of m.records) n += mldRecordLen(r);
      return n;
    }
  }
}

function writeAddr(a: Ipv6Addr, buf: Uint8Array, off: number): void {
  for (let i = 0; i < 16; i++) buf[off + i] = a[i];
}

/** Writes any MLD message at `off` with its checksum for `src` -> `dst` (reserved fields and
 *  codes zero). The caller leaves mldMessageLen(m) bytes of room. Returns the length. */
export function emitMld(m: MldMessage, buf: Uint8Array, off: number, src: Ipv6Addr, dst: Ipv6Addr): number {
  buf[off] = mldType(m);
  buf[off + 1] = 0;
  writeU16(buf, off + 2, 0);
  let len: number;
  switch (m.kind) {
    case 'queryV1': case 'reportV1': case 'doneV1':
      writeU16(buf, off + 4, m.maxResponseDelay);
      writeU16(buf, off + 6, 0);
      writeAddr(m.address, buf, off + 8);
      len = MLDV1_LEN;
      break;
    case 'queryV2': {
      writeU16(buf, off + 4, m.maxResponseCode);
      writeU16(buf, off + 6, 0);
      writeAddr(m.address, buf, off + 8);
      buf[off + 24] = (m.suppressRouterSide ? 0x08 : 0) | (m.qrv & 7);
      buf[off + 25] = m.qqic;
      writeU16(buf, off + 26, m.sources.length);
      let p = off + MLDV2_QUERY_MIN_LEN;
      for (const s of m.sources) {
        writeAddr(s, buf, p);
        p += 16;
      }
      len = p - off;
      break;
    }
    case 'reportV2': {
      writeU16(buf, off + 4, 0);
      writeU16(buf, off + 6, m.records.length);
      let p = off + MLDV2_REPORT_MIN_LEN;
      for (const r of m.records) {
        const aux = r.auxData.length >>> 2;
        buf[p] = r.recordType;
        buf[p + 1] = aux;
        writeU16(buf, p + 2, r.sources.length);
        writeAddr(r.address, buf, p + 4);
        p += MLDV2_RECORD_MIN_LEN;
        for (const s of r.sources) {
          writeAddr(s, buf, p);
          p += 16;
        }
        buf.set(r.auxData.subarray(0, aux << 2), p);
        p += aux << 2;
      }
      len = p - off;
      break;
    }
  }
  writeU16(buf, off + 2, icmpv6Checksum(buf, off, len, src, dst));
  return len;
}

/** Writes an MLDv2 Report (see emitMld). */
export function emitMldV2Report(m: MldV2Report, buf: Uint8Array, off: number, src: Ipv6Addr, dst: Ipv6Addr): number {
  return emitMld(m, buf, off, src, dst);
}
