// ICMP echo between two IP actors back to back, with ARP resolution on first use, fragmentation
// and reassembly of a large ping, and the ICMP error rules (protocol unreachable, rate limit,
// no errors about broadcasts or ICMP errors).

import { expect } from 'chai';
import { RECORD_HEADER_LEN, encodeRecord, readRecordHeader } from '../../actors/ip/records';
import { arpFrames, echoRequest, filters, ip, inject, ipFrames, ipv4Frame, seen, twoHosts, MAC_A, MAC_B } from './lab';

type Reply = { from: string; ident: number; seq: number; data: string; ttl: number };

describe('ip: ICMP echo end to end', () => {
  it('resolves the neighbour with ARP, sends the queued request, and gets an identical reply', () => {
    const p = twoHosts();
    p.settle(); // gratuitous ARPs at start
    const data = Buffer.from('salamander says hello to you, b!').toString('hex');
    const r = p.control('a', 'ping', { dst: '192.0.2.2', ident: 7, seq: 1, data }) as { result: string };
    expect(r.result).to.equal('queued');
    p.settle();
    const replies = p.control('a', 'echoReplies', {}) as Reply[];
    expect(replies).to.have.length(1);
    expect(replies[0]).to.include({ from: '192.0.2.2', ident: 7, seq: 1, data, ttl: 64 });
    const ca = p.counters('a');
    expect(ca['arp.tx.request']).to.equal(1);
    expect(ca['neigh.queued']).to.equal(1);
    expect(p.counters('b')['arp.tx.reply']).to.equal(1);
    // b learned a from the request (RFC 826 merge) and needs no ARP of its own to reply.
    expect(p.counters('b')['arp.tx.request'] ?? 0).to.equal(0);
    const na = p.control('a', 'neighbors', {}) as Array<Record<string, unknown>>;
    expect(na).to.have.length(1);
    expect(na[0]).to.include({ iface: 'eth0', addr: '192.0.2.2', state: 'REACHABLE', mac: MAC_B, queued: 0 });
    // A second ping goes straight out.
    expect((p.control('a', 'ping', { dst: '192.0.2.2', seq: 2 }) as { result: string }).result).to.equal('sent');
    p.settle();
    expect(p.control('a', 'echoReplies', {}) as Reply[]).to.have.length(2);
  });

  it('queues several packets while resolving and sends them in order', () => {
    const p = twoHosts();
    p.settle();
    for (let s = 1; s <= 5; s++) p.control('a', 'ping', { dst: '192.0.2.2', seq: s, size: 10 });
    p.settle();
    const replies = p.control('a', 'echoReplies', {}) as Reply[];
    expect(replies.map((x) => x.seq)).to.deep.equal([1, 2, 3, 4, 5]);
    expect(arpFrames(seen.get('ab')).length).to.equal(2); // the announcement + one request
  });

  it('fragments an 8000-byte ping to the MTU and reassembles it on both sides', () => {
    const p = twoHosts();
    p.settle();
    const data = Buffer.alloc(8000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7) & 0xff;
    p.control('a', 'ping', { dst: '192.0.2.2', seq: 9, data: data.toString('hex') });
    p.settle();
    const replies = p.control('a', 'echoReplies', {}) as Reply[];
    expect(replies).to.have.length(1);
    expect(replies[0].data).to.equal(data.toString('hex'));
    // 8008 bytes of ICMP in 1480-byte pieces: 6 fragments each way, none larger than the MTU.
    const frags = ipFrames(seen.get('ab'));
    expect(frags).to.have.length(6);
    for (const f of frags) expect(f.length - 14).to.be.at.most(1500);
    expect(ipFrames(seen.get('ba'))).to.have.length(6);
    expect(p.counters('b')['ip4.reasm.done']).to.equal(1);
    expect(p.counters('a')['ip4.reasm.done']).to.equal(1);
  });

  it('sends an ICMP message given on the icmp input port and delivers the reply on the icmp output', () => {
    const p = twoHosts();
    p.addActor({ name: 'ai', kind: 'iptap' }, [{ from: 'ai.out', to: 'a.icmp' }, { from: 'a.icmp', to: 'ai.in' }]);
    p.settle();
    const payload = Uint8Array.from(Buffer.from('raw echo via the icmp port'));
    const rec = encodeRecord({ family: 4, proto: 1, ifindex: 0, ttl: 0, tos: 0, flags: 0, src: 0, dst: ip('192.0.2.2') }, echoRequest(0x1234, 5, payload));
    p.runner('ai').ctx.out('out')!.write(rec);
    p.settle();
    const got = seen.get('ai')!;
    expect(got).to.have.length(1);
    const h = readRecordHeader(got[0], 0, got[0].length)!;
    expect(h).to.include({ proto: 1, src: ip('192.0.2.2'), dst: ip('192.0.2.1') });
    const body = got[0].subarray(RECORD_HEADER_LEN);
    expect(body[0]).to.equal(0); // echo reply
    expect((body[4] << 8) | body[5]).to.equal(0x1234);
    expect(Buffer.from(body.subarray(8)).toString()).to.equal('raw echo via the icmp port');
  });

  it('a ping to itself loops back without a link', () => {
    const p = twoHosts();
    p.settle();
    expect((p.control('a', 'ping', { dst: '192.0.2.1', seq: 3 }) as { result: string }).result).to.equal('local');
    p.settle();
    expect((p.control('a', 'echoReplies', {}) as Reply[])[0]).to.include({ from: '192.0.2.1', seq: 3 });
  });

  it('does not answer echo requests sent to a broadcast address (RFC 1122 §3.2.2.6 MAY)', () => {
    const p = twoHosts();
    p.settle();
    inject(p, 'b', 'rx:eth0', ipv4Frame('ff:ff:ff:ff:ff:ff', MAC_A, { src: '192.0.2.1', dst: '192.0.2.255', protocol: 1 }, echoRequest(1, 1, new Uint8Array(4))));
    p.settle();
    expect(p.counters('b')['icmp4.drop.echo-broadcast']).to.equal(1);
    expect(p.counters('b')['icmp4.tx.echo-reply'] ?? 0).to.equal(0);
  });
});

