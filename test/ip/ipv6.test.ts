// IPv6 data path of the IP actor, inline on a fake clock: ping6 fragmented and reassembled both
// ways, overlapping fragments dropping the whole datagram (RFC 5722), reassembly timeout,
// Parameter Problem for unrecognized options by action bits and for unknown Next Headers,
// input validation by reason, path MTU from Packet Too Big (and IPv4 Fragmentation Needed),
// transport records of family 6, and forwarding (hop limit, Packet Too Big, link-local scope).

import { expect } from 'chai';
import { formatIpv6 } from '../../protocol/address';
import { emitIcmpv6Error } from '../../protocol/icmpv6';
import { emitIpv6Fragment } from '../../protocol/ipv6';
import { RECORD_HEADER_LEN, encodeRecord, readRecordHeader } from '../../actors/ip/records';
import { MAC_R0, MAC_R1, inject, routed, seen, twoHosts, ipv4Frame, echoRequest } from './lab';
import { LL_A, MAC_A, MAC_B, ctr, dstOf, echo6, icmp6Frames, ip6, ipv6Frame, isV6, srcOf, twoHosts6, upper } from './lab6';

type Reply = { from: string; ident: number; seq: number; data: string; ttl: number };

function pattern(n: number, k = 31): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * k + 7) & 0xff;
  return b;
}

/** Fragments of `upperBytes` (an upper-layer message with next header `nh`) as frames a -> b. */
function frags(src: string, dst: string, nh: number, ident: number, pieces: Array<[number, number, boolean]>, upperBytes: Uint8Array): Uint8Array[] {
  return pieces.map(([off, len, more]) => {
    const pl = new Uint8Array(8 + len);
    emitIpv6Fragment({ nextHeader: nh, fragOffset: off, more, ident }, pl, 0);
    pl.set(upperBytes.subarray(off, off + len), 8);
    return ipv6Frame(MAC_B, MAC_A, ip6(src), ip6(dst), 44, 64, pl);
  });
}

describe('ip6: echo and fragments', () => {
  for (const size of [8000, 65000]) {
    it(`fragments a ${size}-byte ping6 to the MTU and reassembles it on both sides, payload intact`, () => {
      const p = twoHosts6();
      const data = pattern(size);
      p.control('a', 'ping', { dst: '2001:db8::2', seq: 9, data: data.toString('hex') });
      p.settle();
      const replies = p.control('a', 'echoReplies', {}) as Reply[];
      expect(replies).to.have.length(1);
      expect(replies[0]).to.include({ from: '2001:db8::2', seq: 9, ttl: 64 });
      expect(replies[0].data).to.equal(data.toString('hex'));
      const fr = (seen.get('ab') ?? []).filter((f) => isV6(f) && upper(f).frag);
      expect(fr.length).to.equal(Math.ceil((size + 8) / 1448));
      for (const f of fr) expect(f.length - 14).to.be.at.most(1500);
      expect(ctr(p, 'b')['ip6.reasm.done']).to.equal(1);
      expect(ctr(p, 'a')['ip6.reasm.done']).to.equal(1);
    });
  }

  it('drops the whole datagram when fragments overlap (RFC 5722), ignores exact duplicates', () => {
    const p = twoHosts6();
    const msg = echo6(128, 1, 1, pattern(40), ip6('2001:db8::1'), ip6('2001:db8::2'));
    // 48 bytes: [0,16) M, [8,24) overlapping M, [16,48) last.
    for (const f of frags('2001:db8::1', '2001:db8::2', 58, 77, [[0, 16, true], [8, 16, true], [16, 32, false]], msg)) inject(p, 'b', 'rx:eth0', f);
    p.settle();
    expect(ctr(p, 'b')['ip6.reasm.drop.overlap']).to.equal(1);
    expect(icmp6Frames(seen.get('ba'), 129)).to.have.length(0);
    // With a duplicate (dropped alone) the datagram still completes and is answered.
    for (const f of frags('2001:db8::1', '2001:db8::2', 58, 78, [[0, 16, true], [0, 16, true], [16, 32, false]], msg)) inject(p, 'b', 'rx:eth0', f);
    p.settle();
    expect(ctr(p, 'b')['ip6.reasm.drop.duplicate']).to.equal(1);
    expect(icmp6Frames(seen.get('ba'), 129)).to.have.length(1);
    // The last fragment of the dropped datagram started a new one that waits for its timeout.
    expect((p.control('b', 'status', {}) as { reassembly: { v6: { v6: number } } }).reassembly.v6.v6).to.equal(1);
  });

  it('times out a partial datagram after 60 s with Time Exceeded code 1 (first fragment seen)', () => {
    const p = twoHosts6();
    const msg = echo6(128, 1, 1, pattern(40), ip6('2001:db8::1'), ip6('2001:db8::2'));
    inject(p, 'b', 'rx:eth0', frags('2001:db8::1', '2001:db8::2', 58, 5, [[0, 16, true]], msg)[0]);
    p.settle();
    p.run(p.clock.now() + 59_000);
    expect(ctr(p, 'b')['ip6.reasm.timeout'] ?? 0).to.equal(0);
    p.run(p.clock.now() + 1_500);
    expect(ctr(p, 'b')['ip6.reasm.timeout']).to.equal(1);
    const te = icmp6Frames(seen.get('ba'), 3);
    expect(te).to.have.length(1);
    expect(te[0][upper(te[0]).off + 1]).to.equal(1);
  });

  it('rejects a non-final fragment whose length is not a multiple of 8 with Parameter Problem code 0 -> Payload Length', () => {
    const p = twoHosts6();
    const msg = echo6(128, 1, 1, pattern(40), ip6('2001:db8::1'), ip6('2001:db8::2'));
    inject(p, 'b', 'rx:eth0', frags('2001:db8::1', '2001:db8::2', 58, 6, [[0, 13, true]], msg)[0]);
    p.settle();
    expect(ctr(p, 'b')['ip6.drop.frag-length']).to.equal(1);
    const pp = icmp6Frames(seen.get('ba'), 4);
    expect(pp).to.have.length(1);
    const u = upper(pp[0]);
    expect(pp[0][u.off + 1]).to.equal(0);
    expect(Buffer.from(pp[0]).readUInt32BE(u.off + 4)).to.equal(4);
  });
});

