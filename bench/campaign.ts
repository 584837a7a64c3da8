// The fault campaign (`npm run campaign [-- --faults N --seed S --peer stack|linux]`): checked
// traffic flows while random faults hit every actor: throw, exit, terminate, hang, oom, and
// corrupt records in the packet rings. The stack under test ("a") talks to:
//   --peer stack (default): Stack "b" in this process over a wire (192.0.2.0/24); faults hit
//     the actors of both stacks;
//   --peer linux (root): Linux, over a TAP device whose other end is in a network namespace of
//     our own (salcp-*, 198.51.100.0/24), where bench/traffic-peer.js runs the same traffic on
//     the kernel's TCP/IP; faults hit the Stack's actors (its TAP NIC included);
//   --peer both (root): both at once, a with two links (wire and TAP).
// Traffic (bench/traffic.ts), both directions: TCP streams of deterministic bytes checked byte
// by byte at the receiver (and the byte counts compared at the end), UDP datagrams carrying
// their own SHA-256, echoed back and checked. Reports faults by kind, restarts, escalations,
// TCP connections lost, corrupted bytes delivered, missing bytes, lost datagrams (UDP may
// lose), undetected hangs, hang detection and recovery times.

import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { Stack } from '../api/stack';
import type { StackLinkConfig } from '../api/config';
import { SeededRandom } from '../base/clock';
import type { FaultKind } from '../base/types';
import type { ExitInfo } from '../supervisor/supervisor';
import { CheckedTraffic, DgramLike, NetLike, TrafficStats, missingBytes } from './traffic';
import { Netns, delLinkIfAny, quietPipes, tapTestsSkipReason, uniq, waitExit, waitOutput } from '../lab/netns';

type Fault = FaultKind | 'corrupt-length' | 'corrupt-payload';
const KINDS: Fault[] = ['throw', 'exit', 'terminate', 'hang', 'oom', 'corrupt-length', 'corrupt-payload'];

export interface Args {
  faults: number;
  seed: number;
  peer: 'stack' | 'linux' | 'both';
  streams: number;
  /** Per-stream TCP pacing, Mbit/s (0: unpaced). */
  tcpMbps: number;
  /** Fault kinds to draw from (default: all of KINDS). */
  kinds?: Fault[];
  /** Stop injecting after this many seconds even if fewer than `faults` were injected (the
   *  report says how many were); every wait of the wind-down is bounded too, so a run ends. */
  budgetS?: number;
  /** Filled with the run's last steps ("12.3 s fault 7: hang at a/tcp"), for a caller that
   *  needs to say where a run is (a test about to time out). */
  progress?: string[];
}

function parse(argv: string[]): Args {
  const a: Args = { faults: 1000, seed: 1, peer: 'stack', streams: 2, tcpMbps: 0 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--faults') a.faults = Number(argv[++i]);
    else if (argv[i] === '--seed') a.seed = Number(argv[++i]);
    else if (argv[i] === '--streams') a.streams = Number(argv[++i]);
    else if (argv[i] === '--tcp-mbps') a.tcpMbps = Number(argv[++i]);
    else if (argv[i] === '--budget-s') a.budgetS = Number(argv[++i]);
    else if (argv[i] === '--kinds') {
      const ks = String(argv[++i]).split(',');
      for (const k of ks) if (!(KINDS as string[]).includes(k)) throw new Error(`--kinds: unknown fault kind "${k}" (kinds: ${KINDS.join(', ')})`);
      a.kinds = ks as Fault[];
    } else if (argv[i] === '--peer') {
      const p = argv[++i];
      if (p !== 'stack' && p !== 'linux' && p !== 'both') throw new Error(`--peer must be "stack", "linux" or "both" (got ${p})`);
      a.peer = p;
    } else throw new Error(`unknown argument ${argv[i]} (use --faults N --seed S --peer stack|linux|both --streams K --tcp-mbps M --kinds k1,k2 --budget-s T)`);
  }
  if (!Number.isInteger(a.faults) || a.faults < 0) throw new Error('--faults must be a non-negative integer (0: traffic only, a baseline)');
  if (!Number.isInteger(a.seed)) throw new Error('--seed must be an integer');
  if (!Number.isInteger(a.streams) || a.streams < 1 || a.streams > 50) throw new Error('--streams must be 1..50');
  if (!Number.isFinite(a.tcpMbps) || a.tcpMbps < 0) throw new Error('--tcp-mbps must be >= 0 (0: unpaced)');
  if (a.budgetS !== undefined && !(a.budgetS > 0)) throw new Error('--budget-s must be > 0 seconds');
  return a;
}

