// Golden-byte tests from real Linux traffic (test/fixtures/capture-v4.sh): every frame goes
// through ethernet -> ipv4/arp -> icmp/udp/tcp; concrete fields are asserted; checksums verify;
// emit(parse(x)) reproduces the captured header bytes exactly and recomputed checksums equal
// the captured ones.

import { expect } from 'chai';
import { formatIpv4, formatMac, parseIpv4 } from '../../protocol/address';
import { ArpHeader, emitArp, parseArp, ARP_OP_REPLY, ARP_OP_REQUEST } from '../../protocol/arp';
import { finish, sum16 } from '../../protocol/checksum';
import {
  EthernetHeader, emitEthernet, ethernetHeaderLen, parseEthernet, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_QINQ,
  ETHERTYPE_VLAN,
} from '../../protocol/ethernet';
import {
  Icmpv4Header, emitIcmpv4, emitIcmpv4Error, icmpv4IsError, parseIcmpv4, parseIcmpv4Quote,
} from '../../protocol/icmpv4';
import {
  Ipv4Header, emitIpv4Header, parseIpv4Header, IP_PROTO_ICMP, IP_PROTO_TCP, IP_PROTO_UDP, IPV4_OPT_NOP, IPV4_OPT_RR, IPV4_OPT_TS,
} from '../../protocol/ipv4';
import {
  TcpHeader, emitTcp, parseTcp, tcpComputeChecksum, tcpOptions, tcpPseudoSumV4, tcpVerifyV4, TCP_ACK, TCP_FIN, TCP_PSH,
  TCP_SYN,
} from '../../protocol/tcp';
import { UdpHeader, emitUdp, parseUdp, udpComputeChecksum, udpVerifyV4 } from '../../protocol/udp';
import { pseudoSumV4 } from '../../protocol/checksum';
import { loadPcap } from './v4-helpers';

interface Dissected {
  frame: Uint8Array;
  eth: EthernetHeader;
  ethLen: number;
  arp?: ArpHeader;
  ip?: Ipv4Header;
  ipOff: number;
  l4Off: number;
  l4Len: number;
  icmp?: Icmpv4Header;
  udp?: UdpHeader;
  tcp?: TcpHeader;
}

function ok<T>(r: { ok: true; value: T } | { ok: false; kind: string; reason: string }): T {
  if (!r.ok) expect.fail(`parse failed: ${r.kind} ${r.reason}`);
  return r.value;
}

