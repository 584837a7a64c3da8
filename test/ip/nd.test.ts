// IPv6 Neighbor Discovery, DAD, SLAAC and MLD in the IP actor, inline on a fake clock: the
// EUI-64 link-local address passes DAD; a conflicting NA or DAD NS marks an address duplicated
// with a 'conflict' event; neighbour resolution with NS/NA and queued packets; SLAAC from a
// crafted RA with lifetimes that expire on the fake clock (and the 2-hour rule); MLDv2 reports
// on join and as query answers; Router Solicitations; redirects.

import { expect } from 'chai';
import { formatIpv6, ipv6SolicitedNode, ipv6AllNodes, ipv6Equal } from '../../protocol/address';
import { NeighborAdvert, NeighborSolicit, RouterAdvert, Redirect } from '../../protocol/ndp';
import { emitMld, mldMessageLen, MldV2Query } from '../../protocol/mld';
import { emitIpv6OptionsHeader, routerAlertMld } from '../../protocol/ipv6';
import { inject, seen } from './lab';
import {
  LL_A, LL_B, LL_R, MAC_A, MAC_B, MAC_R, core, ctr, dstOf, icmp6Frames, ip6, ipv6Frame, ndFrame, srcOf, twoHosts6, upper,
} from './lab6';
import { twoHosts } from './lab';

type Addr6 = { address: string; state: string; origin: string; validSec: number | null; preferredSec: number | null };
const addrs = (p: ReturnType<typeof twoHosts>, n: string): Addr6[] =>
  ((p.control(n, 'status', {}) as { interfaces: Array<{ addresses6: Addr6[] }> }).interfaces[0].addresses6);

describe('ip6: DAD and the link-local address', () => {
  it('forms fe80::/64 + EUI-64, sends one DAD NS from :: after joining the solicited-node group, and is preferred after 1 s', () => {
    const p = twoHosts();
    p.settle();
    let a = addrs(p, 'a');
    expect(a).to.have.length(1);
    expect(a[0]).to.include({ address: `${formatIpv6(LL_A)}/64`, state: 'tentative', origin: 'link-local' });
    const ab = seen.get('ab')!;
    const ns = icmp6Frames(ab, 135);
    expect(ns).to.have.length(1);
    expect(formatIpv6(srcOf(ns[0]))).to.equal('::');
    expect(ipv6Equal(dstOf(ns[0]), ipv6SolicitedNode(LL_A))).to.equal(true);
    expect(ns[0][21]).to.equal(255);
    // RFC 4862 §5.4.2: the MLD report for the solicited-node group went out before the NS.
    const mld = icmp6Frames(ab, 143);
    expect(mld.length).to.be.at.least(1);
    expect(ab.indexOf(mld[0])).to.be.below(ab.indexOf(ns[0]));
    p.run(p.clock.now() + 999);
    expect(addrs(p, 'a')[0].state).to.equal('tentative');
    p.run(p.clock.now() + 2);
    a = addrs(p, 'a');
    expect(a[0].state).to.equal('preferred');
    expect(ctr(p, 'a')['nd.dad.ok']).to.equal(1);
    expect(p.events.some((e) => e.name === 'a' && e.event === 'address' && (e.data as Record<string, unknown>).state === 'preferred')).to.equal(true);
  });

  it('marks a tentative address duplicated on an NA for it, with a conflict event', () => {
    const p = twoHosts();
    p.control('a', 'addAddress', { iface: 'eth0', address: '2001:db8::7/64' });
    p.settle();
    const target = ip6('2001:db8::7');
    const na: NeighborAdvert = { kind: 'neighborAdvert', router: false, solicited: false, override: true, target, options: [{ kind: 'targetLinkAddr', addr: Uint8Array.of(2, 0, 0, 0, 0, 0x77) }] };
    inject(p, 'a', 'rx:eth0', ndFrame('02:00:00:00:00:77', ip6('2001:db8::77'), ipv6AllNodes(), na));
    p.run(p.clock.now() + 3000);
    const x = addrs(p, 'a').find((y) => y.address === '2001:db8::7/64')!;
    expect(x.state).to.equal('duplicated');
    const ev = p.events.find((e) => e.name === 'a' && e.event === 'conflict');
    expect(ev?.data).to.deep.include({ iface: 'eth0', address: '2001:db8::7', family: 6, how: 'na', mac: '02:00:00:00:00:77' });
    // A duplicated address is never used as a source.
    const src = core(p, 'a').ifaces.get('eth0')!.sourceForV6(ip6('2001:db8::2'));
    expect(formatIpv6(src!)).to.equal(formatIpv6(LL_A));
  });

  it('marks a tentative address duplicated on another node\'s DAD NS (both DAD at once), and answers NS once preferred', () => {
    const p = twoHosts();
    p.control('a', 'addAddress', { iface: 'eth0', address: '2001:db8::8/64' });
    p.control('b', 'addAddress', { iface: 'eth0', address: '2001:db8::8/64' });
    p.run(p.clock.now() + 3000);
    expect(addrs(p, 'a').find((y) => y.address === '2001:db8::8/64')!.state).to.equal('duplicated');
    expect(addrs(p, 'b').find((y) => y.address === '2001:db8::8/64')!.state).to.equal('duplicated');
    expect(ctr(p, 'a')['nd.dad.conflict']).to.equal(1);
  });
});

