// Neighbor Discovery (RFC 4861): round trips of every message with options (fast-check), each
// packet-only validity rule, option length 0 / overrun / wrong size, and hostile input.

import { expect } from 'chai';
import * as fc from 'fast-check';
import { ipv6SolicitedNode, parseIpv6 } from '../../protocol/address';
import { icmpv6Checksum } from '../../protocol/icmpv6';
import {
  NdpIpContext, NdpMessage, NdpOption, NdpOptionView, NdpView, E_NDP_OPT_ZERO, emitNdp, emitNeighborAdvert,
  emitNeighborSolicit, emitRedirect, emitRouterAdvert, emitRouterSolicit, ndpMessageLen, ndpMtu, ndpOptionLen,
  ndpCheckPacket, ndpPrefixes, ndpRedirectedHeader, ndpSourceLinkAddr, ndpTargetLinkAddr, parseNdp, parseNeighborAdvert,
  parseNeighborSolicit, parseRedirect, parseRouterAdvert, parseRouterSolicit, raPreference, validateNdp, RouterAdvert,
} from '../../protocol/ndp';
import { ParseResult } from '../../protocol/result';
import { checkResult, truncations } from './v4-helpers';

const a6 = (s: string): Uint8Array => parseIpv6(s)!;
const LL = a6('fe80::1');
const LL2 = a6('fe80::2');
const GLOBAL = a6('2001:db8::1');
const ALL_NODES = a6('ff02::1');
const ALL_ROUTERS = a6('ff02::2');
const UNSPEC = a6('::');
const MAC = Uint8Array.of(2, 0, 0x5a, 0, 0, 1);

function sameWhenEmbedded<T>(bytes: Uint8Array, parse: (b: Uint8Array, off: number, len: number) => ParseResult<T>): ParseResult<T> {
  const r1 = parse(bytes, 0, bytes.length);
  checkResult(r1);
  const big = new Uint8Array(bytes.length + 10).fill(0xee);
  big.set(bytes, 5);
  const r2 = parse(big, 5, bytes.length);
  checkResult(r2);
  expect(r2.ok).to.equal(r1.ok);
  if (!r1.ok && !r2.ok) expect(r2.reason).to.equal(r1.reason);
  return r1;
}

/** Emits `m` for `ip` into a fresh buffer at offset `off`. */
function build(m: NdpMessage, ip: NdpIpContext, off = 0): Uint8Array {
  const b = new Uint8Array(off + ndpMessageLen(m)).fill(0x99);
  expect(emitNdp(m, b, off, ip.src, ip.dst)).to.equal(ndpMessageLen(m));
  return b;
}

function parseAll(b: Uint8Array, ip: NdpIpContext, off = 0): ParseResult<NdpMessage> {
  return parseNdp(b, off, b.length - off, ip);
}

const u8 = fc.integer({ min: 0, max: 255 });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const unicast = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => {
  a[0] = 0x20;
  return a;
});
/** Byte arrays of length 8k - extra (k >= 1), so an option holding them has no padding. */
const padded = (extra: number, maxUnits = 4): fc.Arbitrary<Uint8Array> =>
  fc.integer({ min: 1, max: maxUnits }).chain((k) => fc.uint8Array({ minLength: 8 * k - extra, maxLength: 8 * k - extra }));

const arbOption: fc.Arbitrary<NdpOption> = fc.oneof(
  fc.record({ kind: fc.constant('sourceLinkAddr' as const), addr: padded(2, 2) }),
  fc.record({ kind: fc.constant('targetLinkAddr' as const), addr: padded(2, 2) }),
  fc.record({
    kind: fc.constant('prefixInfo' as const), prefixLength: u8, onLink: fc.boolean(), autonomous: fc.boolean(),
    otherFlags: fc.integer({ min: 0, max: 63 }), validLifetime: u32, preferredLifetime: u32, prefix: unicast,
  }),
  fc.record({ kind: fc.constant('redirectedHeader' as const), data: fc.integer({ min: 0, max: 8 }).chain((k) => fc.uint8Array({ minLength: 8 * k, maxLength: 8 * k })) }),
  fc.record({ kind: fc.constant('mtu' as const), mtu: u32 }),
  fc.record({ kind: fc.constant('unknown' as const), type: u8.filter((t) => t < 1 || t > 5), data: padded(2, 3) }),
);
const arbOptions = fc.array(arbOption, { maxLength: 5 });

