// Test fixtures for the IP actor: a "tap" actor that records every record passing through it
// and forwards it (input `in` -> output `out`) through an optional filter that may drop or
// mangle it; and builders for two IP actors joined back to back through taps, on a fake clock.

import * as path from 'node:path';
import type { ActorContext, ActorCore } from '../../base/actor';
import { InlinePipeline } from '../../base/inline';
import { registerKind } from '../../base/registry';
import type { PipelineSpec, ActorSpec, LinkSpec } from '../../base/types';
import { IpCore } from '../../actors/ip/actor';

/** A tap's filter: pass (return the record, maybe mangled), drop (null), or send several
 *  (duplicates, held-back frames for reordering). */
export type Filter = (rec: Uint8Array) => Uint8Array | Uint8Array[] | null;

/** Records seen per tap actor name, and the filter each applies. */
export const seen = new Map<string, Uint8Array[]>();
export const filters = new Map<string, Filter>();

export function create(ctx: ActorContext): ActorCore {
  const list: Uint8Array[] = [];
  seen.set(ctx.name, list);
  return {
    onRecord(_port, bytes, off, len) {
      const rec = bytes.slice(off, off + len);
      const f = filters.get(ctx.name);
      const out = ctx.out('out');
      if (out && out.free() < 4 * (len + 64)) return false; // room for what a filter may emit
      list.push(rec);
      const res = f ? f(rec) : rec;
      if (!res || !out) return;
      for (const r of Array.isArray(res) ? res : [res]) {
        const at = out.tryReserve(r.length);
        if (at < 0) return;
        out.bytes.set(r, at);
        out.commit(r.length, false);
      }
    },
  };
}

registerKind('iptap', path.join(__dirname, 'lab'));

export const MAC_A = '02:00:00:00:00:0a';
export const MAC_B = '02:00:00:00:00:0b';
export const MAC_R0 = '02:00:00:00:01:00';
export const MAC_R1 = '02:00:00:00:01:01';

/** Two hosts on one link: a (192.0.2.1/24) and b (192.0.2.2/24), joined through taps
 *  `ab` (frames a -> b) and `ba` (b -> a). Extra IP config is merged into both. */
export function twoHosts(extraA: Record<string, unknown> = {}, extraB: Record<string, unknown> = {}, opts: { mtu?: number; seed?: number } = {}): InlinePipeline {
  filters.clear();
  const spec: PipelineSpec = {
    actors: [
      { name: 'a', kind: 'ip', config: { interfaces: [{ name: 'eth0', mac: MAC_A, mtu: opts.mtu ?? 1500, addresses: ['192.0.2.1/24'] }], ...extraA } },
      { name: 'b', kind: 'ip', config: { interfaces: [{ name: 'eth0', mac: MAC_B, mtu: opts.mtu ?? 1500, addresses: ['192.0.2.2/24'] }], ...extraB } },
      { name: 'ab', kind: 'iptap' },
      { name: 'ba', kind: 'iptap' },
      { name: 'bu', kind: 'iptap' },
    ],
    links: [
      { from: 'a.tx:eth0', to: 'ab.in' },
      { from: 'ab.out', to: 'b.rx:eth0' },
      { from: 'b.tx:eth0', to: 'ba.in' },
      { from: 'ba.out', to: 'a.rx:eth0' },
      { from: 'b.udp', to: 'bu.in' },
    ],
  };
  return new InlinePipeline(spec, { seed: opts.seed ?? 1, startMs: 1000 });
}

/** a (192.0.2.1) -- r (192.0.2.254 | 198.51.100.254, forwarding) -- c (198.51.100.3). */
export function routed(rExtra: Record<string, unknown> = {}): InlinePipeline {
  filters.clear();
  const actors: ActorSpec[] = [
    { name: 'a', kind: 'ip', config: { interfaces: [{ name: 'eth0', mac: MAC_A, addresses: ['192.0.2.1/24'] }], routes: [{ dest: 'default', gateway: '192.0.2.254' }] } },
    { name: 'r', kind: 'ip', config: {
      forwarding: true,
      interfaces: [
        { name: 'eth0', mac: MAC_R0, addresses: ['192.0.2.254/24'] },
        { name: 'eth1', mac: MAC_R1, mtu: 1000, addresses: ['198.51.100.254/24'] },
      ],
      ...rExtra,
    } },
    { name: 'c', kind: 'ip', config: { interfaces: [{ name: 'eth0', mac: MAC_B, addresses: ['198.51.100.3/24'] }], routes: [{ dest: 'default', gateway: '198.51.100.254' }] } },
  ];
  const links: LinkSpec[] = [];
  const wire = (x: string, xi: string, y: string, yi: string): void => {
    const t1 = `${x}_${y}`;
    const t2 = `${y}_${x}`;
    actors.push({ name: t1, kind: 'iptap' }, { name: t2, kind: 'iptap' });
    links.push({ from: `${x}.tx:${xi}`, to: `${t1}.in` }, { from: `${t1}.out`, to: `${y}.rx:${yi}` });
    links.push({ from: `${y}.tx:${yi}`, to: `${t2}.in` }, { from: `${t2}.out`, to: `${x}.rx:${xi}` });
  };
  wire('a', 'eth0', 'r', 'eth0');
  wire('r', 'eth1', 'c', 'eth0');
  return new InlinePipeline({ actors, links }, { seed: 3, startMs: 1000 });
}

export function core(p: InlinePipeline, name: string): IpCore {
  return p.runner(name).core as IpCore;
}

/** Injects a frame straight into an actor's input port (as if the NIC delivered it). */
export function inject(p: InlinePipeline, name: string, port: string, frame: Uint8Array): void {
  p.runner(name).core.onRecord(port, frame, 0, frame.length);
}

import { parseMac, parseIpv4 } from '../../protocol/address';
import { emitIpv4Header, ipv4Header, Ipv4Header } from '../../protocol/ipv4';
import { emitIcmpv4 } from '../../protocol/icmpv4';

export const ip = (s: string): number => parseIpv4(s)!;

/** An Ethernet frame carrying an IPv4 datagram built from `h` fields and `payload`. */
export function ipv4Frame(
  dstMac: string, srcMac: string,
  fields: Omit<Partial<Ipv4Header>, 'src' | 'dst'> & { src: string; dst: string; protocol: number },
  payload: Uint8Array,
): Uint8Array {
  const h = ipv4Header({ ...fields, src: ip(fields.src), dst: ip(fields.dst), payloadLen: payload.length, dontFragment: fields.dontFragment ?? false });
  const f = new Uint8Array(14 + h.headerLen + payload.length);
  f.set(parseMac(dstMac)!, 0);
  f.set(parseMac(srcMac)!, 6);
  f[12] = 0x08;
  f[13] = 0x00;
  f.set(payload, 14 + h.headerLen);
  emitIpv4Header(h, f, 14);
  return f;
}

export function echoRequest(ident: number, seq: number, data: Uint8Array): Uint8Array {
  const m = new Uint8Array(8 + data.length);
  m.set(data, 8);
  emitIcmpv4({ type: 8, code: 0, ident, seq }, m, 0, data.length);
  return m;
}

export function etherType(f: Uint8Array): number {
  return (f[12] << 8) | f[13];
}

/** IPv4 frames only, as [frame, ipOffset]. */
export function ipFrames(list: Uint8Array[] | undefined): Uint8Array[] {
  return (list ?? []).filter((f) => etherType(f) === 0x0800);
}

export function arpFrames(list: Uint8Array[] | undefined): Uint8Array[] {
  return (list ?? []).filter((f) => etherType(f) === 0x0806);
}
