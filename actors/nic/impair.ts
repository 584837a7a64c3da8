// impair: a wrapper that makes any link a bad network, per direction and seeded, in the spirit
// of Linux netem (which this kernel lacks): loss, duplication, corruption (one bit flip),
// reordering, delay with jitter, and a rate limit (token bucket). All parameters change at
// runtime with setParams(). Every random decision is drawn from the Random passed in, in a
// fixed order per frame, so the same seed and the same input give the same drops, duplicates,
// flips and reorders.
//
// Per frame and direction ("tx": stack -> device, "rx": device -> stack), in this order:
//   1. loss       (probability `loss`)                     -> dropped, counted 'loss'
//   2. duplicate  (probability `duplicate`: one extra copy)  counted 'duplicated'
//   3. corrupt    (probability `corrupt` per copy: one random bit flipped) counted 'corrupted'
//   4. reorder    (probability `reorder`: the copy is held back until `reorderGap` later frames
//                 have gone out, or `reorderMaxMs` passed)     counted 'reordered'
//   5. delay      `delayMs` + uniform jitter in [-jitterMs, +jitterMs] (never below 0); with
//                 jitter, frames may overtake one another (as with netem)
//   6. rate       token bucket of `rateBps` bits/s, `burstBytes` deep; frames wait in FIFO
// Frames held by steps 4-6 count against `queueFrames`; beyond it they are dropped
// ('queue-full'). A held tx frame that the inner link refuses (BUSY) when its time comes is
// dropped ('busy'): impair has already taken it. Without any holding parameter, tx writes pass
// straight through and keep the inner link's back-pressure.

import type { Random } from '../../base/clock';
import { CounterSink, Link, LinkWrapper, WriteStatus } from './link';

export interface ImpairParams {
  /** Probability 0..1 that a frame is lost. */
  loss?: number;
  /** Probability 0..1 that a frame is sent twice. */
  duplicate?: number;
  /** Probability 0..1 that a copy gets one random bit flipped. */
  corrupt?: number;
  /** Probability 0..1 that a copy is held back and overtaken. */
  reorder?: number;
  /** How many later frames overtake a held one. Default 1. */
  reorderGap?: number;
  /** Longest hold of a reordered frame when no later frames come. Default 10 ms. */
  reorderMaxMs?: number;
  /** Fixed one-way delay in ms. Default 0. */
  delayMs?: number;
  /** Uniform jitter added to the delay, in [-jitterMs, +jitterMs]. Default 0. */
  jitterMs?: number;
  /** Rate limit in bits per second (Ethernet frame bytes, no preamble/IFG). 0 = unlimited. */
  rateBps?: number;
  /** Token bucket depth in bytes. Default: max(one 1518-byte frame, 5 ms worth of rate). */
  burstBytes?: number;
  /** Frames held at once (reorder + delay + rate). Default 10000. */
  queueFrames?: number;
}

export type ImpairDirection = 'tx' | 'rx' | 'both';

export interface ImpairConfig {
  /** Applied to both directions, then overridden by `tx` / `rx`. */
  both?: ImpairParams;
  tx?: ImpairParams;
  rx?: ImpairParams;
  /** Seed of the impairment's own SeededRandom (the NIC actor uses it; otherwise the actor's
   *  random source). */
  seed?: number;
}

const DEFAULTS: Required<ImpairParams> = {
  loss: 0,
  duplicate: 0,
  corrupt: 0,
  reorder: 0,
  reorderGap: 1,
  reorderMaxMs: 10,
  delayMs: 0,
  jitterMs: 0,
  rateBps: 0,
  burstBytes: 0,
  queueFrames: 10000,
};

function checkParams(p: ImpairParams): void {
  for (const k of ['loss', 'duplicate', 'corrupt', 'reorder'] as const) {
    const v = p[k];
    if (v !== undefined && !(v >= 0 && v <= 1)) throw new RangeError(`impair: ${k} must be a probability in [0, 1], got ${v}`);
  }
  for (const k of ['reorderGap', 'reorderMaxMs', 'delayMs', 'jitterMs', 'rateBps', 'burstBytes', 'queueFrames'] as const) {
    const v = p[k];
    if (v !== undefined && !(v >= 0 && Number.isFinite(v))) throw new RangeError(`impair: ${k} must be a finite number >= 0, got ${v}`);
  }
}

interface Held {
  data: Uint8Array;
  /** Reorder: frames still to overtake this one; delay: unused. */
  gap: number;
  /** Reorder: release deadline; delay: delivery time. */
  at: number;
  /** Arrival order, to keep equal-time frames FIFO. */
  seq: number;
}

