// Routing: longest-prefix match with metrics (RFC 1812 §5.2.4.3), live route/address changes,
// and forwarding between two interfaces (RFC 1812 §5): TTL, Time Exceeded, fragmentation to the
// outgoing MTU, Fragmentation Needed with DF, no forwarding of link-local or martian sources.

import { expect } from 'chai';
import { RouteTable, V4_OPS } from '../../actors/ip/routes';
import { parseIcmpv4 } from '../../protocol/icmpv4';
import { parseIpv4Header } from '../../protocol/ipv4';
import { echoRequest, inject, ip, ipFrames, ipv4Frame, routed, seen, MAC_A, MAC_R0 } from './lab';

type Reply = { from: string; seq: number; data: string; ttl: number };

describe('ip: route table', () => {
  it('picks the longest prefix, then the lowest metric, skipping interfaces that are down', () => {
    const t = new RouteTable<number>(V4_OPS);
    t.add({ dest: 0, prefixLen: 0, gateway: ip('192.0.2.254'), iface: 1, metric: 0, origin: 'static' });
    t.add({ dest: ip('198.51.100.0'), prefixLen: 24, gateway: ip('192.0.2.10'), iface: 1, metric: 20, origin: 'static' });
    t.add({ dest: ip('198.51.100.0'), prefixLen: 24, gateway: ip('192.0.2.11'), iface: 2, metric: 10, origin: 'static' });
    t.add({ dest: ip('198.51.100.128'), prefixLen: 25, gateway: ip('192.0.2.12'), iface: 1, metric: 99, origin: 'static' });
    const up = new Set([1, 2]);
    const look = (d: string): string | null => {
      const r = t.lookup(ip(d), (i) => up.has(i));
      return r ? `${r.iface}:${r.nextHop === null ? '' : V4_OPS.format(r.nextHop)}` : null;
    };
    expect(look('203.0.113.5')).to.equal('1:192.0.2.254');
    expect(look('198.51.100.5')).to.equal('2:192.0.2.11');
    expect(look('198.51.100.200')).to.equal('1:192.0.2.12');
    up.delete(2);
    expect(look('198.51.100.5')).to.equal('1:192.0.2.10');
    up.delete(1);
    expect(look('198.51.100.5')).to.equal(null);
    up.add(1);
    expect(t.remove(ip('198.51.100.0'), 24, { gateway: ip('192.0.2.10') })).to.equal(1);
    expect(look('198.51.100.5')).to.equal('1:192.0.2.254');
  });
});

