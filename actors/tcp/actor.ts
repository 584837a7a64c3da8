// The TCP actor's thin shell: adapts TcpCore to the ActorCore contract (base/actor.ts). Input
// port `ip` carries records from the IP actor (actors/ip/records.ts: a 40-byte header, then the
// TCP segment, or an ICMP error about one of our segments); segments go out on port `ip` in the
// same format. Events go to the app on port `app` as they leave the core; if that ring is full
// they are dropped and one EV_RESYNC follows when there is room. The connection table and the
// byte streams are ActorContext.shared.tcbs / .tcpStreams (created by the supervisor with
// createTcpShared, or zeroed by the supervisor from ActorSpec.shared sizes and initialised here
// on first attach), so a restarted incarnation reattaches to them. User calls arrive on port
// `app` (records of app.ts, from api/net.ts) or as control operations (tests, ctl; also
// setAddresses {addresses}).
//
// Config: { maxConns, sendBufBytes, recvBufBytes } (sizes for a first attach to zeroed regions),
// addresses (the stack's CIDRs: source address selection for connect), addressGraceMs, and any
// TcpConfig key.
//
// Resilience (docs/resilience.md): when setAddresses drops the local address of a connection,
// the connection is kept (IP drops its segments as bad-src, TCP retransmits) for a grace period
// (addressGraceMs, default 30 s, on the actor's clock); if the address comes back in time the
// connection carries on, else it fails with EADDRNOTAVAIL (EV_RESET to the app) and is aborted.
// Listeners are never failed (they just receive nothing while their address is gone).

import type { ActorContext, ActorCore, ActorFactory } from '../../base/actor';
import { RECORD_FLAG_ICMP_ERROR, RECORD_HEADER_LEN, RecordHeader, readRecordHeader, writeRecordHeader } from '../ip/records';
import { ICMPV4_DEST_UNREACHABLE, UNREACH_FRAG_NEEDED, UNREACH_NET, UNREACH_PORT, UNREACH_PROTOCOL, parseIcmpv4Quote } from '../../protocol/icmpv4';
import { TcpCore } from './core';
import { TcpShared, TcpSharedOptions, initTcpShared, tcpSharedReady } from './table';
import type { IpAddr, TcpConfig, TcpConnOptions, TcpEvent, TcpSegmentOut } from './types';
import { formatIpv4, formatIpv6, parseCidr, parseIp } from '../../protocol/address';
import {
  AcceptedConn, ConnStatus, EV_CLOSED, EV_CONNECTION, EV_ESTABLISHED, EV_MAX, EV_PEER_CLOSED, EV_READABLE, EV_REPLY,
  EV_RESET, EV_RESYNC, EV_TIMEOUT, EV_WRITABLE, REQ_ABORT, REQ_ACCEPT, REQ_CLOSE, REQ_CONNECT, REQ_LISTEN, REQ_MAX,
  REQ_POKE, REQ_SETOPT, REQ_SHUTDOWN, REQ_STATUS, TCP_APP_HEADER_LEN, TcpAppRecord, decodeTcpAppRecord,
  encodeTcpAppRecord, errnoOf, writeTcpAppHeader,
} from './app';

/** Sizes used when the regions are found zeroed (a Stack's first start). */
export const TCP_SHARED_DEFAULTS: TcpSharedOptions = { maxConns: 1024, sendBufBytes: 1 << 16, recvBufBytes: 1 << 16 };

export interface TcpActorConfig extends Partial<TcpConfig>, Partial<TcpSharedOptions> {
  /** The stack's addresses as CIDRs: connect() without a local address uses the one whose
   *  subnet holds the remote, else the first of the family. */
  addresses?: string[];
  /** How long a connection whose local address was removed is kept, waiting for the address to
   *  come back, before it fails with EADDRNOTAVAIL (ms). Default ADDRESS_GRACE_MS. */
  addressGraceMs?: number;
}