/** A valid message together with an IP context it is valid in. */
const arbValid: fc.Arbitrary<[NdpMessage, NdpIpContext]> = fc.oneof(
  fc.record({ kind: fc.constant('routerSolicit' as const), options: arbOptions })
    .map((m): [NdpMessage, NdpIpContext] => [m, { src: LL, dst: ALL_ROUTERS, hopLimit: 255 }]),
  fc.record({
    kind: fc.constant('routerAdvert' as const), curHopLimit: u8, managed: fc.boolean(), otherConfig: fc.boolean(),
    otherFlags: fc.integer({ min: 0, max: 63 }), routerLifetime: u16, reachableTime: u32, retransTimer: u32, options: arbOptions,
  }).map((m): [NdpMessage, NdpIpContext] => [m, { src: LL, dst: ALL_NODES, hopLimit: 255 }]),
  fc.record({ kind: fc.constant('neighborSolicit' as const), target: unicast, options: arbOptions })
    .map((m): [NdpMessage, NdpIpContext] => [m, { src: GLOBAL, dst: ipv6SolicitedNode(m.target), hopLimit: 255 }]),
  fc.record({
    kind: fc.constant('neighborAdvert' as const), router: fc.boolean(), solicited: fc.boolean(), override: fc.boolean(),
    target: unicast, options: arbOptions,
  }).map((m): [NdpMessage, NdpIpContext] => [m, { src: GLOBAL, dst: m.solicited ? GLOBAL : ALL_NODES, hopLimit: 255 }]),
  fc.record({ kind: fc.constant('redirect' as const), target: fc.constant(LL2), destination: unicast, options: arbOptions })
    .map((m): [NdpMessage, NdpIpContext] => [m, { src: LL, dst: GLOBAL, hopLimit: 255 }]),
);

