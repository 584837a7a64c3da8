import { expect } from 'chai';
import * as fc from 'fast-check';
import {
  Ipv4Header, Ipv4Option, Ipv4View, emitIpv4Header, ipv4Header, ipv4HeaderLen, parseIpv4Header, parseIpv4Quoted,
  IPV4_OPT_NOP, IPV4_OPT_RA, IPV4_OPT_RR,
} from '../../protocol/ipv4';
import { checkResult, hex, truncations } from './v4-helpers';

const arbOption: fc.Arbitrary<Ipv4Option> = fc.oneof(
  fc.constant({ type: IPV4_OPT_NOP }),
  fc.record({ type: fc.integer({ min: 2, max: 255 }), data: fc.uint8Array({ maxLength: 10 }) }),
);
export const arbIpv4: fc.Arbitrary<Ipv4Header> = fc.record({
  dscp: fc.integer({ min: 0, max: 63 }),
  ecn: fc.integer({ min: 0, max: 3 }),
  ident: fc.integer({ min: 0, max: 0xffff }),
  reservedFlag: fc.boolean(),
  dontFragment: fc.boolean(),
  moreFragments: fc.boolean(),
  fragOffset: fc.integer({ min: 0, max: 8191 }).map((n) => n * 8),
  ttl: fc.integer({ min: 0, max: 255 }),
  protocol: fc.integer({ min: 0, max: 255 }),
  checksum: fc.constant(0),
  src: fc.integer({ min: 0, max: 0xffffffff }),
  dst: fc.integer({ min: 0, max: 0xffffffff }),
  options: fc.array(arbOption, { maxLength: 4 }).filter((o) => ipv4HeaderLen({ options: o } as Ipv4Header) <= 60),
  headerLen: fc.constant(0),
  payloadLen: fc.integer({ min: 0, max: 200 }),
}).filter((h) => h.fragOffset + h.payloadLen <= 65535).map((h) => ({ ...h, headerLen: ipv4HeaderLen(h) }));

// RFC 1071-style example header (from Wikipedia's worked checksum example): checksum b861
const sample = hex('4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7');

function withPayload(h: Ipv4Header): Uint8Array {
  const buf = new Uint8Array(ipv4HeaderLen(h) + h.payloadLen);
  emitIpv4Header(h, buf, 0);
  return buf;
}

