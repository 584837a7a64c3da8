// IPv6 fixed header and extension header chain: round trips (fast-check), the RFC 8200 rules
// the walker enforces or reports, and hostile input (truncation at every length, random bytes,
// bad payload lengths, option overruns, long and self-repeating chains, fragments past 64 KiB).

import { expect } from 'chai';
import * as fc from 'fast-check';
import { parseIpv6 } from '../../protocol/address';
import {
  Ipv6Chain, Ipv6Header, Ipv6OptionValue, Ipv6Problem, Ipv6View, Ipv6FragmentView, Ipv6RoutingView, emitIpv6Fragment,
  emitIpv6Header, emitIpv6OptionsHeader, ipv6ChainVerdict, ipv6FinalDestinationOff, ipv6Header, ipv6OptionsHeaderLen,
  parseIpv6Header, routerAlertMld, walkIpv6Chain, walkIpv6Quoted, E_FRAG_NOT_MULTIPLE_8, E_FRAG_TOO_BIG, E_HBH_NOT_FIRST,
  E_JUMBO, E_TOO_MANY_HEADERS, E_TOO_MANY_OPTIONS, E_EXT_TRUNC, E_OPT_OVERRUN, IPV6_HEADER_LEN, NH_AH, NH_DEST_OPTS,
  NH_ESP, NH_FRAGMENT, NH_HOP_BY_HOP, NH_ICMPV6, NH_NONE, NH_ROUTING, NH_TCP, NH_UDP, OPT_JUMBO, OPT_PAD1, OPT_PADN,
  OPT_ROUTER_ALERT,
} from '../../protocol/ipv6';
import { ParseResult } from '../../protocol/result';
import { checkResult, truncations } from './v4-helpers';

const a6 = (s: string): Uint8Array => parseIpv6(s)!;
const SRC = a6('2001:db8:1::1');
const DST = a6('2001:db8:1::2');

const arbAddr = fc.uint8Array({ minLength: 16, maxLength: 16 });
const arbHeader: fc.Arbitrary<Ipv6Header> = fc.record({
  trafficClass: fc.integer({ min: 0, max: 255 }),
  flowLabel: fc.integer({ min: 0, max: 0xfffff }),
  payloadLength: fc.integer({ min: 0, max: 300 }),
  nextHeader: fc.integer({ min: 0, max: 255 }),
  hopLimit: fc.integer({ min: 0, max: 255 }),
  src: arbAddr,
  dst: arbAddr,
});

/** Runs `parse` on `bytes` in an exact-size buffer and embedded at an odd offset in a larger
 *  buffer full of 0xee: a parser that reads past `len` sees different bytes and would disagree. */
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

/** A packet: fixed header + `body` (extension headers and payload), payload length = body. */
function packet(nextHeader: number, body: Uint8Array, hopLimit = 64): Uint8Array {
  const b = new Uint8Array(IPV6_HEADER_LEN + body.length);
  b.set(body, IPV6_HEADER_LEN);
  emitIpv6Header(ipv6Header({ src: SRC, dst: DST, nextHeader, payloadLength: body.length, hopLimit }), b, 0);
  return b;
}

function walk(b: Uint8Array, problem?: Ipv6Problem): ParseResult<Ipv6Chain> {
  return walkIpv6Chain(b, 0, b.length, undefined, problem);
}

// ---------------------------------------------------------------------------------------------
// Chain builder for property tests

type ExtSpec =
  | { t: 'opts'; type: typeof NH_HOP_BY_HOP | typeof NH_DEST_OPTS; options: Ipv6OptionValue[] }
  | { t: 'routing'; routingType: number; segmentsLeft: number; units: number }
  | { t: 'frag'; ident: number }
  | { t: 'ah'; words: number };

const arbOption: fc.Arbitrary<Ipv6OptionValue> = fc.record({
  type: fc.integer({ min: 2, max: 255 }).filter((t) => t !== OPT_JUMBO),
  data: fc.uint8Array({ maxLength: 20 }),
});

const arbExt: fc.Arbitrary<ExtSpec> = fc.oneof(
  fc.record({ t: fc.constant('opts' as const), type: fc.constant(NH_DEST_OPTS), options: fc.array(arbOption, { maxLength: 8 }) }),
  fc.record({
    t: fc.constant('routing' as const), routingType: fc.integer({ min: 0, max: 255 }),
    segmentsLeft: fc.integer({ min: 0, max: 255 }), units: fc.integer({ min: 0, max: 6 }),
  }),
  fc.record({ t: fc.constant('frag' as const), ident: fc.integer({ min: 0, max: 0xffffffff }) }),
  fc.record({ t: fc.constant('ah' as const), words: fc.integer({ min: 1, max: 10 }) }),
);

