// IPv4 input validation (RFC 791, RFC 1122 §3.2.1) with drops counted by reason, delivery to
// the transport ports with the records.ts header, sending from a transport port, and hostile
// input: random and mutated frames on rx ports never throw.

import { expect } from 'chai';
import { SeededRandom } from '../../base/clock';
import { COUNTER_SLOTS } from '../../base/layout';
import { RECORD_HEADER_LEN, RECORD_FLAG_BROADCAST, RECORD_FLAG_DF, RECORD_FLAG_ICMP_ERROR, encodeRecord, readRecordHeader } from '../../actors/ip/records';
import { parseIcmpv4 } from '../../protocol/icmpv4';
import { core, echoRequest, inject, ip, ipFrames, ipv4Frame, seen, twoHosts, MAC_A, MAC_B } from './lab';

const udp = (n = 12): Uint8Array => new Uint8Array(n).map((_, i) => i + 1);

describe('ip: IPv4 input validation', () => {
  const good = (): Uint8Array => ipv4Frame(MAC_B, MAC_A, { src: '192.0.2.1', dst: '192.0.2.2', protocol: 17, ttl: 9 }, udp());

  it('delivers a good UDP datagram to the udp port with the record header', () => {
    const p = twoHosts();
    p.settle();
    inject(p, 'b', 'rx:eth0', good());
    p.settle();
    const recs = seen.get('bu')!;
    expect(recs).to.have.length(1);
    const h = readRecordHeader(recs[0], 0, recs[0].length)!;
    expect(h).to.include({ family: 4, proto: 17, ifindex: 1, ttl: 9, src: ip('192.0.2.1'), dst: ip('192.0.2.2'), flags: 0 });
    expect([...recs[0].subarray(RECORD_HEADER_LEN)]).to.deep.equal([...udp()]);
  });

  it('delivers limited and subnet broadcasts with the broadcast flag', () => {
    const p = twoHosts();
    p.settle();
    inject(p, 'b', 'rx:eth0', ipv4Frame('ff:ff:ff:ff:ff:ff', MAC_A, { src: '192.0.2.1', dst: '255.255.255.255', protocol: 17 }, udp()));
    inject(p, 'b', 'rx:eth0', ipv4Frame('ff:ff:ff:ff:ff:ff', MAC_A, { src: '0.0.0.0', dst: '255.255.255.255', protocol: 17 }, udp()));
    inject(p, 'b', 'rx:eth0', ipv4Frame('ff:ff:ff:ff:ff:ff', MAC_A, { src: '192.0.2.1', dst: '192.0.2.255', protocol: 17 }, udp()));
    p.settle();
    const recs = seen.get('bu')!;
    expect(recs).to.have.length(3);
    for (const r of recs) expect(readRecordHeader(r, 0, r.length)!.flags & RECORD_FLAG_BROADCAST).to.not.equal(0);
  });

  it('drops and counts bad version, IHL, lengths, checksum, source; accepts TTL 1 locally', () => {
    const p = twoHosts();
    p.settle();
    const mut = (fn: (f: Uint8Array) => void, fixSum = true): Uint8Array => {
      const f = good();
      fn(f);
      if (fixSum) {
        f[24] = 0;
        f[25] = 0;
        let s = 0;
        const hl = (f[14] & 15) * 4;
        for (let i = 14; i < 14 + hl; i += 2) s += (f[i] << 8) | f[i + 1];
        while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
        f[24] = (~s >> 8) & 0xff;
        f[25] = ~s & 0xff;
      }
      return f;
    };
    inject(p, 'b', 'rx:eth0', mut((f) => (f[14] = 0x65))); // version 6 in an IPv4 frame
    inject(p, 'b', 'rx:eth0', mut((f) => (f[14] = 0x44))); // IHL 4
    inject(p, 'b', 'rx:eth0', mut((f) => { f[16] = 0; f[17] = 200; })); // total length > frame
    inject(p, 'b', 'rx:eth0', mut((f) => { f[16] = 0; f[17] = 10; })); // total length < header
    inject(p, 'b', 'rx:eth0', mut((f) => (f[22] = 99), false)); // checksum now wrong
    inject(p, 'b', 'rx:eth0', mut((f) => { f[26] = 224; })); // multicast source
    inject(p, 'b', 'rx:eth0', mut((f) => { f[26] = 127; })); // loopback source
    inject(p, 'b', 'rx:eth0', good().subarray(0, 30)); // truncated header
    inject(p, 'b', 'rx:eth0', mut((f) => (f[22] = 1))); // TTL 1: fine for local delivery
    inject(p, 'b', 'rx:eth0', mut((f) => (f[22] = 0))); // even TTL 0 (RFC 1122 §3.2.1.7)
    p.settle();
    const c = p.counters('b');
    expect(c['ip4.drop.version']).to.equal(1);
    expect(c['ip4.drop.ihl']).to.equal(1);
    expect(c['ip4.drop.truncated']).to.equal(1);
    expect(c['ip4.drop.total-length']).to.equal(1);
    expect(c['ip4.drop.checksum']).to.equal(1);
    expect(c['ip4.drop.bad-src']).to.equal(2);
    expect(c['ip4.drop.short']).to.equal(1);
    expect(seen.get('bu')!).to.have.length(2);
  });

  it('ignores frames for other hosts, other ethertypes and datagrams for other addresses', () => {
    const p = twoHosts();
    p.settle();
    inject(p, 'b', 'rx:eth0', ipv4Frame('02:00:00:00:00:77', MAC_A, { src: '192.0.2.1', dst: '192.0.2.2', protocol: 17 }, udp()));
    inject(p, 'b', 'rx:eth0', ipv4Frame(MAC_B, MAC_A, { src: '192.0.2.1', dst: '192.0.2.3', protocol: 17 }, udp()));
    const v6 = good();
    v6[12] = 0x86;
    v6[13] = 0xdd;
    inject(p, 'b', 'rx:eth0', v6);
    const lldp = good();
    lldp[12] = 0x88;
    lldp[13] = 0xcc;
    inject(p, 'b', 'rx:eth0', lldp);
    p.settle();
    const c = p.counters('b');
    expect(c['eth.drop.other-host']).to.equal(1);
    expect(c['ip4.drop.not-for-us']).to.equal(1);
    expect(c['eth.drop.ethertype']).to.equal(1);
    const k = core(p, 'b').counters;
    expect(k.get('ip6.drop.version') + k.get('ip6.drop.short')).to.equal(1); // an IPv4 datagram in an IPv6 EtherType
  });

  it('sends a transport packet from the udp input port, fragmenting above the MTU', () => {
    const p = twoHosts({}, {}, { mtu: 576 });
    p.addActor({ name: 'au', kind: 'iptap' }, [{ from: 'au.out', to: 'a.udp' }]);
    p.settle();
    const payload = new Uint8Array(1400).map((_, i) => i & 0xff);
    inject(p, 'au', 'in', encodeRecord({ family: 4, proto: 17, ifindex: 0, ttl: 0, tos: 0, flags: 0, src: 0, dst: ip('192.0.2.2') }, payload));
    p.settle();
    const recs = seen.get('bu')!;
    expect(recs).to.have.length(1);
    expect(readRecordHeader(recs[0], 0, recs[0].length)).to.include({ src: ip('192.0.2.1'), ttl: 64 });
    expect([...recs[0].subarray(RECORD_HEADER_LEN)]).to.deep.equal([...payload]);
    expect(ipFrames(seen.get('ab')).length).to.equal(3);
    // A bad record (too short, wrong proto for the port) is counted, not sent.
    inject(p, 'au', 'in', new Uint8Array(10));
    inject(p, 'au', 'in', encodeRecord({ family: 4, proto: 6, ifindex: 0, ttl: 0, tos: 0, flags: 0, src: 0, dst: ip('192.0.2.2') }, payload));
    p.settle();
    expect(p.counters('a')['rec.drop.bad']).to.equal(2);
  });
});

