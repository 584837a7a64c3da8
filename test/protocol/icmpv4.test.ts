import { expect } from 'chai';
import * as fc from 'fast-check';
import {
  Icmpv4Message, Icmpv4View, emitIcmpv4, emitIcmpv4Error, icmpv4ErrorAllowed, icmpv4HeaderLen, icmpv4IsError,
  icmpv4QuoteLen, parseIcmpv4, parseIcmpv4Quote,
} from '../../protocol/icmpv4';
import { emitIpv4Header, ipv4Header } from '../../protocol/ipv4';
import { emitUdp } from '../../protocol/udp';
import { checkResult, truncations } from './v4-helpers';

const u16 = fc.integer({ min: 0, max: 0xffff });
const u8 = fc.integer({ min: 0, max: 255 });
const arbIcmp: fc.Arbitrary<Icmpv4Message> = fc.oneof(
  fc.record({ type: fc.constantFrom(0 as const, 8 as const), code: u8, ident: u16, seq: u16 }),
  fc.record({ type: fc.constant(3 as const), code: u8, nextHopMtu: u16 }),
  fc.record({ type: fc.constant(5 as const), code: u8, gateway: fc.integer({ min: 0, max: 0xffffffff }) }),
  fc.record({ type: fc.constant(11 as const), code: u8 }),
  fc.record({ type: fc.constant(12 as const), code: u8, pointer: u8 }),
);

/** An IPv4/UDP datagram with `payload` bytes of data. */
function udpDatagram(payload: number, ttl = 64): Uint8Array {
  const b = new Uint8Array(20 + 8 + payload);
  for (let i = 28; i < b.length; i++) b[i] = i & 0xff;
  emitUdp({ srcPort: 1234, dstPort: 53, length: 8 + payload, checksum: 0 }, b, 20);
  emitIpv4Header(ipv4Header({ src: 0xc0000201, dst: 0xc0000202, protocol: 17, payloadLen: 8 + payload, ttl }), b, 0);
  return b;
}

