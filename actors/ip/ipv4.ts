// The IPv4 half of the IP actor: Ethernet demultiplexing, IPv4 input validation, local
// delivery to the transports, ICMP echo and errors, output (routing, neighbour resolution,
// fragmentation) and forwarding. Sans-I/O: frames and records leave through the Ipv4Host hooks.
// Follows RFC 791 (IP), RFC 792 (ICMP), RFC 826 (ARP), RFC 894 (IP over Ethernet), RFC 1122
// (host requirements), RFC 1812 (router requirements), RFC 1624 (incremental checksum),
// RFC 3927 (link-local), RFC 6864 (the ID field).

import {
  Ipv4Addr, MacAddr, formatIpv4, ipv4IsLinkLocal, ipv4IsLoopback, ipv4IsMulticast, ipv4MulticastMac,
  macBroadcast, formatMac,
} from '../../protocol/address';
import { incrementalUpdate16 } from '../../protocol/checksum';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4 } from '../../protocol/ethernet';
import { FrameSink, beginFrame, finishFrame, writeFrame } from './link';
import {
  IPV4_MAX_DATAGRAM, IPV4_MIN_HEADER_LEN, IP_PROTO_ICMP, IP_PROTO_IGMP, IPV4_OPT_RA, IP_PROTO_TCP, IP_PROTO_UDP, Ipv4Header, emitIpv4Header,
  ipv4Header, parseIpv4Header, parseIpv4Quoted, IPV4_OPT_LSRR, IPV4_OPT_SSRR, IPV4_OPT_RR, IPV4_OPT_TS, Ipv4Option, Ipv4View,
} from '../../protocol/ipv4';
import { updateRecordOptions } from './options';
import {
  ICMPV4_DEST_UNREACHABLE, ICMPV4_ECHO_REPLY, ICMPV4_ECHO_REQUEST, ICMPV4_HEADER_LEN, ICMPV4_TIME_EXCEEDED,
  Icmpv4Message, TIME_EXCEEDED_REASSEMBLY, TIME_EXCEEDED_TTL, UNREACH_FRAG_NEEDED, UNREACH_HOST, UNREACH_NET,
  UNREACH_PROTOCOL, emitIcmpv4, emitIcmpv4Error, icmpv4IsError, parseIcmpv4, parseIcmpv4Quote,
} from '../../protocol/icmpv4';
import { Interface, InterfaceTable } from './iface';
import { Arp, NeighborParams } from './neighbor';
import { RouteTable, V4_OPS } from './routes';
import { Reassembler, ReassemblyParams, fragment } from './reassembly';
import { TokenBucket, errorAllowed } from './icmp';
import { RECORD_FLAG_BROADCAST, RECORD_FLAG_DF, RECORD_FLAG_ICMP_ERROR, RecordHeader } from './records';
import { PmtuCache } from './pmtu';
import { IgmpHostState } from './igmp';

/** RFC 2113 Router Alert (value 0: "Router shall examine packet"), carried by every IGMP
 *  message (RFC 2236 §2, RFC 3376 §4). */
const ROUTER_ALERT = [{ type: IPV4_OPT_RA, data: Uint8Array.of(0, 0) }];

/** RFC 1122 §3.2.1.7: "The current suggested value [of the default TTL] will be published in the
 *  'Assigned Numbers' RFC" (64 today, as Linux). */
export const DEFAULT_TTL = 64;

export type TransportPort = 'tcp' | 'udp' | 'icmp';

export interface Ipv4Host extends FrameSink {
  now(): number;
  random(): number;
  count(name: string, n?: number): void;
  /** Hands a packet to a transport output port. False if nothing is wired or the ring is full. */
  deliver(port: TransportPort, h: RecordHeader, payload: Uint8Array, off: number, len: number): boolean;
  hasPort(port: TransportPort): boolean;
  emit(event: string, data: unknown): void;
}

export interface EchoReply {
  at: number;
  from: string;
  ident: number;
  seq: number;
  ttl: number;
  /** Payload, hex. */
  data: string;
}

/** What send() did with a packet. */
export type SendResult = 'sent' | 'queued' | 'local' | 'no-route' | 'no-source' | 'bad-src' | 'too-big' | 'frag-needed' | 'link-drop';

export interface SendParams {
  src: Ipv4Addr;
  dst: Ipv4Addr;
  proto: number;
  ttl?: number;
  tos?: number;
  df?: boolean;
  /** Interface to send on (for limited broadcast), 0/undefined: by route. */
  ifindex?: number;
  /** IP options (echo replies carry the request's Record Route / Timestamp); they are updated
   *  with our address and time as the datagram leaves. */
  options?: Ipv4Option[];
}

/** Parser reason -> counter suffix, so drops are counted by reason with stable names. */
const PARSE_REASONS: Record<string, string> = {
  'ipv4: shorter than the header': 'short',
  'ipv4: version is not 4': 'version',
  'ipv4: IHL below 5': 'ihl',
  'ipv4: total length below header length': 'total-length',
  'ipv4: total length exceeds the buffer': 'truncated',
  'ipv4: fragment extends past 65535 octets': 'too-big',
  'ipv4: option length below 2 or past the header': 'options',
  'ipv4: header checksum': 'checksum',
};