describe('ip: local path MTU', () => {
  it('tells the transport Fragmentation Needed for a DF packet above the MTU', () => {
    const p = twoHosts({}, {}, { mtu: 576 });
    p.addActor({ name: 'au', kind: 'iptap' }, [{ from: 'au.out', to: 'a.udp' }, { from: 'a.udp', to: 'au.in' }]);
    p.settle();
    const payload = new Uint8Array(1000);
    const rec = encodeRecord({ family: 4, proto: 17, ifindex: 0, ttl: 0, tos: 0, flags: RECORD_FLAG_DF, src: 0, dst: ip('192.0.2.2') }, payload);
    const out = p.runner('au').ctx.out('out')!;
    out.write(rec);
    p.settle();
    expect(p.counters('a')['ip4.tx.drop.frag-needed']).to.equal(1);
    const back = seen.get('au')!.filter((r) => r.length !== rec.length || r[1] !== 17);
    expect(back).to.have.length(1);
    const h = readRecordHeader(back[0], 0, back[0].length)!;
    expect(h.proto).to.equal(1);
    expect(h.flags & RECORD_FLAG_ICMP_ERROR).to.not.equal(0);
    const m = parseIcmpv4(back[0], RECORD_HEADER_LEN, back[0].length - RECORD_HEADER_LEN);
    expect(m.ok && m.value).to.deep.include({ type: 3, code: 4, nextHopMtu: 576 });
  });
});

