// Test actor standing in for the IP layer in the NIC interop tests: answers ICMP echo requests
// (RFC 792) addressed to its IPv4 address, and ARP requests for it (RFC 826), from input 'in'
// (the NIC's rx) to output 'out' (the NIC's tx). Counts 'echoed', 'arp', 'ignored'.
// Config: { ip: '192.0.2.2', mac: '02:..' }.

import type { ActorContext, ActorCore } from '../../base/actor';
import { checksum } from '../../protocol/checksum';
import { parseMac } from '../../actors/nic/link';

export function create(ctx: ActorContext, config: unknown): ActorCore {
  const cfg = config as { ip: string; mac: string };
  const ip = cfg.ip.split('.').map(Number);
  const mac = parseMac(cfg.mac);
  const sEcho = ctx.counters.slot('echoed');
  const sArp = ctx.counters.slot('arp');
  const sIgn = ctx.counters.slot('ignored');
  const isMine = (b: Uint8Array, o: number): boolean => b[o] === ip[0] && b[o + 1] === ip[1] && b[o + 2] === ip[2] && b[o + 3] === ip[3];

  return {
    onRecord(_port, b, off, len) {
      const out = ctx.out('out');
      if (!out) return;
      const type = (b[off + 12] << 8) | b[off + 13];
      if (type === 0x0806 && len >= 42 && b[off + 21] === 1 && isMine(b, off + 38)) {
        const at = out.tryReserve(42);
        if (at < 0) return false;
        const r = out.bytes;
        r.set(b.subarray(off + 6, off + 12), at); // to the asker
        r.set(mac, at + 6);
        r.set(b.subarray(off + 12, off + 20), at + 12); // ethertype, htype, ptype, hlen, plen
        r[at + 20] = 0;
        r[at + 21] = 2; // reply
        r.set(mac, at + 22);
        r.set(b.subarray(off + 38, off + 42), at + 28);
        r.set(b.subarray(off + 22, off + 32), at + 32); // sender hw + proto -> target
        out.commit(42, false);
        ctx.counters.addSlot(sArp);
        return;
      }
      if (type !== 0x0800 || len < 34) return void ctx.counters.addSlot(sIgn);
      const ihl = (b[off + 14] & 0x0f) * 4;
      const icmp = off + 14 + ihl;
      if (b[off + 23] !== 1 || !isMine(b, off + 30) || icmp + 8 > off + len || b[icmp] !== 8) return void ctx.counters.addSlot(sIgn);
      const at = out.tryReserve(len);
      if (at < 0) return false;
      const r = out.bytes;
      r.set(b.subarray(off, off + len), at);
      r.set(b.subarray(off + 6, off + 12), at); // dst = requester
      r.set(mac, at + 6);
      r.set(b.subarray(off + 30, off + 34), at + 26); // swap addresses: the IP checksum stays valid
      r.set(b.subarray(off + 26, off + 30), at + 30);
      const ri = at + 14 + ihl;
      r[ri] = 0; // echo reply
      r[ri + 2] = 0;
      r[ri + 3] = 0;
      const ipLen = (b[off + 16] << 8) | b[off + 17];
      const cs = checksum(r, ri, ipLen - ihl);
      r[ri + 2] = cs >> 8;
      r[ri + 3] = cs & 0xff;
      out.commit(len, false);
      ctx.counters.addSlot(sEcho);
    },
  };
}