/** Default of TcpActorConfig.addressGraceMs. */
export const ADDRESS_GRACE_MS = 30_000;

/** States in which a connection no longer needs its local address (or ends by itself). */
const ADDRESS_EXEMPT = new Set(['LISTEN', 'CLOSED', 'TIME-WAIT', 'FREE']);

const EVENT_KIND: Record<string, number> = {
  connection: EV_CONNECTION, established: EV_ESTABLISHED, readable: EV_READABLE, writable: EV_WRITABLE,
  'peer-closed': EV_PEER_CLOSED, reset: EV_RESET, timeout: EV_TIMEOUT, closed: EV_CLOSED,
};

export function formatAddr(a: IpAddr): string {
  return typeof a === 'number' ? formatIpv4(a) : formatIpv6(a);
}

function parseAddr(s: unknown): IpAddr | null {
  if (s === null || s === undefined || s === '') return null;
  const p = parseIp(String(s));
  if (p === null) throw Object.assign(new Error(`bad address ${String(s)}`), { code: 'EINVAL' });
  return p.addr;
}

const IP_PROTO_TCP = 6;
const IP_PROTO_ICMP = 1;

function srcOf(h: RecordHeader): IpAddr {
  return h.family === 4 ? h.src : h.src6!;
}
function dstOf(h: RecordHeader): IpAddr {
  return h.family === 4 ? h.dst : h.dst6!;
}

class TcpActor implements ActorCore {
  readonly core: TcpCore;
  private addresses: { family: 4 | 6; addr: IpAddr; prefixLen: number }[] = [];
  /** An event could not be written (ring full): send EV_RESYNC when there is room. */
  private lostEvents = false;
  /** Resilience: connections whose local address is gone -> since when (ctx.now() ms). In memory
   *  only: a restarted incarnation re-finds them (recheckAddresses) and restarts their grace. */
  private readonly addressGone = new Map<number, number>();
  private readonly addressGraceMs: number;
  /** Whether we were given the stack's addresses at all (bare actors in tests are not). */
  private readonly addressesKnown: boolean;

  constructor(private readonly ctx: ActorContext, config: TcpActorConfig) {
    const { maxConns, sendBufBytes, recvBufBytes, addresses, addressGraceMs, ...coreConfig } = config;
    this.addressesKnown = Array.isArray(addresses);
    this.addressGraceMs = Math.max(0, addressGraceMs ?? ADDRESS_GRACE_MS);
    const shared = { tcbs: ctx.shared.tcbs, tcpStreams: ctx.shared.tcpStreams } as TcpShared;
    if (shared.tcbs instanceof SharedArrayBuffer && !tcpSharedReady(shared)) {
      // A zeroed region from the supervisor (first start, or a crash during the first init).
      initTcpShared(shared, {
        maxConns: maxConns ?? TCP_SHARED_DEFAULTS.maxConns,
        sendBufBytes: sendBufBytes ?? TCP_SHARED_DEFAULTS.sendBufBytes,
        recvBufBytes: recvBufBytes ?? TCP_SHARED_DEFAULTS.recvBufBytes,
      }, () => ctx.randomU32());
    }
    this.setAddresses(addresses ?? []);
    this.core = new TcpCore(shared, {
      now: () => ctx.now(),
      randomU32: () => ctx.randomU32(),
      output: (s) => this.send(s),
      onEvent: (e) => this.onEvent(e),
      sourceAddress: (r) => this.sourceAddress(r),
      count: (name, n) => ctx.counters.add(`tcp.${name}`, n),
    }, coreConfig);
    // Whatever the app missed while we were down, it re-checks on the supervisor's 'restarted'.
    this.recheckAddresses();
  }

  private isOurs(a: IpAddr): boolean {
    if (typeof a === 'number') return this.addresses.some((x) => x.addr === a);
    // IPv6 link-local addresses are IP's own (not in the stack's list): never considered gone.
    if (a[0] === 0xfe && (a[1] & 0xc0) === 0x80) return true;
    return this.addresses.some((x) => typeof x.addr !== 'number' && Buffer.compare(Buffer.from(x.addr), Buffer.from(a)) === 0);
  }