describe('ip: local errors to the transport', () => {
  it('reports no route (Net Unreachable) and failed resolution (Host Unreachable) to udp', () => {
    const p = twoHosts();
    p.addActor({ name: 'au', kind: 'iptap' }, [{ from: 'au.out', to: 'a.udp' }, { from: 'a.udp', to: 'au.in' }]);
    p.settle();
    const send = (dst: string): void => {
      const payload = Uint8Array.of(0x30, 0x39, 0x00, 0x35, 0, 12, 0, 0, 1, 2, 3, 4);
      p.runner('au').ctx.out('out')!.write(encodeRecord({ family: 4, proto: 17, ifindex: 0, ttl: 0, tos: 0, flags: 0, src: 0, dst: ip(dst) }, payload));
    };
    send('203.0.113.1');
    p.settle();
    send('192.0.2.99');
    p.run(p.clock.now() + 3500);
    const errs = seen.get('au')!.map((r) => parseIcmpv4(r, RECORD_HEADER_LEN, r.length - RECORD_HEADER_LEN)).map((m) => m.ok && m.value);
    expect(errs).to.have.length(2);
    expect(errs[0]).to.deep.include({ type: 3, code: 0 });
    expect(errs[1]).to.deep.include({ type: 3, code: 1 });
    // The quote carries the ports so the transport can find its socket.
    const q = seen.get('au')![0].subarray(RECORD_HEADER_LEN + 8);
    expect((q[20] << 8) | q[21]).to.equal(12345);
    expect((q[22] << 8) | q[23]).to.equal(53);
  });
});

