// IPv4 multicast: the IP actor's IGMP host side inline on a fake clock (two IP actors back to
// back through recording taps, test/ip/lab.ts), and end to end with real workers: two Stacks on
// a wire, a dgram socket on B joins 239.1.2.3 and hears A's datagrams to the group until it
// drops the membership (the UDP actor's `membership` event -> the Stack -> IP joinGroup).

import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import { Stack } from '../../api/stack';
import type { RemoteInfo, Socket } from '../../api/dgram';
import { InlinePipeline } from '../../base/inline';
import { twoHosts, seen, core, inject, ipv4Frame, MAC_A, ip } from '../ip/lab';
import { checksum } from '../../protocol/checksum';
import { igmpMaxRespMs, parseIgmp } from '../../actors/ip/igmp';
import { once } from '../util';

interface Igmp { dst: string; dstMac: string; ttl: number; tos: number; ra: boolean; type: number; group: string; records: Array<{ type: number; group: string; nsrc: number }> }

const fmt = (b: Uint8Array, o: number): string => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;

/** IGMP messages in frames a tap recorded. */
function igmpOf(frames: Uint8Array[] | undefined): Igmp[] {
  const out: Igmp[] = [];
  for (const f of frames ?? []) {
    if (f[12] !== 0x08 || f[13] !== 0x00 || f[14 + 9] !== 2) continue;
    const hl = (f[14] & 15) * 4;
    const tl = (f[16] << 8) | f[17];
    const o = 14 + hl;
    const n = tl - hl;
    expect(checksum(f, o, n)).to.equal(0);
    expect(checksum(f, 14, hl)).to.equal(0);
    const records: Igmp['records'] = [];
    if (f[o] === 0x22) {
      let p = o + 8;
      for (let i = 0; i < ((f[o + 6] << 8) | f[o + 7]); i++) {
        const ns = (f[p + 2] << 8) | f[p + 3];
        records.push({ type: f[p], group: fmt(f, p + 4), nsrc: ns });
        p += 8 + 4 * ns + 4 * f[p + 1];
      }
    }
    out.push({
      dst: fmt(f, 30), dstMac: Buffer.from(f.subarray(0, 6)).toString('hex'), ttl: f[22], tos: f[15],
      ra: hl >= 24 && f[34] === 148 && f[35] === 4 && f[36] === 0 && f[37] === 0,
      type: f[o], group: fmt(f, o + 4), records,
    });
  }
  return out;
}

const h2 = (n: number): string => n.toString(16).padStart(2, '0');
/** RFC 1112 §6.4: 01:00:5e + the low 23 bits of the group. */
const groupMac = (d: number): string => `01:00:5e:${h2((d >>> 16) & 0x7f)}:${h2((d >>> 8) & 0xff)}:${h2(d & 0xff)}`;

function query(group: string, maxRespCode: number, v3: boolean, sources: string[] = []): Uint8Array {
  const m = new Uint8Array(v3 ? 12 + 4 * sources.length : 8);
  m[0] = 0x11;
  m[1] = maxRespCode;
  m.set(group.split('.').map(Number), 4);
  if (v3) {
    m[11] = sources.length;
    sources.forEach((s, i) => m.set(s.split('.').map(Number), 12 + 4 * i));
  }
  const c = checksum(m);
  m[2] = c >>> 8;
  m[3] = c & 0xff;
  return m;
}

function queryFrame(dst: string, m: Uint8Array): Uint8Array {
  const d = ip(dst);
  const mac = groupMac(d);
  return ipv4Frame(mac, MAC_A, { src: '192.0.2.1', dst, protocol: 2, ttl: 1, options: [{ type: 148, data: Uint8Array.of(0, 0) }] }, m);
}

