import { expect } from 'chai';
import * as fc from 'fast-check';
import {
  ArpHeader, ArpView, arpHeaderLen, arpIsAnnouncement, arpIsProbe, emitArp, parseArp,
} from '../../protocol/arp';
import { parseIpv4 } from '../../protocol/address';
import { checkResult, hex, truncations } from './v4-helpers';

const arbArp: fc.Arbitrary<ArpHeader> = fc.record({
  op: fc.constantFrom(1 as const, 2 as const),
  senderMac: fc.uint8Array({ minLength: 6, maxLength: 6 }),
  senderIp: fc.integer({ min: 0, max: 0xffffffff }),
  targetMac: fc.uint8Array({ minLength: 6, maxLength: 6 }),
  targetIp: fc.integer({ min: 0, max: 0xffffffff }),
});

// RFC 826 request "who-has 192.0.2.2 tell 192.0.2.1"
const request = hex('0001 0800 06 04 0001 02000000000a c0000201 000000000000 c0000202');

describe('protocol/arp', () => {
  it('parses a request', () => {
    const r = parseArp(request, 0, request.length);
    expect(r.ok).to.equal(true);
    if (!r.ok) return;
    expect(r.value.op).to.equal(1);
    expect(r.value.senderIp).to.equal(parseIpv4('192.0.2.1'));
    expect(r.value.targetIp).to.equal(parseIpv4('192.0.2.2'));
    expect(arpIsProbe(r.value)).to.equal(false);
    expect(arpIsAnnouncement(r.value)).to.equal(false);
    const v = new ArpView(request, 0);
    expect(v.htype).to.equal(1);
    expect(v.ptype).to.equal(0x0800);
    expect(v.op).to.equal(1);
    v.op = 2;
    v.senderIp = 7;
    v.targetIp = 8;
    expect(v.op).to.equal(2);
    expect(v.senderIp).to.equal(7);
    expect(v.targetIp).to.equal(8);
    expect(v.senderMacOff).to.equal(8);
    expect(v.targetMacOff).to.equal(18);
  });
  it('classifies RFC 5227 probes and announcements', () => {
    const base = { op: 1 as const, senderMac: new Uint8Array(6), targetMac: new Uint8Array(6) };
    expect(arpIsProbe({ ...base, senderIp: 0, targetIp: 5 })).to.equal(true);
    expect(arpIsAnnouncement({ ...base, senderIp: 5, targetIp: 5 })).to.equal(true);
  });
  it('rejects other hardware/protocol types and opcodes', () => {
    const b = new Uint8Array(request);
    b[1] = 6; // IEEE 802
    expect(parseArp(b, 0, 28)).to.deep.include({ ok: false, kind: 'unsupported' });
    const c = new Uint8Array(request);
    c[5] = 16; // IPv6-sized protocol addresses
    expect(parseArp(c, 0, 28)).to.deep.include({ ok: false, kind: 'unsupported' });
    const d = new Uint8Array(request);
    d[7] = 3; // RARP request
    expect(parseArp(d, 0, 28)).to.deep.include({ ok: false, kind: 'unsupported' });
    expect(ArpView.checked(request, 0, 27).ok).to.equal(false);
  });
  it('emit -> parse round-trips (property)', () => {
    fc.assert(fc.property(arbArp, fc.integer({ min: 0, max: 9 }), (h, off) => {
      const buf = new Uint8Array(off + 28 + 18); // with Ethernet padding after
      expect(emitArp(h, buf, off)).to.equal(arpHeaderLen(h));
      const r = parseArp(buf, off, buf.length - off);
      expect(r.ok && r.value).to.deep.equal(h);
    }));
  });
  it('hostile: truncations and random bytes', () => {
    const rs = truncations(request, parseArp);
    expect(rs.filter((r) => r.ok).length).to.equal(1);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), fc.integer({ min: -2, max: 40 }), fc.integer({ min: -2, max: 40 }),
      (b, off, len) => checkResult(parseArp(b, off, len))), { numRuns: 2000 });
  });
});
