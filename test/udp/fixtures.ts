// Fixtures for the UDP tests: an inline "app" actor kind (requests queued by the test go out on
// `out`, records from the UDP actor are collected from `in`), and two hosts (IP + UDP + app
// each) joined back to back on a fake clock, with helpers that speak app-records.ts.

import * as path from 'node:path';
import type { ActorContext, ActorCore } from '../../base/actor';
import { InlinePipeline } from '../../base/inline';
import { registerKind } from '../../base/registry';
import type { PipelineSpec } from '../../base/types';
import { parseIpv4 } from '../../protocol/address';
import {
  AppRecord, decodeAppRecord, emptyRecord, encodeAppRecord, REQ_BIND, REQ_SEND, EV_REPLY, EV_DATAGRAM, EV_ERROR, ERRNO_NAMES,
} from '../../actors/udp/app-records';
import { RecvAccounting } from '../../actors/udp/table';
import { UdpCore } from '../../actors/udp/actor';

const queues = new Map<string, Uint8Array[]>();
const received = new Map<string, Uint8Array[]>();

export function create(ctx: ActorContext): ActorCore {
  const q: Uint8Array[] = queues.get(ctx.name) ?? [];
  queues.set(ctx.name, q);
  const got: Uint8Array[] = received.get(ctx.name) ?? [];
  received.set(ctx.name, got);
  return {
    onRecord(_port, bytes, off, len) {
      got.push(bytes.slice(off, off + len));
    },
    poll() {
      const w = ctx.out('out');
      let did = false;
      while (w && q.length > 0) {
        if (!w.write(q[0])) break;
        q.shift();
        did = true;
      }
      return did;
    },
  };
}

registerKind('udptestapp', path.join(__dirname, 'fixtures'));

export const ip4 = (s: string): Uint8Array => {
  const a = parseIpv4(s)!;
  return Uint8Array.of(a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255);
};

export const fmt4 = (b: Uint8Array): string => `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;

export interface Event extends AppRecord {
  payload: Uint8Array;
  codeName: string;
}

/** One host's view: its UDP actor and its app actor. */
export class Host {
  private reqSeq = 1;
  private cursor = 0;
  constructor(readonly p: InlinePipeline, readonly udp: string, readonly app: string, readonly addr: string) {}

  core(): UdpCore {
    return this.p.runner(this.udp).core as UdpCore;
  }

  /** Queues a raw request record. */
  raw(rec: Uint8Array): void {
    queues.get(this.app)!.push(rec);
  }

  request(r: Partial<AppRecord> & { kind: number; sock: number }, payload?: Uint8Array): number {
    const req = r.req ?? this.reqSeq++;
    this.raw(encodeAppRecord({ family: 4, ...r, req }, payload));
    return req;
  }

  bind(sock: number, port = 0, addr = '0.0.0.0', flags = 0): number {
    return this.request({ kind: REQ_BIND, sock, port, addr: ip4(addr), flags });
  }

  send(sock: number, port: number, addr: string, data: string | Uint8Array, req = 0, flags = 0): void {
    this.request({ kind: REQ_SEND, sock, port, addr: ip4(addr), req, flags }, typeof data === 'string' ? Buffer.from(data) : data);
  }

  /** Every record the UDP actor sent to this app, decoded and validated. */
  events(): Event[] {
    return (received.get(this.app) ?? []).map((b) => {
      const r = emptyRecord();
      const bad = decodeAppRecord(b, 0, b.length, 'event', r);
      if (bad) throw new Error(`bad event record: ${bad}`);
      return { ...r, payload: b.slice(r.payloadOff, r.payloadOff + r.payloadLen), codeName: ERRNO_NAMES[r.code] };
    });
  }

  /** Events not returned by a previous take(). */
  take(): Event[] {
    const all = this.events();
    const out = all.slice(this.cursor);
    this.cursor = all.length;
    return out;
  }

  reply(req: number): Event | undefined {
    return this.events().find((e) => e.kind === EV_REPLY && e.req === req);
  }

  datagrams(sock?: number): Event[] {
    return this.events().filter((e) => e.kind === EV_DATAGRAM && (sock === undefined || e.sock === sock));
  }

  errors(sock?: number): Event[] {
    return this.events().filter((e) => e.kind === EV_ERROR && (sock === undefined || e.sock === sock));
  }

  /** Marks every datagram delivered so far as consumed (what the app's dgram layer does). */
  consumeAll(): void {
    const acct = new RecvAccounting(this.p.topo.role(this.udp).shared.udp, this.core().cfg.maxSockets);
    for (const d of this.datagrams().slice(this.consumed)) acct.consumed(d.value, d.payloadLen + 56);
    this.consumed = this.datagrams().length;
  }
  private consumed = 0;

  counters(): Record<string, number> {
    return this.p.counters(this.udp);
  }
}

export function resetFixtures(): void {
  queues.clear();
  received.clear();
}

/** Two hosts on one link: a = 192.0.2.1/24, b = 192.0.2.2/24, each with IP, UDP and an app. */
export function twoHosts(udpExtra: Record<string, unknown> = {}, seed = 7): { p: InlinePipeline; a: Host; b: Host } {
  resetFixtures();
  const spec: PipelineSpec = { actors: [], links: [] };
  const hosts: Array<[string, string, string]> = [['a', '192.0.2.1/24', '02:00:00:00:00:0a'], ['b', '192.0.2.2/24', '02:00:00:00:00:0b']];
  for (const [n, cidr, mac] of hosts) {
    spec.actors.push(
      { name: `ip${n}`, kind: 'ip', config: { interfaces: [{ name: 'eth0', mac, addresses: [cidr] }] } },
      { name: `udp${n}`, kind: 'udp', config: { addresses: [cidr], ...udpExtra }, shared: { udp: 0 } },
      { name: `app${n}`, kind: 'udptestapp' },
    );
    spec.links.push(
      { from: `ip${n}.udp`, to: `udp${n}.ip` },
      { from: `udp${n}.ip`, to: `ip${n}.udp` },
      { from: `udp${n}.icmp`, to: `ip${n}.icmp` },
      { from: `app${n}.out`, to: `udp${n}.app` },
      { from: `udp${n}.app`, to: `app${n}.in` },
    );
  }
  spec.links.push({ from: 'ipa.tx:eth0', to: 'ipb.rx:eth0' }, { from: 'ipb.tx:eth0', to: 'ipa.rx:eth0' });
  // Size the shared regions from the configs (as the Stack does).
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { udpSharedBytes } = require('../../actors/udp/actor') as typeof import('../../actors/udp/actor');
  for (const a of spec.actors) if (a.kind === 'udp') a.shared = { udp: udpSharedBytes(a.config) };
  const p = new InlinePipeline(spec, { seed, startMs: 1000, ringCapacity: 1 << 16 });
  return { p, a: new Host(p, 'udpa', 'appa', '192.0.2.1'), b: new Host(p, 'udpb', 'appb', '192.0.2.2') };
}

/** Runs the pipeline until `done` (bounded in fake time). */
export function runUntil(p: InlinePipeline, done: () => boolean, ms = 5000): void {
  p.run(p.clock.now() + ms, done);
  if (!done()) throw new Error('condition not reached in fake time');
}