describe('ip: forwarding', () => {
  it('forwards a ping between two interfaces, decrementing TTL', () => {
    const p = routed();
    p.settle();
    p.control('a', 'ping', { dst: '198.51.100.3', seq: 1, size: 100 });
    p.settle();
    const replies = p.control('a', 'echoReplies', {}) as Reply[];
    expect(replies).to.have.length(1);
    expect(replies[0]).to.include({ from: '198.51.100.3', ttl: 63 });
    expect(p.counters('r')['ip4.fwd']).to.equal(2);
    const atC = ipFrames(seen.get('r_c')).pop()!;
    const h = parseIpv4Header(atC, 14, atC.length - 14);
    expect(h.ok && h.value.ttl).to.equal(63); // checksum verified by the parse
  });

  it('records the outgoing address in Record Route when forwarding (RFC 791)', () => {
    const p = routed();
    p.settle();
    p.control('a', 'ping', { dst: '198.51.100.3' });
    p.settle();
    const rr = new Uint8Array(11);
    rr[0] = 4; // pointer: first slot
    inject(p, 'r', 'rx:eth0', ipv4Frame(MAC_R0, MAC_A, { src: '192.0.2.1', dst: '198.51.100.3', protocol: 1, options: [{ type: 7, data: rr.subarray(0, 9) }] },
      echoRequest(9, 9, new Uint8Array(4))));
    p.settle();
    const fwd = ipFrames(seen.get('r_c')).find((f) => (f[14] & 15) > 5)!;
    const h = parseIpv4Header(fwd, 14, fwd.length - 14);
    expect(h.ok).to.equal(true);
    const o = h.ok ? h.value.options.find((x) => x.type === 7)! : null;
    expect([...o!.data!]).to.deep.equal([8, 198, 51, 100, 254, 0, 0, 0, 0]);
    // c's echo reply carries the option on: c fills the last slot on arrival, then it is full
    // ("forwarded without inserting the address").
    const back = ipFrames(seen.get('r_a')).filter((f) => (f[14] & 15) > 5).pop()!;
    const hb = parseIpv4Header(back, 14, back.length - 14);
    expect(hb.ok && [...hb.value.options.find((x) => x.type === 7)!.data!]).to.deep.equal([12, 198, 51, 100, 254, 198, 51, 100, 3]);
  });

  it('fragments to the smaller outgoing MTU and the far end reassembles', () => {
    const p = routed();
    p.settle();
    const data = Buffer.alloc(3000, 0x5a);
    p.control('a', 'ping', { dst: '198.51.100.3', seq: 2, data: data.toString('hex') });
    p.settle();
    const replies = p.control('a', 'echoReplies', {}) as Reply[];
    expect(replies[0].data).to.equal(data.toString('hex'));
    for (const f of ipFrames(seen.get('r_c'))) expect(f.length - 14).to.be.at.most(1000);
    expect(p.counters('r')['ip4.tx.fragments']).to.be.greaterThan(0);
  });

  it('answers DF packets too big for the next hop with Fragmentation Needed and the MTU', () => {
    const p = routed();
    p.settle();
    p.control('a', 'ping', { dst: '198.51.100.3', seq: 3, size: 1200, df: true });
    p.settle();
    expect(p.counters('r')['ip4.fwd.drop.frag-needed']).to.equal(1);
    const err = ipFrames(seen.get('r_a')).pop()!;
    const m = parseIcmpv4(err, 34, err.length - 34);
    expect(m.ok && m.value).to.deep.include({ type: 3, code: 4, nextHopMtu: 1000 });
  });

  it('sends Time Exceeded for TTL 1, but not about ICMP errors or non-first fragments', () => {
    const p = routed();
    p.settle();
    p.control('a', 'ping', { dst: '198.51.100.3', seq: 4, ttl: 1 });
    p.settle();
    expect(p.counters('r')['ip4.fwd.drop.ttl-expired']).to.equal(1);
    expect(p.counters('a')['icmp4.rx.error']).to.equal(1);
    const err = ipFrames(seen.get('r_a')).pop()!;
    const m = parseIcmpv4(err, 34, err.length - 34);
    expect(m.ok && m.value).to.deep.include({ type: 11, code: 0 });
    const src = parseIpv4Header(err, 14, err.length - 14);
    expect(src.ok && src.value.src).to.equal(ip('192.0.2.254')); // the receiving interface's address
    // A non-first fragment and an ICMP error with TTL 1 are dropped silently.
    inject(p, 'r', 'rx:eth0', ipv4Frame(MAC_R0, MAC_A, { src: '192.0.2.1', dst: '198.51.100.3', protocol: 17, ttl: 1, fragOffset: 800 }, new Uint8Array(16)));
    const e = new Uint8Array(36);
    e.set([11, 0, 0, 0, 0, 0, 0, 0, 0x45, 0, 0, 28], 0);
    const { emitIcmpv4 } = require('../../protocol/icmpv4');
    emitIcmpv4({ type: 11, code: 0 }, e, 0, 28);
    inject(p, 'r', 'rx:eth0', ipv4Frame(MAC_R0, MAC_A, { src: '192.0.2.1', dst: '198.51.100.3', protocol: 1, ttl: 1 }, e));
    p.settle();
    expect(p.counters('r')['ip4.fwd.drop.ttl-expired']).to.equal(3);
    expect(p.counters('r')['icmp4.error.suppressed']).to.equal(2);
    expect(p.counters('r')['icmp4.tx.error.11']).to.equal(1);
  });

  it('adds and removes an interface at runtime without a restart', () => {
    const p = routed();
    p.settle();
    p.control('a', 'ping', { dst: '198.51.100.3', seq: 1 });
    p.settle();
    p.control('r', 'addInterface', { name: 'eth2', mac: '02:00:00:00:01:02', addresses: ['203.0.113.254/24'] });
    p.addActor({ name: 'd', kind: 'ip', config: {
      interfaces: [{ name: 'eth0', mac: '02:00:00:00:00:0d', addresses: ['203.0.113.4/24'] }], routes: [{ dest: 'default', gateway: '203.0.113.254' }],
    } }, [{ from: 'r.tx:eth2', to: 'd.rx:eth0' }, { from: 'd.tx:eth0', to: 'r.rx:eth2' }]);
    p.control('a', 'ping', { dst: '203.0.113.4', seq: 2 });
    p.settle();
    expect((p.control('a', 'echoReplies', {}) as Reply[]).map((x) => `${x.from}/${x.seq}`)).to.deep.equal(['198.51.100.3/1', '203.0.113.4/2']);
    // The neighbour cache for the other interfaces survived (no restart): no new ARP toward c.
    const before = p.counters('r')['arp.tx.request'];
    p.control('a', 'ping', { dst: '198.51.100.3', seq: 3 });
    p.settle();
    expect(p.counters('r')['arp.tx.request']).to.equal(before);
    // Its IPv4 subnet route and its fe80::/64 link-local route.
    expect(p.control('r', 'removeInterface', { name: 'eth2' })).to.deep.equal({ removed: 'eth2', routes: 2 });
    p.control('a', 'ping', { dst: '203.0.113.4', seq: 4 });
    p.settle();
    expect(p.counters('r')['ip4.fwd.drop.no-route']).to.equal(1);
    expect(() => p.control('r', 'removeInterface', { name: 'eth2' })).to.throw(/unknown interface/);
  });

  it('sends Host Unreachable when the next hop does not answer ARP', () => {
    const p = routed();
    p.settle();
    p.control('a', 'ping', { dst: '198.51.100.77', seq: 1 });
    p.run(p.clock.now() + 3500);
    p.settle();
    expect(p.counters('r')['neigh.failed']).to.equal(1);
    expect(p.counters('r')['ip4.drop.unresolved']).to.equal(1);
    const err = ipFrames(seen.get('r_a')).pop()!;
    const m = parseIcmpv4(err, 34, err.length - 34);
    expect(m.ok && m.value).to.deep.include({ type: 3, code: 1 });
  });

  it('does not forward link-local or martian sources, link broadcasts, or when forwarding is off', () => {
    const p = routed();
    p.settle();
    const f = (src: string, dst: string, mac = MAC_R0): Uint8Array =>
      ipv4Frame(mac, MAC_A, { src, dst, protocol: 1 }, echoRequest(1, 1, new Uint8Array(8)));
    inject(p, 'r', 'rx:eth0', f('169.254.1.1', '198.51.100.3'));
    inject(p, 'r', 'rx:eth0', f('192.0.2.1', '169.254.9.9'));
    inject(p, 'r', 'rx:eth0', f('0.1.2.3', '198.51.100.3'));
    inject(p, 'r', 'rx:eth0', f('192.0.2.1', '198.51.100.3', 'ff:ff:ff:ff:ff:ff'));
    inject(p, 'r', 'rx:eth0', ipv4Frame(MAC_R0, MAC_A, { src: '192.0.2.1', dst: '198.51.100.3', protocol: 17,
      options: [{ type: 131, data: Uint8Array.of(4, 198, 51, 100, 3) }] }, new Uint8Array(8)));
    p.settle();
    const c = p.counters('r');
    expect(c['ip4.fwd.drop.link-local']).to.equal(2);
    expect(c['ip4.fwd.drop.martian-src']).to.equal(1);
    expect(c['ip4.fwd.drop.link-broadcast']).to.equal(1);
    expect(c['ip4.fwd.drop.source-route']).to.equal(1);
    expect(c['ip4.fwd'] ?? 0).to.equal(0);
    p.control('r', 'setForwarding', { on: false });
    p.control('a', 'ping', { dst: '198.51.100.3' });
    p.settle();
    expect(p.counters('r')['ip4.drop.not-for-us']).to.equal(1);
  });

  it('sends Network Unreachable when it has no route, and routes change live', () => {
    const p = routed();
    p.settle();
    p.control('a', 'ping', { dst: '203.0.113.9' });
    p.settle();
    expect(p.counters('r')['ip4.fwd.drop.no-route']).to.equal(1);
    const err = ipFrames(seen.get('r_a')).pop()!;
    const m = parseIcmpv4(err, 34, err.length - 34);
    expect(m.ok && m.value).to.deep.include({ type: 3, code: 0 });
    // Give r a route to 203.0.113.0/24 via c, and c the address: now it answers.
    p.control('c', 'addAddress', { iface: 'eth0', address: '203.0.113.9/24' });
    p.control('r', 'addRoute', { dest: '203.0.113.0/24', gateway: '198.51.100.3', metric: 5 });
    p.control('a', 'ping', { dst: '203.0.113.9', seq: 7 });
    p.settle();
    expect((p.control('a', 'echoReplies', {}) as Reply[]).find((x) => x.seq === 7)).to.include({ from: '203.0.113.9' });
    const st = p.control('r', 'status', {}) as { routes: { v4: Array<Record<string, unknown>> } };
    expect(st.routes.v4).to.deep.include({ dest: '203.0.113.0/24', gateway: '198.51.100.3', iface: 'eth1', metric: 5, origin: 'static' });
    p.control('r', 'removeRoute', { dest: '203.0.113.0/24' });
    p.control('a', 'ping', { dst: '203.0.113.9', seq: 8 });
    p.settle();
    expect(p.counters('r')['ip4.fwd.drop.no-route']).to.equal(2);
    // Removing an address removes its connected route.
    p.control('c', 'removeAddress', { iface: 'eth0', address: '203.0.113.9/24' });
    const cs = p.control('c', 'status', {}) as { routes: { v4: Array<{ dest: string }> } };
    expect(cs.routes.v4.map((r) => r.dest)).to.not.include('203.0.113.0/24');
  });
});