function extType(s: ExtSpec): number {
  switch (s.t) {
    case 'opts': return s.type;
    case 'routing': return NH_ROUTING;
    case 'frag': return NH_FRAGMENT;
    case 'ah': return NH_AH;
  }
}

function extLen(s: ExtSpec): number {
  switch (s.t) {
    case 'opts': return ipv6OptionsHeaderLen(s.options);
    case 'routing': return (s.units + 1) * 8;
    case 'frag': return 8;
    case 'ah': return (s.words + 2) * 4;
  }
}

/** Builds the chain (atomic fragments only, so the walk goes through) + `payloadLen` bytes. */
function buildChain(specs: ExtSpec[], upper: number, payloadLen: number): Uint8Array {
  const len = specs.reduce((n, s) => n + extLen(s), 0) + payloadLen;
  const body = new Uint8Array(len).fill(0x77);
  let p = 0;
  specs.forEach((s, i) => {
    const next = i + 1 < specs.length ? extType(specs[i + 1]) : upper;
    switch (s.t) {
      case 'opts': p += emitIpv6OptionsHeader(next, s.options, body, p); break;
      case 'routing':
        body[p] = next; body[p + 1] = s.units; body[p + 2] = s.routingType; body[p + 3] = s.segmentsLeft;
        p += extLen(s);
        break;
      case 'frag': p += emitIpv6Fragment({ nextHeader: next, fragOffset: 0, more: false, ident: s.ident }, body, p); break;
      case 'ah':
        body[p] = next; body[p + 1] = s.words; p += extLen(s);
        break;
    }
  });
  return packet(specs.length > 0 ? extType(specs[0]) : upper, body);
}

describe('ipv6: fixed header', () => {
  it('emit then parse gives the same header (fast-check), and the view agrees', () => {
    fc.assert(fc.property(arbHeader, fc.integer({ min: 0, max: 7 }), (h, off) => {
      const b = new Uint8Array(off + IPV6_HEADER_LEN + h.payloadLength);
      expect(emitIpv6Header(h, b, off)).to.equal(40);
      const r = parseIpv6Header(b, off, b.length - off);
      expect(r.ok).to.equal(true);
      if (!r.ok) return;
      expect(r.value).to.deep.equal(h);
      const v = new Ipv6View(b, off);
      expect([v.version, v.trafficClass, v.flowLabel, v.payloadLength, v.nextHeader, v.hopLimit])
        .to.deep.equal([6, h.trafficClass, h.flowLabel, h.payloadLength, h.nextHeader, h.hopLimit]);
      expect(v.src()).to.deep.equal(h.src);
      expect(v.dst()).to.deep.equal(h.dst);
      expect(v.payloadOff).to.equal(off + 40);
    }));
  });

  it('view setters write only their own bits', () => {
    fc.assert(fc.property(arbHeader, arbHeader, (h, g) => {
      const b = new Uint8Array(40);
      emitIpv6Header(h, b, 0);
      const v = new Ipv6View(b, 0);
      v.trafficClass = g.trafficClass;
      v.flowLabel = g.flowLabel;
      v.payloadLength = g.payloadLength;
      v.nextHeader = g.nextHeader;
      v.hopLimit = g.hopLimit;
      v.setSrc(g.src);
      v.setDst(g.dst);
      const c = new Uint8Array(40);
      emitIpv6Header(g, c, 0);
      expect(b).to.deep.equal(c);
    }));
  });

  it('reuses an out value', () => {
    const b = packet(NH_UDP, new Uint8Array(8));
    const out = ipv6Header({ src: new Uint8Array(16), dst: new Uint8Array(16), nextHeader: 0, payloadLength: 0 });
    const r = parseIpv6Header(b, 0, b.length, out);
    expect(r.ok && r.value === out).to.equal(true);
    expect(out.src).to.deep.equal(SRC);
  });

  it('rejects a version other than 6, a payload length past the buffer, and bad regions', () => {
    const b = packet(NH_UDP, new Uint8Array(8));
    const v4 = b.slice();
    v4[0] = 0x45;
    expect(parseIpv6Header(v4, 0, v4.length)).to.deep.include({ ok: false, kind: 'format' });
    const long = b.slice();
    long[5] = 9; // payload length 9 > 8 available
    expect(parseIpv6Header(long, 0, long.length)).to.deep.include({ ok: false, kind: 'format' });
    for (const [off, len] of [[-1, 48], [0, 49], [1.5, 40], [NaN, 40], [0, NaN], [0, -1], [49, 0]]) {
      expect(parseIpv6Header(b, off, len).ok).to.equal(false);
      expect(walkIpv6Chain(b, off, len).ok).to.equal(false);
    }
    // Trailing link padding is fine and ignored by the walk.
    const padded = new Uint8Array(b.length + 10);
    padded.set(b);
    const c = walk(padded);
    expect(c.ok && c.value.protocolLen).to.equal(8);
  });

  it('every truncation of a packet with a long chain is an error result, never an exception', () => {
    const full = buildChain([
      { t: 'opts', type: NH_DEST_OPTS, options: [{ type: 0x1e, data: Uint8Array.of(1, 2, 3) }] },
      { t: 'routing', routingType: 0, segmentsLeft: 0, units: 2 },
      { t: 'frag', ident: 7 },
      { t: 'ah', words: 4 },
    ], NH_TCP, 20);
    const rs = truncations(full, (b, o, l) => walkIpv6Chain(b, o, l));
    // Only the whole packet parses: every shorter one has a payload length past its end.
    expect(rs.filter((r) => r.ok)).to.have.length(1);
    expect(rs[rs.length - 1].ok).to.equal(true);
    truncations(full, (b, o, l) => parseIpv6Header(b, o, l));
    truncations(full, (b, o, l) => walkIpv6Quoted(b, o, l));
  });
});