describe('ip6: extension headers and Parameter Problem', () => {
  /** A Destination Options header carrying one option of `type` (2 data bytes), then ICMPv6. */
  function withOption(type: number, dst: string): Uint8Array {
    const msg = echo6(128, 2, 3, pattern(8), ip6('2001:db8::1'), ip6(dst));
    const pl = new Uint8Array(8 + msg.length);
    pl[0] = 58;
    pl[1] = 0;
    pl[2] = type;
    pl[3] = 2;
    pl[6] = 1; // PadN, 0 data bytes
    pl[7] = 0;
    pl.set(msg, 8);
    const mac = dst.startsWith('ff') ? '33:33:00:00:00:01' : MAC_B;
    return ipv6Frame(mac, MAC_A, ip6('2001:db8::1'), ip6(dst), 60, 64, pl);
  }

  it('skips an unknown option with action 00 and answers', () => {
    const p = twoHosts6();
    inject(p, 'b', 'rx:eth0', withOption(0x1e, '2001:db8::2'));
    p.settle();
    expect(icmp6Frames(seen.get('ba'), 129)).to.have.length(1);
  });

  it('drops silently for action 01; Parameter Problem code 2 pointing at the option for 10 (even to multicast) and 11 (unicast only)', () => {
    const p = twoHosts6();
    inject(p, 'b', 'rx:eth0', withOption(0x5e, '2001:db8::2'));
    p.settle();
    expect(icmp6Frames(seen.get('ba'), 4)).to.have.length(0);
    expect(ctr(p, 'b')['ip6.drop.option']).to.equal(1);
    inject(p, 'b', 'rx:eth0', withOption(0x9e, '2001:db8::2'));
    inject(p, 'b', 'rx:eth0', withOption(0x9e, 'ff02::1'));
    inject(p, 'b', 'rx:eth0', withOption(0xde, '2001:db8::2'));
    inject(p, 'b', 'rx:eth0', withOption(0xde, 'ff02::1'));
    p.settle();
    const pp = icmp6Frames(seen.get('ba'), 4);
    expect(pp).to.have.length(3);
    for (const f of pp) {
      const u = upper(f);
      expect(f[u.off + 1]).to.equal(2);
      expect(Buffer.from(f).readUInt32BE(u.off + 4)).to.equal(42); // 40 + 2: the option type
      expect(formatIpv6(dstOf(f))).to.equal('2001:db8::1');
    }
    // The answer to the multicast one comes from b's unicast address (RFC 4443 §2.2).
    expect(formatIpv6(srcOf(pp[1]))).to.equal('2001:db8::2');
    expect(icmp6Frames(seen.get('ba'), 129)).to.have.length(0);
  });

  it('answers an unknown Next Header with Parameter Problem code 1 pointing at it', () => {
    const p = twoHosts6();
    inject(p, 'b', 'rx:eth0', ipv6Frame(MAC_B, MAC_A, ip6('2001:db8::1'), ip6('2001:db8::2'), 200, 64, new Uint8Array(16)));
    p.settle();
    const pp = icmp6Frames(seen.get('ba'), 4);
    expect(pp).to.have.length(1);
    const u = upper(pp[0]);
    expect(pp[0][u.off + 1]).to.equal(1);
    expect(Buffer.from(pp[0]).readUInt32BE(u.off + 4)).to.equal(6);
    expect(ctr(p, 'b')['ip6.drop.unknown-protocol']).to.equal(1);
  });

  it('counts malformed packets by reason and never answers multicast-sourced ones', () => {
    const p = twoHosts6();
    const good = (): Uint8Array => ipv6Frame(MAC_B, MAC_A, ip6('2001:db8::1'), ip6('2001:db8::2'), 58, 64, echo6(128, 1, 1, pattern(8), ip6('2001:db8::1'), ip6('2001:db8::2')));
    const v = good();
    v[14] = 0x50;
    inject(p, 'b', 'rx:eth0', v);
    const t = good();
    t[19] = 200; // payload length past the frame
    inject(p, 'b', 'rx:eth0', t);
    const c = good();
    c[60] ^= 0xff; // ICMPv6 checksum
    inject(p, 'b', 'rx:eth0', c);
    inject(p, 'b', 'rx:eth0', ipv6Frame(MAC_B, MAC_A, ip6('ff02::1'), ip6('2001:db8::2'), 200, 64, new Uint8Array(8)));
    inject(p, 'b', 'rx:eth0', ipv6Frame(MAC_B, MAC_A, ip6('2001:db8::1'), ip6('2001:db8::99'), 58, 64, new Uint8Array(8)));
    // Hop-by-Hop after a Destination Options header: Parameter Problem code 1.
    const hh = new Uint8Array(24);
    hh[0] = 0; // next: hop-by-hop (not allowed here)
    hh[8] = 58;
    inject(p, 'b', 'rx:eth0', ipv6Frame(MAC_B, MAC_A, ip6('2001:db8::1'), ip6('2001:db8::2'), 60, 64, hh));
    p.settle();
    const k = ctr(p, 'b');
    expect(k['ip6.drop.version']).to.equal(1);
    expect(k['ip6.drop.truncated']).to.equal(1);
    expect(k['icmp6.drop.checksum']).to.equal(1);
    expect(k['ip6.drop.bad-src']).to.equal(1);
    expect(k['ip6.drop.not-for-us']).to.equal(1);
    expect(k['ip6.drop.hbh-not-first']).to.equal(1);
    const pp = icmp6Frames(seen.get('ba'), 4);
    expect(pp).to.have.length(1);
    expect(pp[0][upper(pp[0]).off + 1]).to.equal(1);
  });

  it('survives random and mutated IPv6 frames without throwing', () => {
    const p = twoHosts6();
    let seed = 12345;
    const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const base = ipv6Frame(MAC_B, MAC_A, ip6('2001:db8::1'), ip6('2001:db8::2'), 44, 64, new Uint8Array(64));
    for (let i = 0; i < 3000; i++) {
      const f = base.slice(0, 14 + Math.floor(rnd() * 110));
      for (let j = 14; j < f.length; j++) if (rnd() < 0.3) f[j] = Math.floor(rnd() * 256);
      f[14] = (f[14] & 0x0f) | 0x60;
      inject(p, 'b', 'rx:eth0', f);
    }
    p.settle();
    expect(ctr(p, 'b')['ip6.rx']).to.be.at.least(3000);
  });
});

