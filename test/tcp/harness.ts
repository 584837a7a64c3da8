// Test harness for the TCP core: a rig holding one core on a fake clock with a hand-driven
// peer (segment-level fixtures in the smoltcp style: send a segment at time t, expect segments
// out), and a simulated link joining two cores with seeded loss, reordering, duplication,
// corruption and delay, plus crash injection (drop a core, build a new one over the same shared
// memory).

import { FakeClock, SeededRandom } from '../../base/clock';
import { pseudoSumV4 } from '../../protocol/checksum';
import {
  TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TcpHeader, TcpOptionValues, emitTcp, parseTcp, tcpFillChecksum,
  tcpHeader, tcpOptions, tcpOptionsLen,
} from '../../protocol/tcp';
import { TcpCore } from '../../actors/tcp/core';
import { TcpShared, TcpSharedOptions, createTcpShared } from '../../actors/tcp/table';
import { FaultPoint, SegmentOutcome, TcpConfig, TcpEvent, TcpSegmentIn, TcpSegmentOut } from '../../actors/tcp/types';

export { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN };

export const LOCAL = 0xc0000201; // 192.0.2.1
export const REMOTE = 0xc0000202; // 192.0.2.2

export interface Out {
  seq: number;
  ack: number;
  flags: number;
  window: number;
  h: TcpHeader;
  payload: Uint8Array;
  src: number;
  dst: number;
}

export function parseOut(o: TcpSegmentOut): Out {
  const p = parseTcp(o.bytes, 0, o.bytes.length);
  if (!p.ok) throw new Error('core emitted an unparsable segment');
  const h = p.value;
  return { seq: h.seq, ack: h.ack, flags: h.flags, window: h.window, h, payload: o.bytes.slice(h.headerLen), src: o.src as number, dst: o.dst as number };
}

export interface SegSpec {
  sport?: number;
  dport?: number;
  seq: number;
  ack?: number;
  flags: number;
  window?: number;
  opts?: TcpOptionValues;
  payload?: Uint8Array;
  src?: number;
  dst?: number;
}

/** Builds a checksummed IPv4 TCP segment. */
export function buildSeg(s: SegSpec): TcpSegmentIn {
  const options = tcpOptions(s.opts ?? {});
  const hl = 20 + tcpOptionsLen(options);
  const pay = s.payload ?? new Uint8Array(0);
  const buf = new Uint8Array(hl + pay.length);
  emitTcp(tcpHeader({
    srcPort: s.sport ?? 80, dstPort: s.dport ?? 5000, seq: s.seq >>> 0, ack: (s.ack ?? 0) >>> 0, flags: s.flags,
    window: s.window ?? 65535, options,
  }), buf, 0);
  buf.set(pay, hl);
  const src = s.src ?? REMOTE;
  const dst = s.dst ?? LOCAL;
  tcpFillChecksum(buf, 0, buf.length, pseudoSumV4(src, dst, 6, buf.length));
  return { src, dst, buf, off: 0, len: buf.length };
}

export function flagNames(f: number): string {
  const n: string[] = [];
  if (f & TCP_SYN) n.push('SYN');
  if (f & TCP_FIN) n.push('FIN');
  if (f & TCP_RST) n.push('RST');
  if (f & TCP_PSH) n.push('PSH');
  if (f & TCP_ACK) n.push('ACK');
  return n.join(',');
}

export const SHARED_DEFAULT: TcpSharedOptions = { maxConns: 16, sendBufBytes: 1 << 16, recvBufBytes: 1 << 16 };

/** One core and a hand-driven peer. */
export class Rig {
  readonly clock: FakeClock;
  readonly rnd = new SeededRandom(7);
  readonly shared: TcpShared;
  out: Out[] = [];
  events: TcpEvent[] = [];
  core: TcpCore;

  constructor(readonly cfg: Partial<TcpConfig> = {}, sharedOpts: TcpSharedOptions = SHARED_DEFAULT, t0 = 1000) {
    this.clock = new FakeClock(t0);
    this.shared = createTcpShared(sharedOpts, () => this.rnd.u32());
    this.core = this.newCore();
  }