describe('ipv6: extension header chain walk', () => {
  it('walks random chains and reports every header, option and the upper layer (fast-check)', () => {
    const arbChain = fc.tuple(
      fc.option(fc.array(arbOption, { maxLength: 8 }), { nil: undefined }),
      fc.array(arbExt, { maxLength: 6 }),
      fc.constantFrom(NH_TCP, NH_UDP, NH_ICMPV6, 99),
      fc.integer({ min: 0, max: 40 }),
    );
    fc.assert(fc.property(arbChain, ([hbh, rest, upper, payloadLen]) => {
      const specs: ExtSpec[] = hbh !== undefined ? [{ t: 'opts', type: NH_HOP_BY_HOP, options: hbh }, ...rest] : rest;
      const b = buildChain(specs, upper, payloadLen);
      const r = sameWhenEmbedded(b, (x, o, l) => walkIpv6Chain(x, o, l));
      expect(r.ok).to.equal(true);
      if (!r.ok) return;
      const c = r.value;
      expect(c.headers.map((h) => h.type)).to.deep.equal(specs.map(extType));
      expect(c.headers.map((h) => h.len)).to.deep.equal(specs.map(extLen));
      expect(c.protocol).to.equal(upper);
      expect(c.protocolLen).to.equal(payloadLen);
      expect(c.protocolOff).to.equal(b.length - payloadLen);
      const lastNhField = c.headers.length === 0 ? 6 : c.headers[c.headers.length - 1].off;
      expect(c.protocolPointer).to.equal(lastNhField);
      // Options in order, padding left out.
      const wantOpts = specs.flatMap((s) => (s.t === 'opts' ? s.options.map((o) => ({ header: s.type, type: o.type, data: o.data })) : []));
      expect(c.options.map((o) => ({ header: o.header, type: o.type, data: o.data }))).to.deep.equal(wantOpts);
      // The first unrecognized option whose action is not "skip".
      const first = wantOpts.find((o) => o.type >>> 6 !== 0 && o.type !== OPT_ROUTER_ALERT);
      expect(c.unrecognizedOption?.option.type).to.equal(first?.type);
      if (c.unrecognizedOption) expect(b[c.unrecognizedOption.pointer]).to.equal(first!.type);
      const rt = specs.filter((s) => s.t === 'routing').pop();
      if (rt && rt.t === 'routing') expect(c.routing).to.include({ routingType: rt.routingType, segmentsLeft: rt.segmentsLeft, deprecated: rt.routingType === 0 });
      else expect(c.routing).to.equal(null);
    }));
  });

  it('stops at a non-atomic fragment and reports its fields', () => {
    const body = new Uint8Array(8 + 16);
    emitIpv6Fragment({ nextHeader: NH_UDP, fragOffset: 1448, more: true, ident: 0xdeadbeef }, body, 0);
    const b = packet(NH_FRAGMENT, body);
    const c = walk(b);
    expect(c.ok).to.equal(true);
    if (!c.ok) return;
    expect(c.value.fragment).to.deep.equal({
      off: 40, nextHeader: NH_UDP, fragOffset: 1448, more: true, ident: 0xdeadbeef, dataLen: 16, unfragmentableLen: 0,
    });
    expect(c.value.protocol).to.equal(NH_UDP);
    expect(c.value.protocolOff).to.equal(48);
    const fv = new Ipv6FragmentView(b, 40);
    expect([fv.nextHeader, fv.fragOffset, fv.more, fv.ident]).to.deep.equal([NH_UDP, 1448, true, 0xdeadbeef]);
    fv.fragOffset = 8;
    fv.more = false;
    fv.ident = 1;
    expect(Array.from(b.subarray(40, 48))).to.deep.equal([NH_UDP, 0, 0, 8, 0, 0, 0, 1]);
  });

  it('NH_NONE and ESP end the walk', () => {
    for (const nh of [NH_NONE, NH_ESP]) {
      const c = walk(packet(nh, new Uint8Array(12)));
      expect(c.ok && [c.value.protocol, c.value.protocolOff, c.value.protocolLen]).to.deep.equal([nh, 40, 12]);
    }
  });

  it('a hop-by-hop header anywhere but first is an error with a code 1 problem at its Next Header field', () => {
    const b = buildChain([
      { t: 'opts', type: NH_DEST_OPTS, options: [] },
      { t: 'opts', type: NH_HOP_BY_HOP, options: [] },
    ], NH_UDP, 8);
    const p: Ipv6Problem = { code: -9, pointer: -9 };
    expect(walk(b, p)).to.equal(E_HBH_NOT_FIRST);
    expect(p).to.deep.equal({ code: 1, pointer: 40 });
  });

  it('a header overrunning the payload is a format error', () => {
    const body = new Uint8Array(16);
    body[0] = NH_UDP;
    body[1] = 2; // 24 bytes, only 16 present
    expect(walk(packet(NH_DEST_OPTS, body))).to.equal(E_EXT_TRUNC);
    expect(walk(packet(NH_DEST_OPTS, new Uint8Array(7)))).to.equal(E_EXT_TRUNC);
    const ah = new Uint8Array(16);
    ah[1] = 4; // (4 + 2) * 4 = 24 > 16
    expect(walk(packet(NH_AH, ah))).to.equal(E_EXT_TRUNC);
  });

  it('options with lengths overrunning their header are format errors', () => {
    for (const opt of [[OPT_PADN, 7], [0x1e, 5], [OPT_ROUTER_ALERT, 255]]) {
      const body = new Uint8Array(8 + 8);
      body[0] = NH_UDP;
      body[2] = opt[0];
      body[3] = opt[1];
      const p: Ipv6Problem = { code: 0, pointer: 0 };
      expect(walk(packet(NH_HOP_BY_HOP, body), p)).to.equal(E_OPT_OVERRUN);
      expect(p.code).to.equal(-1);
    }
    // An option type in the last byte with no room for its length byte.
    const body = new Uint8Array(8 + 8);
    body[0] = NH_UDP;
    body[2] = OPT_PADN; body[3] = 2; // PadN covering bytes 4..5
    body[6] = OPT_PAD1; body[7] = 0x1e; // type without length
    expect(walk(packet(NH_DEST_OPTS, body))).to.equal(E_OPT_OVERRUN);
  });

  it('more than 8 non-padding options in one header, and a jumbo option, are unsupported', () => {
    const nine = Array.from({ length: 9 }, () => ({ type: 0x1e, data: new Uint8Array(0) }));
    expect(walk(buildChain([{ t: 'opts', type: NH_DEST_OPTS, options: nine }], NH_UDP, 0))).to.equal(E_TOO_MANY_OPTIONS);
    const eight = nine.slice(1);
    expect(walk(buildChain([{ t: 'opts', type: NH_DEST_OPTS, options: eight }], NH_UDP, 0)).ok).to.equal(true);
    const jumbo = [{ type: OPT_JUMBO, data: new Uint8Array(4) }];
    expect(walk(buildChain([{ t: 'opts', type: NH_HOP_BY_HOP, options: jumbo }], NH_UDP, 0))).to.equal(E_JUMBO);
  });

  it('a chain of the same header repeated to fill 64 KiB ends with an error after the header limit', () => {
    // Every Destination Options header names another one: the longest possible chain.
    const body = new Uint8Array(65535 - 7);
    for (let p = 0; p + 8 <= body.length; p += 8) body[p] = NH_DEST_OPTS;
    const b = packet(NH_DEST_OPTS, body);
    const t0 = Date.now();
    const p: Ipv6Problem = { code: 0, pointer: 0 };
    expect(walk(b, p)).to.equal(E_TOO_MANY_HEADERS);
    expect(p.code).to.equal(-1);
    expect(Date.now() - t0).to.be.below(50);
    // With the limit lifted, the walk still ends: at the payload end, as a truncated header.
    const r = walkIpv6Chain(b, 0, b.length, undefined, undefined, { maxHeaders: 1e9, maxOptions: 8, maxChainBytes: 1e9 });
    expect(r).to.equal(E_EXT_TRUNC);
  });

  it('rejects a fragment whose reassembled payload would pass 65535 bytes (code 0, pointer to the offset field)', () => {
    const body = new Uint8Array(8 + 16);
    emitIpv6Fragment({ nextHeader: NH_UDP, fragOffset: 65528, more: false, ident: 1 }, body, 0);
    const p: Ipv6Problem = { code: -1, pointer: 0 };
    expect(walk(packet(NH_FRAGMENT, body), p)).to.equal(E_FRAG_TOO_BIG);
    expect(p).to.deep.equal({ code: 0, pointer: 42 });
    // Exactly 65535 is fine: 65520 + 15.
    const ok15 = new Uint8Array(8 + 15);
    emitIpv6Fragment({ nextHeader: NH_UDP, fragOffset: 65520, more: false, ident: 1 }, ok15, 0);
    expect(walk(packet(NH_FRAGMENT, ok15)).ok).to.equal(true);
    // The unfragmentable part counts too.
    const withDest = new Uint8Array(8 + 8 + 15);
    withDest[0] = NH_FRAGMENT;
    emitIpv6Fragment({ nextHeader: NH_UDP, fragOffset: 65520, more: false, ident: 1 }, withDest, 8);
    expect(walk(packet(NH_DEST_OPTS, withDest))).to.equal(E_FRAG_TOO_BIG);
    // Random offsets: past the limit is an error, never an exception.
    fc.assert(fc.property(fc.integer({ min: 0, max: 8191 }), fc.integer({ min: 0, max: 200 }), (units, n) => {
      const bd = new Uint8Array(8 + n * 8);
      emitIpv6Fragment({ nextHeader: NH_UDP, fragOffset: units * 8, more: true, ident: 1 }, bd, 0);
      const r = walk(packet(NH_FRAGMENT, bd));
      expect(r.ok).to.equal(units * 8 + n * 8 <= 65535);
    }));
  });

  it('rejects a non-final fragment whose length is not a multiple of 8 (code 0, pointer to Payload Length)', () => {
    const body = new Uint8Array(8 + 13);
    emitIpv6Fragment({ nextHeader: NH_UDP, fragOffset: 0, more: true, ident: 1 }, body, 0);
    const p: Ipv6Problem = { code: -1, pointer: 0 };
    expect(walk(packet(NH_FRAGMENT, body), p)).to.equal(E_FRAG_NOT_MULTIPLE_8);
    expect(p).to.deep.equal({ code: 0, pointer: 4 });
    // The last fragment may have any length.
    emitIpv6Fragment({ nextHeader: NH_UDP, fragOffset: 8, more: false, ident: 1 }, body, 0);
    expect(walk(packet(NH_FRAGMENT, body)).ok).to.equal(true);
  });

  it('an atomic fragment (offset 0, M 0) is walked through (RFC 6946)', () => {
    const b = buildChain([{ t: 'frag', ident: 5 }], NH_ICMPV6, 8);
    const c = walk(b);
    expect(c.ok && c.value.protocol).to.equal(NH_ICMPV6);
    expect(c.ok && c.value.fragment).to.include({ fragOffset: 0, more: false, ident: 5 });
  });

  it('random bytes and random bodies never throw and never read past len (fast-check)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      sameWhenEmbedded(bytes, (b, o, l) => walkIpv6Chain(b, o, l));
      sameWhenEmbedded(bytes, (b, o, l) => walkIpv6Quoted(b, o, l));
      sameWhenEmbedded(bytes, (b, o, l) => parseIpv6Header(b, o, l));
    }));
    fc.assert(fc.property(fc.constantFrom(NH_HOP_BY_HOP, NH_DEST_OPTS, NH_ROUTING, NH_FRAGMENT, NH_AH), fc.uint8Array({ maxLength: 300 }), (nh, body) => {
      const r = sameWhenEmbedded(packet(nh, body), (b, o, l) => walkIpv6Chain(b, o, l, undefined, { code: 0, pointer: 0 }));
      if (r.ok) ipv6ChainVerdict(r.value, false);
    }));
  });

  it('a payload length larger or smaller than the chain is handled', () => {
    const b = buildChain([{ t: 'opts', type: NH_DEST_OPTS, options: [{ type: 0x1e, data: new Uint8Array(10) }] }], NH_UDP, 8);
    const shorter = b.slice();
    shorter[5] = 10; // payload length 10 < 16-byte header
    expect(walk(shorter)).to.equal(E_EXT_TRUNC);
    const longer = b.slice();
    longer[5] += 1; // one more than the buffer
    expect(walk(longer).ok).to.equal(false);
  });

  it('reuses an out chain, clearing the previous walk', () => {
    const out: Ipv6Chain = (walk(buildChain([{ t: 'opts', type: NH_DEST_OPTS, options: [{ type: 0x9e, data: new Uint8Array(2) }] }], NH_UDP, 0)) as { value: Ipv6Chain }).value;
    expect(out.unrecognizedOption).to.not.equal(null);
    const b = packet(NH_TCP, new Uint8Array(20));
    const r = walkIpv6Chain(b, 0, b.length, out);
    expect(r.ok && r.value === out).to.equal(true);
    expect(out.headers).to.have.length(0);
    expect(out.options).to.have.length(0);
    expect(out.unrecognizedOption).to.equal(null);
    expect(out.protocol).to.equal(NH_TCP);
  });

  it('walks a quoted packet cut short, but not a header cut in the middle', () => {
    const b = buildChain([{ t: 'opts', type: NH_DEST_OPTS, options: [] }], NH_UDP, 100);
    const q = walkIpv6Quoted(b, 0, 60);
    expect(q.ok && [q.value.protocol, q.value.protocolOff, q.value.protocolLen]).to.deep.equal([NH_UDP, 48, 12]);
    expect(walkIpv6Quoted(b, 0, 44)).to.equal(E_EXT_TRUNC);
    // A quoted non-final fragment cut anywhere is still walked.
    const f = new Uint8Array(8 + 64);
    emitIpv6Fragment({ nextHeader: NH_UDP, fragOffset: 0, more: true, ident: 3 }, f, 0);
    expect(walkIpv6Quoted(packet(NH_FRAGMENT, f), 0, 61).ok).to.equal(true);
  });
});

