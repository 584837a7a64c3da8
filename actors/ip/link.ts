// The Ethernet side of the IP actor: demultiplexing received frames by EtherType to ARP, IPv4
// (and IPv6, in the later half), and writing frames in place into an interface's tx ring.
// Follows IEEE 802.3 / RFC 894 (IP over Ethernet: EtherType 0x0800, minimum 46 data octets,
// padded by the sender) and RFC 826 (ARP, EtherType 0x0806).

import { MacAddr, macEqualAt } from '../../protocol/address';
import {
  ETHERNET_HEADER_LEN, ETHERNET_MIN_FRAME, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, EthernetView,
} from '../../protocol/ethernet';
import type { Interface } from './iface';

/** Where frames go: the tx ring of an interface, written in place. */
export interface FrameSink {
  /** Reserves `len` bytes for one frame: the ring's bytes and the offset to write at, or null
   *  (no ring wired, ring full: counted by the sink). Publish with commitFrame. */
  reserveFrame(iface: Interface, len: number): { bytes: Uint8Array; at: number } | null;
  commitFrame(iface: Interface, len: number): void;
}

/** An open frame: the Ethernet header is written, the payload goes at `bytes[payloadAt ..]`. */
export interface OpenFrame {
  bytes: Uint8Array;
  payloadAt: number;
  /** Frame length to commit (header + payload + padding). */
  frameLen: number;
  payloadLen: number;
}

const open: OpenFrame = { bytes: new Uint8Array(0), payloadAt: 0, frameLen: 0, payloadLen: 0 };

/** Starts a frame of `payloadLen` bytes to `dstMac`. The caller writes the payload, then calls
 *  finishFrame. Returns null when the frame cannot be written. The returned object is reused. */
export function beginFrame(sink: FrameSink, ifc: Interface, dstMac: MacAddr, etherType: number, payloadLen: number): OpenFrame | null {
  // RFC 894: "The minimum length of the data field of a packet sent over an Ethernet is 46
  // octets." Shorter payloads are padded with zeros (frame length 60 without the FCS).
  const n = Math.max(ETHERNET_HEADER_LEN + payloadLen, ETHERNET_MIN_FRAME);
  const slot = sink.reserveFrame(ifc, n);
  if (slot === null) return null;
  const f = slot.bytes;
  const at = slot.at;
  f.set(dstMac, at);
  f.set(ifc.mac, at + 6);
  f[at + 12] = etherType >>> 8;
  f[at + 13] = etherType & 0xff;
  open.bytes = f;
  open.payloadAt = at + ETHERNET_HEADER_LEN;
  open.frameLen = n;
  open.payloadLen = payloadLen;
  return open;
}

export function finishFrame(sink: FrameSink, ifc: Interface, o: OpenFrame): void {
  const end = o.payloadAt + o.payloadLen;
  const frameEnd = o.payloadAt - ETHERNET_HEADER_LEN + o.frameLen;
  if (end < frameEnd) o.bytes.fill(0, end, frameEnd);
  sink.commitFrame(ifc, o.frameLen);
}

/** One frame carrying pkt[off .. off+len). */
export function writeFrame(sink: FrameSink, ifc: Interface, dstMac: MacAddr, etherType: number, pkt: Uint8Array, off: number, len: number): boolean {
  const o = beginFrame(sink, ifc, dstMac, etherType, len);
  if (o === null) return false;
  o.bytes.set(off === 0 && len === pkt.length ? pkt : pkt.subarray(off, off + len), o.payloadAt);
  finishFrame(sink, ifc, o);
  return true;
}

/** The protocol handlers a received frame goes to. */
export interface LinkHandlers {
  ipv4(ifc: Interface, buf: Uint8Array, off: number, len: number, linkBroadcast: boolean): void;
  arp(ifc: Interface, buf: Uint8Array, off: number, len: number, frameSrc: MacAddr): void;
  /** The IPv6 half (NDP, SLAAC, MLD) plugs in here. */
  ipv6?(ifc: Interface, buf: Uint8Array, off: number, len: number, linkBroadcast: boolean): void;
  count(name: string): void;
}

const frameSrc = new Uint8Array(6);

/** Demultiplexes one received frame. Never throws on bad input. */
export function receiveFrame(ifc: Interface, buf: Uint8Array, off: number, len: number, h: LinkHandlers): void {
  if (!ifc.up) {
    h.count('eth.drop.link-down');
    return;
  }
  if (EthernetView.check(buf, off, len) !== null) {
    h.count('eth.drop.short');
    return;
  }
  const eth = new EthernetView(buf, off, len);
  const linkBcast = eth.dstIsMulticast;
  // IEEE 802.3: accept frames to our unicast address or a group address; a frame to another
  // station's unicast address reached us only because the link is shared (or promiscuous).
  if (!linkBcast && !macEqualAt(ifc.mac, buf, off)) {
    h.count('eth.drop.other-host');
    return;
  }
  if (eth.tagCount !== 0) {
    h.count('eth.drop.vlan'); // VLAN sub-interfaces are not configured here
    return;
  }
  const type = eth.etherType;
  const p = eth.payloadOff;
  const pl = eth.payloadLen;
  switch (type) {
    case ETHERTYPE_IPV4:
      h.ipv4(ifc, buf, p, pl, linkBcast);
      return;
    case ETHERTYPE_ARP:
      for (let i = 0; i < 6; i++) frameSrc[i] = buf[off + 6 + i];
      h.arp(ifc, buf, p, pl, frameSrc);
      return;
    case ETHERTYPE_IPV6:
      if (h.ipv6) h.ipv6(ifc, buf, p, pl, linkBcast);
      else h.count('eth.drop.ipv6');
      return;
    default:
      h.count('eth.drop.ethertype');
  }
}
