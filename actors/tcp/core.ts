// The TCP core: a synchronous, sans-I/O TCP (RFC 9293) whose connection table and byte streams
// live in shared memory, so a new core constructed over the same regions carries on every
// connection after a crash of the previous one. Driven by (segment | timer | user call, now);
// emits segments and events through its TcpEnv after committing the state that produced them.
//
// RFCs: 9293 (state machine, segment arrival, user calls), 5961 (challenge ACKs, RST/SYN/ACK
// validation), 7323 (window scale, timestamps, PAWS), 2018 and 6675 (SACK, SACK-based recovery),
// 6298 (RTO), 5681 and 6582 (congestion control, NewReno), 9438 (CUBIC, cc/cubic.ts), 6528 (ISNs),
// 6056 (ephemeral ports), 4987 (SYN cookies), 1122 (keep-alive, delayed ACK), 5482 (user timeout),
// 6191 (TIME-WAIT reuse with timestamps), 6928 (initial window), 6691 (MSS).
// Deviations are listed in docs/tcp.md.
//
// Structure: one `handle*` per state group, each an exhaustive switch over TcpState; a single
// transition() changes a TCB's state and counts it; sender.ts, receiver.ts, reassembly.ts,
// sack.ts, rtt.ts and cc/ hold the per-concern rules.

import { pseudoSumV6Addrs } from '../../protocol/checksum';
import { inWindow, seqAdd, seqGe, seqGt, seqLe, seqLt, seqMax, seqSub } from '../../protocol/seq';
import {
  TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TcpHeader, TcpOption, emitTcp, parseTcp, tcpFillChecksum, tcpHeader,
  tcpOptions, tcpOptionsLen, tcpPseudoSumV4, tcpVerifyV4, tcpVerifyV6,
} from '../../protocol/tcp';
import { ccByAlgo, ccByName } from './cc';
import { CcAlgo, TcbFlag, TcpErrorCode, TcpState } from './layout';
import { reassemble, sackBlocks } from './reassembly';
import { autotune, advertiseWindow, rcvSpace, windowShiftFor, windowUpdateDue } from './receiver';
import { trimBelow } from './ranges';
import { clampRto, rttBackoff, rttInit, rttSample, RtoLimits } from './rtt';
import { DUP_THRESH, lostBelow, nextLostHole, pipe, sackUpdate } from './sack';
import {
  COOKIE_MSS, FourTuple, checkCookie, cookieMssIndex, cookieTsBits, cookieTsDecode, initialSeq, makeCookie, portOffset,
  tsOffset,
} from './secure';
import { persistInterval, segmentLength, sendAllowed, SendRoom } from './sender';
import { TcbTable, TcpShared } from './table';
import { STATE_NAMES, Tcb, hasFlag, loadTcb, newTcb, rcvNxt, setFlag, sndEnd, sndUna, storeTcb, synchronized } from './tcb';
import {
  ConnectOptions, DEFAULT_CONFIG, FaultPoint, IpAddr, ListenOptions, SEGMENT_HEADROOM, SegmentOutcome, TcpConfig,
  TcpConnOptions, TcpEnv, TcpError, TcpErrorName, TcpEvent, TcpEventKind, TcpSegmentIn, TcpSegmentOut, familyOf,
} from './types';
import { ByteStream } from './stream';

const ID_SLOT_BITS = 65536;
/** RFC 7323 §5.5: TS.Recent is invalid after 24 days idle. */
const PAWS_IDLE_MS = 24 * 24 * 3600 * 1000;
const ERR_NAMES: Record<number, TcpErrorName | undefined> = {
  [TcpErrorCode.ECONNRESET]: 'ECONNRESET',
  [TcpErrorCode.ECONNREFUSED]: 'ECONNREFUSED',
  [TcpErrorCode.ETIMEDOUT]: 'ETIMEDOUT',
  [TcpErrorCode.ECONNABORTED]: 'ECONNABORTED',
};

function assertNever(x: never): never {
  throw new Error(`tcp: unexpected state ${String(x)}`);
}

function addrWords(a: IpAddr): number[] {
  if (typeof a === 'number') return [a >>> 0, 0, 0, 0];
  const w: number[] = [];
  for (let i = 0; i < 16; i += 4) w.push(((a[i] << 24) | (a[i + 1] << 16) | (a[i + 2] << 8) | a[i + 3]) >>> 0);
  return w;
}

function wordsAddr(family: number, w: number[]): IpAddr {
  if (family === 4) return w[0] >>> 0;
  const b = new Uint8Array(16);
  for (let i = 0; i < 4; i++) {
    b[i * 4] = w[i] >>> 24;
    b[i * 4 + 1] = w[i] >>> 16;
    b[i * 4 + 2] = w[i] >>> 8;
    b[i * 4 + 3] = w[i];
  }
  return b;
}

function addrKey(a: IpAddr): string {
  return typeof a === 'number' ? String(a >>> 0) : Buffer.from(a.buffer, a.byteOffset, 16).toString('hex');
}

function tupleKey(local: IpAddr, lport: number, remote: IpAddr, rport: number): string {
  return `${addrKey(local)}|${lport}|${addrKey(remote)}|${rport}`;
}

function addrEq(a: IpAddr, b: IpAddr): boolean {
  return addrKey(a) === addrKey(b);
}

/** Decoded view of an arriving segment. */
interface Seg {
  h: TcpHeader;
  src: IpAddr;
  dst: IpAddr;
  buf: Uint8Array;
  payOff: number;
  payLen: number;
  /** SEG.LEN: payload + SYN + FIN. */
  segLen: number;
}

export class TcpCore {
  readonly cfg: TcpConfig;
  readonly table: TcbTable;
  /** Per-slot working copies (null = never used by this incarnation and free). */
  private readonly tcbs: (Tcb | null)[];
  private readonly byTuple = new Map<string, Tcb>();
  private readonly listeners = new Set<Tcb>();
  private readonly live = new Set<Tcb>();
  private readonly dirty = new Set<Tcb>();
  private readonly ackPending = new Set<Tcb>();
  private readonly outQ: TcpSegmentOut[] = [];
  private readonly evQ: TcpEvent[] = [];
  private readonly pmtu = new Map<string, number>();
  private readonly rto: RtoLimits;
  private readonly stats: Record<string, number> = {};
  private now = 0;
  private allocHint = 0;
  private challengeWindowStart = 0;
  private challengeCount = 0;
  private depth = 0;

  constructor(shared: TcpShared, private readonly env: TcpEnv, config: Partial<TcpConfig> = {}) {
    this.cfg = { ...DEFAULT_CONFIG, ...config };
    this.rto = { min: this.cfg.rtoMin, max: this.cfg.rtoMax, initial: this.cfg.rtoInitial };
    this.table = new TcbTable(shared);
    this.tcbs = new Array(this.table.maxConns).fill(null);
    this.run(env.now(), () => this.reattach());
  }

  // ======================================================================= reattach

  /** Rebuilds the in-memory indexes from the committed table and re-arms timers from the
   *  stored deadlines (docs/tcp.md "Crash survival"). */
  private reattach(): void {
    const rec = this.table.records;
    for (let slot = 0; slot < this.table.maxConns; slot++) {
      const draft = rec.load(slot);
      const st = draft[0];
      if (st === TcpState.Free) continue;
      const t = newTcb(slot, this.table.sendStream(slot), this.table.recvStream(slot));
      loadTcb(t, draft);
      if (!(t.state in STATE_NAMES) || t.state === TcpState.Free) continue;
      this.tcbs[slot] = t;
      this.live.add(t);
      t.recovered = true;
      if (t.state === TcpState.Listen) {
        this.listeners.add(t);
        continue;
      }
      if (t.state !== TcpState.Closed) this.index(t);
      if (synchronized(t.state)) {
        const una = sndUna(t);
        trimBelow(t.sackList, una);
        trimBelow(t.oooList, rcvNxt(t));
        if (seqLt(t.sndNxt, una)) t.sndNxt = una;
        if (seqLt(t.sndMax, t.sndNxt)) t.sndMax = t.sndNxt;
        // Tell the peer where we are at once: our ACK and window may be newer than it knows.
        this.ackPending.add(t);
        // Segments our predecessor committed as sent may have died with it before reaching the
        // ring: send the outstanding data again now (within cwnd) rather than wait for an RTO.
        // Deviation (docs/tcp.md): a go-back-N after a restart; the peer drops the duplicates.
        if (seqGt(t.sndMax, una)) t.sndNxt = una;
        if (seqGt(t.sndMax, una) && t.tRto === 0) t.tRto = this.now;
        this.touch(t);
      }
      this.count('reattached');
    }
  }

  // ======================================================================= plumbing

  /** Runs one event to completion: the work, then one commit of every changed TCB, then the
   *  segments and events it produced. */
  private run<T>(now: number, fn: () => T): T {
    if (this.depth > 0) return fn();
    this.depth++;
    try {
      this.now = now;
      const r = fn();
      for (const t of this.ackPending) this.output(t);
      this.commit();
      this.flush();
      return r;
    } finally {
      this.depth--;
    }
  }

  private commit(): void {
    if (this.dirty.size === 0) return;
    this.fault('before-commit');
    const rec = this.table.records;
    let first = true;
    for (const t of this.dirty) {
      if (!first) this.fault('mid-commit');
      first = false;
      storeTcb(t, rec.draft);
      rec.commit(t.slot);
      t.dirty = false;
    }
    this.dirty.clear();
    this.fault('after-commit');
  }

  private flush(): void {
    const segs = this.outQ.splice(0);
    const evs = this.evQ.splice(0);
    for (const s of segs) this.env.output(s);
    if (this.env.onEvent) for (const e of evs) this.env.onEvent(e);
  }

  private fault(p: FaultPoint): void {
    if (this.env.fault) this.env.fault(p);
  }

  private touch(t: Tcb): void {
    t.dirty = true;
    this.dirty.add(t);
  }

  private count(name: string, n = 1): void {
    this.stats[name] = (this.stats[name] ?? 0) + n;
    this.env.count?.(name, n);
  }

  private idOf(t: Tcb): number {
    return t.gen * ID_SLOT_BITS + t.slot;
  }

  private event(t: Tcb, kind: TcpEventKind, code?: TcpErrorName): void {
    this.evQ.push(code ? { id: this.idOf(t), kind, code } : { id: this.idOf(t), kind });
  }

  private local(t: Tcb): IpAddr {
    return wordsAddr(t.family, [t.localA0, t.localA1, t.localA2, t.localA3]);
  }
  private remote(t: Tcb): IpAddr {
    return wordsAddr(t.family, [t.remoteA0, t.remoteA1, t.remoteA2, t.remoteA3]);
  }
  private tuple(t: Tcb): FourTuple {
    return {
      family: t.family as 4 | 6,
      local: [t.localA0, t.localA1, t.localA2, t.localA3],
      localPort: t.localPort,
      remote: [t.remoteA0, t.remoteA1, t.remoteA2, t.remoteA3],
      remotePort: t.remotePort,
    };
  }
  private keyOf(t: Tcb): string {
    return tupleKey(this.local(t), t.localPort, this.remote(t), t.remotePort);
  }
  private index(t: Tcb): void {
    t.key = this.keyOf(t);
    this.byTuple.set(t.key, t);
  }
  private unindex(t: Tcb): void {
    if (t.key !== '' && this.byTuple.get(t.key) === t) this.byTuple.delete(t.key);
    t.key = '';
  }

  /** The one place a TCB changes state (style.md point 5): counts the change. */
  private transition(t: Tcb, to: TcpState): void {
    const from = t.state as TcpState;
    if (from === to) return;
    t.state = to;
    this.touch(t);
    this.count(`state.${STATE_NAMES[to]}`);
    this.count('transitions');
  }

  private tsNow(t: Tcb): number {
    return (Math.floor(this.now) + t.tsOffset) >>> 0;
  }

  private ipHeaderLen(t: Tcb): number {
    return t.family === 4 ? 20 : 40;
  }

  // ======================================================================= slots

