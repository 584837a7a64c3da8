// The UDP actor core, inline and deterministic: two hosts (IP + UDP + an app fixture each) on a
// fake clock. Binding rules (ephemeral ports per RFC 6056, EADDRINUSE, SO_REUSEADDR,
// EADDRNOTAVAIL), send/receive with rinfo, connect filtering, ICMP port unreachable both ways
// (generated for closed ports, surfaced as ECONNREFUSED on connected sockets only), SO_BROADCAST,
// multicast membership filtering, checksum rules, receive budgets, hostile app records, and
// bindings that survive restarts of the actor.

import { expect } from 'chai';
import { twoHosts, runUntil, ip4, fmt4, Host } from './fixtures';
import {
  REQ_CONNECT, REQ_DISCONNECT, REQ_SETOPT, REQ_ADD_MEMBERSHIP, REQ_DROP_MEMBERSHIP, REQ_CLOSE, REQF_REUSEADDR, REQF_CONNECTED,
  OPT_BROADCAST, OPT_RCVBUF, EV_DATAGRAM, encodeAppRecord, REQ_BIND, REQ_SEND, sealAppRecord, appRecordSealOk,
} from '../../actors/udp/app-records';
import { encodeRecord } from '../../actors/ip/records';
import { parseIpv4 } from '../../protocol/address';
import { udpFillChecksum } from '../../protocol/udp';
import { pseudoSumV4, pseudoSumV6Addrs } from '../../protocol/checksum';
import type { InlinePipeline } from '../../base/inline';

function bound(p: InlinePipeline, h: Host, req: number): number {
  runUntil(p, () => h.reply(req) !== undefined);
  const r = h.reply(req)!;
  expect(r.codeName, 'bind reply').to.equal('OK');
  return r.port;
}

function udpPacket(sport: number, dport: number, data: Uint8Array, sum: number | null): Uint8Array {
  const u = new Uint8Array(8 + data.length);
  u[0] = sport >> 8; u[1] = sport; u[2] = dport >> 8; u[3] = dport; u[4] = u.length >> 8; u[5] = u.length;
  u.set(data, 8);
  if (sum !== null) udpFillChecksum(u, 0, u.length, sum);
  return u;
}

