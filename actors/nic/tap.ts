// tap: a Linux TAP device through /dev/net/tun (Documentation/networking/tuntap.rst), via koffi.
// The device is opened O_RDWR|O_NONBLOCK and bound with ioctl(TUNSETIFF, IFF_TAP|IFF_NO_PI), so
// every read() returns one whole Ethernet frame and every write() sends one. Nothing here
// blocks: reads stop at EAGAIN (bounded per poll), a write that gets EAGAIN reports BUSY, and
// the NIC actor sleeps in poll() on the fd together with its bell's eventfd.
//
// A file descriptor belongs to the process, not to the worker thread that opened it: when a NIC
// actor dies the fd stays open, and the next incarnation re-adopts it. adoptOrOpenTap() finds
// it, in order, from the role config ({ fd }), from the role's shared region, or by scanning
// /proc/self/fd for a /dev/net/tun descriptor bound (TUNGETIFF) to the same device name; only
// when none exists does it open the device again. Without IFF_MULTI_QUEUE a second open of a
// device that is still attached fails with EBUSY, which is why re-adoption matters.

import * as fs from 'node:fs';
import {
  getLibc, O_RDWR, O_NONBLOCK, O_CLOEXEC, Errno, errnoName, POLLIN, POLLOUT, fdIsOpen, setNonBlocking,
} from '../../base/ffi';
import { BaseLink, BaseLinkOptions, Waitable, WriteStatus, ETH_HEADER_LEN, VLAN_TAG_LEN } from './link';

export const TUN_PATH = '/dev/net/tun';
/** _IOW('T', 202, int) */
export const TUNSETIFF = 0x400454ca;
/** _IOR('T', 210, unsigned int) */
export const TUNGETIFF = 0x800454d2;
/** _IOW('T', 226, int): carrier on/off as seen by the kernel side (Linux >= 4.19). */
export const TUNSETCARRIER = 0x400454e2;
export const IFF_TUN = 0x0001;
export const IFF_TAP = 0x0002;
export const IFF_NO_PI = 0x1000;
/** Fail instead of attaching when the device already exists. */
export const IFF_TUN_EXCL = 0x8000;
/** struct ifreq: char ifr_name[IFNAMSIZ=16]; union { short ifr_flags; ... } (40 bytes). */
export const IFREQ_BYTES = 40;
export const IFNAMSIZ = 16;

/** Errors with stable codes:
 *  ERR_TUN_MISSING (no /dev/net/tun), ERR_TUN_PERMISSION (EPERM/EACCES: needs root or
 *  CAP_NET_ADMIN), ERR_TAP_BUSY (device attached to another descriptor), ERR_TAP_EXISTS
 *  (mode 'create' and the device exists), ERR_TAP_NOT_FOUND (mode 'attach' and no such device),
 *  ERR_TAP_NAME, ERR_TAP (anything else; `errno` says more). */
export class TapError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly errno?: number,
  ) {
    super(message);
    this.name = 'TapError';
  }
}

export type TapMode = 'create-or-attach' | 'attach' | 'create';

export interface TapHandle {
  fd: number;
  /** Device name as the kernel bound it. */
  name: string;
}

function ifreq(name: string, flags: number): Uint8Array {
  const b = new Uint8Array(IFREQ_BYTES);
  const n = Buffer.from(name, 'utf8');
  b.set(n.subarray(0, IFNAMSIZ - 1));
  new DataView(b.buffer).setUint16(IFNAMSIZ, flags, true);
  return b;
}

function ifreqName(b: Uint8Array): string {
  const end = b.indexOf(0);
  return Buffer.from(b.subarray(0, end < 0 || end > IFNAMSIZ ? IFNAMSIZ : end)).toString('utf8');
}

export function checkTapName(name: string): void {
  if (typeof name !== 'string' || Buffer.byteLength(name) >= IFNAMSIZ || !/^[A-Za-z0-9_.%-]*$/.test(name)) {
    throw new TapError(`invalid interface name "${name}" (at most 15 characters: letters, digits, _ . - and %d)`, 'ERR_TAP_NAME');
  }
}