  private allocate(): Tcb | null {
    const n = this.table.maxConns;
    for (let k = 0; k < n; k++) {
      const slot = (this.allocHint + k) % n;
      const cur = this.tcbs[slot];
      if (cur !== null && cur.state !== TcpState.Free) continue;
      if (cur === null && this.table.records.get(slot, 0) !== TcpState.Free) continue;
      this.allocHint = slot + 1;
      const gen = cur !== null ? cur.gen : this.table.records.get(slot, 1);
      const t = newTcb(slot, this.table.sendStream(slot), this.table.recvStream(slot));
      t.gen = ((gen | 0) + 1) % 32768;
      t.parent = -1;
      t.snd.reset(this.cfg.initialStreamPos, t.gen);
      t.rcv.reset(this.cfg.initialStreamPos, t.gen);
      this.tcbs[slot] = t;
      this.live.add(t);
      this.touch(t);
      return t;
    }
    return null;
  }

  private free(t: Tcb): void {
    this.unindex(t);
    this.listeners.delete(t);
    this.live.delete(t);
    this.ackPending.delete(t);
    const gen = t.gen;
    const slot = t.slot;
    const fresh = newTcb(slot, t.snd, t.rcv);
    fresh.gen = gen;
    fresh.state = TcpState.Free;
    this.tcbs[slot] = fresh;
    this.touch(fresh);
    this.dirty.delete(t);
  }

  private lookupId(id: number): Tcb {
    if (!Number.isInteger(id) || id < 0) throw new TcpError('EBADF', `bad connection id ${id}`);
    const slot = id % ID_SLOT_BITS;
    const gen = Math.floor(id / ID_SLOT_BITS);
    const t = slot < this.tcbs.length ? this.tcbs[slot] : null;
    if (t === null || t.state === TcpState.Free || t.gen !== gen) throw new TcpError('EBADF', `no connection ${id}`);
    return t;
  }

  /** Common initialisation of a connection's TCB. */
  private initConn(t: Tcb, local: IpAddr, lport: number, remote: IpAddr, rport: number, mtu: number): void {
    const lw = addrWords(local);
    const rw = addrWords(remote);
    t.family = familyOf(local);
    [t.localA0, t.localA1, t.localA2, t.localA3] = lw;
    [t.remoteA0, t.remoteA1, t.remoteA2, t.remoteA3] = rw;
    t.localPort = lport;
    t.remotePort = rport;
    t.cc = this.cfg.congestion === 'newreno' ? CcAlgo.NewReno : CcAlgo.Cubic;
    rttInit(t, this.rto);
    t.kaIdle = this.cfg.keepAliveIdle;
    t.kaIntvl = this.cfg.keepAliveInterval;
    t.kaCnt = this.cfg.keepAliveCount;
    t.userTimeout = this.cfg.userTimeout;
    t.rcvBufLimit = Math.min(t.rcv.capacity, this.cfg.rcvBufInitial);
    t.rcvWscale = this.cfg.windowScaling ? windowShiftFor(t.rcv.capacity) : 0;
    const ip = t.family === 4 ? 20 : 40;
    t.advMss = this.cfg.mtu - ip - 20;
    t.pathMtu = Math.min(this.cfg.mtu, mtu);
    t.peerMss = t.family === 4 ? 536 : 1220;
    t.mss = Math.min(t.peerMss, t.pathMtu - ip - 20);
    t.tsOffset = tsOffset(this.table.key, this.tuple(t));
    t.openedAt = this.now;
    t.lastRecv = this.now;
    this.touch(t);
  }

  private chooseIss(t: Tcb): number {
    if (this.cfg.iss) return this.cfg.iss(this.local(t), t.localPort, this.remote(t), t.remotePort) >>> 0;
    return initialSeq(this.table.key, this.tuple(t), this.now);
  }

  private setIss(t: Tcb, iss: number): void {
    t.iss = iss >>> 0;
    t.sndBase = seqAdd(seqAdd(iss, 1), -this.cfg.initialStreamPos);
    t.sndNxt = seqAdd(iss, 1);
    t.sndMax = t.sndNxt;
    t.recover = iss;
    t.highRxt = iss;
  }

  private setIrs(t: Tcb, irs: number): void {
    t.irs = irs >>> 0;
    t.rcvBase = seqAdd(seqAdd(irs, 1), -this.cfg.initialStreamPos);
    t.rcvAdv = seqAdd(irs, 1);
    t.lastAckSent = seqAdd(irs, 1);
  }

  /** Applies the peer's MSS option and the path MTU: Eff.snd.MSS before options.
   *  RFC 9293 §3.7.1: "If an MSS Option is not received at connection setup, TCP implementations
   *  MUST assume a default send MSS of 536 (576 - 40) for IPv4 or 1220 (1280 - 60) for IPv6". */
  private setPeerMss(t: Tcb, mss: number | null): void {
    if (mss !== null && mss > 0) t.peerMss = mss;
    t.mss = Math.max(64, Math.min(t.peerMss, t.pathMtu - this.ipHeaderLen(t) - 20));
  }

  // ======================================================================= input

  /** One TCP segment from IP. Returns the named outcome (also counted). */
  onSegment(seg: TcpSegmentIn, now: number = this.env.now()): SegmentOutcome {
    return this.run(now, () => {
      const o = this.segment(seg);
      this.count(o);
      return o;
    });
  }

  private segment(s: TcpSegmentIn): SegmentOutcome {
    const family = familyOf(s.src);
    if (familyOf(s.dst) !== family) return 'drop-format';
    if (this.cfg.verifyChecksum) {
      const ok = family === 4
        ? tcpVerifyV4(s.buf, s.off, s.len, s.src as number, s.dst as number)
        : tcpVerifyV6(s.buf, s.off, s.len, s.src as Uint8Array, s.dst as Uint8Array);
      if (!ok) return 'drop-checksum';
    }
    const p = parseTcp(s.buf, s.off, s.len);
    if (!p.ok) return 'drop-format';
    const h = p.value;
    const payLen = s.len - h.headerLen;
    const seg: Seg = {
      h, src: s.src, dst: s.dst, buf: s.buf, payOff: s.off + h.headerLen, payLen,
      segLen: payLen + (h.flags & TCP_SYN ? 1 : 0) + (h.flags & TCP_FIN ? 1 : 0),
    };
    let t = this.byTuple.get(tupleKey(s.dst, h.dstPort, s.src, h.srcPort));
    if (t !== undefined && t.state === TcpState.TimeWait && this.timeWaitReusable(t, seg)) {
      // RFC 9293 §3.10.7.4 (SYN in TIME-WAIT): "new connections can be accepted if the Timestamp
      // Option is used and meets expectations (per [RFC6191])"; without timestamps, RFC 1122
      // 4.2.2.13 allows it when the new SYN's sequence number is larger.
      this.finish(t, TcpErrorCode.None, false);
      t = undefined;
      this.count('time-wait-reused');
    }
    if (t === undefined) {
      const l = this.findListener(s.dst, h.dstPort);
      if (l !== null) return this.handleListen(l, seg);
      return this.handleNoConnection(seg);
    }
    t.segsIn++;
    const st = t.state as TcpState;
    let o: SegmentOutcome;
    switch (st) {
      case TcpState.Free:
      case TcpState.Closed:
      case TcpState.Listen:
        o = this.handleNoConnection(seg);
        break;
      case TcpState.SynSent:
        o = this.handleSynSent(t, seg);
        break;
      case TcpState.SynReceived:
      case TcpState.Established:
      case TcpState.FinWait1:
      case TcpState.FinWait2:
      case TcpState.CloseWait:
      case TcpState.Closing:
      case TcpState.LastAck:
      case TcpState.TimeWait:
        o = this.handleSynchronized(t, seg);
        break;
      default:
        return assertNever(st);
    }
    if (this.live.has(t) && t.state !== TcpState.Closed) this.output(t);
    return o;
  }

  private timeWaitReusable(t: Tcb, s: Seg): boolean {
    const f = s.h.flags;
    if ((f & (TCP_SYN | TCP_ACK | TCP_RST)) !== TCP_SYN) return false;
    if (hasFlag(t, TcbFlag.TS_OK) && s.h.tsVal !== null) return seqGt(s.h.tsVal, t.tsRecent);
    return seqGt(s.h.seq, rcvNxt(t));
  }

  private findListener(dst: IpAddr, port: number): Tcb | null {
    let wild: Tcb | null = null;
    for (const l of this.listeners) {
      if (l.localPort !== port) continue;
      if (l.family === 0) wild = l;
      else if (l.family === familyOf(dst) && addrEq(this.local(l), dst)) return l;
    }
    return wild;
  }

  // ---- CLOSED (no TCB)

  /** RFC 9293 §3.10.7.1: "An incoming segment not containing a RST causes a RST to be sent in
   *  response. ... If the ACK bit is off, sequence number zero is used,
   *  <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. If the ACK bit is on, <SEQ=SEG.ACK><CTL=RST>". */
  private handleNoConnection(s: Seg): SegmentOutcome {
    if (s.h.flags & TCP_RST) return 'drop-rst';
    this.sendRstFor(s);
    return 'rst-sent';
  }

  private sendRstFor(s: Seg): void {
    if (s.h.flags & TCP_ACK) this.rawSegment(s.dst, s.h.dstPort, s.src, s.h.srcPort, s.h.ack, 0, TCP_RST, 0, []);
    else this.rawSegment(s.dst, s.h.dstPort, s.src, s.h.srcPort, 0, seqAdd(s.h.seq, s.segLen), TCP_RST | TCP_ACK, 0, []);
  }

  // ---- LISTEN

  private handleListen(l: Tcb, s: Seg): SegmentOutcome {
    const h = s.h;
    // RFC 9293 §3.10.7.2: "First, check for a RST: An incoming RST segment could not be valid
    // since it could not have been sent in response to anything sent by this incarnation of the
    // connection. An incoming RST should be ignored."
    if (h.flags & TCP_RST) return 'drop-rst';
    if (h.flags & TCP_ACK) {
      if (!(h.flags & TCP_SYN) && this.cfg.synCookies) {
        const c = this.tryCookie(l, s);
        if (c !== null) return c;
      }
      // "Any acknowledgment is bad if it arrives on a connection still in the LISTEN state. An
      // acceptable reset segment should be formed for any arriving ACK-bearing segment. The RST
      // should be formatted as follows: <SEQ=SEG.ACK><CTL=RST>"
      this.sendRstFor(s);
      return 'rst-sent';
    }
    if (!(h.flags & TCP_SYN)) return 'drop-listen';
    let syn = 0;
    let acc = 0;
    for (const c of this.live) {
      if (c.parent !== l.slot || c.state === TcpState.Listen) continue;
      if (c.state === TcpState.SynReceived) syn++;
      else if (hasFlag(c, TcbFlag.ACCEPTABLE)) acc++;
    }
    if (acc >= l.backlog) return 'drop-accept-queue-full';
    if (syn >= l.synQueueMax) {
      if (this.cfg.synCookies) return this.sendCookie(l, s);
      return 'drop-syn-queue-full';
    }
    const t = this.allocate();
    if (t === null) return this.cfg.synCookies ? this.sendCookie(l, s) : 'drop-table-full';
    // "Set RCV.NXT to SEG.SEQ+1, IRS is set to SEG.SEQ, and any other control or text should be
    // queued for processing later. ISS should be selected and a SYN segment sent of the form:
    // <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>. SND.NXT is set to ISS+1 and SND.UNA to ISS. The
    // connection state should be changed to SYN-RECEIVED." (Data on a SYN is not queued: the
    // peer retransmits it; docs/tcp.md.)
    this.initConn(t, s.dst, h.dstPort, s.src, h.srcPort, this.pathMtuFor(s.src));
    t.parent = l.slot;
    t.flags |= TcbFlag.PASSIVE | (l.flags & TcbFlag.NODELAY);
    t.cc = l.cc;
    this.applyConnOptionsFrom(l, t);
    this.negotiate(t, h);
    this.setIrs(t, h.seq);
    this.setIss(t, this.chooseIss(t));
    this.index(t);
    this.transition(t, TcpState.SynReceived);
    this.sendSyn(t);
    t.rttTime = this.now;
    t.tRto = this.now + t.rto;
    return 'syn-ack-sent';
  }

