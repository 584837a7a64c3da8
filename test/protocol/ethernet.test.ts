import { expect } from 'chai';
import * as fc from 'fast-check';
import {
  EthernetHeader, EthernetView, emitEthernet, ethernetHeaderLen, parseEthernet, ETHERTYPE_ARP, ETHERTYPE_IPV4,
  ETHERTYPE_QINQ, ETHERTYPE_VLAN,
} from '../../protocol/ethernet';
import { checkResult, hex, truncations } from './v4-helpers';

const mac = fc.uint8Array({ minLength: 6, maxLength: 6 });
const tag = fc.record({
  tpid: fc.constantFrom(ETHERTYPE_VLAN, ETHERTYPE_QINQ),
  pcp: fc.integer({ min: 0, max: 7 }),
  dei: fc.boolean(),
  vid: fc.integer({ min: 0, max: 4095 }),
});
export const arbEthernet: fc.Arbitrary<EthernetHeader> = fc.record({
  dst: mac,
  src: mac,
  vlans: fc.array(tag, { maxLength: 2 }),
  etherType: fc.integer({ min: 0x0600, max: 0xffff }).filter((t) => t !== ETHERTYPE_VLAN && t !== ETHERTYPE_QINQ),
});

describe('protocol/ethernet', () => {
  const frame = hex('ffffffffffff 02000000000a 0806 0001080006040001');
  it('parses an untagged frame', () => {
    const r = parseEthernet(frame, 0, frame.length);
    expect(r.ok).to.equal(true);
    if (!r.ok) return;
    expect(r.value.etherType).to.equal(ETHERTYPE_ARP);
    expect(r.value.vlans).to.deep.equal([]);
    expect(Array.from(r.value.src)).to.deep.equal([2, 0, 0, 0, 0, 10]);
    const v = new EthernetView(frame, 0, frame.length);
    expect(v.etherType).to.equal(ETHERTYPE_ARP);
    expect(v.headerLen).to.equal(14);
    expect(v.payloadLen).to.equal(8);
    expect(v.vid).to.equal(-1);
    expect(v.dstIsMulticast).to.equal(true);
  });
  it('parses 802.1Q and QinQ tags', () => {
    const f = hex('02000000000b 02000000000a 88a8 0064 8100 6005 0800 45');
    const r = parseEthernet(f, 0, f.length);
    expect(r.ok && r.value.vlans).to.deep.equal([
      { tpid: ETHERTYPE_QINQ, pcp: 0, dei: false, vid: 100 }, { tpid: ETHERTYPE_VLAN, pcp: 3, dei: false, vid: 5 },
    ]);
    expect(r.ok && r.value.etherType).to.equal(ETHERTYPE_IPV4);
    const v = EthernetView.checked(f, 0, f.length);
    expect(v.ok && v.value.headerLen).to.equal(22);
    expect(v.ok && v.value.vid).to.equal(100);
    expect(v.ok && v.value.payloadOff).to.equal(22);
  });
  it('rejects three tags, 802.3 length frames and truncated tags', () => {
    const three = hex('02000000000b02000000000a 8100 0001 8100 0002 8100 0003 0800');
    expect(parseEthernet(three, 0, three.length)).to.deep.include({ ok: false, kind: 'unsupported' });
    const llc = hex('02000000000b02000000000a 0026 aaaa03');
    expect(parseEthernet(llc, 0, llc.length)).to.deep.include({ ok: false, kind: 'unsupported' });
    const cut = hex('02000000000b02000000000a 8100 00');
    expect(parseEthernet(cut, 0, cut.length)).to.deep.include({ ok: false, kind: 'format' });
  });
  it('view setters', () => {
    const f = new Uint8Array(14);
    const v = new EthernetView(f, 0, 14);
    v.setDst(Uint8Array.of(1, 2, 3, 4, 5, 6));
    v.setSrc(Uint8Array.of(7, 8, 9, 10, 11, 12));
    v.outerType = ETHERTYPE_IPV4;
    expect(Array.from(v.dst())).to.deep.equal([1, 2, 3, 4, 5, 6]);
    expect(Array.from(v.src())).to.deep.equal([7, 8, 9, 10, 11, 12]);
    expect(v.etherType).to.equal(ETHERTYPE_IPV4);
  });
  it('emit -> parse round-trips (property)', () => {
    fc.assert(fc.property(arbEthernet, fc.integer({ min: 0, max: 5 }), (h, off) => {
      const buf = new Uint8Array(off + ethernetHeaderLen(h) + 4);
      expect(emitEthernet(h, buf, off)).to.equal(ethernetHeaderLen(h));
      const r = parseEthernet(buf, off, buf.length - off);
      expect(r.ok).to.equal(true);
      expect(r.ok && r.value).to.deep.equal(h);
    }));
  });
  it('reuses an output header', () => {
    const out: EthernetHeader = { dst: new Uint8Array(6), src: new Uint8Array(6), vlans: [], etherType: 0 };
    const r = parseEthernet(frame, 0, frame.length, out);
    expect(r.ok && r.value).to.equal(out);
    expect(out.etherType).to.equal(ETHERTYPE_ARP);
  });
  it('hostile: every truncation, random bytes, bad offsets', () => {
    const f = hex('02000000000b 02000000000a 88a8 0064 8100 6005 0800 4500');
    const rs = truncations(f, parseEthernet);
    expect(rs.filter((r) => r.ok).length).to.equal(3); // 22, 23, 24 bytes
    fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), fc.integer({ min: -3, max: 45 }), fc.integer({ min: -3, max: 45 }),
      (b, off, len) => checkResult(parseEthernet(b, off, len))), { numRuns: 2000 });
    expect(parseEthernet(f, NaN, 10).ok).to.equal(false);
    expect(parseEthernet(f, 0.5, 10).ok).to.equal(false);
    expect(parseEthernet(f, 0, Infinity).ok).to.equal(false);
  });
});
