// The link interface every NIC device and wrapper implements (gVisor's stackable link
// endpoints, smoltcp's sans-I/O Device): frames out with write()/writeBatch(), frames in through
// an attached receiver, link-state events, counters. Synchronous: a link never sleeps, starts a
// timer or reads a clock; the caller passes `now` (ms, ctx.now() units) into every call, and a
// link that needs time (impair's delay) answers nextDeadline() and is called back at onTimer().
// A link whose frames come from a file descriptor (TAP) exposes it via waitable() so the NIC
// actor can sleep in poll() on it.

/** Ethernet II header without VLAN tag: dst(6) src(6) ethertype(2). */
export const ETH_HEADER_LEN = 14;
export const DEFAULT_MTU = 1500;

/** Outcome of one write(). */
export const WriteStatus = {
  /** Taken: sent, or queued inside the link (impair's delay) to go out later. */
  SENT: 0,
  /** Taken and thrown away (link down, loss, too large...); counted as a drop by the link. */
  DROPPED: 1,
  /** Not taken: the device cannot accept it now (EAGAIN, ring full). Retry later; the caller
   *  keeps the frame (the NIC actor leaves it in its tx ring: back-pressure). */
  BUSY: 2,
} as const;
export type WriteStatus = (typeof WriteStatus)[keyof typeof WriteStatus];

export interface LinkState {
  /** Administratively up (set by the user / supervisor). */
  up: boolean;
  /** Physical carrier: the other side is there (cable plugged, device attached). */
  carrier: boolean;
}

/** Where a link delivers what it receives. */
export interface LinkReceiver {
  /** One inbound frame in bytes[off .. off+len). Valid only during the call: copy to keep. */
  onFrame(bytes: Uint8Array, off: number, len: number, now: number): void;
  /** The link's state changed. */
  onLinkState?(state: LinkState, now: number): void;
  /** Optional zero-copy receive: room for the next frame (at least `maxLen` bytes at
   *  bytes[off ..]), which a device link may read into before calling onFrame() with that very
   *  buffer and offset; the receiver then keeps the frame in place (the NIC actor: a
   *  reservation in its rx ring). Returns null to decline. A grant that never reaches onFrame
   *  (the frame was dropped, or no frame came) is simply given out again or abandoned, and the
   *  receiver must still accept onFrame() with any other buffer. */
  rxBuffer?(maxLen: number): RxBuffer | null;
}

/** A receive buffer granted by LinkReceiver.rxBuffer(). */
export interface RxBuffer {
  bytes: Uint8Array;
  off: number;
  len: number;
}

/** A file descriptor the owner should poll() before calling poll() on the link again. */
export interface Waitable {
  fd: number;
  /** POLLIN, plus POLLOUT while writes are blocked. */
  events: number;
}

/** Counter storage. `Counters` from base/actor.ts (the role's shared counters, which outlive a
 *  restart) satisfies it, and so does LocalCounters for standalone use. */
export interface CounterSink {
  slot(name: string): number;
  addSlot(slot: number, n?: number): void;
  get(name: string): number;
  snapshot(): Record<string, number>;
}

/** Plain in-memory counters. */
export class LocalCounters implements CounterSink {
  private readonly names: string[] = [];
  private readonly values: number[] = [];
  private readonly index = new Map<string, number>();
  slot(name: string): number {
    let s = this.index.get(name);
    if (s === undefined) {
      s = this.names.length;
      this.names.push(name);
      this.values.push(0);
      this.index.set(name, s);
    }
    return s;
  }
  addSlot(slot: number, n = 1): void {
    this.values[slot] += n;
  }
  get(name: string): number {
    const s = this.index.get(name);
    return s === undefined ? 0 : this.values[s];
  }
  snapshot(): Record<string, number> {
    const o: Record<string, number> = {};
    this.names.forEach((n, i) => (o[n] = this.values[i]));
    return o;
  }
}

/** The counters of one link layer: `<prefix>rx.frames`, `rx.bytes`, `tx.frames`, `tx.bytes`,
 *  `drop.<reason>` and `errors`. rx = from the device towards the stack, tx = from the stack
 *  towards the device. Slots are resolved once, so counting costs one array add. */
export class LinkCounters {
  private readonly sRxFrames: number;
  private readonly sRxBytes: number;
  private readonly sTxFrames: number;
  private readonly sTxBytes: number;
  private readonly sErrors: number;
  private readonly dropSlots = new Map<string, number>();

