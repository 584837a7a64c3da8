// The NIC actor core: one per link. It moves frames between the stack's frame rings and a link
// device built from its config (tap | wire | loopback), wrapped by impair and pcap, which are
// always present and idle until configured (so both can be switched on at runtime).
//   input port 'tx'  : frames from IP to send (a refused write leaves the frame: back-pressure)
//   output port 'rx' : frames received, to IP (a full ring drops and counts 'nic.drop.rx-ring-full')
//   wire ports       : for { type: 'wire', port } the cable is an input/output port pair
//                      (records in = frames from the peer NIC, records out = frames to it)
// Link state goes out as ctx.emit('link', { up, carrier }); counters go to ctx.counters (the
// role's shared block, so they survive restarts). In threaded mode the TAP NIC sleeps in
// poll() on the device fd and the role bell's eventfd (see sleep()).

import type { ActorContext, ActorCore } from '../../base/actor';
import type { Bell } from '../../base/bell';
import type { RingDescriptor } from '../../base/ring';
import { RingReader, RingWriter } from '../../base/ring';
import { SeededRandom, Random } from '../../base/clock';
import { getLibc, POLLIN, POLLNVAL, POLLERR, POLLFD_BYTES } from '../../base/ffi';
import { Link, LinkCounters, LinkState, WriteStatus, formatMac, BaseLinkOptions, RxBuffer } from './link';
import { TapLink, TapMode, adoptOrOpenTap, forgetSharedTap } from './tap';
import { RingWireLink, setCablePlugged } from './wire';
import { LoopbackLink } from './loopback';
import { ImpairConfig, ImpairDirection, ImpairLink, ImpairParams } from './impair';
import { PcapConfig, PcapLink, fileSink } from './pcap';

export interface TapLinkConfig {
  type: 'tap';
  /** Device name, e.g. "sal0" (a "%d" pattern lets the kernel pick). */
  name: string;
  /** An fd opened by the supervisor (openTap); the actor never closes it. */
  fd?: number;
  /** Default 'create-or-attach'. */
  mode?: TapMode;
  /** Start with reading paused (frames queue in the kernel); control('rxPause', {paused:false})
   *  starts it. Default false. */
  rxPaused?: boolean;
}

export interface WireLinkConfig {
  type: 'wire';
  /** Explicit rings: frames to the peer (tx) and from it (rx). Give both or neither. */
  tx?: RingDescriptor;
  rx?: RingDescriptor;
  /** Without explicit rings: the actor port used for both directions of the cable. Default
   *  'wire' (output 'wire' to the peer, input 'wire' from it). */
  port?: string;
  /** Shared cable word (wire.ts createCable()) both ends watch for plug/unplug. */
  cable?: SharedArrayBuffer;
}

export interface LoopbackLinkConfig {
  type: 'loopback';
}

export interface NicConfig {
  link: TapLinkConfig | WireLinkConfig | LoopbackLinkConfig;
  /** The stack's MAC on this link; default random locally administered (a TAP NIC should be
   *  given one so it survives restarts: the default is derived from the role name then). */
  mac?: string;
  /** IP MTU; default 1500. */
  mtu?: number;
  /** Start administratively down. Default false. */
  down?: boolean;
  impair?: ImpairConfig;
  pcap?: PcapConfig;
  /** Frames read from the device per poll. Default 256. */
  rxBatch?: number;
  /** Start with transmission held (frames wait in the tx ring). Default false. */
  txPaused?: boolean;
  /** Port names; defaults 'tx' and 'rx'. */
  txPort?: string;
  rxPort?: string;
}

/** Name of the role's shared region holding the TAP fd (ActorSpec.shared: { nic: 64 }). */
export const NIC_SHARED_REGION = 'nic';
/** Without a bell eventfd the TAP NIC cannot be woken out of poll() by a ring; it then polls
 *  with at most this timeout. */
export const NO_EVENTFD_POLL_MS = 1;

