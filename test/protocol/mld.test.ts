// MLD (RFC 3810, RFC 2710): round trips of MLDv2 reports and queries and MLDv1 messages
// (fast-check), the query version by length (RFC 3810 8.1), the validity rules (hop limit 1,
// Router Alert, link-local source), the floating-point codes, and hostile input.

import { expect } from 'chai';
import * as fc from 'fast-check';
import { parseIpv6 } from '../../protocol/address';
import { icmpv6Checksum } from '../../protocol/icmpv6';
import {
  MldIpContext, MldMessage, MldV2Report, MldView, emitMld, emitMldV2Report, mldEncodeMaxResponse, mldMaxResponseDelay,
  mldMessageLen, mldQqi, parseMld, parseMldQuery, parseMldV2Report, validateMld, MLD_CHANGE_TO_EXCLUDE, MLD_MODE_IS_INCLUDE,
} from '../../protocol/mld';
import { ParseResult } from '../../protocol/result';
import { checkResult, loadPcap, truncations } from './v4-helpers';

const a6 = (s: string): Uint8Array => parseIpv6(s)!;
const LL = a6('fe80::5aff:fe00:a');
const CTX: MldIpContext = { src: LL, dst: a6('ff02::16'), hopLimit: 1, routerAlert: true };

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

function build(m: MldMessage, ip: MldIpContext = CTX, off = 0): Uint8Array {
  const b = new Uint8Array(off + mldMessageLen(m)).fill(0x99);
  expect(emitMld(m, b, off, ip.src, ip.dst)).to.equal(mldMessageLen(m));
  return b;
}

const u16 = fc.integer({ min: 0, max: 0xffff });
const addr = fc.uint8Array({ minLength: 16, maxLength: 16 });
const arbRecord = fc.record({
  recordType: fc.integer({ min: 0, max: 255 }),
  address: addr,
  sources: fc.array(addr, { maxLength: 4 }),
  auxData: fc.integer({ min: 0, max: 3 }).chain((w) => fc.uint8Array({ minLength: 4 * w, maxLength: 4 * w })),
});
const arbMld: fc.Arbitrary<MldMessage> = fc.oneof(
  fc.record({ kind: fc.constantFrom('queryV1' as const, 'reportV1' as const, 'doneV1' as const), maxResponseDelay: u16, address: addr }),
  fc.record({
    kind: fc.constant('queryV2' as const), maxResponseCode: u16, address: addr, suppressRouterSide: fc.boolean(),
    qrv: fc.integer({ min: 0, max: 7 }), qqic: fc.integer({ min: 0, max: 255 }), sources: fc.array(addr, { maxLength: 5 }),
  }),
  fc.record({ kind: fc.constant('reportV2' as const), records: fc.array(arbRecord, { maxLength: 5 }) }),
);

