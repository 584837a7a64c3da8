// ICMPv6 (RFC 4443): round trips of every message kind with the mandatory pseudo-header
// checksum (fast-check), the error builder's quote length (RFC 4443 2.4(c)), the rules for when
// an error may be sent (2.4(e)), and hostile input.

import { expect } from 'chai';
import * as fc from 'fast-check';
import { parseIpv6 } from '../../protocol/address';
import {
  ICMPV6_ERROR_MAX_QUOTE, ICMPV6_ECHO_REQUEST, ICMPV6_PACKET_TOO_BIG, ICMPV6_PARAM_PROBLEM, ICMPV6_REDIRECT,
  Icmpv6ErrorMessage, Icmpv6Message, Icmpv6View, emitIcmpv6, emitIcmpv6Error, icmpv6Checksum, icmpv6ErrorAllowed,
  icmpv6ErrorAllowedAddrs, icmpv6ErrorQuoteLen, icmpv6IsError, icmpv6Type, parseIcmpv6, DU_PORT_UNREACHABLE,
  PP_UNRECOGNIZED_OPTION,
} from '../../protocol/icmpv6';
import { emitIpv6Header, ipv6Header, IPV6_HEADER_LEN, NH_ICMPV6, NH_UDP } from '../../protocol/ipv6';
import { ParseResult } from '../../protocol/result';
import { checkResult, truncations } from './v4-helpers';

const a6 = (s: string): Uint8Array => parseIpv6(s)!;
const SRC = a6('2001:db8:1::1');
const DST = a6('2001:db8:1::2');

function sameWhenEmbedded<T>(bytes: Uint8Array, parse: (b: Uint8Array, off: number, len: number) => ParseResult<T>): ParseResult<T> {
  const r1 = parse(bytes, 0, bytes.length);
  checkResult(r1);
  const big = new Uint8Array(bytes.length + 10).fill(0xee);
  big.set(bytes, 5);
  const r2 = parse(big, 5, bytes.length);
  checkResult(r2);
  expect(r2.ok).to.equal(r1.ok);
  if (r1.ok && r2.ok) expect(r2.value).to.deep.equal(r1.value);
  return r1;
}

const u8 = fc.integer({ min: 0, max: 255 });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const dataLen = fc.integer({ min: 0, max: 64 });

const arbMessage: fc.Arbitrary<Icmpv6Message> = fc.oneof(
  fc.record({ kind: fc.constantFrom('echoRequest' as const, 'echoReply' as const), code: u8, ident: u16, seq: u16, dataLen }),
  fc.record({ kind: fc.constant('dstUnreachable' as const), code: u8, dataLen }),
  fc.record({ kind: fc.constant('packetTooBig' as const), code: u8, mtu: u32, dataLen }),
  fc.record({ kind: fc.constant('timeExceeded' as const), code: u8, dataLen }),
  fc.record({ kind: fc.constant('paramProblem' as const), code: u8, pointer: u32, dataLen }),
  // 'other' covers every type this file does not decode itself.
  fc.record({
    kind: fc.constant('other' as const),
    type: u8.filter((t) => ![1, 2, 3, 4, 128, 129].includes(t)),
    code: u8, word: u32, dataLen,
  }),
);