const pct = (xs: number[], p: number): number => {
  if (!xs.length) return NaN;
  const s = xs.slice().sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))];
};
let progress: { lines: string[]; t0: number } | null = null;
/** A step of the run: to stderr with SALAMANDER_CAMPAIGN_DEBUG, and to args.progress (last 50). */
const log = (m: string): void => {
  if (process.env.SALAMANDER_CAMPAIGN_DEBUG) process.stderr.write(`[campaign] ${m}\n`);
  if (!progress) return;
  progress.lines.push(`${((performance.now() - progress.t0) / 1000).toFixed(1)} s ${m.slice(0, 300)}`);
  if (progress.lines.length > 50) progress.lines.splice(0, progress.lines.length - 50);
};
const sumCounts = (...ms: Array<Record<string, number> | undefined>): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const m of ms) for (const [k, v] of Object.entries(m ?? {})) out[k] = (out[k] ?? 0) + v;
  return out;
};
const round = (x: number): number => Math.round(x * 10) / 10;
/** Whether `p` settled within `ms` (its result is not needed). */
const within = (p: Promise<unknown>, ms: number): Promise<boolean> => {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p.then(() => true, () => true), new Promise<boolean>((r) => (t = setTimeout(() => r(false), ms)))]).finally(() => clearTimeout(t));
};

// The hang detector runs at 60 ms here (the default is 80): the target is detection within 100 ms.
// Actor heaps are capped at 64 MiB (default 256): an injected oom then fills its heap in a
// quarter of the time; the actors' state lives in shared memory, outside that heap.
// Restarts are immediate (no back-off: these faults are injected, not a crash loop; the default
// policy pauses 5..100 ms before the 3rd..6th restart of a role within 5 s, and this campaign
// hits every actor every few seconds). The report gives recovery with and without any back-off.
const SUP = { spares: 2, hangTimeoutMs: 60, maxOldGenerationSizeMb: 64, restart: { backoffMs: [0] } };
/** A TCP stream that has not ended this long after it was told to is stalled (a connection the
 *  faults broke without an error): it is reported, with every stack's connection dump. */
const STALL_MS = 30_000;
/** Bound on a Stack's stop() at the end (it is not expected to take more than a second). */
const STOP_MS = 30_000;

/** One far end of the traffic: another Stack in this process, or the Linux peer process. */
interface Far {
  label: string;
  nearAddr: string;
  farAddr: string;
  /** Stacks of this far end to inject faults into (besides the near stack). */
  stacks: Stack[];
  start(): Promise<void>;
  /** Ends the far side's streams, waits (bounded) for ours to end there, returns its stats.
   *  `onStall` runs when a far stream has not ended in time, before it is destroyed. */
  stop(expectIn: number, onStall: () => Promise<void>): Promise<TrafficStats>;
  close(): Promise<void>;
}

const traffic = (s: Stack, args: Args): CheckedTraffic => {
  const t = new CheckedTraffic(s.net as unknown as NetLike, s.dgram as unknown as DgramLike);
  t.tcpRate = bytesPerS(args);
  return t;
};
const bytesPerS = (args: Args): number => (args.tcpMbps * 1e6) / 8;