describe('mld: round trips', () => {
  it('emit then parse gives the same message for every kind (fast-check)', () => {
    fc.assert(fc.property(arbMld, fc.integer({ min: 0, max: 5 }), (m, off) => {
      const b = build(m, CTX, off);
      expect(icmpv6Checksum(b, off, b.length - off, CTX.src, CTX.dst)).to.equal(0);
      const r = parseMld(b, off, b.length - off, CTX);
      if (!r.ok) expect.fail(r.reason);
      expect(r.value).to.deep.equal(m);
      const q = parseMldQuery(b, off, b.length - off, CTX);
      expect(q.ok).to.equal(m.kind === 'queryV1' || m.kind === 'queryV2');
      const rep = parseMldV2Report(b, off, b.length - off, CTX);
      expect(rep.ok).to.equal(m.kind === 'reportV2');
      const v = new MldView(b, off, b.length - off);
      expect(v.verifyChecksum(CTX.src, CTX.dst)).to.equal(true);
      if (m.kind === 'queryV2') {
        expect([v.maxResponseCode, v.suppressRouterSide, v.qrv, v.qqic, v.querySourceCount])
          .to.deep.equal([m.maxResponseCode, m.suppressRouterSide, m.qrv, m.qqic, m.sources.length]);
      }
      if (m.kind === 'reportV2') expect(v.recordCount).to.equal(m.records.length);
    }));
  });

  it('emits the report the Linux kernel sends on link up, byte for byte', () => {
    // From test/fixtures/v6-linkup.pcap frame 3: two CHANGE_TO_EXCLUDE records from ::.
    const m: MldV2Report = {
      kind: 'reportV2',
      records: [
        { recordType: MLD_CHANGE_TO_EXCLUDE, address: a6('ff02::1:ff00:a'), sources: [], auxData: new Uint8Array(0) },
        { recordType: MLD_CHANGE_TO_EXCLUDE, address: a6('ff02::1:ff00:1'), sources: [], auxData: new Uint8Array(0) },
      ],
    };
    const b = new Uint8Array(mldMessageLen(m));
    expect(emitMldV2Report(m, b, 0, a6('::'), a6('ff02::16'))).to.equal(48);
    // Ethernet 14 + IPv6 40 + Hop-by-Hop 8 = 62 bytes before the MLD message.
    const frame = loadPcap('v6-linkup.pcap')[2].data;
    expect(b).to.deep.equal(frame.subarray(62));
    expect(parseMld(b, 0, b.length, { ...CTX, src: a6('::') }).ok).to.equal(true);
  });

  it('decodes and encodes the floating-point codes (RFC 3810 5.1.3, 5.1.9)', () => {
    expect(mldMaxResponseDelay(10000)).to.equal(10000);
    expect(mldMaxResponseDelay(32767)).to.equal(32767);
    expect(mldMaxResponseDelay(0x8000)).to.equal(0x1000 << 3);
    expect(mldMaxResponseDelay(0xffff)).to.equal((0x1fff) * 2 ** 10);
    expect(mldQqi(125)).to.equal(125);
    expect(mldQqi(0x80)).to.equal(0x10 << 3);
    expect(mldQqi(0xff)).to.equal(0x1f << 10);
    fc.assert(fc.property(fc.integer({ min: 0, max: 0x1fff * 1024 }), (ms) => {
      const c = mldEncodeMaxResponse(ms);
      expect(c).to.be.within(0, 0xffff);
      expect(mldMaxResponseDelay(c)).to.be.at.least(ms);
    }));
    fc.assert(fc.property(u16, (c) => {
      // Decoding is monotonic in the code.
      if (c > 0) expect(mldMaxResponseDelay(c)).to.be.at.least(mldMaxResponseDelay(c - 1));
    }));
    expect(mldEncodeMaxResponse(1e12)).to.equal(0xffff);
  });
});

describe('mld: validity and versions', () => {
  const query: MldMessage = { kind: 'queryV2', maxResponseCode: 10000, address: new Uint8Array(16), suppressRouterSide: false, qrv: 2, qqic: 125, sources: [] };
  const report: MldMessage = { kind: 'reportV2', records: [{ recordType: MLD_MODE_IS_INCLUDE, address: a6('ff05::1'), sources: [a6('2001:db8::1')], auxData: new Uint8Array(0) }] };

  it('tells MLDv1 and MLDv2 queries apart by length, and ignores lengths 25..27 (RFC 3810 8.1)', () => {
    const v1 = build({ kind: 'queryV1', maxResponseDelay: 1000, address: new Uint8Array(16) });
    expect(v1.length).to.equal(24);
    expect(parseMld(v1, 0, 24, CTX)).to.deep.include({ ok: true });
    const v2 = build(query);
    expect(v2.length).to.equal(28);
    for (const n of [25, 26, 27]) {
      const r = parseMld(v2, 0, n, CTX, false);
      expect(r).to.deep.include({ ok: false, kind: 'format' });
    }
  });

  it('requires hop limit 1 and a Router Alert for every message', () => {
    for (const m of [query, report, { kind: 'doneV1', maxResponseDelay: 0, address: a6('ff05::1') } as MldMessage]) {
      const b = build(m);
      expect(parseMld(b, 0, b.length, CTX).ok).to.equal(true);
      expect(parseMld(b, 0, b.length, { ...CTX, hopLimit: 255 })).to.deep.include({ ok: false, kind: 'unexpected' });
      expect(parseMld(b, 0, b.length, { ...CTX, routerAlert: false })).to.deep.include({ ok: false, kind: 'unexpected' });
    }
  });

  it('queries must come from a link-local address; reports may also come from ::', () => {
    const unspec = { ...CTX, src: a6('::') };
    const global = { ...CTX, src: a6('2001:db8::1') };
    expect(parseMld(build(query, unspec), 0, 28, unspec)).to.deep.include({ ok: false, kind: 'unexpected' });
    expect(parseMld(build(query, global), 0, 28, global)).to.deep.include({ ok: false, kind: 'unexpected' });
    const rb = build(report, unspec);
    expect(parseMld(rb, 0, rb.length, unspec).ok).to.equal(true);
    const gb = build(report, global);
    expect(parseMld(gb, 0, gb.length, global)).to.deep.include({ ok: false, kind: 'unexpected' });
    expect(validateMld(report, CTX)).to.equal(null);
  });

  it('checksums are verified; other ICMPv6 types are unexpected', () => {
    const b = build(report);
    b[30] ^= 1;
    expect(parseMld(b, 0, b.length, CTX)).to.deep.include({ ok: false, kind: 'checksum' });
    expect(parseMld(b, 0, b.length, CTX, false).ok).to.equal(true);
    for (const t of [128, 133, 1, 144]) {
      b[0] = t;
      expect(parseMld(b, 0, b.length, CTX, false)).to.deep.include({ ok: false, kind: 'unexpected' });
    }
  });

  it('extra bytes after the records are covered by the checksum and otherwise ignored', () => {
    const m = report as MldV2Report;
    const b = new Uint8Array(mldMessageLen(m) + 8);
    b.fill(0x42, mldMessageLen(m));
    emitMld(m, b, 0, CTX.src, CTX.dst);
    // Fix the checksum over the longer message.
    b[2] = 0;
    b[3] = 0;
    const c = icmpv6Checksum(b, 0, b.length, CTX.src, CTX.dst);
    b[2] = c >>> 8;
    b[3] = c & 0xff;
    const r = parseMld(b, 0, b.length, CTX);
    expect(r.ok && r.value).to.deep.equal(m);
  });
});