function udpFrame(dst: string, dport: number, text: string): Uint8Array {
  const d = ip(dst);
  const mac = groupMac(d);
  const pl = Buffer.from(text);
  const u = new Uint8Array(8 + pl.length);
  u[0] = 0x30; u[1] = 0x39; // 12345
  u[2] = dport >>> 8; u[3] = dport & 0xff;
  u[4] = u.length >>> 8; u[5] = u.length & 0xff;
  u.set(pl, 8); // checksum 0: none (IPv4)
  return ipv4Frame(mac, MAC_A, { src: '192.0.2.1', dst, protocol: 17, ttl: 1 }, u);
}

describe('IGMP host side (inline, fake clock)', () => {
  let p: InlinePipeline;
  const bTx = (): Igmp[] => igmpOf(seen.get('ba'));
  const delivered = (): number => (seen.get('bu') ?? []).length;

  it('parses Max Resp Code (RFC 3376 §4.1.1) and rejects bad messages', () => {
    expect(igmpMaxRespMs(100)).to.equal(10_000);
    expect(igmpMaxRespMs(0x80)).to.equal((0x10 << 3) * 100);
    expect(parseIgmp(query('0.0.0.0', 100, false), 0, 8)?.queryVersion).to.equal(2);
    expect(parseIgmp(query('0.0.0.0', 0, false), 0, 8)?.queryVersion).to.equal(1);
    expect(parseIgmp(query('0.0.0.0', 100, true), 0, 12)?.queryVersion).to.equal(3);
    const bad = query('0.0.0.0', 100, false);
    bad[5] ^= 1;
    expect(parseIgmp(bad, 0, 8)).to.equal(null);
  });

  it('joins: IGMPv3 State-Change Report twice (TTL 1, Router Alert, 224.0.0.22), multicast for the group delivered until the leave', () => {
    p = twoHosts();
    p.run(2000);
    inject(p, 'b', 'rx:eth0', udpFrame('239.1.2.3', 5000, 'before'));
    p.settle();
    expect(delivered()).to.equal(0);
    expect(p.counters('b')['ip4.drop.not-for-us']).to.be.greaterThan(0);
    expect(p.control('b', 'joinGroup', { group: '239.1.2.3' })).to.deep.equal({ group: '239.1.2.3', joined: ['eth0'] });
    p.run(4000);
    const joins = bTx().filter((m) => m.type === 0x22);
    expect(joins.length).to.equal(2);
    for (const m of joins) {
      expect(m).to.deep.include({ dst: '224.0.0.22', dstMac: '01005e000016', ttl: 1, ra: true, tos: 0xc0 });
      expect(m.records).to.deep.equal([{ type: 4, group: '239.1.2.3', nsrc: 0 }]);
    }
    inject(p, 'b', 'rx:eth0', udpFrame('239.1.2.3', 5000, 'joined'));
    p.settle();
    expect(delivered()).to.equal(1);
    const st = core(p, 'b').status() as { interfaces: Array<{ groups4: string[] }> };
    expect(st.interfaces[0].groups4).to.deep.equal(['224.0.0.1', '239.1.2.3']);
    // A second join only counts; the leave of one join keeps the group.
    p.control('b', 'joinGroup', { group: '239.1.2.3' });
    expect(p.control('b', 'leaveGroup', { group: '239.1.2.3' })).to.deep.equal({ group: '239.1.2.3', left: [] });
    expect(p.control('b', 'leaveGroup', { group: '239.1.2.3' })).to.deep.equal({ group: '239.1.2.3', left: ['eth0'] });
    p.run(7000);
    const leaves = bTx().filter((m) => m.type === 0x22 && m.records[0].type === 3);
    expect(leaves.length).to.equal(2);
    inject(p, 'b', 'rx:eth0', udpFrame('239.1.2.3', 5000, 'left'));
    p.settle();
    expect(delivered()).to.equal(1);
    const c = p.counters('b');
    expect(c['igmp.join']).to.equal(1);
    expect(c['igmp.leave']).to.equal(1);
    expect(c['igmp.tx.state-change']).to.equal(4);
    expect(() => p.control('b', 'joinGroup', { group: '192.0.2.9' })).to.throw(/not an IPv4 multicast/);
  });

  it('answers v3 general and group-specific queries within Max Resp Time; group-and-source queries with IS_IN', () => {
    p = twoHosts();
    p.control('b', 'joinGroup', { group: '239.1.2.3' });
    p.control('b', 'joinGroup', { group: '239.9.9.9' });
    p.run(5000);
    seen.get('ba')!.length = 0;
    inject(p, 'b', 'rx:eth0', queryFrame('224.0.0.1', query('0.0.0.0', 20, true))); // 2 s
    p.run(5000 + 1999);
    p.run(7001);
    let r = bTx();
    expect(r.length).to.equal(1);
    expect(r[0].records.map((x) => [x.type, x.group]).sort()).to.deep.equal([[2, '239.1.2.3'], [2, '239.9.9.9']]);
    seen.get('ba')!.length = 0;
    inject(p, 'b', 'rx:eth0', queryFrame('239.9.9.9', query('239.9.9.9', 10, true)));
    inject(p, 'b', 'rx:eth0', queryFrame('239.7.7.7', query('239.7.7.7', 10, true))); // not ours: not even received
    inject(p, 'b', 'rx:eth0', queryFrame('239.1.2.3', query('239.1.2.3', 10, true, ['192.0.2.77'])));
    p.run(8100);
    r = bTx();
    expect(r.flatMap((m) => m.records).map((x) => [x.type, x.group, x.nsrc]).sort()).to.deep.equal([[1, '239.1.2.3', 1], [2, '239.9.9.9', 0]]);
    expect(p.counters('b')['igmp.rx.query.v3']).to.equal(3);
  });

  it('falls back to IGMPv2 after a v2 query: v2 reports to the group, report suppression, Leave Group to 224.0.0.2', () => {
    p = twoHosts();
    p.control('b', 'joinGroup', { group: '239.1.2.3' });
    p.run(5000);
    seen.get('ba')!.length = 0;
    inject(p, 'b', 'rx:eth0', queryFrame('224.0.0.1', query('0.0.0.0', 100, false)));
    p.run(16000);
    let r = bTx();
    expect(r.length).to.equal(1);
    expect(r[0]).to.deep.include({ type: 0x16, dst: '239.1.2.3', group: '239.1.2.3', dstMac: '01005e010203', ttl: 1, ra: true });
    // Another host's report for the group while our timer runs: ours is suppressed.
    seen.get('ba')!.length = 0;
    inject(p, 'b', 'rx:eth0', queryFrame('224.0.0.1', query('0.0.0.0', 100, false)));
    const rep = new Uint8Array(8);
    rep[0] = 0x16;
    rep.set([239, 1, 2, 3], 4);
    const c = checksum(rep);
    rep[2] = c >>> 8; rep[3] = c & 0xff;
    inject(p, 'b', 'rx:eth0', queryFrame('239.1.2.3', rep));
    p.run(27000);
    expect(bTx().length).to.equal(0);
    expect(p.counters('b')['igmp.suppressed']).to.equal(1);
    p.control('b', 'leaveGroup', { group: '239.1.2.3' });
    p.run(28000);
    r = bTx();
    expect(r.map((m) => [m.type, m.dst, m.group])).to.deep.equal([[0x17, '224.0.0.2', '239.1.2.3']]);
    // igmpVersion 2 by config: joins send two v2 reports.
    p = twoHosts({}, { igmpVersion: 2 });
    p.control('b', 'joinGroup', { group: '239.4.4.4' });
    p.run(30000);
    expect(bTx().map((m) => [m.type, m.dst])).to.deep.equal([[0x16, '239.4.4.4'], [0x16, '239.4.4.4']]);
  });

  it('a v1 query (Max Resp 0) gets a v1 report within 10 s', () => {
    p = twoHosts();
    p.control('b', 'joinGroup', { group: '239.1.2.3' });
    p.run(5000);
    seen.get('ba')!.length = 0;
    inject(p, 'b', 'rx:eth0', queryFrame('224.0.0.1', query('0.0.0.0', 0, false)));
    p.run(15001);
    expect(bTx().map((m) => [m.type, m.dst])).to.deep.equal([[0x12, '239.1.2.3']]);
  });
});