/** Opens /dev/net/tun and binds it to TAP device `name` (created if needed, per `mode`).
 *  Runs in any thread; the fd is the process's. */
export function openTap(name: string, mode: TapMode = 'create-or-attach'): TapHandle {
  checkTapName(name);
  const c = getLibc();
  const fd = c.open(TUN_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC, 0);
  if (fd < 0) {
    const e = c.errno();
    if (e === Errno.ENOENT || e === Errno.ENODEV || e === Errno.ENXIO) {
      throw new TapError(`${TUN_PATH} is missing (${errnoName(e)}): load the tun module (modprobe tun) or create the node (mknod ${TUN_PATH} c 10 200)`, 'ERR_TUN_MISSING', e);
    }
    if (e === Errno.EPERM || e === Errno.EACCES) {
      throw new TapError(`permission denied opening ${TUN_PATH} (${errnoName(e)}): TAP devices need root or CAP_NET_ADMIN`, 'ERR_TUN_PERMISSION', e);
    }
    throw new TapError(`open(${TUN_PATH}) failed: ${errnoName(e)}`, 'ERR_TAP', e);
  }
  if (mode === 'attach' && name !== '' && !name.includes('%') && !fs.existsSync(`/sys/class/net/${name}`)) {
    c.close(fd);
    throw new TapError(`no network device "${name}" in this namespace to attach to`, 'ERR_TAP_NOT_FOUND', Errno.ENODEV);
  }
  const req = ifreq(name, IFF_TAP | IFF_NO_PI | (mode === 'create' ? IFF_TUN_EXCL : 0));
  if (c.ioctl(fd, TUNSETIFF, req) < 0) {
    const e = c.errno();
    c.close(fd);
    if (e === Errno.EPERM || e === Errno.EACCES) {
      throw new TapError(`permission denied binding TAP "${name}" (${errnoName(e)}): needs root or CAP_NET_ADMIN (or a device owned by this user)`, 'ERR_TUN_PERMISSION', e);
    }
    if (e === Errno.EBUSY) throw new TapError(`TAP "${name}" is already attached to another descriptor (EBUSY)`, 'ERR_TAP_BUSY', e);
    if (e === Errno.EEXIST) throw new TapError(`device "${name}" already exists`, 'ERR_TAP_EXISTS', e);
    if (e === Errno.EINVAL) throw new TapError(`"${name}" exists but is not a TAP device of this kind (EINVAL)`, 'ERR_TAP', e);
    throw new TapError(`ioctl(TUNSETIFF, "${name}") failed: ${errnoName(e)}`, 'ERR_TAP', e);
  }
  return { fd, name: ifreqName(req) };
}

/** The device bound to `fd` ({ name, flags }), or null when fd is not an attached tun/tap. */
export function tapInfo(fd: number): { name: string; flags: number } | null {
  if (!fdIsOpen(fd)) return null;
  const b = new Uint8Array(IFREQ_BYTES);
  if (getLibc().ioctl(fd, TUNGETIFF, b) < 0) return null;
  return { name: ifreqName(b), flags: new DataView(b.buffer).getUint16(IFNAMSIZ, true) };
}

/** True when `fd` is an open TAP (IFF_TAP|IFF_NO_PI) descriptor bound to `name`. */
export function isTapFd(fd: number, name?: string): boolean {
  const info = tapInfo(fd);
  if (!info || (info.flags & (IFF_TAP | IFF_NO_PI)) !== (IFF_TAP | IFF_NO_PI) || (info.flags & IFF_TUN) !== 0) return false;
  return name === undefined || info.name === name;
}

/** Looks through /proc/self/fd for an open TAP descriptor bound to `name`. */
export function findTapFd(name: string): number {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc/self/fd');
  } catch {
    return -1;
  }
  for (const e of entries) {
    const fd = Number(e);
    if (!Number.isInteger(fd)) continue;
    let target: string;
    try {
      target = fs.readlinkSync(`/proc/self/fd/${e}`);
    } catch {
      continue;
    }
    if (target === TUN_PATH && isTapFd(fd, name)) return fd;
  }
  return -1;
}