describe('udp core (inline)', () => {
  it('binds, sends and receives both ways with source, destination and payload', () => {
    const { p, a, b } = twoHosts();
    const pa = bound(p, a, a.bind(1, 5000));
    const pb = bound(p, b, b.bind(2, 6000, '192.0.2.2'));
    expect([pa, pb]).to.deep.equal([5000, 6000]);
    a.send(1, 6000, '192.0.2.2', 'hello b');
    runUntil(p, () => b.datagrams(2).length === 1);
    const d = b.datagrams(2)[0];
    expect(Buffer.from(d.payload).toString()).to.equal('hello b');
    expect([fmt4(d.addr), d.port, fmt4(d.addr2), d.family]).to.deep.equal(['192.0.2.1', 5000, '192.0.2.2', 4]);
    b.send(2, 5000, '192.0.2.1', new Uint8Array(3000).fill(7)); // fragmented by IP
    runUntil(p, () => a.datagrams(1).length === 1);
    expect(a.datagrams(1)[0].payload).to.deep.equal(new Uint8Array(3000).fill(7));
    expect(b.counters()['rx.no-checksum'] ?? 0).to.equal(0);
  });

  it('picks random ephemeral ports in the IANA range (RFC 6056 algorithm 1), deterministically per seed', () => {
    const ports = (seed: number): number[] => {
      const { p, a } = twoHosts({}, seed);
      return [1, 2, 3, 4].map((s) => bound(p, a, a.bind(s, 0)));
    };
    const x = ports(11);
    expect(new Set(x).size).to.equal(4);
    for (const port of x) expect(port).to.be.within(49152, 65535);
    expect(ports(11)).to.deep.equal(x);
    expect(ports(12)).to.not.deep.equal(x);
  });

  it('walks to the next free port when the random one is taken, and fails when the range is full', () => {
    const { p, a } = twoHosts({ ephemeralLow: 40000, ephemeralHigh: 40002 });
    const got = [1, 2, 3].map((s) => bound(p, a, a.bind(s, 0)));
    expect(got.slice().sort()).to.deep.equal([40000, 40001, 40002]);
    const r = a.bind(4, 0);
    runUntil(p, () => a.reply(r) !== undefined);
    expect(a.reply(r)!.codeName).to.equal('EADDRINUSE');
  });

  it('EADDRINUSE for overlapping bindings unless both set SO_REUSEADDR; EADDRNOTAVAIL for foreign addresses', () => {
    const { p, a } = twoHosts();
    bound(p, a, a.bind(1, 7000));
    const cases: Array<[number, string, number, string]> = [
      [2, '0.0.0.0', 0, 'EADDRINUSE'],
      [3, '192.0.2.1', 0, 'EADDRINUSE'],
      [4, '198.51.100.7', 0, 'EADDRNOTAVAIL'],
      [5, '192.0.2.255', 0, 'OK'], // a broadcast address may be bound ...
    ];
    for (const [sock, addr, flags, want] of cases) {
      const port = addr === '192.0.2.255' ? 7001 : 7000;
      const r = a.bind(sock, port, addr, flags);
      runUntil(p, () => a.reply(r) !== undefined);
      expect(a.reply(r)!.codeName, `${addr}`).to.equal(want);
    }
    bound(p, a, a.bind(10, 7100, '0.0.0.0', REQF_REUSEADDR));
    bound(p, a, a.bind(11, 7100, '192.0.2.1', REQF_REUSEADDR));
    const r = a.bind(12, 7100);
    runUntil(p, () => a.reply(r) !== undefined);
    expect(a.reply(r)!.codeName).to.equal('EADDRINUSE');
    // Closing frees the port.
    const c = a.request({ kind: REQ_CLOSE, sock: 1 });
    runUntil(p, () => a.reply(c) !== undefined);
    bound(p, a, a.bind(2, 7000));
  });

  it('a connected socket only hears its peer and sends without an address', () => {
    const { p, a, b } = twoHosts();
    bound(p, a, a.bind(1, 5000));
    bound(p, a, a.bind(3, 5001));
    bound(p, b, b.bind(2, 6000));
    const c = b.request({ kind: REQ_CONNECT, sock: 2, port: 5000, addr: ip4('192.0.2.1') });
    runUntil(p, () => b.reply(c) !== undefined);
    const rep = b.reply(c)!;
    expect([rep.codeName, fmt4(rep.addr), rep.port, fmt4(rep.addr2)]).to.deep.equal(['OK', '192.0.2.2', 6000, '192.0.2.1']);
    a.send(3, 6000, '192.0.2.2', 'from the wrong port');
    a.send(1, 6000, '192.0.2.2', 'from the peer');
    runUntil(p, () => b.datagrams().length === 1);
    p.run(p.clock.now() + 100);
    expect(b.datagrams().map((d) => Buffer.from(d.payload).toString())).to.deep.equal(['from the peer']);
    b.request({ kind: REQ_SEND, sock: 2, flags: REQF_CONNECTED, family: 4 }, Buffer.from('reply'));
    runUntil(p, () => a.datagrams(1).length === 1);
    // Sending with an address on a connected socket: EISCONN; disconnect and it works again.
    const r = b.request({ kind: REQ_SEND, sock: 2, port: 5001, addr: ip4('192.0.2.1') }, Buffer.from('x'));
    runUntil(p, () => b.reply(r) !== undefined);
    expect(b.reply(r)!.codeName).to.equal('EISCONN');
    const d = b.request({ kind: REQ_DISCONNECT, sock: 2 });
    runUntil(p, () => b.reply(d) !== undefined);
    a.send(3, 6000, '192.0.2.2', 'now heard');
    runUntil(p, () => b.datagrams().length === 2);
  });

  it('answers a datagram to a closed port with ICMP Port Unreachable: ECONNREFUSED on a connected socket only', () => {
    const { p, a, b } = twoHosts();
    bound(p, a, a.bind(1, 5000));
    bound(p, a, a.bind(2, 5002));
    const c = a.request({ kind: REQ_CONNECT, sock: 1, port: 9, addr: ip4('192.0.2.2') });
    runUntil(p, () => a.reply(c) !== undefined);
    a.request({ kind: REQ_SEND, sock: 1, flags: REQF_CONNECTED, family: 4 }, Buffer.from('anyone?'));
    runUntil(p, () => a.errors(1).length === 1);
    const e = a.errors(1)[0];
    expect([e.codeName, fmt4(e.addr), e.port]).to.deep.equal(['ECONNREFUSED', '192.0.2.2', 9]);
    expect(b.counters()['icmp.tx.port-unreachable']).to.equal(1);
    // Unconnected: counted, not reported (Linux without IP_RECVERR).
    a.send(2, 9, '192.0.2.2', 'x');
    runUntil(p, () => (a.counters()['icmp.rx.ignored'] ?? 0) === 1);
    expect(a.errors(2)).to.have.length(0);
  });

  it('sending to a broadcast address needs SO_BROADCAST (EACCES); broadcasts reach every wildcard socket', () => {
    const { p, a, b } = twoHosts();
    bound(p, a, a.bind(1, 5000));
    bound(p, b, b.bind(2, 6000, '0.0.0.0', REQF_REUSEADDR));
    bound(p, b, b.bind(3, 6000, '0.0.0.0', REQF_REUSEADDR));
    bound(p, b, b.bind(4, 6000, '192.0.2.2', REQF_REUSEADDR)); // a unicast binding does not hear broadcasts
    for (const dst of ['192.0.2.255', '255.255.255.255']) {
      const r = a.request({ kind: REQ_SEND, sock: 1, port: 6000, addr: ip4(dst), req: 0 }, Buffer.from('b'));
      runUntil(p, () => a.events().some((x) => x.req === r && x.codeName === 'EACCES'));
    }
    const o = a.request({ kind: REQ_SETOPT, sock: 1, aux: OPT_BROADCAST, value: 1 });
    runUntil(p, () => a.reply(o) !== undefined);
    a.send(1, 6000, '192.0.2.255', 'subnet');
    a.send(1, 6000, '255.255.255.255', 'limited');
    runUntil(p, () => b.datagrams().length === 4);
    expect(b.datagrams(4)).to.have.length(0);
    for (const d of b.datagrams()) expect(d.flags & 1).to.equal(1);
    // No ICMP about broadcasts, even to a closed port.
    a.send(1, 6999, '192.0.2.255', 'nobody');
    p.run(p.clock.now() + 100);
    expect(b.counters()['icmp.tx.port-unreachable'] ?? 0).to.equal(0);
  });

  it('delivers multicast only to sockets that joined the group', () => {
    const { p, a, b } = twoHosts();
    bound(p, a, a.bind(1, 5000));
    bound(p, b, b.bind(2, 6000, '0.0.0.0', REQF_REUSEADDR));
    bound(p, b, b.bind(3, 6000, '0.0.0.0', REQF_REUSEADDR));
    const j = b.request({ kind: REQ_ADD_MEMBERSHIP, sock: 2, addr: ip4('224.0.0.1') });
    runUntil(p, () => b.reply(j) !== undefined);
    expect(b.reply(j)!.codeName).to.equal('OK');
    const bad = b.request({ kind: REQ_ADD_MEMBERSHIP, sock: 3, addr: ip4('192.0.2.9') });
    runUntil(p, () => b.reply(bad) !== undefined);
    expect(b.reply(bad)!.codeName).to.equal('EINVAL');
    a.send(1, 6000, '224.0.0.1', 'group');
    runUntil(p, () => b.datagrams(2).length === 1);
    expect(b.datagrams(3)).to.have.length(0);
    const d = b.request({ kind: REQ_DROP_MEMBERSHIP, sock: 2, addr: ip4('224.0.0.1') });
    runUntil(p, () => b.reply(d) !== undefined);
    a.send(1, 6000, '224.0.0.1', 'group again');
    p.run(p.clock.now() + 100);
    expect(b.datagrams(2)).to.have.length(1);
  });

  it('checksums: a bad one is dropped, IPv4 zero is accepted, IPv6 zero is dropped', () => {
    const { p, b } = twoHosts();
    bound(p, b, b.bind(2, 6000));
    const core = b.core();
    const src = parseIpv4('192.0.2.1')!;
    const dst = parseIpv4('192.0.2.2')!;
    const hdr = { family: 4 as const, proto: 17, ifindex: 1, ttl: 64, tos: 0, flags: 0, src, dst };
    const data = Buffer.from('payload');
    const good = udpPacket(1234, 6000, data, pseudoSumV4(src, dst, 17, 8 + data.length));
    const bad = good.slice();
    bad[9] ^= 1;
    const zero = udpPacket(1234, 6000, data, null);
    for (const u of [good, bad, zero]) {
      const rec = encodeRecord(hdr, u);
      core.onRecord('ip', rec, 0, rec.length);
    }
    const s6 = new Uint8Array(16); s6[0] = 0x20; s6[1] = 0x01; s6[2] = 0x0d; s6[3] = 0xb8; s6[15] = 1;
    const d6 = s6.slice(); d6[15] = 2;
    const h6 = { family: 6 as const, proto: 17, ifindex: 1, ttl: 64, tos: 0, flags: 0, src: 0, dst: 0, src6: s6, dst6: d6 };
    const z6 = encodeRecord(h6, udpPacket(1, 6000, data, null));
    core.onRecord('ip', z6, 0, z6.length);
    const ok6 = encodeRecord(h6, udpPacket(1, 6000, data, pseudoSumV6Addrs(s6, d6, 17, 8 + data.length)));
    core.onRecord('ip', ok6, 0, ok6.length); // valid, but no IPv6 socket on 6000: counted
    p.run(p.clock.now() + 10);
    expect(b.datagrams(2)).to.have.length(2);
    expect(b.datagrams(2).map((d) => d.flags & 2)).to.deep.equal([0, 2]);
    const c = b.counters();
    expect([c['rx.drop.checksum'], c['rx.no-checksum'], c['rx.drop.zero-checksum'], c['rx.drop.no-socket']]).to.deep.equal([1, 1, 1, 1]);
    // Truncated and bad-length datagrams.
    const short = encodeRecord(hdr, good.subarray(0, 5));
    core.onRecord('ip', short, 0, short.length);
    expect(b.counters()['rx.drop.length']).to.equal(1);
  });

  it('bounds each socket\'s receive queue and counts the drops; consumed datagrams free the budget', () => {
    const { p, a, b } = twoHosts();
    bound(p, a, a.bind(1, 5000));
    bound(p, b, b.bind(2, 6000));
    const o = b.request({ kind: REQ_SETOPT, sock: 2, aux: OPT_RCVBUF, value: 3 * (56 + 100) });
    runUntil(p, () => b.reply(o) !== undefined);
    for (let i = 0; i < 5; i++) a.send(1, 6000, '192.0.2.2', new Uint8Array(100).fill(i));
    runUntil(p, () => (b.counters()['rx.drop.rcvbuf'] ?? 0) === 2);
    expect(b.datagrams(2)).to.have.length(3);
    b.consumeAll();
    a.send(1, 6000, '192.0.2.2', 'after');
    runUntil(p, () => b.datagrams(2).length === 4);
  });

  it('validates app records and counts the bad ones', () => {
    const { p, a } = twoHosts();
    const good = encodeAppRecord({ kind: REQ_BIND, sock: 1, family: 4, port: 1 });
    const bads: Uint8Array[] = [
      good.subarray(0, 20),
      encodeAppRecord({ kind: 99, sock: 1, family: 4 }),
      encodeAppRecord({ kind: REQ_BIND, sock: 0, family: 4 }),
      encodeAppRecord({ kind: REQ_BIND, sock: 1, family: 5 }),
      encodeAppRecord({ kind: REQ_BIND, sock: 1, family: 0 }),
      encodeAppRecord({ kind: REQ_BIND, sock: 1, family: 4, addr: Uint8Array.of(192, 0, 2, 1, 9) }),
      encodeAppRecord({ kind: REQ_BIND, sock: 1, family: 4 }, Uint8Array.of(1)),
      encodeAppRecord({ kind: REQ_SEND, sock: 1, family: 4, flags: 0x80 }),
    ];
    for (const r of bads) a.raw(r);
    p.run(p.clock.now() + 10);
    const c = a.counters();
    const drops = Object.entries(c).filter(([k]) => k.startsWith('app.drop.')).reduce((s, [, v]) => s + v, 0);
    expect(drops).to.equal(bads.length);
    expect(a.events()).to.have.length(0);
    // Requests for unknown sockets get EBADF.
    const r = a.request({ kind: REQ_CONNECT, sock: 77, port: 1, addr: ip4('192.0.2.2') });
    runUntil(p, () => a.reply(r) !== undefined);
    expect(a.reply(r)!.codeName).to.equal('EBADF');
  });

  for (const kind of ['throw', 'exit', 'oom'] as const) {
    it(`keeps bindings, connections and memberships across a restart (${kind})`, () => {
      const { p, a, b } = twoHosts();
      bound(p, a, a.bind(1, 5000));
      const eph = bound(p, b, b.bind(2, 0));
      bound(p, b, b.bind(3, 6001));
      const c = b.request({ kind: REQ_CONNECT, sock: 3, port: 5000, addr: ip4('192.0.2.1') });
      const j = b.request({ kind: REQ_ADD_MEMBERSHIP, sock: 2, addr: ip4('224.0.0.1') });
      runUntil(p, () => b.reply(c) !== undefined && b.reply(j) !== undefined);
      const before = JSON.stringify(b.core().socketList());
      p.inject('udpb', kind);
      expect(b.core()).to.not.equal(undefined);
      expect(JSON.stringify(b.core().socketList())).to.equal(before);
      expect(b.counters()['table.restored']).to.equal(2);
      a.send(1, eph, '192.0.2.2', 'to ephemeral');
      a.send(1, 6001, '192.0.2.2', 'to connected');
      a.send(1, 6000 + 999, '192.0.2.2', 'closed');
      a.send(1, eph, '224.0.0.1', 'to group');
      runUntil(p, () => b.datagrams().length === 3);
      expect(b.datagrams(2).map((d) => Buffer.from(d.payload).toString()).sort()).to.deep.equal(['to ephemeral', 'to group']); // the unicast waits for ARP
      // A second bind of the same port is still refused: the table really is the old one.
      const r = b.bind(9, eph);
      runUntil(p, () => b.reply(r) !== undefined);
      expect(b.reply(r)!.codeName).to.equal('EADDRINUSE');
    });
  }

  it('answers a re-delivered bind the same way (idempotent requests)', () => {
    const { p, a } = twoHosts();
    const port = bound(p, a, a.bind(1, 0));
    const again = a.request({ kind: REQ_BIND, sock: 1, family: 4, port: 0 });
    runUntil(p, () => a.reply(again) !== undefined);
    expect([a.reply(again)!.codeName, a.reply(again)!.port]).to.deep.equal(['OK', port]);
    expect(a.events().filter((e) => e.kind === EV_DATAGRAM)).to.have.length(0);
  });

  it('a socket bound to an address that is removed stays bound: sends fail with ENETUNREACH (as Linux), nothing arrives, and both work again once the address is back', () => {
    const { p, a, b } = twoHosts();
    bound(p, a, a.bind(1, 5000, '192.0.2.1'));
    bound(p, a, a.bind(3, 5001)); // wildcard: unaffected
    bound(p, b, b.bind(2, 6000, '192.0.2.2'));
    a.send(1, 6000, '192.0.2.2', 'before', 101);
    runUntil(p, () => a.reply(101) !== undefined && b.datagrams(2).length === 1);
    expect(a.reply(101)!.codeName).to.equal('OK');
    // The stack removes 192.0.2.1 (Stack.removeAddress sends the new list to the UDP actor; IP
    // keeps it here, so the wildcard socket's datagram, sourced by IP, still goes out).
    p.control('udpa', 'setAddresses', { addresses: [] });
    a.send(1, 6000, '192.0.2.2', 'while gone', 102);
    a.send(3, 6000, '192.0.2.2', 'wildcard', 103);
    runUntil(p, () => a.reply(102) !== undefined && a.reply(103) !== undefined);
    expect(a.reply(102)!.codeName).to.equal('ENETUNREACH');
    expect(a.reply(103)!.codeName).to.equal('OK');
    runUntil(p, () => b.datagrams(2).length === 2);
    expect(b.datagrams(2).map((d) => Buffer.from(d.payload).toString())).to.deep.equal(['before', 'wildcard']);
    expect(a.counters()['udp.tx.drop.ENETUNREACH'] ?? a.counters()['tx.drop.ENETUNREACH']).to.equal(1);
    // Re-added: the same socket sends again, with its own address.
    p.control('udpa', 'setAddresses', { addresses: ['192.0.2.1/24'] });
    a.send(1, 6000, '192.0.2.2', 'after', 104);
    runUntil(p, () => a.reply(104) !== undefined && b.datagrams(2).length === 3);
    expect(a.reply(104)!.codeName).to.equal('OK');
    const last = b.datagrams(2)[2];
    expect([Buffer.from(last.payload).toString(), fmt4(last.addr), last.port]).to.deep.equal(['after', '192.0.2.1', 5000]);
  });
});

describe('udp app records: the seal', () => {
  it('catches every single flipped byte of a sealed SEND or DATAGRAM record (or the flip only cleared the flag, payload intact)', () => {
    for (const [dir, kind] of [['request', REQ_SEND], ['event', EV_DATAGRAM]] as const) {
      const payload = new Uint8Array(301).map((_, i) => (i * 7 + 3) & 0xff);
      const rec = encodeAppRecord({ kind, sock: 5, family: 4, port: 7, addr: ip4('192.0.2.9') }, payload);
      sealAppRecord(rec, 0, rec.length, dir);
      expect(appRecordSealOk(rec, 0, rec.length, dir), `${dir}: sealed`).to.equal(true);
      for (let i = 0; i < rec.length; i++) {
        for (let bit = 0; bit < 8; bit++) {
          const bad = rec.slice();
          bad[i] ^= 1 << bit;
          const ok = appRecordSealOk(bad, 0, bad.length, dir);
          if (ok) {
            // Only a flip that removed the seal flag itself may pass, and then nothing else changed.
            expect([i, bad.subarray(56)], `${dir}: byte ${i} bit ${bit}`).to.deep.equal([3, rec.subarray(56)]);
          }
        }
      }
    }
  });
});