describe('ndp: round trips', () => {
  it('emit then parse gives the same message for every type, with options (fast-check)', () => {
    fc.assert(fc.property(arbValid, fc.integer({ min: 0, max: 5 }), ([m, ip], off) => {
      const b = build(m, ip, off);
      expect(icmpv6Checksum(b, off, b.length - off, ip.src, ip.dst)).to.equal(0);
      const r = parseAll(b, ip, off);
      if (!r.ok) expect.fail(r.reason);
      expect(r.value).to.deep.equal(m);
      // The per-type parser agrees, and rejects the other types.
      const typed = [parseRouterSolicit, parseRouterAdvert, parseNeighborSolicit, parseNeighborAdvert, parseRedirect];
      const ix = ['routerSolicit', 'routerAdvert', 'neighborSolicit', 'neighborAdvert', 'redirect'].indexOf(m.kind);
      typed.forEach((p, i) => {
        const t = p(b, off, b.length - off, ip);
        expect(t.ok).to.equal(i === ix);
        if (!t.ok) expect(t.kind).to.equal('unexpected');
      });
      // Option walk through the views covers the same bytes.
      const v = new NdpView(b, off, b.length - off);
      let p = v.optionsOff;
      for (const o of m.options) {
        const ov = new NdpOptionView(b, p);
        expect(ov.byteLen).to.equal(ndpOptionLen(o));
        p += ov.byteLen;
      }
      expect(p).to.equal(b.length);
    }));
  });

  it('the per-message emit functions write the same bytes as emitNdp', () => {
    const ip = { src: LL, dst: ALL_NODES, hopLimit: 255 };
    const opts: NdpOption[] = [{ kind: 'sourceLinkAddr', addr: MAC }];
    const cases: Array<[NdpMessage, (m: never, b: Uint8Array, o: number, s: Uint8Array, d: Uint8Array) => number]> = [
      [{ kind: 'routerSolicit', options: opts }, emitRouterSolicit],
      [{ kind: 'routerAdvert', curHopLimit: 64, managed: true, otherConfig: false, otherFlags: 0, routerLifetime: 1, reachableTime: 2, retransTimer: 3, options: opts }, emitRouterAdvert],
      [{ kind: 'neighborSolicit', target: GLOBAL, options: opts }, emitNeighborSolicit],
      [{ kind: 'neighborAdvert', router: false, solicited: false, override: true, target: GLOBAL, options: [] }, emitNeighborAdvert],
      [{ kind: 'redirect', target: LL2, destination: GLOBAL, options: [] }, emitRedirect],
    ];
    for (const [m, emit] of cases) {
      const b = new Uint8Array(ndpMessageLen(m));
      expect(emit(m as never, b, 0, ip.src, ip.dst)).to.equal(b.length);
      expect(b).to.deep.equal(build(m, ip));
    }
  });

  it('RA fields through the view and option lookups', () => {
    const ra: RouterAdvert = {
      kind: 'routerAdvert', curHopLimit: 64, managed: true, otherConfig: true, otherFlags: 0x08, routerLifetime: 1800,
      reachableTime: 30000, retransTimer: 1000,
      options: [
        { kind: 'mtu', mtu: 1480 },
        { kind: 'sourceLinkAddr', addr: MAC },
        { kind: 'prefixInfo', prefixLength: 64, onLink: true, autonomous: false, otherFlags: 0, validLifetime: 0xffffffff, preferredLifetime: 0, prefix: a6('2001:db8:5::') },
      ],
    };
    const ip = { src: LL, dst: ALL_NODES, hopLimit: 255 };
    const b = build(ra, ip);
    const v = new NdpView(b, 0, b.length);
    expect([v.type, v.code, v.curHopLimit, v.raFlags, v.routerLifetime, v.reachableTime, v.retransTimer, v.optionsOff])
      .to.deep.equal([134, 0, 64, 0xc8, 1800, 30000, 1000, 16]);
    expect(v.verifyChecksum(ip.src, ip.dst)).to.equal(true);
    expect(ndpMtu(ra)).to.equal(1480);
    expect(ndpSourceLinkAddr(ra)).to.deep.equal(MAC);
    expect(ndpTargetLinkAddr(ra)).to.equal(null);
    expect(ndpPrefixes(ra).map((p) => p.prefixLength)).to.deep.equal([64]);
    expect(raPreference(ra)).to.equal(1);
    expect(raPreference({ ...ra, otherFlags: 0x18 })).to.equal(-1);
    expect(raPreference({ ...ra, otherFlags: 0x10 })).to.equal(0);
    expect(ndpMtu({ options: [] })).to.equal(-1);
  });
});

