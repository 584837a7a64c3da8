// The IPv6 half of the IP actor: input validation and the extension header chain, local
// delivery to the transports, ICMPv6 (echo, errors, the rate limit), output (routing, source
// choice, neighbour resolution, fragmentation, path MTU), reassembly and forwarding. Neighbor
// Discovery, DAD and SLAAC are nd.ts, MLD is mld.ts. Sans-I/O: frames and records leave through
// the Ipv6Host hooks (the same ones as the IPv4 half).
// Follows RFC 8200 (IPv6), RFC 4443 (ICMPv6), RFC 4291 (addressing), RFC 5722 (overlapping
// fragments), RFC 8201 (path MTU), RFC 2464 (IPv6 over Ethernet), RFC 6724 (source choice,
// reduced; see iface.ts).

import {
  Ipv6Addr, MacAddr, formatIpv6, ipv6IsLinkLocal, ipv6IsMulticast, ipv6IsUnspecified, ipv6MulticastMac,
} from '../../protocol/address';
import { ETHERTYPE_IPV6 } from '../../protocol/ethernet';
import {
  IPV6_HEADER_LEN, IPV6_MIN_MTU, IPV6_FRAGMENT_HEADER_LEN, NH_FRAGMENT, NH_HOP_BY_HOP, NH_ICMPV6, NH_NONE, NH_TCP, NH_UDP,
  OPT_ACTION_DISCARD_ICMP, Ipv6Chain, Ipv6Problem, emitIpv6Fragment, emitIpv6OptionsHeader, ipv6ChainVerdict,
  ipv6OptionsHeaderLen, routerAlertMld, walkIpv6Chain, walkIpv6Quoted,
} from '../../protocol/ipv6';
import {
  DU_ADDRESS_UNREACHABLE, DU_BEYOND_SCOPE, DU_NO_ROUTE, ICMPV6_HEADER_LEN, ICMPV6_MLDV2_REPORT,
  ICMPV6_MLD_DONE, ICMPV6_MLD_QUERY, ICMPV6_MLD_REPORT,
  ICMPV6_PACKET_TOO_BIG, ICMPV6_PARAM_PROBLEM, ICMPV6_REDIRECT, ICMPV6_ROUTER_SOLICIT,
  Icmpv6ErrorMessage, TE_HOP_LIMIT, TE_REASSEMBLY, PP_UNRECOGNIZED_NEXT_HEADER, emitIcmpv6, emitIcmpv6Error,
  icmpv6Checksum, icmpv6ErrorAllowed, parseIcmpv6,
} from '../../protocol/icmpv6';
import { NDP_HOP_LIMIT, NdpMessage, emitNdp, ndpMessageLen, parseNdp } from '../../protocol/ndp';
import { MLD_HOP_LIMIT, MldRecord, emitMld, mldMessageLen, parseMld } from '../../protocol/mld';
import { writeFrame } from './link';
import type { Interface, InterfaceTable } from './iface';
import { NeighborParams } from './neighbor';
import { RouteTable, V6_OPS } from './routes';
import { Fragment6, Reassembler } from './reassembly';
import { TokenBucket } from './icmp';
import { PmtuCache } from './pmtu';
import { MldListener } from './mld';
import { Nd6Params, NeighborDiscovery } from './nd';
import { RECORD_FLAG_BROADCAST, RECORD_FLAG_ICMP_ERROR, RecordHeader } from './records';
import type { EchoReply, Ipv4Host, SendResult, TransportPort } from './ipv4';

/** RFC 8200 §3 / IANA: the default Hop Limit (Linux: 64) when no RA gave a CurHopLimit. */
export const DEFAULT_HOP_LIMIT = 64;

export interface Send6Params {
  /** Source; null or :: lets IP choose (RFC 6724 reduced, iface.ts). */
  src: Ipv6Addr | null;
  dst: Ipv6Addr;
  proto: number;
  /** 0/undefined: the interface's CurHopLimit (RA) or 64. */
  hopLimit?: number;
  tc?: number;
  /** Do not fragment at the source: too big -> a local Packet Too Big to the transport. */
  df?: boolean;
  /** Interface for link-local and multicast destinations (0: the first interface up). */
  ifindex?: number;
  /** Recompute the ICMPv6 checksum once the source is known (messages from the `icmp` port). */
  fixIcmpChecksum?: boolean;
}

const PARSE_REASONS: Record<string, string> = {
  'ipv6: shorter than the fixed header': 'short',
  'ipv6: version is not 6': 'version',
  'ipv6: payload length exceeds the buffer': 'truncated',
  'ipv6: extension header overruns the payload': 'ext-truncated',
  'ipv6: hop-by-hop header not first': 'hbh-not-first',
  'ipv6: option overruns its header': 'options',
  'ipv6: too many extension headers': 'too-many-headers',
  'ipv6: too many options in one header': 'too-many-options',
  'ipv6: extension headers too long': 'chain-too-long',
  'ipv6: jumbo payload option (RFC 2675)': 'jumbo',
  'ipv6: fragment ends past 65535 octets': 'frag-too-big',
  'ipv6: non-final fragment length not a multiple of 8': 'frag-length',
};

const MAX_ECHO_REPLIES = 64;

function emptyChain(): Ipv6Chain {
  return {
    protocol: 0, protocolOff: 0, protocolLen: 0, protocolPointer: 6, headers: [], options: [],
    unrecognizedOption: null, routerAlert: -1, fragment: null, routing: null,
  };
}

