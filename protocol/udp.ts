// UDP datagrams: view, header value, parse (length checks only), emit, and checksum
// verification/filling with the IPv4 or IPv6 pseudo-header. Follows RFC 768 (UDP), RFC 1122
// §4.1.3.4 (checksum handling), RFC 8200 §8.1 (IPv6: the checksum is mandatory).
//
//    0      7 8     15 16    23 24    31
//   |     Source      |   Destination   |
//   |      Port       |      Port       |
//   |     Length      |    Checksum     |
//
// Parsing does not touch the checksum (for speed); call udpVerifyChecksum / udpVerifyV4 /
// udpVerifyV6 with the pseudo-header sum from protocol/checksum.ts.

import { Ipv4Addr, Ipv6Addr } from './address';
import { okReused, rangeOk, readU16, writeU16 } from './bytes';
import { finish, pseudoSumV4, pseudoSumV6Addrs, sum16 } from './checksum';
import { ParseError, ParseResult, err, ok } from './result';

export const UDP_HEADER_LEN = 8;
const IP_PROTO_UDP = 17;

export interface UdpHeader {
  srcPort: number;
  dstPort: number;
  /** RFC 768: "Length is the length in octets of this user datagram including this header and
   *  the data." */
  length: number;
  /** As read; on emit written as given (use udpFillChecksum to compute it). */
  checksum: number;
}

const E_SHORT = err('format', 'udp: shorter than 8 bytes');
const E_LENGTH = err('format', 'udp: length field below 8 or beyond the IP payload');

/** View over a UDP datagram. */
export class UdpView {
  constructor(public buf: Uint8Array, public off: number) {}

  /** Null when the 8-byte header fits in `len` and 8 <= Length <= len. */
  static check(buf: Uint8Array, off: number, len: number): ParseError | null {
    if (!rangeOk(buf, off, len) || len < UDP_HEADER_LEN) return E_SHORT;
    const l = (buf[off + 4] << 8) | buf[off + 5];
    if (l < UDP_HEADER_LEN || l > len) return E_LENGTH;
    return null;
  }
  static checked(buf: Uint8Array, off: number, len: number): ParseResult<UdpView> {
    return UdpView.check(buf, off, len) ?? ok(new UdpView(buf, off));
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
  get length(): number {
    return readU16(this.buf, this.off + 4);
  }
  set length(v: number) {
    writeU16(this.buf, this.off + 4, v);
  }
  get checksum(): number {
    return readU16(this.buf, this.off + 6);
  }
  set checksum(v: number) {
    writeU16(this.buf, this.off + 6, v);
  }
  get payloadOff(): number {
    return this.off + UDP_HEADER_LEN;
  }
  get payloadLen(): number {
    return this.length - UDP_HEADER_LEN;
  }
}

export function udpHeaderLen(_h?: UdpHeader): number {
  return UDP_HEADER_LEN;
}

/** Parses the header of a datagram in the `len`-byte IP payload at `off`. The UDP Length may be
 *  shorter than the IP payload (trailing bytes are ignored, as Linux does) but not longer.
 *  The payload is `length - 8` bytes at `off + 8`. Does not verify the checksum. Never throws. */
export function parseUdp(buf: Uint8Array, off: number, len: number, out?: UdpHeader): ParseResult<UdpHeader> {
  const e = UdpView.check(buf, off, len);
  if (e !== null) return e;
  const h = out ?? ({} as UdpHeader);
  h.srcPort = (buf[off] << 8) | buf[off + 1];
  h.dstPort = (buf[off + 2] << 8) | buf[off + 3];
  h.length = (buf[off + 4] << 8) | buf[off + 5];
  h.checksum = (buf[off + 6] << 8) | buf[off + 7];
  return out !== undefined ? okReused(h) : ok(h);
}

/** Writes the 8-byte header at `off` (payload already in place). Returns 8. */
export function emitUdp(h: UdpHeader, buf: Uint8Array, off: number): number {
  writeU16(buf, off, h.srcPort);
  writeU16(buf, off + 2, h.dstPort);
  writeU16(buf, off + 4, h.length);
  writeU16(buf, off + 6, h.checksum);
  return UDP_HEADER_LEN;
}

/** The checksum value for the `len`-byte datagram at `off` given the pseudo-header partial sum
 *  (the checksum field is treated as zero). RFC 768: "If the computed checksum is zero, it is
 *  transmitted as all ones (the equivalent in one's complement arithmetic)." */
export function udpComputeChecksum(buf: Uint8Array, off: number, len: number, pseudoSum: number): number {
  const c = finish(sum16(buf, off, len, pseudoSum) - ((buf[off + 6] << 8) | buf[off + 7]));
  return c === 0 ? 0xffff : c;
}

/** Computes and stores the checksum. */
export function udpFillChecksum(buf: Uint8Array, off: number, len: number, pseudoSum: number): number {
  buf[off + 6] = 0;
  buf[off + 7] = 0;
  const c = finish(sum16(buf, off, len, pseudoSum));
  const v = c === 0 ? 0xffff : c;
  writeU16(buf, off + 6, v);
  return v;
}

/** Verifies the checksum of the `len`-byte datagram (use the UDP Length) at `off`.
 *  RFC 768: "An all zero transmitted checksum value means that the transmitter generated no
 *  checksum" -- accepted when `zeroAllowed` (IPv4). RFC 8200 §8.1: "IPv6 receivers must discard
 *  UDP packets containing a zero checksum" -- pass zeroAllowed = false for IPv6. */
export function udpVerifyChecksum(buf: Uint8Array, off: number, len: number, pseudoSum: number, zeroAllowed: boolean): boolean {
  if (!rangeOk(buf, off, len) || len < UDP_HEADER_LEN) return false;
  if (buf[off + 6] === 0 && buf[off + 7] === 0) return zeroAllowed;
  return finish(sum16(buf, off, len, pseudoSum)) === 0;
}

/** Verifies with the IPv4 pseudo-header; `len` is the UDP Length. */
export function udpVerifyV4(buf: Uint8Array, off: number, len: number, src: Ipv4Addr, dst: Ipv4Addr): boolean {
  return udpVerifyChecksum(buf, off, len, pseudoSumV4(src, dst, IP_PROTO_UDP, len), true);
}

/** Verifies with the IPv6 pseudo-header; a zero checksum fails. */
export function udpVerifyV6(buf: Uint8Array, off: number, len: number, src: Ipv6Addr, dst: Ipv6Addr): boolean {
  return udpVerifyChecksum(buf, off, len, pseudoSumV6Addrs(src, dst, IP_PROTO_UDP, len), false);
}

/** Parses and verifies the checksum (IPv4) in one call. */
export function parseUdpV4Verified(
  buf: Uint8Array, off: number, len: number, src: Ipv4Addr, dst: Ipv4Addr,
): ParseResult<UdpHeader> {
  const r = parseUdp(buf, off, len);
  if (!r.ok) return r;
  if (!udpVerifyV4(buf, off, r.value.length, src, dst)) return E_CHECKSUM;
  return r;
}

/** Parses and verifies the checksum (IPv6) in one call. */
export function parseUdpV6Verified(
  buf: Uint8Array, off: number, len: number, src: Ipv6Addr, dst: Ipv6Addr,
): ParseResult<UdpHeader> {
  const r = parseUdp(buf, off, len);
  if (!r.ok) return r;
  if (!udpVerifyV6(buf, off, r.value.length, src, dst)) return E_CHECKSUM;
  return r;
}

const E_CHECKSUM = err('checksum', 'udp: checksum');