describe('ip: hostile input', () => {
  it('random bytes and mutated frames on rx ports never throw', () => {
    const p = twoHosts({ forwarding: true });
    p.settle();
    p.control('a', 'ping', { dst: '192.0.2.2' });
    p.settle();
    const rnd = new SeededRandom(12345);
    const seeds: Uint8Array[] = [
      ipv4Frame(MAC_B, MAC_A, { src: '192.0.2.1', dst: '192.0.2.2', protocol: 1 }, echoRequest(1, 1, new Uint8Array(40))),
      ipv4Frame(MAC_B, MAC_A, { src: '192.0.2.1', dst: '192.0.2.2', protocol: 17, moreFragments: true }, new Uint8Array(64)),
      ipv4Frame(MAC_B, MAC_A, { src: '192.0.2.1', dst: '198.51.100.9', protocol: 6, ttl: 1 }, new Uint8Array(20)),
      ipv4Frame(MAC_B, MAC_A, { src: '192.0.2.1', dst: '192.0.2.2', protocol: 1, options: [{ type: 7, data: new Uint8Array(7) }] }, new Uint8Array([3, 3, 0, 0, 0, 0, 0, 0, 0x45, 0, 0, 40])),
    ];
    const b = core(p, 'b');
    for (let i = 0; i < 20_000; i++) {
      let f: Uint8Array;
      if (i % 3 === 0) {
        f = new Uint8Array(rnd.u32() % 120);
        for (let k = 0; k < f.length; k++) f[k] = rnd.u32() & 0xff;
        if (i % 2 === 0 && f.length > 14) { f.set([0x02, 0, 0, 0, 0, 0x0b], 0); f[12] = 0x08; f[13] = i % 4 === 0 ? 0x06 : 0x00; }
      } else {
        f = seeds[i % seeds.length].slice(0, 14 + (rnd.u32() % 200));
        const flips = 1 + (rnd.u32() % 4);
        for (let k = 0; k < flips && f.length > 14; k++) f[14 + (rnd.u32() % (f.length - 14))] = rnd.u32() & 0xff;
      }
      b.onRecord('rx:eth0', f, 0, f.length);
      if (i % 500 === 0) p.run(p.clock.now() + 1000);
    }
    p.run(p.clock.now() + 60_000);
    expect(p.counters('b')['ip4.rx']).to.be.greaterThan(1000);
    // Every counter name fits the role's counter block (an overflow would alias slots).
    expect(Object.keys(p.counters('b')).length).to.be.below(COUNTER_SLOTS);
  });

  it('accepts a first-ever datagram that carries options (scratch header reuse)', () => {
    const p = twoHosts();
    const f = ipv4Frame(MAC_B, MAC_A, { src: '192.0.2.1', dst: '192.0.2.2', protocol: 17, options: [{ type: 7, data: new Uint8Array(7) }] }, udp());
    inject(p, 'b', 'rx:eth0', f);
    inject(p, 'b', 'rx:eth0', f);
    p.settle();
    expect(seen.get('bu')!).to.have.length(2);
  });

  it('rejects bad configs and control arguments with clear errors', () => {
    const make = (cfg: unknown): unknown => {
      const { create } = require('../../actors/ip/actor');
      const ctx = (p0: ReturnType<typeof twoHosts>) => p0.runner('a').ctx;
      return create(ctx(twoHosts()), cfg);
    };
    expect(() => make({})).to.throw(/interfaces/);
    expect(() => make({ interfaces: [{ name: 'eth0', mac: 'zz' }] })).to.throw(/mac/);
    expect(() => make({ interfaces: [{ name: 'eth0', mac: '02:00:00:00:00:01', mtu: 40 }] })).to.throw(/mtu/);
    expect(() => make({ interfaces: [{ name: 'eth0', mac: '02:00:00:00:00:01', addresses: ['192.0.2.0/24'] }] })).to.throw(/network or broadcast/);
    expect(() => make({ interfaces: [{ name: 'eth0', mac: '02:00:00:00:00:01' }], routes: [{ dest: 'default', gateway: '203.0.113.1' }] })).to.throw(/not on a connected subnet/);
    expect(() => make({ interfaces: [{ name: 'eth0', mac: '02:00:00:00:00:01' }], forwardng: true })).to.throw(/unknown key "forwardng"/);
    const p = twoHosts();
    expect(() => p.control('a', 'addAddress', { iface: 'eth9', address: '192.0.2.5/24' })).to.throw(/unknown interface/);
    expect(() => p.control('a', 'addAddress', { iface: 'eth0', address: '192.0.2.1/24' })).to.throw(/already/);
    expect(() => p.control('a', 'removeRoute', { dest: '203.0.113.0/24' })).to.throw(/no static route/);
    expect(() => p.control('a', 'frobnicate', {})).to.throw(/unknown control op/);
    const st = JSON.parse(JSON.stringify(p.control('a', 'status', {})));
    expect(st.interfaces[0]).to.include({ name: 'eth0', mac: MAC_A, mtu: 1500, up: true });
    expect(st.interfaces[0].addresses).to.deep.equal(['192.0.2.1/24']);
    expect(st.routes.v4[0]).to.include({ dest: '192.0.2.0/24', gateway: null, iface: 'eth0', origin: 'connected' });
  });
});