function isLoopbackAt(b: Uint8Array, o: number): boolean {
  for (let i = 0; i < 15; i++) if (b[o + i] !== 0) return false;
  return b[o + 15] === 1;
}

function isZeroAt(b: Uint8Array, o: number): boolean {
  for (let i = 0; i < 16; i++) if (b[o + i] !== 0) return false;
  return true;
}

/** The MLD report destination: ff02::16, all MLDv2-capable routers (RFC 3810 §5.2.14). */
const ALL_MLDV2_ROUTERS = Uint8Array.of(0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x16);

export class Ipv6Layer {
  readonly routes = new RouteTable<Ipv6Addr>(V6_OPS);
  readonly mld: MldListener;
  readonly nd: NeighborDiscovery;
  private readonly bucket: TokenBucket;
  private readonly chain = emptyChain();
  private readonly problem: Ipv6Problem = { code: -1, pointer: 0 };
  private depth = 0;

  constructor(
    readonly ifaces: InterfaceTable,
    private readonly host: Ipv4Host,
    private readonly flags: { forwarding: boolean },
    rate: { perSecond: number; burst: number },
    readonly reasm: Reassembler,
    readonly pmtu: PmtuCache,
    readonly echoReplies: EchoReply[],
    ndParams: Nd6Params,
    neighParams: NeighborParams,
  ) {
    this.bucket = new TokenBucket(rate.perSecond, rate.burst, host.now());
    this.mld = new MldListener({
      now: () => host.now(), random: () => host.random(), count: (n, k) => host.count(n, k),
      forwarding: () => this.flags.forwarding,
      sendReport: (ifc, recs) => this.sendMldReport(ifc, recs),
    }, () => this.ifaces.list);
    this.nd = new NeighborDiscovery({
      now: () => host.now(), random: () => host.random(), count: (n, k) => host.count(n, k), emit: (e, d) => host.emit(e, d),
      forwarding: () => this.flags.forwarding,
      sendNd: (ifc, src, dst, m, mac) => this.sendNd(ifc, src, dst, m, mac),
      firstHop: (dst) => this.route(dst, 0),
    }, ifaces, this.mld, this.routes, ndParams, {
      transmit: (i, mac, pkt) => this.transmitQueued(i, mac, pkt),
      unreachable: (i, _a, pkts) => this.resolutionFailed(i, pkts),
      count: (n, k) => host.count(n, k),
    }, neighParams);
  }

  get forwarding(): boolean {
    return this.flags.forwarding;
  }

  // -------------------------------------------------------------------------------------------
  // Timers

  nextDeadline(): number {
    return Math.min(this.nd.nextDeadline(), this.mld.nextDeadline());
  }

  onTimer(): void {
    this.nd.onTimer();
    this.mld.onTimer();
    this.reasm.onTimer6(this.host.now(), (quote, ifindex) => {
      this.host.count('ip6.reasm.timeout');
      const ifc = this.ifaces.byIndex(ifindex);
      // RFC 8200 §4.5: Time Exceeded, code 1, only when the first fragment arrived.
      if (quote && ifc) this.icmpError({ kind: 'timeExceeded', code: TE_REASSEMBLY, dataLen: 0 }, quote, 0, quote.length, ifc, false);
    });
  }

  // -------------------------------------------------------------------------------------------
  // Input

  /** One IPv6 packet (`len` may include link padding). Never throws on bad input. */
  rxIpv6(ifc: Interface, buf: Uint8Array, off: number, len: number, linkMcast: boolean, reassembled = false): void {
    if (!reassembled) this.host.count('ip6.rx');
    // RFC 8200 §3/§4: version 6, Payload Length within the frame, the extension header chain
    // (walked and bounded by protocol/ipv6.ts).
    const chain = this.depth === 0 ? this.chain : emptyChain();
    const prob = this.problem;
    prob.code = -1;
    const r = walkIpv6Chain(buf, off, len, chain, prob);
    if (!r.ok) {
      this.host.count(`ip6.drop.${PARSE_REASONS[r.reason] ?? r.kind}`);
      // Errors RFC 8200 answers with a Parameter Problem (fragment length, fragment past
      // 65535, Hop-by-Hop not first), for packets addressed to us.
      if (prob.code >= 0 && len >= IPV6_HEADER_LEN && this.isLocalDst(ifc, buf, off)) {
        this.icmpError({ kind: 'paramProblem', code: prob.code, pointer: prob.pointer, dataLen: 0 }, buf, off, len, ifc, linkMcast);
      }
      return;
    }
    this.depth++;
    try {
      this.rxValid(ifc, buf, off, chain, linkMcast);
    } finally {
      this.depth--;
    }
  }

  /** Our address (usable) or a group we listen to on `ifc`. */
  private isLocalDst(ifc: Interface, buf: Uint8Array, off: number): boolean {
    const d = off + 24;
    if (buf[d] === 0xff) return this.mld.isMemberAt(ifc, buf, d);
    return this.ifaces.ownerOfV6At(buf, d) !== undefined;
  }