/** Bytes of token-bucket shortfall treated as none (float rounding). */
const TOKEN_EPS = 1e-6;

/** One direction's pipeline. `emit` sends a frame onward and returns false if refused. */
class Lane {
  p: Required<ImpairParams> = { ...DEFAULTS };
  private reorderHeld: Held[] = [];
  /** Sorted by (at, seq); consumed from `dHead`. */
  private delayed: Held[] = [];
  private dHead = 0;
  private rateQ: Uint8Array[] = [];
  private rHead = 0;
  private tokens = 0;
  private tokensAt = -Infinity;
  private seq = 0;

  constructor(
    private readonly name: 'tx' | 'rx',
    private readonly random: Random,
    private readonly owner: ImpairLink,
    private readonly emit: (data: Uint8Array, off: number, len: number, now: number) => boolean,
  ) {}

  /** True when no parameter is set (nothing to do for a frame once nothing is held). */
  inert = true;

  setParams(p: ImpairParams): void {
    this.p = { ...this.p, ...p };
    const q = this.p;
    this.inert = q.loss === 0 && q.duplicate === 0 && q.corrupt === 0 && q.reorder === 0 && q.delayMs === 0 && q.jitterMs === 0 && q.rateBps === 0;
  }

  /** Fast check for the common case: impairment off and nothing held. */
  get idle(): boolean {
    return this.inert && this.reorderHeld.length === 0 && this.dHead === this.delayed.length && this.rHead === this.rateQ.length;
  }

  /** True when this lane can pass a frame straight through (no holding, nothing held). */
  get passThrough(): boolean {
    const p = this.p;
    return (
      p.reorder === 0 &&
      p.delayMs === 0 &&
      p.jitterMs === 0 &&
      p.rateBps === 0 &&
      this.reorderHeld.length === 0 &&
      this.dHead === this.delayed.length &&
      this.rHead === this.rateQ.length
    );
  }

  get heldCount(): number {
    return this.reorderHeld.length + (this.delayed.length - this.dHead) + (this.rateQ.length - this.rHead);
  }

  /** Loss and duplication decision. Returns the number of copies (0 = lost). */
  copies(): number {
    const p = this.p;
    if (p.loss > 0 && this.random.next() < p.loss) {
      this.owner.counters.drop(`${this.name}.loss`);
      return 0;
    }
    if (p.duplicate > 0 && this.random.next() < p.duplicate) {
      this.owner.count(`${this.name}.duplicated`);
      return 2;
    }
    return 1;
  }

  /** Corruption of one copy: returns the bytes to send (a flipped copy, or the input). */
  maybeCorrupt(bytes: Uint8Array, off: number, len: number): { b: Uint8Array; o: number } {
    if (this.p.corrupt > 0 && this.random.next() < this.p.corrupt && len > 0) {
      const c = bytes.slice(off, off + len);
      const bit = Math.floor(this.random.next() * len * 8);
      c[bit >>> 3] ^= 1 << (bit & 7);
      this.owner.count(`${this.name}.corrupted`);
      return { b: c, o: 0 };
    }
    return { b: bytes, o: off };
  }

  /** Takes one copy into the holding stages. */
  admit(bytes: Uint8Array, off: number, len: number, now: number): void {
    const p = this.p;
    if (this.heldCount >= p.queueFrames) {
      this.owner.counters.drop(`${this.name}.queue-full`);
      return;
    }
    const data = off === 0 && len === bytes.length && bytes !== this.owner.lastInput ? bytes : bytes.slice(off, off + len);
    if (p.reorder > 0 && this.random.next() < p.reorder) {
      this.owner.count(`${this.name}.reordered`);
      this.reorderHeld.push({ data, gap: Math.max(1, Math.round(p.reorderGap)), at: now + p.reorderMaxMs, seq: this.seq++ });
      return;
    }
    this.toDelay(data, now);
  }

  /** Into the delay stage. `overtake`: this frame passed the reorder stage, so held frames
   *  count it (a released held frame does not). */
  private toDelay(data: Uint8Array, now: number, overtake = true): void {
    const p = this.p;
    let d = p.delayMs;
    if (p.jitterMs > 0) d += (this.random.next() * 2 - 1) * p.jitterMs;
    const h: Held = { data, gap: 0, at: now + Math.max(0, d), seq: this.seq++ };
    // Sorted insert from the back (the common case is an append); equal times stay FIFO.
    const q = this.delayed;
    let i = q.length;
    while (i > this.dHead && q[i - 1].at > h.at) i--;
    if (i === q.length) q.push(h);
    else q.splice(i, 0, h);
    if (overtake && this.reorderHeld.length > 0) {
      const release: Held[] = [];
      this.reorderHeld = this.reorderHeld.filter((r) => (--r.gap <= 0 ? (release.push(r), false) : true));
      for (const r of release) this.toDelay(r.data, now, false);
    }
  }