describe('ip6: path MTU', () => {
  it('learns the path MTU from Packet Too Big (never below 1280) and fragments to it', () => {
    const p = twoHosts6();
    p.control('a', 'ping', { dst: '2001:db8::2', size: 1400 });
    p.settle();
    const sent = icmp6Frames(seen.get('ab'), 128).pop()!;
    const ptb = (mtu: number): Uint8Array => {
      const body = new Uint8Array(8 + 1232);
      const n = emitIcmpv6Error({ kind: 'packetTooBig', code: 0, mtu, dataLen: 0 }, sent, 14, sent.length - 14, body, 0, ip6('2001:db8::2'), ip6('2001:db8::1'));
      return ipv6Frame(MAC_A, MAC_B, ip6('2001:db8::2'), ip6('2001:db8::1'), 58, 64, body.subarray(0, n));
    };
    inject(p, 'a', 'rx:eth0', ptb(1300));
    p.settle();
    expect(p.control('a', 'pmtu', { dst: '2001:db8::2' })).to.deep.equal({ dst: '2001:db8::2', mtu: 1300 });
    inject(p, 'a', 'rx:eth0', ptb(600));
    p.settle();
    expect(p.control('a', 'pmtu', { dst: '2001:db8::2' })).to.deep.equal({ dst: '2001:db8::2', mtu: 1280 });
    expect(p.events.some((e) => e.name === 'a' && e.event === 'pmtu')).to.equal(true);
    const n0 = (seen.get('ab') ?? []).length;
    p.control('a', 'ping', { dst: '2001:db8::2', size: 1400, seq: 2 });
    p.settle();
    const out = (seen.get('ab') ?? []).slice(n0).filter(isV6);
    expect(out.length).to.equal(2);
    for (const f of out) expect(f.length - 14).to.be.at.most(1280);
    expect((p.control('a', 'echoReplies', {}) as Reply[]).map((r) => r.seq)).to.include(2);
    // Entries expire after 10 minutes (RFC 8201 §5.3).
    p.run(p.clock.now() + 10 * 60_000 + 1);
    expect(p.control('a', 'pmtu', { dst: '2001:db8::2' })).to.deep.equal({ dst: '2001:db8::2', mtu: 65535 });
  });

  it('learns an IPv4 path MTU from Fragmentation Needed and fragments to it', () => {
    const p = twoHosts();
    p.settle();
    const icmp = new Uint8Array(8 + 28);
    icmp[0] = 3;
    icmp[1] = 4;
    icmp[6] = 0x02; // MTU 576
    icmp[7] = 0x40;
    icmp.set(ipv4Frame(MAC_A, MAC_B, { src: '192.0.2.1', dst: '198.51.100.7', protocol: 1 }, echoRequest(1, 1, new Uint8Array(1200))).subarray(14, 42), 8);
    let s = 0;
    for (let i = 0; i < icmp.length; i += 2) s += (icmp[i] << 8) | icmp[i + 1];
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    icmp[2] = (~s >>> 8) & 0xff;
    icmp[3] = ~s & 0xff;
    inject(p, 'a', 'rx:eth0', ipv4Frame(MAC_A, MAC_B, { src: '192.0.2.2', dst: '192.0.2.1', protocol: 1 }, icmp));
    p.settle();
    expect(p.control('a', 'pmtu', { dst: '198.51.100.7' })).to.deep.equal({ dst: '198.51.100.7', mtu: 576 });
  });
});