describe('protocol/icmpv4', () => {
  it('echo request: emit computes the checksum, parse verifies it', () => {
    const buf = new Uint8Array(8 + 5);
    buf.set([1, 2, 3, 4, 5], 8);
    emitIcmpv4({ type: 8, code: 0, ident: 0x1234, seq: 7 }, buf, 0, 5);
    const r = parseIcmpv4(buf, 0, buf.length);
    expect(r.ok && r.value).to.deep.include({ type: 8, code: 0, ident: 0x1234, seq: 7 });
    const v = new Icmpv4View(buf, 0, buf.length);
    expect(v.verifyChecksum()).to.equal(true);
    expect(v.ident).to.equal(0x1234);
    expect(v.seq).to.equal(7);
    expect(v.payloadLen).to.equal(5);
    buf[12] ^= 1;
    expect(parseIcmpv4(buf, 0, buf.length)).to.deep.include({ ok: false, kind: 'checksum' });
    expect(parseIcmpv4(buf, 0, buf.length, false).ok).to.equal(true);
    v.fillChecksum();
    expect(parseIcmpv4(buf, 0, buf.length).ok).to.equal(true);
  });
  it('frag needed carries the next-hop MTU (RFC 1191)', () => {
    const buf = new Uint8Array(8);
    emitIcmpv4({ type: 3, code: 4, nextHopMtu: 1280 }, buf, 0, 0);
    expect(Array.from(buf.subarray(4))).to.deep.equal([0, 0, 0x05, 0x00]);
    const r = parseIcmpv4(buf, 0, 8);
    expect(r.ok && r.value).to.deep.include({ type: 3, code: 4, nextHopMtu: 1280 });
    expect(new Icmpv4View(buf, 0, 8).nextHopMtu).to.equal(1280);
  });
  it('parameter problem pointer, redirect gateway, time exceeded', () => {
    const buf = new Uint8Array(8);
    emitIcmpv4({ type: 12, code: 0, pointer: 9 }, buf, 0, 0);
    expect(new Icmpv4View(buf, 0, 8).pointer).to.equal(9);
    emitIcmpv4({ type: 5, code: 1, gateway: 0xc0000203 }, buf, 0, 0);
    expect(new Icmpv4View(buf, 0, 8).gateway).to.equal(0xc0000203);
    emitIcmpv4({ type: 11, code: 1 }, buf, 0, 0);
    expect(parseIcmpv4(buf, 0, 8)).to.deep.include({ ok: true });
    expect(icmpv4HeaderLen()).to.equal(8);
  });
  it('unsupported types are reported as such', () => {
    const buf = new Uint8Array(20);
    buf[0] = 13; // timestamp
    new Icmpv4View(buf, 0, 20).fillChecksum();
    expect(parseIcmpv4(buf, 0, 20)).to.deep.include({ ok: false, kind: 'unsupported' });
  });
  it('error quoting: IP header + 8 bytes at least, up to 576-byte datagrams (RFC 792, RFC 1812 4.3.2.3)', () => {
    expect(icmpv4QuoteLen(28, 20)).to.equal(28);
    expect(icmpv4QuoteLen(1500, 20)).to.equal(548);
    expect(icmpv4QuoteLen(1500, 20, 20, 68)).to.equal(40);
    expect(icmpv4QuoteLen(1500, 20, 20, 40)).to.equal(28); // a tiny limit still quotes header + 8
    expect(icmpv4QuoteLen(1500, 60, 24)).to.equal(544);
    const orig = udpDatagram(1000);
    const out = new Uint8Array(600);
    const n = emitIcmpv4Error({ type: 3, code: 3, nextHopMtu: 0 }, orig, 0, orig.length, out, 0);
    expect(n).to.equal(556);
    expect(out.subarray(8, n)).to.deep.equal(orig.subarray(0, 548));
    expect(parseIcmpv4(out, 0, n).ok).to.equal(true);
    const q = parseIcmpv4Quote(out, 0, n);
    expect(q.ok && q.value.ip.payloadLen).to.equal(1008);
    expect(q.ok && q.value.transportOff).to.equal(28);
    expect(q.ok && q.value.transportLen).to.equal(528);
    // short original: quoted whole
    const small = udpDatagram(4);
    const m = emitIcmpv4Error({ type: 11, code: 0 }, small, 0, small.length, out, 0);
    expect(m).to.equal(8 + 32);
    const q2 = parseIcmpv4Quote(out, 0, m);
    expect(q2.ok && q2.value.transportLen).to.equal(12);
    // in place: the quote may come from the same buffer
    const shared = new Uint8Array(1200);
    shared.set(orig, 100);
    const k = emitIcmpv4Error({ type: 3, code: 1, nextHopMtu: 0 }, shared, 100, orig.length, shared, 80);
    expect(shared.subarray(88, 80 + k)).to.deep.equal(orig.subarray(0, k - 8));
    expect(parseIcmpv4Quote(new Uint8Array(8).fill(0), 0, 8)).to.deep.include({ ok: false, kind: 'unexpected' });
  });
  it('RFC 1122 3.2.2: no errors about errors, broadcasts, multicasts, later fragments, odd sources', () => {
    const ip = ipv4Header({ src: 0xc0000201, dst: 0xc0000202, protocol: 17, payloadLen: 8 });
    expect(icmpv4ErrorAllowed(ip, 0, false, false)).to.equal(true);
    expect(icmpv4ErrorAllowed({ ...ip, protocol: 1 }, 3, false, false)).to.equal(false);
    expect(icmpv4ErrorAllowed({ ...ip, protocol: 1 }, 8, false, false)).to.equal(true);
    expect(icmpv4ErrorAllowed(ip, 0, true, false)).to.equal(false);
    expect(icmpv4ErrorAllowed(ip, 0, false, true)).to.equal(false);
    expect(icmpv4ErrorAllowed({ ...ip, dst: 0xe00000fb }, 0, false, false)).to.equal(false);
    expect(icmpv4ErrorAllowed({ ...ip, dst: 0xffffffff }, 0, false, false)).to.equal(false);
    expect(icmpv4ErrorAllowed({ ...ip, fragOffset: 8 }, 0, false, false)).to.equal(false);
    expect(icmpv4ErrorAllowed({ ...ip, src: 0 }, 0, false, false)).to.equal(false);
    expect(icmpv4ErrorAllowed({ ...ip, src: 0x7f000001 }, 0, false, false)).to.equal(false);
    expect(icmpv4ErrorAllowed({ ...ip, src: 0xf0000001 }, 0, false, false)).to.equal(false);
    expect(icmpv4IsError(8)).to.equal(false);
  });
  it('emit -> parse round-trips (property)', () => {
    fc.assert(fc.property(arbIcmp, fc.uint8Array({ maxLength: 30 }), fc.integer({ min: 0, max: 3 }), (h, payload, off) => {
      const buf = new Uint8Array(off + 8 + payload.length);
      buf.set(payload, off + 8);
      emitIcmpv4(h, buf, off, payload.length);
      const r = parseIcmpv4(buf, off, 8 + payload.length);
      expect(r.ok).to.equal(true);
      if (!r.ok) return;
      const { checksum, ...rest } = r.value;
      expect(rest).to.deep.equal(h);
      expect(checksum).to.equal((buf[off + 2] << 8) | buf[off + 3]);
    }));
  });
  it('hostile: truncations, random bytes, random quotes', () => {
    const orig = udpDatagram(20);
    const out = new Uint8Array(100);
    const n = emitIcmpv4Error({ type: 3, code: 3, nextHopMtu: 0 }, orig, 0, orig.length, out, 0);
    const msg = out.slice(0, n);
    truncations(msg, parseIcmpv4);
    truncations(msg, parseIcmpv4Quote);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), fc.integer({ min: -2, max: 85 }), fc.integer({ min: -2, max: 85 }),
      (b, off, len) => {
        checkResult(parseIcmpv4(b, off, len, false));
        checkResult(parseIcmpv4(b, off, len));
        checkResult(parseIcmpv4Quote(b, off, len));
      }), { numRuns: 3000 });
    fc.assert(fc.property(fc.uint8Array({ minLength: 8, maxLength: 80 }), (b) => {
      b[0] = 3;
      if (b.length > 8) b[8] = 0x40 | (b[8] & 15);
      checkResult(parseIcmpv4Quote(b, 0, b.length));
    }), { numRuns: 3000 });
  });
});