/** Stack B on an in-process wire (the near stack's link w0, 192.0.2.0/24). */
async function stackFar(a: Stack, args: Args): Promise<Far> {
  const b = new Stack({ name: 'b', links: [{ name: 'w0', type: 'wire', addresses: ['192.0.2.2/24'] }], supervisor: SUP });
  await b.start();
  await Stack.join(a, 'w0', b, 'w0');
  const tb = traffic(b, args);
  await tb.serve('192.0.2.2');
  return {
    label: 'Salamander stack over an in-process wire',
    nearAddr: '192.0.2.1',
    farAddr: '192.0.2.2',
    stacks: [b],
    start: () => tb.start('192.0.2.2', '192.0.2.1', args.streams, 100),
    async stop(expectIn, onStall) {
      await tb.stop(STALL_MS, onStall);
      await tb.inboundDone(expectIn, STALL_MS);
      return tb.s;
    },
    async close() {
      tb.close();
      if (!(await within(b.stop(), STOP_MS))) throw new Error(`stack b did not stop within ${STOP_MS} ms`);
    },
  };
}

/** Linux in namespace `ns`, on the other end of the near stack's TAP device `dev`
 *  (198.51.100.0/24), running bench/traffic-peer.js on the kernel's sockets. */
async function linuxFar(ns: Netns, dev: string, args: Args): Promise<Far> {
  ns.adopt(dev, '198.51.100.2/24');
  const script = path.join(__dirname, 'traffic-peer.js');
  const peer = quietPipes(
    spawn('ip', ['netns', 'exec', ns.name, process.execPath, script, '198.51.100.2', '198.51.100.1', String(args.streams), String(bytesPerS(args))], { stdio: ['pipe', 'pipe', 'pipe'] }),
  );
  let out = '';
  let err = '';
  peer.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  peer.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const close = async (): Promise<void> => {
    if (peer.exitCode === null && peer.signalCode === null) {
      peer.kill('SIGKILL');
      await waitExit(peer, 5000);
    }
  };
  try {
    await waitOutput(peer, /ready/, 20_000);
  } catch (e) {
    await close();
    throw e;
  }
  return {
    label: 'Linux over TAP',
    nearAddr: '198.51.100.1',
    farAddr: '198.51.100.2',
    stacks: [],
    start: async () => void peer.stdin!.write('start\n'),
    async stop(expectIn, onStall) {
      // The peer bounds its own waits (30 s for its streams to end, 5 s for our dump, 30 s for
      // ours to arrive): see bench/traffic-peer.ts.
      const onLine = (d: Buffer): void => {
        if (/^stalled$/m.test(d.toString())) void onStall().finally(() => peer.stdin!.write('dumped\n'));
      };
      peer.stdout!.on('data', onLine);
      peer.stdin!.write(`stop ${expectIn}\n`);
      const code = await waitExit(peer, 75_000);
      peer.stdout!.off('data', onLine);
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (code !== 0 || !line) throw new Error(`Linux peer failed (exit ${code}): ${err.trim().slice(-500)}`);
      return JSON.parse(line) as TrafficStats;
    },
    close,
  };
}

