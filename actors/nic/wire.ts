// wire: an in-memory Ethernet cable between two NICs. Each direction of the cable is a
// base/ring.ts record ring, so the same code serves both uses:
//   - two ends in one thread (inline stacks, unit tests): createWire() makes both rings and a
//     cable word and returns the two ends as links;
//   - two NIC actors in different workers: each actor's end reads the cable's inbound ring and
//     writes the outbound ring, given either as explicit RingDescriptors in the config or as an
//     actor port pair wired by the supervisor (records arrive through onRecord()).
// The cable's "plugged in" state is one shared word that both ends read on every poll, so
// unplugging it raises carrier-down at both ends; frames in flight or written while it is
// unplugged (or while an end is administratively down) are dropped and counted ('link-down').
// A full ring is back-pressure (write() returns BUSY), not loss: loss is impair's job.

import { createRing, RingDescriptor, RingReader, RingWriter } from '../../base/ring';
import { BaseLink, BaseLinkOptions, WriteStatus } from './link';

/** Default capacity of each direction's ring: 256 KiB, about 170 full-size frames. */
export const DEFAULT_WIRE_RING_BYTES = 256 * 1024;

/** Cable state: Int32 word 0 = 1 plugged in / 0 unplugged; word 1 = change count. */
export const CABLE_BYTES = 8;
const CABLE_PLUGGED = 0;
const CABLE_CHANGES = 1;

export function createCable(plugged = true): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(CABLE_BYTES);
  Atomics.store(new Int32Array(sab), CABLE_PLUGGED, plugged ? 1 : 0);
  return sab;
}

export function setCablePlugged(cable: SharedArrayBuffer, plugged: boolean): void {
  const w = new Int32Array(cable);
  if (Atomics.exchange(w, CABLE_PLUGGED, plugged ? 1 : 0) !== (plugged ? 1 : 0)) Atomics.add(w, CABLE_CHANGES, 1);
}

export function isCablePlugged(cable: SharedArrayBuffer): boolean {
  return Atomics.load(new Int32Array(cable), CABLE_PLUGGED) !== 0;
}

export interface RingWireOptions extends BaseLinkOptions {
  /** The outbound direction: a writer, or a getter (an actor's port may be rewired). */
  out: RingWriter | (() => RingWriter | undefined);
  /** The inbound direction when this end polls it itself; omit when frames are pushed in
   *  with deliver() (an actor input port). */
  in?: RingReader;
  /** Shared cable word (createCable()); omit for a cable that is always plugged in. */
  cable?: SharedArrayBuffer;
  /** Publish each frame as it is written (default true). An actor's port writer is published
   *  by the runner once per step instead (false). */
  publishEach?: boolean;
}

/** One end of a ring-backed cable. */
export class RingWireLink extends BaseLink {
  readonly kind = 'wire';
  private readonly getOut: () => RingWriter | undefined;
  private readonly reader: RingReader | null;
  private readonly cable: Int32Array | null;
  private readonly publishEach: boolean;
  private pollNow = 0;
  private readonly deliverFn = (b: Uint8Array, o: number, l: number): void => this.deliver(b, o, l, this.pollNow);

  constructor(opts: RingWireOptions) {
    super({ ...opts, carrier: opts.cable ? isCablePlugged(opts.cable) : true });
    const out = opts.out;
    this.getOut = typeof out === 'function' ? out : () => out;
    this.reader = opts.in ?? null;
    this.cable = opts.cable ? new Int32Array(opts.cable) : null;
    this.publishEach = opts.publishEach ?? true;
  }

  write(bytes: Uint8Array, off: number, len: number, now: number): WriteStatus {
    this.checkCable(now);
    if (!this.admit(len)) return WriteStatus.DROPPED;
    const w = this.getOut();
    if (!w) {
      this.counters.drop('unwired');
      return WriteStatus.DROPPED;
    }
    if (len > w.maxRecord) {
      this.counters.drop('too-big');
      return WriteStatus.DROPPED;
    }
    const at = w.tryReserve(len);
    if (at < 0) return WriteStatus.BUSY;
    w.bytes.set(bytes.subarray(off, off + len), at);
    w.commit(len, this.publishEach);
    this.counters.tx(len);
    return WriteStatus.SENT;
  }

