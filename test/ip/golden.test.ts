// Golden replays of real Linux captures (test/fixtures/capture-v4.sh): the frames Linux host A
// sent are fed to our IP actor playing host B (same MAC and addresses), and what we send back is
// compared with what Linux B sent: ARP replies byte for byte, echo replies by ICMP message
// (including a fragmented 3000-byte ping reassembled on both sides), Fragmentation Needed from a
// router by ICMP message.

import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InlinePipeline } from '../../base/inline';
import { readPcap } from '../../protocol/pcap';
import { parseIpv4Header } from '../../protocol/ipv4';
import { Reassembler } from '../../actors/ip/reassembly';
import { MAC_A, MAC_B, etherType, inject, seen } from './lab';

const FIXTURES = path.join(__dirname, '..', '..', '..', 'test', 'fixtures');

function frames(file: string): Uint8Array[] {
  const r = readPcap(new Uint8Array(fs.readFileSync(path.join(FIXTURES, file))));
  if (!r.ok) throw new Error(r.reason);
  return r.value.records.map((x) => x.data);
}

const fromA = (f: Uint8Array): boolean => Buffer.from(f.subarray(6, 12)).equals(Buffer.from([2, 0, 0, 0, 0, 0x0a]));

/** The ICMP messages of the IPv4 frames in `list`, reassembling fragments. */
function icmpMessages(list: Uint8Array[]): Buffer[] {
  const r = new Reassembler();
  const out: Buffer[] = [];
  for (const f of list) {
    if (etherType(f) !== 0x0800) continue;
    const h = parseIpv4Header(f, 14, f.length - 14);
    if (!h.ok || h.value.protocol !== 1) continue;
    let d: Uint8Array = f.subarray(14);
    let hl = h.value.headerLen;
    if (h.value.moreFragments || h.value.fragOffset !== 0) {
      const o = r.input(f, 14, h.value, 1, 0);
      if (o.kind !== 'done') continue;
      d = o.datagram;
      hl = (d[0] & 15) * 4;
    }
    out.push(Buffer.from(d.subarray(hl, ((d[2] << 8) | d[3]))));
  }
  return out;
}

function hostB(extra: Record<string, unknown> = {}, ifaces?: unknown[]): InlinePipeline {
  return new InlinePipeline({
    actors: [
      { name: 'b', kind: 'ip', config: { interfaces: ifaces ?? [{ name: 'eth0', mac: MAC_B, addresses: ['192.0.2.2/24'] }], ...extra } },
      { name: 'out', kind: 'iptap' },
    ],
    links: [{ from: 'b.tx:eth0', to: 'out.in' }],
  }, { startMs: 1000 });
}

describe('ip: golden replays of Linux captures', () => {
  it('answers ARP and echo requests as Linux does (v4-arp-icmp.pcap)', () => {
    const cap = frames('v4-arp-icmp.pcap');
    const p = hostB();
    p.settle();
    seen.get('out')!.length = 0; // our own announcement
    for (const f of cap.filter(fromA)) inject(p, 'b', 'rx:eth0', f);
    p.settle();
    const ours = seen.get('out')!;
    const linux = cap.filter((f) => !fromA(f));
    const arpOurs = ours.filter((f) => etherType(f) === 0x0806);
    const arpLinux = linux.filter((f) => etherType(f) === 0x0806);
    expect(arpOurs).to.have.length(arpLinux.length);
    for (let i = 0; i < arpLinux.length; i++) {
      expect(Buffer.from(arpOurs[i].subarray(0, 42)).toString('hex')).to.equal(Buffer.from(arpLinux[i].subarray(0, 42)).toString('hex'));
      expect(arpOurs[i].subarray(42).every((x) => x === 0)).to.equal(true);
    }
    const mine = icmpMessages(ours).map((b) => b.toString('hex'));
    const theirs = icmpMessages(linux).map((b) => b.toString('hex'));
    expect(mine).to.have.length(2);
    expect(mine).to.deep.equal(theirs);
  });

  it('answers echo requests carrying IP options with the same ICMP message (v4-options.pcap)', () => {
    const cap = frames('v4-options.pcap');
    const p = hostB();
    p.settle();
    seen.get('out')!.length = 0;
    // Linux B already knew A; teach ours with A's ARP request first.
    for (const f of frames('v4-arp-icmp.pcap').filter(fromA).slice(0, 1)) inject(p, 'b', 'rx:eth0', f);
    for (const f of cap.filter(fromA)) inject(p, 'b', 'rx:eth0', f);
    p.settle();
    const mine = icmpMessages(seen.get('out')!).map((b) => b.toString('hex'));
    const theirs = icmpMessages(cap.filter((f) => !fromA(f))).map((b) => b.toString('hex'));
    expect(theirs).to.have.length(2);
    expect(mine).to.deep.equal(theirs);
    // RFC 1122 §3.2.2.6: the reply carries the request's Record Route / Timestamp, updated
    // with this host on arrival and on departure, as Linux does.
    const opts = (list: Uint8Array[]): Array<{ type: number; data: Buffer }> => list.filter((f) => etherType(f) === 0x0800).map((f) => {
      const h = parseIpv4Header(f, 14, f.length - 14);
      if (!h.ok) throw new Error(h.reason);
      const o = h.value.options.find((x) => x.type === 7 || x.type === 68)!;
      return { type: o.type, data: Buffer.from(o.data!) };
    });
    const ourOpts = opts(seen.get('out')!);
    const linuxOpts = opts(cap.filter((f) => !fromA(f)));
    expect(ourOpts[0]).to.deep.equal(linuxOpts[0]); // Record Route: identical bytes
    expect(ourOpts[1].type).to.equal(68);
    expect(ourOpts[1].data.subarray(0, 2)).to.deep.equal(linuxOpts[1].data.subarray(0, 2)); // pointer, oflw/flg
    expect(ourOpts[1].data.readUInt32BE(2)).to.equal(linuxOpts[1].data.readUInt32BE(2)); // A's own stamp kept
  });

  it('sends the same Fragmentation Needed as a Linux router (v4-fragneeded.pcap)', () => {
    const cap = frames('v4-fragneeded.pcap');
    const p = hostB({ forwarding: true }, [
      { name: 'eth0', mac: MAC_B, addresses: ['192.0.2.2/24'] },
      { name: 'eth1', mac: '02:00:00:00:00:0c', mtu: 1280, addresses: ['203.0.113.1/24'] },
    ]);
    p.settle();
    seen.get('out')!.length = 0;
    for (const f of frames('v4-arp-icmp.pcap').filter(fromA).slice(0, 1)) inject(p, 'b', 'rx:eth0', f);
    const req = cap.filter(fromA).filter((f) => etherType(f) === 0x0800)[0];
    inject(p, 'b', 'rx:eth0', req);
    p.settle();
    const mine = icmpMessages(seen.get('out')!);
    const theirs = icmpMessages(cap.filter((f) => !fromA(f)));
    expect(mine.length).to.be.at.least(1);
    expect(mine[0].toString('hex')).to.equal(theirs[0].toString('hex'));
    void MAC_A;
  });
});
