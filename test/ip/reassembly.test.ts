// IPv4 reassembly: in-order and out-of-order completion, overlap, duplicates, timeout with
// Time Exceeded (code 1), per-source and total memory limits, the 64 KiB bound; and the
// fragmenter's RFC 791 rules.

import { expect } from 'chai';
import { Reassembler, fragment } from '../../actors/ip/reassembly';
import { emitIpv4Header, ipv4Header, parseIpv4Header, Ipv4Header } from '../../protocol/ipv4';
import { echoRequest, inject, ip, ipFrames, ipv4Frame, seen, twoHosts, MAC_A, MAC_B } from './lab';

/** Fragments of a datagram with `n` data bytes (ident `id`, from `src`), cut at `cuts`. */
function frags(n: number, cuts: number[], id = 1, src = '192.0.2.1', proto = 17): Array<{ buf: Uint8Array; h: Ipv4Header }> {
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++) data[i] = i & 0xff;
  const bounds = [0, ...cuts, n];
  const out: Array<{ buf: Uint8Array; h: Ipv4Header }> = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const [a, b] = [bounds[i], bounds[i + 1]];
    out.push(one(data, a, b, b < n, id, src, proto));
  }
  return out;
}

function one(data: Uint8Array, a: number, b: number, mf: boolean, id = 1, src = '192.0.2.1', proto = 17): { buf: Uint8Array; h: Ipv4Header } {
  const h = ipv4Header({ src: ip(src), dst: ip('192.0.2.2'), protocol: proto, payloadLen: b - a, ident: id, dontFragment: false, moreFragments: mf, fragOffset: a });
  const buf = new Uint8Array(20 + b - a);
  buf.set(data.subarray(a, b), 20);
  emitIpv4Header(h, buf, 0);
  const r = parseIpv4Header(buf, 0, buf.length);
  if (!r.ok) throw new Error(r.reason);
  return { buf, h: r.value };
}

describe('ip: reassembly', () => {
  it('reassembles in any order and rebuilds the header', () => {
    const r = new Reassembler();
    const fs = frags(3000, [1000, 2000]);
    expect(r.input(fs[2].buf, 0, fs[2].h, 1, 0).kind).to.equal('pending');
    expect(r.input(fs[0].buf, 0, fs[0].h, 1, 0).kind).to.equal('pending');
    const o = r.input(fs[1].buf, 0, fs[1].h, 1, 0);
    expect(o.kind).to.equal('done');
    if (o.kind !== 'done') return;
    const h = parseIpv4Header(o.datagram, 0, o.datagram.length);
    expect(h.ok && h.value).to.include({ payloadLen: 3000, moreFragments: false, fragOffset: 0 });
    for (let i = 0; i < 3000; i++) if (o.datagram[20 + i] !== (i & 0xff)) throw new Error(`byte ${i}`);
    expect(r.memory).to.equal(0);
    expect(r.inProgress).to.equal(0);
  });

  it('drops the whole datagram on overlapping fragments, ignores exact duplicates', () => {
    const r = new Reassembler();
    const data = new Uint8Array(3000);
    expect(r.input(one(data, 0, 1000, true).buf, 0, one(data, 0, 1000, true).h, 1, 0).kind).to.equal('pending');
    const dup = r.input(one(data, 0, 1000, true).buf, 0, one(data, 0, 1000, true).h, 1, 0);
    expect(dup).to.deep.equal({ kind: 'dropped', reason: 'duplicate' });
    expect(r.inProgress).to.equal(1);
    const ov = one(data, 992, 2000, true);
    expect(r.input(ov.buf, 0, ov.h, 1, 0)).to.deep.equal({ kind: 'dropped', reason: 'overlap' });
    expect(r.inProgress).to.equal(0);
    expect(r.memory).to.equal(0);
    // The rest of the datagram alone never completes.
    const last = one(data, 1000, 3000, false);
    expect(r.input(last.buf, 0, last.h, 1, 0).kind).to.equal('pending');
  });

  it('enforces per-source and total memory limits', () => {
    const r = new Reassembler({ timeoutMs: 30_000, maxBytes: 10_000, maxBytesPerSource: 4000, maxDatagrams: 100 });
    const data = new Uint8Array(8000);
    // One source: 3 x 1000 fits (with overhead), the 4th does not.
    for (let i = 0; i < 3; i++) {
      const f = one(data, i * 1000, i * 1000 + 1000, true, 7);
      expect(r.input(f.buf, 0, f.h, 1, 0).kind).to.equal('pending');
    }
    const f4 = one(data, 3000, 4000, true, 7);
    expect(r.input(f4.buf, 0, f4.h, 1, 0)).to.deep.equal({ kind: 'dropped', reason: 'source-limit' });
    // Other sources fill the total; the oldest datagram is evicted to make room.
    for (let s = 2; s <= 4; s++) {
      for (let i = 0; i < 3; i++) {
        const f = one(data, i * 1000, i * 1000 + 1000, true, 9, `192.0.2.${s}`);
        r.input(f.buf, 0, f.h, 1, 0);
      }
    }
    expect(r.memory).to.be.at.most(10_000);
    expect(r.evicted).to.be.greaterThan(0);
  });

  it('rejects datagrams past 64 KiB and inconsistent last fragments', () => {
    const r = new Reassembler();
    const data = new Uint8Array(65535);
    // 65000 + 520 data octets + a 20-octet header > 65535.
    const big = one(data, 65000, 65520, false);
    expect(r.input(big.buf, 0, big.h, 1, 0)).to.deep.equal({ kind: 'dropped', reason: 'too-big' });
    const r2 = new Reassembler();
    const e1 = one(data, 2000, 3000, false, 6);
    r2.input(e1.buf, 0, e1.h, 1, 0);
    const e2 = one(data, 1000, 1500, false, 6);
    expect(r2.input(e2.buf, 0, e2.h, 1, 0)).to.deep.equal({ kind: 'dropped', reason: 'inconsistent' });
  });

  it('fragments per RFC 791: multiples of 8, MF on all but the last, copied options only', () => {
    const h = ipv4Header({ src: ip('192.0.2.1'), dst: ip('192.0.2.2'), protocol: 17, payloadLen: 3000, dontFragment: false,
      options: [{ type: 0x07, data: new Uint8Array([4, 0, 0, 0, 0, 0, 0, 0, 0]) }, { type: 0x94, data: new Uint8Array([0, 0]) }] });
    const data = new Uint8Array(3000).map((_, i) => i & 0xff);
    const got: Ipv4Header[] = [];
    const n = fragment(h, data, 0, 3000, 1000, (f, len) => {
      const r = parseIpv4Header(f, 0, len);
      if (!r.ok) throw new Error(r.reason);
      expect(len).to.be.at.most(1000);
      got.push({ ...r.value, options: r.value.options.map((o) => ({ ...o })) });
    });
    expect(n).to.equal(got.length);
    expect(got[0].options.map((o) => o.type)).to.deep.equal([0x07, 0x94]);
    for (const g of got.slice(1)) expect(g.options.map((o) => o.type)).to.deep.equal([0x94]);
    for (const g of got.slice(0, -1)) {
      expect(g.moreFragments).to.equal(true);
      expect(g.payloadLen % 8).to.equal(0);
    }
    expect(got[got.length - 1].moreFragments).to.equal(false);
    expect(got.reduce((s, g) => s + g.payloadLen, 0)).to.equal(3000);
  });
});

