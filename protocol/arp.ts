// ARP packets for IPv4 over Ethernet: view, header value, parse and emit. Follows RFC 826
// ("An Ethernet Address Resolution Protocol"), RFC 5227 (ARP probes/announcements: sender IP
// 0.0.0.0, or sender IP == target IP) and RFC 5494 (IANA ARP parameters).
//
// RFC 826 packet format:
//   ar$hrd 16 bits (Hardware address space, 1 = Ethernet), ar$pro 16 bits (Protocol address
//   space, 0x0800 = IP), ar$hln 8 bits, ar$pln 8 bits, ar$op 16 bits (REQUEST | REPLY),
//   ar$sha, ar$spa, ar$tha, ar$tpa.
// Only hrd=1/pro=0x0800/hln=6/pln=4 is supported; anything else is 'unsupported'. RARP and
// InARP opcodes are 'unsupported'. Trailing bytes (Ethernet padding) are ignored.

import { Ipv4Addr, MacAddr, ipv4FromBytes } from './address';
import { okReused, rangeOk, writeU32 } from './bytes';
import { ParseError, ParseResult, err, ok } from './result';

export const ARP_HTYPE_ETHERNET = 1;
export const ARP_PTYPE_IPV4 = 0x0800;
export const ARP_OP_REQUEST = 1;
export const ARP_OP_REPLY = 2;
/** Length of an Ethernet/IPv4 ARP packet. */
export const ARP_LEN = 28;

export type ArpOp = 1 | 2;

export interface ArpHeader {
  op: ArpOp;
  senderMac: MacAddr;
  senderIp: Ipv4Addr;
  /** Ignored in requests (RFC 826: "does not matter"); usually zero. */
  targetMac: MacAddr;
  targetIp: Ipv4Addr;
}

const E_SHORT = err('format', 'arp: shorter than 28 bytes');
const E_HW = err('unsupported', 'arp: hardware/protocol type or lengths not Ethernet/IPv4');
const E_OP = err('unsupported', 'arp: opcode not request or reply');


/** View over an ARP packet. */
export class ArpView {
  constructor(public buf: Uint8Array, public off: number) {}

  /** Null when the 28 bytes fit and the packet is Ethernet/IPv4 ARP. */
  static check(buf: Uint8Array, off: number, len: number): ParseError | null {
    if (!rangeOk(buf, off, len) || len < ARP_LEN) return E_SHORT;
    if (
      ((buf[off] << 8) | buf[off + 1]) !== ARP_HTYPE_ETHERNET ||
      ((buf[off + 2] << 8) | buf[off + 3]) !== ARP_PTYPE_IPV4 ||
      buf[off + 4] !== 6 || buf[off + 5] !== 4
    ) return E_HW;
    return null;
  }

  static checked(buf: Uint8Array, off: number, len: number): ParseResult<ArpView> {
    return ArpView.check(buf, off, len) ?? ok(new ArpView(buf, off));
  }

  get htype(): number {
    return (this.buf[this.off] << 8) | this.buf[this.off + 1];
  }
  get ptype(): number {
    return (this.buf[this.off + 2] << 8) | this.buf[this.off + 3];
  }
  get op(): number {
    return (this.buf[this.off + 6] << 8) | this.buf[this.off + 7];
  }
  set op(v: number) {
    this.buf[this.off + 6] = v >>> 8;
    this.buf[this.off + 7] = v;
  }
  get senderMacOff(): number {
    return this.off + 8;
  }
  get senderIp(): Ipv4Addr {
    return ipv4FromBytes(this.buf, this.off + 14);
  }
  set senderIp(a: Ipv4Addr) {
    writeU32(this.buf, this.off + 14, a);
  }
  get targetMacOff(): number {
    return this.off + 18;
  }
  get targetIp(): Ipv4Addr {
    return ipv4FromBytes(this.buf, this.off + 24);
  }
  set targetIp(a: Ipv4Addr) {
    writeU32(this.buf, this.off + 24, a);
  }
}


export function arpHeaderLen(_h?: ArpHeader): number {
  return ARP_LEN;
}

/** Parses an Ethernet/IPv4 ARP packet. Never throws. */
export function parseArp(buf: Uint8Array, off: number, len: number, out?: ArpHeader): ParseResult<ArpHeader> {
  const e = ArpView.check(buf, off, len);
  if (e !== null) return e;
  const op = (buf[off + 6] << 8) | buf[off + 7];
  if (op !== ARP_OP_REQUEST && op !== ARP_OP_REPLY) return E_OP;
  const h: ArpHeader = out ?? {
    op, senderMac: new Uint8Array(6), senderIp: 0, targetMac: new Uint8Array(6), targetIp: 0,
  };
  h.op = op;
  for (let i = 0; i < 6; i++) {
    h.senderMac[i] = buf[off + 8 + i];
    h.targetMac[i] = buf[off + 18 + i];
  }
  h.senderIp = ipv4FromBytes(buf, off + 14);
  h.targetIp = ipv4FromBytes(buf, off + 24);
  return out !== undefined ? okReused(h) : ok(h);
}

/** Writes the 28-byte packet at `off`. Returns 28. */
export function emitArp(h: ArpHeader, buf: Uint8Array, off: number): number {
  buf[off] = 0;
  buf[off + 1] = ARP_HTYPE_ETHERNET;
  buf[off + 2] = ARP_PTYPE_IPV4 >>> 8;
  buf[off + 3] = ARP_PTYPE_IPV4 & 0xff;
  buf[off + 4] = 6;
  buf[off + 5] = 4;
  buf[off + 6] = 0;
  buf[off + 7] = h.op;
  for (let i = 0; i < 6; i++) {
    buf[off + 8 + i] = h.senderMac[i];
    buf[off + 18 + i] = h.targetMac[i];
  }
  writeU32(buf, off + 14, h.senderIp);
  writeU32(buf, off + 24, h.targetIp);
  return ARP_LEN;
}

/** RFC 5227 §1.1 / §2.1.1: an ARP Probe has sender IP 0.0.0.0. */
export function arpIsProbe(h: ArpHeader): boolean {
  return h.op === ARP_OP_REQUEST && h.senderIp === 0;
}

/** RFC 5227 §3: an ARP Announcement (gratuitous ARP) has sender IP == target IP. */
export function arpIsAnnouncement(h: ArpHeader): boolean {
  return h.senderIp !== 0 && h.senderIp === h.targetIp;
}