  private rxValid(ifc: Interface, buf: Uint8Array, off: number, chain: Ipv6Chain, linkMcast: boolean): void {
    const s = off + 8;
    const d = off + 24;
    // RFC 4291 §2.7: "Multicast addresses must not be used as source addresses in IPv6
    // packets". §2.5.3: "A packet received on an interface with a destination address of
    // loopback must be dropped", and ::1 never appears as a source outside a node.
    if (buf[s] === 0xff || isLoopbackAt(buf, s)) {
      this.host.count('ip6.drop.bad-src');
      return;
    }
    if (isLoopbackAt(buf, d) || isZeroAt(buf, d)) {
      this.host.count('ip6.drop.bad-dst');
      return;
    }
    const mcast = buf[d] === 0xff;
    let local: boolean;
    if (mcast) {
      // RFC 4291 §2.7: scope 0 is reserved and interface-local (1) never leaves a node.
      if ((buf[d + 1] & 0x0f) <= 1) {
        this.host.count('ip6.drop.bad-dst');
        return;
      }
      local = this.mld.isMemberAt(ifc, buf, d);
      if (!local) {
        this.host.count('ip6.drop.not-member');
        return;
      }
    } else {
      local = this.ifaces.ownerOfV6At(buf, d) !== undefined;
    }
    if (!local) {
      if (this.flags.forwarding) {
        this.forward(ifc, buf, off, chain, linkMcast);
        return;
      }
      // RFC 4862 §5.4: packets to a tentative address are silently discarded (tentative
      // addresses are not "ours" here), as are packets for other hosts (no forwarding).
      this.host.count('ip6.drop.not-for-us');
      return;
    }
    // RFC 8200 §4.2 / §4.4: unrecognized options by their action bits, Routing headers with
    // Segments Left > 0 (ipv6ChainVerdict).
    const v = ipv6ChainVerdict(chain, mcast);
    if (v.action === 'discard') {
      this.host.count('ip6.drop.option');
      return;
    }
    if (v.action === 'paramProblem') {
      this.host.count('ip6.drop.param-problem');
      const hb10 = chain.unrecognizedOption !== null && chain.unrecognizedOption.action === OPT_ACTION_DISCARD_ICMP;
      this.icmpError({ kind: 'paramProblem', code: v.code, pointer: v.pointer, dataLen: 0 }, buf, off, IPV6_HEADER_LEN + ((buf[off + 4] << 8) | buf[off + 5]), ifc, linkMcast, hb10);
      return;
    }
    const f = chain.fragment;
    if (f !== null && (f.fragOffset !== 0 || f.more)) {
      this.host.count('ip6.reasm.fragments');
      // The Next Header field that names the Fragment header: 6, or the one of the header
      // walked just before it.
      let nhField = 6;
      for (const h of chain.headers) {
        if (h.off === f.off) break;
        nhField = h.off - off;
      }
      const fr: Fragment6 = {
        ipOff: off, dataOff: f.off + IPV6_FRAGMENT_HEADER_LEN, dataLen: f.dataLen, fragOffset: f.fragOffset, more: f.more,
        ident: f.ident, nextHeader: f.nextHeader, unfragmentableLen: f.unfragmentableLen, nhField,
      };
      const o = this.reasm.input6(buf, fr, ifc.index, this.host.now());
      if (o.kind === 'pending') return;
      if (o.kind === 'dropped') {
        this.host.count(`ip6.reasm.drop.${o.reason}`);
        return;
      }
      this.host.count('ip6.reasm.done');
      this.rxIpv6(ifc, o.datagram, 0, o.datagram.length, linkMcast, true);
      return;
    }
    this.host.count('ip6.delivered');
    const proto = chain.protocol;
    if (proto === NH_ICMPV6) {
      this.icmpInput(ifc, buf, off, chain, linkMcast || mcast);
      return;
    }
    if (proto === NH_TCP || proto === NH_UDP) {
      const port: TransportPort = proto === NH_TCP ? 'tcp' : 'udp';
      if (this.host.hasPort(port)) {
        const rec = this.recordFor(ifc, buf, off, proto, linkMcast || mcast ? RECORD_FLAG_BROADCAST : 0);
        if (!this.host.deliver(port, rec, buf, chain.protocolOff, chain.protocolLen)) this.host.count('ip6.drop.transport-full');
        return;
      }
      this.host.count('ip6.drop.no-transport');
    } else if (proto === NH_NONE) {
      // RFC 8200 §4.7: No Next Header: nothing follows.
      this.host.count('ip6.no-next-header');
      return;
    } else {
      this.host.count('ip6.drop.unknown-protocol');
    }
    // RFC 8200 §4: "If, as a result of processing a header, the destination node is required to
    // proceed to the next header but the Next Header value in the current header is
    // unrecognized by the node, it should discard the packet and send an ICMP Parameter Problem
    // message to the source of the packet, with an ICMP Code value of 1".
    this.icmpError({ kind: 'paramProblem', code: PP_UNRECOGNIZED_NEXT_HEADER, pointer: chain.protocolPointer, dataLen: 0 },
      buf, off, IPV6_HEADER_LEN + ((buf[off + 4] << 8) | buf[off + 5]), ifc, linkMcast);
  }

  private recordFor(ifc: Interface, buf: Uint8Array, off: number, proto: number, flags: number): RecordHeader {
    return {
      family: 6, proto, ifindex: ifc.index, ttl: buf[off + 7], tos: ((buf[off] & 0x0f) << 4) | (buf[off + 1] >>> 4), flags,
      src: 0, dst: 0, src6: buf.slice(off + 8, off + 24), dst6: buf.slice(off + 24, off + 40),
    };
  }