  newCore(): TcpCore {
    return new TcpCore(this.shared, {
      now: () => this.clock.now(),
      randomU32: () => this.rnd.u32(),
      output: (s) => this.out.push(parseOut(s)),
      onEvent: (e) => this.events.push(e),
    }, { iss: () => 1000, ...this.cfg });
  }

  /** Delivers a segment at time `at` (default now). */
  send(s: SegSpec, at?: number): SegmentOutcome {
    if (at !== undefined) this.clock.advanceTo(at);
    return this.core.onSegment(buildSeg(s));
  }

  /** Takes the segments emitted so far. */
  take(): Out[] {
    return this.out.splice(0);
  }

  /** Expects exactly one segment out and returns it. */
  one(): Out {
    const o = this.take();
    if (o.length !== 1) throw new Error(`expected one segment, got ${o.length}: ${o.map((x) => flagNames(x.flags) + ' seq=' + x.seq + ' len=' + x.payload.length).join('; ')}`);
    return o[0];
  }

  /** Runs timers up to time `to`. */
  runUntil(to: number): void {
    for (let i = 0; i < 100000; i++) {
      const d = this.core.nextDeadline();
      if (!(d <= to)) break;
      this.clock.advanceTo(d);
      this.core.onTimer(this.clock.now());
    }
    this.clock.advanceTo(to);
  }

  takeEvents(): string[] {
    return this.events.splice(0).map((e) => e.kind + (e.code ? ':' + e.code : ''));
  }
}

export const PEER_OPTS = { mss: 1460, windowScale: 7, sackPermitted: true };

/** "An established socket" (active open): our ISS 1000, the peer's ISN 5000; the peer offers
 *  MSS 1460, window scale 7, SACK and (unless ts is false) timestamps. Returns the id. */
export function establishedActive(r: Rig, o: { ts?: boolean; sack?: boolean; ws?: number | null; window?: number; connect?: object } = {}): number {
  const id = r.core.connect(LOCAL, REMOTE, 80, { localPort: 5000, ...(o.connect ?? {}) });
  const syn = r.one();
  const ts = o.ts !== false;
  r.send({
    seq: 5000, ack: 1001, flags: TCP_SYN | TCP_ACK, window: o.window ?? 65535,
    opts: {
      mss: 1460, windowScale: o.ws === undefined ? 7 : o.ws, sackPermitted: o.sack !== false,
      tsVal: ts ? 100 : null, tsEcr: ts ? syn.h.tsVal : null,
    },
  });
  r.take();
  r.takeEvents();
  return id;
}

// ---------------------------------------------------------------------------------------------
// Two cores on a simulated link

export interface Impair {
  loss?: number;
  dup?: number;
  reorder?: number;
  corrupt?: number;
  /** One-way delay (ms) and jitter. */
  delay?: number;
  jitter?: number;
}

interface InFlight {
  at: number;
  to: 0 | 1;
  seg: TcpSegmentOut;
  n: number;
}

/** Two stacks A (192.0.2.1) and B (192.0.2.2) joined by an impaired link, on one fake clock. */
export class Net {
  readonly clock = new FakeClock(1000);
  readonly rnd: SeededRandom;
  readonly shared: [TcpShared, TcpShared];
  readonly cores: [TcpCore, TcpCore];
  readonly events: [TcpEvent[], TcpEvent[]] = [[], []];
  private q: InFlight[] = [];
  private n = 0;
  delivered = 0;
  dropped = 0;
  crashes = 0;
  /** Fault injection: when > 0, counts fault points down and throws at zero (per side). */
  crashAt: [number, number] = [0, 0];

  constructor(seed: number, public impair: Impair = {}, readonly cfg: Partial<TcpConfig> = {}, sharedOpts: TcpSharedOptions = { maxConns: 8, sendBufBytes: 1 << 18, recvBufBytes: 1 << 18 }) {
    this.rnd = new SeededRandom(seed);
    this.shared = [createTcpShared(sharedOpts, () => this.rnd.u32()), createTcpShared(sharedOpts, () => this.rnd.u32())];
    this.cores = [this.makeCore(0), this.makeCore(1)];
  }