/** Closes a TAP fd (a non-persistent device disappears with its last descriptor). */
export function closeTap(fd: number): void {
  if (fd >= 0) getLibc().close(fd);
}

/** Layout of the NIC role's shared region "nic" (Int32 words). */
export const NicShared = { MAGIC: 0, FD: 1, OPENS: 2, CARRIER_LOST: 3, BYTES: 64 } as const;
export const NIC_SHARED_MAGIC = 0x4e494346; // "NICF"

export interface AdoptResult extends TapHandle {
  /** Where the fd came from. */
  source: 'config' | 'shared' | 'scan' | 'opened';
  /** True when this call opened it (the role owns it and closes it on dispose). */
  opened: boolean;
}

/** Finds the role's TAP descriptor or opens the device, and records it in `shared`. */
export function adoptOrOpenTap(name: string, opts: { fd?: number; shared?: SharedArrayBuffer; mode?: TapMode }): AdoptResult {
  const words = opts.shared && opts.shared.byteLength >= NicShared.BYTES ? new Int32Array(opts.shared, 0, NicShared.BYTES / 4) : null;
  const remember = (fd: number): void => {
    if (!words) return;
    Atomics.store(words, NicShared.FD, fd);
    Atomics.store(words, NicShared.MAGIC, NIC_SHARED_MAGIC);
  };
  if (opts.fd !== undefined && opts.fd >= 0) {
    const info = tapInfo(opts.fd);
    if (!info) throw new TapError(`fd ${opts.fd} from the config is not an open TAP descriptor`, 'ERR_TAP', Errno.EBADF);
    if (name && info.name !== name) throw new TapError(`fd ${opts.fd} is bound to "${info.name}", not "${name}"`, 'ERR_TAP');
    setNonBlocking(opts.fd);
    return { fd: opts.fd, name: info.name, source: 'config', opened: false };
  }
  if (words && Atomics.load(words, NicShared.MAGIC) === NIC_SHARED_MAGIC) {
    const fd = Atomics.load(words, NicShared.FD);
    if (fd >= 0 && isTapFd(fd, name)) {
      setNonBlocking(fd);
      return { fd, name, source: 'shared', opened: true };
    }
  }
  const found = findTapFd(name);
  if (found >= 0) {
    setNonBlocking(found);
    remember(found);
    return { fd: found, name, source: 'scan', opened: true };
  }
  const h = openTap(name, opts.mode);
  remember(h.fd);
  if (words) Atomics.add(words, NicShared.OPENS, 1);
  return { ...h, source: 'opened', opened: true };
}

/** Forgets the fd recorded in the role's shared region (after closing it). */
export function forgetSharedTap(shared: SharedArrayBuffer | undefined): void {
  if (!shared || shared.byteLength < NicShared.BYTES) return;
  const words = new Int32Array(shared, 0, NicShared.BYTES / 4);
  Atomics.store(words, NicShared.FD, -1);
}

export interface TapLinkOptions extends BaseLinkOptions {
  fd: number;
  name: string;
  /** Close the fd on close(). Default false. */
  ownsFd?: boolean;
  /** Read buffer size; a frame longer than this is truncated by the kernel and dropped here.
   *  Default 65536. */
  readBufferBytes?: number;
  /** Reflect admin up/down as carrier on the kernel side (TUNSETCARRIER). Default true. */
  mirrorCarrier?: boolean;
  /** The role's shared region (NicShared): a lost carrier is recorded there, so an incarnation
   *  started meanwhile starts without carrier and probing, as its predecessor left it. */
  shared?: SharedArrayBuffer;
  /** Clock for that start (ms). */
  now?: number;
}