/** Parses one frame all the way down, checking round trips on the way. */
function dissect(frame: Uint8Array): Dissected {
  const eth = ok(parseEthernet(frame, 0, frame.length));
  const ethLen = ethernetHeaderLen(eth);
  // emit(parse(x)) == x for the Ethernet header
  const e2 = new Uint8Array(ethLen);
  expect(emitEthernet(eth, e2, 0)).to.equal(ethLen);
  expect(e2).to.deep.equal(frame.subarray(0, ethLen));
  const d: Dissected = { frame, eth, ethLen, ipOff: ethLen, l4Off: 0, l4Len: 0 };
  if (eth.etherType === ETHERTYPE_ARP) {
    d.arp = ok(parseArp(frame, ethLen, frame.length - ethLen));
    const a2 = new Uint8Array(28);
    emitArp(d.arp, a2, 0);
    expect(a2).to.deep.equal(frame.subarray(ethLen, ethLen + 28));
    return d;
  }
  expect(eth.etherType).to.equal(ETHERTYPE_IPV4);
  const ip = ok(parseIpv4Header(frame, ethLen, frame.length - ethLen)); // verifies the header checksum
  d.ip = ip;
  expect(ip.headerLen + ip.payloadLen).to.equal(frame.length - ethLen);
  // emit(parse(x)) == x, header checksum recomputed
  const copy = new Uint8Array(frame);
  copy.fill(0, ethLen, ethLen + ip.headerLen);
  expect(emitIpv4Header(ip, copy, ethLen)).to.equal(ip.headerLen);
  expect(copy).to.deep.equal(frame);
  d.l4Off = ethLen + ip.headerLen;
  d.l4Len = ip.payloadLen;
  if (ip.fragOffset !== 0) return d; // no transport header in later fragments
  const whole = !ip.moreFragments;
  if (ip.protocol === IP_PROTO_ICMP) {
    const icmp = ok(parseIcmpv4(frame, d.l4Off, d.l4Len, whole));
    d.icmp = icmp;
    if (whole) {
      const c = new Uint8Array(frame);
      c.fill(0, d.l4Off, d.l4Off + 8);
      emitIcmpv4(icmp, c, d.l4Off, d.l4Len - 8);
      expect(c).to.deep.equal(frame);
    }
  } else if (ip.protocol === IP_PROTO_UDP) {
    const udp = ok(parseUdp(frame, d.l4Off, d.l4Len));
    d.udp = udp;
    expect(udp.length).to.equal(d.l4Len);
    expect(udpVerifyV4(frame, d.l4Off, udp.length, ip.src, ip.dst)).to.equal(true);
    expect(udpComputeChecksum(frame, d.l4Off, udp.length, pseudoSumV4(ip.src, ip.dst, 17, udp.length))).to.equal(udp.checksum);
    const c = new Uint8Array(frame);
    c.fill(0, d.l4Off, d.l4Off + 8);
    emitUdp(udp, c, d.l4Off);
    expect(c).to.deep.equal(frame);
  } else if (ip.protocol === IP_PROTO_TCP) {
    const tcp = ok(parseTcp(frame, d.l4Off, d.l4Len));
    d.tcp = tcp;
    expect(tcpVerifyV4(frame, d.l4Off, d.l4Len, ip.src, ip.dst)).to.equal(true);
    expect(tcpComputeChecksum(frame, d.l4Off, d.l4Len, tcpPseudoSumV4(ip.src, ip.dst, d.l4Len))).to.equal(tcp.checksum);
    const c = new Uint8Array(frame);
    c.fill(0, d.l4Off, d.l4Off + tcp.headerLen);
    expect(emitTcp(tcp, c, d.l4Off)).to.equal(tcp.headerLen);
    expect(c).to.deep.equal(frame);
  }
  return d;
}

function dissectFile(name: string): Dissected[] {
  return loadPcap(name).map((r) => {
    expect(r.data.length).to.equal(r.origLen); // nothing truncated
    return dissect(r.data);
  });
}

const A = parseIpv4('192.0.2.1')!;
const B = parseIpv4('192.0.2.2')!;
const MAC_A = '02:00:00:00:00:0a';
const MAC_B = '02:00:00:00:00:0b';