describe('protocol/ipv4', () => {
  it('parses and verifies a known header', () => {
    const buf = new Uint8Array(0x73);
    buf.set(sample);
    const r = parseIpv4Header(buf, 0, buf.length);
    expect(r.ok).to.equal(true);
    if (!r.ok) return;
    expect(r.value).to.deep.include({
      dscp: 0, ecn: 0, ident: 0, dontFragment: true, moreFragments: false, fragOffset: 0, ttl: 64, protocol: 17,
      checksum: 0xb861, src: 0xc0a80001, dst: 0xc0a800c7, headerLen: 20, payloadLen: 0x73 - 20,
    });
    const v = new Ipv4View(buf, 0);
    expect(v.verifyChecksum()).to.equal(true);
    expect(v.totalLen).to.equal(0x73);
    v.ttl = 63;
    expect(v.verifyChecksum()).to.equal(false);
    v.fillChecksum();
    expect(v.verifyChecksum()).to.equal(true);
  });
  it('view getters and setters', () => {
    const buf = new Uint8Array(40);
    const h = ipv4Header({ src: 1, dst: 2, protocol: 6, payloadLen: 20 });
    emitIpv4Header(h, buf, 0);
    const v = new Ipv4View(buf, 0);
    v.dscp = 46;
    v.ecn = 2;
    v.ident = 0xbeef;
    v.dontFragment = false;
    v.moreFragments = true;
    v.fragOffset = 1480;
    v.protocol = 17;
    v.src = 0xc0000201;
    v.dst = 0xc0000202;
    v.fillChecksum();
    const r = parseIpv4Header(buf, 0, 40);
    expect(r.ok && r.value).to.deep.include({
      dscp: 46, ecn: 2, ident: 0xbeef, dontFragment: false, moreFragments: true, fragOffset: 1480, protocol: 17,
      src: 0xc0000201, dst: 0xc0000202,
    });
    expect(v.isFragment).to.equal(true);
    expect(v.payloadOff).to.equal(20);
    expect(v.payloadLen).to.equal(20);
    expect(v.version).to.equal(4);
  });
  it('validates version, IHL, total length, checksum', () => {
    const good = withPayload(ipv4Header({ src: 1, dst: 2, protocol: 6, payloadLen: 8 }));
    const mut = (f: (b: Uint8Array) => void) => {
      const b = new Uint8Array(good);
      f(b);
      return parseIpv4Header(b, 0, b.length);
    };
    expect(mut((b) => { b[0] = 0x65; })).to.deep.include({ ok: false, kind: 'format' }); // version 6
    expect(mut((b) => { b[0] = 0x44; })).to.deep.include({ ok: false, kind: 'format' }); // IHL 4
    expect(mut((b) => { b[3] = 19; })).to.deep.include({ ok: false, kind: 'format' }); // total < IHL*4
    expect(mut((b) => { b[3] = 29; })).to.deep.include({ ok: false, kind: 'format' }); // total > buffer
    expect(mut((b) => { b[0] = 0x4f; })).to.deep.include({ ok: false, kind: 'format' }); // IHL 15 > total
    expect(mut((b) => { b[8] ^= 1; })).to.deep.include({ ok: false, kind: 'checksum' });
    const b = new Uint8Array(good);
    b[8] ^= 1;
    expect(parseIpv4Header(b, 0, b.length, false).ok).to.equal(true); // checksum skipped on request
    // buffer longer than Total Length (Ethernet padding) is fine
    const padded = new Uint8Array(good.length + 10);
    padded.set(good);
    expect(parseIpv4Header(padded, 0, padded.length)).to.deep.include({ ok: true });
  });
  it('rejects fragments that extend past 65535 octets', () => {
    const h = ipv4Header({ src: 1, dst: 2, protocol: 17, payloadLen: 16, fragOffset: 65528 });
    const buf = withPayload(h);
    expect(parseIpv4Header(buf, 0, buf.length)).to.deep.include({ ok: false, kind: 'format' });
    const ok = withPayload(ipv4Header({ src: 1, dst: 2, protocol: 17, payloadLen: 7, fragOffset: 65528 }));
    expect(parseIpv4Header(ok, 0, ok.length).ok).to.equal(true);
  });
  it('options: list with NOP, RR, Router Alert; padding with EOL; bad lengths rejected', () => {
    const h = ipv4Header({
      src: 1, dst: 2, protocol: 1, payloadLen: 0,
      options: [{ type: IPV4_OPT_NOP }, { type: IPV4_OPT_RR, data: hex('04 00000000 00000000') }, { type: IPV4_OPT_RA, data: hex('0000') }],
    });
    expect(h.headerLen).to.equal(20 + 16); // 1 + 11 + 4 = 16
    const buf = withPayload(h);
    const r = parseIpv4Header(buf, 0, buf.length);
    expect(r.ok && r.value.options).to.deep.equal(h.options);
    const bad = (opts: string) => {
      const o = hex(opts);
      const b = new Uint8Array(20 + o.length);
      emitIpv4Header(ipv4Header({ src: 1, dst: 2, protocol: 1, payloadLen: 0 }), b, 0);
      b[0] = 0x40 | ((20 + o.length) >> 2);
      b[3] = 20 + o.length;
      b.set(o, 20);
      new Ipv4View(b, 0).fillChecksum();
      return parseIpv4Header(b, 0, b.length);
    };
    expect(bad('07 00 0000')).to.deep.include({ ok: false, kind: 'format' }); // length 0
    expect(bad('07 01 0000')).to.deep.include({ ok: false, kind: 'format' }); // length 1
    expect(bad('01 07 05 00')).to.deep.include({ ok: false, kind: 'format' }); // overruns
    expect(bad('01 01 01 07')).to.deep.include({ ok: false, kind: 'format' }); // no length octet
    expect(bad('00 07 00 00').ok).to.equal(true); // after EOL is padding
    expect(bad('01 01 01 01')).to.deep.include({ ok: true });
  });
  it('quoted headers: truncated datagram accepted, checksum not checked', () => {
    const full = withPayload(ipv4Header({ src: 1, dst: 2, protocol: 17, payloadLen: 1000, ttl: 3 }));
    full[10] ^= 0xff;
    const r = parseIpv4Quoted(full, 0, 28);
    expect(r.ok && r.value.payloadLen).to.equal(1000);
    expect(parseIpv4Quoted(full, 0, 19).ok).to.equal(false);
    expect(parseIpv4Header(full, 0, 28).ok).to.equal(false);
  });
  it('emit -> parse round-trips (property)', () => {
    fc.assert(fc.property(arbIpv4, fc.integer({ min: 0, max: 3 }), (h, off) => {
      const buf = new Uint8Array(off + h.headerLen + h.payloadLen);
      expect(emitIpv4Header(h, buf, off)).to.equal(h.headerLen);
      const r = parseIpv4Header(buf, off, buf.length - off);
      expect(r.ok).to.equal(true);
      if (!r.ok) return;
      expect({ ...r.value, checksum: 0 }).to.deep.equal(h);
      expect(new Ipv4View(buf, off).verifyChecksum()).to.equal(true);
      // re-emitting the parsed header gives identical bytes
      const again = new Uint8Array(buf.length);
      emitIpv4Header(r.value, again, off);
      expect(again.subarray(off, off + h.headerLen)).to.deep.equal(buf.subarray(off, off + h.headerLen));
    }));
  });
  it('reuses an output header', () => {
    const out = ipv4Header({ src: 0, dst: 0, protocol: 0, payloadLen: 0 });
    const buf = withPayload(ipv4Header({ src: 9, dst: 8, protocol: 6, payloadLen: 4, options: [{ type: 1 }] }));
    const r = parseIpv4Header(buf, 0, buf.length, true, out);
    expect(r.ok && r.value).to.equal(out);
    expect(out.src).to.equal(9);
    expect(out.options).to.deep.equal([{ type: 1 }]);
  });
  it('parsing into one reused header gives the same results as fresh parses (property)', () => {
    const out = ipv4Header({ src: 0, dst: 0, protocol: 0, payloadLen: 0 });
    fc.assert(fc.property(arbIpv4, (h) => {
      const b = withPayload(h);
      const fresh = parseIpv4Header(b, 0, b.length);
      const reused = parseIpv4Header(b, 0, b.length, true, out);
      expect(reused.ok && reused.value).to.equal(out);
      expect(reused).to.equal(parseIpv4Header(b, 0, b.length, true, out)); // one Ok per reused header
      expect(fresh.ok && { ...out }).to.deep.equal(fresh.ok && fresh.value);
    }), { numRuns: 300 });
  });
  it('hostile: every truncation, random bytes, random offsets and lengths', () => {
    const h = ipv4Header({ src: 1, dst: 2, protocol: 1, payloadLen: 4, options: [{ type: IPV4_OPT_RR, data: hex('0400000000') }] });
    const buf = withPayload(h);
    const rs = truncations(buf, parseIpv4Header);
    expect(rs.filter((r) => r.ok).length).to.equal(1);
    truncations(buf, parseIpv4Quoted);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), fc.integer({ min: -2, max: 85 }), fc.integer({ min: -2, max: 85 }),
      fc.boolean(), (b, off, len, ck) => {
        checkResult(parseIpv4Header(b, off, len, ck));
        checkResult(parseIpv4Quoted(b, off, len));
      }), { numRuns: 3000 });
    // random bytes that look like IPv4 (version 4, plausible IHL) without checksum
    fc.assert(fc.property(fc.uint8Array({ minLength: 20, maxLength: 80 }), fc.integer({ min: 5, max: 15 }), (b, ihl) => {
      b[0] = 0x40 | ihl;
      b[2] = 0;
      b[3] = Math.min(b.length, b[3]);
      checkResult(parseIpv4Header(b, 0, b.length, false));
    }), { numRuns: 3000 });
  });
});
