// The UDP actor core: sockets (bind, connect, send, receive, options, multicast membership
// bookkeeping) between the app's `app` ring pair and the IP actor's `udp` ports. Follows
// RFC 768 (UDP), RFC 1122 §4.1 (UDP host requirements), RFC 1122 §3.2.2 (when ICMP errors may
// be sent), RFC 6056 (ephemeral port randomisation), RFC 8200 §8.1 (IPv6 UDP checksum).
//
// Ports:
//   in  ip     packets from IP (actors/ip/records.ts header + UDP header + payload; ICMP errors
//              about our datagrams with RECORD_FLAG_ICMP_ERROR and the ICMP message)
//   out ip     datagrams to send (same format; src filled in here, see sourceFor())
//   out icmp   ICMP Port Unreachable messages to send (to the IP actor's `icmp` input: the
//              whole ICMP message); optional, when unwired port-unreachables are counted only
//   in  app    requests from the app (app-records.ts)
//   out app    replies, datagrams and asynchronous errors for the app (app-records.ts)
//
// State that must outlive the actor (bindings, options, memberships, receive accounting) is in
// the shared region `udp`, committed crash-atomically (table.ts); everything else here is an
// index rebuilt from it at start. Every request is handled idempotently where it matters,
// because a crash between publishing and releasing re-delivers it (base/runner.ts).
//
// Control ops: status {}, sockets {}, setAddresses {addresses: string[]}.
// Events: membership {group, family, join} when the first socket joins a group or the last
// leaves it (and again for every group after a restart): the Stack forwards them to the IP
// actor's joinGroup / leaveGroup, so IGMP / MLD reports go out and the group's traffic arrives.

import type { ActorContext, ActorCore } from '../../base/actor';
import { RECORD_FLAG_BROADCAST, RECORD_FLAG_ICMP_ERROR, RECORD_HEADER_LEN, RecordHeader, readRecordHeader, writeRecordHeader } from '../ip/records';
import { TokenBucket } from '../ip/icmp';
import { UDP_HEADER_LEN, UdpView, udpFillChecksum, udpVerifyV4, udpVerifyV6 } from '../../protocol/udp';
import { pseudoSumV4, pseudoSumV6Addrs } from '../../protocol/checksum';
import { emitIpv4Header, ipv4Header, IP_PROTO_ICMP, IP_PROTO_UDP, IPV4_MIN_HEADER_LEN } from '../../protocol/ipv4';
import { ICMPV4_DEST_UNREACHABLE, ICMPV4_PARAMETER_PROBLEM, ICMPV4_TIME_EXCEEDED, UNREACH_PORT, emitIcmpv4Error, parseIcmpv4Quote } from '../../protocol/icmpv4';
import { emitIcmpv6Error, ICMPV6_DST_UNREACHABLE, DU_PORT_UNREACHABLE } from '../../protocol/icmpv6';
import { formatIpv4, formatIpv6, ipv4SubnetBroadcast, parseCidr } from '../../protocol/address';
import {
  APP_HEADER_LEN, AppRecord, decodeAppRecord, emptyRecord, writeAppHeader,
  REQ_BIND, REQ_CONNECT, REQ_DISCONNECT, REQ_SEND, REQ_SETOPT, REQ_ADD_MEMBERSHIP, REQ_DROP_MEMBERSHIP, REQ_CLOSE,
  REQF_REUSEADDR, REQF_CONNECTED, REQF_V6ONLY, EV_REPLY, EV_DATAGRAM, EV_ERROR, EVF_BROADCAST, EVF_NO_CHECKSUM, sealAppRecord, appRecordSealOk,
  OPT_BROADCAST, OPT_TTL, OPT_MULTICAST_TTL, OPT_MULTICAST_LOOP, OPT_RCVBUF,
  ERRNO_OK, ERRNO_EADDRINUSE, ERRNO_EADDRNOTAVAIL, ERRNO_EINVAL, ERRNO_ENOTCONN, ERRNO_EISCONN, ERRNO_EACCES,
  ERRNO_ECONNREFUSED, ERRNO_EHOSTUNREACH, ERRNO_ENETUNREACH, ERRNO_EMSGSIZE, ERRNO_ENOBUFS, ERRNO_EBADF,
  ERRNO_EAFNOSUPPORT, ERRNO_ENOPROTOOPT, ERRNO_EPROTO, ERRNO_NAMES,
} from './app-records';
import {
  Membership, Socket, SocketTable, TableSizes, udpRegionBytes,
  SOCK_BOUND, SOCK_CONNECTED, SOCKF_BROADCAST, SOCKF_MCAST_LOOP, SOCKF_REUSEADDR, SOCKF_V6ONLY, SOCKF_WILDCARD_BOUND,
} from './table';

export class UdpConfigError extends Error {
  readonly code = 'ERR_UDP_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'UdpConfigError';
  }
}

export interface UdpConfig {
  /** The stack's addresses as CIDRs ("192.0.2.2/24"): which specific addresses may be bound,
   *  which destinations are broadcasts, and the source address of datagrams from wildcard
   *  sockets. Omitted: any address may be bound, only 255.255.255.255 is a broadcast, and
   *  IPv4 datagrams from wildcard sockets go without a checksum (IP picks the source). */
  addresses?: string[];
  /** Socket table size (shared region). Default 1024. */
  maxSockets?: number;
  /** Multicast membership table size. Default 256. */
  maxMemberships?: number;
  /** Ephemeral port range (RFC 6056 §2.1 suggests 1024-65535; default the IANA 49152-65535). */
  ephemeralLow?: number;
  ephemeralHigh?: number;
  /** Default per-socket receive budget, bytes of records waiting in the udp->app ring. Default 212992. */
  rcvbuf?: number;
  /** ICMP errors sent by UDP (port unreachable): token bucket. Default 100/s, burst 50. */
  icmpRateLimit?: { perSecond?: number; burst?: number };
  /** Send ICMP Port Unreachable for datagrams to closed ports (RFC 1122 §4.1.3.1 SHOULD). Default true. */
  portUnreachable?: boolean;
}

export const UDP_DEFAULTS = {
  maxSockets: 1024, maxMemberships: 256, ephemeralLow: 49152, ephemeralHigh: 65535, rcvbuf: 212992,
  icmpPerSecond: 100, icmpBurst: 50,
};

/** Linux IP_MAX_MEMBERSHIPS: groups one socket may join. */
export const MAX_MEMBERSHIPS_PER_SOCKET = 20;
/** Largest payload: 65535 - 20 (IPv4 header) - 8; IPv6 without jumbograms: 65535 - 8. */
export const MAX_PAYLOAD_V4 = 65507;
export const MAX_PAYLOAD_V6 = 65527;
/** RFC 1112 §6.1: "If the upper-layer protocol chooses not to specify a time-to-live, it should
 *  default to 1 for all multicast IP datagrams". */
const DEFAULT_MCAST_TTL = 1;

const CONFIG_KEYS = new Set(['addresses', 'maxSockets', 'maxMemberships', 'ephemeralLow', 'ephemeralHigh', 'rcvbuf', 'icmpRateLimit', 'portUnreachable']);