  private applyConnOptionsFrom(l: Tcb, t: Tcb): void {
    t.kaIdle = l.kaIdle;
    t.kaIntvl = l.kaIntvl;
    t.kaCnt = l.kaCnt;
    t.userTimeout = l.userTimeout;
    t.flags |= l.flags & TcbFlag.KEEPALIVE;
  }

  /** Option negotiation from a SYN (passive) or SYN-ACK (active). */
  private negotiate(t: Tcb, h: TcpHeader): void {
    // RFC 7323 §2.2: "Window Scale option ... both sides MUST send Window Scale options in
    // their <SYN> segments to enable window scaling in either direction."
    const ws = this.cfg.windowScaling && h.windowScale !== null;
    setFlag(t, TcbFlag.WS_OK, ws);
    // RFC 7323 §2.3: "If a Window Scale option is received with a shift.cnt value larger than
    // 14, the TCP SHOULD log the error but MUST use 14 instead of the specified value."
    t.sndWscale = ws ? Math.min(14, h.windowScale!) : 0;
    if (!ws) t.rcvWscale = 0;
    // RFC 7323 §3.2: "Once TSopt has been successfully negotiated, that is both <SYN> and
    // <SYN,ACK> contain TSopt, the TSopt MUST be sent in every non-<RST> segment".
    const ts = this.cfg.timestamps && h.tsVal !== null;
    setFlag(t, TcbFlag.TS_OK, ts);
    if (ts) {
      t.tsRecent = h.tsVal!;
      t.tsRecentAge = this.now;
    }
    // RFC 2018 §2: SACK-permitted "may be sent in a SYN by a TCP that has been extended to
    // receive (and presumably process) the SACK option once the connection has opened."
    setFlag(t, TcbFlag.SACK_OK, this.cfg.sack && h.sackPermitted);
    this.setPeerMss(t, h.mss);
  }

  private pathMtuFor(remote: IpAddr): number {
    return this.pmtu.get(addrKey(remote)) ?? this.cfg.mtu;
  }

  // ---- SYN cookies (RFC 4987 §3.6)

  private cookieTuple(s: Seg): FourTuple {
    return {
      family: familyOf(s.dst), local: addrWords(s.dst), localPort: s.h.dstPort, remote: addrWords(s.src), remotePort: s.h.srcPort,
    };
  }

  private sendCookie(l: Tcb, s: Seg): SegmentOutcome {
    const h = s.h;
    const tup = this.cookieTuple(s);
    const family = familyOf(s.dst);
    const advMss = this.cfg.mtu - (family === 4 ? 20 : 40) - 20;
    const peerMss = h.mss ?? (family === 4 ? 536 : 1220);
    const idx = cookieMssIndex(Math.min(peerMss, advMss));
    const iss = makeCookie(this.table.key, tup, h.seq, this.now, idx);
    const opts: { mss: number; tsVal?: number; tsEcr?: number; windowScale?: number; sackPermitted?: boolean } = { mss: advMss };
    if (this.cfg.timestamps && h.tsVal !== null) {
      const wsOk = this.cfg.windowScaling && h.windowScale !== null;
      const bits = cookieTsBits(this.cfg.sack && h.sackPermitted, wsOk ? h.windowScale : null);
      const off = tsOffset(this.table.key, tup);
      opts.tsVal = (((Math.floor(this.now) + off) & ~0x1f) | bits) >>> 0;
      opts.tsEcr = h.tsVal;
      if (wsOk) opts.windowScale = windowShiftFor(this.table.recvCap);
      if (this.cfg.sack && h.sackPermitted) opts.sackPermitted = true;
    }
    const wnd = Math.min(0xffff, this.table.recvCap, this.cfg.rcvBufInitial);
    this.rawSegment(s.dst, h.dstPort, s.src, h.srcPort, iss, seqAdd(h.seq, 1), TCP_SYN | TCP_ACK, wnd, tcpOptions(opts));
    void l;
    return 'syn-cookie-sent';
  }

  private tryCookie(l: Tcb, s: Seg): SegmentOutcome | null {
    const h = s.h;
    const tup = this.cookieTuple(s);
    const iss = seqAdd(h.ack, -1);
    const irs = seqAdd(h.seq, -1);
    const idx = checkCookie(this.table.key, tup, irs, iss, this.now);
    if (idx < 0) return null;
    let acc = 0;
    for (const c of this.live) if (c.parent === l.slot && hasFlag(c, TcbFlag.ACCEPTABLE)) acc++;
    if (acc >= l.backlog) return 'drop-accept-queue-full';
    const t = this.allocate();
    if (t === null) return 'drop-table-full';
    this.initConn(t, s.dst, h.dstPort, s.src, h.srcPort, this.pathMtuFor(s.src));
    t.parent = l.slot;
    t.flags |= TcbFlag.PASSIVE | TcbFlag.COOKIE | (l.flags & TcbFlag.NODELAY);
    t.cc = l.cc;
    this.applyConnOptionsFrom(l, t);
    // Options come back in the echoed TSval (Linux's encoding; none without timestamps).
    if (this.cfg.timestamps && h.tsEcr !== null && h.tsVal !== null) {
      const d = cookieTsDecode(h.tsEcr);
      setFlag(t, TcbFlag.TS_OK, true);
      t.tsRecent = h.tsVal;
      t.tsRecentAge = this.now;
      setFlag(t, TcbFlag.SACK_OK, d.sackOk);
      setFlag(t, TcbFlag.WS_OK, d.peerWscale !== null);
      t.sndWscale = d.peerWscale ?? 0;
      if (d.peerWscale === null) t.rcvWscale = 0;
    } else {
      t.rcvWscale = 0;
      t.sndWscale = 0;
    }
    this.setPeerMss(t, COOKIE_MSS[idx]);
    this.setIrs(t, irs);
    this.setIss(t, iss);
    t.rcvAdv = seqAdd(t.rcvAdv, Math.min(0xffff, this.table.recvCap, this.cfg.rcvBufInitial));
    this.index(t);
    this.transition(t, TcpState.SynReceived);
    // The ACK completes the handshake: the usual SYN-RECEIVED processing establishes it.
    const o = this.handleSynchronized(t, s);
    if (this.live.has(t)) this.output(t);
    return o === 'accepted' ? 'syn-cookie-accepted' : o;
  }

  // ---- SYN-SENT

  private handleSynSent(t: Tcb, s: Seg): SegmentOutcome {
    const h = s.h;
    const f = h.flags;
    // RFC 9293 §3.10.7.3 "first check the ACK bit": "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send
    // a reset (unless the RST bit is set, if so drop the segment and return) <SEQ=SEG.ACK><CTL=RST>"
    let ackOk = false;
    if (f & TCP_ACK) {
      if (seqLe(h.ack, t.iss) || seqGt(h.ack, t.sndMax)) {
        if (f & TCP_RST) return 'drop-rst';
        this.sendRstFor(s);
        return 'rst-sent';
      }
      ackOk = true;
    }
    if (f & TCP_RST) {
      // RFC 5961 §3.2 / RFC 9293: "If the ACK was acceptable, then signal to the user "error:
      // connection reset", drop the segment, enter CLOSED state, delete TCB, and return.
      // Otherwise (no ACK), drop the segment and return."
      if (!ackOk) return 'drop-rst';
      this.finish(t, TcpErrorCode.ECONNREFUSED, false);
      return 'reset';
    }
    if (!(f & TCP_SYN)) return 'drop-no-ack';
    // "If the SYN bit is on ...: RCV.NXT is set to SEG.SEQ+1, IRS is set to SEG.SEQ. SND.UNA
    // should be advanced to equal SEG.ACK (if there is an ACK), and any segments on the
    // retransmission queue that are thereby acknowledged should be removed."
    this.negotiate(t, h);
    this.setIrs(t, h.seq);
    t.lastRecv = this.now;
    if (ackOk) {
      // "If SND.UNA > ISS (our SYN has been ACKed), change the connection state to ESTABLISHED,
      // form an ACK segment <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and send it."
      setFlag(t, TcbFlag.SYN_ACKED);
      this.handshakeRtt(t, h);
      t.sndWnd = h.window; // RFC 7323 §2.2: "The window field in a SYN (i.e., a <SYN> or
      // <SYN,ACK>) segment itself is never scaled."
      t.maxSndWnd = t.sndWnd;
      t.sndWl1 = h.seq;
      t.sndWl2 = h.ack;
      this.established(t);
      this.ackPending.add(t); // quick ACK on the handshake
      this.event(t, 'established');
      return 'accepted';
    }
    // "Otherwise, enter SYN-RECEIVED, form a SYN,ACK segment <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>
    // and send it." (simultaneous open)
    this.transition(t, TcpState.SynReceived);
    this.sendSyn(t);
    t.tRto = this.now + t.rto;
    return 'syn-ack-sent';
  }

  /** RTT sample from the handshake: the echoed timestamp, else the SYN's send time if it was
   *  not retransmitted (Karn). RFC 6298 5.7 applies when the SYN was retransmitted. */
  private handshakeRtt(t: Tcb, h: TcpHeader): void {
    if (hasFlag(t, TcbFlag.TS_OK) && h.tsEcr !== null && h.tsEcr !== 0 && !hasFlag(t, TcbFlag.COOKIE)) {
      const r = (this.tsNow(t) - h.tsEcr) >>> 0;
      if (r < 0x7fffffff) rttSample(t, r, this.rto);
    } else if (t.rttTime > 0 && !hasFlag(t, TcbFlag.SYN_RTX)) {
      rttSample(t, this.now - t.rttTime, this.rto);
    }
    t.rttTime = 0;
    t.backoff = 0;
    // RFC 6298 5.7: "If the timer expires awaiting the ACK of a SYN segment and the TCP
    // implementation is using an RTO less than 3 seconds, the RTO MUST be re-initialized to 3
    // seconds when data transmission begins (i.e., after the three-way handshake completes)."
    if (hasFlag(t, TcbFlag.SYN_RTX) && t.srtt === 0) t.rto = Math.max(t.rto, 3000);
    else if (t.srtt > 0) t.rto = clampRto(t.srtt + Math.max(1, 4 * t.rttvar), this.rto);
    else t.rto = this.rto.initial;
    t.tRto = 0;
  }

  /** Entering ESTABLISHED (or FIN-WAIT-1 when a FIN was queued before the handshake ended). */
  private established(t: Tcb): void {
    ccByAlgo(t.cc).init(t, this.now, this.cfg.initialWindow);
    t.recover = sndUna(t);
    t.highRxt = t.recover;
    if (hasFlag(t, TcbFlag.KEEPALIVE)) t.tKeepalive = this.now + t.kaIdle;
    this.transition(t, hasFlag(t, TcbFlag.FIN_QUEUED) ? TcpState.FinWait1 : TcpState.Established);
    t.rcvSpaceTime = 0;
  }

  // ---- synchronized states (and SYN-RECEIVED)