  private icmpInput(ifc: Interface, buf: Uint8Array, off: number, chain: Ipv6Chain, groupDst: boolean): void {
    const p = chain.protocolOff;
    const pl = chain.protocolLen;
    const src = buf.slice(off + 8, off + 24);
    const dst = buf.slice(off + 24, off + 40);
    const r = parseIcmpv6(buf, p, pl, src, dst);
    if (!r.ok) {
      this.host.count(`icmp6.drop.${r.kind}`);
      return;
    }
    const m = r.value;
    this.host.count('icmp6.rx');
    switch (m.kind) {
      case 'echoRequest': {
        // RFC 4443 §4.2: "Every node MUST implement an ICMPv6 Echo responder function ... The
        // data received in the ICMPv6 Echo Request message MUST be returned entirely and
        // unmodified in the ICMPv6 Echo Reply message." "An Echo Reply SHOULD be sent in
        // response to an Echo Request message sent to an IPv6 multicast or anycast address. In
        // this case, the source address of the reply MUST be a unicast address belonging to the
        // interface on which the Echo Request message was received."
        const rsrc = groupDst ? ifc.sourceForV6(src) : dst;
        if (rsrc === null) {
          this.host.count('icmp6.drop.no-source');
          return;
        }
        const reply = new Uint8Array(pl);
        reply.set(buf.subarray(p + ICMPV6_HEADER_LEN, p + pl), ICMPV6_HEADER_LEN);
        emitIcmpv6({ kind: 'echoReply', code: 0, ident: m.ident, seq: m.seq, dataLen: pl - ICMPV6_HEADER_LEN }, reply, 0, rsrc, src);
        this.host.count('icmp6.tx.echo-reply');
        this.send({ src: rsrc, dst: src, proto: NH_ICMPV6, tc: ((buf[off] & 0x0f) << 4) | (buf[off + 1] >>> 4), ifindex: ifc.index }, reply, 0, pl);
        return;
      }
      case 'echoReply': {
        this.host.count('icmp6.rx.echo-reply');
        if (this.echoReplies.length >= MAX_ECHO_REPLIES) this.echoReplies.shift();
        this.echoReplies.push({
          at: this.host.now(), from: formatIpv6(src), ident: m.ident, seq: m.seq, ttl: buf[off + 7],
          data: Buffer.from(buf.buffer, buf.byteOffset + p + ICMPV6_HEADER_LEN, pl - ICMPV6_HEADER_LEN).toString('hex'),
        });
        if (this.host.hasPort('icmp')) this.host.deliver('icmp', this.recordFor(ifc, buf, off, NH_ICMPV6, 0), buf, p, pl);
        return;
      }
      case 'dstUnreachable': case 'packetTooBig': case 'timeExceeded': case 'paramProblem':
        this.errorInput(ifc, buf, off, p, pl, m.kind === 'packetTooBig' ? m.mtu : -1);
        return;
      case 'other':
        break;
    }
    const t = buf[p];
    const ipc = { src, dst, hopLimit: buf[off + 7] };
    if (t >= ICMPV6_ROUTER_SOLICIT && t <= ICMPV6_REDIRECT) {
      // RFC 4861 validity checks (hop limit 255, code 0, lengths, options, address rules).
      const nr = parseNdp(buf, p, pl, ipc, false);
      if (!nr.ok) {
        this.host.count(`nd.drop.${nr.kind}`);
        return;
      }
      this.nd.input(ifc, src, dst, nr.value as NdpMessage);
      return;
    }
    if (t === ICMPV6_MLD_QUERY || t === ICMPV6_MLD_REPORT || t === ICMPV6_MLD_DONE || t === ICMPV6_MLDV2_REPORT) {
      const mr = parseMld(buf, p, pl, { ...ipc, routerAlert: chain.routerAlert >= 0 }, false);
      if (!mr.ok) {
        this.host.count(`mld.drop.${mr.kind}`);
        return;
      }
      this.mld.input(ifc, mr.value);
      return;
    }
    // RFC 4443 §2.4(a)/(b): unknown informational messages are silently discarded; unknown
    // error messages go to the upper layer (none wants them here).
    this.host.count(t < 128 ? 'icmp6.rx.unknown-error' : 'icmp6.ignored');
  }

  /** A received ICMPv6 error: RFC 4443 §2.4(d): "the node MUST extract ... the original
   *  packet's upper-layer protocol type and use it to select the appropriate upper-layer
   *  protocol entity to handle the error message". Packet Too Big updates the path MTU. */
  private errorInput(ifc: Interface, buf: Uint8Array, off: number, p: number, pl: number, mtu: number): void {
    const q = walkIpv6Quoted(buf, p + ICMPV6_HEADER_LEN, pl - ICMPV6_HEADER_LEN);
    if (!q.ok) {
      this.host.count('icmp6.drop.bad-quote');
      return;
    }
    this.host.count('icmp6.rx.error');
    const qo = p + ICMPV6_HEADER_LEN;
    if (mtu >= 0) {
      // RFC 8201 §4: reduce the PMTU estimate for the quoted destination, never below 1280.
      const dstQ = buf.slice(qo + 24, qo + 40);
      const v = this.pmtu.update(formatIpv6(dstQ), mtu, IPV6_MIN_MTU, this.host.now());
      if (v > 0) {
        this.host.count('ip6.pmtu.update');
        this.host.emit('pmtu', { dst: formatIpv6(dstQ), mtu: v, family: 6 });
      }
    }
    const qp = q.value.protocol;
    const port: TransportPort | null = qp === NH_TCP ? 'tcp' : qp === NH_UDP ? 'udp' : null;
    const rec = this.recordFor(ifc, buf, off, NH_ICMPV6, RECORD_FLAG_ICMP_ERROR);
    if (port && this.host.hasPort(port)) this.host.deliver(port, rec, buf, p, pl);
    if (this.host.hasPort('icmp')) this.host.deliver('icmp', rec, buf, p, pl);
  }

