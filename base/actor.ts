// The contract between an actor's synchronous core and the shell that runs it (a worker in
// threaded mode, a direct call in inline mode). A core never sleeps, reads a clock, draws
// randomness or starts a timer of its own: it gets `now` and randomness from its context,
// answers nextDeadline(), and writes output records into the rings its context hands it.

import type { RingWriter } from './ring';
import type { Bell } from './bell';
import { COUNTERS_BYTE_OFFSET, COUNTER_SLOTS } from './layout';

export interface ActorContext {
  /** Role name, e.g. "ip" or "nic:tap0". */
  readonly name: string;
  /** Incarnation number (0 for the first worker of the role, +1 per restart). */
  readonly incarnation: number;
  /** True when running inline (deterministic: fake clock, seeded random). */
  readonly inline: boolean;
  now(): number;
  random(): number;
  randomU32(): number;
  readonly counters: Counters;
  /** The output ring wired to `port`, or undefined when nothing is wired there now. */
  out(port: string): RingWriter | undefined;
  /** Names of the output ports currently wired. */
  outPorts(): string[];
  /** Regions that outlive this incarnation (ActorSpec.shared). */
  readonly shared: Record<string, SharedArrayBuffer>;
  /** Tell the supervisor something (link state changes, conflicts...). Not for the data path. */
  emit(event: string, data?: unknown): void;
}

export interface ActorCore {
  /** One record from input `port`: bytes[off .. off+len). Copy what you keep. Return false to
   *  leave the record in the ring for later (back-pressure); anything else consumes it. */
  onRecord(port: string, bytes: Uint8Array, off: number, len: number): void | boolean;
  /** Absolute time (ctx.now() units) at which onTimer must run, or Infinity. */
  nextDeadline?(): number;
  /** Called when ctx.now() >= nextDeadline(). */
  onTimer?(): void;
  /** Work from sources other than rings (a device fd). Returns true if it did any. */
  poll?(): boolean;
  /** Threaded only: sleep until the bell rings, timeoutMs passes, or the core's own source is
   *  ready (the TAP NIC polls its fd and the bell's eventfd). Default: Atomics.wait on the bell. */
  sleep?(bell: Bell, seq: number, timeoutMs: number): void;
  /** Actor-specific control operations from the supervisor. */
  control?(op: string, args: unknown): unknown;
  /** Inputs or outputs were rewired at runtime. */
  onRewire?(): void;
  /** The role is stopping cleanly. */
  dispose?(): void;
}

export type ActorFactory = (ctx: ActorContext, config: unknown) => ActorCore;

/** Per-actor counters in the role's shared block: single writer (the actor), readable by the
 *  supervisor at any time, and kept across restarts of the role. */
export class Counters {
  private readonly f64: Float64Array;
  private readonly slots = new Map<string, number>();
  private nextSlot = 0;

  constructor(
    block: SharedArrayBuffer,
    initial: Record<string, number> = {},
    private readonly onNewSlot?: (name: string, slot: number) => void,
  ) {
    this.f64 = new Float64Array(block, COUNTERS_BYTE_OFFSET, COUNTER_SLOTS);
    for (const [name, slot] of Object.entries(initial)) {
      this.slots.set(name, slot);
      this.nextSlot = Math.max(this.nextSlot, slot + 1);
    }
  }

  /** The slot of a counter, registering it on first use. Cache the slot on hot paths. */
  slot(name: string): number {
    let s = this.slots.get(name);
    if (s === undefined) {
      if (this.nextSlot >= COUNTER_SLOTS) return COUNTER_SLOTS - 1; // overflow bucket
      s = this.nextSlot++;
      this.slots.set(name, s);
      this.onNewSlot?.(name, s);
    }
    return s;
  }

  add(name: string, n = 1): void {
    this.f64[this.slot(name)] += n;
  }

  /** Hot-path form: add to a pre-resolved slot. */
  addSlot(slot: number, n = 1): void {
    this.f64[slot] += n;
  }

  setSlot(slot: number, v: number): void {
    this.f64[slot] = v;
  }

  set(name: string, v: number): void {
    this.f64[this.slot(name)] = v;
  }

  get(name: string): number {
    const s = this.slots.get(name);
    return s === undefined ? 0 : this.f64[s];
  }

  snapshot(): Record<string, number> {
    const o: Record<string, number> = {};
    for (const [name, s] of this.slots) o[name] = this.f64[s];
    return o;
  }

  /** Read-only view for the supervisor from a name->slot map. */
  static read(block: SharedArrayBuffer, slots: Record<string, number>): Record<string, number> {
    const f64 = new Float64Array(block, COUNTERS_BYTE_OFFSET, COUNTER_SLOTS);
    const o: Record<string, number> = {};
    for (const [name, s] of Object.entries(slots)) o[name] = f64[s];
    return o;
  }
}