describe('icmpv6: messages', () => {
  it('emit then parse gives the same message with a verified checksum (fast-check)', () => {
    fc.assert(fc.property(arbMessage, fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.integer({ min: 0, max: 5 }), (m, body, off) => {
      const b = new Uint8Array(off + 8 + m.dataLen);
      b.set(body.subarray(0, m.dataLen), off + 8);
      expect(emitIcmpv6(m, b, off, SRC, DST)).to.equal(8 + m.dataLen);
      expect(icmpv6Checksum(b, off, 8 + m.dataLen, SRC, DST)).to.equal(0);
      const r = parseIcmpv6(b, off, 8 + m.dataLen, SRC, DST);
      expect(r.ok).to.equal(true);
      if (r.ok) expect(r.value).to.deep.equal(m);
      const v = new Icmpv6View(b, off, 8 + m.dataLen);
      expect(v.type).to.equal(icmpv6Type(m));
      expect(v.code).to.equal(m.code);
      expect(v.verifyChecksum(SRC, DST)).to.equal(true);
      expect(v.dataOff).to.equal(off + 8);
      expect(v.dataLen).to.equal(m.dataLen);
      if (m.kind === 'echoRequest' || m.kind === 'echoReply') expect([v.ident, v.seq]).to.deep.equal([m.ident, m.seq]);
      if (m.kind === 'packetTooBig') expect(v.mtu).to.equal(m.mtu);
      if (m.kind === 'paramProblem') expect(v.pointer).to.equal(m.pointer);
    }));
  });

  it('the view fills the checksum the same way emit does', () => {
    const b = new Uint8Array(16);
    emitIcmpv6({ kind: 'echoRequest', code: 0, ident: 1, seq: 2, dataLen: 8 }, b, 0, SRC, DST);
    const c = b.slice();
    const v = new Icmpv6View(c, 0, 16);
    v.checksum = 0x1234;
    v.fillChecksum(SRC, DST);
    expect(c).to.deep.equal(b);
    v.seq = 3;
    expect(v.verifyChecksum(SRC, DST)).to.equal(false);
  });

  it('a flipped bit anywhere, or other addresses, fail the checksum; verifyChecksum=false skips it', () => {
    const b = new Uint8Array(8 + 20);
    for (let i = 8; i < b.length; i++) b[i] = i;
    emitIcmpv6({ kind: 'echoReply', code: 0, ident: 7, seq: 9, dataLen: 20 }, b, 0, SRC, DST);
    for (let i = 0; i < b.length * 8; i++) {
      const c = b.slice();
      c[i >> 3] ^= 1 << (i & 7);
      const r = parseIcmpv6(c, 0, c.length, SRC, DST);
      expect(r).to.deep.include({ ok: false, kind: 'checksum' });
    }
    expect(parseIcmpv6(b, 0, b.length, DST, SRC).ok).to.equal(true); // the pseudo-header sum is symmetric in src/dst
    expect(parseIcmpv6(b, 0, b.length, SRC, a6('2001:db8:1::3'))).to.deep.include({ ok: false, kind: 'checksum' });
    // The pseudo-header length counts: the same bytes parsed one byte shorter fail.
    expect(parseIcmpv6(b, 0, b.length - 1, SRC, DST).ok).to.equal(false);
    const c = b.slice();
    c[2] ^= 0xff;
    expect(parseIcmpv6(c, 0, c.length, SRC, DST, false).ok).to.equal(true);
  });

  it('every truncation and random bytes give results, not exceptions, and never read past len', () => {
    const b = new Uint8Array(8 + 12);
    emitIcmpv6({ kind: 'paramProblem', code: 1, pointer: 6, dataLen: 12 }, b, 0, SRC, DST);
    const rs = truncations(b, (x, o, l) => parseIcmpv6(x, o, l, SRC, DST, false));
    rs.forEach((r, n) => expect(r.ok).to.equal(n >= 8));
    truncations(b, (x, o, l) => Icmpv6View.checked(x, o, l));
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
      sameWhenEmbedded(bytes, (x, o, l) => parseIcmpv6(x, o, l, SRC, DST));
      sameWhenEmbedded(bytes, (x, o, l) => parseIcmpv6(x, o, l, SRC, DST, false));
    }));
    for (const [off, len] of [[-1, 8], [0, 21], [0.5, 8], [NaN, 8], [0, Infinity]]) {
      expect(parseIcmpv6(b, off, len, SRC, DST).ok).to.equal(false);
    }
  });

  it('classifies errors and informational messages by the high bit (RFC 4443 2.1)', () => {
    expect([0, 1, 4, 127].map(icmpv6IsError)).to.deep.equal([true, true, true, true]);
    expect([128, 129, 135, 255].map(icmpv6IsError)).to.deep.equal([false, false, false, false]);
  });
});