  /** Moves due frames through delay and rate to the output. Returns how many frames left the
   *  lane (sent on or dropped as busy): work done, which poll() must report so that a caller
   *  stepping actors until none works (base/inline.ts) does not jump the clock past them. */
  pump(now: number): number {
    const before = this.emitted;
    // Reordered frames that waited long enough.
    if (this.reorderHeld.length > 0) {
      const due = this.reorderHeld.filter((h) => h.at <= now);
      if (due.length > 0) {
        this.reorderHeld = this.reorderHeld.filter((h) => h.at > now);
        for (const h of due) this.toDelay(h.data, now, false);
      }
    }
    const q = this.delayed;
    while (this.dHead < q.length && q[this.dHead].at <= now) {
      const h = q[this.dHead];
      q[this.dHead++] = undefined as unknown as Held;
      if (this.p.rateBps > 0 || this.rHead < this.rateQ.length) this.rateQ.push(h.data);
      else this.out(h.data, now);
    }
    if (this.dHead === q.length) {
      q.length = 0;
      this.dHead = 0;
    } else if (this.dHead > 1024) {
      q.splice(0, this.dHead);
      this.dHead = 0;
    }
    this.drainRate(now);
    return this.emitted - before;
  }

  private burst(): number {
    const p = this.p;
    return p.burstBytes > 0 ? p.burstBytes : Math.max(1518, (p.rateBps / 8) * 0.005);
  }

  private refill(now: number): void {
    const p = this.p;
    if (p.rateBps <= 0) {
      this.tokens = Infinity;
      this.tokensAt = now;
      return;
    }
    const cap = this.burst();
    if (this.tokensAt === -Infinity || !Number.isFinite(this.tokens)) this.tokens = cap;
    else this.tokens = Math.min(cap, this.tokens + ((now - this.tokensAt) * p.rateBps) / 8000);
    this.tokensAt = now;
  }

  private drainRate(now: number): void {
    if (this.rHead === this.rateQ.length) return;
    this.refill(now);
    const q = this.rateQ;
    while (this.rHead < q.length) {
      const f = q[this.rHead];
      // A frame larger than the bucket goes when the bucket is full.
      const need = Math.min(f.length, this.burst());
      // Tolerance: refill() sums float products, so at the deadline nextDeadline() computed the
      // bucket may be short by a rounding error, and that deadline (tokensAt plus a time below
      // one ulp of it) is "now" again: a run that never advances.
      if (this.tokens < need - TOKEN_EPS) break;
      this.tokens -= f.length;
      q[this.rHead++] = undefined as unknown as Uint8Array;
      this.out(f, now);
    }
    if (this.rHead === q.length) {
      q.length = 0;
      this.rHead = 0;
    } else if (this.rHead > 1024) {
      q.splice(0, this.rHead);
      this.rHead = 0;
    }
  }

  /** Frames handed to out() so far. */
  private emitted = 0;

  private out(f: Uint8Array, now: number): void {
    this.emitted++;
    if (!this.emit(f, 0, f.length, now)) this.owner.counters.drop(`${this.name}.busy`);
  }

  nextDeadline(): number {
    let d = Infinity;
    for (const h of this.reorderHeld) if (h.at < d) d = h.at;
    if (this.dHead < this.delayed.length && this.delayed[this.dHead].at < d) d = this.delayed[this.dHead].at;
    if (this.rHead < this.rateQ.length) {
      const p = this.p;
      const f = this.rateQ[this.rHead];
      const need = Math.min(f.length, this.burst());
      const missing = need - this.tokens;
      const t = missing <= TOKEN_EPS || p.rateBps <= 0 ? this.tokensAt : this.tokensAt + (missing * 8000) / p.rateBps;
      if (t < d) d = t;
    }
    return d;
  }

  /** Drops everything held (link going down). */
  flush(reason: string): void {
    const n = this.heldCount;
    if (n > 0) this.owner.counters.drop(`${this.name}.${reason}`, n);
    this.reorderHeld = [];
    this.delayed = [];
    this.dHead = 0;
    this.rateQ = [];
    this.rHead = 0;
  }
}

export interface ImpairOptions extends ImpairConfig {
  random: Random;
  counters?: CounterSink;
  /** Counter prefix; default "impair.". */
  counterPrefix?: string;
}