  constructor(
    readonly sink: CounterSink = new LocalCounters(),
    readonly prefix = '',
  ) {
    this.sRxFrames = sink.slot(`${prefix}rx.frames`);
    this.sRxBytes = sink.slot(`${prefix}rx.bytes`);
    this.sTxFrames = sink.slot(`${prefix}tx.frames`);
    this.sTxBytes = sink.slot(`${prefix}tx.bytes`);
    this.sErrors = sink.slot(`${prefix}errors`);
  }
  rx(bytes: number): void {
    this.sink.addSlot(this.sRxFrames, 1);
    this.sink.addSlot(this.sRxBytes, bytes);
  }
  tx(bytes: number): void {
    this.sink.addSlot(this.sTxFrames, 1);
    this.sink.addSlot(this.sTxBytes, bytes);
  }
  drop(reason: string, n = 1): void {
    let s = this.dropSlots.get(reason);
    if (s === undefined) {
      s = this.sink.slot(`${this.prefix}drop.${reason}`);
      this.dropSlots.set(reason, s);
    }
    this.sink.addSlot(s, n);
  }
  error(n = 1): void {
    this.sink.addSlot(this.sErrors, n);
  }
  get(name: string): number {
    return this.sink.get(`${this.prefix}${name}`);
  }
  /** This layer's counters without the prefix. */
  snapshot(): Record<string, number> {
    const o: Record<string, number> = {};
    for (const [k, v] of Object.entries(this.sink.snapshot())) if (k.startsWith(this.prefix)) o[k.slice(this.prefix.length)] = v;
    return o;
  }
}

export interface Link {
  /** 'tap', 'wire', 'loopback', 'impair', 'pcap'... */
  readonly kind: string;
  /** Largest payload after the Ethernet header (IP MTU). */
  readonly mtu: number;
  /** The stack's own MAC address on this link (6 bytes). */
  readonly mac: Uint8Array;
  /** Bytes of link header the stack must leave in front of a packet (14 for Ethernet). */
  readonly maxHeaderLen: number;
  readonly counters: LinkCounters;
  readonly state: LinkState;
  /** Sets the receiver of inbound frames and link-state events (null detaches). */
  attach(receiver: LinkReceiver | null): void;
  /** Sends one frame bytes[off .. off+len). */
  write(bytes: Uint8Array, off: number, len: number, now: number): WriteStatus;
  /** Sends frames in order; stops at the first BUSY. Returns how many were taken (sent or
   *  dropped). */
  writeBatch(frames: readonly Uint8Array[], now: number): number;
  /** Moves up to `budget` inbound frames to the receiver and does due work. Returns the number
   *  of frames delivered (0 when idle). */
  poll(now: number, budget: number): number;
  /** Administrative up/down. While down, frames are dropped and counted both ways. */
  setUp(up: boolean, now: number): void;
  /** When onTimer must next run (Infinity: never). */
  nextDeadline(): number;
  onTimer(now: number): void;
  /** A descriptor to poll() on while idle, or null (in-memory links). */
  waitable(): Waitable | null;
  /** Releases what the link holds. Idempotent. */
  close(): void;
}

/** Writes each frame with write(); for links without a faster batch path. */
export function writeEach(link: Link, frames: readonly Uint8Array[], now: number): number {
  let n = 0;
  for (const f of frames) {
    if (link.write(f, 0, f.length, now) === WriteStatus.BUSY) break;
    n++;
  }
  return n;
}

/** Base of the in-process links: state, receiver, counters, the defaults. */
export abstract class BaseLink implements Link {
  abstract readonly kind: string;
  readonly mtu: number;
  readonly mac: Uint8Array;
  readonly maxHeaderLen = ETH_HEADER_LEN;
  readonly counters: LinkCounters;
  protected receiver: LinkReceiver | null = null;
  protected adminUp = true;
  protected carrierOn: boolean;

  constructor(opts: BaseLinkOptions) {
    this.mtu = opts.mtu ?? DEFAULT_MTU;
    this.mac = opts.mac ? parseMac(opts.mac) : randomMac(opts.random);
    this.counters = new LinkCounters(opts.counters, opts.counterPrefix ?? 'link.');
    this.carrierOn = opts.carrier ?? true;
  }

  get state(): LinkState {
    return { up: this.adminUp, carrier: this.carrierOn };
  }
  /** Up and carrier: frames flow. */
  get running(): boolean {
    return this.adminUp && this.carrierOn;
  }

  attach(receiver: LinkReceiver | null): void {
    this.receiver = receiver;
  }

  abstract write(bytes: Uint8Array, off: number, len: number, now: number): WriteStatus;

  writeBatch(frames: readonly Uint8Array[], now: number): number {
    return writeEach(this, frames, now);
  }

  abstract poll(now: number, budget: number): number;

  setUp(up: boolean, now: number): void {
    if (up === this.adminUp) return;
    this.adminUp = up;
    this.stateChanged(now);
  }

  protected setCarrier(carrier: boolean, now: number): void {
    if (carrier === this.carrierOn) return;
    this.carrierOn = carrier;
    this.stateChanged(now);
  }

  protected stateChanged(now: number): void {
    this.receiver?.onLinkState?.(this.state, now);
  }