describe('golden IPv4 captures (real Linux traffic)', () => {
  it('every frame of every capture dissects, verifies and round-trips', () => {
    let n = 0;
    for (const f of ['v4-arp-icmp.pcap', 'v4-options.pcap', 'v4-udp.pcap', 'v4-tcp.pcap', 'v4-sack.pcap',
      'v4-fragneeded.pcap', 'v4-vlan.pcap']) n += dissectFile(f).length;
    expect(n).to.be.greaterThan(50);
  });

  describe('v4-arp-icmp.pcap', () => {
    const d = dissectFile('v4-arp-icmp.pcap');

    it('ARP request (padded by arping) and reply', () => {
      const req = d[0];
      expect(formatMac(req.eth.dst)).to.equal('ff:ff:ff:ff:ff:ff');
      expect(formatMac(req.eth.src)).to.equal(MAC_A);
      expect(req.frame.length).to.equal(58); // 14 + 28 + 16 bytes of padding
      expect(req.arp!.op).to.equal(ARP_OP_REQUEST);
      expect(formatMac(req.arp!.senderMac)).to.equal(MAC_A);
      expect(req.arp!.senderIp).to.equal(A);
      expect(req.arp!.targetIp).to.equal(B);
      const rep = d[1];
      expect(rep.arp!.op).to.equal(ARP_OP_REPLY);
      expect(formatMac(rep.arp!.senderMac)).to.equal(MAC_B);
      expect(formatIpv4(rep.arp!.senderIp)).to.equal('192.0.2.2');
      expect(formatMac(rep.arp!.targetMac)).to.equal(MAC_A);
      expect(rep.arp!.targetIp).to.equal(A);
    });

    it('echo request and reply, 64 bytes', () => {
      const req = d.find((x) => x.icmp?.type === 8 && x.l4Len === 64)!;
      const rep = d.find((x) => x.icmp?.type === 0 && x.l4Len === 64)!;
      expect(req.ip!.src).to.equal(A);
      expect(req.ip!.dst).to.equal(B);
      expect(req.ip!.dontFragment).to.equal(true);
      expect(req.ip!.ttl).to.equal(64);
      expect(rep.ip!.src).to.equal(B);
      const q = req.icmp as { ident: number; seq: number };
      const r = rep.icmp as { ident: number; seq: number };
      expect(q.seq).to.equal(1);
      expect(r.ident).to.equal(q.ident);
      expect(r.seq).to.equal(1);
      // ping -p 5a: the pattern fills the data after the 16-byte timestamp
      expect(req.frame[req.l4Off + 8 + 16]).to.equal(0x5a);
    });

    it('3000-byte echo: three fragments each way that reassemble to a verifying ICMP message', () => {
      for (const [src, type] of [[A, 8], [B, 0]] as const) {
        const frags = d.filter((x) => x.ip && x.ip.src === src && (x.ip.moreFragments || x.ip.fragOffset !== 0));
        expect(frags.map((x) => x.ip!.fragOffset)).to.deep.equal([0, 1480, 2960]);
        expect(frags.map((x) => x.ip!.moreFragments)).to.deep.equal([true, true, false]);
        expect(new Set(frags.map((x) => x.ip!.ident)).size).to.equal(1);
        const total = frags[2].ip!.fragOffset + frags[2].ip!.payloadLen;
        expect(total).to.equal(3008);
        const msg = new Uint8Array(total);
        for (const f of frags) msg.set(f.frame.subarray(f.l4Off, f.l4Off + f.l4Len), f.ip!.fragOffset);
        const icmp = ok(parseIcmpv4(msg, 0, total)); // checksum over the reassembled message
        expect(icmp.type).to.equal(type);
        expect(frags[0].icmp!.type).to.equal(type);
      }
    });
  });

  describe('v4-options.pcap', () => {
    const d = dissectFile('v4-options.pcap');
    it('record route: NOP + RR in the request, RR filled in by the replier', () => {
      const req = d[0].ip!;
      expect(req.headerLen).to.equal(60);
      expect(req.options.map((o) => o.type)).to.deep.equal([IPV4_OPT_NOP, IPV4_OPT_RR]);
      const rr = req.options[1].data!;
      expect(rr.length).to.equal(37); // length 39 - 2
      expect(rr[0]).to.equal(8); // pointer: after the first recorded address
      expect(formatIpv4((rr[1] << 24 | rr[2] << 16 | rr[3] << 8 | rr[4]) >>> 0)).to.equal('192.0.2.1');
      const rep = d[1].ip!;
      expect(rep.options[0].type).to.equal(IPV4_OPT_RR);
      expect(rep.options[0].data![0]).to.equal(16); // three addresses recorded
    });
    it('internet timestamp (tsonly)', () => {
      const req = d[2].ip!;
      expect(req.options.map((o) => o.type)).to.deep.equal([IPV4_OPT_TS]);
      const ts = req.options[0].data!;
      expect(ts.length).to.equal(38);
      expect(ts[1] & 0x0f).to.equal(0); // flag 0: timestamps only
      const rep = d[3].ip!;
      expect(ts[0]).to.equal(9); // one stamp (the sender's)
      expect(rep.options[0].data![0]).to.equal(17); // three stamps
      expect(d[2].icmp!.type).to.equal(8);
      expect(d[3].icmp!.type).to.equal(0);
    });
  });

  describe('v4-udp.pcap', () => {
    const d = dissectFile('v4-udp.pcap');
    it('a datagram with checksum', () => {
      const u = d[0].udp!;
      expect(u.srcPort).to.equal(40002);
      expect(u.dstPort).to.equal(5002);
      expect(u.length).to.equal(8 + 15);
      expect(Buffer.from(d[0].frame.subarray(d[0].l4Off + 8)).toString()).to.equal('salamander udp\n');
      expect(u.checksum).to.not.equal(0);
    });
    it('ICMP port unreachable quoting the datagram, rebuilt byte-for-byte by emitIcmpv4Error', () => {
      const orig = d[1];
      const err = d[2];
      expect(err.ip!.src).to.equal(B);
      expect(err.ip!.dst).to.equal(A);
      expect(err.ip!.dscp).to.equal(0x30); // Linux sends errors with TOS 0xc0 (CS6)
      expect(err.icmp!.type).to.equal(3);
      expect(err.icmp!.code).to.equal(3);
      expect(icmpv4IsError(err.icmp!.type)).to.equal(true);
      const q = ok(parseIcmpv4Quote(err.frame, err.l4Off, err.l4Len));
      expect(q.ip.src).to.equal(A);
      expect(q.ip.dst).to.equal(B);
      expect(q.ip.protocol).to.equal(IP_PROTO_UDP);
      const ports = ok(parseUdp(err.frame, q.transportOff, q.transportLen));
      expect(ports.srcPort).to.equal(40003);
      expect(ports.dstPort).to.equal(5999);
      const out = new Uint8Array(600);
      const n = emitIcmpv4Error({ type: 3, code: 3, nextHopMtu: 0 }, orig.frame, orig.ipOff, orig.frame.length - orig.ipOff, out, 0);
      expect(n).to.equal(err.l4Len);
      expect(out.subarray(0, n)).to.deep.equal(err.frame.subarray(err.l4Off, err.l4Off + err.l4Len));
    });
  });

  describe('v4-tcp.pcap', () => {
    const d = dissectFile('v4-tcp.pcap');
    it('handshake options: MSS, SACK-permitted, timestamps, window scale', () => {
      const syn = d[0].tcp!;
      expect(syn.flags).to.equal(TCP_SYN);
      expect(syn.srcPort).to.equal(40001);
      expect(syn.dstPort).to.equal(5001);
      expect(syn.mss).to.equal(1460);
      expect(syn.sackPermitted).to.equal(true);
      expect(syn.windowScale).to.equal(10);
      expect(syn.tsVal).to.be.a('number');
      expect(syn.tsEcr).to.equal(0);
      expect(syn.options.map((o) => o.kind)).to.deep.equal(['mss', 'sackPermitted', 'timestamp', 'nop', 'wscale']);
      // tcpOptions builds Linux's layout
      expect(tcpOptions({ mss: 1460, sackPermitted: true, tsVal: syn.tsVal, tsEcr: 0, windowScale: 10 }))
        .to.deep.equal(syn.options);
      const synack = d[1].tcp!;
      expect(synack.flags).to.equal(TCP_SYN | TCP_ACK);
      expect(synack.ack).to.equal((syn.seq + 1) >>> 0);
      expect(synack.tsEcr).to.equal(syn.tsVal);
      const ack = d[2].tcp!;
      expect(ack.flags).to.equal(TCP_ACK);
      expect(ack.options.map((o) => o.kind)).to.deep.equal(['nop', 'nop', 'timestamp']);
      expect(ack.mss).to.equal(null);
    });
    it('data both ways and FIN from each side', () => {
      const data = d.filter((x) => x.tcp && x.l4Len > x.tcp.headerLen);
      expect(data.length).to.equal(2);
      for (const x of data) {
        expect(x.tcp!.flags).to.equal(TCP_PSH | TCP_ACK);
        const text = Buffer.from(x.frame.subarray(x.l4Off + x.tcp!.headerLen)).toString();
        expect(text).to.equal(x.ip!.src === A ? 'hello from a\n' : 'hello from b\n');
      }
      const fins = d.filter((x) => x.tcp && (x.tcp.flags & TCP_FIN) !== 0);
      expect(fins.length).to.equal(2);
      expect(new Set(fins.map((x) => x.ip!.src))).to.deep.equal(new Set([A, B]));
    });
  });

  describe('v4-sack.pcap', () => {
    const d = dissectFile('v4-sack.pcap');
    it('duplicate ACKs carry SACK blocks above the lost segment', () => {
      const synack = d[1].tcp!;
      const irs = synack.seq;
      const withSack = d.filter((x) => x.tcp && x.tcp.sack.length > 0);
      expect(withSack.length).to.be.greaterThan(0);
      const first = withSack[0].tcp!;
      expect(first.options.map((o) => o.kind)).to.deep.equal(['nop', 'nop', 'timestamp', 'nop', 'nop', 'sack']);
      expect(first.sack.length).to.equal(1);
      // the block starts one MSS above the cumulative ACK (the dropped segment)
      expect((first.sack[0].left - first.ack) >>> 0).to.equal(1448);
      expect((first.ack - irs) >>> 0).to.equal(2897);
      const last = withSack[withSack.length - 1].tcp!;
      expect((last.sack[0].right - irs) >>> 0).to.equal(12001);
    });
  });

  describe('v4-fragneeded.pcap', () => {
    const d = dissectFile('v4-fragneeded.pcap');
    it('router sends fragmentation needed with next-hop MTU 1280, quoting 548 bytes (576 total)', () => {
      const [orig, err] = d;
      expect(orig.ip!.dontFragment).to.equal(true);
      expect(formatIpv4(orig.ip!.dst)).to.equal('203.0.113.2');
      expect(err.icmp).to.deep.include({ type: 3, code: 4, nextHopMtu: 1280 });
      expect(err.ip!.headerLen + err.ip!.payloadLen).to.equal(576);
      const q = ok(parseIcmpv4Quote(err.frame, err.l4Off, err.l4Len));
      expect(formatIpv4(q.ip.dst)).to.equal('203.0.113.2');
      expect(q.ip.payloadLen).to.equal(1408);
      const out = new Uint8Array(600);
      const n = emitIcmpv4Error({ type: 3, code: 4, nextHopMtu: 1280 }, orig.frame, orig.ipOff, orig.frame.length - orig.ipOff, out, 0);
      expect(n).to.equal(556);
      expect(out.subarray(0, n)).to.deep.equal(err.frame.subarray(err.l4Off, err.l4Off + n));
    });
  });

  describe('v4-vlan.pcap', () => {
    const d = dissectFile('v4-vlan.pcap');
    it('802.1Q tag VID 5 PCP 3, and 802.1ad S-tag VID 100 over it', () => {
      expect(d[0].eth.vlans).to.deep.equal([{ tpid: ETHERTYPE_VLAN, pcp: 3, dei: false, vid: 5 }]);
      expect(d[0].ethLen).to.equal(18);
      expect(d[1].eth.vlans).to.deep.equal([
        { tpid: ETHERTYPE_QINQ, pcp: 0, dei: false, vid: 100 },
        { tpid: ETHERTYPE_VLAN, pcp: 3, dei: false, vid: 5 },
      ]);
      expect(d[1].ethLen).to.equal(22);
      for (const x of d) {
        expect(x.eth.etherType).to.equal(ETHERTYPE_IPV4);
        expect(formatIpv4(x.ip!.src)).to.equal('198.51.100.1');
        expect(x.icmp).to.deep.include({ type: 8, ident: 0x5a4d, seq: 1 });
      }
    });
  });

  it('IPv4 header checksums equal a recomputation from scratch', () => {
    for (const r of loadPcap('v4-tcp.pcap')) {
      const f = new Uint8Array(r.data);
      const stored = (f[24] << 8) | f[25];
      f[24] = 0;
      f[25] = 0;
      expect(finish(sum16(f, 14, 20))).to.equal(stored);
    }
  });
});