export class ImpairLink extends LinkWrapper {
  readonly kind = 'impair';
  private readonly tx: Lane;
  private readonly rx: Lane;
  /** The transient input buffer of the current call (never kept without a copy). */
  lastInput: Uint8Array | null = null;
  private readonly extra = new Map<string, number>();

  constructor(inner: Link, opts: ImpairOptions) {
    super(inner, opts.counters, opts.counterPrefix ?? 'impair.');
    this.tx = new Lane('tx', opts.random, this, (b, o, l, now) => this.inner.write(b, o, l, now) !== WriteStatus.BUSY);
    this.rx = new Lane('rx', opts.random, this, (b, o, l, now) => {
      this.receiver?.onFrame(b, o, l, now);
      return true;
    });
    this.setParams('both', opts.both ?? {});
    if (opts.tx) this.setParams('tx', opts.tx);
    if (opts.rx) this.setParams('rx', opts.rx);
  }

  /** Changes parameters of one or both directions (merged over the current ones). */
  setParams(dir: ImpairDirection, params: ImpairParams): void {
    checkParams(params);
    if (dir === 'tx' || dir === 'both') this.tx.setParams(params);
    if (dir === 'rx' || dir === 'both') this.rx.setParams(params);
  }

  params(): { tx: Required<ImpairParams>; rx: Required<ImpairParams> } {
    return { tx: { ...this.tx.p }, rx: { ...this.rx.p } };
  }

  /** Frames currently held (both directions). */
  get held(): number {
    return this.tx.heldCount + this.rx.heldCount;
  }

  /** Event counters (not drops): `<prefix><dir>.duplicated|corrupted|reordered`. */
  count(name: string): void {
    let s = this.extra.get(name);
    if (s === undefined) {
      s = this.counters.sink.slot(`${this.counters.prefix}${name}`);
      this.extra.set(name, s);
    }
    this.counters.sink.addSlot(s, 1);
  }

  override write(bytes: Uint8Array, off: number, len: number, now: number): WriteStatus {
    const lane = this.tx;
    if (lane.idle) return this.inner.write(bytes, off, len, now);
    if (lane.passThrough) {
      const p = lane.p;
      if (p.loss === 0 && p.duplicate === 0 && p.corrupt === 0) return this.inner.write(bytes, off, len, now);
      const n = lane.copies();
      if (n === 0) return WriteStatus.DROPPED;
      let st: WriteStatus = WriteStatus.SENT;
      for (let i = 0; i < n; i++) {
        const c = lane.maybeCorrupt(bytes, off, len);
        const r = this.inner.write(c.b, c.o, len, now);
        if (i === 0) st = r;
        else if (r === WriteStatus.BUSY) this.counters.drop('tx.busy');
      }
      return st;
    }
    const n = lane.copies();
    this.lastInput = bytes;
    for (let i = 0; i < n; i++) {
      const c = lane.maybeCorrupt(bytes, off, len);
      lane.admit(c.b, c.o, len, now);
    }
    this.lastInput = null;
    lane.pump(now);
    return n === 0 ? WriteStatus.DROPPED : WriteStatus.SENT;
  }

  override onFrame(bytes: Uint8Array, off: number, len: number, now: number): void {
    const lane = this.rx;
    if (lane.idle) {
      this.receiver?.onFrame(bytes, off, len, now);
      return;
    }
    const n = lane.copies();
    if (n === 0) return;
    const pass = lane.passThrough;
    this.lastInput = bytes;
    for (let i = 0; i < n; i++) {
      const c = lane.maybeCorrupt(bytes, off, len);
      if (pass) this.receiver?.onFrame(c.b, c.o, len, now);
      else lane.admit(c.b, c.o, len, now);
    }
    this.lastInput = null;
    if (!pass) lane.pump(now);
  }

  /** Frames delivered from the inner link plus frames the lanes released (both are work: a
   *  poll that released held frames and reported 0 let the inline runner think the NIC idle and
   *  jump the fake clock past the frames it had just written to the wire). */
  override poll(now: number, budget: number): number {
    const n = this.inner.poll(now, budget);
    return n + this.tx.pump(now) + this.rx.pump(now);
  }

  override nextDeadline(): number {
    return Math.min(this.inner.nextDeadline(), this.tx.nextDeadline(), this.rx.nextDeadline());
  }

  override onTimer(now: number): void {
    if (this.inner.nextDeadline() <= now) this.inner.onTimer(now);
    this.tx.pump(now);
    this.rx.pump(now);
  }

  override onLinkState(state: { up: boolean; carrier: boolean }, now: number): void {
    if (!state.up || !state.carrier) {
      this.tx.flush('link-down');
      this.rx.flush('link-down');
    }
    super.onLinkState(state, now);
  }
}