describe('ip: ICMP errors', () => {
  it('answers an unknown protocol with protocol unreachable quoting the datagram', () => {
    const p = twoHosts();
    p.settle();
    p.control('a', 'ping', { dst: '192.0.2.2' }); // resolve both ways
    p.settle();
    inject(p, 'b', 'rx:eth0', ipv4Frame(MAC_B, MAC_A, { src: '192.0.2.1', dst: '192.0.2.2', protocol: 99, ident: 0x4242 }, new Uint8Array(30)));
    p.settle();
    expect(p.counters('b')['ip4.drop.unknown-protocol']).to.equal(1);
    expect(p.counters('b')['icmp4.tx.error.3']).to.equal(1);
    expect(p.counters('a')['icmp4.rx.error']).to.equal(1);
    const last = ipFrames(seen.get('ba')).pop()!;
    // IP(20) ICMP type 3 code 2, quote starts with the original header (ident 0x4242).
    expect(last[14 + 20]).to.equal(3);
    expect(last[14 + 21]).to.equal(2);
    expect((last[14 + 28 + 4] << 8) | last[14 + 28 + 5]).to.equal(0x4242);
  });

  it('rate-limits ICMP errors with a token bucket', () => {
    const p = twoHosts({}, { icmpRateLimit: { perSecond: 2, burst: 3 } });
    p.settle();
    p.control('a', 'ping', { dst: '192.0.2.2' });
    p.settle();
    const bad = (): void => inject(p, 'b', 'rx:eth0', ipv4Frame(MAC_B, MAC_A, { src: '192.0.2.1', dst: '192.0.2.2', protocol: 99 }, new Uint8Array(8)));
    for (let i = 0; i < 10; i++) bad();
    p.settle();
    expect(p.counters('b')['icmp4.tx.error.3']).to.equal(3);
    expect(p.counters('b')['icmp4.error.rate-limited']).to.equal(7);
    p.run(p.clock.now() + 1000); // 2 tokens back
    for (let i = 0; i < 5; i++) bad();
    p.settle();
    expect(p.counters('b')['icmp4.tx.error.3']).to.equal(5);
  });

  it('never sends errors about ICMP errors, broadcasts or non-first fragments', () => {
    const p = twoHosts();
    p.settle();
    p.control('a', 'ping', { dst: '192.0.2.2' });
    p.settle();
    // An unknown protocol to the subnet broadcast.
    inject(p, 'b', 'rx:eth0', ipv4Frame('ff:ff:ff:ff:ff:ff', MAC_A, { src: '192.0.2.1', dst: '192.0.2.255', protocol: 99 }, new Uint8Array(8)));
    // An unknown protocol in a link-layer broadcast to our unicast address.
    inject(p, 'b', 'rx:eth0', ipv4Frame('ff:ff:ff:ff:ff:ff', MAC_A, { src: '192.0.2.1', dst: '192.0.2.2', protocol: 99 }, new Uint8Array(8)));
    // A truncated ICMP error (dest unreachable) with a bad inner protocol is never answered.
    const err = new Uint8Array(8 + 28);
    err[0] = 3;
    err[8] = 0x45;
    err[11] = 28;
    err[17] = 99;
    const { emitIcmpv4 } = require('../../protocol/icmpv4');
    emitIcmpv4({ type: 3, code: 2, nextHopMtu: 0 }, err, 0, 28);
    inject(p, 'b', 'rx:eth0', ipv4Frame(MAC_B, MAC_A, { src: '192.0.2.1', dst: '192.0.2.2', protocol: 1 }, err));
    p.settle();
    expect(p.counters('b')['icmp4.tx.error.3'] ?? 0).to.equal(0);
    expect(p.counters('b')['icmp4.error.suppressed']).to.equal(2);
  });
});

