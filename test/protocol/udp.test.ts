import { expect } from 'chai';
import * as fc from 'fast-check';
import { parseIpv6 } from '../../protocol/address';
import { pseudoSumV4, pseudoSumV6Addrs } from '../../protocol/checksum';
import {
  UdpHeader, UdpView, emitUdp, parseUdp, parseUdpV4Verified, parseUdpV6Verified, udpComputeChecksum, udpFillChecksum,
  udpHeaderLen, udpVerifyChecksum, udpVerifyV4, udpVerifyV6,
} from '../../protocol/udp';
import { checkResult, truncations } from './v4-helpers';

const u16 = fc.integer({ min: 0, max: 0xffff });
const SRC = 0xc0000201;
const DST = 0xc0000202;

function datagram(payload: Uint8Array, sport = 40002, dport = 5002): Uint8Array {
  const b = new Uint8Array(8 + payload.length);
  b.set(payload, 8);
  emitUdp({ srcPort: sport, dstPort: dport, length: b.length, checksum: 0 }, b, 0);
  return b;
}

describe('protocol/udp', () => {
  it('parses the header, payload from Length', () => {
    const b = datagram(new TextEncoder().encode('hi'));
    const r = parseUdp(b, 0, b.length);
    expect(r.ok && r.value).to.deep.equal({ srcPort: 40002, dstPort: 5002, length: 10, checksum: 0 });
    const v = new UdpView(b, 0);
    expect(v.payloadOff).to.equal(8);
    expect(v.payloadLen).to.equal(2);
    v.srcPort = 1;
    v.dstPort = 2;
    v.checksum = 3;
    v.length = 10;
    expect([v.srcPort, v.dstPort, v.checksum, v.length]).to.deep.equal([1, 2, 3, 10]);
    expect(udpHeaderLen()).to.equal(8);
  });
  it('length checks: below 8 or beyond the IP payload rejected; trailing bytes allowed', () => {
    const b = datagram(new Uint8Array(4));
    b[5] = 7;
    expect(parseUdp(b, 0, b.length)).to.deep.include({ ok: false, kind: 'format' });
    b[5] = 13;
    expect(parseUdp(b, 0, b.length)).to.deep.include({ ok: false, kind: 'format' });
    b[5] = 10;
    expect(parseUdp(b, 0, b.length)).to.deep.include({ ok: true });
  });
  it('checksum over IPv4 pseudo-header; zero means none (v4) and is refused (v6)', () => {
    const b = datagram(new TextEncoder().encode('salamander udp\n'));
    expect(udpVerifyV4(b, 0, b.length, SRC, DST)).to.equal(true); // zero: no checksum
    const c = udpFillChecksum(b, 0, b.length, pseudoSumV4(SRC, DST, 17, b.length));
    expect(c).to.not.equal(0);
    expect(udpVerifyV4(b, 0, b.length, SRC, DST)).to.equal(true);
    expect(udpComputeChecksum(b, 0, b.length, pseudoSumV4(SRC, DST, 17, b.length))).to.equal(c);
    expect(parseUdpV4Verified(b, 0, b.length, SRC, DST).ok).to.equal(true);
    b[9] ^= 0x10;
    expect(udpVerifyV4(b, 0, b.length, SRC, DST)).to.equal(false);
    expect(parseUdpV4Verified(b, 0, b.length, SRC, DST)).to.deep.include({ ok: false, kind: 'checksum' });
    const s6 = parseIpv6('2001:db8::1')!;
    const d6 = parseIpv6('2001:db8::2')!;
    const z = datagram(new Uint8Array(3));
    expect(udpVerifyV6(z, 0, z.length, s6, d6)).to.equal(false);
    expect(parseUdpV6Verified(z, 0, z.length, s6, d6)).to.deep.include({ ok: false, kind: 'checksum' });
    udpFillChecksum(z, 0, z.length, pseudoSumV6Addrs(s6, d6, 17, z.length));
    expect(udpVerifyV6(z, 0, z.length, s6, d6)).to.equal(true);
    expect(parseUdpV6Verified(z, 0, z.length, s6, d6).ok).to.equal(true);
  });
  it('a computed checksum of 0 is transmitted as 0xffff (RFC 768)', () => {
    // Find a payload whose checksum computes to zero: adjust two payload bytes.
    const b = datagram(new Uint8Array(2));
    const ps = pseudoSumV4(SRC, DST, 17, b.length);
    const c = udpComputeChecksum(b, 0, b.length, ps);
    // adding the current checksum value to the data makes the sum 0xffff -> checksum 0
    b[8] = c >>> 8;
    b[9] = c & 0xff;
    expect(udpFillChecksum(b, 0, b.length, ps)).to.equal(0xffff);
    expect(udpVerifyChecksum(b, 0, b.length, ps, false)).to.equal(true);
  });
  it('emit -> parse round-trips (property); fill then verify (property)', () => {
    fc.assert(fc.property(u16, u16, fc.uint8Array({ maxLength: 40 }), u16, fc.integer({ min: 0, max: 3 }),
      fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }), (sp, dp, payload, ck, off, src, dst) => {
        const h: UdpHeader = { srcPort: sp, dstPort: dp, length: 8 + payload.length, checksum: ck };
        const b = new Uint8Array(off + h.length);
        b.set(payload, off + 8);
        emitUdp(h, b, off);
        const r = parseUdp(b, off, h.length);
        expect(r.ok && r.value).to.deep.equal(h);
        udpFillChecksum(b, off, h.length, pseudoSumV4(src, dst, 17, h.length));
        expect(udpVerifyV4(b, off, h.length, src, dst)).to.equal(true);
      }));
  });
  it('hostile: truncations and random input', () => {
    truncations(datagram(new Uint8Array(6)), parseUdp);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 30 }), fc.integer({ min: -2, max: 35 }), fc.integer({ min: -2, max: 35 }),
      (b, off, len) => {
        checkResult(parseUdp(b, off, len));
        checkResult(parseUdpV4Verified(b, off, len, SRC, DST));
        expect(typeof udpVerifyChecksum(b, off, len, 0, true)).to.equal('boolean');
      }), { numRuns: 3000 });
  });
});
