// Ethernet II frames with IEEE 802.1Q VLAN tags (and 802.1ad 0x88a8 service tags): view,
// header value, parse and emit. Follows IEEE 802.3 (Ethernet II / DIX framing, RFC 894 for IP
// over Ethernet), IEEE 802.1Q-2018 §9.6 (VLAN tag: TPID, PCP, DEI, VID) and the IANA EtherType
// registry. The FCS is not part of the buffers we see (NICs, TAPs and AF_PACKET strip it).
//
// RFC 894: "The minimum length of the data field of a packet sent over an Ethernet is 46
// octets." Padding to that minimum is the emitter's job (`ETHERNET_MIN_FRAME`); the parser does
// not require it because captures on veth/TAP devices carry unpadded frames.
// Frames whose type field is an 802.3 length (< 0x0600) are reported 'unsupported' (no LLC/SNAP).

import { MacAddr } from './address';
import { okReused, rangeOk } from './bytes';
import { ParseError, ParseResult, err, ok } from './result';

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_VLAN = 0x8100; // IEEE 802.1Q C-tag
export const ETHERTYPE_QINQ = 0x88a8; // IEEE 802.1ad S-tag
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_LLDP = 0x88cc;

/** Destination, source, EtherType. */
export const ETHERNET_HEADER_LEN = 14;
export const VLAN_TAG_LEN = 4;
/** Minimum frame length without FCS (64 with FCS). */
export const ETHERNET_MIN_FRAME = 60;
/** We accept at most this many stacked tags (802.1ad S-tag + 802.1Q C-tag). */
export const MAX_VLAN_TAGS = 2;

/** One 802.1Q tag. IEEE 802.1Q §9.6: TPID (16 bits), then TCI: PCP (3), DEI (1), VID (12). */
export interface VlanTag {
  /** Tag protocol identifier: 0x8100 or 0x88a8. */
  tpid: number;
  /** Priority code point 0..7. */
  pcp: number;
  /** Drop eligible indicator. */
  dei: boolean;
  /** VLAN id 0..4095 (0 = priority tag only, 4095 reserved). */
  vid: number;
}

export interface EthernetHeader {
  dst: MacAddr;
  src: MacAddr;
  /** Outermost first; empty for an untagged frame. */
  vlans: VlanTag[];
  /** The EtherType after any VLAN tags. */
  etherType: number;
}

function isTagTpid(t: number): boolean {
  return t === ETHERTYPE_VLAN || t === ETHERTYPE_QINQ;
}

/** A view over an Ethernet frame at `off` in `buf`. Construct unchecked with `new` when the
 *  buffer is known to hold 14 bytes (emit side); use `EthernetView.check`/`checked` on input. */
export class EthernetView {
  constructor(public buf: Uint8Array, public off: number, public len: number) {}

  /** Null when at least the 14-byte header (plus any VLAN tags, up to MAX_VLAN_TAGS) fits. */
  static check(buf: Uint8Array, off: number, len: number): ParseError | null {
    if (!rangeOk(buf, off, len) || len < ETHERNET_HEADER_LEN) return E_SHORT;
    let p = off + 12;
    let tags = 0;
    while (isTagTpid((buf[p] << 8) | buf[p + 1])) {
      if (++tags > MAX_VLAN_TAGS) return E_TAGS;
      p += VLAN_TAG_LEN;
      if (p + 2 > off + len) return E_SHORT;
    }
    return null;
  }

  static checked(buf: Uint8Array, off: number, len: number): ParseResult<EthernetView> {
    const e = EthernetView.check(buf, off, len);
    return e ?? ok(new EthernetView(buf, off, len));
  }