describe('ip6: neighbour discovery', () => {
  it('resolves with NS/NA, sends the queued echo request, gets the reply; both caches learn', () => {
    const p = twoHosts6();
    const r = p.control('a', 'ping', { dst: '2001:db8::2', seq: 1, size: 100 }) as { result: string };
    expect(r.result).to.equal('queued');
    p.settle();
    const replies = p.control('a', 'echoReplies', {}) as Array<{ from: string; seq: number; data: string }>;
    expect(replies).to.have.length(1);
    expect(replies[0].from).to.equal('2001:db8::2');
    const ns = icmp6Frames(seen.get('ab'), 135).filter((f) => formatIpv6(srcOf(f)) !== '::');
    expect(ns).to.have.length(1);
    expect(formatIpv6(dstOf(ns[0]))).to.equal(formatIpv6(ipv6SolicitedNode(ip6('2001:db8::2'))));
    const na = icmp6Frames(seen.get('ba'), 136);
    expect(na).to.have.length(1);
    const u = upper(na[0]);
    expect(na[0][u.off + 4] & 0x60).to.equal(0x60); // Solicited and Override
    const nb = (p.control('a', 'neighbors', {}) as Array<Record<string, unknown>>).filter((x) => String(x.addr).includes(':'));
    expect(nb).to.have.length(1);
    expect(nb[0]).to.include({ addr: '2001:db8::2', state: 'REACHABLE', mac: MAC_B });
    // b learned a from the NS's Source Link-Layer option (STALE), and replied without an NS.
    expect(icmp6Frames(seen.get('ba'), 135).filter((f) => formatIpv6(srcOf(f)) !== '::')).to.have.length(0);
  });

  it('pings link-local to link-local', () => {
    const p = twoHosts6(false);
    p.control('a', 'ping', { dst: formatIpv6(LL_B), seq: 4, iface: 'eth0' });
    p.settle();
    const replies = p.control('a', 'echoReplies', {}) as Array<{ from: string }>;
    expect(replies.map((x) => x.from)).to.deep.equal([formatIpv6(LL_B)]);
  });

  it('walks a neighbour REACHABLE -> STALE -> DELAY -> PROBE and deletes it when probes go unanswered', () => {
    const p = twoHosts6();
    p.control('a', 'ping', { dst: '2001:db8::2' });
    p.settle();
    const state = (): string | undefined => ((p.control('a', 'neighbors', {}) as Array<Record<string, unknown>>).find((x) => x.addr === '2001:db8::2')?.state as string | undefined);
    expect(state()).to.equal('REACHABLE');
    p.run(p.clock.now() + 46_000);
    expect(state()).to.equal('STALE');
    const { filters } = require('./lab') as typeof import('./lab');
    filters.set('ba', () => null); // b goes silent
    p.control('a', 'ping', { dst: '2001:db8::2' });
    expect(state()).to.equal('DELAY');
    p.run(p.clock.now() + 5001);
    expect(state()).to.equal('PROBE');
    p.run(p.clock.now() + 4000);
    expect(state()).to.equal(undefined);
    expect(ctr(p, 'a')['neigh.failed']).to.equal(1);
  });

  it('answers a multicast NS for its address with a solicited NA carrying its MAC', () => {
    const p = twoHosts6();
    const peer = ip6('2001:db8::99');
    const ns: NeighborSolicit = { kind: 'neighborSolicit', target: ip6('2001:db8::1'), options: [{ kind: 'sourceLinkAddr', addr: Uint8Array.of(2, 0, 0, 0, 0, 0x99) }] };
    const before = icmp6Frames(seen.get('ab'), 136).length;
    inject(p, 'a', 'rx:eth0', ndFrame('02:00:00:00:00:99', peer, ipv6SolicitedNode(ip6('2001:db8::1')), ns));
    p.settle();
    const na = icmp6Frames(seen.get('ab'), 136).slice(before);
    expect(na).to.have.length(1);
    expect(formatIpv6(dstOf(na[0]))).to.equal('2001:db8::99');
    expect(Array.from(na[0].subarray(0, 6))).to.deep.equal([2, 0, 0, 0, 0, 0x99]);
    const u = upper(na[0]);
    expect(formatIpv6(na[0].subarray(u.off + 8, u.off + 24))).to.equal('2001:db8::1');
    expect(Array.from(na[0].subarray(u.off + 26, u.off + 32))).to.deep.equal([2, 0, 0, 0, 0, 0x0a]);
    // An NS with hop limit 254 is invalid (RFC 4861 §7.1.1) and dropped.
    const bad = ndFrame('02:00:00:00:00:99', peer, ipv6SolicitedNode(ip6('2001:db8::1')), ns);
    bad[21] = 254;
    inject(p, 'a', 'rx:eth0', bad);
    p.settle();
    expect(ctr(p, 'a')['nd.drop.unexpected']).to.equal(1);
  });
});