const MAX_ECHO_REPLIES = 64;
const BROADCAST_MAC = macBroadcast();

export class Ipv4Layer {
  readonly routes = new RouteTable<Ipv4Addr>(V4_OPS);
  readonly arp: Arp;
  readonly reasm: Reassembler;
  private readonly bucket: TokenBucket;
  private ident: number;
  readonly echoReplies: EchoReply[] = [];
  /** IGMP host state: the IPv4 groups each interface belongs to. */
  readonly igmp: IgmpHostState;
  /** The path MTU cache shared with the IPv6 half (set by the actor). */
  pmtu: PmtuCache | null = null;
  /** Scratch header reused by the outermost parse (its options array is reused too, so it must
   *  start as a real header value). */
  private readonly hdr: Ipv4Header = ipv4Header({ src: 0, dst: 0, protocol: 0, payloadLen: 0 });
  private depth = 0;

  constructor(
    readonly ifaces: InterfaceTable,
    private readonly host: Ipv4Host,
    public forwarding: boolean,
    rate: { perSecond: number; burst: number },
    reasmParams: ReassemblyParams,
    neighParams: NeighborParams,
  ) {
    this.reasm = new Reassembler(reasmParams);
    this.bucket = new TokenBucket(rate.perSecond, rate.burst, host.now());
    this.ident = Math.floor(host.random() * 0x10000);
    this.arp = new Arp(
      {
        now: () => host.now(),
        ownMac: (i) => this.ifaces.byIndex(i)!.mac,
        ownAddrOn: (i, a) => this.ifaces.byIndex(i)?.hasV4(a) ?? false,
        sendArp: (i, mac, arp) => this.sendEthernet(this.ifaces.byIndex(i)!, mac, ETHERTYPE_ARP, arp, 0, arp.length),
        conflict: (i, addr, mac) => host.emit('conflict', { iface: this.ifaces.byIndex(i)?.name, address: formatIpv4(addr), mac: formatMac(mac) }),
        count: (n, k) => host.count(n, k),
      },
      {
        transmit: (i, mac, pkt) => this.sendEthernet(this.ifaces.byIndex(i)!, mac, ETHERTYPE_IPV4, pkt, 0, pkt.length),
        unreachable: (i, _addr, pkts) => this.resolutionFailed(i, pkts),
        count: (n, k) => host.count(n, k),
      },
      () => host.random(),
      neighParams,
    );
    this.arp.pickSource = (i, target) => this.ifaces.byIndex(i)?.sourceFor(target) ?? null;
    this.igmp = new IgmpHostState({
      now: () => host.now(),
      random: () => host.random(),
      count: (n, k) => host.count(n, k),
      send: (ifc, dst, msg) => this.sendIgmp(ifc, dst, msg),
    }, () => this.ifaces.list);
  }

  /** An IGMP message out of `ifc`: TTL 1, Router Alert (RFC 2236 §2: "All IGMP messages
   *  described in this document are sent with IP TTL 1, and contain the IP Router Alert option
   *  [RFC 2113] in their IP header"), from the interface's address (RFC 3376 §4.2.13 allows
   *  0.0.0.0, which this layer does not send: without an address nothing is sent). */
  private sendIgmp(ifc: Interface, dst: Ipv4Addr, msg: Uint8Array): void {
    const src = ifc.sourceFor(dst);
    if (src === null) {
      this.host.count('igmp.tx.drop.no-address');
      return;
    }
    this.host.count('igmp.tx');
    const r = this.send({ src, dst, proto: IP_PROTO_IGMP, ttl: 1, tos: 0xc0, options: ROUTER_ALERT, ifindex: ifc.index }, msg, 0, msg.length);
    if (r !== 'sent') this.host.count(`igmp.tx.drop.${r}`);
  }

  // -------------------------------------------------------------------------------------------
  // Timers

  nextDeadline(): number {
    return Math.min(this.arp.cache.nextDeadline(), this.reasm.nextDeadline(), this.igmp.nextDeadline());
  }

  onTimer(): void {
    const now = this.host.now();
    this.arp.cache.onTimer();
    this.igmp.onTimer();
    this.reasm.onTimer(now, (quote, ifindex) => {
      this.host.count('ip4.reasm.timeout');
      // RFC 792 / RFC 1122 §3.3.2: "If the fragment zero is not available, then no
      // time-exceeded need be sent at all"; with it, Time Exceeded code 1 ("fragment
      // reassembly time exceeded").
      const ifc = this.ifaces.byIndex(ifindex);
      if (quote && ifc) this.icmpError({ type: ICMPV4_TIME_EXCEEDED, code: TIME_EXCEEDED_REASSEMBLY }, quote, 0, quote.length, ifc, false);
    });
  }

  // -------------------------------------------------------------------------------------------
  // Input

