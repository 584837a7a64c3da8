// IPv6-side fuzz targets for bench/fuzz.ts: every parser in protocol/ipv6.ts, icmpv6.ts, ndp.ts
// and mld.ts, plus a whole-frame dissector that chains them the way the stack does
// (ethernet -> ipv6 chain -> icmpv6 / ndp / mld), once with checksums verified and once without
// so mutated frames reach the deeper decoders.

import { parseEthernet, ethernetHeaderLen, ETHERTYPE_IPV6 } from '../protocol/ethernet';
import {
  ICMPV6_MLDV2_REPORT, ICMPV6_MLD_DONE, ICMPV6_MLD_QUERY, ICMPV6_MLD_REPORT, ICMPV6_NEIGHBOR_ADVERT,
  ICMPV6_NEIGHBOR_SOLICIT, ICMPV6_REDIRECT, ICMPV6_ROUTER_ADVERT, ICMPV6_ROUTER_SOLICIT,
  Icmpv6View, icmpv6ErrorAllowed, icmpv6IsError, parseIcmpv6,
} from '../protocol/icmpv6';
import {
  Ipv6Chain, Ipv6Problem, Ipv6View, NH_ICMPV6, ipv6ChainVerdict, parseIpv6Header, walkIpv6Chain, walkIpv6Quoted,
} from '../protocol/ipv6';
import { MldIpContext, MldView, parseMld, parseMldQuery, parseMldV2Report } from '../protocol/mld';
import {
  NdpIpContext, NdpView, ndpCheckPacket, parseNdp, parseNeighborAdvert, parseNeighborSolicit, parseRedirect,
  parseRouterAdvert, parseRouterSolicit,
} from '../protocol/ndp';
import { ParseResult, ok } from '../protocol/result';

export interface FuzzTargetV6 {
  name: string;
  parse: (buf: Uint8Array, off: number, len: number) => unknown;
}

function addr(first: number, last: number): Uint8Array {
  const a = new Uint8Array(16);
  a[0] = first >>> 8;
  a[1] = first & 0xff;
  a[15] = last;
  return a;
}

/** Contexts that pass the address rules, so the fuzzer reaches the decoders. */
const NDP_CTX: NdpIpContext = { src: addr(0xfe80, 1), dst: addr(0xff02, 1), hopLimit: 255 };
const MLD_CTX: MldIpContext = { src: addr(0xfe80, 1), dst: addr(0xff02, 0x16), hopLimit: 1, routerAlert: true };

/** Parses a whole Ethernet frame carrying IPv6 down to the ICMPv6 / ND / MLD message, using the
 *  packet's own addresses, hop limit and Router Alert for the checks. Returns the first error
 *  or the innermost value. */
export function dissectFrameV6(buf: Uint8Array, off: number, len: number, verifyChecksum = true): ParseResult<unknown> {
  const e = parseEthernet(buf, off, len);
  if (!e.ok) return e;
  if (e.value.etherType !== ETHERTYPE_IPV6) return e;
  const hl = ethernetHeaderLen(e.value);
  const p = off + hl;
  const plen = len - hl;
  const ip = parseIpv6Header(buf, p, plen);
  if (!ip.ok) return ip;
  const problem: Ipv6Problem = { code: -1, pointer: 0 };
  const c = walkIpv6Chain(buf, p, plen, undefined, problem);
  if (!c.ok) return c;
  const chain: Ipv6Chain = c.value;
  const verdict = ipv6ChainVerdict(chain, buf[p + 24] === 0xff);
  if (verdict.action !== 'accept' || chain.protocol !== NH_ICMPV6) return ok(verdict);
  if (chain.fragment !== null && (chain.fragment.more || chain.fragment.fragOffset !== 0)) return c;
  const h = ip.value;
  const o = chain.protocolOff;
  const n = chain.protocolLen;
  if (n < 1) return c;
  switch (buf[o]) {
    case ICMPV6_ROUTER_SOLICIT: case ICMPV6_ROUTER_ADVERT: case ICMPV6_NEIGHBOR_SOLICIT:
    case ICMPV6_NEIGHBOR_ADVERT: case ICMPV6_REDIRECT:
      return parseNdp(buf, o, n, h, verifyChecksum);
    case ICMPV6_MLD_QUERY: case ICMPV6_MLD_REPORT: case ICMPV6_MLD_DONE: case ICMPV6_MLDV2_REPORT:
      return parseMld(buf, o, n, {
        src: h.src, dst: h.dst, hopLimit: h.hopLimit, routerAlert: chain.routerAlert >= 0,
      }, verifyChecksum);
    default: {
      const m = parseIcmpv6(buf, o, n, h.src, h.dst, verifyChecksum);
      if (m.ok && icmpv6IsError(buf[o])) {
        icmpv6ErrorAllowed(buf, p, 40 + h.payloadLength, 1, 0);
        return walkIpv6Quoted(buf, o + 8, n - 8);
      }
      return m;
    }
  }
}

