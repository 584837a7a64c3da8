// IPv4-side fuzz targets for bench/fuzz.ts: every parser in the IPv4-side protocol/ files, plus a
// whole-frame dissector that chains them the way the stack does (ethernet -> arp/ipv4 ->
// icmp/udp/tcp, with checksums).

import {
  parseCidr, parseIp, parseIpv4, parseIpv4Cidr, parseIpv6, parseIpv6Cidr, parseMac,
} from '../protocol/address';
import { ArpView, parseArp } from '../protocol/arp';
import { EthernetView, ethernetHeaderLen, parseEthernet, ETHERTYPE_ARP, ETHERTYPE_IPV4 } from '../protocol/ethernet';
import { Icmpv4View, parseIcmpv4, parseIcmpv4Quote } from '../protocol/icmpv4';
import { Ipv4View, parseIpv4Header, parseIpv4Quoted, IP_PROTO_ICMP, IP_PROTO_TCP, IP_PROTO_UDP } from '../protocol/ipv4';
import { pcapGlobalHeader, readPcap } from '../protocol/pcap';
import { ParseResult } from '../protocol/result';
import { TcpView, parseTcp, parseTcpV4Verified, tcpHeader } from '../protocol/tcp';
import { UdpView, parseUdp, parseUdpV4Verified } from '../protocol/udp';

export interface FuzzTarget {
  name: string;
  parse: (buf: Uint8Array, off: number, len: number) => unknown;
}

/** Parses a whole Ethernet frame down to the transport header, verifying checksums. Returns the
 *  first error, or the innermost header. */
export function dissectFrameV4(buf: Uint8Array, off: number, len: number): ParseResult<unknown> {
  const e = parseEthernet(buf, off, len);
  if (!e.ok) return e;
  const hl = ethernetHeaderLen(e.value);
  const p = off + hl;
  const plen = len - hl;
  if (e.value.etherType === ETHERTYPE_ARP) return parseArp(buf, p, plen);
  if (e.value.etherType !== ETHERTYPE_IPV4) return e;
  const ip = parseIpv4Header(buf, p, plen);
  if (!ip.ok) return ip;
  const h = ip.value;
  const l4 = p + h.headerLen;
  if (h.fragOffset !== 0 || h.moreFragments) return ip;
  switch (h.protocol) {
    case IP_PROTO_ICMP: {
      const r = parseIcmpv4(buf, l4, h.payloadLen);
      if (r.ok && buf[l4] !== 0 && buf[l4] !== 8) {
        const q = parseIcmpv4Quote(buf, l4, h.payloadLen);
        if (q.ok && q.value.ip.protocol === IP_PROTO_TCP) return parseTcp(buf, q.value.transportOff, q.value.transportLen);
        return q;
      }
      return r;
    }
    case IP_PROTO_UDP:
      return parseUdpV4Verified(buf, l4, h.payloadLen, h.src, h.dst);
    case IP_PROTO_TCP:
      return parseTcpV4Verified(buf, l4, h.payloadLen, h.src, h.dst);
    default:
      return ip;
  }
}

const latin1 = (buf: Uint8Array, off: number, len: number): string => {
  let s = '';
  const end = Math.min(buf.length, off + Math.min(len, 60));
  for (let i = Math.max(0, off); i < end; i++) s += String.fromCharCode(buf[i] & 0x7f);
  return s;
};

const reusedTcp = tcpHeader({ srcPort: 0, dstPort: 0 });
const PCAP_HEADER = pcapGlobalHeader();

export const v4FuzzTargets: FuzzTarget[] = [
  { name: 'frame-v4 (dissect)', parse: dissectFrameV4 },
  { name: 'ethernet', parse: (b, o, l) => parseEthernet(b, o, l) },
  { name: 'EthernetView.checked', parse: (b, o, l) => EthernetView.checked(b, o, l) },
  { name: 'arp', parse: (b, o, l) => parseArp(b, o, l) },
  { name: 'ArpView.checked', parse: (b, o, l) => ArpView.checked(b, o, l) },
  { name: 'ipv4', parse: (b, o, l) => parseIpv4Header(b, o, l) },
  { name: 'ipv4 (no checksum)', parse: (b, o, l) => parseIpv4Header(b, o, l, false) },
  { name: 'ipv4 quoted', parse: parseIpv4Quoted },
  { name: 'Ipv4View.checked', parse: (b, o, l) => Ipv4View.checked(b, o, l) },
  { name: 'icmpv4', parse: (b, o, l) => parseIcmpv4(b, o, l) },
  { name: 'icmpv4 (no checksum)', parse: (b, o, l) => parseIcmpv4(b, o, l, false) },
  { name: 'icmpv4 quote', parse: parseIcmpv4Quote },
  { name: 'Icmpv4View.checked', parse: (b, o, l) => Icmpv4View.checked(b, o, l) },
  { name: 'udp', parse: (b, o, l) => parseUdp(b, o, l) },
  { name: 'udp v4 verified', parse: (b, o, l) => parseUdpV4Verified(b, o, l, 0xc0000201, 0xc0000202) },
  { name: 'UdpView.checked', parse: (b, o, l) => UdpView.checked(b, o, l) },
  { name: 'tcp', parse: (b, o, l) => parseTcp(b, o, l) },
  { name: 'tcp (reused header)', parse: (b, o, l) => parseTcp(b, o, l, reusedTcp) },
  { name: 'tcp v4 verified', parse: (b, o, l) => parseTcpV4Verified(b, o, l, 0xc0000201, 0xc0000202) },
  { name: 'TcpView.checked', parse: (b, o, l) => TcpView.checked(b, o, l) },
  { name: 'pcap', parse: (b, o, l) => (o >= 0 && l >= 0 ? readPcap(b.subarray(o, o + l)) : readPcap(new Uint8Array(0))) },
  {
    // the bytes as pcap records after a valid global header
    name: 'pcap records',
    parse: (b, o, l) => {
      if (!(o >= 0 && l >= 0)) return readPcap(new Uint8Array(0));
      const s = b.subarray(o, o + l);
      const f = new Uint8Array(24 + s.length);
      f.set(PCAP_HEADER);
      f.set(s, 24);
      return readPcap(f);
    },
  },
  {
    name: 'address text',
    parse: (b, o, l) => {
      const s = latin1(b, o, l);
      const r = [parseIpv4(s), parseIpv6(s), parseMac(s), parseIpv4Cidr(s), parseIpv6Cidr(s), parseCidr(s), parseIp(s)];
      return r.some((x) => x !== null) ? { ok: true, value: r } : { ok: false, kind: 'format', reason: 'no address' };
    },
  },
];