function intIn(v: unknown, what: string, def: number, min: number, max: number): number {
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new UdpConfigError(`${what} must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  return v;
}

export interface ResolvedUdpConfig extends TableSizes {
  ephemeralLow: number;
  ephemeralHigh: number;
  rcvbuf: number;
  icmpPerSecond: number;
  icmpBurst: number;
  portUnreachable: boolean;
  addresses: string[] | undefined;
}

export function resolveUdpConfig(raw: unknown): ResolvedUdpConfig {
  const c = (raw ?? {}) as UdpConfig;
  if (typeof c !== 'object' || Array.isArray(c)) throw new UdpConfigError('udp config must be an object');
  for (const k of Object.keys(c)) if (!CONFIG_KEYS.has(k)) throw new UdpConfigError(`udp config: unknown key "${k}" (allowed: ${[...CONFIG_KEYS].join(', ')})`);
  const low = intIn(c.ephemeralLow, 'ephemeralLow', UDP_DEFAULTS.ephemeralLow, 1, 65535);
  const high = intIn(c.ephemeralHigh, 'ephemeralHigh', UDP_DEFAULTS.ephemeralHigh, low, 65535);
  const rl = c.icmpRateLimit ?? {};
  if (typeof rl !== 'object') throw new UdpConfigError('icmpRateLimit must be an object');
  if (c.portUnreachable !== undefined && typeof c.portUnreachable !== 'boolean') throw new UdpConfigError('portUnreachable must be a boolean');
  if (c.addresses !== undefined) parseAddressList(c.addresses);
  return {
    maxSockets: intIn(c.maxSockets, 'maxSockets', UDP_DEFAULTS.maxSockets, 1, 65536),
    maxMemberships: intIn(c.maxMemberships, 'maxMemberships', UDP_DEFAULTS.maxMemberships, 1, 65536),
    ephemeralLow: low,
    ephemeralHigh: high,
    rcvbuf: intIn(c.rcvbuf, 'rcvbuf', UDP_DEFAULTS.rcvbuf, 0, 0x7fffffff),
    icmpPerSecond: intIn(rl.perSecond, 'icmpRateLimit.perSecond', UDP_DEFAULTS.icmpPerSecond, 0, 1e9),
    icmpBurst: intIn(rl.burst, 'icmpRateLimit.burst', UDP_DEFAULTS.icmpBurst, 1, 1e9),
    portUnreachable: c.portUnreachable ?? true,
    addresses: c.addresses,
  };
}

/** Bytes of the `udp` shared region for a config (the Stack sizes ActorSpec.shared.udp with it). */
export function udpSharedBytes(config: unknown): number {
  return udpRegionBytes(resolveUdpConfig(config));
}

interface LocalAddr {
  family: 4 | 6;
  words: Uint32Array;
  prefixLen: number;
  /** IPv4 subnet-directed broadcast (none for /31, /32). */
  bcast: number | null;
}

function parseAddressList(v: unknown): LocalAddr[] {
  if (!Array.isArray(v)) throw new UdpConfigError('addresses must be an array of CIDR strings');
  return v.map((s) => {
    const c = typeof s === 'string' ? parseCidr(s) : null;
    if (!c) throw new UdpConfigError(`address ${JSON.stringify(s)} is not a CIDR like 192.0.2.2/24 or 2001:db8::2/64`);
    if (c.family === 4) {
      return { family: 4, words: Uint32Array.of(c.addr >>> 0, 0, 0, 0), prefixLen: c.prefixLen, bcast: c.prefixLen < 31 ? ipv4SubnetBroadcast(c.addr, c.prefixLen) >>> 0 : null };
    }
    return { family: 6, words: bytesToWords(c.addr, 0, 6), prefixLen: c.prefixLen, bcast: null };
  });
}

// ------------------------------------------------------------------------------ address words

function bytesToWords(b: Uint8Array, off: number, family: number, out = new Uint32Array(4)): Uint32Array {
  const n = family === 4 ? 1 : 4;
  for (let w = 0; w < 4; w++) {
    out[w] = w < n ? ((b[off + 4 * w] << 24) | (b[off + 4 * w + 1] << 16) | (b[off + 4 * w + 2] << 8) | b[off + 4 * w + 3]) >>> 0 : 0;
  }
  return out;
}

function wordsToBytes(w: Uint32Array, b: Uint8Array, off: number): void {
  for (let i = 0; i < 4; i++) {
    b[off + 4 * i] = w[i] >>> 24;
    b[off + 4 * i + 1] = w[i] >>> 16;
    b[off + 4 * i + 2] = w[i] >>> 8;
    b[off + 4 * i + 3] = w[i];
  }
}

const isZero = (w: Uint32Array): boolean => (w[0] | w[1] | w[2] | w[3]) === 0;
const eqWords = (a: Uint32Array, b: Uint32Array): boolean => a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
const isMulticast = (family: number, w: Uint32Array): boolean => (family === 4 ? w[0] >>> 28 === 0xe : w[0] >>> 24 === 0xff);

function prefixMatch(a: Uint32Array, b: Uint32Array, len: number): boolean {
  for (let i = 0; i < 4 && len > 0; i++, len -= 32) {
    const m = len >= 32 ? 0xffffffff : (0xffffffff << (32 - len)) >>> 0;
    if (((a[i] ^ b[i]) & m) >>> 0 !== 0) return false;
  }
  return true;
}

export function formatWords(family: number, w: Uint32Array): string {
  if (family === 4) return formatIpv4(w[0]);
  const b = new Uint8Array(16);
  wordsToBytes(w, b, 0);
  return formatIpv6(b);
}

/** ICMP error -> errno, and whether it is "hard" (reported to a connected socket without
 *  IP_RECVERR, as Linux's icmp_err_convert table marks them fatal). */
function icmp4Errno(type: number, code: number): { errno: number; fatal: boolean } | null {
  if (type === ICMPV4_DEST_UNREACHABLE) {
    switch (code) {
      case 0: return { errno: ERRNO_ENETUNREACH, fatal: false };
      case 1: return { errno: ERRNO_EHOSTUNREACH, fatal: false };
      case 2: return { errno: ERRNO_ENOPROTOOPT, fatal: true };
      case UNREACH_PORT: return { errno: ERRNO_ECONNREFUSED, fatal: true };
      case 4: return null; // Fragmentation needed: we never set DF.
      case 6: case 9: case 11: return { errno: ERRNO_ENETUNREACH, fatal: true };
      case 7: case 8: case 10: case 12: case 13: case 14: case 15: return { errno: ERRNO_EHOSTUNREACH, fatal: true };
      default: return { errno: ERRNO_EHOSTUNREACH, fatal: false };
    }
  }
  if (type === ICMPV4_TIME_EXCEEDED) return { errno: ERRNO_EHOSTUNREACH, fatal: false };
  if (type === ICMPV4_PARAMETER_PROBLEM) return { errno: ERRNO_EPROTO, fatal: true };
  return null;
}

/** RFC 4443 codes -> errno (Linux icmpv6_err_convert). */
function icmp6Errno(type: number, code: number): { errno: number; fatal: boolean } | null {
  if (type === ICMPV6_DST_UNREACHABLE) {
    if (code === DU_PORT_UNREACHABLE) return { errno: ERRNO_ECONNREFUSED, fatal: true };
    if (code === 1) return { errno: ERRNO_EACCES, fatal: true };
    if (code === 0) return { errno: ERRNO_ENETUNREACH, fatal: false };
    return { errno: ERRNO_EHOSTUNREACH, fatal: code === 3 || code === 2 };
  }
  if (type === 3) return { errno: ERRNO_EHOSTUNREACH, fatal: false };
  if (type === 4) return { errno: ERRNO_EPROTO, fatal: true };
  return null;
}

// ------------------------------------------------------------------------------ the core

export class UdpCore implements ActorCore {
  readonly cfg: ResolvedUdpConfig;
  readonly table: SocketTable;
  readonly bySock = new Map<number, Socket>();
  readonly byPort = new Map<number, Socket[]>();
  private readonly freeSlots: number[] = [];
  private readonly members: Array<Membership | undefined>;
  private readonly membersBySlot = new Map<number, Membership[]>();
  private readonly freeMembers: number[] = [];
  private local: LocalAddr[] | null;
  private readonly bucket: TokenBucket;
  private readonly req: AppRecord = emptyRecord();
  private readonly ev: AppRecord = emptyRecord();
  private readonly w1 = new Uint32Array(4);
  private readonly w2 = new Uint32Array(4);
  private readonly src6 = new Uint8Array(16);
  private readonly dst6 = new Uint8Array(16);

  constructor(private readonly ctx: ActorContext, config: unknown) {
    this.cfg = resolveUdpConfig(config);
    this.local = this.cfg.addresses === undefined ? null : parseAddressList(this.cfg.addresses);
    this.bucket = new TokenBucket(this.cfg.icmpPerSecond, this.cfg.icmpBurst, ctx.now());
    let region = ctx.shared.udp;
    if (!region) {
      // No shared region: works, but bindings do not survive a restart.
      region = new SharedArrayBuffer(udpRegionBytes(this.cfg));
      ctx.counters.add('table.not-shared');
    }
    this.table = new SocketTable(region, this.cfg);
    if (this.table.loadReport.reset) ctx.counters.add('table.reset');
    // Rebuild the indexes from the committed table (a restart: the bindings are all there).
    const socks = this.table.loadSockets();
    const used = new Set<number>();
    for (const s of socks) {
      this.index(s);
      used.add(s.slot);
    }
    for (let i = this.cfg.maxSockets - 1; i >= 0; i--) if (!used.has(i)) this.freeSlots.push(i);
    this.members = new Array(this.cfg.maxMemberships);
    const live = new Map<number, number>(socks.map((s) => [s.slot, s.sock]));
    const mems = this.table.loadMembers(live);
    const usedM = new Set<number>();
    for (const m of mems) {
      this.members[m.index] = m;
      usedM.add(m.index);
      let l = this.membersBySlot.get(m.slot);
      if (!l) this.membersBySlot.set(m.slot, (l = []));
      l.push(m);
    }
    for (let i = this.cfg.maxMemberships - 1; i >= 0; i--) if (!usedM.has(i)) this.freeMembers.push(i);
    if (this.table.loadReport.invalidSockets) ctx.counters.add('table.drop.invalid-socket', this.table.loadReport.invalidSockets);
    if (this.table.loadReport.invalidMembers) ctx.counters.add('table.drop.invalid-membership', this.table.loadReport.invalidMembers);
    if (ctx.incarnation > 0) ctx.counters.add('table.restored', socks.length);
    // A new incarnation tells the groups again (a membership event may have died with the old
    // one; the Stack ignores groups it already joined).
    if (ctx.incarnation > 0) {
      const told = new Set<string>();
      for (const m of mems) {
        const g = formatWords(m.family, m.group);
        if (told.has(g)) continue;
        told.add(g);
        ctx.emit('membership', { group: g, family: m.family, join: true });
      }
    }
  }

  private count(name: string, n = 1): void {
    this.ctx.counters.add(name, n);
  }

  // ---------------------------------------------------------------------------- indexes

  private index(s: Socket): void {
    this.bySock.set(s.sock, s);
    let l = this.byPort.get(s.lport);
    if (!l) this.byPort.set(s.lport, (l = []));
    l.push(s);
  }

  private unindex(s: Socket): void {
    this.bySock.delete(s.sock);
    const l = this.byPort.get(s.lport);
    if (l) {
      const i = l.indexOf(s);
      if (i >= 0) l.splice(i, 1);
      if (l.length === 0) this.byPort.delete(s.lport);
    }
  }

  // ---------------------------------------------------------------------------- local addresses

  /** Whether `w` may be bound: one of ours, a broadcast, or a multicast group (as Linux). */
  private bindable(family: number, w: Uint32Array): boolean {
    if (isMulticast(family, w)) return true;
    if (this.local === null) return true;
    if (family === 4 && w[0] === 0xffffffff) return true;
    return this.local.some((a) => a.family === family && (eqWords(a.words, w) || (family === 4 && a.bcast === w[0])));
  }

  private isLocal(family: number, w: Uint32Array): boolean {
    return this.local !== null && this.local.some((a) => a.family === family && eqWords(a.words, w));
  }

  /** 255.255.255.255 or the subnet-directed broadcast of one of our IPv4 subnets. */
  private isBroadcast(family: number, w: Uint32Array): boolean {
    if (family !== 4) return false;
    if (w[0] === 0xffffffff) return true;
    return this.local !== null && this.local.some((a) => a.family === 4 && a.bcast === w[0]);
  }

  /** The source address for a datagram from a wildcard-bound socket to `dst`: the address of
   *  the connected subnet the destination is on, else the first address of the family. The
   *  IP actor chooses by route when the source is left zero, but the UDP checksum covers the
   *  source (the pseudo-header), so UDP must know it: see docs/udp.md. Null when unknown. */
  private sourceFor(family: number, dst: Uint32Array): Uint32Array | null {
    if (this.local === null) return null;
    let first: LocalAddr | null = null;
    for (const a of this.local) {
      if (a.family !== family) continue;
      if (first === null) first = a;
      if (prefixMatch(a.words, dst, a.prefixLen)) return a.words;
    }
    return first ? first.words : null;
  }

  // ---------------------------------------------------------------------------- binding rules

  /** Whether binding (family, port, addr) with `flags` collides with a socket other than
   *  `except`: the same port and overlapping addresses (equal, or either the wildcard; an IPv6
   *  wildcard that is not V6ONLY also covers IPv4), unless both sides set SO_REUSEADDR. */
  private conflicts(family: number, port: number, addr: Uint32Array, flags: number, except: Socket | null): boolean {
    const l = this.byPort.get(port);
    if (!l) return false;
    for (const s of l) {
      if (s === except) continue;
      let overlap: boolean;
      if (s.family === family) overlap = isZero(s.laddr) || isZero(addr) || eqWords(s.laddr, addr);
      else if (s.family === 6) overlap = isZero(s.laddr) && (s.flags & SOCKF_V6ONLY) === 0;
      else overlap = isZero(addr) && (flags & SOCKF_V6ONLY) === 0;
      if (!overlap) continue;
      if ((s.flags & SOCKF_REUSEADDR) !== 0 && (flags & SOCKF_REUSEADDR) !== 0) continue;
      return true;
    }
    return false;
  }

  /** RFC 6056 §3.3.1, Algorithm 1 ("Simple Port Randomization"): start at a random port of the
   *  range and walk up (wrapping) to the first one no socket uses. 0 when all are taken. */
  private ephemeralPort(): number {
    const low = this.cfg.ephemeralLow;
    const num = this.cfg.ephemeralHigh - low + 1;
    let next = low + (this.ctx.randomU32() % num);
    for (let count = num; count > 0; count--) {
      if (!this.byPort.has(next)) return next;
      next = next === this.cfg.ephemeralHigh ? low : next + 1;
    }
    return 0;
  }

  // ---------------------------------------------------------------------------- data path

  onRecord(port: string, bytes: Uint8Array, off: number, len: number): void | boolean {
    if (port === 'ip') {
      this.fromIp(bytes, off, len);
      return;
    }
    if (port === 'app') return this.fromApp(bytes, off, len);
    this.count('rx.drop.unknown-port');
  }

  private fromIp(b: Uint8Array, off: number, len: number): void {
    const h = readRecordHeader(b, off, len);
    if (!h) {
      this.count('rx.drop.bad-record');
      return;
    }
    const p = off + RECORD_HEADER_LEN;
    const pl = len - RECORD_HEADER_LEN;
    if ((h.flags & RECORD_FLAG_ICMP_ERROR) !== 0) {
      this.icmpIn(h, b, p, pl);
      return;
    }
    if (h.proto !== IP_PROTO_UDP) {
      this.count('rx.drop.proto');
      return;
    }
    // RFC 768: Length covers header and data; the parser checks 8 <= Length <= IP payload.
    if (UdpView.check(b, p, pl) !== null) {
      this.count('rx.drop.length');
      return;
    }
    const ulen = (b[p + 4] << 8) | b[p + 5];
    const noChecksum = b[p + 6] === 0 && b[p + 7] === 0;
    if (h.family === 4) {
      // RFC 768: "An all zero transmitted checksum value means that the transmitter generated
      // no checksum". RFC 1122 §4.1.3.4: "If a UDP datagram is received with a checksum that is
      // non-zero and invalid, UDP MUST silently discard the datagram."
      if (noChecksum) this.count('rx.no-checksum');
      else if (!udpVerifyV4(b, p, ulen, h.src, h.dst)) {
        this.count('rx.drop.checksum');
        return;
      }
    } else {
      // RFC 8200 §8.1: "IPv6 receivers must discard UDP packets containing a zero checksum and
      // should log the error."
      if (noChecksum) {
        this.count('rx.drop.zero-checksum');
        return;
      }
      if (!udpVerifyV6(b, p, ulen, h.src6!, h.dst6!)) {
        this.count('rx.drop.checksum');
        return;
      }
    }
    const sport = (b[p] << 8) | b[p + 1];
    const dport = (b[p + 2] << 8) | b[p + 3];
    if (dport === 0) {
      this.count('rx.drop.port0');
      return;
    }
    this.count('rx.datagrams');
    const fam = h.family;
    const src = fam === 4 ? this.setV4(this.w1, h.src) : bytesToWords(h.src6!, 0, 6, this.w1);
    const dst = fam === 4 ? this.setV4(this.w2, h.dst) : bytesToWords(h.dst6!, 0, 6, this.w2);
    const mcast = isMulticast(fam, dst);
    const group = mcast || this.isBroadcast(fam, dst);
    const l = this.byPort.get(dport);
    const flags = ((h.flags & RECORD_FLAG_BROADCAST) !== 0 || group ? EVF_BROADCAST : 0) | (noChecksum ? EVF_NO_CHECKSUM : 0);
    let delivered = 0;
    if (l) {
      if (group) {
        // Broadcast and multicast go to every matching socket (RFC 1122 §4.1.3.?, as BSD and
        // Linux do for SO_REUSEADDR sockets); a multicast only to sockets that joined the group.
        for (const s of l) {
          if (!this.accepts(s, fam, src, sport, dst)) continue;
          if (mcast && !this.isMember(s, dst)) continue;
          this.deliver(s, h, b, p, ulen, sport, src, dst, flags);
          delivered++;
        }
      } else {
        // Unicast: the most specific socket (connected beats address-bound beats wildcard).
        let best: Socket | null = null;
        let bestScore = -1;
        for (const s of l) {
          if (!this.accepts(s, fam, src, sport, dst)) continue;
          const score = (s.state === SOCK_CONNECTED ? 4 : 0) + (isZero(s.laddr) ? 0 : 2);
          if (score > bestScore) {
            best = s;
            bestScore = score;
          }
        }
        if (best) {
          this.deliver(best, h, b, p, ulen, sport, src, dst, flags);
          delivered++;
        }
      }
    }
    if (delivered > 0) return;
    this.count('rx.drop.no-socket');
    if (!group && (h.flags & RECORD_FLAG_BROADCAST) === 0) this.portUnreachable(h, b, p, pl);
  }

  private setV4(w: Uint32Array, a: number): Uint32Array {
    w[0] = a >>> 0;
    w[1] = w[2] = w[3] = 0;
    return w;
  }

  /** Whether socket `s` takes a datagram src:sport -> dst (family, local address, connected filter). */
  private accepts(s: Socket, fam: number, src: Uint32Array, sport: number, dst: Uint32Array): boolean {
    if (s.family !== fam) {
      // A dual-stack IPv6 wildcard socket would take IPv4 as v4-mapped; not yet (IP is v4-only).
      return false;
    }
    if (!isZero(s.laddr) && !eqWords(s.laddr, dst)) return false;
    if (s.state === SOCK_CONNECTED && (s.rport !== sport || !eqWords(s.raddr, src))) return false;
    return true;
  }

  private isMember(s: Socket, group: Uint32Array): boolean {
    const l = this.membersBySlot.get(s.slot);
    return !!l && l.some((m) => eqWords(m.group, group));
  }

  /** Puts one datagram in the app ring for `s`, within its receive budget. */
  private deliver(s: Socket, h: RecordHeader, b: Uint8Array, p: number, ulen: number, sport: number, src: Uint32Array, dst: Uint32Array, flags: number): void {
    const dl = ulen - UDP_HEADER_LEN;
    const n = APP_HEADER_LEN + dl;
    if (this.table.acct.queued(s.slot) + n > s.rcvbuf) {
      this.count('rx.drop.rcvbuf');
      return;
    }
    const w = this.ctx.out('app');
    if (!w) {
      this.count('rx.drop.no-app');
      return;
    }
    if (n > w.maxRecord) {
      this.count('rx.drop.too-big');
      return;
    }
    const at = w.tryReserve(n);
    if (at < 0) {
      this.count('rx.drop.app-full');
      return;
    }
    const e = this.ev;
    e.kind = EV_DATAGRAM;
    e.family = h.family;
    e.flags = flags;
    e.sock = s.sock;
    e.req = 0;
    e.port = sport;
    e.aux = 0;
    e.value = s.slot;
    e.code = 0;
    wordsToBytes(src, e.addr, 0);
    wordsToBytes(dst, e.addr2, 0);
    writeAppHeader(e, w.bytes, at);
    w.bytes.set(b.subarray(p + UDP_HEADER_LEN, p + ulen), at + APP_HEADER_LEN);
    sealAppRecord(w.bytes, at, n, 'event'); // the UDP checksum's guarantee, carried to the app
    // Published before it is counted as queued: a crash in between leaves the count short,
    // never long (table.ts RecvAccounting).
    w.commit(n, true);
    this.table.acct.delivered(s.slot, n);
    this.count('rx.delivered');
  }

  // ---------------------------------------------------------------------------- ICMP

  /** RFC 1122 §4.1.3.1: "If a datagram arrives addressed to a UDP port for which there is no
   *  pending LISTEN call, UDP SHOULD send an ICMP Port Unreachable message." §3.2.2: never about
   *  a broadcast or multicast datagram or from a source that is not a single host; rate-limited
   *  (RFC 1812 §4.3.2.8). The quoted IP header is rebuilt from the record (no options; the
   *  Identification is not known here and is zero): the receiver matches on addresses, protocol
   *  and ports. */
  private portUnreachable(h: RecordHeader, b: Uint8Array, p: number, pl: number): void {
    if (!this.cfg.portUnreachable) return;
    const w = this.ctx.out('icmp');
    if (!w) {
      this.count('icmp.tx.no-port');
      return;
    }
    if (h.family === 4) {
      const s = h.src >>> 0;
      if (s === 0 || s >>> 28 >= 0xe || s >>> 24 === 127 || this.isBroadcast(4, this.setV4(this.w1, s))) {
        this.count('icmp.tx.suppressed');
        return;
      }
    } else if (h.src6![0] === 0xff || h.src6!.every((x) => x === 0)) {
      this.count('icmp.tx.suppressed');
      return;
    }
    if (!this.bucket.take(this.ctx.now())) {
      this.count('icmp.tx.rate-limited');
      return;
    }
    let msg: Uint8Array;
    let n: number;
    if (h.family === 4) {
      // RFC 1812 §4.3.2.3: as much of the datagram as fits in 576 bytes.
      const q = Math.min(pl, 576 - 2 * IPV4_MIN_HEADER_LEN - 8);
      const orig = new Uint8Array(IPV4_MIN_HEADER_LEN + q);
      emitIpv4Header(ipv4Header({ src: h.src, dst: h.dst, protocol: IP_PROTO_UDP, payloadLen: pl, ttl: h.ttl, dscp: h.tos >>> 2, ecn: h.tos & 3, dontFragment: false }), orig, 0);
      orig.set(b.subarray(p, p + q), IPV4_MIN_HEADER_LEN);
      msg = new Uint8Array(8 + orig.length);
      n = emitIcmpv4Error({ type: ICMPV4_DEST_UNREACHABLE, code: UNREACH_PORT, nextHopMtu: 0 }, orig, 0, orig.length, msg, 0);
    } else {
      // RFC 4443 §3.1: Port Unreachable, code 4; the invoking IPv6 header is rebuilt likewise.
      const orig = new Uint8Array(40 + pl);
      orig[0] = 0x60;
      orig[4] = pl >>> 8;
      orig[5] = pl;
      orig[6] = IP_PROTO_UDP;
      orig[7] = h.ttl;
      orig.set(h.src6!, 8);
      orig.set(h.dst6!, 24);
      orig.set(b.subarray(p, p + pl), 40);
      msg = new Uint8Array(8 + 1280);
      n = emitIcmpv6Error({ kind: 'dstUnreachable', code: DU_PORT_UNREACHABLE, dataLen: 0 }, orig, 0, orig.length, msg, 0, h.dst6!, h.src6!);
    }
    const rn = RECORD_HEADER_LEN + n;
    if (rn > w.maxRecord) return;
    const at = w.tryReserve(rn);
    if (at < 0) {
      this.count('icmp.tx.ring-full');
      return;
    }
    writeRecordHeader({
      family: h.family, proto: h.family === 4 ? IP_PROTO_ICMP : 58, ifindex: h.ifindex, ttl: 0, tos: 0, flags: 0,
      src: h.dst, dst: h.src, src6: h.dst6, dst6: h.src6,
    }, w.bytes, at);
    w.bytes.set(msg.subarray(0, n), at + RECORD_HEADER_LEN);
    w.commit(rn, false);
    this.count('icmp.tx.port-unreachable');
  }

  /** An ICMP error about a datagram we sent (RFC 1122 §4.1.3.3: "UDP MUST pass to the
   *  application layer all ICMP error messages that it receives from the IP layer"). As Linux
   *  without IP_RECVERR: hard errors go to a connected socket whose remote matches the quote;
   *  errors found by our own IP layer (no route) go to the sending socket, connected or not;
   *  the rest are counted. */
  private icmpIn(h: RecordHeader, b: Uint8Array, p: number, pl: number): void {
    this.count('icmp.rx');
    let type: number, code: number, qsrc: Uint32Array, qdst: Uint32Array, tOff: number, tLen: number;
    if (h.family === 4) {
      if (pl < 8) return this.count('icmp.rx.drop.bad');
      type = b[p];
      code = b[p + 1];
      const q = parseIcmpv4Quote(b, p, pl);
      if (!q.ok || q.value.ip.protocol !== IP_PROTO_UDP) return this.count('icmp.rx.drop.bad');
      qsrc = this.setV4(this.w1, q.value.ip.src);
      qdst = this.setV4(this.w2, q.value.ip.dst);
      tOff = q.value.transportOff;
      tLen = q.value.transportLen;
    } else {
      // ICMPv6 error: 8-byte header, then the invoking IPv6 header (extension headers are not
      // walked: a quote with them is not matched).
      if (pl < 8 + 40 + 4 || b[p + 8 + 6] !== IP_PROTO_UDP) return this.count('icmp.rx.drop.bad');
      type = b[p];
      code = b[p + 1];
      qsrc = bytesToWords(b, p + 16, 6, this.w1);
      qdst = bytesToWords(b, p + 32, 6, this.w2);
      tOff = p + 48;
      tLen = pl - 48;
    }
    if (tLen < 4) return this.count('icmp.rx.drop.bad');
    const lport = (b[tOff] << 8) | b[tOff + 1];
    const rport = (b[tOff + 2] << 8) | b[tOff + 3];
    const map = h.family === 4 ? icmp4Errno(type, code) : icmp6Errno(type, code);
    if (!map) return this.count('icmp.rx.ignored');
    // IP tells us about its own failures as an ICMP message "from" the packet's source.
    const local = h.family === 4 ? h.src === h.dst : h.src6!.every((x, i) => x === h.dst6![i]);
    const l = this.byPort.get(lport);
    let reported = 0;
    for (const s of l ?? []) {
      if (s.family !== h.family) continue;
      if (!isZero(s.laddr) && !eqWords(s.laddr, qsrc)) continue;
      const connectedMatch = s.state === SOCK_CONNECTED && s.rport === rport && eqWords(s.raddr, qdst);
      if (connectedMatch ? map.fatal || local : local && map.errno === ERRNO_ENETUNREACH) {
        this.event(s, EV_ERROR, map.errno, rport, qdst);
        reported++;
      }
    }
    this.count(reported > 0 ? 'icmp.rx.reported' : 'icmp.rx.ignored');
  }

  /** An event without payload for the app (errors). Dropped and counted if the ring is full. */
  private event(s: Socket, kind: number, code: number, port: number, addr: Uint32Array): void {
    const w = this.ctx.out('app');
    if (!w) return;
    const at = w.tryReserve(APP_HEADER_LEN);
    if (at < 0) {
      this.count('app.drop.event-full');
      return;
    }
    const e = this.ev;
    e.kind = kind;
    e.family = s.family;
    e.flags = 0;
    e.sock = s.sock;
    e.req = 0;
    e.port = port;
    e.aux = 0;
    e.value = s.slot;
    e.code = code;
    wordsToBytes(addr, e.addr, 0);
    e.addr2.fill(0);
    writeAppHeader(e, w.bytes, at);
    w.commit(APP_HEADER_LEN, false);
  }

  // ---------------------------------------------------------------------------- app requests

  private fromApp(b: Uint8Array, off: number, len: number): void | boolean {
    const r = this.req;
    const bad = decodeAppRecord(b, off, len, 'request', r);
    if (bad !== null) {
      this.count(`app.drop.${bad}`);
      return;
    }
    const w = this.ctx.out('app');
    if (r.kind === REQ_SEND) {
      if (!appRecordSealOk(b, off, len, 'request')) {
        // Damaged in the ring after the app sealed it: not sent (UDP may lose; it may not
        // corrupt). The app hears ENOBUFS, a local drop, if it asked for a reply.
        this.count('app.drop.seal');
        return this.replySend(r, ERRNO_ENOBUFS, 0);
      }
      return this.send(r, b);
    }
    // Every other request gets a reply: reserve it first, so a full app ring holds the request
    // back (back-pressure) instead of changing state with no way to say so.
    let at = -1;
    if (w) {
      at = w.tryReserve(APP_HEADER_LEN);
      if (at < 0) return false;
    }
    const e = this.ev;
    e.kind = EV_REPLY;
    e.family = r.family;
    e.flags = 0;
    e.sock = r.sock;
    e.req = r.req;
    e.port = 0;
    e.aux = r.kind;
    e.value = 0;
    e.addr.fill(0);
    e.addr2.fill(0);
    let code: number;
    switch (r.kind) {
      case REQ_BIND: code = this.bind(r, e); break;
      case REQ_CONNECT: code = this.connect(r, e); break;
      case REQ_DISCONNECT: code = this.disconnect(r); break;
      case REQ_SETOPT: code = this.setopt(r); break;
      case REQ_ADD_MEMBERSHIP: code = this.addMembership(r); break;
      case REQ_DROP_MEMBERSHIP: code = this.dropMembership(r); break;
      case REQ_CLOSE: code = this.close(r); break;
      default: code = ERRNO_EINVAL;
    }
    this.count(code === ERRNO_OK ? 'app.req.ok' : `app.req.${ERRNO_NAMES[code] ?? 'error'}`);
    if (w && at >= 0) {
      e.code = code;
      writeAppHeader(e, w.bytes, at);
      w.commit(APP_HEADER_LEN, false);
    }
  }

  private bind(r: AppRecord, e: AppRecord): number {
    if (r.family !== 4 && r.family !== 6) return ERRNO_EAFNOSUPPORT;
    const addr = bytesToWords(r.addr, 0, r.family);
    const existing = this.bySock.get(r.sock);
    if (existing) {
      // A re-delivered BIND (crash after commit, before the input was released): same answer.
      const sameAddr = eqWords(existing.laddr, addr) || (existing.flags & SOCKF_WILDCARD_BOUND) !== 0 && isZero(addr);
      if (existing.family === r.family && (r.port === 0 || r.port === existing.lport) && sameAddr) {
        this.fillLocal(existing, e);
        return ERRNO_OK;
      }
      return ERRNO_EINVAL;
    }
    if (!isZero(addr) && !this.bindable(r.family, addr)) return ERRNO_EADDRNOTAVAIL;
    const slot = this.freeSlots.pop();
    if (slot === undefined) {
      this.count('bind.drop.table-full');
      return ERRNO_ENOBUFS;
    }
    let flags = (r.flags & REQF_REUSEADDR ? SOCKF_REUSEADDR : 0) | (r.flags & REQF_V6ONLY ? SOCKF_V6ONLY : 0) | SOCKF_MCAST_LOOP;
    if (isZero(addr)) flags |= SOCKF_WILDCARD_BOUND;
    let port = r.port;
    if (port === 0) port = this.ephemeralPort();
    if (port === 0 || this.conflicts(r.family, port, addr, flags, null)) {
      this.freeSlots.push(slot);
      return ERRNO_EADDRINUSE;
    }
    const s: Socket = {
      slot, state: SOCK_BOUND, sock: r.sock, family: r.family as 4 | 6, flags, lport: port, laddr: addr,
      rport: 0, raddr: new Uint32Array(4), ttl: 0, mttl: DEFAULT_MCAST_TTL, rcvbuf: this.cfg.rcvbuf,
    };
    this.table.commitSocket(s);
    this.index(s);
    this.fillLocal(s, e);
    return ERRNO_OK;
  }

  private fillLocal(s: Socket, e: AppRecord): void {
    e.family = s.family;
    e.port = s.lport;
    e.value = s.slot;
    wordsToBytes(s.laddr, e.addr, 0);
    if (s.state === SOCK_CONNECTED) wordsToBytes(s.raddr, e.addr2, 0);
  }

  private connect(r: AppRecord, e: AppRecord): number {
    const s = this.bySock.get(r.sock);
    if (!s) return ERRNO_EBADF;
    if (r.family !== s.family) return ERRNO_EAFNOSUPPORT;
    const raddr = bytesToWords(r.addr, 0, r.family);
    if (r.port === 0 || isZero(raddr)) return ERRNO_EINVAL;
    if (s.state === SOCK_CONNECTED) {
      if (s.rport === r.port && eqWords(s.raddr, raddr)) {
        this.fillLocal(s, e);
        return ERRNO_OK; // re-delivered
      }
      return ERRNO_EISCONN;
    }
    // Linux ip4_datagram_connect: a broadcast remote needs SO_BROADCAST (EACCES).
    if (this.isBroadcast(s.family, raddr) && (s.flags & SOCKF_BROADCAST) === 0) return ERRNO_EACCES;
    if (isZero(s.laddr)) {
      // As Linux: connecting a wildcard-bound socket fixes its source address (getsockname
      // shows it, and only datagrams to it are received); disconnect gives the wildcard back.
      const src = this.sourceFor(s.family, raddr);
      if (src) s.laddr = Uint32Array.from(src);
    }
    s.state = SOCK_CONNECTED;
    s.rport = r.port;
    s.raddr = raddr;
    this.table.commitSocket(s);
    this.fillLocal(s, e);
    return ERRNO_OK;
  }

  private disconnect(r: AppRecord): number {
    const s = this.bySock.get(r.sock);
    if (!s) return ERRNO_EBADF;
    // Idempotent (Linux too answers 0 for an unconnected socket).
    if (s.state !== SOCK_CONNECTED) return ERRNO_OK;
    s.state = SOCK_BOUND;
    s.rport = 0;
    s.raddr = new Uint32Array(4);
    if (s.flags & SOCKF_WILDCARD_BOUND) s.laddr = new Uint32Array(4);
    this.table.commitSocket(s);
    return ERRNO_OK;
  }

  private setopt(r: AppRecord): number {
    const s = this.bySock.get(r.sock);
    if (!s) return ERRNO_EBADF;
    const v = r.value;
    switch (r.aux) {
      case OPT_BROADCAST: s.flags = v ? s.flags | SOCKF_BROADCAST : s.flags & ~SOCKF_BROADCAST; break;
      case OPT_MULTICAST_LOOP: s.flags = v ? s.flags | SOCKF_MCAST_LOOP : s.flags & ~SOCKF_MCAST_LOOP; break;
      case OPT_TTL:
        if (v < 1 || v > 255) return ERRNO_EINVAL;
        s.ttl = v;
        break;
      case OPT_MULTICAST_TTL:
        if (v > 255) return ERRNO_EINVAL;
        s.mttl = v;
        break;
      case OPT_RCVBUF:
        if (v > 0x7fffffff) return ERRNO_EINVAL;
        s.rcvbuf = v;
        break;
      default:
        return ERRNO_ENOPROTOOPT;
    }
    this.table.commitSocket(s);
    return ERRNO_OK;
  }

  private addMembership(r: AppRecord): number {
    const s = this.bySock.get(r.sock);
    if (!s) return ERRNO_EBADF;
    if (r.family !== s.family) return ERRNO_EAFNOSUPPORT;
    const group = bytesToWords(r.addr, 0, r.family);
    if (!isMulticast(r.family, group)) return ERRNO_EINVAL;
    const iface = bytesToWords(r.addr2, 0, r.family);
    const l = this.membersBySlot.get(s.slot) ?? [];
    // A duplicate (or a re-delivered request) is accepted; the app's dgram layer reports
    // EADDRINUSE for a duplicate itself, as Node does, synchronously.
    if (l.some((m) => eqWords(m.group, group) && eqWords(m.iface, iface))) {
      this.membershipChanged(s.family, group, true); // a re-delivered request: tell again
      return ERRNO_OK;
    }
    if (l.length >= MAX_MEMBERSHIPS_PER_SOCKET) return ERRNO_ENOBUFS;
    const index = this.freeMembers.pop();
    if (index === undefined) return ERRNO_ENOBUFS;
    const m: Membership = { index, slot: s.slot, sock: s.sock, family: s.family, group, iface };
    this.table.commitMember(m);
    this.members[index] = m;
    l.push(m);
    this.membersBySlot.set(s.slot, l);
    this.membershipChanged(s.family, group, true);
    return ERRNO_OK;
  }

  /** Emits `membership {group, join}` when the first socket joined `group` (join) or the last
   *  one left it; the Stack turns it into the IP actor's joinGroup / leaveGroup (IGMP / MLD).
   *  Listeners must be idempotent: a re-delivered request or a restart tells again. */
  private membershipChanged(family: 4 | 6, group: Uint32Array, join: boolean): void {
    let n = 0;
    for (const m of this.members) if (m && m.family === family && eqWords(m.group, group)) n++;
    if (join ? n === 1 : n === 0) {
      this.ctx.counters.add(join ? 'membership.join' : 'membership.leave');
      this.ctx.emit('membership', { group: formatWords(family, group), family, join });
    }
  }

  private dropMembership(r: AppRecord): number {
    const s = this.bySock.get(r.sock);
    if (!s) return ERRNO_EBADF;
    const group = bytesToWords(r.addr, 0, r.family || s.family);
    const iface = bytesToWords(r.addr2, 0, r.family || s.family);
    const l = this.membersBySlot.get(s.slot) ?? [];
    const i = l.findIndex((m) => eqWords(m.group, group) && (isZero(iface) || eqWords(m.iface, iface)));
    if (i < 0) return ERRNO_OK; // idempotent; the app layer reports EADDRNOTAVAIL itself
    const gone = l[i];
    this.freeMemberRecord(gone);
    l.splice(i, 1);
    this.membershipChanged(gone.family, gone.group, false);
    return ERRNO_OK;
  }

  private freeMemberRecord(m: Membership): void {
    this.table.freeMember(m.index);
    this.members[m.index] = undefined;
    this.freeMembers.push(m.index);
  }

  private close(r: AppRecord): number {
    const s = this.bySock.get(r.sock);
    if (!s) return ERRNO_OK; // never bound, or a re-delivered close
    // Memberships first: a crash in between leaves the socket bound and the close request is
    // re-delivered; a membership of a freed slot would be dropped at load anyway.
    const mine = this.membersBySlot.get(s.slot) ?? [];
    for (const m of mine) this.freeMemberRecord(m);
    this.membersBySlot.delete(s.slot);
    for (const m of mine) this.membershipChanged(m.family, m.group, false);
    this.table.freeSocket(s.slot);
    this.unindex(s);
    this.freeSlots.push(s.slot);
    return ERRNO_OK;
  }

  /** REQ_SEND: one datagram, built straight into the ip ring (one copy). A full ip ring holds
   *  the request back (back-pressure to the app) rather than dropping it. */
  private send(r: AppRecord, b: Uint8Array): void | boolean {
    const s = this.bySock.get(r.sock);
    let code = ERRNO_OK;
    let dport = 0;
    let dst: Uint32Array = this.w2;
    if (!s) code = ERRNO_EBADF;
    else if (r.flags & REQF_CONNECTED) {
      if (s.state !== SOCK_CONNECTED) code = ERRNO_ENOTCONN;
      else {
        dport = s.rport;
        dst = s.raddr;
      }
    } else if (s.state === SOCK_CONNECTED) code = ERRNO_EISCONN;
    else if (r.family !== s.family) code = ERRNO_EAFNOSUPPORT;
    else {
      dport = r.port;
      dst = bytesToWords(r.addr, 0, r.family, this.w2);
      if (dport === 0 || isZero(dst)) code = ERRNO_EINVAL;
    }
    const pl = r.payloadLen;
    let fam: 4 | 6 = 4;
    let src: Uint32Array | null = null;
    if (code === ERRNO_OK && s) {
      fam = s.family;
      if (pl > (fam === 4 ? MAX_PAYLOAD_V4 : MAX_PAYLOAD_V6)) code = ERRNO_EMSGSIZE;
      // SO_BROADCAST (Linux udp_sendmsg: EACCES for a broadcast route without it).
      else if (this.isBroadcast(fam, dst) && (s.flags & SOCKF_BROADCAST) === 0) code = ERRNO_EACCES;
      else {
        const lu = !isZero(s.laddr) && !isMulticast(fam, s.laddr) && !this.isBroadcast(fam, s.laddr);
        src = lu ? s.laddr : this.sourceFor(fam, dst);
        if (src === null && fam === 6) code = ERRNO_EADDRNOTAVAIL;
        // Bound to an address the stack no longer has (removed at runtime): Linux's route
        // lookup then fails the send with ENETUNREACH (measured on Linux 6.x). The binding is
        // kept, and sends work again once the address is back. IPv6 link-local addresses are
        // IP's own, never in the stack's list.
        else if (lu && this.local !== null && !this.isLocal(fam, s.laddr) && !(fam === 6 && ((s.laddr[0] & 0xffc00000) >>> 0) === 0xfe800000)) {
          code = ERRNO_ENETUNREACH;
        }
      }
    }
    const ip = this.ctx.out('ip');
    if (code === ERRNO_OK && !ip) code = ERRNO_ENETUNREACH;
    const n = RECORD_HEADER_LEN + UDP_HEADER_LEN + pl;
    if (code === ERRNO_OK && n > ip!.maxRecord) code = ERRNO_EMSGSIZE;
    if (code !== ERRNO_OK || !s) {
      this.count(`tx.drop.${ERRNO_NAMES[code]}`);
      return this.replySend(r, code, 0);
    }
    const w = ip!;
    const at = w.tryReserve(n);
    if (at < 0) {
      this.count('tx.blocked');
      return false;
    }
    // The reply (when asked for) must fit too, or the request waits with nothing sent.
    if (r.req !== 0) {
      const app = this.ctx.out('app');
      if (app && app.free() < APP_HEADER_LEN + 8 + 4096) {
        w.abort();
        return false;
      }
    }
    const mcast = isMulticast(fam, dst);
    const hdr: RecordHeader = { family: fam, proto: IP_PROTO_UDP, ifindex: 0, ttl: mcast ? s.mttl : s.ttl, tos: 0, flags: 0, src: 0, dst: 0 };
    if (fam === 4) {
      hdr.src = src ? src[0] : 0;
      hdr.dst = dst[0];
    } else {
      wordsToBytes(src!, this.src6, 0);
      wordsToBytes(dst, this.dst6, 0);
      hdr.src6 = this.src6;
      hdr.dst6 = this.dst6;
    }
    if (mcast && hdr.ttl === 0) {
      // TTL 0 means "IP's default" in the record; a multicast TTL of 0 (host-local) is not
      // expressible, so such datagrams are not sent (nothing would receive them off-host).
      w.abort();
      this.count('tx.drop.mcast-ttl0');
      return this.replySend(r, ERRNO_OK, pl);
    }
    const bytes = w.bytes;
    writeRecordHeader(hdr, bytes, at);
    const u = at + RECORD_HEADER_LEN;
    const ulen = UDP_HEADER_LEN + pl;
    bytes[u] = s.lport >>> 8;
    bytes[u + 1] = s.lport;
    bytes[u + 2] = dport >>> 8;
    bytes[u + 3] = dport;
    bytes[u + 4] = ulen >>> 8;
    bytes[u + 5] = ulen;
    bytes[u + 6] = 0;
    bytes[u + 7] = 0;
    bytes.set(b.subarray(r.payloadOff, r.payloadOff + pl), u + UDP_HEADER_LEN);
    if (fam === 4) {
      // RFC 768 / RFC 1122 §4.1.3.4: the checksum is on by default. Without a known source it
      // cannot be computed (it covers the pseudo-header), and IPv4 allows zero = none.
      if (src) udpFillChecksum(bytes, u, ulen, pseudoSumV4(hdr.src, hdr.dst, IP_PROTO_UDP, ulen));
      else this.count('tx.no-checksum');
    } else {
      udpFillChecksum(bytes, u, ulen, pseudoSumV6Addrs(this.src6, this.dst6, IP_PROTO_UDP, ulen));
    }
    w.commit(n, false);
    this.count('tx.datagrams');
    this.count('tx.bytes', pl);
    return this.replySend(r, ERRNO_OK, pl);
  }

  private replySend(r: AppRecord, code: number, bytes: number): void {
    if (code === ERRNO_OK && r.req === 0) return;
    const w = this.ctx.out('app');
    if (!w) return;
    const at = w.tryReserve(APP_HEADER_LEN);
    if (at < 0) {
      this.count('app.drop.reply-full');
      return;
    }
    const e = this.ev;
    e.kind = EV_REPLY;
    e.family = r.family;
    e.flags = 0;
    e.sock = r.sock;
    e.req = r.req;
    e.port = r.port;
    e.aux = REQ_SEND;
    e.value = bytes;
    e.code = code;
    e.addr.set(r.addr);
    e.addr2.fill(0);
    writeAppHeader(e, w.bytes, at);
    w.commit(APP_HEADER_LEN, false);
  }

  // ---------------------------------------------------------------------------- control

  control(op: string, args: unknown): unknown {
    const a = (args ?? {}) as Record<string, unknown>;
    switch (op) {
      case 'status':
        return { sockets: this.socketList(), counters: this.ctx.counters.snapshot(), addresses: this.cfg.addresses ?? null };
      case 'sockets':
        return this.socketList();
      case 'setAddresses': {
        this.local = parseAddressList(a.addresses);
        this.cfg.addresses = (a.addresses as string[]).slice();
        return { addresses: this.cfg.addresses };
      }
      default:
        throw new UdpConfigError(`unknown control op "${op}" (known: status, sockets, setAddresses)`);
    }
  }

  socketList(): object[] {
    return [...this.bySock.values()].map((s) => ({
      sock: s.sock, slot: s.slot, family: s.family, state: s.state === SOCK_CONNECTED ? 'connected' : 'bound',
      local: `${formatWords(s.family, s.laddr)}:${s.lport}`,
      remote: s.state === SOCK_CONNECTED ? `${formatWords(s.family, s.raddr)}:${s.rport}` : null,
      broadcast: (s.flags & SOCKF_BROADCAST) !== 0, reuseAddr: (s.flags & SOCKF_REUSEADDR) !== 0,
      ttl: s.ttl, multicastTtl: s.mttl, rcvbuf: s.rcvbuf, queued: this.table.acct.queued(s.slot),
      memberships: (this.membersBySlot.get(s.slot) ?? []).map((m) => formatWords(m.family, m.group)),
    }));
  }
}

export function create(ctx: ActorContext, config: unknown): ActorCore {
  return new UdpCore(ctx, config);
}