/** An RA from router R (link-local LL_R) with a prefix. */
function ra(prefix: string, valid: number, preferred: number, opts: Partial<RouterAdvert> = {}): RouterAdvert {
  return {
    kind: 'routerAdvert', curHopLimit: 60, managed: false, otherConfig: false, otherFlags: 0, routerLifetime: 1800,
    reachableTime: 0, retransTimer: 0,
    options: [
      { kind: 'sourceLinkAddr', addr: Uint8Array.of(2, 0, 0, 0, 0, 0x99) },
      { kind: 'mtu', mtu: 1400 },
      { kind: 'prefixInfo', prefixLength: 64, onLink: true, autonomous: true, otherFlags: 0, validLifetime: valid, preferredLifetime: preferred, prefix: ip6(prefix) },
    ],
    ...opts,
  };
}

describe('ip6: Router Advertisements and SLAAC', () => {
  it('sends Router Solicitations after start, and stops once an RA arrives', () => {
    const p = twoHosts();
    p.run(p.clock.now() + 2000);
    expect(icmp6Frames(seen.get('ab'), 133).length).to.be.within(1, 2);
    inject(p, 'a', 'rx:eth0', ndFrame(MAC_R, LL_R, ipv6AllNodes(), ra('2001:db8:1::', 600, 300)));
    p.run(p.clock.now() + 20_000);
    expect(icmp6Frames(seen.get('ab'), 133).length).to.be.within(1, 2);
  });

  it('forms an address from a prefix with the A flag, learns the router, MTU and hop limit, and lifetimes expire on the fake clock', () => {
    const p = twoHosts6(false);
    inject(p, 'a', 'rx:eth0', ndFrame(MAC_R, LL_R, ipv6AllNodes(), ra('2001:db8:1::', 100, 50)));
    p.settle();
    let x = addrs(p, 'a').find((y) => y.origin === 'slaac')!;
    expect(x).to.include({ address: '2001:db8:1::ff:fe00:a/64', state: 'tentative', validSec: 100, preferredSec: 50 });
    p.run(p.clock.now() + 1100);
    x = addrs(p, 'a').find((y) => y.origin === 'slaac')!;
    expect(x.state).to.equal('preferred');
    const st = p.control('a', 'status', {}) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(st.defaultRouters6).to.have.length(1);
    expect(st.defaultRouters6[0]).to.include({ addr: formatIpv6(LL_R), iface: 'eth0' });
    expect(st.interfaces[0]).to.include({ mtu6: 1400, curHopLimit: 60 });
    expect(st.routes.v6.some((r: Record<string, unknown>) => r.dest === '2001:db8:1::/64' && r.origin === 'ra')).to.equal(true);
    expect(st.neighbors.v6.some((n: Record<string, unknown>) => n.addr === formatIpv6(LL_R) && n.state === 'STALE')).to.equal(true);
    // Off-link destinations go to the default router (with the RA's hop limit).
    p.control('a', 'ping', { dst: '2001:db8:5::5' });
    p.settle();
    const out = icmp6Frames(seen.get('ab'), 128).pop()!;
    expect(Array.from(out.subarray(0, 6))).to.deep.equal([2, 0, 0, 0, 0, 0x99]);
    expect(formatIpv6(srcOf(out))).to.equal('2001:db8:1::ff:fe00:a');
    expect(out[21]).to.equal(60);
    // Preferred lifetime (50 s) -> deprecated; valid lifetime (100 s) -> removed.
    p.run(p.clock.now() + 49_000);
    expect(addrs(p, 'a').find((y) => y.origin === 'slaac')!.state).to.equal('deprecated');
    p.run(p.clock.now() + 50_000);
    expect(addrs(p, 'a').find((y) => y.origin === 'slaac')).to.equal(undefined);
    expect(ctr(p, 'a')['slaac.expired']).to.equal(1);
    // The on-link prefix expired with its valid lifetime too.
    const st2 = p.control('a', 'status', {}) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(st2.routes.v6.some((r: Record<string, unknown>) => r.origin === 'ra')).to.equal(false);
  });

  it('applies the RFC 4862 §5.5.3(e) two-hour rule to valid lifetimes', () => {
    const p = twoHosts6(false);
    const H = 3600;
    inject(p, 'a', 'rx:eth0', ndFrame(MAC_R, LL_R, ipv6AllNodes(), ra('2001:db8:1::', 3 * H, 3 * H)));
    p.run(p.clock.now() + 1100);
    const slaac = (): Addr6 => addrs(p, 'a').find((y) => y.origin === 'slaac')!;
    // Remaining 3 h, advertised 60 s (< 2 h and < remaining): valid becomes 2 h.
    inject(p, 'a', 'rx:eth0', ndFrame(MAC_R, LL_R, ipv6AllNodes(), ra('2001:db8:1::', 60, 30)));
    p.settle();
    expect(slaac().validSec).to.equal(2 * H);
    expect(slaac().preferredSec).to.equal(30);
    // Remaining 2 h (<= 2 h), advertised 60 s: ignored.
    inject(p, 'a', 'rx:eth0', ndFrame(MAC_R, LL_R, ipv6AllNodes(), ra('2001:db8:1::', 60, 30)));
    p.settle();
    expect(slaac().validSec).to.equal(2 * H);
    expect(ctr(p, 'a')['slaac.two-hour-rule']).to.equal(1);
    // Advertised 3 h (> 2 h): taken.
    inject(p, 'a', 'rx:eth0', ndFrame(MAC_R, LL_R, ipv6AllNodes(), ra('2001:db8:1::', 3 * H, 3 * H)));
    p.settle();
    expect(slaac().validSec).to.equal(3 * H);
    // Preferred > valid: ignored (c); router lifetime 0 removes the default router.
    inject(p, 'a', 'rx:eth0', ndFrame(MAC_R, LL_R, ipv6AllNodes(), ra('2001:db8:1::', 10, 20, { routerLifetime: 0 })));
    p.settle();
    expect(slaac().validSec).to.equal(3 * H);
    expect((p.control('a', 'status', {}) as { defaultRouters6: unknown[] }).defaultRouters6).to.have.length(0);
  });

  it('follows a Redirect from its first-hop router to an on-link destination', () => {
    const p = twoHosts6(false);
    inject(p, 'a', 'rx:eth0', ndFrame(MAC_R, LL_R, ipv6AllNodes(), ra('2001:db8:1::', 600, 600)));
    p.run(p.clock.now() + 1100);
    const dst = ip6('2001:db8:9::9');
    const rd: Redirect = { kind: 'redirect', target: dst, destination: dst, options: [{ kind: 'targetLinkAddr', addr: Uint8Array.of(2, 0, 0, 0, 0, 0x42) }] };
    // Not from the first hop: ignored.
    inject(p, 'a', 'rx:eth0', ndFrame('02:00:00:00:00:43', ip6('fe80::43'), ip6('2001:db8:1::ff:fe00:a'), rd, MAC_A));
    p.settle();
    expect(ctr(p, 'a')['nd.rx.redirect.not-first-hop']).to.equal(1);
    inject(p, 'a', 'rx:eth0', ndFrame(MAC_R, LL_R, ip6('2001:db8:1::ff:fe00:a'), rd, MAC_A));
    p.settle();
    p.control('a', 'ping', { dst: '2001:db8:9::9' });
    p.settle();
    const out = icmp6Frames(seen.get('ab'), 128).pop()!;
    expect(Array.from(out.subarray(0, 6))).to.deep.equal([2, 0, 0, 0, 0, 0x42]);
  });
});