  addr(side: 0 | 1): number {
    return side === 0 ? LOCAL : REMOTE;
  }

  makeCore(side: 0 | 1): TcpCore {
    return new TcpCore(this.shared[side], {
      now: () => this.clock.now(),
      randomU32: () => this.rnd.u32(),
      output: (s) => this.transmit(side, s),
      onEvent: (e) => this.events[side].push(e),
      fault: (p: FaultPoint) => {
        void p;
        if (this.crashAt[side] > 0 && --this.crashAt[side] === 0) throw new CrashError();
      },
    }, this.cfg);
  }

  /** Simulates a crash of one side's actor: the core object is dropped and a new one attaches. */
  crash(side: 0 | 1): void {
    this.crashes++;
    this.crashAt[side] = 0;
    this.cores[side] = this.makeCore(side);
  }

  /** Runs `fn` on a side's core; a CrashError from fault injection replaces the core. */
  call<T>(side: 0 | 1, fn: (c: TcpCore) => T): T | undefined {
    try {
      return fn(this.cores[side]);
    } catch (e) {
      if (e instanceof CrashError) {
        this.crash(side);
        return undefined;
      }
      throw e;
    }
  }

  private transmit(from: 0 | 1, seg: TcpSegmentOut): void {
    const im = this.impair;
    const r = this.rnd;
    if (im.loss && r.next() < im.loss) {
      this.dropped++;
      return;
    }
    const copies = im.dup && r.next() < im.dup ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      let bytes = seg.bytes;
      if (im.corrupt && r.next() < im.corrupt) {
        bytes = bytes.slice();
        bytes[Math.floor(r.next() * bytes.length)] ^= 1 << Math.floor(r.next() * 8);
      }
      let at = this.clock.now() + (im.delay ?? 5) + (im.jitter ? r.next() * im.jitter : 0);
      if (im.reorder && r.next() < im.reorder) at += (im.delay ?? 5) * 2;
      this.q.push({ at, to: from === 0 ? 1 : 0, seg: { ...seg, bytes }, n: this.n++ });
    }
  }

  /** Advances to the next event (a delivery or a timer); false if there is none before `limit`. */
  step(limit = Infinity): boolean {
    let best = -1;
    for (let i = 0; i < this.q.length; i++) {
      const x = this.q[i];
      if (best < 0 || x.at < this.q[best].at || (x.at === this.q[best].at && x.n < this.q[best].n)) best = i;
    }
    const tq = best >= 0 ? this.q[best].at : Infinity;
    const d0 = this.cores[0].nextDeadline();
    const d1 = this.cores[1].nextDeadline();
    const t = Math.min(tq, d0, d1);
    if (!(t <= limit) || t === Infinity) return false;
    this.clock.advanceTo(t);
    if (tq === t) {
      const x = this.q.splice(best, 1)[0];
      this.delivered++;
      this.call(x.to, (c) => c.onSegment({ src: x.seg.src, dst: x.seg.dst, buf: x.seg.bytes, off: 0, len: x.seg.bytes.length }));
    } else if (d0 === t) {
      this.call(0, (c) => c.onTimer());
    } else {
      this.call(1, (c) => c.onTimer());
    }
    return true;
  }

  pending(): number {
    return this.q.length;
  }
}

export class CrashError extends Error {
  constructor() {
    super('injected crash');
  }
}

/** Deterministic pseudo-random bytes. */
export function patternBytes(n: number, seed: number): Uint8Array {
  const r = new SeededRandom(seed);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 4) {
    const v = r.u32();
    b[i] = v;
    if (i + 1 < n) b[i + 1] = v >>> 8;
    if (i + 2 < n) b[i + 2] = v >>> 16;
    if (i + 3 < n) b[i + 3] = v >>> 24;
  }
  return b;
}