  /** Resilience: (re)computes which connections have lost their local address; called on every
   *  address change and on attach. A connection whose address came back leaves the map. */
  private recheckAddresses(): void {
    if (!this.addressesKnown) return;
    const now = this.ctx.now();
    const live = new Set<number>();
    for (const id of this.core.connections()) {
      const d = this.core.dumpTcb(id) as { stateName: string; local: IpAddr };
      if (ADDRESS_EXEMPT.has(d.stateName) || this.isOurs(d.local)) continue;
      live.add(id);
      if (!this.addressGone.has(id)) {
        this.addressGone.set(id, now);
        this.ctx.counters.add('tcp.address-gone');
      }
    }
    for (const id of [...this.addressGone.keys()]) {
      if (!live.has(id)) this.addressGone.delete(id);
    }
  }

  /** Resilience: fails the connections whose address stayed gone past the grace period. */
  private expireAddresses(now: number): void {
    for (const [id, since] of [...this.addressGone]) {
      if (now < since + this.addressGraceMs) continue;
      this.addressGone.delete(id);
      let state: string;
      try {
        state = String(this.core.dumpTcb(id).stateName);
      } catch {
        continue; // freed meanwhile
      }
      if (ADDRESS_EXEMPT.has(state)) continue;
      this.ctx.counters.add('tcp.address-gone-abort');
      // As for an ICMP error in SYN-SENT: the app hears the reason first, then the TCB goes
      // (abort's RST carries the gone source address, so IP drops it as bad-src).
      if (!this.writeApp(EV_RESET, id, 0, errnoOf('EADDRNOTAVAIL'))) this.lostEvents = true;
      this.core.abort(id);
    }
  }

  private setAddresses(list: string[]): void {
    const out: { family: 4 | 6; addr: IpAddr; prefixLen: number }[] = [];
    for (const s of list) {
      const c = parseCidr(s);
      if (c) out.push({ family: c.family, addr: c.addr, prefixLen: c.prefixLen });
    }
    this.addresses = out;
  }

  /** A local address given by the app: must be one of ours (when we know ours), as bind(2). */
  private localAddr(s: unknown): IpAddr | null {
    const a = parseAddr(s);
    if (a === null || this.addresses.length === 0) return a;
    const ok = this.addresses.some((x) => (typeof a === 'number' ? x.addr === a : typeof x.addr !== 'number' && Buffer.compare(Buffer.from(x.addr), Buffer.from(a)) === 0));
    if (!ok) throw Object.assign(new Error(`${String(s)} is not a local address`), { code: 'EADDRNOTAVAIL' });
    return a;
  }

  private sourceAddress(remote: IpAddr): IpAddr | null {
    if (typeof remote === 'number') {
      let first: IpAddr | null = null;
      for (const a of this.addresses) {
        if (a.family !== 4) continue;
        first ??= a.addr;
        const mask = a.prefixLen === 0 ? 0 : (0xffffffff << (32 - a.prefixLen)) >>> 0;
        if ((((a.addr as number) ^ remote) & mask) >>> 0 === 0) return a.addr;
      }
      return first;
    }
    for (const a of this.addresses) if (a.family === 6) return a.addr;
    return null;
  }

  // ---------------------------------------------------------------- the app ports

  private writeApp(kind: number, id: number, req = 0, code = 0, aux = 0, body?: unknown): boolean {
    const w = this.ctx.out('app');
    if (w === undefined) return true;
    if (body === undefined) {
      const at = w.tryReserve(TCP_APP_HEADER_LEN);
      if (at < 0) return false;
      writeTcpAppHeader(w.bytes, at, kind, id, req, code, aux, 0);
      w.commit(TCP_APP_HEADER_LEN, false);
      return true;
    }
    const rec = encodeTcpAppRecord(kind, id, req, code, aux, body);
    const at = w.tryReserve(rec.length);
    if (at < 0) return false;
    w.bytes.set(rec, at);
    w.commit(rec.length, false);
    return true;
  }