describe('ipv6: verdicts (RFC 8200 4.2 option actions, 4.4 routing headers)', () => {
  function chainWithOption(type: number): Ipv6Chain {
    const r = walk(buildChain([{ t: 'opts', type: NH_DEST_OPTS, options: [{ type, data: new Uint8Array(2) }] }], NH_UDP, 0));
    if (!r.ok) throw new Error(r.reason);
    return r.value;
  }

  it('acts on the two high bits of an unrecognized option type', () => {
    expect(ipv6ChainVerdict(chainWithOption(0x1e), false).action).to.equal('accept');
    expect(ipv6ChainVerdict(chainWithOption(0x5e), false).action).to.equal('discard');
    expect(ipv6ChainVerdict(chainWithOption(0x9e), false)).to.deep.include({ action: 'paramProblem', code: 2, pointer: 42 });
    expect(ipv6ChainVerdict(chainWithOption(0x9e), true)).to.deep.include({ action: 'paramProblem', code: 2 });
    expect(ipv6ChainVerdict(chainWithOption(0xde), false)).to.deep.include({ action: 'paramProblem', code: 2, pointer: 42 });
    expect(ipv6ChainVerdict(chainWithOption(0xde), true).action).to.equal('discard');
  });

  it('ignores a routing header with segments left 0 and rejects one with segments left > 0', () => {
    for (const routingType of [0, 2, 4, 200]) {
      const c0 = walk(buildChain([{ t: 'routing', routingType, segmentsLeft: 0, units: 2 }], NH_UDP, 0));
      expect(c0.ok && ipv6ChainVerdict(c0.value, false).action).to.equal('accept');
      const c1 = walk(buildChain([{ t: 'routing', routingType, segmentsLeft: 1, units: 2 }], NH_UDP, 0));
      expect(c1.ok).to.equal(true);
      if (!c1.ok) continue;
      const v = ipv6ChainVerdict(c1.value, false);
      expect(v).to.deep.include({ action: 'paramProblem', code: 0, pointer: 42 });
      if (v.action === 'paramProblem') expect(v.reason).to.match(routingType === 0 ? /RFC 5095/ : /unrecognized/);
      const rv = new Ipv6RoutingView(buildChain([{ t: 'routing', routingType, segmentsLeft: 1, units: 2 }], NH_UDP, 0), 40);
      expect([rv.routingType, rv.segmentsLeft, rv.length, rv.nextHeader]).to.deep.equal([routingType, 1, 24, NH_UDP]);
    }
  });

  it('finds the final destination for the pseudo-header', () => {
    const b = buildChain([{ t: 'routing', routingType: 0, segmentsLeft: 2, units: 4 }], NH_UDP, 0);
    b.set(a6('2001:db8::a'), 48);
    b.set(a6('2001:db8::b'), 64);
    const c = walk(b);
    if (!c.ok) throw new Error(c.reason);
    expect(ipv6FinalDestinationOff(b, 0, c.value)).to.equal(64);
    b[43] = 0; // segments left 0: at the final destination already
    const c0 = walk(b);
    if (!c0.ok) throw new Error(c0.reason);
    expect(ipv6FinalDestinationOff(b, 0, c0.value)).to.equal(24);
  });
});