const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('udp multicast end to end (two stacks on a wire, threaded)', function () {
  this.timeout(60000);
  let A: Stack;
  let B: Stack;

  before(async () => {
    const sup = { spares: 1, hangTimeoutMs: 1000 };
    A = new Stack({ name: 'ma', links: [{ name: 'w0', type: 'wire', addresses: ['192.0.2.1/24'] }], supervisor: sup });
    B = new Stack({ name: 'mb', links: [{ name: 'w0', type: 'wire', addresses: ['192.0.2.2/24'] }], supervisor: sup });
    await A.start();
    await B.start();
    await Stack.join(A, 'w0', B, 'w0');
  });

  after(async () => {
    await A?.stop();
    await B?.stop();
  });

  it('a socket that joined 239.1.2.3 receives datagrams to the group, and none after dropMembership', async () => {
    const b: Socket = B.dgram.createSocket({ type: 'udp4', reuseAddr: true });
    await new Promise<void>((r) => b.bind(5353, r));
    b.addMembership('239.1.2.3');
    const a = A.dgram.createSocket('udp4');
    // The membership reaches IP asynchronously (UDP event -> Stack -> IP control op): retry.
    let got: [Buffer, RemoteInfo] | null = null;
    for (let i = 0; i < 20 && !got; i++) {
      const p = once<[Buffer, RemoteInfo]>(b, 'message', 250);
      a.send(`to the group ${i}`, 5353, '239.1.2.3');
      got = await p.catch(() => null);
    }
    expect(got).to.not.equal(null);
    expect(got![0].toString()).to.match(/^to the group \d+$/);
    expect(got![1]).to.deep.include({ address: '192.0.2.1', family: 'IPv4' });
    const ipB = B.supervisor.counters('ip');
    expect(ipB['igmp.join']).to.equal(1);
    expect(ipB['igmp.tx']).to.be.greaterThan(0);
    expect(B.supervisor.counters('udp')['membership.join']).to.equal(1);
    const st = (await B.control('ip', 'status')) as { interfaces: Array<{ groups4: string[] }> };
    expect(st.interfaces[0].groups4).to.include('239.1.2.3');

    b.dropMembership('239.1.2.3');
    // Wait until IP has left the group, then nothing arrives.
    for (let i = 0; i < 50; i++) {
      if ((B.supervisor.counters('ip')['igmp.leave'] ?? 0) >= 1) break;
      await sleep(50);
    }
    expect(B.supervisor.counters('ip')['igmp.leave']).to.equal(1);
    let late = 0;
    b.on('message', () => late++);
    for (let i = 0; i < 5; i++) a.send('after the drop', 5353, '239.1.2.3');
    await sleep(500);
    expect(late).to.equal(0);
    expect(B.supervisor.counters('ip')['ip4.drop.not-for-us']).to.be.greaterThan(0);
    a.close();
    b.close();
  });

  it('closing the last member socket leaves the group too', async () => {
    const s1 = B.dgram.createSocket({ type: 'udp4', reuseAddr: true });
    const s2 = B.dgram.createSocket({ type: 'udp4', reuseAddr: true });
    await new Promise<void>((r) => s1.bind(5454, r));
    await new Promise<void>((r) => s2.bind(5454, r));
    s1.addMembership('239.5.5.5');
    s2.addMembership('239.5.5.5');
    for (let i = 0; i < 50 && (B.supervisor.counters('ip')['igmp.join'] ?? 0) < 2; i++) await sleep(50);
    expect(B.supervisor.counters('ip')['igmp.join']).to.equal(2);
    s1.close();
    await sleep(300);
    expect(B.supervisor.counters('ip')['igmp.leave']).to.equal(1); // the first test's leave only
    s2.close();
    for (let i = 0; i < 50 && (B.supervisor.counters('ip')['igmp.leave'] ?? 0) < 2; i++) await sleep(50);
    expect(B.supervisor.counters('ip')['igmp.leave']).to.equal(2);
  });
});