/** A MAC derived from the role name: stable across restarts without config. */
function nameMac(name: string): string {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  const b = [0x02, 0x5a, (h >>> 24) & 0xff, (h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

class NicCore implements ActorCore {
  private readonly base: Link;
  private readonly impair: ImpairLink;
  private readonly pcap: PcapLink;
  /** The outermost link (what the stack talks to). */
  private readonly top: Link;
  private readonly wirePort: string | null = null;
  private readonly wire: RingWireLink | null = null;
  private readonly tap: TapLink | null = null;
  private readonly tapOwned: boolean = false;
  private readonly txPort: string;
  private readonly rxPort: string;
  private readonly rxBatch: number;
  private readonly nic: LinkCounters;
  private readonly pcapAt: 'stack' | 'wire';
  private pfds: Uint8Array | null = null;
  /** Open zero-copy reservation in the rx ring (see rxBuffer()). */
  private resvW: RingWriter | null = null;
  private resvAt = -1;
  private resvLen = 0;
  private readonly grant: RxBuffer = { bytes: new Uint8Array(0), off: 0, len: 0 };
  private pfdView: DataView | null = null;
  private lastState: LinkState | null = null;
  private disposed = false;
  /** Hold transmission: tx records stay in the ring (back-pressure), control('txPause'). */
  private txPaused = false;

  constructor(
    private readonly ctx: ActorContext,
    private readonly config: NicConfig,
  ) {
    if (!config || typeof config !== 'object' || !config.link) throw new TypeError(`nic ${ctx.name}: config.link is required`);
    this.txPort = config.txPort ?? 'tx';
    this.rxPort = config.rxPort ?? 'rx';
    this.rxBatch = config.rxBatch ?? 256;
    this.nic = new LinkCounters(ctx.counters, 'nic.');
    const common: BaseLinkOptions = {
      mtu: config.mtu,
      mac: config.mac ?? nameMac(ctx.name),
      counters: ctx.counters,
      counterPrefix: 'link.',
    };
    const l = config.link;
    switch (l.type) {
      case 'tap': {
        const got = adoptOrOpenTap(l.name, { fd: l.fd, shared: ctx.shared[NIC_SHARED_REGION], mode: l.mode });
        this.tap = new TapLink({ ...common, fd: got.fd, name: got.name, ownsFd: false, shared: ctx.shared[NIC_SHARED_REGION], now: ctx.now() });
        this.tapOwned = got.opened;
        this.tap.rxPaused = l.rxPaused === true;
        ctx.counters.add(`nic.tap.adopt.${got.source}`);
        this.base = this.tap;
        break;
      }
      case 'wire': {
        if ((l.tx === undefined) !== (l.rx === undefined)) throw new TypeError(`nic ${ctx.name}: a wire needs both tx and rx rings, or neither`);
        if (l.tx && l.rx) {
          this.wire = new RingWireLink({ ...common, out: new RingWriter(l.tx), in: new RingReader(l.rx), cable: l.cable, publishEach: false });
          const w = this.wire;
          this.flushWire = () => w.publish();
        } else {
          const port = l.port ?? 'wire';
          this.wirePort = port;
          this.wire = new RingWireLink({ ...common, out: () => ctx.out(port), cable: l.cable, publishEach: false });
        }
        this.base = this.wire;
        break;
      }
      case 'loopback':
        this.base = new LoopbackLink(common);
        break;
      default:
        throw new TypeError(`nic ${ctx.name}: unknown link type "${(l as { type: string }).type}"`);
    }
    this.pcapAt = config.pcap?.at ?? 'stack';
    const random: Random =
      config.impair?.seed !== undefined ? new SeededRandom(config.impair.seed) : { next: () => ctx.random(), u32: () => ctx.randomU32() };
    const pcapOpts = { snapLen: config.pcap?.snapLen, directions: config.pcap?.directions, epochMs: ctx.inline ? 0 : undefined };
    if (this.pcapAt === 'wire') {
      this.pcap = new PcapLink(this.base, pcapOpts);
      this.impair = new ImpairLink(this.pcap, { ...config.impair, random });
      this.top = this.impair;
    } else {
      this.impair = new ImpairLink(this.base, { ...config.impair, random });
      this.pcap = new PcapLink(this.impair, pcapOpts);
      this.top = this.pcap;
    }
    if (config.pcap?.path) this.pcap.setSink(fileSink(config.pcap.path));
    this.top.attach({
      onFrame: (b, o, len) => this.toStack(b, o, len),
      onLinkState: (s) => this.reportState(s),
      rxBuffer: (maxLen) => this.rxBuffer(maxLen),
    });
    if (config.down) this.top.setUp(false, ctx.now());
    this.txPaused = config.txPaused === true;
    this.reportState(this.top.state);
  }

  private readonly flushWire: (() => void) | null = null;

  /** Zero-copy receive: a reservation in the rx ring for the device to read into. */
  private rxBuffer(maxLen: number): RxBuffer | null {
    if (this.resvAt >= 0) {
      if (this.resvLen >= maxLen) return this.grant;
      this.releaseRx();
    }
    const w = this.ctx.out(this.rxPort);
    if (!w || maxLen > w.maxRecord) return null;
    const at = w.tryReserve(maxLen);
    if (at < 0) return null; // full: the link reads into its own buffer; toStack() drops it
    this.resvW = w;
    this.resvAt = at;
    this.resvLen = maxLen;
    this.grant.bytes = w.bytes;
    this.grant.off = at;
    this.grant.len = maxLen;
    return this.grant;
  }

  /** Gives back an unused reservation (nothing becomes visible). */
  private releaseRx(): void {
    if (this.resvAt < 0) return;
    this.resvW?.abort();
    this.resvW = null;
    this.resvAt = -1;
  }

  /** A frame from the link, into the rx ring. */
  private toStack(bytes: Uint8Array, off: number, len: number): void {
    if (this.resvAt >= 0) {
      const w = this.resvW!;
      if (bytes === w.bytes && off === this.resvAt && len <= this.resvLen && this.ctx.out(this.rxPort) === w) {
        // Read straight into the ring: commit in place.
        w.commit(len, false);
        this.resvW = null;
        this.resvAt = -1;
        this.nic.rx(len);
        return;
      }
      this.releaseRx();
    }
    const w = this.ctx.out(this.rxPort);
    if (!w) {
      this.nic.drop('rx-unwired');
      return;
    }
    if (len > w.maxRecord) {
      this.nic.drop('rx-too-big');
      return;
    }
    const at = w.tryReserve(len);
    if (at < 0) {
      this.nic.drop('rx-ring-full');
      return;
    }
    w.bytes.set(bytes.subarray(off, off + len), at);
    w.commit(len, false);
    this.nic.rx(len);
  }

  private reportState(s: LinkState): void {
    if (this.lastState && this.lastState.up === s.up && this.lastState.carrier === s.carrier) return;
    this.lastState = { ...s };
    this.ctx.counters.set('nic.up', s.up ? 1 : 0);
    this.ctx.counters.set('nic.carrier', s.carrier ? 1 : 0);
    this.ctx.emit('link', { up: s.up, carrier: s.carrier });
  }

  onRecord(port: string, bytes: Uint8Array, off: number, len: number): void | boolean {
    const now = this.ctx.now();
    if (port === this.txPort) {
      if (this.txPaused) return false;
      const st = this.top.write(bytes, off, len, now);
      if (st === WriteStatus.BUSY) return false;
      if (st === WriteStatus.SENT) this.nic.tx(len);
      return;
    }
    if (port === this.wirePort && this.wire) {
      this.wire.deliver(bytes, off, len, now);
      return;
    }
    this.nic.drop(`unknown-port`);
  }

  poll(): boolean {
    const now = this.ctx.now();
    const n = this.top.poll(now, this.rxBatch);
    this.releaseRx();
    this.flushWire?.();
    return n > 0;
  }

  nextDeadline(): number {
    return this.top.nextDeadline();
  }

  onTimer(): void {
    const now = this.ctx.now();
    this.top.onTimer(now);
    this.releaseRx();
    this.flushWire?.();
  }

  /** Threaded only. poll() on the device fd (POLLIN, plus POLLOUT while a write is pending) and
   *  on the bell's eventfd, then drains the eventfd. Never blocks without the eventfd in the set
   *  (so a ring or a control message always wakes it); without an eventfd the wait is cut to
   *  NO_EVENTFD_POLL_MS. A wire or loopback NIC waits on the bell itself. */
  sleep(bell: Bell, seq: number, timeoutMs: number): void {
    const w = this.top.waitable();
    if (!w) {
      bell.wait(seq, timeoutMs);
      return;
    }
    if (Atomics.load(bell.i32, bell.seqIndex) !== seq) return;
    if (!this.pfds) {
      // Once per incarnation: whether this NIC can be woken out of poll() by its bell.
      this.ctx.counters.set('nic.sleep.eventfd', bell.eventfd >= 0 ? 1 : 0);
      this.pfds = new Uint8Array(2 * POLLFD_BYTES);
      this.pfdView = new DataView(this.pfds.buffer);
    }
    const v = this.pfdView!;
    v.setInt32(0, w.fd, true);
    v.setInt16(4, w.events, true);
    v.setInt16(6, 0, true);
    let nfds = 1;
    let t = Math.max(0, Math.ceil(timeoutMs));
    if (bell.eventfd >= 0) {
      v.setInt32(8, bell.eventfd, true);
      v.setInt16(12, POLLIN, true);
      v.setInt16(14, 0, true);
      nfds = 2;
    } else t = Math.min(t, NO_EVENTFD_POLL_MS);
    const c = getLibc();
    const r = c.poll(this.pfds, nfds, t);
    if (r > 0) {
      const rev = v.getInt16(6, true);
      if (rev & (POLLNVAL | POLLERR)) this.ctx.counters.add('nic.poll.error');
      if (nfds === 2 && v.getInt16(14, true) !== 0) drainEventfd(bell.eventfd);
    }
  }

  control(op: string, args: unknown): unknown {
    const a = (args ?? {}) as Record<string, unknown>;
    const now = this.ctx.now();
    switch (op) {
      case 'stats':
        return this.stats();
      case 'setUp':
        this.top.setUp(a.up !== false, now);
        return this.top.state;
      case 'impair':
        this.impair.setParams((a.dir as ImpairDirection) ?? 'both', (a.params ?? {}) as ImpairParams);
        return this.impair.params();
      case 'pcap': {
        const path = a.path as string | null | undefined;
        this.pcap.setSink(path ? fileSink(path) : null);
        return { recording: this.pcap.recording };
      }
      case 'rxPause':
        if (!this.tap) throw new Error('rxPause: only TAP links can pause reading');
        this.tap.rxPaused = a.paused !== false;
        return { paused: this.tap.rxPaused };
      case 'txPause':
        this.txPaused = a.paused !== false;
        return { paused: this.txPaused };
      case 'cable': {
        const cable = (this.config.link as WireLinkConfig).cable;
        if (!cable || !this.wire) throw new Error('cable: this NIC has no shared cable');
        setCablePlugged(cable, a.plugged !== false);
        this.wire.checkCable(now);
        return this.top.state;
      }
      default:
        throw new Error(`nic: unknown control op "${op}"`);
    }
  }

  private stats(): Record<string, unknown> {
    return {
      name: this.ctx.name,
      kind: this.base.kind,
      mac: formatMac(this.top.mac),
      mtu: this.top.mtu,
      state: this.top.state,
      device: this.tap ? { name: this.tap.name, fd: this.tap.fd } : undefined,
      impair: this.impair.params(),
      impairHeld: this.impair.held,
      pcap: this.pcap.recording,
      counters: this.ctx.counters.snapshot(),
    };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.pcap.setSink(null);
    this.top.close();
    // A clean stop releases the device: close an fd this role opened (the supervisor's own
    // fd, from the config, stays open). A crash never gets here, so the fd outlives it.
    if (this.tap && this.tapOwned) {
      getLibc().close(this.tap.fd);
      forgetSharedTap(this.ctx.shared[NIC_SHARED_REGION]);
    }
  }
}

let drainFn: ((fd: number) => number) | null = null;
function drainEventfd(fd: number): void {
  if (!drainFn) {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    drainFn = require('../../base/eventfd').eventfdDrain as (fd: number) => number;
  }
  drainFn(fd);
}

export function create(ctx: ActorContext, config: unknown): ActorCore {
  const core = new NicCore(ctx, config as NicConfig);
  return core;
}

export { NicCore };