/** While the kernel side is down, how often a probe frame checks whether it is back. */
export const CARRIER_PROBE_MS = 20;
/** IEEE 802 local experimental EtherType: what a carrier probe carries. */
const PROBE_ETHERTYPE = 0x88b5;

export class TapLink extends BaseLink {
  readonly kind = 'tap';
  readonly fd: number;
  readonly name: string;
  private readonly c = getLibc();
  private readonly buf: Uint8Array;
  private readonly ownsFd: boolean;
  private readonly mirrorCarrier: boolean;
  private writeBlocked = false;
  private closed = false;
  /** The kernel side has been seen up (a frame went through either way) since this link was
   *  made: only then does EIO mean the carrier was lost (a fresh device is down until it is
   *  configured, and frames written then are merely dropped, as before). */
  private seenUp = false;
  /** Carrier taken away by EIO (the kernel side went down): probe for it until it is back. */
  private probeAt = Infinity;
  private probe: Uint8Array | null = null;
  private readonly words: Int32Array | null;
  /** Stop reading the device (frames queue in the kernel, up to its txqueuelen). */
  rxPaused = false;
  private readonly waitIn: Waitable;
  private readonly waitInOut: Waitable;

  constructor(opts: TapLinkOptions) {
    super(opts);
    this.fd = opts.fd;
    this.name = opts.name;
    this.ownsFd = opts.ownsFd ?? false;
    this.mirrorCarrier = opts.mirrorCarrier ?? true;
    this.words = opts.shared && opts.shared.byteLength >= NicShared.BYTES ? new Int32Array(opts.shared, 0, NicShared.BYTES / 4) : null;
    if (this.words && Atomics.load(this.words, NicShared.CARRIER_LOST) === 1) {
      this.seenUp = true;
      this.carrierOn = false;
      this.probeAt = opts.now ?? 0;
    }
    this.buf = new Uint8Array(opts.readBufferBytes ?? 65536);
    this.waitIn = { fd: this.fd, events: POLLIN };
    this.waitInOut = { fd: this.fd, events: POLLIN | POLLOUT };
  }

  write(bytes: Uint8Array, off: number, len: number, _now: number): WriteStatus {
    if (!this.admit(len)) return WriteStatus.DROPPED;
    for (;;) {
      const n = this.c.write(this.fd, off === 0 ? bytes : bytes.subarray(off, off + len), len);
      if (n === len) {
        this.writeBlocked = false;
        this.seenUp = true;
        this.counters.tx(len);
        return WriteStatus.SENT;
      }
      if (n >= 0) {
        // A TAP write is all or nothing; a short count would be a kernel surprise.
        this.counters.error();
        this.counters.drop('short-write');
        return WriteStatus.DROPPED;
      }
      const e = this.c.errno();
      if (e === Errno.EINTR) continue;
      if (e === Errno.EAGAIN) {
        this.writeBlocked = true;
        return WriteStatus.BUSY;
      }
      this.counters.error();
      // EIO: the kernel-side interface is down; EBADFD: the device went away.
      this.counters.drop(e === Errno.EIO ? 'device-down' : `write-${errnoName(e)}`);
      if (e === Errno.EBADF || e === Errno.EBADFD) this.fail(_now);
      else if (e === Errno.EIO && this.seenUp) this.carrierLost(_now);
      return WriteStatus.DROPPED;
    }
  }