  /** RFC 9293 §3.10.7.4 "Other states", steps one to eight. */
  private handleSynchronized(t: Tcb, s: Seg): SegmentOutcome {
    const h = s.h;
    const f = h.flags;
    const st0 = t.state as TcpState;
    // A retransmitted SYN in SYN-RECEIVED: our SYN,ACK was lost; send it again.
    if (st0 === TcpState.SynReceived && (f & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_SYN && h.seq === t.irs) {
      this.sendSyn(t);
      return 'syn-ack-sent';
    }
    const nxt = rcvNxt(t);
    const wnd = this.acceptWindow(t);
    // RFC 7323 §3.2: "If a non-<RST> segment is received without a TSopt, a TCP SHOULD silently
    // drop the segment."
    if (hasFlag(t, TcbFlag.TS_OK) && !(f & TCP_RST) && h.tsVal === null) return 'drop-no-timestamp';
    // RFC 7323 §5.3 R1: "If there is a Timestamps option in an arriving segment, SEG.TSval <
    // TS.Recent, TS.Recent is valid (see later discussion), and if the RST bit is not set, then
    // treat the arriving segment as not acceptable: Send an acknowledgment in reply as specified
    // in Section 3.10.7.4 of [RFC9293] and drop the segment."
    if (hasFlag(t, TcbFlag.TS_OK) && !(f & TCP_RST) && h.tsVal !== null && seqLt(h.tsVal, t.tsRecent)
      && this.now - t.tsRecentAge < PAWS_IDLE_MS) {
      this.ackPending.add(t);
      return 'drop-paws';
    }
    // First, check sequence number. RFC 9293 §3.10.7.4: the four acceptability cases
    //   0 / 0: SEG.SEQ = RCV.NXT;  0 / >0: RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND;  >0 / 0: not
    //   acceptable;  >0 / >0: either end of the segment in the window.
    let acceptable: boolean;
    if (s.segLen === 0) acceptable = wnd === 0 ? h.seq === nxt : inWindow(h.seq, nxt, wnd);
    else acceptable = wnd === 0 ? false : inWindow(h.seq, nxt, wnd) || inWindow(seqAdd(h.seq, s.segLen - 1), nxt, wnd);
    if (!acceptable) {
      // "If an incoming segment is not acceptable, an acknowledgment should be sent in reply
      // (unless the RST bit is set, if so drop the segment and return)"
      if (f & TCP_RST) return 'drop-out-of-window';
      // TIME-WAIT: "The only thing that can arrive in this state is a retransmission of the
      // remote FIN. Acknowledge it, and restart the 2 MSL timeout."
      if (st0 === TcpState.TimeWait && f & TCP_FIN) t.tTimewait = this.now + 2 * this.cfg.msl;
      this.ackPending.add(t);
      this.touch(t);
      return 'drop-out-of-window';
    }
    t.lastRecv = this.now;
    t.kaProbes = 0;
    if (hasFlag(t, TcbFlag.KEEPALIVE) && synchronized(st0)) t.tKeepalive = this.now + t.kaIdle;
    this.touch(t);
    // RFC 7323 §4.3 (2): "If SEG.TSval >= TS.Recent and SEG.SEQ =< Last.ACK.sent then SEG.TSval
    // is copied to TS.Recent; otherwise, it is ignored."
    if (hasFlag(t, TcbFlag.TS_OK) && h.tsVal !== null && seqGe(h.tsVal, t.tsRecent) && seqLe(h.seq, t.lastAckSent)) {
      t.tsRecent = h.tsVal;
      t.tsRecentAge = this.now;
    }
    // Second, check the RST bit. RFC 5961 §3.2: "1) If the RST bit is set and the sequence number
    // is outside the current receive window, silently drop the segment. 2) If the RST bit is set
    // and the sequence number exactly matches the next expected sequence number (RCV.NXT), then
    // TCP MUST reset the connection. 3) If the RST bit is set and the sequence number does not
    // exactly match the next expected sequence value, yet is within the current receive window,
    // TCP MUST send an acknowledgment (challenge ACK)".
    if (f & TCP_RST) {
      if (h.seq !== nxt) return this.challengeAck(t);
      return this.onReset(t);
    }
    // Fourth, check the SYN bit.
    if (f & TCP_SYN) {
      // RFC 9293: "If the SYN bit is set in these synchronized states ... For all other cases,
      // RFC 5961 SHOULD be followed" -- RFC 5961 §4.2: "If the SYN bit is set, irrespective of the
      // sequence number, TCP MUST send an ACK (also referred to as challenge ACK) to the remote
      // peer". In SYN-RECEIVED of a passive open: "return this connection to the LISTEN state".
      if (st0 === TcpState.SynReceived && hasFlag(t, TcbFlag.PASSIVE)) {
        this.finish(t, TcpErrorCode.None, false);
        return 'reset';
      }
      return this.challengeAck(t);
    }
    // Fifth, check the ACK field: "if the ACK bit is off, drop the segment and return".
    if (!(f & TCP_ACK)) return 'drop-no-ack';
    if (st0 === TcpState.SynReceived) {
      // "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED state and continue processing
      // ... If the segment acknowledgment is not acceptable, form a reset segment
      // <SEQ=SEG.ACK><CTL=RST> and send it."
      if (!(seqLt(t.iss, h.ack) && seqLe(h.ack, seqAdd(t.iss, 1)))) {
        this.sendRstFor(s);
        return 'rst-sent';
      }
      if (hasFlag(t, TcbFlag.PASSIVE) && !this.acceptQueueRoom(t)) {
        // Linux's behaviour: keep SYN-RECEIVED; the client retransmits.
        return 'drop-accept-queue-full';
      }
      setFlag(t, TcbFlag.SYN_ACKED);
      this.handshakeRtt(t, h);
      t.sndWnd = h.window * Math.pow(2, t.sndWscale);
      t.maxSndWnd = t.sndWnd;
      t.sndWl1 = h.seq;
      t.sndWl2 = h.ack;
      this.established(t);
      if (hasFlag(t, TcbFlag.PASSIVE)) {
        setFlag(t, TcbFlag.ACCEPTABLE);
        t.acceptOrder = this.table.nextAcceptOrder();
        const l = this.tcbs[t.parent];
        if (l) this.event(l, 'connection');
      } else {
        this.event(t, 'established');
      }
    }
    const a = this.processAck(t, s);
    if (a !== null) return a;
    if (!this.live.has(t)) return 'accepted';
    // Sixth, check the URG bit: ignored (urgent data is delivered in line; docs/tcp.md).
    // Seventh, process the segment text.
    const st = t.state as TcpState;
    if (s.payLen > 0) {
      switch (st) {
        case TcpState.Established:
        case TcpState.FinWait1:
        case TcpState.FinWait2:
          if (hasFlag(t, TcbFlag.USER_CLOSED)) {
            // RFC 9293 §3.10.4 / RFC 1122 4.2.2.13: "If such a host issues a CLOSE call while
            // received data is still pending in TCP, or if new data is received after CLOSE is
            // called, its TCP SHOULD send a RST to show that data was lost."
            this.sendRst(t);
            this.finish(t, TcpErrorCode.ECONNABORTED, false);
            return 'reset';
          }
          this.receiveText(t, s);
          break;
        case TcpState.SynReceived:
        case TcpState.CloseWait:
        case TcpState.Closing:
        case TcpState.LastAck:
        case TcpState.TimeWait:
        case TcpState.Free:
        case TcpState.Closed:
        case TcpState.Listen:
        case TcpState.SynSent:
          // "This should not occur since a FIN has been received from the remote side. Ignore
          // the segment text."
          break;
        default:
          assertNever(st);
      }
    }
    // Eighth, check the FIN bit.
    if (f & TCP_FIN) {
      const finAt = seqAdd(h.seq, s.payLen);
      const n = rcvNxt(t);
      if (finAt === n && !hasFlag(t, TcbFlag.FIN_RCVD)) this.processFin(t);
      else if (seqGt(finAt, n) && !hasFlag(t, TcbFlag.FIN_RCVD)) {
        setFlag(t, TcbFlag.FIN_PENDING);
        t.finSeq = finAt;
        this.ackPending.add(t);
      } else {
        // A retransmitted FIN.
        if (t.state === TcpState.TimeWait) t.tTimewait = this.now + 2 * this.cfg.msl;
        this.ackPending.add(t);
      }
    }
    return 'accepted';
  }

  private acceptQueueRoom(t: Tcb): boolean {
    const l = t.parent >= 0 ? this.tcbs[t.parent] : null;
    if (!l || l.state !== TcpState.Listen) return true;
    let acc = 0;
    for (const c of this.live) if (c.parent === l.slot && hasFlag(c, TcbFlag.ACCEPTABLE)) acc++;
    return acc < l.backlog;
  }

  /** RCV.WND for the acceptability test. A reattached core also takes what fits in the stream,
   *  since its predecessor may have advertised more than it committed. */
  private acceptWindow(t: Tcb): number {
    const nxt = rcvNxt(t);
    let w = Math.max(0, seqSub(t.rcvAdv, nxt));
    if (t.recovered) w = Math.max(w, t.rcv.free());
    return w;
  }

  /** RFC 5961 §7: "An implementation SHOULD include an ACK throttling mechanism". */
  private challengeAck(t: Tcb): SegmentOutcome {
    if (this.now - this.challengeWindowStart >= 1000) {
      this.challengeWindowStart = this.now;
      this.challengeCount = 0;
    }
    if (this.challengeCount < this.cfg.challengeAckLimit) {
      this.challengeCount++;
      this.ackPending.add(t);
    }
    return 'challenge-ack';
  }

  /** A RST with SEG.SEQ = RCV.NXT, per state (RFC 9293 §3.10.7.4 second). */
  private onReset(t: Tcb): SegmentOutcome {
    const st = t.state as TcpState;
    switch (st) {
      case TcpState.SynReceived:
        // "If this connection was initiated with a passive OPEN (i.e., came from the LISTEN
        // state), then return this connection to LISTEN state and return. ... If this connection
        // was initiated with an active OPEN (i.e., came from SYN-SENT state), then the connection
        // was refused; signal the user "connection refused"."
        this.finish(t, hasFlag(t, TcbFlag.PASSIVE) ? TcpErrorCode.None : TcpErrorCode.ECONNREFUSED, false);
        return 'reset';
      case TcpState.Established:
      case TcpState.FinWait1:
      case TcpState.FinWait2:
      case TcpState.CloseWait:
        // "any outstanding RECEIVEs and SEND should receive "reset" responses. ... Users should
        // also receive an unsolicited general "connection reset" signal. Enter the CLOSED state,
        // delete the TCB, and return."
        this.finish(t, TcpErrorCode.ECONNRESET, false);
        return 'reset';
      case TcpState.Closing:
      case TcpState.LastAck:
        // "If the RST bit is set, then enter the CLOSED state, delete the TCB, and return."
        this.finish(t, TcpErrorCode.None, false);
        return 'reset';
      case TcpState.TimeWait:
        // RFC 1337 §4 (TIME-WAIT Assassination), fix (TW2): "Ignore RST segments in TIME-WAIT
        // state. If the 2 MSL timeout has not expired, the host cannot be sure that the
        // connection has not been reopened", as Linux with net.ipv4.tcp_rfc1337=1. RFC 9293
        // §3.10.7.4 still says to close; we deliberately follow RFC 1337 (docs/tcp.md).
        this.count('time-wait-rst-ignored');
        return 'drop-rst';
      case TcpState.Free:
      case TcpState.Closed:
      case TcpState.Listen:
      case TcpState.SynSent:
        return 'drop-rst';
      default:
        return assertNever(st);
    }
  }

  /** The ACK field in the synchronized states (RFC 9293 §3.10.7.4 fifth, RFC 5961 §5, loss
   *  recovery, RTT, congestion control, window update). Returns an outcome to stop processing,
   *  or null to continue. */
  private processAck(t: Tcb, s: Seg): SegmentOutcome | null {
    const h = s.h;
    const ack = h.ack;
    const una = sndUna(t);
    const end = sndEnd(t);
    const finQ = hasFlag(t, TcbFlag.FIN_QUEUED);
    const limit = t.recovered ? seqMax(t.sndMax, seqAdd(end, finQ ? 1 : 0)) : t.sndMax;
    // RFC 9293: "If the ACK acks something not yet sent (SEG.ACK > SND.NXT), then send an ACK,
    // drop the segment, and return."
    if (seqGt(ack, limit)) {
      this.ackPending.add(t);
      return 'drop-bad-ack';
    }
    // RFC 5961 §5.2: "the ACK value is considered acceptable only if it is in the range of
    // ((SND.UNA - MAX.SND.WND) =< SEG.ACK =< SND.NXT). All incoming segments whose ACK value
    // doesn't satisfy the above condition MUST be discarded and an ACK sent back."
    if (seqLt(ack, seqAdd(una, -Math.max(t.maxSndWnd, 1)))) {
      this.challengeAck(t);
      return 'drop-bad-ack';
    }
    if (seqGt(ack, t.sndMax)) t.sndMax = ack; // only for a reattached core (limit above)
    const sackOk = hasFlag(t, TcbFlag.SACK_OK);
    const newlySacked = sackOk && h.sack.length > 0 ? sackUpdate(t, h.sack, una, t.sndMax) : 0;
    const cc = ccByAlgo(t.cc);
    const scaledWnd = h.window * Math.pow(2, t.sndWscale);
    if (seqGt(ack, una)) {
      // "If SND.UNA < SEG.ACK =< SND.NXT, then set SND.UNA <- SEG.ACK. Any segments on the
      // retransmission queue that are thereby entirely acknowledged are removed."
      // Here the removal is the stream's TAIL moving: the commit point of the acknowledgment.
      const acked = seqSub(ack, una);
      // (FIN_QUEUED rather than FIN_SENT: a reattached core may not know its predecessor sent it.)
      const finAcked = finQ && !hasFlag(t, TcbFlag.FIN_ACKED) && ack === seqAdd(end, 1);
      if (finAcked) setFlag(t, TcbFlag.FIN_SENT);
      const dataAcked = Math.min(finAcked ? acked - 1 : acked, t.snd.used());
      const usedBefore = t.snd.used();
      t.snd.release((t.snd.tail() + dataAcked) >>> 0);
      if (finAcked) setFlag(t, TcbFlag.FIN_ACKED);
      if (seqLt(t.sndNxt, ack)) t.sndNxt = ack;
      // RTT: RFC 7323 §4.1 (RTTM with the echoed timestamp) or one timed segment (Karn).
      if (hasFlag(t, TcbFlag.TS_OK) && h.tsEcr !== null && h.tsEcr !== 0) {
        const r = (this.tsNow(t) - h.tsEcr) >>> 0;
        if (r < 0x7fffffff) rttSample(t, r, this.rto);
        t.rttTime = 0;
      } else if (t.rttTime > 0 && seqGe(ack, t.rttSeq)) {
        rttSample(t, this.now - t.rttTime, this.rto);
        t.rttTime = 0;
      }
      t.backoff = 0;
      if (t.srtt > 0) t.rto = clampRto(t.srtt + Math.max(1, 4 * t.rttvar), this.rto);
      // RFC 6298 5.2: "When all outstanding data has been acknowledged, turn off the
      // retransmission timer." 5.3: "When an ACK is received that acknowledges new data, restart
      // the retransmission timer so that it will expire after RTO seconds".
      if (seqGe(ack, t.sndMax)) {
        t.tRto = 0;
        t.unackedSince = 0;
      } else {
        t.tRto = this.now + t.rto;
        t.unackedSince = this.now;
      }
      trimBelow(t.sackList, ack);
      if (hasFlag(t, TcbFlag.IN_RECOVERY)) {
        if (seqGe(ack, t.recover)) {
          // RFC 6582 step 3 (full ACK): "Set cwnd to either (1) min (ssthresh, max(FlightSize,
          // SMSS) + SMSS) or (2) ssthresh". We use (1).
          const flight = seqSub(t.sndMax, ack);
          t.cwnd = Math.min(t.ssthresh, Math.max(flight, t.mss) + t.mss);
          setFlag(t, TcbFlag.IN_RECOVERY, false);
          cc.onRecoveryExit(t, this.now);
          this.count('recovery-exit');
        } else if (!sackOk) {
          // RFC 6582 step 3 (partial ACK): "retransmit the first unacknowledged segment ...
          // deflate the congestion window by the amount of new data acknowledged by the
          // Cumulative Acknowledgment field. If the partial ACK acknowledges at least one SMSS of
          // new data, then add back SMSS bytes to the congestion window. ... reset the
          // retransmit timer" (on every partial ACK: the Slow-but-Steady variant).
          this.retransmitAt(t, ack, t.mss);
          t.cwnd = Math.max(t.mss, t.cwnd - acked + (acked >= t.mss ? t.mss : 0));
          t.tRto = this.now + t.rto;
        }
      } else {
        cc.onAck(t, dataAcked, this.now);
      }
      t.dupAcks = 0;
      // The app fills the send stream concurrently: usedBefore was read before the release and
      // may miss its latest HEAD. Re-reading HEAD after the release (a store-then-load, paired
      // with the app's publish-then-recheck) guarantees that an app which found the stream full
      // is told when room frees up.
      if (dataAcked > 0 && (usedBefore >= t.snd.capacity / 2 || t.snd.used() + dataAcked >= t.snd.capacity / 2)) this.event(t, 'writable');
    } else if (ack === una) {
      // RFC 5681 §2 DUPLICATE ACKNOWLEDGMENT: "(a) the receiver of the ACK has outstanding data,
      // (b) the incoming acknowledgment carries no data, (c) the SYN and FIN bits are both off,
      // (d) the acknowledgment number is equal to the greatest acknowledgment received on the
      // given connection (TCP.UNA) and (e) the advertised window in the incoming acknowledgment
      // equals the advertised window in the last incoming acknowledgment." With SACK, an ACK
      // carrying new SACK information counts too (RFC 6675 §5).
      // (A zero window is excluded: the replies to zero-window probes are not loss signals.)
      const dup = s.payLen === 0 && !(h.flags & (TCP_SYN | TCP_FIN)) && seqGt(t.sndMax, una) && scaledWnd > 0
        && (scaledWnd === t.sndWnd || newlySacked > 0);
      if (dup) {
        t.dupAcks++;
        if (hasFlag(t, TcbFlag.IN_RECOVERY)) {
          // RFC 5681 §3.2 step 4: "For each additional duplicate ACK received (after the third),
          // cwnd MUST be incremented by SMSS." (NewReno only; SACK recovery uses pipe.)
          if (!sackOk) t.cwnd += t.mss;
        } else {
          const lost = sackOk && seqGt(lostBelow(t, una), una);
          // RFC 6582 step 2: "If the Cumulative Acknowledgment field didn't cover more than
          // recover ... do not enter the Fast Retransmit and Fast Recovery procedure".
          if ((t.dupAcks >= DUP_THRESH || lost) && seqGe(una, t.recover)) this.enterRecovery(t);
        }
      }
    }
    // "If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be updated. If (SND.WL1 < SEG.SEQ
    // or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK)), set SND.WND <- SEG.WND, set SND.WL1 <-
    // SEG.SEQ, and set SND.WL2 <- SEG.ACK."
    if (seqGe(ack, una) && (seqLt(t.sndWl1, h.seq) || (t.sndWl1 === h.seq && seqLe(t.sndWl2, ack)))) {
      t.sndWnd = scaledWnd;
      t.sndWl1 = h.seq;
      t.sndWl2 = ack;
      if (t.sndWnd > t.maxSndWnd) t.maxSndWnd = t.sndWnd;
      if (t.sndWnd > 0 && t.tPersist !== 0) {
        t.tPersist = 0;
        t.persistBackoff = 0;
      }
    }
    // State-specific ACK processing.
    const st = t.state as TcpState;
    switch (st) {
      case TcpState.FinWait1:
        // "In addition to the processing for the ESTABLISHED state, if the FIN segment is now
        // acknowledged, then enter FIN-WAIT-2 and continue processing in that state."
        if (hasFlag(t, TcbFlag.FIN_ACKED)) {
          this.transition(t, TcpState.FinWait2);
          if (hasFlag(t, TcbFlag.USER_CLOSED)) t.tTimewait = this.now + this.cfg.finWait2Timeout;
        }
        break;
      case TcpState.Closing:
        // "if the ACK acknowledges our FIN, then enter the TIME-WAIT state; otherwise, ignore
        // the segment."
        if (hasFlag(t, TcbFlag.FIN_ACKED)) this.enterTimeWait(t);
        break;
      case TcpState.LastAck:
        // "The only thing that can arrive in this state is an acknowledgment of our FIN. If our
        // FIN is now acknowledged, delete the TCB, enter the CLOSED state, and return."
        if (hasFlag(t, TcbFlag.FIN_ACKED)) {
          this.finish(t, TcpErrorCode.None, true);
          return 'accepted';
        }
        break;
      case TcpState.Established:
      case TcpState.FinWait2:
      case TcpState.CloseWait:
      case TcpState.TimeWait:
      case TcpState.SynReceived:
      case TcpState.Free:
      case TcpState.Closed:
      case TcpState.Listen:
      case TcpState.SynSent:
        break;
      default:
        assertNever(st);
    }
    return null;
  }

  /** Fast retransmit: enter NewReno (RFC 6582) or SACK-based (RFC 6675) loss recovery. */
  private enterRecovery(t: Tcb): void {
    const una = sndUna(t);
    const flight = seqSub(t.sndMax, una);
    const cc = ccByAlgo(t.cc);
    cc.onCongestion(t, flight, this.now);
    t.recover = t.sndMax;
    setFlag(t, TcbFlag.IN_RECOVERY);
    t.rttTime = 0;
    this.count('fast-retransmit');
    if (hasFlag(t, TcbFlag.SACK_OK)) {
      // RFC 6675 §5 (4.2): "cwnd = ssthresh"; (4.3): "Retransmit the first data segment presumed
      // dropped -- the segment starting with sequence number HighACK + 1."
      t.cwnd = t.ssthresh;
      const n = this.retransmitAt(t, una, t.mss);
      t.highRxt = seqAdd(una, Math.max(n, 1));
    } else {
      // RFC 5681 §3.2 step 2-3: "The lost segment starting at SND.UNA MUST be retransmitted and
      // cwnd set to ssthresh plus 3*SMSS."
      this.retransmitAt(t, una, t.mss);
      t.cwnd = t.ssthresh + 3 * t.mss;
    }
  }

  private receiveText(t: Tcb, s: Seg): void {
    const edge = seqAdd(rcvNxt(t), this.acceptWindow(t));
    const r = reassemble(t, s.h.seq, s.buf, s.payOff, s.payLen, edge);
    this.count(`rx-${r.outcome}`);
    switch (r.outcome) {
      case 'in-order':
        // RFC 9293 §3.8.6.3 / RFC 1122 4.2.3.2: "an ACK SHOULD be generated for at least every
        // second full-sized segment, and MUST be generated within 500 ms of the arrival of the
        // first unacknowledged packet" (we delay by at most delayedAckMs).
        t.unackedSegs++;
        if (t.unackedSegs >= 2) this.ackPending.add(t);
        else if (t.tDelack === 0) t.tDelack = this.now + this.cfg.delayedAckMs;
        break;
      case 'filled-gap':
      case 'out-of-order':
      case 'duplicate':
      case 'no-room':
        // RFC 5681 §4.2: "A TCP receiver SHOULD send an immediate duplicate ACK when an
        // out-of-order segment arrives. ... a TCP receiver SHOULD send an immediate ACK when the
        // incoming segment fills in all or part of a gap in the sequence space."
        this.ackPending.add(t);
        break;
      default:
        assertNever(r.outcome);
    }
    if (r.advanced > 0) {
      autotune(t, this.now);
      this.event(t, 'readable');
      if (hasFlag(t, TcbFlag.FIN_PENDING) && t.finSeq === rcvNxt(t)) this.processFin(t);
    }
  }

  /** The peer's FIN reached RCV.NXT (RFC 9293 §3.10.7.4 eighth). */
  private processFin(t: Tcb): void {
    setFlag(t, TcbFlag.FIN_PENDING, false);
    setFlag(t, TcbFlag.FIN_RCVD);
    this.ackPending.add(t);
    this.event(t, 'peer-closed');
    const st = t.state as TcpState;
    switch (st) {
      case TcpState.SynReceived:
      case TcpState.Established:
        // "SYN-RECEIVED STATE, ESTABLISHED STATE: Enter the CLOSE-WAIT state."
        this.transition(t, TcpState.CloseWait);
        break;
      case TcpState.FinWait1:
        // "If our FIN has been ACKed (perhaps in this segment), then enter TIME-WAIT, start the
        // time-wait timer, turn off the other timers; otherwise, enter the CLOSING state."
        if (hasFlag(t, TcbFlag.FIN_ACKED)) this.enterTimeWait(t);
        else this.transition(t, TcpState.Closing);
        break;
      case TcpState.FinWait2:
        // "Enter the TIME-WAIT state. Start the time-wait timer, turn off the other timers."
        this.enterTimeWait(t);
        break;
      case TcpState.CloseWait:
      case TcpState.Closing:
      case TcpState.LastAck:
        break;
      case TcpState.TimeWait:
        t.tTimewait = this.now + 2 * this.cfg.msl;
        break;
      case TcpState.Free:
      case TcpState.Closed:
      case TcpState.Listen:
      case TcpState.SynSent:
        break;
      default:
        assertNever(st);
    }
  }

  private enterTimeWait(t: Tcb): void {
    this.transition(t, TcpState.TimeWait);
    t.tTimewait = this.now + 2 * this.cfg.msl;
    t.tRto = 0;
    t.tPersist = 0;
    t.tKeepalive = 0;
    t.tDelack = 0;
  }

  /** The connection is over. A connection the user still owns stays as CLOSED (with its
   *  error) until close(); otherwise the slot is freed. */
  private finish(t: Tcb, err: TcpErrorCode, graceful: boolean): void {
    const passiveUnaccepted = hasFlag(t, TcbFlag.PASSIVE) && !hasFlag(t, TcbFlag.ACCEPTED);
    if (err !== TcpErrorCode.None && !passiveUnaccepted) {
      const name = ERR_NAMES[err];
      this.event(t, err === TcpErrorCode.ETIMEDOUT ? 'timeout' : 'reset', name);
    }
    if (!passiveUnaccepted) this.event(t, 'closed');
    void graceful;
    if (hasFlag(t, TcbFlag.USER_CLOSED) || passiveUnaccepted) {
      this.free(t);
      return;
    }
    t.error = err;
    this.unindex(t);
    this.ackPending.delete(t);
    t.tRto = t.tDelack = t.tPersist = t.tKeepalive = t.tTimewait = 0;
    this.transition(t, TcpState.Closed);
  }

  // ======================================================================= output

  /** Sends what the state allows: SACK retransmissions, new data or go-back-N retransmissions,
   *  the FIN, and a pure ACK if one is owed and nothing else carried it. */
  private output(t: Tcb): void {
    if (!this.live.has(t)) {
      this.ackPending.delete(t);
      return;
    }
    const st = t.state as TcpState;
    let canData: boolean;
    switch (st) {
      case TcpState.Established:
      case TcpState.CloseWait:
      case TcpState.FinWait1:
      case TcpState.Closing:
      case TcpState.LastAck:
        canData = true;
        break;
      case TcpState.SynReceived:
      case TcpState.FinWait2:
      case TcpState.TimeWait:
        canData = false;
        break;
      case TcpState.Free:
      case TcpState.Closed:
      case TcpState.Listen:
      case TcpState.SynSent:
        this.ackPending.delete(t);
        return;
      default:
        return assertNever(st);
    }
    if (canData) this.sendData(t);
    if (this.ackPending.has(t)) this.xmit(t, this.pureAckSeq(t), 0, TCP_ACK, false);
  }

  /** SEG.SEQ of a pure ACK. After a timeout SND.NXT is pulled back to SND.UNA for go-back-N, so it
   *  can lie below the peer's RCV.NXT; a zero-length segment is acceptable only if "RCV.NXT =<
   *  SEG.SEQ < RCV.NXT+RCV.WND" (RFC 9293 §3.10.7.4), so an ACK carrying SEQ=SND.NXT would be
   *  dropped unread by a peer that already has those bytes, and when both ends are in go-back-N
   *  each drops the other's ACKs until the retry limit (bug: ETIMEDOUT under heavy loss). Like
   *  BSD (tcp_output: "ti_seq = snd_max" for segments with no data, SYN or FIN) and Linux
   *  (tcp_acceptable_seq), a pure ACK carries the highest sequence number sent, SND.MAX; while a
   *  zero-window probe is pending, SND.NXT (the probe's byte is beyond the peer's window). */
  private pureAckSeq(t: Tcb): number {
    return t.tPersist !== 0 ? t.sndNxt : t.sndMax;
  }

  private sendData(t: Tcb): void {
    const una = sndUna(t);
    const end = sndEnd(t);
    const finWanted = hasFlag(t, TcbFlag.FIN_QUEUED) && !hasFlag(t, TcbFlag.FIN_ACKED);
    const sackRec = hasFlag(t, TcbFlag.IN_RECOVERY) && hasFlag(t, TcbFlag.SACK_OK);
    const optLen = this.dataOptionsLen(t);
    const maxPayload = Math.max(1, t.mss - optLen);
    let guard = 0;
    // RFC 6675 NextSeg() rule (1): lost holes first, while "cwnd - pipe >= 1 SMSS".
    if (sackRec) {
      while (guard++ < 1000) {
        const lost = lostBelow(t, una);
        const p = pipe(t, una, t.sndMax, lost, t.highRxt);
        if (t.cwnd - p < t.mss) return;
        const hole = nextLostHole(t, seqMax(t.highRxt, una), lost, maxPayload);
        if (hole === null) break;
        const n = this.retransmitAt(t, hole[0], hole[1]);
        if (n <= 0) break;
        t.highRxt = seqAdd(hole[0], n);
      }
    }
    let sent = false;
    while (guard++ < 100000) {
      const nxt = t.sndNxt;
      const avail = seqSub(end, nxt);
      const inflight = sackRec ? pipe(t, una, t.sndMax, lostBelow(t, una), t.highRxt) : seqSub(nxt, una);
      const room: SendRoom = {
        avail,
        maxPayload,
        wndRoom: seqSub(seqAdd(una, t.sndWnd), nxt),
        cwndRoom: t.cwnd - inflight,
      };
      const len = segmentLength(room);
      const retransmit = seqLt(nxt, t.sndMax);
      const fin = finWanted && avail >= 0 && len === avail && (room.cwndRoom > 0 || len === 0) && !seqGt(nxt, end);
      if (len === 0 && !fin) break;
      if (len > 0 && !sendAllowed(len, room, seqSub(nxt, una), hasFlag(t, TcbFlag.NODELAY), t.maxSndWnd, retransmit || fin)) break;
      if (fin && len === 0 && hasFlag(t, TcbFlag.FIN_SENT) && !retransmit) break; // FIN already out
      const n = this.xmit(t, nxt, len, TCP_ACK | (fin ? TCP_FIN : 0) | (len > 0 && len === avail ? TCP_PSH : 0), retransmit);
      const adv = n + (fin ? 1 : 0);
      if (!retransmit && !hasFlag(t, TcbFlag.TS_OK) && t.rttTime === 0 && n > 0) {
        t.rttSeq = seqAdd(nxt, n);
        t.rttTime = this.now;
      }
      t.sndNxt = seqAdd(nxt, adv);
      if (seqGt(t.sndNxt, t.sndMax)) t.sndMax = t.sndNxt;
      if (fin) setFlag(t, TcbFlag.FIN_SENT);
      // RFC 6298 5.1: "Every time a packet containing data is sent (including a retransmission),
      // if the timer is not running, start it running so that it will expire after RTO seconds"
      if (t.tRto === 0) t.tRto = this.now + t.rto;
      if (t.unackedSince === 0) t.unackedSince = this.now;
      sent = true;
      if (fin) break;
    }
    // Persist: data waits, nothing is in flight, and the window (or SWS) keeps it back.
    const avail = seqSub(end, t.sndNxt);
    if (!sent && avail > 0 && seqSub(t.sndNxt, una) === 0 && t.tPersist === 0 && t.tRto === 0) {
      t.tPersist = this.now + persistInterval(t.rto, t.persistBackoff, this.rto.min, this.rto.max);
      this.touch(t);
    }
  }

  private dataOptionsLen(t: Tcb): number {
    let n = 0;
    if (hasFlag(t, TcbFlag.TS_OK)) n += 12;
    if (hasFlag(t, TcbFlag.SACK_OK) && t.oooList.length > 0) n += 4 + 8 * Math.min(t.oooList.length / 2, hasFlag(t, TcbFlag.TS_OK) ? 3 : 4);
    return n;
  }

  /** Retransmits up to `max` bytes at `seq` (with the FIN if it was sent and this reaches it).
   *  Returns the sequence space covered. */
  private retransmitAt(t: Tcb, seq: number, max: number): number {
    const end = sndEnd(t);
    const avail = seqSub(end, seq);
    if (avail < 0) return 0;
    const len = Math.min(avail, max, Math.max(1, t.mss - this.dataOptionsLen(t)));
    const fin = hasFlag(t, TcbFlag.FIN_SENT) && len === avail;
    if (len === 0 && !fin) return 0;
    const n = this.xmit(t, seq, len, TCP_ACK | (fin ? TCP_FIN : 0), true);
    if (t.tRto === 0) t.tRto = this.now + t.rto;
    return n + (fin ? 1 : 0);
  }

  /** Builds one segment of connection `t` (payload from the send stream) and queues it. */
  private xmit(t: Tcb, seq: number, len: number, flags: number, retransmit: boolean): number {
    const ts = hasFlag(t, TcbFlag.TS_OK);
    const sack = hasFlag(t, TcbFlag.SACK_OK) && t.oooList.length > 0 ? sackBlocks(t) : undefined;
    const opts = tcpOptions({ tsVal: ts ? this.tsNow(t) : null, tsEcr: ts ? t.tsRecent : null, sack });
    const optLen = tcpOptionsLen(opts);
    if (len > 0) len = Math.min(len, Math.max(1, t.mss - optLen));
    const window = advertiseWindow(t, true);
    const ack = rcvNxt(t);
    const hl = 20 + optLen;
    const bytes = this.segmentBuffer(hl + len);
    emitTcp(tcpHeader({ srcPort: t.localPort, dstPort: t.remotePort, seq, ack, flags, window, options: opts }), bytes, 0);
    if (len > 0) t.snd.copyOut(seqSub(seq, t.sndBase) >>> 0, bytes, hl, len);
    this.finishSegment(t.family, this.local(t), this.remote(t), bytes);
    if (flags & TCP_ACK) {
      t.lastAckSent = ack;
      t.tDelack = 0;
      t.unackedSegs = 0;
      this.ackPending.delete(t);
    }
    t.segsOut++;
    if (retransmit && (len > 0 || flags & TCP_FIN)) {
      // RFC 6298 §3 (Karn): "RTT samples MUST NOT be made using segments that were
      // retransmitted". The timed segment (without timestamps) is the one ending at rttSeq:
      // retransmitting any byte below it stops the measurement.
      if (t.rttTime > 0 && seqLt(seq, t.rttSeq)) t.rttTime = 0;
      t.rtxSegs++;
      this.count('retransmitted');
    }
    this.touch(t);
    this.fault('segment-built');
    this.outQ.push({ family: t.family as 4 | 6, src: this.local(t), dst: this.remote(t), bytes });
    return len;
  }

  /** SYN (active open) or SYN,ACK (passive or simultaneous open) with the options to offer. */
  private sendSyn(t: Tcb): void {
    const passiveLike = t.state === TcpState.SynReceived;
    const o: { mss: number; windowScale?: number; sackPermitted?: boolean; tsVal?: number; tsEcr?: number } = { mss: t.advMss };
    if (passiveLike) {
      // RFC 7323 §2.2: "A TCP MAY send the Window Scale option in a <SYN,ACK> segment only if it
      // received a Window Scale option in the initial <SYN> segment"; likewise timestamps
      // (§3.2) and SACK-permitted.
      if (hasFlag(t, TcbFlag.WS_OK)) o.windowScale = t.rcvWscale;
      if (hasFlag(t, TcbFlag.SACK_OK)) o.sackPermitted = true;
      if (hasFlag(t, TcbFlag.TS_OK)) {
        o.tsVal = this.tsNow(t);
        o.tsEcr = t.tsRecent;
      }
    } else {
      if (this.cfg.windowScaling) o.windowScale = t.rcvWscale;
      if (this.cfg.sack) o.sackPermitted = true;
      if (this.cfg.timestamps) {
        o.tsVal = this.tsNow(t);
        o.tsEcr = 0;
      }
    }
    const opts = tcpOptions(o);
    const wnd = advertiseWindow(t, false);
    const flags = passiveLike ? TCP_SYN | TCP_ACK : TCP_SYN;
    const ack = passiveLike ? rcvNxt(t) : 0;
    const hl = 20 + tcpOptionsLen(opts);
    const bytes = this.segmentBuffer(hl);
    emitTcp(tcpHeader({ srcPort: t.localPort, dstPort: t.remotePort, seq: t.iss, ack, flags, window: wnd, options: opts }), bytes, 0);
    this.finishSegment(t.family, this.local(t), this.remote(t), bytes);
    t.segsOut++;
    this.touch(t);
    this.fault('segment-built');
    this.outQ.push({ family: t.family as 4 | 6, src: this.local(t), dst: this.remote(t), bytes });
  }

  /** A segment without a TCB (RST replies, SYN cookies). */
  private rawSegment(src: IpAddr, sport: number, dst: IpAddr, dport: number, seq: number, ack: number, flags: number, window: number, opts: TcpOption[]): void {
    const hl = 20 + tcpOptionsLen(opts);
    const bytes = this.segmentBuffer(hl);
    emitTcp(tcpHeader({ srcPort: sport, dstPort: dport, seq, ack, flags, window, options: opts }), bytes, 0);
    this.finishSegment(familyOf(src), src, dst, bytes);
    this.outQ.push({ family: familyOf(src), src, dst, bytes });
  }

  private segmentBuffer(len: number): Uint8Array {
    return new Uint8Array(SEGMENT_HEADROOM + len).subarray(SEGMENT_HEADROOM);
  }

  private finishSegment(family: number, src: IpAddr, dst: IpAddr, bytes: Uint8Array): void {
    const ps = family === 4
      ? tcpPseudoSumV4(src as number, dst as number, bytes.length)
      : pseudoSumV6Addrs(src as Uint8Array, dst as Uint8Array, 6, bytes.length);
    tcpFillChecksum(bytes, 0, bytes.length, ps);
  }

  /** <SEQ=SND.NXT><CTL=RST> for an abort. */
  private sendRst(t: Tcb): void {
    this.rawSegment(this.local(t), t.localPort, this.remote(t), t.remotePort, t.sndNxt, 0, TCP_RST, 0, []);
  }

  // ======================================================================= timers

  /** Absolute time of the earliest timer, or Infinity. */
  nextDeadline(): number {
    let d = Infinity;
    for (const t of this.live) {
      if (t.tRto > 0 && t.tRto < d) d = t.tRto;
      if (t.tDelack > 0 && t.tDelack < d) d = t.tDelack;
      if (t.tPersist > 0 && t.tPersist < d) d = t.tPersist;
      if (t.tKeepalive > 0 && t.tKeepalive < d) d = t.tKeepalive;
      if (t.tTimewait > 0 && t.tTimewait < d) d = t.tTimewait;
    }
    return d;
  }

  /** Runs every timer that is due at `now`. */
  onTimer(now: number = this.env.now()): void {
    this.run(now, () => {
      for (const t of [...this.live]) {
        if (!this.live.has(t)) continue;
        if (t.tTimewait > 0 && t.tTimewait <= now) this.onTimeWaitTimer(t);
        if (!this.live.has(t)) continue;
        if (t.tRto > 0 && t.tRto <= now) this.onRto(t);
        if (!this.live.has(t)) continue;
        if (t.tPersist > 0 && t.tPersist <= now) this.onPersist(t);
        if (t.tKeepalive > 0 && t.tKeepalive <= now) this.onKeepalive(t);
        if (!this.live.has(t)) continue;
        if (t.tDelack > 0 && t.tDelack <= now) {
          t.tDelack = 0;
          this.touch(t);
          this.ackPending.add(t);
        }
        if (this.ackPending.has(t)) this.output(t);
      }
    });
  }

  private onTimeWaitTimer(t: Tcb): void {
    t.tTimewait = 0;
    this.touch(t);
    // TIME-WAIT: "When the time-wait timeout expires, delete the TCB". FIN-WAIT-2 of a closed
    // connection: the orphan timeout.
    this.finish(t, TcpErrorCode.None, true);
  }

  private onRto(t: Tcb): void {
    t.tRto = 0;
    this.touch(t);
    const st = t.state as TcpState;
    const una = sndUna(t);
    const giveUp = (): boolean => {
      if (t.userTimeout > 0 && t.unackedSince > 0 && this.now - t.unackedSince >= t.userTimeout) return true;
      const max = st === TcpState.SynSent ? this.cfg.synRetries : st === TcpState.SynReceived ? this.cfg.synAckRetries : this.cfg.dataRetries;
      return t.userTimeout === 0 && t.backoff >= max;
    };
    switch (st) {
      case TcpState.SynSent:
      case TcpState.SynReceived:
        if (giveUp()) {
          this.finish(t, TcpErrorCode.ETIMEDOUT, false);
          return;
        }
        setFlag(t, TcbFlag.SYN_RTX);
        rttBackoff(t, this.rto);
        this.sendSyn(t);
        t.tRto = this.now + t.rto;
        this.count('syn-retransmitted');
        return;
      case TcpState.Established:
      case TcpState.CloseWait:
      case TcpState.FinWait1:
      case TcpState.Closing:
      case TcpState.LastAck:
        break;
      case TcpState.FinWait2:
      case TcpState.TimeWait:
      case TcpState.Free:
      case TcpState.Closed:
      case TcpState.Listen:
        return;
      default:
        assertNever(st);
    }
    if (!seqGt(t.sndMax, una)) return; // nothing outstanding
    if (giveUp()) {
      this.sendRst(t);
      this.finish(t, TcpErrorCode.ETIMEDOUT, false);
      return;
    }
    const cc = ccByAlgo(t.cc);
    cc.onRto(t, seqSub(t.sndMax, una), this.now);
    // RFC 6582 §4: "After a retransmit timeout, record the highest sequence number transmitted in
    // the variable recover, and exit the fast recovery procedure if applicable."
    t.recover = t.sndMax;
    setFlag(t, TcbFlag.IN_RECOVERY, false);
    t.dupAcks = 0;
    t.highRxt = una;
    // RFC 2018 §8: "After a retransmit timeout the data sender SHOULD turn off all of the SACKed
    // bits, since the timeout might indicate that the data receiver has reneged."
    t.sackList = [];
    // RFC 6298 5.4: "Retransmit the earliest segment that has not been acknowledged by the TCP
    // receiver." (go-back-N from SND.UNA as cwnd reopens), 5.5 back off, 5.6 restart the timer.
    t.sndNxt = una;
    t.rttTime = 0;
    rttBackoff(t, this.rto);
    this.count('rto');
    this.sendData(t);
    if (t.tRto === 0) t.tRto = this.now + t.rto;
  }

  /** Zero-window probe or SWS override (RFC 9293 §3.8.6.1: "The sending TCP must regularly
   *  transmit at least one octet of new data (if available), or retransmit to the receiving TCP
   *  even if the send window is zero"). */
  private onPersist(t: Tcb): void {
    t.tPersist = 0;
    this.touch(t);
    if (!synchronized(t.state as TcpState)) return;
    const una = sndUna(t);
    const end = sndEnd(t);
    const nxt = t.sndNxt;
    const avail = seqSub(end, nxt);
    if (avail <= 0) return;
    const wndRoom = seqSub(seqAdd(una, t.sndWnd), nxt);
    if (wndRoom > 0) {
      // Override: send what the window takes, however small.
      const n = this.xmit(t, nxt, Math.min(avail, wndRoom, t.mss), TCP_ACK | TCP_PSH, false);
      t.sndNxt = seqAdd(nxt, n);
      if (seqGt(t.sndNxt, t.sndMax)) t.sndMax = t.sndNxt;
      if (t.tRto === 0) t.tRto = this.now + t.rto;
      if (t.unackedSince === 0) t.unackedSince = this.now;
      return;
    }
    // One octet beyond the window; SND.NXT stays, so the probe is not "in flight".
    this.xmit(t, nxt, 1, TCP_ACK, false);
    if (seqGt(seqAdd(nxt, 1), t.sndMax)) t.sndMax = seqAdd(nxt, 1);
    this.count('zero-window-probe');
    t.persistBackoff++;
    t.tPersist = this.now + persistInterval(t.rto, t.persistBackoff, this.rto.min, this.rto.max);
  }

  /** RFC 9293 §3.8.4 / RFC 1122 4.2.3.6: "Keep-alive packets MUST only be sent when no sent
   *  data is outstanding, and no data or acknowledgment packets have been received for the
   *  connection within an interval." A probe is <SEQ=SND.NXT-1><ACK=RCV.NXT>. */
  private onKeepalive(t: Tcb): void {
    t.tKeepalive = 0;
    this.touch(t);
    if (!hasFlag(t, TcbFlag.KEEPALIVE) || !synchronized(t.state as TcpState) || t.state === TcpState.TimeWait) return;
    if (seqGt(t.sndMax, sndUna(t))) {
      t.tKeepalive = this.now + t.kaIdle;
      return;
    }
    if (this.now - t.lastRecv < t.kaIdle && t.kaProbes === 0) {
      t.tKeepalive = t.lastRecv + t.kaIdle;
      return;
    }
    if (t.kaProbes >= t.kaCnt) {
      this.sendRst(t);
      this.finish(t, TcpErrorCode.ETIMEDOUT, false);
      return;
    }
    this.xmit(t, seqAdd(t.sndNxt, -1), 0, TCP_ACK, false);
    t.kaProbes++;
    this.count('keepalive-probe');
    t.tKeepalive = this.now + t.kaIntvl;
  }

  // ======================================================================= user calls

  /** Passive open. `addr` null listens on every address of both families. Returns the
   *  listener's id. */
  listen(addr: IpAddr | null, port: number, backlog = 128, opts: ListenOptions = {}): number {
    return this.run(this.env.now(), () => {
      if (!(port > 0 && port < 65536)) throw new TcpError('EINVAL', `bad port ${port}`);
      for (const l of this.listeners) {
        if (l.localPort !== port) continue;
        if (addr === null || l.family === 0 || (l.family === familyOf(addr) && addrEq(this.local(l), addr))) {
          throw new TcpError('EADDRINUSE', `port ${port} is already listened on`);
        }
      }
      const t = this.allocate();
      if (t === null) throw new TcpError('ENOBUFS', 'connection table full');
      t.family = addr === null ? 0 : familyOf(addr);
      if (addr !== null) [t.localA0, t.localA1, t.localA2, t.localA3] = addrWords(addr);
      t.localPort = port;
      t.backlog = Math.max(1, backlog | 0);
      t.synQueueMax = Math.max(1, opts.synQueue ?? Math.max(t.backlog, 16));
      t.cc = this.cfg.congestion === 'newreno' ? CcAlgo.NewReno : CcAlgo.Cubic;
      t.kaIdle = this.cfg.keepAliveIdle;
      t.kaIntvl = this.cfg.keepAliveInterval;
      t.kaCnt = this.cfg.keepAliveCount;
      t.userTimeout = this.cfg.userTimeout;
      this.transition(t, TcpState.Listen);
      this.listeners.add(t);
      return this.idOf(t);
    });
  }

  /** Active open: sends the SYN. `local` null asks env.sourceAddress. Returns the id. */
  connect(local: IpAddr | null, remote: IpAddr, port: number, opts: ConnectOptions = {}): number {
    return this.run(this.env.now(), () => {
      if (!(port > 0 && port < 65536)) throw new TcpError('EINVAL', `bad port ${port}`);
      const src = local ?? this.env.sourceAddress?.(remote) ?? null;
      if (src === null || familyOf(src) !== familyOf(remote)) throw new TcpError('EADDRNOTAVAIL', 'no source address');
      const lport = opts.localPort ? opts.localPort : this.ephemeralPort(src, remote, port);
      if (this.byTuple.has(tupleKey(src, lport, remote, port))) throw new TcpError('EADDRINUSE', 'connection exists');
      const t = this.allocate();
      if (t === null) throw new TcpError('ENOBUFS', 'connection table full');
      this.initConn(t, src, lport, remote, port, opts.mtu ?? this.pathMtuFor(remote));
      t.active = 1;
      this.applyOptions(t, opts);
      this.setIss(t, this.chooseIss(t));
      this.index(t);
      // RFC 9293 §3.10.1 OPEN, CLOSED STATE: "A SYN segment of the form <SEQ=ISS><CTL=SYN> is sent.
      // Set SND.UNA to ISS, SND.NXT to ISS+1, enter SYN-SENT state, and return."
      this.transition(t, TcpState.SynSent);
      this.sendSyn(t);
      t.rttTime = this.now;
      t.tRto = this.now + t.rto;
      return this.idOf(t);
    });
  }

  /** RFC 6056 §3.3.3 Algorithm 3 ("Simple Hash-Based Port Selection"):
   *    offset = F(local_IP, remote_IP, remote_port, secret_key)
   *    port = min_ephemeral + (offset + next_ephemeral) % num_ephemeral; next_ephemeral++ */
  private ephemeralPort(local: IpAddr, remote: IpAddr, rport: number): number {
    const lo = this.cfg.ephemeralLow;
    const num = this.cfg.ephemeralHigh - lo + 1;
    const offset = portOffset(this.table.key, {
      family: familyOf(local), local: addrWords(local), localPort: 0, remote: addrWords(remote), remotePort: rport,
    });
    for (let count = num; count > 0; count--) {
      const port = lo + ((offset + this.table.nextEphemeral()) % num);
      if (this.byTuple.has(tupleKey(local, port, remote, rport))) continue;
      let listened = false;
      for (const l of this.listeners) if (l.localPort === port) listened = true;
      if (!listened) return port;
    }
    throw new TcpError('EADDRNOTAVAIL', 'no ephemeral port free');
  }

  /** The oldest established connection waiting on listener `id`, or null. */
  accept(id: number): number | null {
    return this.run(this.env.now(), () => {
      const l = this.lookupId(id);
      if (l.state !== TcpState.Listen) throw new TcpError('EINVAL', 'not a listener');
      let best: Tcb | null = null;
      for (const c of this.live) {
        if (c.parent !== l.slot || !hasFlag(c, TcbFlag.ACCEPTABLE) || hasFlag(c, TcbFlag.ACCEPTED)) continue;
        if (best === null || c.acceptOrder - best.acceptOrder < 0) best = c;
      }
      if (best === null) return null;
      setFlag(best, TcbFlag.ACCEPTABLE, false);
      setFlag(best, TcbFlag.ACCEPTED);
      this.touch(best);
      return this.idOf(best);
    });
  }

  /** Half-close: a FIN follows the queued data (RFC 9293 §3.10.4 CLOSE while data may still
   *  arrive). */
  shutdown(id: number): void {
    this.run(this.env.now(), () => {
      const t = this.lookupId(id);
      this.doShutdown(t);
      this.output(t);
    });
  }

  private doShutdown(t: Tcb): void {
    const st = t.state as TcpState;
    switch (st) {
      case TcpState.SynSent:
      case TcpState.SynReceived:
        // SYN-RECEIVED: "queue for processing after entering ESTABLISHED state" (also SYN-SENT).
        setFlag(t, TcbFlag.FIN_QUEUED);
        this.touch(t);
        return;
      case TcpState.Established:
        // "Queue this until all preceding SENDs have been segmentized, then form a FIN segment
        // and send it. In any case, enter FIN-WAIT-1 state."
        setFlag(t, TcbFlag.FIN_QUEUED);
        this.transition(t, TcpState.FinWait1);
        return;
      case TcpState.CloseWait:
        // "Queue this request until all preceding SENDs have been segmentized; then send a FIN
        // segment, enter LAST-ACK state."
        setFlag(t, TcbFlag.FIN_QUEUED);
        this.transition(t, TcpState.LastAck);
        return;
      case TcpState.FinWait1:
      case TcpState.FinWait2:
      case TcpState.Closing:
      case TcpState.LastAck:
      case TcpState.TimeWait:
      case TcpState.Closed:
      case TcpState.Free:
      case TcpState.Listen:
        return;
      default:
        assertNever(st);
    }
  }

  /** The user is done with the connection: graceful close (or RST if received data is unread),
   *  or closes a listener (its unaccepted connections are reset). The id is invalid afterwards. */
  close(id: number): void {
    this.run(this.env.now(), () => {
      const t = this.lookupId(id);
      const st = t.state as TcpState;
      setFlag(t, TcbFlag.USER_CLOSED);
      this.touch(t);
      switch (st) {
        case TcpState.Listen:
          for (const c of [...this.live]) {
            if (c.parent === t.slot && !hasFlag(c, TcbFlag.ACCEPTED) && c.state !== TcpState.Listen) {
              if (synchronized(c.state as TcpState) || c.state === TcpState.SynReceived) this.sendRst(c);
              this.free(c);
            }
          }
          this.free(t);
          return;
        case TcpState.Closed:
        case TcpState.SynSent:
          // SYN-SENT: "Delete the TCB and return "error: closing" responses to any queued SENDs".
          this.free(t);
          return;
        case TcpState.Free:
          return;
        case TcpState.SynReceived:
        case TcpState.Established:
        case TcpState.FinWait1:
        case TcpState.FinWait2:
        case TcpState.CloseWait:
        case TcpState.Closing:
        case TcpState.LastAck:
        case TcpState.TimeWait:
          break;
        default:
          assertNever(st);
      }
      if (t.rcv.used() > 0 || t.oooList.length > 0) {
        // RFC 1122 4.2.2.13: "If such a host issues a CLOSE call while received data is still
        // pending in TCP ... its TCP SHOULD send a RST to show that data was lost."
        if (st !== TcpState.TimeWait) this.sendRst(t);
        this.free(t);
        return;
      }
      this.doShutdown(t);
      if (t.state === TcpState.FinWait2) t.tTimewait = this.now + this.cfg.finWait2Timeout;
      this.output(t);
    });
  }

  /** RFC 9293 §3.10.5 ABORT: "Send a reset segment: <SEQ=SND.NXT><CTL=RST>" in the synchronized
   *  states and SYN-RECEIVED; free the TCB. The id is invalid afterwards. */
  abort(id: number): void {
    this.run(this.env.now(), () => {
      const t = this.lookupId(id);
      const st = t.state as TcpState;
      switch (st) {
        case TcpState.SynReceived:
        case TcpState.Established:
        case TcpState.FinWait1:
        case TcpState.FinWait2:
        case TcpState.CloseWait:
          this.sendRst(t);
          break;
        case TcpState.Closing:
        case TcpState.LastAck:
        case TcpState.TimeWait:
        case TcpState.SynSent:
        case TcpState.Closed:
        case TcpState.Listen:
        case TcpState.Free:
          break;
        default:
          assertNever(st);
      }
      if (st === TcpState.Listen) {
        setFlag(t, TcbFlag.USER_CLOSED);
        this.run(this.now, () => this.close(id));
        return;
      }
      this.free(t);
    });
  }

  setOption(id: number, o: TcpConnOptions): void {
    this.run(this.env.now(), () => {
      const t = this.lookupId(id);
      this.applyOptions(t, o);
      this.output(t);
    });
  }

  private applyOptions(t: Tcb, o: TcpConnOptions): void {
    if (o.nodelay !== undefined) setFlag(t, TcbFlag.NODELAY, o.nodelay);
    if (o.keepAliveIdle !== undefined) t.kaIdle = Math.max(1, o.keepAliveIdle);
    if (o.keepAliveInterval !== undefined) t.kaIntvl = Math.max(1, o.keepAliveInterval);
    if (o.keepAliveCount !== undefined) t.kaCnt = Math.max(1, o.keepAliveCount | 0);
    if (o.keepAlive !== undefined) {
      setFlag(t, TcbFlag.KEEPALIVE, o.keepAlive);
      t.tKeepalive = o.keepAlive && synchronized(t.state as TcpState) ? this.now + t.kaIdle : 0;
    }
    if (o.userTimeout !== undefined) t.userTimeout = Math.max(0, o.userTimeout);
    if (o.congestion !== undefined) {
      const cc = ccByName(o.congestion);
      if (cc.algo !== t.cc) {
        const cwnd = t.cwnd;
        const ss = t.ssthresh;
        t.cc = cc.algo;
        if (synchronized(t.state as TcpState)) {
          cc.init(t, this.now, this.cfg.initialWindow);
          t.cwnd = cwnd;
          t.ssthresh = ss;
        }
      }
    }
    this.touch(t);
  }

  /** IP learned a new path MTU towards `remote` (RFC 1191 / 8201): live connections' MSS
   *  shrinks (or grows back up to the configured MTU) at once. */
  pathMtuChanged(remote: IpAddr, mtu: number): void {
    this.run(this.env.now(), () => {
      this.pmtu.set(addrKey(remote), mtu);
      for (const t of this.live) {
        if (t.state === TcpState.Listen || t.family !== familyOf(remote) || !addrEq(this.remote(t), remote)) continue;
        t.pathMtu = Math.max(t.family === 4 ? 68 : 1280, Math.min(this.cfg.mtu, mtu));
        const before = t.mss;
        this.setPeerMss(t, null);
        if (t.mss < before) t.cwnd = Math.max(t.mss, Math.floor((t.cwnd * t.mss) / before));
        this.touch(t);
      }
    });
  }

  /** The app moved a stream position (wrote to the send stream or read from the receive stream)
   *  from another thread: send what can go and a window update if it is worth one. */
  poke(id: number): void {
    this.run(this.env.now(), () => {
      const t = this.lookupId(id);
      if (synchronized(t.state as TcpState) && windowUpdateDue(t)) this.ackPending.add(t);
      this.output(t);
    });
  }

  /** Every connection with a pending stream change (the actor shell calls this on its doorbell
   *  when the app does not say which connection). */
  pokeAll(): void {
    this.run(this.env.now(), () => {
      for (const t of this.live) {
        if (!synchronized(t.state as TcpState)) continue;
        if (windowUpdateDue(t)) this.ackPending.add(t);
        this.output(t);
      }
    });
  }

  // ---- convenience for inline use and tests (the app side normally uses the streams directly)

  /** Copies bytes into the send stream and sends; returns how many fit. */
  write(id: number, data: Uint8Array): number {
    const t = this.lookupId(id);
    if (hasFlag(t, TcbFlag.FIN_QUEUED) || t.state === TcpState.Closed || t.state === TcpState.Listen) {
      throw new TcpError('ENOTCONN', 'connection is closed for writing');
    }
    const n = t.snd.write(data);
    this.poke(id);
    return n;
  }

  /** Reads up to `max` bytes from the receive stream (a window update follows if due). */
  read(id: number, max = Infinity): Uint8Array {
    const t = this.lookupId(id);
    const n = Math.min(max, t.rcv.used());
    const out = new Uint8Array(n);
    t.rcv.read(out, 0, n);
    if (n > 0 && synchronized(t.state as TcpState)) this.poke(id);
    return out;
  }

  /** The connection's streams, for an app side in another thread (layout.ts StreamWord). */
  streams(id: number): { send: ByteStream; recv: ByteStream; gen: number } {
    const t = this.lookupId(id);
    return { send: t.snd, recv: t.rcv, gen: t.gen };
  }

  /** The connection's state as a plain object (tests, `salamander ctl`). */
  dumpTcb(id: number): Record<string, unknown> {
    const t = this.lookupId(id);
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(t)) {
      if (typeof v === 'number') o[k] = v;
    }
    o.id = id;
    o.stateName = STATE_NAMES[t.state as TcpState];
    o.local = this.local(t);
    o.remote = this.remote(t);
    o.sack = t.sackList.slice();
    o.ooo = t.oooList.slice();
    o.error = ERR_NAMES[t.error] ?? null;
    if (t.state !== TcpState.Listen) {
      o.sndUna = sndUna(t);
      o.rcvNxt = rcvNxt(t);
      o.sendQueued = t.snd.used();
      o.recvQueued = t.rcv.used();
      o.rcvWnd = rcvSpace(t);
    }
    o.flagNames = Object.entries(TcbFlag).filter(([, b]) => (t.flags & b) !== 0).map(([n]) => n);
    return o;
  }

  /** Ids of every connection in the table (listeners included). */
  connections(): number[] {
    return [...this.live].map((t) => this.idOf(t));
  }

  counters(): Record<string, number> {
    return { ...this.stats };
  }
}
