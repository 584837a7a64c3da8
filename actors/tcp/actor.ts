// The TCP actor's thin shell: adapts TcpCore to the ActorCore contract (base/actor.ts). Input
// port `ip` carries records from the IP actor (actors/ip/records.ts: a 40-byte header, then the
// TCP segment); segments go out on port `ip` in the same format. The connection table and the
// byte streams are ActorContext.shared.tcbs / .tcpStreams (created by the supervisor with
// createTcpShared), so a restarted incarnation reattaches to them. User calls arrive as control
// operations until the app-side socket layer wires its own path.

import type { ActorContext, ActorCore, ActorFactory } from '../../base/actor';
import { RECORD_HEADER_LEN, RecordHeader, readRecordHeader, writeRecordHeader } from '../ip/records';
import { TcpCore } from './core';
import type { TcpShared } from './table';
import type { IpAddr, TcpConfig, TcpSegmentOut } from './types';

const IP_PROTO_TCP = 6;

function srcOf(h: RecordHeader): IpAddr {
  return h.family === 4 ? h.src : h.src6!;
}
function dstOf(h: RecordHeader): IpAddr {
  return h.family === 4 ? h.dst : h.dst6!;
}

class TcpActor implements ActorCore {
  readonly core: TcpCore;

  constructor(private readonly ctx: ActorContext, config: Partial<TcpConfig>) {
    const shared = { tcbs: ctx.shared.tcbs, tcpStreams: ctx.shared.tcpStreams } as TcpShared;
    this.core = new TcpCore(shared, {
      now: () => ctx.now(),
      randomU32: () => ctx.randomU32(),
      output: (s) => this.send(s),
      onEvent: (e) => ctx.emit('tcp', e),
      count: (name, n) => ctx.counters.add(`tcp.${name}`, n),
    }, config);
  }

  onRecord(port: string, bytes: Uint8Array, off: number, len: number): void {
    if (port !== 'ip') return;
    const h = readRecordHeader(bytes, off, len);
    if (h === null || h.proto !== IP_PROTO_TCP) {
      // ICMP errors about our segments (proto 1) are not processed yet (docs/tcp.md).
      this.ctx.counters.add('tcp.drop-record');
      return;
    }
    this.core.onSegment({ src: srcOf(h), dst: dstOf(h), buf: bytes, off: off + RECORD_HEADER_LEN, len: len - RECORD_HEADER_LEN }, this.ctx.now());
  }

  private send(s: TcpSegmentOut): void {
    const w = this.ctx.out('ip');
    if (w === undefined) return;
    const n = RECORD_HEADER_LEN + s.bytes.length;
    const at = w.tryReserve(n);
    if (at < 0) {
      this.ctx.counters.add('tcp.out-ring-full'); // TCP retransmits
      return;
    }
    const h: RecordHeader = s.family === 4
      ? { family: 4, proto: IP_PROTO_TCP, ifindex: 0, ttl: 0, tos: 0, flags: 0, src: s.src as number, dst: s.dst as number }
      : { family: 6, proto: IP_PROTO_TCP, ifindex: 0, ttl: 0, tos: 0, flags: 0, src: 0, dst: 0, src6: s.src as Uint8Array, dst6: s.dst as Uint8Array };
    writeRecordHeader(h, w.bytes, at);
    w.bytes.set(s.bytes, at + RECORD_HEADER_LEN);
    w.commit(n);
  }

  nextDeadline(): number {
    return this.core.nextDeadline();
  }

  onTimer(): void {
    this.core.onTimer(this.ctx.now());
  }

  control(op: string, args: unknown): unknown {
    const a = (args ?? {}) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    switch (op) {
      case 'listen':
        return this.core.listen(a.addr ?? null, a.port, a.backlog, a.options);
      case 'connect':
        return this.core.connect(a.local ?? null, a.remote, a.port, a.options);
      case 'accept':
        return this.core.accept(a.id);
      case 'shutdown':
        return this.core.shutdown(a.id);
      case 'close':
        return this.core.close(a.id);
      case 'abort':
        return this.core.abort(a.id);
      case 'setOption':
        return this.core.setOption(a.id, a.options);
      case 'poke':
        return a.id === undefined ? this.core.pokeAll() : this.core.poke(a.id);
      case 'pathMtu':
        return this.core.pathMtuChanged(a.remote, a.mtu);
      case 'dump':
        return a.id === undefined ? this.core.connections().map((id) => this.core.dumpTcb(id)) : this.core.dumpTcb(a.id);
      case 'counters':
        return this.core.counters();
      default:
        throw new Error(`tcp: unknown control op ${op}`);
    }
  }
}

export const create: ActorFactory = (ctx, config) => new TcpActor(ctx, (config ?? {}) as Partial<TcpConfig>);
