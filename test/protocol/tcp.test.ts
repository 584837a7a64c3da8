import { expect } from 'chai';
import * as fc from 'fast-check';
import { parseIpv6 } from '../../protocol/address';
import {
  TcpHeader, TcpOption, TcpView, emitTcp, parseTcp, parseTcpV4Verified, parseTcpV6Verified, tcpComputeChecksum,
  tcpDecodeOptions, tcpFillChecksum, tcpHeader, tcpHeaderLen, tcpOptions, tcpOptionsLen, tcpPseudoSumV4,
  tcpVerifyChecksum, tcpVerifyV4, tcpVerifyV6, TCP_ACK, TCP_CWR, TCP_ECE, TCP_FIN, TCP_NS, TCP_PSH, TCP_RST, TCP_SYN,
  TCP_URG,
} from '../../protocol/tcp';
import { pseudoSumV6Addrs } from '../../protocol/checksum';
import { checkResult, hex, truncations } from './v4-helpers';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const block = fc.record({ left: u32, right: u32 });
const arbOption: fc.Arbitrary<TcpOption> = fc.oneof(
  fc.constant({ kind: 'nop' as const }),
  fc.record({ kind: fc.constant('mss' as const), value: u16 }),
  fc.record({ kind: fc.constant('wscale' as const), shift: fc.integer({ min: 0, max: 255 }) }),
  fc.constant({ kind: 'sackPermitted' as const }),
  fc.record({ kind: fc.constant('sack' as const), blocks: fc.array(block, { minLength: 1, maxLength: 4 }) }),
  fc.record({ kind: fc.constant('timestamp' as const), tsVal: u32, tsEcr: u32 }),
  fc.record({
    kind: fc.constant('unknown' as const),
    type: fc.integer({ min: 6, max: 255 }).filter((t) => t !== 8),
    data: fc.uint8Array({ maxLength: 6 }),
  }),
);
const arbTcp: fc.Arbitrary<TcpHeader> = fc.record({
  srcPort: u16, dstPort: u16, seq: u32, ack: u32, flags: fc.integer({ min: 0, max: 0xfff }), window: u16, checksum: u16,
  urgent: u16, options: fc.array(arbOption, { maxLength: 6 }).filter((o) => tcpOptionsLen(o) <= 40),
}).map((f) => tcpHeader(f));

const SRC = 0xc0000201;
const DST = 0xc0000202;

/** A SYN like Linux's: mss 1460, sackOK, TS, nop, wscale 7. */
const linuxSyn = hex('9c41 1389 76fc5d5c 00000000 a002 faf0 0000 0000 020405b4 0402 080a f31b7c65 00000000 01 030307');

function segment(h: TcpHeader, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const hl = tcpHeaderLen(h);
  const b = new Uint8Array(hl + payload.length);
  b.set(payload, hl);
  emitTcp(h, b, 0);
  return b;
}