describe('ipv6: emit of extension headers', () => {
  it('pads options headers with Pad1 or PadN to a multiple of 8 and they walk back (fast-check)', () => {
    fc.assert(fc.property(fc.array(arbOption, { maxLength: 8 }), fc.constantFrom(NH_UDP, NH_TCP, NH_ICMPV6, NH_NONE), (opts, nh) => {
      const n = ipv6OptionsHeaderLen(opts);
      expect(n % 8).to.equal(0);
      const body = new Uint8Array(n).fill(0xcc);
      expect(emitIpv6OptionsHeader(nh, opts, body, 0)).to.equal(n);
      expect(body[0]).to.equal(nh);
      expect(body[1]).to.equal(n / 8 - 1);
      const c = walk(packet(NH_DEST_OPTS, body));
      expect(c.ok).to.equal(true);
      if (c.ok) expect(c.value.options.map((o) => [o.type, Array.from(o.data)])).to.deep.equal(opts.map((o) => [o.type, Array.from(o.data)]));
    }));
  });

  it('writes the Linux MLD hop-by-hop header byte for byte', () => {
    const out = new Uint8Array(8);
    expect(emitIpv6OptionsHeader(NH_ICMPV6, [routerAlertMld()], out, 0)).to.equal(8);
    expect(Array.from(out)).to.deep.equal([58, 0, 5, 2, 0, 0, 1, 0]);
    // One byte of padding is a Pad1.
    const one = new Uint8Array(8);
    emitIpv6OptionsHeader(NH_UDP, [{ type: 0x1e, data: new Uint8Array(3) }], one, 0);
    expect(one[7]).to.equal(OPT_PAD1);
    const many = new Uint8Array(8);
    emitIpv6OptionsHeader(NH_UDP, [], many, 0);
    expect(Array.from(many)).to.deep.equal([NH_UDP, 0, OPT_PADN, 4, 0, 0, 0, 0]);
  });

  it('fragment header emit round trips (fast-check)', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 8191 }), fc.boolean(), fc.integer({ min: 0, max: 0xffffffff }),
      (nextHeader, units, more, ident) => {
        const b = new Uint8Array(8).fill(0xff);
        expect(emitIpv6Fragment({ nextHeader, fragOffset: units * 8, more, ident }, b, 0)).to.equal(8);
        const v = new Ipv6FragmentView(b, 0);
        expect([v.nextHeader, v.fragOffset, v.more, v.ident, b[1], b[3] & 6]).to.deep.equal([nextHeader, units * 8, more, ident, 0, 0]);
      },
    ));
  });
});