  /** One IPv4 datagram (`len` may include link padding). Never throws on bad input. */
  rxIpv4(ifc: Interface, buf: Uint8Array, off: number, len: number, linkBcast: boolean): void {
    this.host.count('ip4.rx');
    // RFC 1122 §3.2.1.1: "A datagram whose version number is not 4 MUST be silently discarded."
    // RFC 1122 §3.2.1.2: "A host MUST verify the IP header checksum on every received datagram
    // and silently discard every datagram that has a bad checksum." RFC 791: Total Length must
    // cover the header and fit the frame (the parser checks IHL and both lengths).
    // Loopback delivery re-enters here from inside a delivery: only the outermost call may
    // reuse the scratch header.
    const r = parseIpv4Header(buf, off, len, true, this.depth === 0 ? this.hdr : undefined);
    if (!r.ok) {
      this.host.count(`ip4.drop.${PARSE_REASONS[r.reason] ?? r.kind}`);
      return;
    }
    this.depth++;
    try {
      this.rxValid(ifc, buf, off, r.value, linkBcast);
    } finally {
      this.depth--;
    }
  }

  private rxValid(ifc: Interface, buf: Uint8Array, off: number, h: Ipv4Header, linkBcast: boolean): void {
    const src = h.src;
    const dst = h.dst;
    // RFC 1122 §3.2.1.3: a source that is a broadcast, multicast or class E address, or
    // loopback ("(g) ... MUST NOT appear outside a host"), is invalid, and "An IP host MUST
    // silently discard an incoming datagram containing an IP source address that is invalid".
    if (src >>> 28 >= 0xe || ipv4IsLoopback(src) || ifc.isV4Broadcast(src)) {
      this.host.count('ip4.drop.bad-src');
      return;
    }
    const dstBcast = ifc.isV4Broadcast(dst);
    // RFC 1112 §4: every host is a member of the all-hosts group 224.0.0.1, and of the groups
    // joined on the receiving interface (igmp.ts); §6.4: frames to the group's mapped MAC
    // (01:00:5e + low 23 bits) reach us, and the IP destination decides.
    const local = dstBcast || (ipv4IsMulticast(dst) ? this.igmp.isMember(ifc, dst) : this.ifaces.ownerOfV4(dst) !== undefined);
    if (!local) {
      if (src === 0 || ipv4IsMulticast(dst)) {
        this.host.count('ip4.drop.not-for-us');
        return;
      }
      if (this.forwarding) {
        this.forward(ifc, buf, off, h, linkBcast);
        return;
      }
      // RFC 1122 §3.3.4.2 (weak/strong host): a host that is not a router silently discards datagrams
      // not addressed to one of its addresses.
      this.host.count('ip4.drop.not-for-us');
      return;
    }
    if (src === 0 && !dstBcast) {
      // RFC 1122 §3.2.1.3 (a): 0.0.0.0 "MUST NOT be sent, except as a source address as part of
      // an initialization procedure" (which broadcasts).
      this.host.count('ip4.drop.bad-src');
      return;
    }
    // RFC 1122 §3.2.1.7: "A host MUST NOT discard a datagram just because it was received with
    // TTL less than 2." So no TTL check on local delivery.
    if ((h.moreFragments || h.fragOffset !== 0)) {
      // RFC 791: "If this is a fragment ... the internet module ... reassembles".
      this.host.count('ip4.reasm.fragments');
      const o = this.reasm.input(buf, off, h, ifc.index, this.host.now());
      if (o.kind === 'pending') return;
      if (o.kind === 'dropped') {
        this.host.count(`ip4.reasm.drop.${o.reason}`);
        return;
      }
      this.host.count('ip4.reasm.done');
      const d = o.datagram;
      const r2 = parseIpv4Header(d, 0, d.length, true);
      if (!r2.ok) {
        this.host.count('ip4.reasm.drop.reparse');
        return;
      }
      this.deliverLocal(ifc, d, 0, r2.value, linkBcast, dstBcast || ipv4IsMulticast(dst));
      return;
    }
    this.deliverLocal(ifc, buf, off, h, linkBcast, dstBcast || ipv4IsMulticast(dst));
  }

  private deliverLocal(ifc: Interface, buf: Uint8Array, off: number, h: Ipv4Header, linkBcast: boolean, ipBcast: boolean): void {
    const p = off + h.headerLen;
    const pl = h.payloadLen;
    const proto = h.protocol;
    this.host.count('ip4.delivered');
    if (proto === IP_PROTO_ICMP) {
      this.icmpInput(ifc, buf, off, h, linkBcast, ipBcast);
      return;
    }
    if (proto === IP_PROTO_IGMP) {
      this.host.count('igmp.rx');
      this.igmp.input(ifc, buf, p, pl);
      return;
    }
    if (proto === IP_PROTO_TCP || proto === IP_PROTO_UDP) {
      const port: TransportPort = proto === IP_PROTO_TCP ? 'tcp' : 'udp';
      if (this.host.hasPort(port)) {
        const ok = this.host.deliver(port, this.recordFor(ifc, h, linkBcast || ipBcast ? RECORD_FLAG_BROADCAST : 0), buf, p, pl);
        if (!ok) this.host.count('ip4.drop.transport-full');
        return;
      }
      this.host.count('ip4.drop.no-transport');
    } else {
      this.host.count('ip4.drop.unknown-protocol');
    }
    // RFC 1122 §3.2.2.1: "A host SHOULD generate Destination Unreachable messages with code:
    // 2 (Protocol Unreachable), when the designated transport protocol is not supported".
    this.icmpError({ type: ICMPV4_DEST_UNREACHABLE, code: UNREACH_PROTOCOL, nextHopMtu: 0 }, buf, off, h.headerLen + pl, ifc, linkBcast);
  }