export const v6FuzzTargets: FuzzTargetV6[] = [
  { name: 'frame-v6 (dissect)', parse: (b, o, l) => dissectFrameV6(b, o, l) },
  { name: 'frame-v6 (dissect, no checksum)', parse: (b, o, l) => dissectFrameV6(b, o, l, false) },
  { name: 'ipv6 header', parse: (b, o, l) => parseIpv6Header(b, o, l) },
  { name: 'Ipv6View.checked', parse: (b, o, l) => Ipv6View.checked(b, o, l) },
  { name: 'ipv6 chain walk', parse: (b, o, l) => walkIpv6Chain(b, o, l, undefined, { code: -1, pointer: 0 }) },
  { name: 'ipv6 quoted walk', parse: (b, o, l) => walkIpv6Quoted(b, o, l) },
  {
    name: 'ipv6 chain verdict',
    parse: (b, o, l) => {
      const r = walkIpv6Chain(b, o, l);
      return r.ok ? ok(ipv6ChainVerdict(r.value, false)) : r;
    },
  },
  { name: 'icmpv6', parse: (b, o, l) => parseIcmpv6(b, o, l, NDP_CTX.src, NDP_CTX.dst) },
  { name: 'icmpv6 (no checksum)', parse: (b, o, l) => parseIcmpv6(b, o, l, NDP_CTX.src, NDP_CTX.dst, false) },
  { name: 'Icmpv6View.checked', parse: (b, o, l) => Icmpv6View.checked(b, o, l) },
  { name: 'icmpv6 error allowed', parse: (b, o, l) => icmpv6ErrorAllowed(b, o, l, 1, 4) },
  { name: 'ndp', parse: (b, o, l) => parseNdp(b, o, l, NDP_CTX, false) },
  { name: 'ndp router solicitation', parse: (b, o, l) => parseRouterSolicit(b, o, l, NDP_CTX, false) },
  { name: 'ndp router advertisement', parse: (b, o, l) => parseRouterAdvert(b, o, l, NDP_CTX, false) },
  { name: 'ndp neighbor solicitation', parse: (b, o, l) => parseNeighborSolicit(b, o, l, NDP_CTX, false) },
  { name: 'ndp neighbor advertisement', parse: (b, o, l) => parseNeighborAdvert(b, o, l, NDP_CTX, false) },
  { name: 'ndp redirect', parse: (b, o, l) => parseRedirect(b, o, l, NDP_CTX, false) },
  { name: 'NdpView.checked', parse: (b, o, l) => NdpView.checked(b, o, l) },
  { name: 'ndp packet check', parse: (b, o, l) => ndpCheckPacket(b, o, l, NDP_CTX, false) },
  { name: 'mld', parse: (b, o, l) => parseMld(b, o, l, MLD_CTX, false) },
  { name: 'mld (checksum)', parse: (b, o, l) => parseMld(b, o, l, MLD_CTX) },
  { name: 'mld v2 report', parse: (b, o, l) => parseMldV2Report(b, o, l, MLD_CTX, false) },
  { name: 'mld query', parse: (b, o, l) => parseMldQuery(b, o, l, MLD_CTX, false) },
  { name: 'MldView.checked', parse: (b, o, l) => MldView.checked(b, o, l) },
];