  // -------------------------------------------------------------------------------------------
  // ICMPv6 errors

  /** Sends an ICMPv6 error about the packet at orig[off .. off+len) received on `ifc`, if
   *  RFC 4443 §2.4(e) and the rate limit (§2.4(f)) allow it. */
  icmpError(msg: Icmpv6ErrorMessage, orig: Uint8Array, off: number, len: number, ifc: Interface, linkMcast: boolean, hb10 = false): void {
    const type = msg.kind === 'dstUnreachable' ? 1 : msg.kind === 'packetTooBig' ? ICMPV6_PACKET_TOO_BIG : msg.kind === 'timeExceeded' ? 3 : ICMPV6_PARAM_PROBLEM;
    if (!icmpv6ErrorAllowed(orig, off, len, type, msg.code, { linkMulticast: linkMcast, linkBroadcast: false }, hb10)) {
      this.host.count('icmp6.error.suppressed');
      return;
    }
    // RFC 4443 §2.4(f): "an IPv6 node MUST limit the rate of ICMPv6 error messages it
    // originates" (a token bucket, as recommended).
    if (!this.bucket.take(this.host.now())) {
      this.host.count('icmp6.error.rate-limited');
      return;
    }
    const osrc = orig.slice(off + 8, off + 24);
    // RFC 4443 §2.2: the source is the address the packet was sent to when it is ours, else a
    // unicast address of the interface it arrived on.
    const odst = orig.subarray(off + 24, off + 40);
    const src = odst[0] !== 0xff && this.ifaces.ownerOfV6At(orig, off + 24) ? odst.slice() : ifc.sourceForV6(osrc);
    if (src === null) {
      this.host.count('icmp6.error.no-source');
      return;
    }
    const buf = new Uint8Array(ICMPV6_HEADER_LEN + 1232);
    const n = emitIcmpv6Error(msg, orig, off, len, buf, 0, src, osrc);
    this.host.count(`icmp6.tx.error.${type}`);
    this.send({ src, dst: osrc, proto: NH_ICMPV6, ifindex: ifc.index }, buf, 0, n);
  }

  /** Reports an error found here about our own TCP/UDP packet to its transport, as the ICMPv6
   *  message a router would send (one error path in the transports, like the IPv4 half). */
  private localError(msg: Icmpv6ErrorMessage, pkt: Uint8Array, off: number, len: number, ifindex: number): void {
    const proto = pkt[off + 6];
    if (proto !== NH_TCP && proto !== NH_UDP) return;
    const port: TransportPort = proto === NH_TCP ? 'tcp' : 'udp';
    if (!this.host.hasPort(port)) return;
    const src = pkt.slice(off + 8, off + 24);
    const buf = new Uint8Array(ICMPV6_HEADER_LEN + 1232);
    const n = emitIcmpv6Error(msg, pkt, off, len, buf, 0, src, src);
    this.host.count('icmp6.local-error');
    this.host.deliver(port, { family: 6, proto: NH_ICMPV6, ifindex, ttl: DEFAULT_HOP_LIMIT, tos: 0, flags: RECORD_FLAG_ICMP_ERROR, src: 0, dst: 0, src6: src, dst6: src }, buf, 0, n);
  }