describe('ndp: validity checks (RFC 4861 6.1, 7.1, 8.1)', () => {
  const ns: NdpMessage = { kind: 'neighborSolicit', target: GLOBAL, options: [{ kind: 'sourceLinkAddr', addr: MAC }] };
  const nsIp = { src: LL, dst: ipv6SolicitedNode(GLOBAL), hopLimit: 255 };

  it('hop limit other than 255 is unexpected', () => {
    for (const h of [0, 1, 64, 254]) {
      const r = parseAll(build(ns, nsIp), { ...nsIp, hopLimit: h });
      expect(r).to.deep.include({ ok: false, kind: 'unexpected' });
    }
  });

  it('code other than 0 is a format error, bad checksums are checksum errors', () => {
    const b = build(ns, nsIp);
    b[1] = 1;
    expect(parseAll(b, nsIp)).to.deep.include({ ok: false, kind: 'format' });
    const c = build(ns, nsIp);
    c[10] ^= 1;
    expect(parseAll(c, nsIp)).to.deep.include({ ok: false, kind: 'checksum' });
    expect(parseNdp(c, 0, c.length, nsIp, false).ok).to.equal(true); // checksum not verified
  });

  it('an ICMP length below the message minimum is a format error', () => {
    for (const [m, min] of [
      [{ kind: 'routerSolicit', options: [] }, 8], [{ kind: 'routerAdvert', curHopLimit: 0, managed: false, otherConfig: false, otherFlags: 0, routerLifetime: 0, reachableTime: 0, retransTimer: 0, options: [] }, 16],
      [{ kind: 'neighborSolicit', target: GLOBAL, options: [] }, 24], [{ kind: 'neighborAdvert', router: false, solicited: false, override: false, target: GLOBAL, options: [] }, 24],
      [{ kind: 'redirect', target: LL2, destination: GLOBAL, options: [] }, 40],
    ] as Array<[NdpMessage, number]>) {
      const b = build(m, { src: LL, dst: ALL_NODES, hopLimit: 255 });
      expect(b.length).to.equal(min);
      const r = parseNdp(b, 0, min - 1, { src: LL, dst: ALL_NODES, hopLimit: 255 }, false);
      expect(r).to.deep.include({ ok: false, kind: 'format' });
    }
  });

  it('an option with length zero is rejected (4.6: "Nodes MUST silently discard an ND packet that contains an option with length zero")', () => {
    const m: NdpMessage = { kind: 'routerSolicit', options: [{ kind: 'unknown', type: 30, data: new Uint8Array(6) }, { kind: 'mtu', mtu: 1500 }] };
    const ip = { src: LL, dst: ALL_ROUTERS, hopLimit: 255 };
    for (const at of [8, 16]) {
      const b = build(m, ip);
      b[at + 1] = 0;
      expect(parseNdp(b, 0, b.length, ip, false)).to.equal(E_NDP_OPT_ZERO);
      expect(ndpCheckPacket(b, 0, b.length, ip, false)).to.equal(E_NDP_OPT_ZERO);
    }
    expect(ndpCheckPacket(build(m, ip), 0, 24, ip)).to.equal(null);
  });

  it('options overrunning the message, or of the wrong size for their type, are format errors', () => {
    const ip = { src: LL, dst: ALL_ROUTERS, hopLimit: 255 };
    const m: NdpMessage = { kind: 'routerSolicit', options: [{ kind: 'sourceLinkAddr', addr: MAC }] };
    const over = build(m, ip);
    over[9] = 2;
    expect(parseNdp(over, 0, over.length, ip, false)).to.deep.include({ ok: false, kind: 'format' });
    // A lone byte where an option header would start.
    const lone = new Uint8Array(9);
    lone.set(build({ kind: 'routerSolicit', options: [] }, ip));
    lone[8] = 1;
    expect(parseNdp(lone, 0, 9, ip, false)).to.deep.include({ ok: false, kind: 'format' });
    // Prefix information must be 4 units, MTU 1.
    const pi = build({ kind: 'routerAdvert', curHopLimit: 0, managed: false, otherConfig: false, otherFlags: 0, routerLifetime: 0, reachableTime: 0, retransTimer: 0,
      options: [{ kind: 'prefixInfo', prefixLength: 64, onLink: true, autonomous: true, otherFlags: 0, validLifetime: 1, preferredLifetime: 1, prefix: GLOBAL }] }, { src: LL, dst: ALL_NODES, hopLimit: 255 });
    pi[16 + 1] = 3;
    expect(parseNdp(pi, 0, pi.length - 8, { src: LL, dst: ALL_NODES, hopLimit: 255 }, false)).to.deep.include({ ok: false, kind: 'format' });
    const mtu = build({ kind: 'routerSolicit', options: [{ kind: 'mtu', mtu: 1500 }, { kind: 'mtu', mtu: 1500 }] }, ip);
    mtu[9] = 2;
    expect(parseNdp(mtu, 0, mtu.length, ip, false)).to.deep.include({ ok: false, kind: 'format' });
  });

  it('unknown options are skipped and kept', () => {
    const ip = { src: LL, dst: ALL_ROUTERS, hopLimit: 255 };
    const m: NdpMessage = { kind: 'routerSolicit', options: [{ kind: 'unknown', type: 25, data: new Uint8Array(22).fill(7) }, { kind: 'sourceLinkAddr', addr: MAC }] };
    const r = parseAll(build(m, ip), ip);
    expect(r.ok && ndpSourceLinkAddr(r.value)).to.deep.equal(MAC);
  });

  it('router solicitation from :: must not carry a source link-layer address', () => {
    const ip = { src: UNSPEC, dst: ALL_ROUTERS, hopLimit: 255 };
    expect(parseAll(build({ kind: 'routerSolicit', options: [] }, ip), ip).ok).to.equal(true);
    expect(parseAll(build({ kind: 'routerSolicit', options: [{ kind: 'sourceLinkAddr', addr: MAC }] }, ip), ip))
      .to.deep.include({ ok: false, kind: 'unexpected' });
  });

  it('router advertisements and redirects must come from a link-local address', () => {
    const ra: NdpMessage = { kind: 'routerAdvert', curHopLimit: 0, managed: false, otherConfig: false, otherFlags: 0, routerLifetime: 0, reachableTime: 0, retransTimer: 0, options: [] };
    const rd: NdpMessage = { kind: 'redirect', target: LL2, destination: GLOBAL, options: [] };
    for (const m of [ra, rd]) {
      const good = { src: LL, dst: ALL_NODES, hopLimit: 255 };
      expect(parseAll(build(m, good), good).ok).to.equal(true);
      for (const s of [GLOBAL, UNSPEC]) {
        const bad = { ...good, src: s };
        expect(parseAll(build(m, bad), bad)).to.deep.include({ ok: false, kind: 'unexpected' });
      }
    }
  });

  it('neighbor solicitation: target not multicast; from :: only to a solicited-node group and without SLLA', () => {
    expect(parseAll(build(ns, nsIp), nsIp).ok).to.equal(true);
    const mc: NdpMessage = { ...ns, target: ALL_NODES } as NdpMessage;
    expect(parseAll(build(mc, nsIp), nsIp)).to.deep.include({ ok: false, kind: 'unexpected' });
    const dad: NdpMessage = { kind: 'neighborSolicit', target: GLOBAL, options: [] };
    const dadIp = { src: UNSPEC, dst: ipv6SolicitedNode(GLOBAL), hopLimit: 255 };
    expect(parseAll(build(dad, dadIp), dadIp).ok).to.equal(true);
    const toAll = { ...dadIp, dst: ALL_NODES };
    expect(parseAll(build(dad, toAll), toAll)).to.deep.include({ ok: false, kind: 'unexpected' });
    expect(parseAll(build(ns, dadIp), dadIp)).to.deep.include({ ok: false, kind: 'unexpected' });
  });

  it('neighbor advertisement: target not multicast; solicited only to unicast', () => {
    const na: NdpMessage = { kind: 'neighborAdvert', router: false, solicited: true, override: true, target: GLOBAL, options: [] };
    const uni = { src: GLOBAL, dst: LL, hopLimit: 255 };
    expect(parseAll(build(na, uni), uni).ok).to.equal(true);
    const multi = { ...uni, dst: ALL_NODES };
    expect(parseAll(build(na, multi), multi)).to.deep.include({ ok: false, kind: 'unexpected' });
    expect(parseAll(build({ ...na, solicited: false } as NdpMessage, multi), multi).ok).to.equal(true);
    expect(parseAll(build({ ...na, target: ALL_NODES } as NdpMessage, uni), uni)).to.deep.include({ ok: false, kind: 'unexpected' });
  });

  it('redirect: destination not multicast; target link-local or equal to the destination', () => {
    const ip = { src: LL, dst: GLOBAL, hopLimit: 255 };
    const onLink: NdpMessage = { kind: 'redirect', target: a6('2001:db8:9::9'), destination: a6('2001:db8:9::9'), options: [] };
    expect(parseAll(build(onLink, ip), ip).ok).to.equal(true);
    const badTarget: NdpMessage = { kind: 'redirect', target: a6('2001:db8:9::8'), destination: a6('2001:db8:9::9'), options: [] };
    expect(parseAll(build(badTarget, ip), ip)).to.deep.include({ ok: false, kind: 'unexpected' });
    const mcDest: NdpMessage = { kind: 'redirect', target: LL2, destination: ALL_NODES, options: [] };
    expect(parseAll(build(mcDest, ip), ip)).to.deep.include({ ok: false, kind: 'unexpected' });
    expect(validateNdp(onLink, ip)).to.equal(null);
  });

  it('non-ND types are unexpected', () => {
    const b = build({ kind: 'routerSolicit', options: [] }, nsIp);
    for (const t of [128, 129, 138, 143, 1]) {
      b[0] = t;
      expect(parseNdp(b, 0, b.length, nsIp, false)).to.deep.include({ ok: false, kind: 'unexpected' });
    }
  });
});