export async function campaign(args: Args): Promise<Record<string, unknown>> {
  const rnd = new SeededRandom(args.seed);
  progress = args.progress ? { lines: args.progress, t0: performance.now() } : null;
  const withStack = args.peer !== 'linux';
  const withLinux = args.peer !== 'stack';
  if (withLinux) {
    const skip = tapTestsSkipReason();
    if (skip) throw new Error(`--peer ${args.peer}: ${skip}`);
  }
  const ns = new Netns('', 'salcp');
  const dev = `salcp${uniq()}`.slice(0, 15);
  const links: StackLinkConfig[] = [];
  if (withStack) links.push({ name: 'w0', type: 'wire', addresses: ['192.0.2.1/24'] });
  if (withLinux) links.push({ name: 'tap0', type: 'tap', device: dev, addresses: ['198.51.100.1/24'] });
  const a = new Stack({ name: 'a', links, supervisor: SUP });
  const fars: Far[] = [];
  /** Stops everything (each step bounded); returns what did not stop. */
  const cleanup = async (): Promise<string[]> => {
    const problems: string[] = [];
    log('cleanup: closing the far ends');
    for (const f of fars.splice(0)) await f.close().catch((e: Error) => problems.push(`${f.label}: ${e.message}`));
    log('cleanup: stopping stack a');
    if (!(await within(a.stop(), STOP_MS))) problems.push(`stack a did not stop within ${STOP_MS} ms`);
    if (withLinux) {
      log('cleanup: deleting the namespace and the TAP device');
      ns.del();
      delLinkIfAny(dev);
    }
    log(`cleanup done${problems.length ? `: ${problems.join('; ')}` : ''}`);
    return problems;
  };
  try {
    if (withLinux) ns.add();
    await a.start();
    log('stack a started');
    if (withStack) fars.push(await stackFar(a, args));
    if (withStack) log('stack b started and joined');
    if (withLinux) fars.push(await linuxFar(ns, dev, args));
    if (withLinux) log('Linux peer ready');
  } catch (e) {
    await cleanup();
    throw e;
  }
  let report: Record<string, unknown>;
  try {
    report = await run(a, fars, args, rnd);
  } catch (e) {
    // Also after a failure: the namespace and the TAP device are ours to delete.
    await cleanup();
    throw e;
  }
  return { ...report, stopProblems: await cleanup() };
}

