// Whole stacks inline: N Salamander stacks (IP, one NIC per link, TCP) in ONE InlinePipeline on
// a FakeClock and a SeededRandom, joined by in-memory wires with seeded per-link impairment
// (actors/nic/impair.ts). Built from the same kind of config a Stack takes (links with addresses,
// routes, TCP sizes), wired as api/stack.ts pipeline() wires a real stack, with every actor name
// prefixed by its stack ("a:ip", "a:nic:w0", "a:tcp"). Helpers drive TCP through the live cores
// (listen / connect / accept / bulk transfers both ways hashed with SHA-256) and run the fake
// clock until a condition or a deadline. A run is a pure function of its config and seed, so the
// tests in test/stack-inline and the lab scenarios (lab/scenarios/tcp-*.ts, link-flap.ts) replay
// exactly.

import { createHash, Hash } from 'node:crypto';
import { InlinePipeline } from '../base/inline';
import type { ActorSpec, LinkSpec } from '../base/types';
import { derivedMac, checkCidr, StackRouteConfig } from '../api/config';
import { StackTcpConfig, tcpActorConfig, tcpSharedSizes } from '../api/net';
import type { ImpairConfig, ImpairParams } from '../actors/nic/impair';
import type { NicConfig } from '../actors/nic/actor';
import type { TcpCore } from '../actors/tcp/core';
import { TcpState } from '../actors/tcp/layout';
import { STATE_NAMES } from '../actors/tcp/tcb';
import type { IpAddr } from '../actors/tcp/types';
import { parseIp } from '../protocol/address';

// ------------------------------------------------------------------------------ config

export interface InlineLinkConfig {
  /** Interface name in the stack (the NIC actor is "<stack>:nic:<name>"). */
  name: string;
  mac?: string;
  mtu?: number;
  up?: boolean;
  addresses?: string[];
  /** The NIC's own impairment (on top of the wire's). */
  impair?: ImpairConfig;
}

export interface InlineStackConfig {
  /** Prefix of the stack's actor names: [A-Za-z0-9_-] (no dots, no colons). */
  name: string;
  links: InlineLinkConfig[];
  routes?: StackRouteConfig[];
  forwarding?: boolean;
  /** TCP sizes and TcpConfig overrides, as StackConfig.tcp. Defaults here are small (16
   *  connections, 64 KiB streams) so many inline stacks fit in memory. */
  tcp?: StackTcpConfig;
}

export interface InlineWireConfig {
  /** The two ends, "stack:link". */
  a: string;
  b: string;
  /** Impairment of frames leaving each end (so both directions are impaired the same way). */
  impair?: ImpairParams;
  /** Per-direction override: frames a -> b, and b -> a. */
  impairAtoB?: ImpairParams;
  impairBtoA?: ImpairParams;
  /** Ring capacity of each direction, bytes (power of two). Default 256 KiB. */
  capacity?: number;
}

export interface InlineNetConfig {
  stacks: InlineStackConfig[];
  wires: InlineWireConfig[];
  seed: number;
  /** Ring capacity between actors of one stack. Default 256 KiB. */
  ringCapacity?: number;
}

const NAME_RE = /^[A-Za-z0-9_-]{1,15}$/;