describe('ip: impaired link and determinism', () => {
  /** Seeded loss, duplication and reordering on one tap. */
  function impair(seed: number): (rec: Uint8Array) => Uint8Array[] | null {
    let s = seed >>> 0;
    const rnd = (): number => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 2 ** 32;
    };
    let held: Uint8Array | null = null;
    return (rec) => {
      const r = rnd();
      if (r < 0.05) return null; // lost
      const out: Uint8Array[] = r < 0.1 ? [rec, rec] : [rec]; // duplicated
      if (held) {
        out.push(held);
        held = null;
      } else if (r > 0.9) {
        held = rec; // overtaken by the next frame
        out.shift();
      }
      return out;
    };
  }

  it('survives loss, duplication and reordering of fragments: replies intact, memory freed', () => {
    const p = twoHosts();
    filters.set('ab', impair(7));
    filters.set('ba', impair(11));
    p.settle();
    const data = Buffer.alloc(3000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 13) & 0xff;
    for (let s = 1; s <= 60; s++) {
      p.control('a', 'ping', { dst: '192.0.2.2', seq: s, data: data.toString('hex') });
      p.run(p.clock.now() + 100);
    }
    p.run(p.clock.now() + 60_000);
    const replies = p.control('a', 'echoReplies', {}) as Reply[];
    expect(replies.length).to.be.greaterThan(30);
    for (const r of replies) expect(r.data).to.equal(data.toString('hex'));
    const st = (n: string): { inProgress: number; bytes: number } => (p.control(n, 'status', {}) as { reassembly: { v4: { inProgress: number; bytes: number } } }).reassembly.v4;
    expect(st('a')).to.include({ inProgress: 0, bytes: 0 });
    expect(st('b')).to.include({ inProgress: 0, bytes: 0 });
    expect((p.counters('a')['ip4.reasm.drop.duplicate'] ?? 0) + (p.counters('b')['ip4.reasm.drop.duplicate'] ?? 0)).to.be.greaterThan(0);
  });

  it('is deterministic: the same seed gives the same frames', () => {
    const run = (): string[] => {
      const p = twoHosts({}, {}, { seed: 5 });
      p.settle();
      for (let s = 1; s <= 3; s++) p.control('a', 'ping', { dst: '192.0.2.2', seq: s, size: 2000 });
      p.run(p.clock.now() + 40_000);
      return [...seen.get('ab')!, ...seen.get('ba')!].map((f) => Buffer.from(f).toString('hex'));
    };
    expect(run()).to.deep.equal(run());
  });
});
