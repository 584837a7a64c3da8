// ARP and the neighbour cache: RFC 4861 NUD states over fake time, gratuitous ARP, conflicts,
// answering only for our own addresses, resolution failure, the bounded queue.

import { expect } from 'chai';
import { emitArp, parseArp } from '../../protocol/arp';
import { parseMac } from '../../protocol/address';
import { arpFrames, core, inject, ip, seen, twoHosts, filters, MAC_A, MAC_B, ipFrames } from './lab';

function arpFrame(op: 1 | 2, senderMac: string, senderIp: string, targetMac: string, targetIp: string, dstMac = 'ff:ff:ff:ff:ff:ff'): Uint8Array {
  const f = new Uint8Array(14 + 28);
  f.set(parseMac(dstMac)!, 0);
  f.set(parseMac(senderMac)!, 6);
  f[12] = 0x08;
  f[13] = 0x06;
  emitArp({ op, senderMac: parseMac(senderMac)!, senderIp: ip(senderIp), targetMac: parseMac(targetMac)!, targetIp: ip(targetIp) }, f, 14);
  return f;
}

function state(p: ReturnType<typeof twoHosts>, who: string, addr: string): string | undefined {
  const l = p.control(who, 'neighbors', {}) as Array<{ addr: string; state: string }>;
  return l.find((n) => n.addr === addr)?.state;
}