  private resolutionFailed(ifindex: number, pkts: Uint8Array[]): void {
    const ifc = this.ifaces.byIndex(ifindex);
    for (const p of pkts) {
      this.host.count('ip6.drop.unresolved');
      if (!ifc || p.length < IPV6_HEADER_LEN) continue;
      // RFC 4861 §7.2.2: "The sender MUST return ICMP destination unreachable indications with
      // code 3 (Address Unreachable) for each packet queued awaiting address resolution."
      const msg: Icmpv6ErrorMessage = { kind: 'dstUnreachable', code: DU_ADDRESS_UNREACHABLE, dataLen: 0 };
      if (this.ifaces.holderOfV6(p.slice(8, 24))) this.localError(msg, p, 0, p.length, ifindex);
      else this.icmpError(msg, p, 0, p.length, ifc, false);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Output

  /** Where a packet to `dst` goes: a redirect's destination cache entry, the route table
   *  (longest prefix; on-link prefixes from RAs; static routes), then the Default Router List
   *  (RFC 4861 §5.2 next-hop determination). */
  route(dst: Ipv6Addr, ifindex: number): { iface: number; nextHop: Ipv6Addr } | null {
    const isUp = (i: number): boolean => this.ifaces.byIndex(i)?.up ?? false;
    if (ipv6IsLinkLocal(dst) || ipv6IsMulticast(dst)) {
      // Link-local and multicast destinations need the interface (the zone): the one given,
      // else the first interface that is up.
      const ifc = ifindex ? this.ifaces.byIndex(ifindex) : this.ifaces.list.find((i) => i.up);
      return ifc && ifc.up ? { iface: ifc.index, nextHop: dst } : null;
    }
    if (this.nd.redirects.size > 0) {
      const r = this.nd.redirects.get(Buffer.from(dst.buffer, dst.byteOffset, 16).toString('hex'));
      if (r && isUp(r.iface)) return r;
    }
    const found = this.routes.lookup(dst, isUp);
    if (found) return { iface: found.iface, nextHop: found.nextHop };
    const dr = this.nd.defaultRouter(isUp);
    return dr ? { iface: dr.iface, nextHop: dr.addr } : null;
  }

  /** Builds an IPv6 packet around payload[off .. off+len) and sends it. */
  send(sp: Send6Params, payload: Uint8Array, off: number, len: number): SendResult {
    const dst = sp.dst;
    const own = this.ifaces.ownerOfV6At(dst, 0);
    let rt: { iface: number; nextHop: Ipv6Addr } | null;
    if (own) rt = { iface: own.index, nextHop: dst };
    else rt = this.route(dst, sp.ifindex ?? 0);
    let src = sp.src !== null && !ipv6IsUnspecified(sp.src) ? sp.src : null;
    if (!rt) {
      this.host.count('ip6.tx.drop.no-route');
      if (sp.proto === NH_TCP || sp.proto === NH_UDP) {
        // RFC 4443 §3.1 code 0 "No route to destination", told to the transport (ENETUNREACH).
        const q = this.build(src ?? new Uint8Array(16), dst, sp.proto, DEFAULT_HOP_LIMIT, 0, payload, off, Math.min(len, 8));
        q[4] = len >>> 8;
        q[5] = len & 0xff;
        this.localError({ kind: 'dstUnreachable', code: DU_NO_ROUTE, dataLen: 0 }, q, 0, q.length, 0);
      }
      return 'no-route';
    }
    const ifc = this.ifaces.byIndex(rt.iface)!;
    if (src === null) {
      src = own ? dst : ifc.sourceForV6(dst);
      if (src === null) {
        this.host.count('ip6.tx.drop.no-source');
        return 'no-source';
      }
    } else if (!this.ifaces.ownerOfV6At(src, 0)) {
      this.host.count('ip6.tx.drop.bad-src');
      return 'bad-src';
    }
    if (len > 65535) {
      this.host.count('ip6.tx.drop.too-big');
      return 'too-big';
    }
    const hop = sp.hopLimit || ifc.nd.curHopLimit || DEFAULT_HOP_LIMIT;
    const pkt = this.build(src, dst, sp.proto, hop, sp.tc ?? 0, payload, off, len);
    if (sp.fixIcmpChecksum && sp.proto === NH_ICMPV6 && len >= 4) {
      pkt[IPV6_HEADER_LEN + 2] = 0;
      pkt[IPV6_HEADER_LEN + 3] = 0;
      const c = icmpv6Checksum(pkt, IPV6_HEADER_LEN, len, src, dst);
      pkt[IPV6_HEADER_LEN + 2] = c >>> 8;
      pkt[IPV6_HEADER_LEN + 3] = c & 0xff;
    }
    this.host.count('ip6.tx');
    if (own) {
      this.host.count('ip6.tx.local');
      this.rxIpv6(own, pkt, 0, pkt.length, false);
      return 'local';
    }
    let mtu = ifc.mtu6;
    if (this.pmtu.size > 0 && !ipv6IsMulticast(dst)) mtu = this.pmtu.get(formatIpv6(dst), mtu, this.host.now());
    if (pkt.length <= mtu) return this.linkSend(ifc, rt.nextHop, dst, pkt);
    if (sp.df) {
      // RFC 8201 §4 for the first hop: the transport learns the MTU as from a Packet Too Big.
      this.host.count('ip6.tx.drop.too-big');
      this.localError({ kind: 'packetTooBig', code: 0, mtu, dataLen: 0 }, pkt, 0, pkt.length, ifc.index);
      return 'frag-needed';
    }
    // While the neighbour is being resolved the whole packet waits in the queue (one entry, not
    // one per fragment), and is fragmented when it leaves (transmitQueued).
    if (dst[0] !== 0xff && this.nd.cache.known(ifc.index, rt.nextHop) === null) {
      return this.nd.cache.resolve(ifc.index, rt.nextHop, pkt) === null ? 'queued' : this.fragment(ifc, rt.nextHop, dst, pkt, mtu);
    }
    return this.fragment(ifc, rt.nextHop, dst, pkt, mtu);
  }

  /** A packet that waited for neighbour resolution leaves now, fragmented if it is larger
   *  than the path MTU (only our own packets can be: forwarded ones were checked). */
  private transmitQueued(i: number, mac: MacAddr, pkt: Uint8Array): void {
    const ifc = this.ifaces.byIndex(i);
    if (!ifc) return;
    if (pkt.length > ifc.mtu6 || (this.pmtu.size > 0 && pkt.length > IPV6_MIN_MTU)) {
      const dst = pkt.slice(24, 40);
      let mtu = ifc.mtu6;
      if (this.pmtu.size > 0) mtu = this.pmtu.get(formatIpv6(dst), mtu, this.host.now());
      if (pkt.length > mtu) {
        this.fragment(ifc, pkt.slice(24, 40), dst, pkt, mtu, mac);
        return;
      }
    }
    writeFrame(this.host, ifc, mac, ETHERTYPE_IPV6, pkt, 0, pkt.length);
  }

  private build(src: Ipv6Addr, dst: Ipv6Addr, nh: number, hop: number, tc: number, payload: Uint8Array, off: number, len: number): Uint8Array {
    const pkt = new Uint8Array(IPV6_HEADER_LEN + len);
    pkt[0] = 0x60 | ((tc >>> 4) & 0x0f);
    pkt[1] = (tc & 0x0f) << 4;
    pkt[4] = len >>> 8;
    pkt[5] = len & 0xff;
    pkt[6] = nh;
    pkt[7] = hop;
    pkt.set(src, 8);
    pkt.set(dst, 24);
    pkt.set(payload.subarray(off, off + len), IPV6_HEADER_LEN);
    return pkt;
  }

  /** RFC 8200 §4.5 fragmentation at the source: the Unfragmentable Part (here the IPv6 header
   *  alone: we send no extension headers that must precede a Fragment header) is repeated in
   *  each fragment, followed by a Fragment header and a multiple of 8 octets of data (except the
   *  last). "The lengths of the fragments must be chosen such that the resulting fragment
   *  packets fit within the MTU of the path". The Identification is drawn at random per packet
   *  (RFC 7739 §5 recommends unpredictable identifiers). */
  private fragment(ifc: Interface, nextHop: Ipv6Addr, dst: Ipv6Addr, pkt: Uint8Array, mtu: number, mac: MacAddr | null = null): SendResult {
    const per = (mtu - IPV6_HEADER_LEN - IPV6_FRAGMENT_HEADER_LEN) & ~7;
    const data = pkt.length - IPV6_HEADER_LEN;
    const ident = Math.floor(this.host.random() * 0x1_0000_0000) >>> 0;
    let res: SendResult = 'sent';
    let n = 0;
    for (let done = 0; done < data; done += per) {
      const take = Math.min(per, data - done);
      const more = done + take < data;
      const f = new Uint8Array(IPV6_HEADER_LEN + IPV6_FRAGMENT_HEADER_LEN + take);
      f.set(pkt.subarray(0, IPV6_HEADER_LEN), 0);
      const pl = IPV6_FRAGMENT_HEADER_LEN + take;
      f[4] = pl >>> 8;
      f[5] = pl & 0xff;
      f[6] = NH_FRAGMENT;
      emitIpv6Fragment({ nextHeader: pkt[6], fragOffset: done, more, ident }, f, IPV6_HEADER_LEN);
      f.set(pkt.subarray(IPV6_HEADER_LEN + done, IPV6_HEADER_LEN + done + take), IPV6_HEADER_LEN + IPV6_FRAGMENT_HEADER_LEN);
      const r = mac !== null ? (writeFrame(this.host, ifc, mac, ETHERTYPE_IPV6, f, 0, f.length) ? 'sent' : 'link-drop') : this.linkSend(ifc, nextHop, dst, f);
      if (r !== 'sent') res = r;
      n++;
    }
    this.host.count('ip6.tx.fragments', n);
    return res;
  }

  /** Sends a whole packet to `nextHop` on `ifc`: multicast to its mapped MAC (RFC 2464 §7),
   *  unicast through the neighbour cache (queued while resolving). */
  private linkSend(ifc: Interface, nextHop: Ipv6Addr, dst: Ipv6Addr, pkt: Uint8Array): SendResult {
    let mac: MacAddr | null;
    if (dst[0] === 0xff) mac = ipv6MulticastMac(dst);
    else {
      mac = this.nd.cache.resolve(ifc.index, nextHop, pkt);
      if (mac === null) return 'queued';
    }
    return writeFrame(this.host, ifc, mac, ETHERTYPE_IPV6, pkt, 0, pkt.length) ? 'sent' : 'link-drop';
  }

  /** An ND message with hop limit 255 (RFC 4861: "IP Hop Limit ... 255"). */
  private sendNd(ifc: Interface, src: Ipv6Addr, dst: Ipv6Addr, m: NdpMessage, dstMac: MacAddr | null): void {
    if (!ifc.up) return;
    const n = ndpMessageLen(m);
    const pkt = new Uint8Array(IPV6_HEADER_LEN + n);
    emitNdp(m, pkt, IPV6_HEADER_LEN, src, dst);
    const full = this.build(src, dst, NH_ICMPV6, NDP_HOP_LIMIT, 0, pkt, IPV6_HEADER_LEN, n);
    if (dstMac !== null) writeFrame(this.host, ifc, dstMac, ETHERTYPE_IPV6, full, 0, full.length);
    else this.linkSend(ifc, dst, dst, full);
  }

  /** RFC 3810 §5: "MLDv2 messages are sent with a link-local IPv6 Source Address, an IPv6 Hop
   *  Limit of 1, and an IPv6 Router Alert option [RFC2711] in a Hop-by-Hop Options header",
   *  reports to ff02::16; §5.2.13: the unspecified source before a link-local address is valid. */
  private sendMldReport(ifc: Interface, records: MldRecord[]): void {
    if (!ifc.up) return;
    const src = ifc.linkLocal() ?? new Uint8Array(16);
    const opts = [routerAlertMld()];
    const hl = ipv6OptionsHeaderLen(opts);
    const m = { kind: 'reportV2' as const, records };
    const ml = mldMessageLen(m);
    const pkt = new Uint8Array(IPV6_HEADER_LEN + hl + ml);
    pkt[0] = 0x60;
    pkt[4] = (hl + ml) >>> 8;
    pkt[5] = (hl + ml) & 0xff;
    pkt[6] = NH_HOP_BY_HOP;
    pkt[7] = MLD_HOP_LIMIT;
    pkt.set(src, 8);
    pkt.set(ALL_MLDV2_ROUTERS, 24);
    emitIpv6OptionsHeader(NH_ICMPV6, opts, pkt, IPV6_HEADER_LEN);
    emitMld(m, pkt, IPV6_HEADER_LEN + hl, src, ALL_MLDV2_ROUTERS);
    writeFrame(this.host, ifc, ipv6MulticastMac(ALL_MLDV2_ROUTERS), ETHERTYPE_IPV6, pkt, 0, pkt.length);
  }

  // -------------------------------------------------------------------------------------------
  // Forwarding (RFC 8200, RFC 4443, RFC 4291)

  private forward(inIfc: Interface, buf: Uint8Array, off: number, chain: Ipv6Chain, linkMcast: boolean): void {
    const s = off + 8;
    const d = off + 24;
    const len = IPV6_HEADER_LEN + ((buf[off + 4] << 8) | buf[off + 5]);
    // No multicast forwarding; nothing received as a link-layer multicast is forwarded.
    if (linkMcast || buf[d] === 0xff) {
      this.host.count('ip6.fwd.drop.multicast');
      return;
    }
    if (isZeroAt(buf, s)) {
      // RFC 4291 §2.5.2: "The unspecified address must not be used as the destination address
      // of IPv6 packets or in IPv6 Routing headers. An IPv6 packet with a source address of
      // unspecified must never be forwarded by an IPv6 router."
      this.host.count('ip6.fwd.drop.unspecified-src');
      return;
    }
    // RFC 4291 §2.5.6: "Routers must not forward any packets with Link-Local source or
    // destination addresses to other links." RFC 4443 §3.1 code 2 ("beyond scope of source
    // address") tells a link-local source why.
    if (buf[d] === 0xfe && (buf[d + 1] & 0xc0) === 0x80) {
      this.host.count('ip6.fwd.drop.link-local');
      return;
    }
    if (buf[s] === 0xfe && (buf[s + 1] & 0xc0) === 0x80) {
      this.host.count('ip6.fwd.drop.link-local');
      this.icmpError({ kind: 'dstUnreachable', code: DU_BEYOND_SCOPE, dataLen: 0 }, buf, off, len, inIfc, linkMcast);
      return;
    }
    // RFC 8200 §4.3: the Hop-by-Hop header is examined by every node on the path; its
    // unrecognized options act here too.
    const u = chain.unrecognizedOption;
    if (u !== null && u.option.header === NH_HOP_BY_HOP) {
      const v = ipv6ChainVerdict({ ...chain, routing: null }, false);
      this.host.count('ip6.fwd.drop.option');
      if (v.action === 'paramProblem') this.icmpError({ kind: 'paramProblem', code: v.code, pointer: v.pointer, dataLen: 0 }, buf, off, len, inIfc, linkMcast, u.action === OPT_ACTION_DISCARD_ICMP);
      return;
    }
    // RFC 8200 §3: "Hop Limit: Decremented by 1 by each node that forwards the packet. ... When
    // forwarding, the packet is discarded if Hop Limit was zero when received or is decremented
    // to zero." RFC 4443 §3.3: "If a router receives a packet with a Hop Limit of zero, or if a
    // router decrements a packet's Hop Limit to zero, it MUST discard the packet and originate an
    // ICMPv6 Time Exceeded message with Code 0".
    if (buf[off + 7] <= 1) {
      this.host.count('ip6.fwd.drop.hop-limit');
      this.icmpError({ kind: 'timeExceeded', code: TE_HOP_LIMIT, dataLen: 0 }, buf, off, len, inIfc, linkMcast);
      return;
    }
    const dst = buf.slice(d, d + 16);
    const rt = this.route(dst, 0);
    if (!rt) {
      this.host.count('ip6.fwd.drop.no-route');
      this.icmpError({ kind: 'dstUnreachable', code: DU_NO_ROUTE, dataLen: 0 }, buf, off, len, inIfc, linkMcast);
      return;
    }
    const out = this.ifaces.byIndex(rt.iface)!;
    // RFC 4443 §3.2: "A Packet Too Big MUST be sent by a router in response to a packet that it
    // cannot forward because the packet is larger than the MTU of the outgoing link." (Routers
    // never fragment IPv6.)
    if (len > out.mtu6) {
      this.host.count('ip6.fwd.drop.too-big');
      this.icmpError({ kind: 'packetTooBig', code: 0, mtu: out.mtu6, dataLen: 0 }, buf, off, len, inIfc, linkMcast);
      return;
    }
    const pkt = buf.slice(off, off + len);
    pkt[7]--;
    this.host.count('ip6.fwd');
    this.linkSend(out, rt.nextHop, dst, pkt);
  }

  status(ifName: (i: number) => string): object {
    return { ...this.nd.status(ifName), routes: this.routes.status(ifName) };
  }
}