  /** A frame arrived from the cable (from poll(), or pushed by the actor's input port). */
  deliver(bytes: Uint8Array, off: number, len: number, now: number): void {
    if (!this.running) {
      this.counters.drop('link-down');
      return;
    }
    this.counters.rx(len);
    this.receiver?.onFrame(bytes, off, len, now);
  }

  poll(now: number, budget: number): number {
    this.checkCable(now);
    if (!this.reader) return 0;
    this.pollNow = now;
    return this.reader.drain(this.deliverFn, budget);
  }

  /** Publishes frames committed with publishEach=false. */
  publish(): void {
    this.getOut()?.publish();
  }

  /** True when frames are waiting in the inbound ring this end polls. */
  hasInput(): boolean {
    return this.reader !== null && this.reader.hasData();
  }

  /** Reads the shared cable word and raises carrier changes. */
  checkCable(now: number): void {
    if (this.cable) this.setCarrier(Atomics.load(this.cable, CABLE_PLUGGED) !== 0, now);
  }
}

export interface WireOptions {
  /** Bytes per direction (power of two, >= 1024). Default 256 KiB. */
  ringBytes?: number;
  /** Options of each end (MAC, MTU, counters). */
  a?: BaseLinkOptions;
  b?: BaseLinkOptions;
  /** Start the positions just below 2^32 so ring wraparound is exercised early (tests). */
  initialPosition?: number;
}

/** The shareable description of one cable: two rings and the cable word. Hand `endA(d)` to one
 *  NIC actor and `endB(d)` to the other. */
export interface WireDescriptor {
  aToB: RingDescriptor;
  bToA: RingDescriptor;
  cable: SharedArrayBuffer;
}

export function createWireDescriptor(ringBytes = DEFAULT_WIRE_RING_BYTES, initialPosition = 0): WireDescriptor {
  return {
    aToB: createRing(ringBytes, initialPosition),
    bToA: createRing(ringBytes, initialPosition),
    cable: createCable(true),
  };
}

/** The config of the NIC actor at end 'a' or 'b' of a cable. */
export function wireEndConfig(d: WireDescriptor, end: 'a' | 'b'): { tx: RingDescriptor; rx: RingDescriptor; cable: SharedArrayBuffer } {
  return end === 'a' ? { tx: d.aToB, rx: d.bToA, cable: d.cable } : { tx: d.bToA, rx: d.aToB, cable: d.cable };
}

/** Two ends of one cable in this thread. */
export class Wire {
  readonly a: RingWireLink;
  readonly b: RingWireLink;
  readonly desc: WireDescriptor;

  constructor(opts: WireOptions = {}) {
    this.desc = createWireDescriptor(opts.ringBytes ?? DEFAULT_WIRE_RING_BYTES, opts.initialPosition ?? 0);
    const ea = wireEndConfig(this.desc, 'a');
    const eb = wireEndConfig(this.desc, 'b');
    this.a = new RingWireLink({ ...opts.a, out: new RingWriter(ea.tx), in: new RingReader(ea.rx), cable: this.desc.cable });
    this.b = new RingWireLink({ ...opts.b, out: new RingWriter(eb.tx), in: new RingReader(eb.rx), cable: this.desc.cable });
  }

  /** Plugs or unplugs the cable; both ends see the carrier change at once. */
  setPlugged(plugged: boolean, now: number): void {
    setCablePlugged(this.desc.cable, plugged);
    this.a.checkCable(now);
    this.b.checkCable(now);
  }

  get plugged(): boolean {
    return isCablePlugged(this.desc.cable);
  }
}