describe('ndp: hostile input', () => {
  it('every truncation of a message with options is an error result, never an exception', () => {
    const ip = { src: LL, dst: ALL_NODES, hopLimit: 255 };
    const b = build({
      kind: 'routerAdvert', curHopLimit: 64, managed: false, otherConfig: true, otherFlags: 0, routerLifetime: 1800, reachableTime: 0, retransTimer: 0,
      options: [{ kind: 'sourceLinkAddr', addr: MAC }, { kind: 'mtu', mtu: 1500 }, { kind: 'prefixInfo', prefixLength: 64, onLink: true, autonomous: true, otherFlags: 0, validLifetime: 1, preferredLifetime: 1, prefix: GLOBAL }],
    }, ip);
    const rs = truncations(b, (x, o, l) => parseNdp(x, o, l, ip, false));
    // Valid cuts fall exactly on option boundaries: 16, 24, 32 and the whole 64.
    expect(rs.map((r, n) => (r.ok ? n : -1)).filter((n) => n >= 0)).to.deep.equal([16, 24, 32, 64]);
    truncations(b, (x, o, l) => parseNdp(x, o, l, ip));
  });

  it('random bytes, random option areas and bad regions never throw or read past len (fast-check)', () => {
    const ip = { src: LL, dst: ALL_NODES, hopLimit: 255 };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => {
      sameWhenEmbedded(bytes, (x, o, l) => parseNdp(x, o, l, ip, false));
      sameWhenEmbedded(bytes, (x, o, l) => parseNdp(x, o, l, ip));
      // The allocation-free check agrees with the full parse on structure.
      const c = ndpCheckPacket(bytes, 0, bytes.length, ip, false);
      const r = parseNdp(bytes, 0, bytes.length, ip, false);
      if (c !== null) expect(r).to.equal(c);
      else if (!r.ok) expect(r.kind).to.be.oneOf(['unexpected', 'format']);
    }));
    fc.assert(fc.property(fc.constantFrom(133, 134, 135, 136, 137), fc.uint8Array({ maxLength: 200 }), (t, rest) => {
      const b = new Uint8Array(40 + rest.length);
      b[0] = t;
      b.set(rest, 40);
      // Options start at 8..40 depending on the type: random option areas of every kind.
      sameWhenEmbedded(b, (x, o, l) => parseNdp(x, o, l, ip, false));
      const fixed = [8, 16, 24, 24, 40][t - 133];
      sameWhenEmbedded(b.subarray(0, fixed + rest.length), (x, o, l) => parseNdp(x, o, l, ip, false));
    }));
    const b = build({ kind: 'routerSolicit', options: [] }, ip);
    for (const [off, len] of [[-1, 8], [0, 9], [0.5, 8], [NaN, 8], [4, 8]]) {
      expect(parseNdp(b, off, len, ip, false).ok).to.equal(false);
      expect(NdpView.check(b, off, len)).to.not.equal(null);
    }
  });

  it('sizes the redirected header so the redirect fits in 1280 bytes', () => {
    const pkt = new Uint8Array(2000);
    const o = ndpRedirectedHeader(pkt, 0, pkt.length, 40 + 40 + 8);
    expect(o.kind).to.equal('redirectedHeader');
    if (o.kind !== 'redirectedHeader') return;
    expect(40 + 40 + 8 + ndpOptionLen(o)).to.be.at.most(1280);
    expect(o.data.length).to.equal(1280 - 88 - 8);
    const small = ndpRedirectedHeader(pkt, 0, 61, 88);
    expect(small.kind === 'redirectedHeader' && ndpOptionLen(small)).to.equal(8 + 64);
  });
});