  private onEvent(e: TcpEvent): void {
    const kind = EVENT_KIND[e.kind];
    if (kind === undefined) return;
    if (this.lostEvents || !this.writeApp(kind, e.id, 0, errnoOf(e.code))) {
      this.lostEvents = true;
      this.ctx.counters.add('tcp.app-events-lost');
    }
  }

  poll(): boolean {
    if (this.lostEvents && this.writeApp(EV_RESYNC, 0)) {
      this.lostEvents = false;
      return true;
    }
    return false;
  }

  private status(id: number): ConnStatus {
    const d = this.core.dumpTcb(id) as { stateName: string; flagNames: string[]; error: string | null };
    return { state: d.stateName, finRcvd: d.flagNames.includes('FIN_RCVD'), error: d.error };
  }

  private onAppRecord(r: TcpAppRecord): void {
    const body = (r.body ?? {}) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    let reply: unknown;
    try {
      switch (r.kind) {
        case REQ_POKE:
          this.core.poke(r.id);
          return;
        case REQ_LISTEN:
          reply = { id: this.core.listen(this.localAddr(body.addr), body.port | 0, body.backlog ?? 511) };
          break;
        case REQ_CONNECT: {
          const id = this.core.connect(this.localAddr(body.local), parseAddr(body.remote) ?? 0, body.port | 0, {
            ...((body.options ?? {}) as TcpConnOptions), localPort: body.localPort ?? 0,
          });
          const d = this.core.dumpTcb(id) as { local: IpAddr; localPort: number };
          reply = { id, local: formatAddr(d.local), localPort: d.localPort };
          break;
        }
        case REQ_ACCEPT: {
          const list: AcceptedConn[] = [];
          for (let id = this.core.accept(r.id); id !== null; id = this.core.accept(r.id)) {
            const d = this.core.dumpTcb(id) as { local: IpAddr; localPort: number; remote: IpAddr; remotePort: number };
            list.push({ id, local: formatAddr(d.local), localPort: d.localPort, remote: formatAddr(d.remote), remotePort: d.remotePort, status: this.status(id) });
          }
          reply = list;
          break;
        }
        case REQ_SHUTDOWN:
          this.core.shutdown(r.id);
          break;
        case REQ_CLOSE:
          this.core.close(r.id);
          break;
        case REQ_ABORT:
          this.core.abort(r.id);
          break;
        case REQ_SETOPT:
          this.core.setOption(r.id, body as TcpConnOptions);
          break;
        case REQ_STATUS:
          reply = this.status(r.id);
          break;
        default:
          return;
      }
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (r.req !== 0 && !this.writeApp(EV_REPLY, r.id, r.req, errnoOf(code ?? 'EINVAL'), r.kind, { message: (e as Error).message })) this.lostEvents = true;
      return;
    }
    if (r.req !== 0 && !this.writeApp(EV_REPLY, r.id, r.req, 0, r.kind, reply ?? null)) this.lostEvents = true;
  }

  onRecord(port: string, bytes: Uint8Array, off: number, len: number): void {
    if (port === 'app') {
      const r = decodeTcpAppRecord(bytes, off, len, REQ_MAX);
      if (r === null) this.ctx.counters.add('tcp.app-bad-record');
      else this.onAppRecord(r);
      return;
    }
    if (port !== 'ip') return;
    const h = readRecordHeader(bytes, off, len);
    if (h !== null && h.proto === IP_PROTO_ICMP && (h.flags & RECORD_FLAG_ICMP_ERROR) !== 0) {
      this.onIcmpError(h, bytes, off + RECORD_HEADER_LEN, len - RECORD_HEADER_LEN);
      return;
    }
    if (h === null || h.proto !== IP_PROTO_TCP) {
      this.ctx.counters.add('tcp.drop-record');
      return;
    }
    this.core.onSegment({ src: srcOf(h), dst: dstOf(h), buf: bytes, off: off + RECORD_HEADER_LEN, len: len - RECORD_HEADER_LEN }, this.ctx.now());
  }