  /** RFC 1122 §3.2.2.6: Record Route and Timestamp options of an echo request "SHOULD be
   *  updated to include the current host and included in the IP header of the Echo Reply
   *  message, without 'truncation'. Thus, the recorded route will be for the entire round
   *  trip." We record on arrival here and again as the reply leaves (as Linux does); other
   *  options are not echoed. */
  private echoOptions(buf: Uint8Array, off: number, h: Ipv4Header): Ipv4Option[] | undefined {
    if (h.headerLen === IPV4_MIN_HEADER_LEN) return undefined;
    const hdr = buf.slice(off, off + h.headerLen);
    updateRecordOptions(hdr, 0, h.headerLen, h.dst, this.host.now());
    const r = parseIpv4Quoted(hdr, 0, hdr.length);
    if (!r.ok) return undefined;
    const keep = r.value.options.filter((o) => o.type === IPV4_OPT_RR || o.type === IPV4_OPT_TS);
    return keep.length > 0 ? keep : undefined;
  }

  private recordFor(ifc: Interface, h: Ipv4Header, flags: number): RecordHeader {
    return { family: 4, proto: h.protocol, ifindex: ifc.index, ttl: h.ttl, tos: (h.dscp << 2) | h.ecn, flags, src: h.src, dst: h.dst };
  }