  /** Byte offset (absolute in buf) of the destination MAC. */
  get dstOff(): number {
    return this.off;
  }
  get srcOff(): number {
    return this.off + 6;
  }
  /** The outer type field (a TPID for tagged frames). */
  get outerType(): number {
    return (this.buf[this.off + 12] << 8) | this.buf[this.off + 13];
  }
  set outerType(v: number) {
    this.buf[this.off + 12] = v >>> 8;
    this.buf[this.off + 13] = v;
  }
  /** Number of VLAN tags (checked views only count up to MAX_VLAN_TAGS). */
  get tagCount(): number {
    let n = 0;
    let p = this.off + 12;
    while (n < MAX_VLAN_TAGS && isTagTpid((this.buf[p] << 8) | this.buf[p + 1])) {
      n++;
      p += VLAN_TAG_LEN;
    }
    return n;
  }
  /** Header length including tags. */
  get headerLen(): number {
    return ETHERNET_HEADER_LEN + VLAN_TAG_LEN * this.tagCount;
  }
  /** The EtherType after the tags. */
  get etherType(): number {
    const p = this.off + 12 + VLAN_TAG_LEN * this.tagCount;
    return (this.buf[p] << 8) | this.buf[p + 1];
  }
  /** VLAN id of the outermost tag, or -1 for an untagged frame. */
  get vid(): number {
    if (!isTagTpid(this.outerType)) return -1;
    return ((this.buf[this.off + 14] << 8) | this.buf[this.off + 15]) & 0x0fff;
  }
  get payloadOff(): number {
    return this.off + this.headerLen;
  }
  get payloadLen(): number {
    return this.len - this.headerLen;
  }
  /** True if the destination has the group bit set (multicast or broadcast). */
  get dstIsMulticast(): boolean {
    return (this.buf[this.off] & 1) !== 0;
  }
  dst(): MacAddr {
    return this.buf.slice(this.off, this.off + 6);
  }
  src(): MacAddr {
    return this.buf.slice(this.off + 6, this.off + 12);
  }
  setDst(m: MacAddr): void {
    for (let i = 0; i < 6; i++) this.buf[this.off + i] = m[i];
  }
  setSrc(m: MacAddr): void {
    for (let i = 0; i < 6; i++) this.buf[this.off + 6 + i] = m[i];
  }
}

const E_SHORT = err('format', 'ethernet: frame shorter than its header');
const E_TAGS = err('unsupported', 'ethernet: more than 2 VLAN tags');
const E_8023 = err('unsupported', 'ethernet: 802.3 length field (LLC/SNAP not supported)');


/** Header length for a header value. */
export function ethernetHeaderLen(h: EthernetHeader): number {
  return ETHERNET_HEADER_LEN + VLAN_TAG_LEN * h.vlans.length;
}

/** Parses the frame header at `off` (`len` bytes of frame). The payload is at
 *  `off + ethernetHeaderLen(h)`. Pass `out` to reuse a header value (its MAC arrays are
 *  overwritten in place). Never throws. */
export function parseEthernet(
  buf: Uint8Array, off: number, len: number, out?: EthernetHeader,
): ParseResult<EthernetHeader> {
  if (!rangeOk(buf, off, len) || len < ETHERNET_HEADER_LEN) return E_SHORT;
  let p = off + 12;
  let t = (buf[p] << 8) | buf[p + 1];
  const h: EthernetHeader = out ?? { dst: new Uint8Array(6), src: new Uint8Array(6), vlans: [], etherType: 0 };
  if (h.vlans.length !== 0) h.vlans.length = 0;
  while (isTagTpid(t)) {
    // IEEE 802.1Q §9.6: TPID, then TCI = PCP(3) DEI(1) VID(12)
    if (h.vlans.length === MAX_VLAN_TAGS) return E_TAGS;
    if (p + VLAN_TAG_LEN + 2 > off + len) return E_SHORT;
    const tci = (buf[p + 2] << 8) | buf[p + 3];
    h.vlans.push({ tpid: t, pcp: tci >>> 13, dei: (tci & 0x1000) !== 0, vid: tci & 0x0fff });
    p += VLAN_TAG_LEN;
    t = (buf[p] << 8) | buf[p + 1];
  }
  // IEEE 802.3 §3.2.6: values below 1536 (0x0600) are a length, not a type.
  if (t < 0x0600) return E_8023;
  const d = h.dst;
  const s = h.src;
  d[0] = buf[off]; d[1] = buf[off + 1]; d[2] = buf[off + 2]; d[3] = buf[off + 3]; d[4] = buf[off + 4]; d[5] = buf[off + 5];
  s[0] = buf[off + 6]; s[1] = buf[off + 7]; s[2] = buf[off + 8]; s[3] = buf[off + 9]; s[4] = buf[off + 10]; s[5] = buf[off + 11];
  h.etherType = t;
  return out !== undefined ? okReused(h) : ok(h);
}

/** Writes the header at `off` (the payload is already in place after it). The caller makes
 *  room for ethernetHeaderLen(h) bytes. Returns the header length. */
export function emitEthernet(h: EthernetHeader, buf: Uint8Array, off: number): number {
  for (let i = 0; i < 6; i++) {
    buf[off + i] = h.dst[i];
    buf[off + 6 + i] = h.src[i];
  }
  let p = off + 12;
  for (const v of h.vlans) {
    buf[p] = v.tpid >>> 8;
    buf[p + 1] = v.tpid;
    const tci = ((v.pcp & 7) << 13) | (v.dei ? 0x1000 : 0) | (v.vid & 0x0fff);
    buf[p + 2] = tci >>> 8;
    buf[p + 3] = tci;
    p += VLAN_TAG_LEN;
  }
  buf[p] = h.etherType >>> 8;
  buf[p + 1] = h.etherType;
  return p + 2 - off;
}