describe('ip: neighbour cache (ARP, RFC 4861 NUD)', () => {
  it('walks REACHABLE -> STALE -> DELAY -> PROBE -> REACHABLE on fake time', () => {
    const p = twoHosts({ neighbor: { reachableMs: 10_000 } });
    p.settle();
    p.control('a', 'ping', { dst: '192.0.2.2' });
    p.settle();
    expect(state(p, 'a', '192.0.2.2')).to.equal('REACHABLE');
    // ReachableTime is drawn from [0.5, 1.5) x 10 s: STALE by 15 s.
    p.run(p.clock.now() + 15_001);
    expect(state(p, 'a', '192.0.2.2')).to.equal('STALE');
    // Sending moves STALE -> DELAY (and uses the cached MAC at once).
    expect((p.control('a', 'ping', { dst: '192.0.2.2', seq: 2 }) as { result: string }).result).to.equal('sent');
    expect(state(p, 'a', '192.0.2.2')).to.equal('DELAY');
    // Nothing confirms within DELAY_FIRST_PROBE_TIME (echo replies are not confirmations).
    p.settle();
    const requestsBefore = p.counters('a')['arp.tx.request'];
    p.run(p.clock.now() + 5000, () => state(p, 'a', '192.0.2.2') !== 'DELAY');
    expect(state(p, 'a', '192.0.2.2')).to.be.oneOf(['PROBE', 'REACHABLE']);
    p.settle();
    // The unicast probe went to b's MAC, b replied, the entry is REACHABLE again.
    expect(p.counters('a')['arp.tx.request']).to.equal(requestsBefore + 1);
    const probe = arpFrames(seen.get('ab')).pop()!;
    expect([...probe.subarray(0, 6)]).to.deep.equal([...parseMac(MAC_B)!]);
    expect(state(p, 'a', '192.0.2.2')).to.equal('REACHABLE');
    expect(p.counters('a')['neigh.state.probe']).to.equal(1);
    expect(p.counters('a')['neigh.state.delay']).to.equal(1);
  });

  it('deletes an entry after MAX_UNICAST_SOLICIT unanswered probes', () => {
    const p = twoHosts({ neighbor: { reachableMs: 1000 } });
    p.settle();
    p.control('a', 'ping', { dst: '192.0.2.2' });
    p.settle();
    filters.set('ba', () => null); // b's answers are lost from now on
    p.run(p.clock.now() + 2000);
    expect(state(p, 'a', '192.0.2.2')).to.equal('STALE');
    p.control('a', 'ping', { dst: '192.0.2.2', seq: 2 });
    p.run(p.clock.now() + 5000 + 3 * 1000 + 10);
    expect(state(p, 'a', '192.0.2.2')).to.equal(undefined);
    expect(p.counters('a')['neigh.failed']).to.equal(1);
  });

  it('gives up resolving after 3 broadcast requests and drops the queue', () => {
    const p = twoHosts();
    p.settle();
    p.control('a', 'ping', { dst: '192.0.2.77' });
    p.control('a', 'ping', { dst: '192.0.2.77', seq: 2 });
    p.run(p.clock.now() + 3 * 1000 + 10);
    expect(state(p, 'a', '192.0.2.77')).to.equal(undefined);
    expect(p.counters('a')['arp.tx.request']).to.equal(3);
    expect(p.counters('a')['ip4.drop.unresolved']).to.equal(2);
  });

  it('bounds the queue of an unresolved neighbour', () => {
    const p = twoHosts({ neighbor: { queueLen: 4 } });
    p.settle();
    for (let s = 0; s < 10; s++) p.control('a', 'ping', { dst: '192.0.2.77', seq: s });
    expect(p.counters('a')['neigh.drop.queue-full']).to.equal(6);
    const n = (p.control('a', 'neighbors', {}) as Array<{ queued: number; state: string }>)[0];
    expect(n).to.include({ queued: 4, state: 'INCOMPLETE' });
  });

  it('announces addresses with gratuitous ARP at start and on addAddress', () => {
    const p = twoHosts();
    p.settle();
    let ann = arpFrames(seen.get('ab')).map((f) => parseArp(f, 14, 28)).filter((r) => r.ok).map((r) => r.ok && r.value);
    expect(ann).to.have.length(1);
    expect(ann[0]).to.include({ op: 1, senderIp: ip('192.0.2.1'), targetIp: ip('192.0.2.1') });
    p.control('a', 'addAddress', { iface: 'eth0', address: '192.0.2.10/24' });
    p.settle();
    ann = arpFrames(seen.get('ab')).map((f) => parseArp(f, 14, 28)).filter((r) => r.ok).map((r) => r.ok && r.value);
    expect(ann).to.have.length(2);
    expect(ann[1]).to.include({ senderIp: ip('192.0.2.10'), targetIp: ip('192.0.2.10') });
    // b does not create entries from announcements not meant for it (RFC 826: only "if I am
    // the target"), but a ping to the new address works.
    expect(state(p, 'b', '192.0.2.10')).to.equal(undefined);
    p.control('b', 'ping', { dst: '192.0.2.10' });
    p.settle();
    expect((p.control('b', 'echoReplies', {}) as Array<{ from: string }>)[0].from).to.equal('192.0.2.10');
  });

  it('answers ARP only for its own addresses', () => {
    const p = twoHosts();
    p.settle();
    const ignored = p.counters('b')['arp.ignored'] ?? 0;
    inject(p, 'b', 'rx:eth0', arpFrame(1, '02:00:00:00:00:99', '192.0.2.99', '00:00:00:00:00:00', '192.0.2.50'));
    inject(p, 'b', 'rx:eth0', arpFrame(1, '02:00:00:00:00:99', '192.0.2.99', '00:00:00:00:00:00', '192.0.2.1'));
    p.settle();
    expect(p.counters('b')['arp.tx.reply'] ?? 0).to.equal(0);
    expect(p.counters('b')['arp.ignored']).to.equal(ignored + 2);
    inject(p, 'b', 'rx:eth0', arpFrame(1, '02:00:00:00:00:99', '192.0.2.99', '00:00:00:00:00:00', '192.0.2.2'));
    p.settle();
    expect(p.counters('b')['arp.tx.reply']).to.equal(1);
    const reply = parseArp(arpFrames(seen.get('ba')).pop()!, 14, 28);
    expect(reply.ok && reply.value).to.include({ op: 2, senderIp: ip('192.0.2.2'), targetIp: ip('192.0.2.99') });
    expect(state(p, 'b', '192.0.2.99')).to.equal('STALE');
  });

  it('detects an address conflict, emits it and defends once per 10 s', () => {
    const p = twoHosts();
    p.settle();
    const before = p.counters('b')['arp.tx.announce'];
    const bad = arpFrame(2, '02:00:00:00:00:66', '192.0.2.2', '00:00:00:00:00:00', '192.0.2.2');
    inject(p, 'b', 'rx:eth0', bad);
    inject(p, 'b', 'rx:eth0', bad);
    p.settle();
    const ev = p.events.filter((e) => e.event === 'conflict');
    expect(ev).to.have.length(2);
    expect(ev[0]).to.deep.include({ name: 'b', data: { iface: 'eth0', address: '192.0.2.2', mac: '02:00:00:00:00:66' } });
    expect(p.counters('b')['arp.tx.announce']).to.equal(before + 1);
    p.run(p.clock.now() + 10_000);
    inject(p, 'b', 'rx:eth0', bad);
    p.settle();
    expect(p.counters('b')['arp.tx.announce']).to.equal(before + 2);
  });

  it('updates a changed MAC to STALE (RFC 4861 §7.2.3) and flushes on link down', () => {
    const p = twoHosts();
    p.settle();
    p.control('a', 'ping', { dst: '192.0.2.2' });
    p.settle();
    inject(p, 'a', 'rx:eth0', arpFrame(1, '02:00:00:00:00:77', '192.0.2.2', '00:00:00:00:00:00', '192.0.2.1'));
    const n = (p.control('a', 'neighbors', {}) as Array<{ mac: string; state: string }>)[0];
    expect(n).to.include({ mac: '02:00:00:00:00:77', state: 'STALE' });
    p.control('a', 'setLinkState', { iface: 'eth0', up: false });
    expect(p.control('a', 'neighbors', {})).to.deep.equal([]);
    expect((p.control('a', 'ping', { dst: '192.0.2.2' }) as { result: string }).result).to.equal('no-route');
    p.control('a', 'setLinkState', { iface: 'eth0', up: true });
    expect((p.control('a', 'ping', { dst: '192.0.2.2' }) as { result: string }).result).to.equal('queued');
    void core;
    void MAC_A;
    void ipFrames;
  });
});