function mix32(a: number, b: number): number {
  let h = Math.imul((a ^ 0x9e3779b9) >>> 0, 0x85ebca6b) ^ b;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function hashStr(s: string): number {
  let h = 2166136261;
  for (const ch of s) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return h >>> 0;
}

/** The address part of a CIDR or an address string, as TcpCore's IpAddr. */
export function addrOf(s: string): IpAddr {
  const p = parseIp(s.split('/')[0]);
  if (!p) throw new Error(`bad address "${s}"`);
  return p.addr;
}

// ------------------------------------------------------------------------------ the network

export class InlineNet {
  readonly pipeline: InlinePipeline;
  readonly config: InlineNetConfig;
  /** App-side work between steps (transfers pump here). Return true if anything moved. */
  private readonly pumps = new Set<() => boolean>();
  /** Called after every pipeline step (fault injection). */
  onStep: (() => void) | null = null;

  constructor(config: InlineNetConfig) {
    this.config = config;
    const actors: ActorSpec[] = [];
    const links: LinkSpec[] = [];
    const ringCap = config.ringCapacity ?? 1 << 18;
    const ends = new Map<string, ImpairParams | undefined>();
    for (const w of config.wires) {
      ends.set(w.a, w.impairAtoB ?? w.impair);
      ends.set(w.b, w.impairBtoA ?? w.impair);
    }
    const names = new Set<string>();
    for (const s of config.stacks) {
      if (!NAME_RE.test(s.name)) throw new Error(`stack name "${s.name}": 1-15 characters of A-Z a-z 0-9 _ -`);
      if (names.has(s.name)) throw new Error(`duplicate stack "${s.name}"`);
      names.add(s.name);
      const p = s.name;
      const tcpCfg: StackTcpConfig = { maxConns: 16, ...(s.tcp ?? {}) };
      const addresses: string[] = [];
      const ifaces = s.links.map((l) => {
        if (!NAME_RE.test(l.name)) throw new Error(`${p}: link name "${l.name}": 1-15 characters of A-Z a-z 0-9 _ -`);
        (l.addresses ?? []).forEach((a, i) => checkCidr(a, `${p}.${l.name}.addresses[${i}]`));
        addresses.push(...(l.addresses ?? []));
        return { name: l.name, mac: l.mac ?? derivedMac(p, l.name), mtu: l.mtu ?? 1500, addresses: l.addresses ?? [], up: l.up !== false };
      });
      actors.push({ name: `${p}:ip`, kind: 'ip', config: { interfaces: ifaces, routes: (s.routes ?? []).map((r) => ({ ...r })), forwarding: s.forwarding ?? false } });
      for (const l of s.links) {
        const nic = `${p}:nic:${l.name}`;
        const wireImpair = ends.get(`${p}:${l.name}`);
        let impair: ImpairConfig | undefined = l.impair ? { ...l.impair } : undefined;
        if (wireImpair) impair = { ...(impair ?? {}), tx: { ...(impair?.tx ?? {}), ...wireImpair } };
        if (impair && impair.seed === undefined) impair.seed = mix32(config.seed, hashStr(nic));
        const nc: NicConfig = { link: { type: 'wire', port: 'wire' }, mac: l.mac ?? derivedMac(p, l.name), mtu: l.mtu ?? 1500, down: l.up === false, impair };
        actors.push({ name: nic, kind: 'nic', config: nc, shared: { nic: 64 } });
        links.push({ from: `${nic}.rx`, to: `${p}:ip.rx:${l.name}`, capacity: ringCap });
        links.push({ from: `${p}:ip.tx:${l.name}`, to: `${nic}.tx`, capacity: ringCap });
      }
      actors.push({ name: `${p}:tcp`, kind: 'tcp', config: tcpActorConfig(tcpCfg, addresses), shared: tcpSharedSizes(tcpCfg) });
      links.push({ from: `${p}:ip.tcp`, to: `${p}:tcp.ip`, capacity: ringCap });
      links.push({ from: `${p}:tcp.ip`, to: `${p}:ip.tcp`, capacity: ringCap });
    }
    for (const w of config.wires) {
      const [sa, la] = w.a.split(':');
      const [sb, lb] = w.b.split(':');
      for (const [s, l] of [[sa, la], [sb, lb]]) {
        const st = config.stacks.find((x) => x.name === s);
        if (!st || !st.links.some((x) => x.name === l)) throw new Error(`wire end "${s}:${l}" is not a link of a stack`);
      }
      const cap = w.capacity ?? 1 << 18;
      links.push({ from: `${sa}:nic:${la}.wire`, to: `${sb}:nic:${lb}.wire`, capacity: cap });
      links.push({ from: `${sb}:nic:${lb}.wire`, to: `${sa}:nic:${la}.wire`, capacity: cap });
    }
    this.pipeline = new InlinePipeline({ actors, links }, { seed: config.seed });
  }

  /** The live TCP core of a stack (a new object after every TCP actor restart). */
  tcp(stack: string): TcpCore {
    return (this.pipeline.runner(`${stack}:tcp`).core as unknown as { core: TcpCore }).core;
  }

  now(): number {
    return this.pipeline.clock.now();
  }

  /** Link state change as Stack.setLinkState does it: the NIC (admin up/down) and IP's interface. */
  setLinkState(stack: string, link: string, up: boolean): void {
    this.pipeline.control(`${stack}:nic:${link}`, 'setUp', { up });
    this.pipeline.control(`${stack}:ip`, 'setLinkState', { iface: link, up });
  }

  addPump(fn: () => boolean): () => void {
    this.pumps.add(fn);
    return () => void this.pumps.delete(fn);
  }

  private pump(): boolean {
    let moved = false;
    for (const f of this.pumps) if (f()) moved = true;
    return moved;
  }

  /** Runs the fake clock until `done()` or `untilMs` (absolute fake ms): steps every actor and
   *  the app pumps until nothing moves, then jumps to the next deadline. Returns true if done. */
  run(untilMs: number, done: () => boolean = () => false, maxSteps = 20_000_000): boolean {
    const p = this.pipeline;
    for (let steps = 0; ; steps++) {
      if (steps > maxSteps) throw new Error(`InlineNet.run exceeded ${maxSteps} steps`);
      const moved = this.pump();
      const worked = p.step();
      this.onStep?.();
      if (done()) return true;
      if (moved || worked) continue;
      const next = p.nextDeadline();
      if (next > untilMs) {
        if (p.clock.now() < untilMs) p.clock.advanceTo(untilMs);
        p.step();
        this.pump();
        return done();
      }
      p.clock.advanceTo(Math.max(next, p.clock.now()));
    }
  }

  /** Runs for `ms` of fake time. */
  runFor(ms: number, done?: () => boolean): boolean {
    return this.run(this.now() + ms, done);
  }

  counters(actor: string): Record<string, number> {
    return this.pipeline.counters(actor);
  }

  /** TCP counters of a stack (kept across TCP actor restarts: the role's shared block). */
  tcpCounters(stack: string): Record<string, number> {
    return this.pipeline.counters(`${stack}:tcp`);
  }

  /** Connection state names of a stack, listeners included. */
  tcpStates(stack: string): string[] {
    const c = this.tcp(stack);
    return c.connections().map((id) => String(c.dumpTcb(id).stateName));
  }

  /** Retransmitted segments of a stack (timeouts, fast and SACK retransmits, SYNs). */
  retransmits(stack: string): number {
    const c = this.tcpCounters(stack);
    return (c['tcp.retransmitted'] ?? 0) + (c['tcp.syn-retransmitted'] ?? 0);
  }
}

// ------------------------------------------------------------------------------ content

/** Deterministic content: byte p of stream `salt` is a keyed hash of p (position-addressed, so a
 *  misplaced segment never matches by accident). */
export class Content {
  private readonly block = new Uint8Array(1 << 16);
  private readonly words = new Uint32Array(this.block.buffer);
  private blockStart = -1;

  constructor(private readonly salt: number) {}

  private fill(start: number): void {
    const w = this.words;
    const base = (start >>> 2) >>> 0;
    const s = this.salt;
    for (let i = 0; i < w.length; i++) {
      let h = Math.imul((base + i) ^ s, 0x9e3779b1);
      h ^= h >>> 15;
      h = Math.imul(h, 0x85ebca77);
      h ^= h >>> 13;
      w[i] = h;
    }
    this.blockStart = start;
  }

  /** A view of up to `n` bytes of the stream starting at `pos` (valid until the next call). */
  at(pos: number, n: number): Uint8Array {
    const start = pos - (pos % this.block.length);
    if (start !== this.blockStart) this.fill(start);
    const o = pos - start;
    return this.block.subarray(o, Math.min(this.block.length, o + n));
  }
}

// ------------------------------------------------------------------------------ TCP driving

export interface Endpoint {
  stack: string;
  /** The connection id; -1 while waiting to accept on `listener`. */
  id: number;
  listener?: number;
}

/** Listens on `addr:port` of a stack; returns the listener id. */
export function listen(net: InlineNet, stack: string, addr: string | null, port: number, backlog = 128): number {
  return net.tcp(stack).listen(addr === null ? null : addrOf(addr), port, backlog);
}

export function connect(net: InlineNet, stack: string, local: string | null, remote: string, port: number): number {
  return net.tcp(stack).connect(local === null ? null : addrOf(local), addrOf(remote), port);
}

/** Runs until the listener has a connection to accept (or the deadline); returns its id. */
export function acceptWithin(net: InlineNet, stack: string, lid: number, ms: number): number | null {
  let got: number | null = null;
  net.runFor(ms, () => (got = net.tcp(stack).accept(lid)) !== null);
  return got;
}

/** The state of a connection, or 'FREE' once its id is gone (closed and freed). Cheap: reads the
 *  working TCB (TcpCore's id lookup) rather than building dumpTcb's object on every pump. */
export function stateOf(net: InlineNet, stack: string, id: number): string {
  const core = net.tcp(stack) as unknown as { lookupId?: (id: number) => { state: number } };
  try {
    if (typeof core.lookupId === 'function') return STATE_NAMES[core.lookupId(id).state as TcpState] ?? 'FREE';
    return String(net.tcp(stack).dumpTcb(id).stateName);
  } catch {
    return 'FREE';
  }
}

const FIN_SEEN = new Set(['CLOSE-WAIT', 'LAST-ACK', 'CLOSING', 'TIME-WAIT']);

/** One side of a bulk transfer: writes `total` bytes of its Content as the send stream has room,
 *  then shuts down; reads and hashes what arrives; closes once it has the peer's FIN. */
class Side {
  sent = 0;
  received = 0;
  sentHash: Hash = createHash('sha256');
  recvHash: Hash = createHash('sha256');
  firstMismatch = -1;
  shutdownDone = false;
  finSeen = false;
  closed = false;
  error: string | null = null;
  constructor(
    readonly ep: Endpoint,
    readonly total: number,
    readonly out: Content,
    readonly expectIn: Content,
    readonly expectTotal: number,
  ) {}
}

export interface TransferResult {
  /** Bytes delivered a -> b and b -> a. */
  bytes: [number, number];
  expected: [number, number];
  /** SHA-256 of what was written equals that of what was read, both directions, all bytes. */
  intact: boolean;
  /** Connections reset (RST received or sent on them, or ended with an error). */
  resets: number;
  errors: string[];
  /** Fake ms from start to done. */
  fakeMs: number;
  retransmits: number;
  done: boolean;
  firstMismatch: [number, number];
}

/** A bulk transfer both ways at once over one connection (client `a` connected to `b`). */
export class Transfer {
  readonly sides: [Side, Side];
  private readonly startMs: number;
  private readonly unpump: () => void;
  private resetsAtStart: number;

  constructor(private readonly net: InlineNet, a: Endpoint, b: Endpoint, bytesAtoB: number, bytesBtoA: number, salt: number) {
    const cAB = new Content(mix32(salt, 1));
    const cBA = new Content(mix32(salt, 2));
    this.sides = [new Side(a, bytesAtoB, cAB, new Content(mix32(salt, 2)), bytesBtoA), new Side(b, bytesBtoA, cBA, new Content(mix32(salt, 1)), bytesAtoB)];
    this.startMs = net.now();
    this.resetsAtStart = this.resetCount();
    this.unpump = net.addPump(() => this.pump());
  }

  private resetCount(): number {
    let n = 0;
    for (const s of new Set(this.sides.map((x) => x.ep.stack))) {
      const c = this.net.tcpCounters(s);
      n += (c['tcp.reset'] ?? 0) + (c['tcp.rx-reset'] ?? 0);
    }
    return n;
  }

  private pumpSide(s: Side): boolean {
    if (s.closed || s.error) return false;
    const core = this.net.tcp(s.ep.stack);
    let moved = false;
    if (s.ep.id < 0) {
      const id = core.accept(s.ep.listener!);
      if (id === null) return false;
      s.ep.id = id;
    }
    try {
      const st = core.streams(s.ep.id);
      // Write as room allows.
      while (s.sent < s.total) {
        const room = st.send.free();
        if (room === 0) break;
        const chunk = s.out.at(s.sent, Math.min(room, s.total - s.sent));
        const n = st.send.write(chunk);
        if (n === 0) break;
        s.sentHash.update(chunk.subarray(0, n));
        s.sent += n;
        moved = true;
        core.poke(s.ep.id);
      }
      if (s.sent === s.total && !s.shutdownDone) {
        const name = stateOf(this.net, s.ep.stack, s.ep.id);
        if (name === 'ESTABLISHED' || name === 'CLOSE-WAIT' || (name === 'SYN-SENT' && s.total === 0)) {
          core.shutdown(s.ep.id);
          s.shutdownDone = true;
          moved = true;
        }
      }
      // Read what arrived.
      for (;;) {
        const used = st.recv.used();
        if (used === 0) break;
        const data = core.read(s.ep.id, used);
        if (data.length === 0) break;
        s.recvHash.update(data);
        if (s.firstMismatch < 0) {
          for (let off = 0; off < data.length && s.firstMismatch < 0; ) {
            const exp = s.expectIn.at(s.received + off, data.length - off);
            for (let i = 0; i < exp.length; i++) {
              if (exp[i] !== data[off + i]) {
                s.firstMismatch = s.received + off + i;
                break;
              }
            }
            off += exp.length;
          }
        }
        s.received += data.length;
        moved = true;
      }
      if (s.received >= s.expectTotal && !s.finSeen) {
        const name = stateOf(this.net, s.ep.stack, s.ep.id);
        if (FIN_SEEN.has(name)) s.finSeen = true;
        else if (name === 'CLOSED') s.error = String(core.dumpTcb(s.ep.id).error ?? 'closed');
      }
      if (s.finSeen && s.shutdownDone && st.recv.used() === 0) {
        core.close(s.ep.id);
        s.closed = true;
        moved = true;
      }
    } catch (e) {
      const name = stateOf(this.net, s.ep.stack, s.ep.id);
      s.error = `${name}: ${(e as Error).message}`;
    }
    if (!s.closed && !s.error) {
      // A connection that ended under us.
      const name = stateOf(this.net, s.ep.stack, s.ep.id);
      if (name === 'CLOSED' || name === 'FREE') {
        let err: unknown = null;
        try {
          err = this.net.tcp(s.ep.stack).dumpTcb(s.ep.id).error;
        } catch {
          /* freed */
        }
        s.error = `${name}${err ? ` ${String(err)}` : ''} after ${s.sent} sent / ${s.received} received`;
      }
    }
    return moved;
  }

  private pump(): boolean {
    const a = this.pumpSide(this.sides[0]);
    const b = this.pumpSide(this.sides[1]);
    return a || b;
  }

  /** Both sides have everything and have closed (or one failed). */
  finished(): boolean {
    return this.sides.every((s) => s.closed || s.error !== null) || this.sides.some((s) => s.error !== null);
  }

  /** Runs until finished and both connections have left the table (or TIME-WAIT), or `ms`. */
  runToEnd(ms: number): TransferResult {
    const until = this.net.now() + ms;
    this.net.run(until, () => this.finished());
    const endMs = this.net.now();
    // Let the closing handshake finish (LAST-ACK needs the last ACK) so late RSTs are seen.
    this.net.run(Math.min(until, this.net.now() + 10_000), () => this.sides.every((s) => {
      const n = stateOf(this.net, s.ep.stack, s.ep.id);
      return n === 'FREE' || n === 'TIME-WAIT';
    }));
    this.unpump();
    return this.result(endMs);
  }

  result(endMs = this.net.now()): TransferResult {
    const [a, b] = this.sides;
    const hex = (h: Hash): string => h.copy().digest('hex');
    const intact = a.received === b.total && b.received === a.total && hex(a.sentHash) === hex(b.recvHash) && hex(b.sentHash) === hex(a.recvHash);
    const errors = this.sides.filter((s) => s.error).map((s) => `${s.ep.stack}#${s.ep.id}: ${s.error}`);
    const stacks = [...new Set(this.sides.map((s) => s.ep.stack))];
    return {
      bytes: [b.received, a.received],
      expected: [a.total, b.total],
      intact,
      resets: this.resetCount() - this.resetsAtStart + errors.filter((e) => /RESET|REFUSED|ABORT/.test(e)).length,
      errors,
      fakeMs: endMs - this.startMs,
      retransmits: stacks.reduce((n, s) => n + this.net.retransmits(s), 0),
      done: this.finished() && errors.length === 0,
      firstMismatch: [b.firstMismatch, a.firstMismatch],
    };
  }
}

// ------------------------------------------------------------------------------ two stacks

export interface PairOptions {
  seed: number;
  impair?: ImpairParams;
  /** TCP sizes/options of both stacks. */
  tcp?: StackTcpConfig;
  mtu?: number;
}

export const PAIR_A = '10.0.0.1';
export const PAIR_B = '10.0.0.2';

/** Two stacks "a" and "b" joined by one wire w0 (10.0.0.1/24 - 10.0.0.2/24). */
export function twoStacks(o: PairOptions): InlineNet {
  const tcp: StackTcpConfig = { maxConns: 8, sendBufBytes: 1 << 17, recvBufBytes: 1 << 17, ...(o.tcp ?? {}) };
  return new InlineNet({
    seed: o.seed,
    stacks: [
      { name: 'a', links: [{ name: 'w0', addresses: [`${PAIR_A}/24`], mtu: o.mtu }], tcp },
      { name: 'b', links: [{ name: 'w0', addresses: [`${PAIR_B}/24`], mtu: o.mtu }], tcp },
    ],
    wires: [{ a: 'a:w0', b: 'b:w0', impair: o.impair }],
  });
}

/** Listens on b:port and connects a -> b:port; b's end is accepted by the transfer's pump (the
 *  client writes at once, as apps do, so its data completes a handshake whose last ACK was lost). */
export function connectPair(net: InlineNet, port = 5001, local = PAIR_A, remote = PAIR_B): { a: Endpoint; b: Endpoint } {
  const lid = listen(net, 'b', null, port);
  const cid = connect(net, 'a', local, remote, port);
  return { a: { stack: 'a', id: cid }, b: { stack: 'b', id: -1, listener: lid } };
}

/** The whole thing: two stacks, one connection, `bytes` each way; returns the result. */
export function bulkBothWays(o: PairOptions & { bytes: number; bytesBack?: number; deadlineMs?: number; onNet?: (net: InlineNet) => void }): TransferResult & { steps: number } {
  const net = twoStacks(o);
  o.onNet?.(net);
  const { a, b } = connectPair(net);
  const t = new Transfer(net, a, b, o.bytes, o.bytesBack ?? o.bytes, o.seed);
  const r = t.runToEnd(o.deadlineMs ?? 3_600_000);
  return { ...r, steps: net.pipeline.steps };
}

export { TcpState };
