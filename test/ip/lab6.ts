// IPv6 helpers for the IP actor tests: frame builders (IPv6 header + payload, ICMPv6, ND, MLD),
// frame classification, and a settled pair of hosts whose link-local addresses passed DAD.

import { InlinePipeline } from '../../base/inline';
import { IpCore } from '../../actors/ip/actor';
import {
  Ipv6Addr, ipv6LinkLocalFromMac, ipv6MulticastMac, parseIpv6, parseMac,
} from '../../protocol/address';
import { emitIcmpv6 } from '../../protocol/icmpv6';
import { NdpMessage, emitNdp, ndpMessageLen } from '../../protocol/ndp';
import { walkIpv6Chain } from '../../protocol/ipv6';
import { MAC_A, MAC_B, core, twoHosts } from './lab';

export const ip6 = (s: string): Ipv6Addr => parseIpv6(s)!;
export const LL_A = ipv6LinkLocalFromMac(parseMac(MAC_A)!);
export const LL_B = ipv6LinkLocalFromMac(parseMac(MAC_B)!);
export const MAC_R = '02:00:00:00:00:99';
export const LL_R = ipv6LinkLocalFromMac(parseMac(MAC_R)!);

/** Every counter of an IP actor (the shared block and the ones kept in the actor). */
export function ctr(p: InlinePipeline, name: string): Record<string, number> {
  return (p.runner(name).core as IpCore).counters.snapshot();
}

/** An Ethernet frame with an IPv6 packet: header fields + payload (which starts with the
 *  extension headers when `nh` names one). */
export function ipv6Frame(
  dstMac: string | Uint8Array, srcMac: string, src: Ipv6Addr, dst: Ipv6Addr, nh: number, hop: number, payload: Uint8Array,
): Uint8Array {
  const f = new Uint8Array(14 + 40 + payload.length);
  f.set(typeof dstMac === 'string' ? parseMac(dstMac)! : dstMac, 0);
  f.set(parseMac(srcMac)!, 6);
  f[12] = 0x86;
  f[13] = 0xdd;
  f[14] = 0x60;
  f[18] = payload.length >>> 8;
  f[19] = payload.length & 0xff;
  f[20] = nh;
  f[21] = hop;
  f.set(src, 22);
  f.set(dst, 38);
  f.set(payload, 54);
  return f;
}

export function echo6(type: 128 | 129, ident: number, seq: number, data: Uint8Array, src: Ipv6Addr, dst: Ipv6Addr): Uint8Array {
  const m = new Uint8Array(8 + data.length);
  m.set(data, 8);
  emitIcmpv6({ kind: type === 128 ? 'echoRequest' : 'echoReply', code: 0, ident, seq, dataLen: data.length }, m, 0, src, dst);
  return m;
}

export function nd(m: NdpMessage, src: Ipv6Addr, dst: Ipv6Addr): Uint8Array {
  const b = new Uint8Array(ndpMessageLen(m));
  emitNdp(m, b, 0, src, dst);
  return b;
}

/** A frame with an ND message (hop limit 255) to the multicast MAC of a group destination. */
export function ndFrame(srcMac: string, src: Ipv6Addr, dst: Ipv6Addr, m: NdpMessage, dstMac?: string): Uint8Array {
  return ipv6Frame(dstMac ?? ipv6MulticastMac(dst), srcMac, src, dst, 58, 255, nd(m, src, dst));
}

export function isV6(f: Uint8Array): boolean {
  return f[12] === 0x86 && f[13] === 0xdd;
}

/** The upper-layer protocol, its offset and, for ICMPv6, the type of an IPv6 frame. */
export function upper(f: Uint8Array): { proto: number; off: number; len: number; type: number; frag: boolean } {
  const r = walkIpv6Chain(f, 14, f.length - 14);
  if (!r.ok) return { proto: -1, off: 0, len: 0, type: -1, frag: false };
  const c = r.value;
  const frag = c.fragment !== null && (c.fragment.more || c.fragment.fragOffset !== 0);
  return { proto: c.protocol, off: c.protocolOff, len: c.protocolLen, type: c.protocol === 58 && !frag ? f[c.protocolOff] : -1, frag };
}

export function icmp6Frames(list: Uint8Array[] | undefined, type: number): Uint8Array[] {
  return (list ?? []).filter((f) => isV6(f) && upper(f).type === type);
}

export const srcOf = (f: Uint8Array): Uint8Array => f.subarray(22, 38);
export const dstOf = (f: Uint8Array): Uint8Array => f.subarray(38, 54);

/** Two hosts (lab.twoHosts) run until their link-local addresses passed DAD; with extra
 *  IPv6 addresses a: 2001:db8::1/64, b: 2001:db8::2/64 when `global`. */
export function twoHosts6(global = true, opts: { mtu?: number } = {}): InlinePipeline {
  const p = twoHosts({}, {}, opts);
  if (global) {
    p.control('a', 'addAddress', { iface: 'eth0', address: '2001:db8::1/64' });
    p.control('b', 'addAddress', { iface: 'eth0', address: '2001:db8::2/64' });
  }
  p.run(p.clock.now() + 1500);
  return p;
}

export { core, MAC_A, MAC_B };