  /** An ICMP error about one of our segments (from a router, or IP's own no-route / neighbour
   *  failure). Fragmentation Needed lowers the path MTU (RFC 1191). Destination Unreachable ends
   *  a connection attempt in SYN-SENT with EHOSTUNREACH / ENETUNREACH / ECONNREFUSED, as Linux
   *  does; RFC 1122 4.2.3.9 calls codes 0, 1 and 5 soft errors that MUST NOT abort a
   *  connection, which we follow for synchronized connections (they are ignored). IPv6 errors
   *  are counted and ignored. */
  private onIcmpError(h: RecordHeader, b: Uint8Array, off: number, len: number): void {
    this.ctx.counters.add('tcp.icmp-error');
    if (h.family !== 4) return;
    const q = parseIcmpv4Quote(b, off, len);
    if (!q.ok || q.value.ip.protocol !== IP_PROTO_TCP || q.value.transportLen < 8) return;
    const type = b[off];
    const code = b[off + 1];
    if (type !== ICMPV4_DEST_UNREACHABLE) return;
    const remote = q.value.ip.dst;
    const t = q.value.transportOff;
    const sport = (b[t] << 8) | b[t + 1];
    const dport = (b[t + 2] << 8) | b[t + 3];
    if (code === UNREACH_FRAG_NEEDED) {
      const mtu = (b[off + 6] << 8) | b[off + 7];
      if (mtu >= 68) this.core.pathMtuChanged(remote, mtu);
      return;
    }
    const err = code === UNREACH_NET ? 'ENETUNREACH' : code === UNREACH_PORT || code === UNREACH_PROTOCOL ? 'ECONNREFUSED' : 'EHOSTUNREACH';
    for (const id of this.core.connections()) {
      const d = this.core.dumpTcb(id) as { stateName: string; localPort: number; remotePort: number; remote: IpAddr };
      if (d.stateName !== 'SYN-SENT' || d.localPort !== sport || d.remotePort !== dport || d.remote !== remote) continue;
      this.ctx.counters.add('tcp.icmp-abort');
      if (!this.writeApp(EV_RESET, id, 0, errnoOf(err))) this.lostEvents = true;
      this.core.abort(id);
    }
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
    let d = this.core.nextDeadline();
    for (const since of this.addressGone.values()) d = Math.min(d, since + this.addressGraceMs);
    return d;
  }

  onTimer(): void {
    const now = this.ctx.now();
    this.core.onTimer(now);
    if (this.addressGone.size > 0) this.expireAddresses(now);
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
      case 'setAddresses':
        this.setAddresses(a.addresses ?? []);
        this.recheckAddresses(); // resilience: start or cancel grace periods
        return null;
      case 'poke':
        return a.id === undefined ? this.core.pokeAll() : this.core.poke(a.id);
      case 'pathMtu':
        return this.core.pathMtuChanged(a.remote, a.mtu);
      case 'dump':
        return a.id === undefined ? this.core.connections().map((id) => this.core.dumpTcb(id)) : this.core.dumpTcb(a.id);
      case 'counters':
        return this.core.counters();
      case 'addressGone': // resilience: connections waiting for their local address
        return [...this.addressGone].map(([id, since]) => ({ id, since, deadline: since + this.addressGraceMs }));
      default:
        throw new Error(`tcp: unknown control op ${op}`);
    }
  }
}

export const create: ActorFactory = (ctx, config) => new TcpActor(ctx, (config ?? {}) as TcpActorConfig);

void EV_MAX;