  poll(now: number, budget: number): number {
    if (this.closed || this.rxPaused) return 0;
    const recv = this.receiver;
    const direct = recv !== null && typeof recv.rxBuffer === 'function';
    // Longest frame accepted; one byte more tells a truncated (too long) frame apart.
    const frameMax = this.mtu + this.maxHeaderLen + VLAN_TAG_LEN + 1;
    let n = 0;
    while (n < budget) {
      // Read straight into the receiver's buffer (the rx ring) when it offers one.
      const grant = direct ? recv!.rxBuffer!(frameMax) : null;
      const buf = grant ? grant.bytes : this.buf;
      const base = grant ? grant.off : 0;
      const target = grant ? buf.subarray(base, base + frameMax) : buf;
      const cap = grant ? frameMax : buf.length;
      const r = this.c.read(this.fd, target, cap);
      if (r < 0) {
        const e = this.c.errno();
        if (e === Errno.EINTR) continue;
        if (e !== Errno.EAGAIN) {
          this.counters.error();
          if (e === Errno.EBADF || e === Errno.EBADFD) this.fail(now);
        }
        break;
      }
      n++;
      // The kernel side sends: it is up (whatever an earlier EIO said).
      this.seenUp = true;
      if (this.probeAt !== Infinity) this.carrierBack(now);
      if (r >= cap || r < ETH_HEADER_LEN) {
        this.counters.drop(r < ETH_HEADER_LEN ? 'runt' : 'truncated');
        continue;
      }
      if (!this.running) {
        this.counters.drop('link-down');
        continue;
      }
      this.counters.rx(r);
      recv?.onFrame(buf, base, r, now);
    }
    return n;
  }

  /** A write found the kernel side down (`ip link set DEV down` there, or the device's
   *  namespace going away): that is a lost carrier, as a NIC sees when its cable is pulled.
   *  The NIC actor reports it ('link' event, counter nic.carrier); the Stack takes the
   *  interface down in IP, so routes through it stop being used (failover to another link)
   *  until the probe finds the kernel side up again. */
  private carrierLost(now: number): void {
    if (!this.carrierOn) return;
    this.counters.drop('carrier-lost');
    if (this.words) Atomics.store(this.words, NicShared.CARRIER_LOST, 1);
    this.probeAt = now + CARRIER_PROBE_MS;
    this.setCarrier(false, now);
  }

  private carrierBack(now: number): void {
    this.probeAt = Infinity;
    if (this.words) Atomics.store(this.words, NicShared.CARRIER_LOST, 0);
    this.setCarrier(true, now);
  }

  override nextDeadline(): number {
    return this.closed ? Infinity : this.probeAt;
  }

  /** Probes the kernel side: a minimal frame to our own MAC (a host drops it as not for it)
   *  with the local experimental EtherType; it goes through only once the side is up again. */
  override onTimer(now: number): void {
    if (this.closed || now < this.probeAt) return;
    if (!this.probe) {
      const f = new Uint8Array(60);
      f.set(this.mac, 0);
      f.set(this.mac, 6);
      f[12] = PROBE_ETHERTYPE >> 8;
      f[13] = PROBE_ETHERTYPE & 0xff;
      this.probe = f;
    }
    const n = this.c.write(this.fd, this.probe, this.probe.length);
    if (n === this.probe.length) {
      this.counters.drop('carrier-probe'); // sent, but not traffic: counted apart from tx
      this.carrierBack(now);
      return;
    }
    const e = n < 0 ? this.c.errno() : 0;
    if (e === Errno.EBADF || e === Errno.EBADFD) {
      this.probeAt = Infinity;
      this.fail(now);
      return;
    }
    this.probeAt = now + CARRIER_PROBE_MS;
  }

  /** The descriptor went bad: no carrier, stop polling it. */
  private fail(now: number): void {
    this.closed = true;
    this.setCarrier(false, now);
  }

  override setUp(up: boolean, now: number): void {
    if (this.mirrorCarrier && !this.closed) {
      const v = new Int32Array([up ? 1 : 0]);
      this.c.ioctl(this.fd, TUNSETCARRIER, v); // best effort (older kernels lack it)
    }
    super.setUp(up, now);
  }

  override waitable(): Waitable | null {
    if (this.closed || (this.rxPaused && !this.writeBlocked)) return null;
    if (this.rxPaused) return { fd: this.fd, events: POLLOUT };
    return this.writeBlocked ? this.waitInOut : this.waitIn;
  }

  /** True while the last write got EAGAIN. */
  get writesPending(): boolean {
    return this.writeBlocked;
  }

  override close(): void {
    if (!this.closed && this.ownsFd) closeTap(this.fd);
    this.closed = true;
    super.close();
  }
}