describe('ip6: transport records', () => {
  it('delivers UDP as family-6 records and sends family-6 records; fixes the ICMPv6 checksum for the icmp port', () => {
    const p = twoHosts6();
    const udp = Uint8Array.of(0x30, 0x39, 0x00, 0x35, 0, 9, 0, 0, 0x41);
    inject(p, 'b', 'rx:eth0', ipv6Frame(MAC_B, MAC_A, ip6('2001:db8::1'), ip6('2001:db8::2'), 17, 33, udp));
    p.settle();
    const rec = seen.get('bu')![0];
    const h = readRecordHeader(rec, 0, rec.length)!;
    expect(h).to.include({ family: 6, proto: 17, ifindex: 1, ttl: 33 });
    expect(formatIpv6(h.src6!)).to.equal('2001:db8::1');
    expect(Array.from(rec.subarray(RECORD_HEADER_LEN))).to.deep.equal(Array.from(udp));
    // From the udp and icmp inputs: a record with a zero source.
    p.addActor({ name: 'bi', kind: 'iptap' }, [{ from: 'bi.out', to: 'b.icmp' }]);
    const msg = echo6(128, 0x77, 1, pattern(10), new Uint8Array(16), ip6('2001:db8::1')); // wrong checksum (src ::)
    p.runner('bi').ctx.out('out')!.write(encodeRecord({ family: 6, proto: 58, ifindex: 0, ttl: 0, tos: 0, flags: 0, src: 0, dst: 0, src6: new Uint8Array(16), dst6: ip6('2001:db8::1') }, msg));
    p.settle();
    const replies = p.control('b', 'echoReplies', {}) as Reply[];
    expect(replies.map((r) => r.ident)).to.deep.equal([0x77]);
  });
});