/** An IPv6 packet of `payloadLen` bytes of `nh` with a recognizable payload. */
function invokingPacket(payloadLen: number, nh = NH_UDP, src = SRC, dst = DST): Uint8Array {
  const b = new Uint8Array(IPV6_HEADER_LEN + payloadLen);
  for (let i = 0; i < payloadLen; i++) b[IPV6_HEADER_LEN + i] = (i * 7 + 3) & 0xff;
  emitIpv6Header(ipv6Header({ src, dst, nextHeader: nh, payloadLength: payloadLen }), b, 0);
  return b;
}

describe('icmpv6: building error messages', () => {
  it('quotes as much of the invoking packet as fits in 1280 bytes (RFC 4443 2.4(c))', () => {
    expect(ICMPV6_ERROR_MAX_QUOTE).to.equal(1232);
    expect(icmpv6ErrorQuoteLen(100)).to.equal(100);
    expect(icmpv6ErrorQuoteLen(1232)).to.equal(1232);
    expect(icmpv6ErrorQuoteLen(65575)).to.equal(1232);
    expect(icmpv6ErrorQuoteLen(2000, 8)).to.equal(1224);
    expect(icmpv6ErrorQuoteLen(-5)).to.equal(0);
    expect(icmpv6ErrorQuoteLen(10, 5000)).to.equal(0);
  });

  it('builds errors that parse back, quoting the start of the packet (fast-check)', () => {
    const arbErr: fc.Arbitrary<Icmpv6ErrorMessage> = fc.oneof(
      fc.record({ kind: fc.constant('dstUnreachable' as const), code: fc.integer({ min: 0, max: 7 }), dataLen: fc.constant(0) }),
      fc.record({ kind: fc.constant('packetTooBig' as const), code: fc.constant(0), mtu: fc.integer({ min: 1280, max: 65535 }), dataLen: fc.constant(0) }),
      fc.record({ kind: fc.constant('timeExceeded' as const), code: fc.integer({ min: 0, max: 1 }), dataLen: fc.constant(0) }),
      fc.record({ kind: fc.constant('paramProblem' as const), code: fc.integer({ min: 0, max: 3 }), pointer: fc.integer({ min: 0, max: 2000 }), dataLen: fc.constant(0) }),
    );
    fc.assert(fc.property(arbErr, fc.integer({ min: 0, max: 3000 }), (m, plen) => {
      const inv = invokingPacket(plen);
      const out = new Uint8Array(8 + ICMPV6_ERROR_MAX_QUOTE);
      const n = emitIcmpv6Error(m, inv, 0, inv.length, out, 0, DST, SRC);
      const q = Math.min(inv.length, 1232);
      expect(n).to.equal(8 + q);
      const r = parseIcmpv6(out, 0, n, DST, SRC);
      expect(r.ok).to.equal(true);
      if (r.ok) expect(r.value).to.deep.equal({ ...m, dataLen: q });
      expect(out.subarray(8, n)).to.deep.equal(inv.subarray(0, q));
    }), { numRuns: 50 });
  });

  it('builds the error in the same buffer as the invoking packet (overlapping copy)', () => {
    // Inbound packet at offset 0; the reply goes at 48 (40-byte IPv6 header + its 8-byte ICMPv6
    // header before the quote would start at 56), overlapping the packet it quotes.
    const inv = invokingPacket(1500);
    const buf = new Uint8Array(48 + 8 + 1232);
    buf.set(inv.subarray(0, Math.min(inv.length, buf.length)));
    const n = emitIcmpv6Error({ kind: 'packetTooBig', code: 0, mtu: 1280, dataLen: 0 }, buf, 0, inv.length, buf, 48, DST, SRC);
    expect(n).to.equal(1240);
    expect(buf.subarray(56, 56 + 1232)).to.deep.equal(inv.subarray(0, 1232));
    expect(parseIcmpv6(buf, 48, n, DST, SRC).ok).to.equal(true);
  });
});