  private icmpInput(ifc: Interface, buf: Uint8Array, off: number, h: Ipv4Header, linkBcast: boolean, ipBcast: boolean): void {
    const p = off + h.headerLen;
    const pl = h.payloadLen;
    const r = parseIcmpv4(buf, p, pl);
    if (!r.ok) {
      this.host.count(r.kind === 'unsupported' ? 'icmp4.ignored' : `icmp4.drop.${r.kind}`);
      return;
    }
    const m = r.value;
    this.host.count('icmp4.rx');
    switch (m.type) {
      case ICMPV4_ECHO_REQUEST: {
        // RFC 1122 §3.2.2.6: "An ICMP Echo Request destined to an IP broadcast or IP multicast
        // address MAY be silently discarded." We do (smurf amplification).
        if (linkBcast || ipBcast) {
          this.host.count('icmp4.drop.echo-broadcast');
          return;
        }
        // RFC 1122 §3.2.2.6: "Every host MUST implement an ICMP Echo server function that
        // receives Echo Requests and sends corresponding Echo Replies." "The IP source address in
        // an ICMP Echo Reply MUST be the same as the specific-destination address ... of the
        // corresponding ICMP Echo Request message. Data received in an ICMP Echo Request MUST be
        // entirely included in the resulting Echo Reply."
        const reply = new Uint8Array(pl);
        reply.set(buf.subarray(p + ICMPV4_HEADER_LEN, p + pl), ICMPV4_HEADER_LEN);
        emitIcmpv4({ type: ICMPV4_ECHO_REPLY, code: 0, ident: m.ident, seq: m.seq }, reply, 0, pl - ICMPV4_HEADER_LEN);
        this.host.count('icmp4.tx.echo-reply');
        this.send({ src: h.dst, dst: h.src, proto: IP_PROTO_ICMP, tos: h.dscp << 2, options: this.echoOptions(buf, off, h) }, reply, 0, pl);
        return;
      }
      case ICMPV4_ECHO_REPLY: {
        this.host.count('icmp4.rx.echo-reply');
        if (this.echoReplies.length >= MAX_ECHO_REPLIES) this.echoReplies.shift();
        this.echoReplies.push({
          at: this.host.now(), from: formatIpv4(h.src), ident: m.ident, seq: m.seq, ttl: h.ttl,
          data: Buffer.from(buf.buffer, buf.byteOffset + p + ICMPV4_HEADER_LEN, pl - ICMPV4_HEADER_LEN).toString('hex'),
        });
        if (this.host.hasPort('icmp')) this.host.deliver('icmp', this.recordFor(ifc, h, 0), buf, p, pl);
        return;
      }
      default: {
        if (!icmpv4IsError(m.type)) {
          this.host.count('icmp4.ignored');
          return;
        }
        // RFC 1122 §3.2.2: "ICMP error messages ... MUST be passed to the transport layer" the
        // quoted datagram belongs to (§4.1.3.3 UDP, §4.2.3.9 TCP).
        const q = parseIcmpv4Quote(buf, p, pl);
        if (!q.ok) {
          this.host.count('icmp4.drop.bad-quote');
          return;
        }
        this.host.count('icmp4.rx.error');
        const qp = q.value.ip.protocol;
        if (m.type === ICMPV4_DEST_UNREACHABLE && m.code === UNREACH_FRAG_NEEDED && this.pmtu) {
          // RFC 1191 §6.1: a host "MUST reduce its estimate of the Path MTU for the relevant
          // path" to the Next-Hop MTU (or, from an old router that sends 0, the plateau below the
          // quoted datagram's length, §5); never below 68 (§3).
          const qip = q.value.ip;
          const mtu = m.nextHopMtu > 0 ? m.nextHopMtu : PmtuCache.plateauBelow(qip.headerLen + qip.payloadLen);
          const v = this.pmtu.update(formatIpv4(qip.dst), mtu, 68, this.host.now());
          if (v > 0) {
            this.host.count('ip4.pmtu.update');
            this.host.emit('pmtu', { dst: formatIpv4(qip.dst), mtu: v, family: 4 });
          }
        }
        const port: TransportPort | null = qp === IP_PROTO_TCP ? 'tcp' : qp === IP_PROTO_UDP ? 'udp' : null;
        const rec = this.recordFor(ifc, h, RECORD_FLAG_ICMP_ERROR);
        if (port && this.host.hasPort(port)) this.host.deliver(port, rec, buf, p, pl);
        if (this.host.hasPort('icmp')) this.host.deliver('icmp', rec, buf, p, pl);
        return;
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // ICMP errors

  /** Sends an ICMP error about the datagram at orig[off .. off+len) received on `ifc`, if the
   *  RFC 1122 §3.2.2 rules and the rate limit allow it. */
  icmpError(msg: Icmpv4Message, orig: Uint8Array, off: number, len: number, ifc: Interface, linkBcast: boolean): void {
    const r = parseIpv4Header(orig, off, len, false);
    let h: Ipv4Header;
    if (r.ok) h = r.value;
    else {
      // A quote (first fragment kept by reassembly) is shorter than its Total Length.
      const rq = parseIcmpv4QuoteHeader(orig, off, len);
      if (!rq) return;
      h = rq;
    }
    const first = len > h.headerLen ? orig[off + h.headerLen] : 0;
    if (!errorAllowed(h, first, linkBcast, ifc.isV4Broadcast(h.dst))) {
      this.host.count('icmp4.error.suppressed');
      return;
    }
    // RFC 1812 §4.3.2.8: limit the rate of ICMP error messages.
    if (!this.bucket.take(this.host.now())) {
      this.host.count('icmp4.error.rate-limited');
      return;
    }
    // RFC 1812 §4.3.2.4: "the IP source address in an ICMP error ... SHOULD be one of the
    // addresses of the interface on which the packet that caused the error was received" (or the
    // destination, when it was addressed to us).
    const src = ifc.hasV4(h.dst) || this.ifaces.ownerOfV4(h.dst) ? h.dst : ifc.sourceFor(h.src);
    if (src === null) {
      this.host.count('icmp4.error.no-source');
      return;
    }
    const buf = new Uint8Array(576);
    const n = emitIcmpv4Error(msg, orig, off, len, buf, 0);
    this.host.count(`icmp4.tx.error.${msg.type}`);
    this.send({ src, dst: h.src, proto: IP_PROTO_ICMP }, buf, 0, n);
  }

  private resolutionFailed(ifindex: number, pkts: Uint8Array[]): void {
    const ifc = this.ifaces.byIndex(ifindex);
    for (const p of pkts) {
      this.host.count('ip4.drop.unresolved');
      // RFC 1812 §5.2.7.1 / RFC 4861 §7.2.2: address resolution failed: Host Unreachable to
      // the packet's source (suppressed for our own packets: the source is local).
      if (!ifc) continue;
      const r = parseIpv4Header(p, 0, p.length, false);
      if (!r.ok) continue;
      if (this.ifaces.ownerOfV4(r.value.src)) {
        // Our own packet: the transport hears it as a local Host Unreachable (EHOSTUNREACH).
        this.localError({ type: ICMPV4_DEST_UNREACHABLE, code: UNREACH_HOST, nextHopMtu: 0 }, p, 0, p.length, ifindex);
        continue;
      }
      this.icmpError({ type: ICMPV4_DEST_UNREACHABLE, code: UNREACH_HOST, nextHopMtu: 0 }, p, 0, p.length, ifc, false);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Output

  /** Builds an IPv4 datagram around payload[off .. off+len) and sends it. */
  send(sp: SendParams, payload: Uint8Array, off: number, len: number): SendResult {
    const dst = sp.dst >>> 0;
    let route: { iface: number; nextHop: Ipv4Addr } | null;
    const own = this.ifaces.ownerOfV4(dst);
    if (own) route = { iface: own.index, nextHop: dst };
    else if (dst === 0xffffffff || ipv4IsMulticast(dst)) {
      // RFC 1122 §3.3.6: a limited broadcast goes out one interface, chosen by the sender.
      const ifc = sp.ifindex ? this.ifaces.byIndex(sp.ifindex) : this.ifaces.list.find((i) => i.up && i.v4.length > 0);
      route = ifc && ifc.up ? { iface: ifc.index, nextHop: dst } : null;
    } else route = this.routes.lookup(dst, (i) => this.ifaces.byIndex(i)?.up ?? false);
    if (!route) {
      this.host.count('ip4.tx.drop.no-route');
      // RFC 1122 §4.1.3.3 / §4.2.3.9 (ICMP errors reach the transport); Linux ENETUNREACH: the transport learns it as Network Unreachable,
      // quoting a header and the first 8 transport octets (its ports).
      if (sp.proto === IP_PROTO_TCP || sp.proto === IP_PROTO_UDP) {
        const q = new Uint8Array(IPV4_MIN_HEADER_LEN + Math.min(8, len));
        q.set(payload.subarray(off, off + Math.min(8, len)), IPV4_MIN_HEADER_LEN);
        emitIpv4Header(ipv4Header({ src: sp.src >>> 0, dst, protocol: sp.proto, payloadLen: len }), q, 0);
        this.localError({ type: ICMPV4_DEST_UNREACHABLE, code: UNREACH_NET, nextHopMtu: 0 }, q, 0, q.length, 0);
      }
      return 'no-route';
    }
    const ifc = this.ifaces.byIndex(route.iface)!;
    let src = sp.src >>> 0;
    if (src === 0) {
      const s = own ? dst : ifc.sourceFor(dst, route.nextHop);
      if (s === null) {
        this.host.count('ip4.tx.drop.no-source');
        return 'no-source';
      }
      src = s;
    } else if (!this.ifaces.ownerOfV4(src)) {
      this.host.count('ip4.tx.drop.bad-src');
      return 'bad-src';
    }
    if (IPV4_MIN_HEADER_LEN + len > IPV4_MAX_DATAGRAM) {
      this.host.count('ip4.tx.drop.too-big');
      return 'too-big';
    }
    // RFC 6864 §4.1: the ID of an atomic datagram (DF set, not fragmented) may be anything;
    // a per-stack counter from a random start is unique enough for fragmented ones.
    this.ident = (this.ident + 1) & 0xffff;
    const h = ipv4Header({
      src, dst, protocol: sp.proto, payloadLen: len, ttl: sp.ttl || DEFAULT_TTL, ident: this.ident,
      dontFragment: sp.df ?? false, dscp: ((sp.tos ?? 0) >>> 2) & 0x3f, ecn: (sp.tos ?? 0) & 3,
      options: sp.options ?? [],
    });
    const hl = h.headerLen;
    this.host.count('ip4.tx');
    if (!own && hl === IPV4_MIN_HEADER_LEN && IPV4_MIN_HEADER_LEN + len <= ifc.mtu && (this.pmtu === null || this.pmtu.size === 0)) {
      // Fast path: the neighbour is known and no fragmentation is needed, so the datagram is
      // built straight into the frame in the tx ring (one copy of the payload in all).
      const mac = this.knownMac(ifc, route.nextHop, dst);
      if (mac !== null) {
        const o = beginFrame(this.host, ifc, mac, ETHERTYPE_IPV4, IPV4_MIN_HEADER_LEN + len);
        if (o === null) return 'link-drop';
        o.bytes.set(payload.subarray(off, off + len), o.payloadAt + IPV4_MIN_HEADER_LEN);
        emitIpv4Header(h, o.bytes, o.payloadAt);
        finishFrame(this.host, ifc, o);
        return 'sent';
      }
    }
    if (hl + len > IPV4_MAX_DATAGRAM) {
      this.host.count('ip4.tx.drop.too-big');
      return 'too-big';
    }
    const pkt = new Uint8Array(hl + len);
    pkt.set(payload.subarray(off, off + len), hl);
    emitIpv4Header(h, pkt, 0);
    if (hl > IPV4_MIN_HEADER_LEN && updateRecordOptions(pkt, 0, hl, src, this.host.now())) {
      new Ipv4View(pkt, 0).fillChecksum();
      const r = parseIpv4Header(pkt, 0, pkt.length, false);
      if (r.ok) h.options = r.value.options;
    }
    if (own) {
      // Addressed to ourselves: loop back without touching a link.
      this.host.count('ip4.tx.local');
      this.rxIpv4(own, pkt, 0, pkt.length, false);
      return 'local';
    }
    const res = this.transmit(ifc, route.nextHop, h, pkt, 0, pkt.length, this.pathMtu(ifc, dst));
    if (res === 'frag-needed') {
      // A local packet with DF set that does not fit the route MTU: tell the transport as a
      // router would (RFC 1191 §4, Fragmentation Needed with the next-hop MTU), so path MTU
      // discovery works for the first hop too (Linux reports EMSGSIZE the same way).
      this.localError({ type: ICMPV4_DEST_UNREACHABLE, code: UNREACH_FRAG_NEEDED, nextHopMtu: this.pathMtu(ifc, dst) }, pkt, 0, pkt.length, ifc.index);
    }
    return res;
  }

  /** Tells the local transport that sent the datagram at pkt[off .. off+len) about an error
   *  found here (no route, no neighbour, too big), as the ICMP message a router would have
   *  sent: the transports handle one kind of error report. Only TCP and UDP are told. */
  private localError(msg: Icmpv4Message, pkt: Uint8Array, off: number, len: number, ifindex: number): void {
    const proto = pkt[off + 9];
    if (proto !== IP_PROTO_TCP && proto !== IP_PROTO_UDP) return;
    const port: TransportPort = proto === IP_PROTO_TCP ? 'tcp' : 'udp';
    if (!this.host.hasPort(port)) return;
    const buf = new Uint8Array(576);
    const n = emitIcmpv4Error(msg, pkt, off, len, buf, 0);
    const src = ((pkt[off + 12] << 24) | (pkt[off + 13] << 16) | (pkt[off + 14] << 8) | pkt[off + 15]) >>> 0;
    this.host.count('icmp4.local-error');
    this.host.deliver(port, { family: 4, proto: IP_PROTO_ICMP, ifindex, ttl: DEFAULT_TTL, tos: 0, flags: RECORD_FLAG_ICMP_ERROR, src, dst: src }, buf, 0, n);
  }

  /** The MTU toward `dst` out of `ifc`: the interface MTU, or less from the PMTU cache. */
  private pathMtu(ifc: Interface, dst: Ipv4Addr): number {
    if (this.pmtu === null || this.pmtu.size === 0) return ifc.mtu;
    return this.pmtu.get(formatIpv4(dst), ifc.mtu, this.host.now());
  }

  /** Sends a whole datagram (header valid) to `nextHop` on `ifc`, fragmenting to `mtu`. */
  private transmit(ifc: Interface, nextHop: Ipv4Addr, h: Ipv4Header, pkt: Uint8Array, off: number, len: number, mtu = ifc.mtu): SendResult {
    if (len <= mtu) return this.linkSend(ifc, nextHop, h.dst, pkt, off, len);
    if (h.dontFragment) {
      this.host.count('ip4.tx.drop.frag-needed');
      return 'frag-needed';
    }
    let res: SendResult = 'sent';
    const n = fragment(h, pkt, off + h.headerLen, len - h.headerLen, mtu, (f, fl) => {
      const r = this.linkSend(ifc, nextHop, h.dst, f, 0, fl);
      if (r !== 'sent') res = r;
    });
    if (n === 0) {
      this.host.count('ip4.tx.drop.mtu');
      return 'too-big';
    }
    this.host.count('ip4.tx.fragments', n);
    return res;
  }

  /** The link-layer destination when it is known without resolving (broadcast, multicast, or
   *  a usable neighbour entry), else null. */
  private knownMac(ifc: Interface, nextHop: Ipv4Addr, dst: Ipv4Addr): MacAddr | null {
    if (ifc.isV4Broadcast(dst)) return BROADCAST_MAC;
    if (ipv4IsMulticast(dst)) return ipv4MulticastMac(dst);
    return this.arp.cache.known(ifc.index, nextHop);
  }

  private linkSend(ifc: Interface, nextHop: Ipv4Addr, dst: Ipv4Addr, pkt: Uint8Array, off: number, len: number): SendResult {
    let mac: MacAddr | null;
    // RFC 894 / RFC 1112 §6.4: broadcasts go to ff:ff:ff:ff:ff:ff, multicasts to the mapped
    // group MAC; unicast next hops are resolved with ARP.
    if (ifc.isV4Broadcast(dst)) mac = BROADCAST_MAC;
    else if (ipv4IsMulticast(dst)) mac = ipv4MulticastMac(dst);
    else {
      mac = this.arp.cache.resolve(ifc.index, nextHop, off === 0 && len === pkt.length ? pkt : pkt.subarray(off, off + len));
      if (mac === null) return 'queued';
    }
    return this.sendEthernet(ifc, mac, ETHERTYPE_IPV4, pkt, off, len) ? 'sent' : 'link-drop';
  }

  private sendEthernet(ifc: Interface, dstMac: MacAddr, etherType: number, pkt: Uint8Array, off: number, len: number): boolean {
    return writeFrame(this.host, ifc, dstMac, etherType, pkt, off, len);
  }

  // -------------------------------------------------------------------------------------------
  // Forwarding (RFC 1812 §5)

  private forward(inIfc: Interface, buf: Uint8Array, off: number, h: Ipv4Header, linkBcast: boolean): void {
    const len = h.headerLen + h.payloadLen;
    const src = h.src;
    const dst = h.dst;
    // RFC 1812 §5.3.4: "A router MUST NOT forward any packet that the router received as a Link
    // Layer broadcast, unless it is directed to an IP Multicast address." and the same for Link
    // Layer multicasts (we forward no IP multicast at all).
    if (linkBcast) {
      this.host.count('ip4.fwd.drop.link-broadcast');
      return;
    }
    // RFC 1812 §5.3.7: "A router SHOULD NOT forward any packet that has an invalid IP source
    // address or a source address on network 0" (and §4.2.2.11: 127/8, class E, multicast).
    if (src === 0 || src >>> 24 === 0 || ipv4IsLoopback(src) || src >>> 28 >= 0xe) {
      this.host.count('ip4.fwd.drop.martian-src');
      return;
    }
    if (dst >>> 24 === 0 || ipv4IsLoopback(dst) || dst >>> 28 >= 0xe) {
      this.host.count('ip4.fwd.drop.martian-dst');
      return;
    }
    // RFC 3927 §7: "A router MUST NOT forward a packet with an IPv4 Link-Local source or
    // destination address, irrespective of the router's default route configuration".
    if (ipv4IsLinkLocal(src) || ipv4IsLinkLocal(dst)) {
      this.host.count('ip4.fwd.drop.link-local');
      return;
    }
    // Source-routed datagrams are not forwarded (RFC 7126 §4.3-4.4: the advice for LSRR and SSRR
    // is to drop them, as most routers do; RFC 1812 §5.2.4.1 allows a switch to turn source
    // routing off, and this stack has it off).
    for (const o of h.options) {
      if (o.type === IPV4_OPT_LSRR || o.type === IPV4_OPT_SSRR) {
        this.host.count('ip4.fwd.drop.source-route');
        return;
      }
    }
    // RFC 1812 §5.3.1: "If the TTL is reduced to zero (or less), the packet MUST be discarded,
    // and if the destination is not a multicast address the router MUST send an ICMP Time
    // Exceeded message, Code 0 (TTL Exceeded in Transit) message to the source."
    if (h.ttl <= 1) {
      this.host.count('ip4.fwd.drop.ttl-expired');
      this.icmpError({ type: ICMPV4_TIME_EXCEEDED, code: TIME_EXCEEDED_TTL }, buf, off, len, inIfc, linkBcast);
      return;
    }
    const route = this.routes.lookup(dst, (i) => this.ifaces.byIndex(i)?.up ?? false);
    if (!route) {
      // RFC 1812 §5.2.7.1: "Network Unreachable ... no route".
      this.host.count('ip4.fwd.drop.no-route');
      this.icmpError({ type: ICMPV4_DEST_UNREACHABLE, code: UNREACH_NET, nextHopMtu: 0 }, buf, off, len, inIfc, linkBcast);
      return;
    }
    const out = this.ifaces.byIndex(route.iface)!;
    if (out.isV4Broadcast(dst)) {
      // RFC 1812 §5.3.5.2 directed broadcasts: forwarding them is off by default (RFC 2644).
      this.host.count('ip4.fwd.drop.directed-broadcast');
      return;
    }
    if (len > out.mtu && h.dontFragment) {
      // RFC 1191 §4: "the router MUST include the MTU of that next-hop network in the low-order
      // 16 bits of the ICMP header field".
      this.host.count('ip4.fwd.drop.frag-needed');
      this.icmpError({ type: ICMPV4_DEST_UNREACHABLE, code: UNREACH_FRAG_NEEDED, nextHopMtu: out.mtu }, buf, off, len, inIfc, linkBcast);
      return;
    }
    // Copy (the input buffer is the ring's), decrement TTL and patch the checksum (RFC 1624).
    const pkt = buf.slice(off, off + len);
    const oldWord = (pkt[8] << 8) | pkt[9];
    pkt[8] = h.ttl - 1;
    const cs = incrementalUpdate16((pkt[10] << 8) | pkt[11], oldWord, (pkt[8] << 8) | pkt[9]);
    pkt[10] = cs >>> 8;
    pkt[11] = cs & 0xff;
    this.host.count('ip4.fwd');
    let fh: Ipv4Header = { ...h, ttl: h.ttl - 1, options: h.options.map((o) => ({ type: o.type, data: o.data ? o.data.slice() : undefined })) };
    if (h.headerLen > IPV4_MIN_HEADER_LEN) {
      // RFC 791 §3.1 / RFC 1812 §5.3.13: Record Route and Timestamp record the router, with the
      // address of the interface the datagram leaves by.
      const me = out.sourceFor(dst, route.nextHop) ?? 0;
      if (updateRecordOptions(pkt, 0, h.headerLen, me, this.host.now())) {
        new Ipv4View(pkt, 0).fillChecksum();
        const r = parseIpv4Header(pkt, 0, len, false);
        if (r.ok) fh = r.value;
      }
    }
    this.transmit(out, route.nextHop, fh, pkt, 0, len);
  }
}

/** The header of a quoted (truncated) datagram, or null. */
function parseIcmpv4QuoteHeader(b: Uint8Array, off: number, len: number): Ipv4Header | null {
  // Reuse the ICMP quote parser by presenting the bytes after a fake 8-byte ICMP error header.
  const tmp = new Uint8Array(ICMPV4_HEADER_LEN + len);
  tmp[0] = ICMPV4_TIME_EXCEEDED;
  tmp.set(b.subarray(off, off + len), ICMPV4_HEADER_LEN);
  const r = parseIcmpv4Quote(tmp, 0, tmp.length);
  return r.ok ? r.value.ip : null;
}

export { RECORD_FLAG_DF };