describe('ip: reassembly in the actor', () => {
  it('times out after 30 s and sends Time Exceeded (fragment reassembly) when fragment zero came', () => {
    const p = twoHosts();
    p.settle();
    p.control('b', 'ping', { dst: '192.0.2.1' }); // b learns a's MAC
    p.settle();
    const msg = echoRequest(1, 1, new Uint8Array(2000));
    inject(p, 'b', 'rx:eth0', ipv4Frame(MAC_B, MAC_A, { src: '192.0.2.1', dst: '192.0.2.2', protocol: 1, ident: 77, moreFragments: true }, msg.subarray(0, 1000)));
    p.settle();
    expect(p.counters('b')['ip4.reasm.fragments']).to.equal(1);
    const before = ipFrames(seen.get('ba')).length;
    p.run(p.clock.now() + 29_999);
    expect(p.counters('b')['ip4.reasm.timeout'] ?? 0).to.equal(0);
    p.run(p.clock.now() + 2);
    expect(p.counters('b')['ip4.reasm.timeout']).to.equal(1);
    p.settle();
    const out = ipFrames(seen.get('ba')).slice(before);
    expect(out).to.have.length(1);
    expect(out[0][14 + 20]).to.equal(11); // time exceeded
    expect(out[0][14 + 21]).to.equal(1); // fragment reassembly time exceeded
    expect(p.counters('a')['icmp4.rx.error']).to.equal(1);
  });

  it('sends no Time Exceeded when fragment zero never came', () => {
    const p = twoHosts();
    p.settle();
    const msg = echoRequest(1, 1, new Uint8Array(2000));
    inject(p, 'b', 'rx:eth0', ipv4Frame(MAC_B, MAC_A, { src: '192.0.2.1', dst: '192.0.2.2', protocol: 1, ident: 78, fragOffset: 1000 }, msg.subarray(1000)));
    p.run(p.clock.now() + 31_000);
    expect(p.counters('b')['ip4.reasm.timeout']).to.equal(1);
    expect(p.counters('b')['icmp4.tx.error.11'] ?? 0).to.equal(0);
  });

  it('counts overlapping fragments and the memory limit by reason', () => {
    const p = twoHosts({}, { reassembly: { maxBytesPerSource: 3000 } });
    p.settle();
    const d = new Uint8Array(4000);
    const f = (off: number, len: number, id: number, mf = true): Uint8Array =>
      ipv4Frame(MAC_B, MAC_A, { src: '192.0.2.1', dst: '192.0.2.2', protocol: 17, ident: id, fragOffset: off, moreFragments: mf }, d.subarray(0, len));
    inject(p, 'b', 'rx:eth0', f(0, 1000, 1));
    inject(p, 'b', 'rx:eth0', f(504, 1000, 1));
    inject(p, 'b', 'rx:eth0', f(0, 1000, 2));
    inject(p, 'b', 'rx:eth0', f(1000, 1000, 2));
    inject(p, 'b', 'rx:eth0', f(2000, 1000, 2));
    p.settle();
    const c = p.counters('b');
    expect(c['ip4.reasm.drop.overlap']).to.equal(1);
    expect(c['ip4.reasm.drop.source-limit']).to.equal(1);
    expect(c['deliver.udp'] ?? 0).to.equal(0);
  });
});