describe('protocol/tcp', () => {
  it('parses a Linux SYN with its options', () => {
    const r = parseTcp(linuxSyn, 0, linuxSyn.length);
    expect(r.ok).to.equal(true);
    if (!r.ok) return;
    const h = r.value;
    expect(h).to.deep.include({
      srcPort: 40001, dstPort: 5001, seq: 0x76fc5d5c, ack: 0, flags: TCP_SYN, window: 64240, headerLen: 40, mss: 1460,
      windowScale: 7, sackPermitted: true, tsVal: 0xf31b7c65, tsEcr: 0,
    });
    expect(h.sack).to.deep.equal([]);
    expect(h.options.map((o) => o.kind)).to.deep.equal(['mss', 'sackPermitted', 'timestamp', 'nop', 'wscale']);
    const again = segment(h);
    expect(again).to.deep.equal(linuxSyn);
  });
  it('view getters/setters and flag bits', () => {
    const b = new Uint8Array(linuxSyn);
    const v = new TcpView(b, 0);
    expect(v.syn).to.equal(true);
    expect(v.ackFlag).to.equal(false);
    expect(v.headerLen).to.equal(40);
    v.flags = TCP_FIN | TCP_SYN | TCP_RST | TCP_PSH | TCP_ACK | TCP_URG | TCP_ECE | TCP_CWR | TCP_NS;
    expect(v.headerLen).to.equal(40); // data offset untouched
    expect([v.fin, v.syn, v.rst, v.psh, v.ackFlag, v.urg, v.ece, v.cwr]).to.deep.equal(Array(8).fill(true));
    expect(v.flags).to.equal(0x1ff);
    v.srcPort = 1;
    v.dstPort = 2;
    v.seq = 0xfffffffe;
    v.ack = 5;
    v.window = 9;
    v.urgent = 3;
    v.checksum = 4;
    expect([v.srcPort, v.dstPort, v.seq, v.ack, v.window, v.urgent, v.checksum]).to.deep.equal([1, 2, 0xfffffffe, 5, 9, 3, 4]);
    expect(v.payloadOff).to.equal(40);
    const r = parseTcp(b, 0, b.length);
    expect(r.ok && r.value.flags).to.equal(0x1ff);
  });
  it('tcpOptions builds aligned layouts that fit in 40 bytes', () => {
    const syn = tcpOptions({ mss: 1460, sackPermitted: true, tsVal: 1, tsEcr: 0, windowScale: 7 });
    expect(tcpOptionsLen(syn)).to.equal(20);
    const noTs = tcpOptions({ mss: 1460, sackPermitted: true, windowScale: 7 });
    expect(noTs.map((o) => o.kind)).to.deep.equal(['mss', 'nop', 'nop', 'sackPermitted', 'nop', 'wscale']);
    const sack = tcpOptions({ tsVal: 1, tsEcr: 2, sack: [1, 2, 3, 4].map((i) => ({ left: i * 10, right: i * 10 + 5 })) });
    expect(tcpOptionsLen(sack)).to.equal(40);
    const h = tcpHeader({ srcPort: 1, dstPort: 2, options: sack });
    expect(h.sack.length).to.equal(3); // RFC 2018: three blocks fit next to timestamps
    expect(h.headerLen).to.equal(60);
    const back = parseTcp(segment(h), 0, 60);
    expect(back.ok && back.value.sack).to.deep.equal(h.sack);
    expect(tcpOptions({ sack: [{ left: 1, right: 2 }] }).length).to.equal(3);
  });
  it('rejects bad data offsets and option lengths 0, 1, overrunning, and wrong sizes for known options', () => {
    const withOpts = (opts: string) => {
      const o = hex(opts);
      const b = new Uint8Array(20 + o.length);
      b[12] = ((20 + o.length) / 4) << 4;
      b.set(o, 20);
      return parseTcp(b, 0, b.length);
    };
    expect(withOpts('01 01 01 00').ok).to.equal(true);
    expect(withOpts('00 ff ff ff').ok).to.equal(true); // after EOL: padding
    expect(withOpts('fe 00 00 00')).to.deep.include({ ok: false, kind: 'format' }); // length 0
    expect(withOpts('fe 01 00 00')).to.deep.include({ ok: false, kind: 'format' }); // length 1
    expect(withOpts('fe 05 00 00')).to.deep.include({ ok: false, kind: 'format' }); // overruns
    expect(withOpts('01 01 01 fe')).to.deep.include({ ok: false, kind: 'format' }); // no length octet
    expect(withOpts('02 03 05 00')).to.deep.include({ ok: false, kind: 'format' }); // MSS length 3
    expect(withOpts('03 04 07 00')).to.deep.include({ ok: false, kind: 'format' }); // WS length 4
    expect(withOpts('04 03 00 00')).to.deep.include({ ok: false, kind: 'format' }); // SACK-perm length 3
    expect(withOpts('05 06 00000000')).to.deep.include({ ok: false, kind: 'format' }); // SACK not 2+8n
    expect(withOpts('080a 00000000 0000 0000')).to.deep.include({ ok: false, kind: 'format' }); // TS overruns
    const unknown = withOpts('fe 04 abcd 01 01 01 01');
    expect(unknown.ok && unknown.value.options).to.deep.equal([
      { kind: 'unknown', type: 0xfe, data: hex('abcd') }, { kind: 'nop' }, { kind: 'nop' }, { kind: 'nop' }, { kind: 'nop' },
    ]);
    const b = new Uint8Array(20);
    b[12] = 4 << 4;
    expect(parseTcp(b, 0, 20)).to.deep.include({ ok: false, kind: 'format' });
    b[12] = 6 << 4;
    expect(parseTcp(b, 0, 20)).to.deep.include({ ok: false, kind: 'format' });
  });
  it('checksum with IPv4 and IPv6 pseudo-headers', () => {
    const h = tcpHeader({ srcPort: 40001, dstPort: 5001, seq: 1, ack: 2, flags: TCP_ACK | TCP_PSH, window: 100,
      options: tcpOptions({ tsVal: 5, tsEcr: 6 }) });
    const b = segment(h, new TextEncoder().encode('hello from a\n'));
    const c = tcpFillChecksum(b, 0, b.length, tcpPseudoSumV4(SRC, DST, b.length));
    expect(tcpVerifyV4(b, 0, b.length, SRC, DST)).to.equal(true);
    expect(tcpComputeChecksum(b, 0, b.length, tcpPseudoSumV4(SRC, DST, b.length))).to.equal(c);
    expect(parseTcpV4Verified(b, 0, b.length, SRC, DST).ok).to.equal(true);
    expect(tcpVerifyV4(b, 0, b.length, SRC, DST + 1)).to.equal(false);
    expect(parseTcpV4Verified(b, 0, b.length, SRC, DST + 1)).to.deep.include({ ok: false, kind: 'checksum' });
    expect(parseTcpV4Verified(b, 0, 10, SRC, DST)).to.deep.include({ ok: false, kind: 'format' });
    const s6 = parseIpv6('2001:db8::1')!;
    const d6 = parseIpv6('2001:db8::2')!;
    tcpFillChecksum(b, 0, b.length, pseudoSumV6Addrs(s6, d6, 6, b.length));
    expect(tcpVerifyV6(b, 0, b.length, s6, d6)).to.equal(true);
    expect(parseTcpV6Verified(b, 0, b.length, s6, d6).ok).to.equal(true);
    expect(parseTcpV6Verified(b, 0, b.length, s6, parseIpv6("2001:db8::3")!)).to.deep.include({ ok: false, kind: 'checksum' });
  });
  it('emit -> parse round-trips (property), and re-emit gives identical bytes', () => {
    fc.assert(fc.property(arbTcp, fc.uint8Array({ maxLength: 20 }), fc.integer({ min: 0, max: 3 }), (h, payload, off) => {
      const hl = tcpHeaderLen(h);
      const b = new Uint8Array(off + hl + payload.length);
      b.set(payload, off + hl);
      expect(emitTcp(h, b, off)).to.equal(hl);
      const r = parseTcp(b, off, hl + payload.length);
      expect(r.ok).to.equal(true);
      if (!r.ok) return;
      expect(r.value).to.deep.equal(h);
      const again = new Uint8Array(b.length);
      emitTcp(r.value, again, off);
      expect(again.subarray(off, off + hl)).to.deep.equal(b.subarray(off, off + hl));
      tcpFillChecksum(b, off, b.length - off, tcpPseudoSumV4(SRC, DST, b.length - off));
      expect(tcpVerifyChecksum(b, off, b.length - off, tcpPseudoSumV4(SRC, DST, b.length - off))).to.equal(true);
    }), { numRuns: 500 });
  });
  it('reuses an output header and clears decoded fields between segments', () => {
    const out = tcpHeader({ srcPort: 0, dstPort: 0 });
    expect(parseTcp(linuxSyn, 0, linuxSyn.length, out).ok).to.equal(true);
    expect(out.mss).to.equal(1460);
    const plain = segment(tcpHeader({ srcPort: 1, dstPort: 2, options: tcpOptions({ tsVal: 9, tsEcr: 8 }) }));
    expect(parseTcp(plain, 0, plain.length, out).ok).to.equal(true);
    expect(out.mss).to.equal(null);
    expect(out.windowScale).to.equal(null);
    expect(out.sackPermitted).to.equal(false);
    expect(out.options.length).to.equal(3);
    expect(tcpDecodeOptions({ ...out }).tsVal).to.equal(9);
  });
  it('parsing into one reused header gives the same results as fresh parses (property)', () => {
    const out = tcpHeader({ srcPort: 0, dstPort: 0 });
    fc.assert(fc.property(fc.array(arbTcp, { minLength: 1, maxLength: 5 }), (hs) => {
      for (const h of hs) {
        const b = segment(h);
        const fresh = parseTcp(b, 0, b.length);
        const reused = parseTcp(b, 0, b.length, out);
        expect(reused.ok && reused.value).to.equal(out);
        expect(fresh.ok && { ...out, options: out.options.map((o) => ({ ...o })) }).to.deep.equal(fresh.ok && fresh.value);
      }
    }), { numRuns: 300 });
  });
  it('hostile: every truncation, random bytes, random option areas', () => {
    const rs = truncations(linuxSyn, parseTcp);
    expect(rs.filter((r) => r.ok).length).to.equal(1);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 70 }), fc.integer({ min: -2, max: 75 }), fc.integer({ min: -2, max: 75 }),
      (b, off, len) => {
        checkResult(parseTcp(b, off, len));
        checkResult(parseTcpV4Verified(b, off, len, SRC, DST));
      }), { numRuns: 3000 });
    // valid header lengths with random option bytes, biased to option kinds we know
    fc.assert(fc.property(fc.integer({ min: 1, max: 10 }), fc.array(fc.oneof(fc.constantFrom(0, 1, 2, 3, 4, 5, 8, 10), fc.integer({ min: 0, max: 255 })),
      { minLength: 40, maxLength: 40 }), (words, bytes) => {
      const b = new Uint8Array(20 + 4 * words);
      b[12] = (5 + words) << 4;
      b.set(bytes.slice(0, 4 * words), 20);
      const r = parseTcp(b, 0, b.length);
      checkResult(r);
      if (r.ok) {
        // anything accepted re-emits to the same option bytes up to the first EOL
        const again = new Uint8Array(b.length);
        emitTcp(r.value, again, 0);
        const eol = b.indexOf(0, 20);
        const end = eol < 0 ? b.length : eol;
        expect(again.subarray(20, end)).to.deep.equal(b.subarray(20, end));
      }
    }), { numRuns: 5000 });
  });
});