describe('ip6: forwarding', () => {
  /** a (2001:db8:a::1) -- r (forwarding; eth1 MTU 1280) -- c (2001:db8:c::3). */
  function routed6(): ReturnType<typeof routed> {
    const p = routed({
      interfaces: [
        { name: 'eth0', mac: MAC_R0, addresses: ['192.0.2.254/24', '2001:db8:a::ff/64'] },
        { name: 'eth1', mac: MAC_R1, mtu: 1280, addresses: ['198.51.100.254/24', '2001:db8:c::ff/64'] },
      ],
    });
    p.control('a', 'addAddress', { iface: 'eth0', address: '2001:db8:a::1/64' });
    p.control('c', 'addAddress', { iface: 'eth0', address: '2001:db8:c::3/64' });
    p.control('a', 'addRoute', { dest: 'default', gateway: '2001:db8:a::ff' });
    p.control('c', 'addRoute', { dest: 'default', gateway: '2001:db8:c::ff' });
    p.run(p.clock.now() + 1500);
    return p;
  }

  it('forwards ping6 across, decrementing the hop limit', () => {
    const p = routed6();
    p.control('a', 'ping', { dst: '2001:db8:c::3', seq: 1 });
    p.settle();
    const r = p.control('a', 'echoReplies', {}) as Reply[];
    expect(r).to.have.length(1);
    expect(r[0]).to.include({ from: '2001:db8:c::3', ttl: 63 });
    expect(ctr(p, 'r')['ip6.fwd']).to.equal(2);
  });

  it('sends Time Exceeded for hop limit 1, Packet Too Big for the smaller next hop, and the sender adapts', () => {
    const p = routed6();
    p.control('a', 'ping', { dst: '2001:db8:c::3', ttl: 1 });
    p.settle();
    expect(ctr(p, 'r')['icmp6.tx.error.3']).to.equal(1);
    expect(ctr(p, 'a')['icmp6.rx.error']).to.equal(1);
    p.control('a', 'ping', { dst: '2001:db8:c::3', size: 1400, seq: 7 });
    p.settle();
    expect(ctr(p, 'r')['icmp6.tx.error.2']).to.equal(1);
    expect(p.control('a', 'pmtu', { dst: '2001:db8:c::3' })).to.deep.equal({ dst: '2001:db8:c::3', mtu: 1280 });
    p.control('a', 'ping', { dst: '2001:db8:c::3', size: 1400, seq: 8 });
    p.settle();
    expect((p.control('a', 'echoReplies', {}) as Reply[]).map((x) => x.seq)).to.deep.equal([8]);
  });

  it('does not forward link-local sources (Destination Unreachable code 2) or destinations', () => {
    const p = routed6();
    const f = ipv6Frame(MAC_R0, MAC_A, LL_A, ip6('2001:db8:c::3'), 58, 64, echo6(128, 1, 1, pattern(8), LL_A, ip6('2001:db8:c::3')));
    inject(p, 'r', 'rx:eth0', f);
    inject(p, 'r', 'rx:eth0', ipv6Frame(MAC_R0, MAC_A, ip6('2001:db8:a::1'), ip6('fe80::3'), 58, 64, new Uint8Array(8)));
    p.settle();
    expect(ctr(p, 'r')['ip6.fwd.drop.link-local']).to.equal(2);
    const du = icmp6Frames(seen.get('r_a'), 1);
    expect(du).to.have.length(1);
    expect(du[0][upper(du[0]).off + 1]).to.equal(2);
  });
});