describe('icmpv6: when an error may be sent (RFC 4443 2.4(e))', () => {
  it('allows errors for ordinary unicast packets', () => {
    const p = invokingPacket(20);
    expect(icmpv6ErrorAllowed(p, 0, p.length, 1, DU_PORT_UNREACHABLE)).to.equal(true);
  });

  it('never answers an ICMPv6 error message or a redirect (e.1, e.2), but does answer echo', () => {
    for (const t of [1, 2, 3, 4, 100, ICMPV6_REDIRECT]) {
      const p = invokingPacket(16, NH_ICMPV6);
      p[40] = t;
      expect(icmpv6ErrorAllowed(p, 0, p.length, 4, 0), `type ${t}`).to.equal(false);
    }
    const echo = invokingPacket(16, NH_ICMPV6);
    echo[40] = ICMPV6_ECHO_REQUEST;
    expect(icmpv6ErrorAllowed(echo, 0, echo.length, 4, 0)).to.equal(true);
  });

  it('multicast destinations and link-layer group frames get only Packet Too Big and Parameter Problem code 2 with option bits 10 (e.3-e.5)', () => {
    const m = invokingPacket(20, NH_UDP, SRC, a6('ff02::1'));
    expect(icmpv6ErrorAllowed(m, 0, m.length, 1, 4)).to.equal(false);
    expect(icmpv6ErrorAllowed(m, 0, m.length, ICMPV6_PACKET_TOO_BIG, 0)).to.equal(true);
    expect(icmpv6ErrorAllowed(m, 0, m.length, ICMPV6_PARAM_PROBLEM, PP_UNRECOGNIZED_OPTION)).to.equal(false);
    expect(icmpv6ErrorAllowed(m, 0, m.length, ICMPV6_PARAM_PROBLEM, PP_UNRECOGNIZED_OPTION, undefined, true)).to.equal(true);
    const u = invokingPacket(20);
    expect(icmpv6ErrorAllowed(u, 0, u.length, 1, 4, { linkMulticast: true, linkBroadcast: false })).to.equal(false);
    expect(icmpv6ErrorAllowed(u, 0, u.length, 1, 4, { linkMulticast: false, linkBroadcast: true })).to.equal(false);
    expect(icmpv6ErrorAllowed(u, 0, u.length, 2, 0, { linkMulticast: true, linkBroadcast: false })).to.equal(true);
  });

  it('never answers a source that is not one node (e.6), nor an unreadable packet', () => {
    for (const s of ['::', 'ff02::1', 'ff05::2']) {
      const p = invokingPacket(20, NH_UDP, a6(s));
      expect(icmpv6ErrorAllowed(p, 0, p.length, 2, 0), s).to.equal(false);
      expect(icmpv6ErrorAllowedAddrs(a6(s), DST, 2, 0)).to.equal(false);
    }
    const p = invokingPacket(20);
    expect(icmpv6ErrorAllowed(p, 0, 39, 1, 4)).to.equal(false);
    expect(icmpv6ErrorAllowed(p, 5, 60, 1, 4)).to.equal(false);
    const v4 = p.slice();
    v4[0] = 0x45;
    expect(icmpv6ErrorAllowed(v4, 0, v4.length, 1, 4)).to.equal(false);
    expect(icmpv6ErrorAllowedAddrs(SRC, DST, 1, 4)).to.equal(true);
    expect(icmpv6ErrorAllowedAddrs(SRC, a6('ff02::1'), 1, 4)).to.equal(false);
    expect(icmpv6ErrorAllowedAddrs(SRC, a6('ff02::1'), 2, 0)).to.equal(true);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 120 }), u8, u8, (bytes, t, c) => {
      expect(typeof icmpv6ErrorAllowed(bytes, 0, bytes.length, t, c)).to.equal('boolean');
    }));
  });
});