describe('mld: hostile input', () => {
  it('record and source counts larger than the message are format errors', () => {
    const b = build({ kind: 'reportV2', records: [{ recordType: 1, address: a6('ff05::1'), sources: [a6('2001:db8::1')], auxData: new Uint8Array(4) }] });
    for (const [at, v] of [[7, 2], [6, 0xff], [8 + 3, 2], [8 + 2, 0xff], [8 + 1, 2], [8 + 1, 0xff]] as const) {
      const c = b.slice();
      c[at] = v;
      expect(parseMld(c, 0, c.length, CTX, false), `byte ${at} = ${v}`).to.deep.include({ ok: false, kind: 'format' });
    }
    const q = build({ kind: 'queryV2', maxResponseCode: 0, address: new Uint8Array(16), suppressRouterSide: false, qrv: 0, qqic: 0, sources: [a6('2001:db8::1')] });
    q[27] = 2;
    expect(parseMld(q, 0, q.length, CTX, false)).to.deep.include({ ok: false, kind: 'format' });
    q[26] = 0xff;
    expect(parseMld(q, 0, q.length, CTX, false)).to.deep.include({ ok: false, kind: 'format' });
  });

  it('a report claiming 65535 records fails before allocating for them', () => {
    const b = new Uint8Array(8 + 20);
    b[0] = 143;
    b[6] = 0xff;
    b[7] = 0xff;
    expect(parseMld(b, 0, b.length, CTX, false)).to.deep.include({ ok: false, kind: 'format' });
  });

  it('every truncation is an error result; random bytes never throw or read past len (fast-check)', () => {
    const b = build({ kind: 'reportV2', records: [
      { recordType: 1, address: a6('ff05::1'), sources: [a6('2001:db8::1'), a6('2001:db8::2')], auxData: new Uint8Array(0) },
      { recordType: 6, address: a6('ff05::2'), sources: [], auxData: new Uint8Array(8) },
    ] });
    const rs = truncations(b, (x, o, l) => parseMld(x, o, l, CTX, false));
    expect(rs.filter((r) => r.ok)).to.have.length(1);
    truncations(b, (x, o, l) => parseMld(x, o, l, CTX));
    fc.assert(fc.property(fc.uint8Array({ maxLength: 150 }), (bytes) => {
      sameWhenEmbedded(bytes, (x, o, l) => parseMld(x, o, l, CTX, false));
    }));
    fc.assert(fc.property(fc.constantFrom(130, 131, 132, 143), fc.uint8Array({ maxLength: 150 }), (t, rest) => {
      const m = new Uint8Array(1 + rest.length);
      m[0] = t;
      m.set(rest, 1);
      sameWhenEmbedded(m, (x, o, l) => parseMld(x, o, l, CTX, false));
    }));
    for (const [off, len] of [[-1, 24], [0, 9999], [0.5, 24], [NaN, 24]]) {
      expect(parseMld(b, off, len, CTX).ok).to.equal(false);
    }
  });
});