describe('ip6: addresses and routes through control ops and config', () => {
  it('adds and removes IPv6 routes ("default" by gateway family or family: 6) and rejects bad ones', () => {
    const p = twoHosts6();
    expect(p.control('a', 'addRoute', { dest: '2001:db8:5::/48', gateway: '2001:db8::2', metric: 5 })).to.deep.include({ iface: 'eth0', family: 6 });
    expect(p.control('a', 'addRoute', { dest: 'default', gateway: '2001:db8::2' })).to.deep.include({ family: 6 });
    expect(p.control('a', 'addRoute', { dest: 'default', iface: 'eth0', family: 6, metric: 9 })).to.deep.include({ family: 6 });
    const st = p.control('a', 'status', {}) as { routes: { v4: Array<{ dest: string }>; v6: Array<{ dest: string; gateway: string | null; origin: string }> } };
    expect(st.routes.v6.filter((r) => r.origin === 'static').map((r) => r.dest)).to.deep.equal(['2001:db8:5::/48', 'default', 'default']);
    expect(st.routes.v4.some((r) => r.dest === 'default')).to.equal(false);
    expect(() => p.control('a', 'addRoute', { dest: '2001:db8:6::/48', gateway: '2001:db8:9::1' })).to.throw(/not on a connected prefix/);
    expect(() => p.control('a', 'addRoute', { dest: '2001:db8:6::/48', gateway: 'fe80::1' })).to.throw(/needs "iface"/);
    expect(() => p.control('a', 'addRoute', { dest: '2001:db8:6::/48', gateway: '2001:db8::2', family: 5 })).to.throw(/family/);
    expect(p.control('a', 'removeRoute', { dest: '2001:db8:5::/48' })).to.deep.equal({ removed: 1 });
    expect(() => p.control('a', 'removeRoute', { dest: '2001:db8:5::/48' })).to.throw(/no static route/);
  });

  it('accepts IPv6 addresses in the config and control ops (with DAD), rejects bad and duplicate ones', () => {
    const p = twoHosts({ interfaces: [{ name: 'eth0', mac: MAC_A, addresses: ['192.0.2.1/24', '2001:db8::1/64'] }], ipv6: { dadTransmits: 2 } });
    p.settle();
    const a6 = (): Array<{ address: string; state: string }> => (p.control('a', 'status', {}) as { interfaces: Array<{ addresses6: Array<{ address: string; state: string }> }> }).interfaces[0].addresses6;
    expect(a6().map((x) => x.state)).to.deep.equal(['tentative', 'tentative']);
    p.run(p.clock.now() + 1500);
    expect(a6().map((x) => x.state)).to.deep.equal(['tentative', 'tentative']); // two probes, 1 s apart
    p.run(p.clock.now() + 1000);
    expect(a6().map((x) => x.state)).to.deep.equal(['preferred', 'preferred']);
    expect(() => p.control('a', 'addAddress', { iface: 'eth0', address: '2001:db8::1/64' })).to.throw(/already/);
    expect(() => p.control('a', 'addAddress', { iface: 'eth0', address: 'ff02::5/64' })).to.throw(/not a unicast/);
    expect(() => p.control('a', 'addAddress', { iface: 'eth0', address: '2001:db8::/129' })).to.throw(/CIDR/);
    p.control('a', 'removeAddress', { iface: 'eth0', address: '2001:db8::1/64' });
    expect(a6()).to.have.length(1);
    expect(() => twoHosts({ ipv6: { dadTransmits: -1 } })).to.throw(/dadTransmits/);
    expect(() => twoHosts({ ipv6: { bogus: 1 } })).to.throw(/unknown key "bogus"/);
  });
});