describe('ip6: MLDv2', () => {
  const reports = (p: ReturnType<typeof twoHosts>): Array<{ type: number; group: string; hop: number; ra: boolean }> => {
    const out: Array<{ type: number; group: string; hop: number; ra: boolean }> = [];
    for (const f of icmp6Frames(seen.get('ab'), 143)) {
      const u = upper(f);
      const n = (f[u.off + 6] << 8) | f[u.off + 7];
      let q = u.off + 8;
      for (let i = 0; i < n; i++) {
        out.push({ type: f[q], group: formatIpv6(f.subarray(q + 4, q + 20)), hop: f[21], ra: f[20] === 0 && f[54 + 2] === 5 });
        q += 20 + 16 * ((f[q + 2] << 8) | f[q + 3]);
      }
      expect(formatIpv6(dstOf(f))).to.equal('ff02::16');
    }
    return out;
  };

  it('reports a joined group twice (robustness 2) with CHANGE_TO_EXCLUDE, hop limit 1 and Router Alert; leave reports CHANGE_TO_INCLUDE', () => {
    const p = twoHosts6();
    const before = reports(p).length;
    expect(p.control('a', 'joinGroup', { group: 'ff05::1:3' })).to.deep.equal({ group: 'ff05::1:3', joined: ['eth0'] });
    p.run(p.clock.now() + 2000);
    const joined = reports(p).slice(before).filter((r) => r.group === 'ff05::1:3');
    expect(joined.map((r) => r.type)).to.deep.equal([4, 4]);
    expect(joined[0]).to.include({ hop: 1, ra: true });
    // A second join only counts; the group is delivered to.
    expect(p.control('a', 'joinGroup', { group: 'ff05::1:3' })).to.deep.equal({ group: 'ff05::1:3', joined: [] });
    p.control('a', 'leaveGroup', { group: 'ff05::1:3' });
    p.control('a', 'leaveGroup', { group: 'ff05::1:3' });
    p.run(p.clock.now() + 2000);
    expect(reports(p).filter((r) => r.group === 'ff05::1:3').map((r) => r.type)).to.deep.equal([4, 4, 3, 3]);
    // ff02::1 is never reported.
    expect(reports(p).some((r) => r.group === 'ff02::1')).to.equal(false);
  });

  it('answers a general query with the current state of every group (solicited-node groups included)', () => {
    const p = twoHosts6();
    p.control('a', 'joinGroup', { group: 'ff05::1:3' });
    p.run(p.clock.now() + 2000);
    const before = reports(p).length;
    const q: MldV2Query = { kind: 'queryV2', maxResponseCode: 1000, address: new Uint8Array(16), suppressRouterSide: false, qrv: 2, qqic: 125, sources: [] };
    const ml = mldMessageLen(q);
    const payload = new Uint8Array(8 + ml);
    emitIpv6OptionsHeader(58, [routerAlertMld()], payload, 0);
    emitMld(q, payload, 8, LL_R, ipv6AllNodes());
    inject(p, 'a', 'rx:eth0', ipv6Frame('33:33:00:00:00:01', MAC_R, LL_R, ipv6AllNodes(), 0, 1, payload));
    p.run(p.clock.now() + 1100);
    const got = reports(p).slice(before);
    expect(got.every((r) => r.type === 2)).to.equal(true);
    expect(got.map((r) => r.group).sort()).to.deep.equal(['ff02::1:ff00:1', 'ff02::1:ff00:a', 'ff05::1:3'].sort());
  });

  it('delivers multicast only for joined groups', () => {
    const p = twoHosts6();
    const udp = Uint8Array.of(0x30, 0x39, 0x30, 0x39, 0, 9, 0, 0, 0x41);
    const n0 = ctr(p, 'b')['ip6.drop.not-member'] ?? 0; // a's MLD reports and RSs
    inject(p, 'b', 'rx:eth0', ipv6Frame('33:33:00:01:00:03', MAC_A, ip6('2001:db8::1'), ip6('ff05::1:3'), 17, 8, udp));
    p.settle();
    expect(ctr(p, 'b')['ip6.drop.not-member']).to.equal(n0 + 1);
    expect(seen.get('bu')!.length).to.equal(0);
    p.control('b', 'joinGroup', { group: 'ff05::1:3' });
    inject(p, 'b', 'rx:eth0', ipv6Frame('33:33:00:01:00:03', MAC_A, ip6('2001:db8::1'), ip6('ff05::1:3'), 17, 8, udp));
    p.settle();
    expect(seen.get('bu')!.length).to.equal(1);
    expect(seen.get('bu')![0][0]).to.equal(6); // record family 6
  });
});

export { MAC_A, LL_A };

describe('ip6: link down and up', () => {
  it('waits quietly while the link is down, then runs DAD again, rejoins and solicits routers when it comes up', () => {
    const p = twoHosts6();
    p.control('a', 'setLinkState', { iface: 'eth0', up: false });
    p.control('a', 'joinGroup', { group: 'ff05::1:3' }); // a report that must wait
    const steps = p.steps;
    p.run(p.clock.now() + 20_000);
    expect(p.steps - steps).to.be.below(200); // no busy timer loop while down
    const n0 = icmp6Frames(seen.get('ab'), 135).length;
    p.control('a', 'setLinkState', { iface: 'eth0', up: true });
    p.settle();
    expect(addrs(p, 'a').every((x) => x.state === 'tentative')).to.equal(true);
    expect(icmp6Frames(seen.get('ab'), 135).length - n0).to.equal(2); // a DAD probe per address
    p.run(p.clock.now() + 6000);
    expect(addrs(p, 'a').every((x) => x.state === 'preferred')).to.equal(true);
    expect(icmp6Frames(seen.get('ab'), 133).length).to.be.at.least(1);
  });
});