  /** Checks a frame about to be written: running, Ethernet header, MTU. Counts the drop and
   *  returns false when it must not go out. */
  protected admit(len: number): boolean {
    if (!this.running) {
      this.counters.drop('link-down');
      return false;
    }
    if (len < ETH_HEADER_LEN) {
      this.counters.drop('runt');
      return false;
    }
    if (len > this.mtu + this.maxHeaderLen + VLAN_TAG_LEN) {
      this.counters.drop('too-big');
      return false;
    }
    return true;
  }

  nextDeadline(): number {
    return Infinity;
  }
  onTimer(_now: number): void {}
  waitable(): Waitable | null {
    return null;
  }
  close(): void {
    this.receiver = null;
  }
}

/** One 802.1Q tag may ride on a full-MTU frame. */
export const VLAN_TAG_LEN = 4;

export interface BaseLinkOptions {
  mtu?: number;
  /** "02:00:00:00:00:01" or 6 bytes; default: a random locally administered unicast MAC. */
  mac?: string | Uint8Array;
  counters?: CounterSink;
  /** Counter name prefix; default "link.". */
  counterPrefix?: string;
  /** Initial carrier; default true. */
  carrier?: boolean;
  /** Source for a generated MAC (a seeded Random in deterministic runs). */
  random?: { u32(): number };
}

/** Wrapper base: forwards everything to `inner` and sits between it and the receiver. Subclasses
 *  override write() (outbound) and onFrame() (inbound). */
export abstract class LinkWrapper implements Link, LinkReceiver {
  abstract readonly kind: string;
  protected receiver: LinkReceiver | null = null;
  readonly counters: LinkCounters;

  constructor(
    readonly inner: Link,
    counters: CounterSink | undefined,
    prefix: string,
  ) {
    this.counters = new LinkCounters(counters ?? inner.counters.sink, prefix);
    inner.attach(this);
  }

  get mtu(): number {
    return this.inner.mtu;
  }
  get mac(): Uint8Array {
    return this.inner.mac;
  }
  get maxHeaderLen(): number {
    return this.inner.maxHeaderLen;
  }
  get state(): LinkState {
    return this.inner.state;
  }
  attach(receiver: LinkReceiver | null): void {
    this.receiver = receiver;
  }
  write(bytes: Uint8Array, off: number, len: number, now: number): WriteStatus {
    return this.inner.write(bytes, off, len, now);
  }
  writeBatch(frames: readonly Uint8Array[], now: number): number {
    return writeEach(this, frames, now);
  }
  poll(now: number, budget: number): number {
    return this.inner.poll(now, budget);
  }
  setUp(up: boolean, now: number): void {
    this.inner.setUp(up, now);
  }
  nextDeadline(): number {
    return this.inner.nextDeadline();
  }
  onTimer(now: number): void {
    if (this.inner.nextDeadline() <= now) this.inner.onTimer(now);
  }
  waitable(): Waitable | null {
    return this.inner.waitable();
  }
  close(): void {
    this.inner.close();
    this.receiver = null;
  }
  // LinkReceiver side (from inner):
  onFrame(bytes: Uint8Array, off: number, len: number, now: number): void {
    this.receiver?.onFrame(bytes, off, len, now);
  }
  onLinkState(state: LinkState, now: number): void {
    this.receiver?.onLinkState?.(state, now);
  }
  /** Wrappers that only look at inbound frames, or copy what they keep, pass grants through. */
  rxBuffer(maxLen: number): RxBuffer | null {
    const r = this.receiver;
    return r && r.rxBuffer ? r.rxBuffer(maxLen) : null;
  }
}

/** Parses "aa:bb:cc:dd:ee:ff" (or '-' separated) or copies 6 bytes. Throws on bad input (this is
 *  configuration, not the data path). */
export function parseMac(mac: string | Uint8Array): Uint8Array {
  if (mac instanceof Uint8Array) {
    if (mac.length !== 6) throw new TypeError('a MAC address is 6 bytes');
    return Uint8Array.from(mac);
  }
  const parts = mac.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new TypeError(`invalid MAC address "${mac}"`);
  }
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

export function formatMac(mac: Uint8Array): string {
  return Array.from(mac.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** A random locally administered unicast MAC (first octet x2, x6, xA or xE). */
export function randomMac(random?: { u32(): number }): Uint8Array {
  const m = new Uint8Array(6);
  const r = random ?? { u32: () => (Math.random() * 2 ** 32) >>> 0 };
  const a = r.u32();
  const b = r.u32();
  m[0] = ((a & 0xfc) | 0x02) & 0xff;
  m[1] = (a >>> 8) & 0xff;
  m[2] = (a >>> 16) & 0xff;
  m[3] = (a >>> 24) & 0xff;
  m[4] = b & 0xff;
  m[5] = (b >>> 8) & 0xff;
  return m;
}