async function run(a: Stack, fars: Far[], args: Args, rnd: SeededRandom): Promise<Record<string, unknown>> {
  const pairs = fars.map((far) => ({ far, near: traffic(a, args) }));
  for (const { far, near } of pairs) {
    await near.serve(far.nearAddr);
    await near.start(far.nearAddr, far.farAddr, args.streams, 0);
    await far.start();
  }
  // Faults.
  const stacks = [a, ...fars.flatMap((f) => f.stacks)];
  /** Restarts during the setup (none expected: a failing actor before the first fault). */
  const restartsBeforeFaults = stacks.reduce((n, s) => n + s.supervisor.stats.restarted + s.supervisor.stats.exited, 0);
  log(`traffic started; exits and restarts before the faults: ${restartsBeforeFaults}`);
  const byKind: Record<string, number> = {};
  const msByKind: Record<string, number[]> = {};
  /** Failure detected (exit seen) -> restarted actor serving. */
  const recovery: number[] = [];
  /** The same without the restart policy's deliberate back-off (a role restarted several times
   *  within the policy's period waits 5..100 ms before its restart: supervisor/policy.ts). */
  const recoveryNoBackoff: number[] = [];
  const backoffs: number[] = [];
  /** Fault injected -> serving (includes the fault's own course: an oom fills its heap first). */
  const faultToServing: number[] = [];
  /** Hang injected -> supervisor's verdict. */
  const hangDetect: number[] = [];
  /** Last heartbeat of the hung actor -> supervisor's verdict. */
  const hangSinceBeat: number[] = [];
  let undetectedHangs = 0;
  let escalations = 0;
  let ringNoop = 0;
  let ringApplied = 0;
  const exits: ExitInfo[] = [];
  /** The actor the current fault was injected into, and whether its exit was seen: any other
   *  exit is one the campaign did not ask for (a false hang verdict, a real crash). */
  let expecting: { target: string; seen: boolean } | null = null;
  const unasked: Array<{ actor: string; cause: string; detail: string; stalledMs?: number }> = [];
  for (const s of stacks) {
    s.on('exited', (e) => {
      exits.push(e);
      const target = `${s.name}/${e.name}`;
      if (expecting && !expecting.seen && expecting.target === target) expecting.seen = true;
      else unasked.push({ actor: target, cause: e.cause, detail: e.detail.slice(0, 120), stalledMs: e.stalledMs === undefined ? undefined : round(e.stalledMs) });
    });
    s.on('escalated', () => escalations++);
  }
  /** Every fault with its wall time, to put next to any corruption found (Date.now(): the
   *  Linux peer is another process). */
  const faultLog: Array<{ at: number; target: string; kind: string }> = [];
  const t0 = performance.now();
  const kinds = args.kinds?.length ? args.kinds : KINDS;
  const budgetEnd = args.budgetS ? t0 + args.budgetS * 1000 : Infinity;
  let injected = 0;
  let sparesNotReady = 0;
  for (let f = 0; f < args.faults && performance.now() < budgetEnd; f++, injected++) {
    const s = stacks[rnd.u32() % stacks.length];
    const kind = kinds[rnd.u32() % kinds.length];
    const logEntry = { at: Date.now(), target: s.name, kind };
    log(`fault ${f + 1}: ${kind} in stack ${s.name}`);
    faultLog.push(logEntry);
    byKind[kind] = (byKind[kind] ?? 0) + 1;
    const tk = performance.now();
    if (kind === 'corrupt-length' || kind === 'corrupt-payload') {
      // The link's producer damages the next batch it publishes (in transit). A ring with no
      // traffic at the moment does not apply it: withdraw after a while and try another.
      const ends = s.supervisor.linkEnds();
      let hit = false;
      for (let tries = 0; tries < 20 && !hit; tries++) {
        const l = ends[rnd.u32() % ends.length];
        if (!s.supervisor.corruptRing(l.from, l.to, kind === 'corrupt-length' ? 'length' : 'payload', () => rnd.next())) continue;
        const until = performance.now() + 20;
        while (s.supervisor.ringCorruption(l.from, l.to).pending && performance.now() < until) await new Promise((r) => setImmediate(r));
        hit = !s.supervisor.withdrawRingCorruption(l.from, l.to);
        if (hit) ringApplied++;
      }
      if (!hit) ringNoop++;
      else logEntry.target = `${s.name}/ring`;
      await new Promise((r) => setTimeout(r, 2));
    } else {
      const actors = s.supervisor.actorNames().filter((n) => s.supervisor.actorState(n) === 'running');
      const actor = actors[rnd.u32() % actors.length];
      logEntry.target = `${s.name}/${actor}`;
      log(`fault ${f + 1}: ${kind} at ${logEntry.target}`);
      const restarted = s.supervisor.waitRestarted(actor, 5000);
      const tf = performance.now();
      let detected: ExitInfo | null = null;
      let detectedAt = 0;
      const onExit = (e: ExitInfo): void => {
        if (e.name === actor && !detectedAt) {
          detectedAt = performance.now();
          detected = e;
        }
      };
      let backoff = 0;
      const onRestarted = (e: { name: string; backoffMs?: number }): void => {
        if (e.name === actor) backoff = e.backoffMs ?? 0;
      };
      s.on('exited', onExit);
      s.on('restarted', onRestarted);
      expecting = { target: `${s.name}/${actor}`, seen: false };
      await s.inject(actor, kind);
      try {
        await restarted;
        faultToServing.push(performance.now() - tf);
        recovery.push(performance.now() - (detectedAt || tf));
        recoveryNoBackoff.push(performance.now() - (detectedAt || tf) - backoff);
        if (backoff > 0) backoffs.push(backoff);
        if (kind === 'hang' && detected) {
          const d = detected as ExitInfo;
          hangDetect.push((d.detectedAt ?? detectedAt) - tf);
          if (d.stalledMs !== undefined) hangSinceBeat.push(d.stalledMs);
        }
      } catch {
        if (kind === 'hang') undetectedHangs++;
      }
      s.off('exited', onExit);
      s.off('restarted', onRestarted);
      expecting = null;
      // The next fault is measured from a full spare pool (bounded: a pool that does not refill
      // is counted, and the run goes on).
      if (!(await within(s.supervisor.sparesReady(), 10_000))) sparesNotReady++;
    }
    (msByKind[kind] ??= []).push(performance.now() - tk);
    if ((f + 1) % 100 === 0) process.stderr.write(`\r${f + 1}/${args.faults} faults, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  process.stderr.write('\n');
  const faultSeconds = (performance.now() - t0) / 1000;

  // Wind down: both sides end their streams; each waits for the other's to end.
  const side = (me: TrafficStats, other: TrafficStats): Record<string, unknown> => ({
    tcpStreamsSent: Object.keys(me.tcpOut.bytes).length,
    tcpStreamsEnded: me.tcpOut.ended,
    tcpStreamsStalled: me.tcpOut.stalled,
    tcpBytesSent: Object.values(me.tcpOut.bytes).reduce((x, y) => x + y, 0),
    tcpBytesCheckedAtPeer: Object.entries(other.tcpIn.bytes).filter(([k]) => k in me.tcpOut.bytes).reduce((x, [, y]) => x + y, 0),
    tcpMissingBytes: missingBytes(me.tcpOut.bytes, other.tcpIn.bytes),
    tcpCorruptBytesAtPeer: other.tcpIn.corruptBytes,
    tcpSendErrors: me.tcpOut.errorCodes,
    udpSent: me.udp.sent,
    udpEchoedByPeer: other.udpEcho.echoed,
    udpIntactBack: me.udp.intactBack,
    udpLost: me.udp.sent - me.udp.intactBack,
    udpCorruptDelivered: me.udp.corruptDelivered + other.udpEcho.corruptDelivered,
    udpSocketErrors: me.udp.socketErrors + other.udpEcho.socketErrors,
    udpSocketErrorCodes: sumCounts(me.udp.errorCodes, other.udpEcho.errorCodes),
  });
  const traffics: Record<string, unknown>[] = [];
  const corruptions: Record<string, unknown>[] = [];
  let tcpLost = 0;
  let corrupted = 0;
  let missing = 0;
  // Every stack's connections at the moment a stream is found stalled, before it is destroyed.
  const stallDumps: Array<{ when: string; dumps: Record<string, unknown> }> = [];
  const dumpAll = async (when: string): Promise<void> => {
    const dumps: Record<string, unknown> = {};
    for (const s of stacks) dumps[s.name] = await s.control('tcp', 'dump').catch((e: Error) => `dump failed: ${e.message}`);
    stallDumps.push({ when, dumps });
    log(`stall (${when}): ${JSON.stringify(dumps).slice(0, 4000)}`);
  };
  // The pairs wind down together, every wait bounded (STALL_MS each step; the Linux peer bounds
  // its own), so a stalled connection is reported rather than waited for.
  log('stopping near senders');
  await Promise.all(pairs.map(({ far, near }) => near.stop(STALL_MS, () => dumpAll(`${far.label}: stack's stream to the peer`))));
  log('near senders stopped; stopping far');
  const farStats = await Promise.all(pairs.map(({ far }) => far.stop(args.streams, () => dumpAll(`${far.label}: peer's stream to the stack`))));
  log('far ends stopped; waiting for their streams to end here');
  await Promise.all(pairs.map(({ near }) => near.inboundDone(args.streams, STALL_MS)));
  log('wind-down done');
  // Let the last echoes arrive (bounded).
  const deadline = performance.now() + 2000;
  while (pairs.some(({ near }) => near.s.udp.intactBack < near.s.udp.sent) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  let stalled = 0;
  pairs.forEach(({ far, near }, i) => {
    const nearStats = near.s;
    const fs = farStats[i];
    stalled += Object.keys(nearStats.tcpOut.stalled).length + Object.keys(fs.tcpOut.stalled).length;
    tcpLost += nearStats.tcpOut.errors + fs.tcpOut.errors + nearStats.tcpIn.errors + fs.tcpIn.errors;
    for (const t of [nearStats, fs]) corrupted += t.tcpIn.corruptBytes + t.udp.corruptDelivered + t.udpEcho.corruptDelivered;
    missing += missingBytes(nearStats.tcpOut.bytes, fs.tcpIn.bytes) + missingBytes(fs.tcpOut.bytes, nearStats.tcpIn.bytes);
    traffics.push({ peer: far.label, stackToPeer: side(nearStats, fs), peerToStack: side(fs, nearStats) });
    // Any wrong byte, with the faults of the 3 s before it: where to start looking.
    for (const [where, st] of [[`${far.label}: at the peer`, fs], [`${far.label}: at the stack`, nearStats]] as const) {
      for (const c of st.tcpIn.firstCorrupt ?? []) {
        corruptions.push({ where, ...c, faultsBefore: faultLog.filter((x) => x.at <= c.at && x.at > c.at - 3000).map((x) => `${x.at - c.at} ms ${x.target} ${x.kind}`) });
      }
    }
    near.close();
  });
  const report = {
    peers: fars.map((f) => f.label),
    seed: args.seed,
    streamsEachWay: args.streams,
    tcpPacingMbpsPerStream: args.tcpMbps || 'unpaced',
    actorsUnderFault: stacks.flatMap((s) => s.supervisor.actorNames().map((n) => `${s.name}/${n}`)),
    faultsPlanned: args.faults,
    faultsInjected: injected,
    faultBudgetS: args.budgetS,
    sparesNotReady,
    byKind,
    meanMsPerFaultByKind: Object.fromEntries(Object.entries(msByKind).map(([k, v]) => [k, round(v.reduce((x, y) => x + y, 0) / v.length)])),
    ringFaultsApplied: ringApplied,
    ringFaultsNotApplied: ringNoop,
    restarts: stacks.reduce((n, s) => n + s.supervisor.stats.restarted, 0),
    exitsAndRestartsBeforeFaults: restartsBeforeFaults,
    escalations,
    exitsSeen: exits.length,
    /** Exits no fault asked for: false hang verdicts on a loaded machine, or real crashes. */
    exitsNotInjected: unasked.length,
    exitsNotInjectedFirst: unasked.slice(0, 20),
    processCrashes: 0, // this report is printed by the same process: reaching it means none
    undetectedHangs,
    hangDetectionMs: { fromInjection: { p50: round(pct(hangDetect, 0.5)), p99: round(pct(hangDetect, 0.99)), max: round(pct(hangDetect, 1)) }, fromLastHeartbeat: { p50: round(pct(hangSinceBeat, 0.5)), p99: round(pct(hangSinceBeat, 0.99)), max: round(pct(hangSinceBeat, 1)) } },
    recoveryMs: { p50: round(pct(recovery, 0.5)), p99: round(pct(recovery, 0.99)), n: recovery.length },
    recoveryWithoutPolicyBackoffMs: { p50: round(pct(recoveryNoBackoff, 0.5)), p99: round(pct(recoveryNoBackoff, 0.99)) },
    restartsWithPolicyBackoff: { n: backoffs.length, meanMs: round(backoffs.reduce((x, y) => x + y, 0) / (backoffs.length || 1)) },
    faultToServingMs: { p50: round(pct(faultToServing, 0.5)), p99: round(pct(faultToServing, 0.99)) },
    tcpConnectionsLost: tcpLost,
    /** Streams that neither ended nor failed within STALL_MS of being told to end. */
    tcpStreamsStalled: stalled,
    stallDumps,
    corruptedBytesDelivered: corrupted,
    tcpMissingBytes: missing,
    traffic: traffics,
    corruptions,
    ringCorruptRecordsDetected: stacks.flatMap((s) => s.supervisor.status().links).reduce((n, l) => n + l.corrupt, 0),
    faultSeconds: round(faultSeconds),
    wallSeconds: round((performance.now() - t0) / 1000),
  };
  return report;
}

if (require.main === module) {
  campaign(parse(process.argv.slice(2)))
    .then((r) => {
      console.log(JSON.stringify(r, null, 2));
      process.exit(0);
    })
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
