// The supervisor: owns every ring, control block and shared region; starts actors from a
// declarative pipeline; detects failures (uncaught exception, process.exit in the worker, heap
// exhaustion under resourceLimits, and hangs: a busy actor whose heartbeat stalls); restarts a
// failed role on a pre-booted spare worker that adopts the same rings and shared state;
// applies OTP-style restart policies (one_for_one / rest_for_one, intensity within a period,
// escalation, back-off); adds and removes actors and rings at runtime; and injects faults.

import { Worker, MessageChannel, MessagePort } from 'node:worker_threads';
import * as path from 'node:path';
import * as fs from 'node:fs';
import EventEmitter from 'eventemitter3';
import * as Comlink from 'comlink';
// eslint-disable-next-line @typescript-eslint/no-var-requires
const nodeEndpoint = require('comlink/dist/umd/node-adapter');
import { ActorWord, RingWord, CorruptMode, RING_HEADER_BYTES } from '../base/layout';
import { RingDescriptor, RingReader } from '../base/ring';
import { Counters } from '../base/actor';
import { Topology, RoleResources } from '../base/topology';
import { insertStage, removeStage, StageHost, StagePorts } from '../base/stages';
import {
  ActorApi, ActorSpec, FaultKind, FAULT_KINDS, FromWorker, LinkSpec, PipelineSpec, RestartPolicy, ToWorker,
} from '../base/types';
import { RestartHistory, resolvePolicy } from './policy';

export type RoleState = 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped' | 'escalated';

export interface ExitInfo {
  name: string;
  incarnation: number;
  cause: FaultKind | 'error' | 'rest_for_one';
  detail: string;
  /** Hangs: when the detector gave its verdict (performance.now()) and how long the heartbeat
   *  had then stood still. */
  detectedAt?: number;
  stalledMs?: number;
}

export interface SupervisorEvents {
  started: (e: { name: string; incarnation: number }) => void;
  exited: (e: ExitInfo) => void;
  /** downtimeMs: failure detected -> serving again, including backoffMs (the policy's pause). */
  restarted: (e: { name: string; incarnation: number; downtimeMs: number; backoffMs?: number }) => void;
  escalated: (e: { name: string; failures: number; last: ExitInfo }) => void;
  'actor-event': (e: { name: string; event: string; data?: unknown }) => void;
}

export interface SupervisorOptions {
  /** Pre-booted spare workers kept ready to adopt a failed role (default 1). */
  spares?: number;
  /** A busy actor whose heartbeat does not move for this long is declared hung (default 80). */
  hangTimeoutMs?: number;
  /** How often the hang detector looks (default 10). */
  hangCheckMs?: number;
  /** Default ring capacity (default 1 MiB). */
  ringCapacity?: number;
  /** Default worker heap limit for actors (default 256 MiB). */
  maxOldGenerationSizeMb?: number;
  /** Time a worker has to adopt its role (default 10 s). */
  readyTimeoutMs?: number;
  /** Restart policy for every actor that does not set its own fields (defaults: one_for_one,
   *  intensity 10 per 5000 ms, back-off [0, 0, 5, 20, 50, 100] ms by restarts in the window). */
  restart?: Partial<RestartPolicy>;
}

interface Role extends RoleResources {
  policy: RestartPolicy;
  history: RestartHistory;
  state: RoleState;
  incarnation: number;
  worker: Worker | null;
  api: Comlink.Remote<ActorApi> | null;
  controlPort: MessagePort | null;
  /** Cause set by whoever kills the worker on purpose (inject terminate, hang detector). */
  pendingCause: ExitInfo['cause'] | null;
  lastError: Error | null;
  /** When the current failure was detected (for downtime). */
  failedAt: number;
  restarts: number;
  /** The hang detector's verdict on the current failure, if it was a hang. */
  hangVerdict: { at: number; stalledMs: number } | null;
  /** Hang detector state. */
  lastBeat: number;
  /** INPROG_POS when last looked at (a record taken is progress too). */
  lastPos: number;
  lastBeatAt: number;
  /** CPU ms the worker thread had used when its heartbeat was first seen still (-1: unknown). */
  stallCpuMs: number;
  /** Rejects outstanding RPC calls when the incarnation dies. */
  died: { promise: Promise<never>; reject: (e: Error) => void };
  ready: { resolve: () => void; reject: (e: Error) => void } | null;
}

interface Spare {
  worker: Worker;
  heapMb: number;
  booted: Promise<void>;
  /** Resolves once the spare has warmed up (lab/warmup.ts), or at once if it will not; also
   *  when it adopts a role or exits (it is no longer a spare: nobody may wait on it for ever). */
  warmed: Promise<void>;
  settleWarm: () => void;
  warmRequested: boolean;
  /** Booted and warm: adopts a role at once. */
  ready: boolean;
  adopted: boolean;
}

const WORKER_SCRIPT = path.join(__dirname, '..', 'base', 'worker.js');
/** How long an actor with an injected exit/throw/oom in flight may stay silent. */
const INJECTED_FAULT_GRACE_MS = 5000;
/** Resolution of /proc/.../stat thread CPU times (USER_HZ = 100), the fallback clock. */
const CPU_TICK_MS = 10;
/** /proc/PID/task/TID/schedstat (the scheduler's exact run time, in ns) exists where the kernel
 *  has CONFIG_SCHED_INFO; decided once, for the whole process. */
const HAS_SCHEDSTAT = fs.existsSync('/proc/self/schedstat');
/** Smallest CPU use that tells a spinning thread from a starved one: two ticks of the clock. */
const CPU_RESOLUTION_MS = HAS_SCHEDSTAT ? 1 : CPU_TICK_MS;

/** CPU time (ms) a thread of this process has used, or -1 if unknown (it exited). Exact where
 *  schedstat exists, else in 10 ms ticks from stat. */
function threadCpuMs(tid: number): number {
  if (tid <= 0) return -1;
  try {
    if (HAS_SCHEDSTAT) {
      const ss = fs.readFileSync(`/proc/self/task/${tid}/schedstat`, 'latin1');
      return Number(ss.slice(0, ss.indexOf(' '))) / 1e6;
    }
    const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'latin1');
    // Fields after the ")" that ends the command name: state is field 3; utime 14, stime 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * CPU_TICK_MS;
  } catch {
    return -1;
  }
}

export class SupervisorError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
    this.name = 'SupervisorError';
  }
}

function deferredDeath(): Role['died'] {
  let reject!: (e: Error) => void;
  const promise = new Promise<never>((_, rej) => (reject = rej));
  promise.catch(() => undefined);
  return { promise, reject };
}

export class Supervisor extends EventEmitter<SupervisorEvents> {
  private readonly roles = new Map<string, Role>();
  private readonly topo: Topology;
  private readonly spares: Spare[] = [];
  /** start() has launched every actor (spares booted from now on warm up at boot). */
  private running = false;
  private readonly opts: Required<SupervisorOptions>;
  private hangTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** handleFailure() calls in progress (stop() waits for them). */
  private readonly restarting = new Set<Promise<void>>();
  /** Failure-detected -> serving-again times of every restart, ms. */
  readonly recoveryMs: number[] = [];
  readonly stats = {
    started: 0, exited: 0, restarted: 0, escalated: 0, hangs: 0,
    /** Restarts abandoned because the role was stopped or removed while its spare booted. */
    adoptionsAborted: 0,
  };

  constructor(opts: SupervisorOptions = {}) {
    super();
    this.opts = {
      spares: opts.spares ?? 1,
      hangTimeoutMs: opts.hangTimeoutMs ?? 80,
      hangCheckMs: opts.hangCheckMs ?? 10,
      ringCapacity: opts.ringCapacity ?? 1 << 20,
      maxOldGenerationSizeMb: opts.maxOldGenerationSizeMb ?? 256,
      readyTimeoutMs: opts.readyTimeoutMs ?? 10000,
      restart: opts.restart ?? {},
    };
    this.topo = new Topology(this.opts.ringCapacity);
  }

  // ---------------------------------------------------------------- lifecycle

  /** Starts every actor of `spec` and wires its rings. */
  async start(spec: PipelineSpec): Promise<void> {
    if (this.closed) throw new SupervisorError('supervisor is stopped', 'ERR_SUPERVISOR_STOPPED');
    this.fillSpares();
    for (const a of spec.actors) this.createRole(a);
    for (const l of spec.links) this.topo.addLink(l);
    // Start in declaration order (rest_for_one restarts follow the same order).
    for (const a of spec.actors) await this.launch(this.roles.get(a.name)!);
    this.running = true;
    this.warmIdleSpares();
    this.startHangDetector();
  }

  /** Stops every actor (clean stop, then terminate) and drops the spares. */
  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.hangTimer) clearInterval(this.hangTimer);
    const names = [...this.roles.values()].sort((a, b) => b.order - a.order).map((r) => r.spec.name);
    for (const n of names) await this.stopRole(this.roles.get(n)!);
    // A spare still booting is loading native code; terminating it mid-initialisation would
    // abort the process (see base/worker.ts): let it finish booting first (bounded).
    await Promise.all(
      this.spares.splice(0).map(async (s) => {
        await Promise.race([s.booted.catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
        await s.worker.terminate().catch(() => 0);
      }),
    );
    // Restarts in flight (a role that failed just before, its spare still booting) must end
    // before the bells' eventfds and the devices' fds are closed: a worker adopting a role
    // after that would poll, read and write fd numbers the process may already have reused
    // (seen as stray bytes in an unrelated TCP socket of the same process).
    await Promise.all([...this.restarting]);
    for (const r of this.roles.values()) Topology.closeBell(r);
  }

  // ---------------------------------------------------------------- runtime changes

  /** Adds an actor (and optionally its links) while the others keep running. */
  async addActor(spec: ActorSpec, links: LinkSpec[] = []): Promise<void> {
    if (this.roles.has(spec.name)) throw new SupervisorError(`actor "${spec.name}" already exists`, 'ERR_ACTOR_EXISTS');
    const role = this.createRole(spec);
    try {
      for (const l of links) this.topo.addLink(l);
    } catch (e) {
      for (const l of this.topo.removeRole(spec.name)) void l;
      this.roles.delete(spec.name);
      throw e;
    }
    await this.launch(role);
    await this.rewireNeighbours(links, spec.name);
    this.startHangDetector();
  }

  /** Removes an actor and every ring touching it; its neighbours are rewired, not restarted. */
  async removeActor(name: string): Promise<void> {
    const role = this.mustRole(name);
    const touching = this.topo.removeRole(name);
    await this.rewireNeighbours(touching.map((l) => l.spec), name);
    await this.stopRole(role);
    Topology.closeBell(role);
    this.roles.delete(name);
  }

  /** Adds a ring between two existing actors. */
  async addLink(spec: LinkSpec): Promise<void> {
    this.topo.addLink(spec);
    await this.rewireNeighbours([spec]);
  }

  /** Removes a ring; records still in it are dropped. */
  async removeLink(from: string, to: string): Promise<void> {
    const l = this.topo.removeLink(from, to);
    await this.rewireNeighbours([l.spec]);
  }

  /** Inserts a pass-through stage (a filter, a capture...) into the link from -> to while
   *  records flow: nothing lost, duplicated or reordered (base/stages.ts). */
  async insertStage(from: string, to: string, stage: ActorSpec, ports?: StagePorts, timeoutMs = 10000): Promise<void> {
    await insertStage(this.stageHost(timeoutMs), from, to, stage, ports);
    this.startHangDetector();
  }

  /** Takes a pass-through stage out again, joining its neighbours directly. */
  async removeStage(name: string, ports?: StagePorts, timeoutMs = 10000): Promise<LinkSpec> {
    return removeStage(this.stageHost(timeoutMs), name, ports);
  }

  private stageHost(timeoutMs: number): StageHost {
    return {
      topo: this.topo,
      addRole: (spec) => void this.createRole(spec),
      launch: (name) => this.launch(this.mustRole(name)),
      rewire: async (names) => {
        for (const n of names) {
          const role = this.roles.get(n);
          if (!role || role.state !== 'running' || !role.api) continue;
          const { inputs, outputs } = this.topo.portsOf(n);
          await this.rpc(role, role.api.rewire(inputs, outputs), 5000);
        }
      },
      until: async (cond, what) => {
        const deadline = performance.now() + timeoutMs;
        while (!cond()) {
          if (performance.now() > deadline) throw new SupervisorError(`timed out waiting for ${what}`, 'ERR_TIMEOUT');
          await new Promise((r) => setTimeout(r, 1));
        }
      },
      stop: async (name) => {
        const role = this.mustRole(name);
        this.topo.removeRole(name);
        await this.stopRole(role);
        Topology.closeBell(role);
        this.roles.delete(name);
      },
    };
  }

  /** Hot-swap: replaces a running actor by a new instance, possibly of another kind or with
   *  another config, that adopts the same rings and shared state (a planned restart). */
  async replaceActor(name: string, change: { kind?: string; config?: unknown }): Promise<void> {
    const role = this.mustRole(name);
    if (change.kind !== undefined) role.spec.kind = change.kind;
    if (change.config !== undefined) role.spec.config = change.config;
    await this.restartRole(name);
  }

  /** A planned restart (new config or new ports to pick up): the current incarnation is
   *  stopped and a spare adopts the role with its desired config. Not counted as a failure. */
  async restartRole(name: string): Promise<void> {
    const role = this.mustRole(name);
    if (role.state !== 'running') throw new SupervisorError(`actor "${name}" is ${role.state}`, 'ERR_ACTOR_NOT_RUNNING');
    const t0 = performance.now();
    role.state = 'restarting';
    await this.killWorker(role);
    await this.launch(role);
    this.emit('restarted', { name, incarnation: role.incarnation, downtimeMs: performance.now() - t0 });
  }

  /** Replaces the config a role's next incarnation starts from (the desired state), without
   *  restarting it: live changes are applied by control ops, and a restart then rebuilds the
   *  role from the updated config. */
  setDesiredConfig(name: string, config: unknown): void {
    this.mustRole(name).spec.config = config;
  }

  desiredConfig(name: string): unknown {
    return this.mustRole(name).spec.config;
  }

  /** The inbound bell of a role: rings that cross into this supervisor from another one use
   *  it as their consumer (or producer) bell. */
  bellOf(name: string): import('../base/bell').BellDescriptor {
    return this.mustRole(name).bell.desc;
  }

  /** Binds a port to a ring owned elsewhere (another stack's supervisor). */
  async attachExternal(end: string, dir: 'in' | 'out', ring: RingDescriptor): Promise<void> {
    const l = this.topo.addExternal(end, dir, ring);
    await this.rewireNeighbours([l.spec]);
  }

  async detachExternal(end: string, dir: 'in' | 'out'): Promise<void> {
    const l = this.topo.removeExternal(end, dir);
    await this.rewireNeighbours([l.spec]);
  }

  // ---------------------------------------------------------------- control and faults

  /** Runs a control operation on an actor (typed RPC). Rejects if the actor dies meanwhile. */
  async control(name: string, op: string, args?: unknown, timeoutMs = 5000): Promise<unknown> {
    const role = this.mustRole(name);
    if (!role.api || role.state !== 'running') throw new SupervisorError(`actor "${name}" is ${role.state}`, 'ERR_ACTOR_NOT_RUNNING');
    return this.rpc(role, role.api.control(op, args), timeoutMs);
  }

  /** Injects a fault into a running actor. Resolves once the fault is delivered (not once the
   *  actor has restarted: wait for the 'restarted' event or use waitRestarted()). */
  async inject(name: string, kind: FaultKind): Promise<void> {
    if (!FAULT_KINDS.includes(kind)) throw new SupervisorError(`unknown fault kind "${kind}" (one of ${FAULT_KINDS.join(', ')})`, 'ERR_FAULT_KIND');
    const role = this.mustRole(name);
    if (role.state !== 'running' || !role.worker || !role.api) throw new SupervisorError(`actor "${name}" is ${role.state}`, 'ERR_ACTOR_NOT_RUNNING');
    role.failedAt = performance.now();
    if (kind === 'terminate') {
      role.pendingCause = 'terminate';
      void role.worker.terminate();
      return;
    }
    role.pendingCause = kind;
    // The call never returns for exit/hang/oom; do not wait for it.
    role.api.inject(kind).catch(() => undefined);
    this.pokeControl(role);
  }

  /** Fault injection into a ring, in transit: asks the link's producer to damage the next
   *  batch it publishes (the length word of its last record, or one bit of that record's
   *  payload). The producer applies it to a record no reader can see yet (RingWriter.publish),
   *  so this models corruption on the way, never a write into a record a reader holds. The
   *  reader must reject a bad length (counted CORRUPT, backlog dropped) and the protocol layers
   *  a flipped bit (checksums, seals). Returns false when a request is already pending on the
   *  link. `rnd` returns uniform [0, 1). See ringCorruption() / withdrawRingCorruption(). */
  corruptRing(from: string, to: string, mode: 'length' | 'payload', rnd: () => number = Math.random): boolean {
    const hdr = this.linkHeader(from, to);
    if (mode !== 'length' && mode !== 'payload') throw new SupervisorError(`corruption mode must be "length" or "payload", got ${String(mode)}`, 'ERR_INVALID_ARG');
    Atomics.store(hdr, RingWord.CORRUPT_SEED, Math.floor(rnd() * 2 ** 32) | 0);
    const req = mode === 'length' ? CorruptMode.LENGTH : CorruptMode.PAYLOAD;
    return Atomics.compareExchange(hdr, RingWord.CORRUPT_REQ, CorruptMode.NONE, req) === CorruptMode.NONE;
  }

  /** State of a link's corruption requests: one pending, and how many were applied so far. */
  ringCorruption(from: string, to: string): { pending: boolean; applied: number } {
    const hdr = this.linkHeader(from, to);
    return { pending: Atomics.load(hdr, RingWord.CORRUPT_REQ) !== CorruptMode.NONE, applied: Atomics.load(hdr, RingWord.CORRUPT_APPLIED) };
  }

  /** Withdraws a pending corruption request; true if it had not been applied yet. */
  withdrawRingCorruption(from: string, to: string): boolean {
    const hdr = this.linkHeader(from, to);
    return Atomics.exchange(hdr, RingWord.CORRUPT_REQ, CorruptMode.NONE) !== CorruptMode.NONE;
  }

  private linkHeader(from: string, to: string): Int32Array {
    const l = this.topo.links.get(`${from}->${to}`);
    if (!l) throw new SupervisorError(`no link ${from}->${to}`, 'ERR_NO_LINK');
    return new Int32Array(l.ring.buffer, 0, RING_HEADER_BYTES / 4);
  }

  /** Every link's "from -> to" ends (for fault campaigns). */
  linkEnds(): Array<{ from: string; to: string }> {
    return [...this.topo.links.values()].filter((l) => !l.spec.from.startsWith('external:') && !l.spec.to.startsWith('external:')).map((l) => ({ from: l.spec.from, to: l.spec.to }));
  }

  /** Resolves when `name` has restarted (or rejects on escalation / timeout). */
  waitRestarted(name: string, timeoutMs = 10000): Promise<{ name: string; incarnation: number; downtimeMs: number }> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        cleanup();
        reject(new SupervisorError(`actor "${name}" did not restart within ${timeoutMs} ms`, 'ERR_TIMEOUT'));
      }, timeoutMs);
      const onR = (e: { name: string; incarnation: number; downtimeMs: number }): void => {
        if (e.name !== name) return;
        cleanup();
        resolve(e);
      };
      const onE = (e: { name: string }): void => {
        if (e.name !== name) return;
        cleanup();
        reject(new SupervisorError(`actor "${name}" escalated`, 'ERR_ESCALATED'));
      };
      const cleanup = (): void => {
        clearTimeout(t);
        this.off('restarted', onR);
        this.off('escalated', onE);
      };
      this.on('restarted', onR);
      this.on('escalated', onE);
    });
  }

  // ---------------------------------------------------------------- observation

  /** Resolves when the spare pool is full and booted (benchmarks measure restarts from here). */
  async sparesReady(): Promise<void> {
    for (;;) {
      this.fillSpares();
      const pending = this.spares.slice();
      await Promise.all(pending.map((s) => s.booted.catch(() => undefined)));
      await Promise.all(pending.map((s) => s.warmed));
      if (this.spares.length >= this.opts.spares || this.closed) return;
    }
  }

  counters(name: string): Record<string, number> {
    const role = this.mustRole(name);
    return Counters.read(role.block, role.counterSlots);
  }

  actorState(name: string): RoleState {
    return this.mustRole(name).state;
  }

  actorNames(): string[] {
    return [...this.roles.keys()];
  }

  status(): {
    actors: Array<{ name: string; kind: string; state: RoleState; incarnation: number; restarts: number; heartbeat: number; counters: Record<string, number> }>;
    links: Array<{ from: string; to: string; capacity: number; fill: number; committed: number; corrupt: number; full: number }>;
    stats: Supervisor['stats'];
  } {
    return {
      actors: [...this.roles.values()].map((r) => ({
        name: r.spec.name,
        kind: r.spec.kind,
        state: r.state,
        incarnation: r.incarnation,
        restarts: r.restarts,
        heartbeat: Atomics.load(r.blockI32, ActorWord.HEARTBEAT),
        counters: Counters.read(r.block, r.counterSlots),
      })),
      links: [...this.topo.links.values()].map((l) => {
        const rd = new RingReader(l.ring);
        return {
          from: l.spec.from, to: l.spec.to, capacity: rd.capacity, fill: rd.fill(),
          committed: rd.committedCount, corrupt: rd.corruptCount, full: rd.fullCount,
        };
      }),
      stats: { ...this.stats },
    };
  }

  /** The ring descriptor of a link (tests and benchmarks attach to rings directly). */
  ring(from: string, to: string): RingDescriptor {
    const l = this.topo.links.get(`${from}->${to}`);
    if (!l) throw new SupervisorError(`no link ${from}->${to}`, 'ERR_NO_LINK');
    return l.ring;
  }

  /** A role's shared region (tests, state dumps). */
  sharedRegion(name: string, region: string): SharedArrayBuffer | undefined {
    return this.mustRole(name).shared[region];
  }

  // ---------------------------------------------------------------- internals

  private mustRole(name: string): Role {
    const r = this.roles.get(name);
    if (!r) throw new SupervisorError(`no actor "${name}"`, 'ERR_NO_ACTOR');
    return r;
  }

  private createRole(spec: ActorSpec): Role {
    const policy = resolvePolicy({ ...(this.opts.restart ?? {}), ...(spec.restart ?? {}) });
    const res = this.topo.addRole(spec);
    const role: Role = Object.assign(res, {
      policy, history: new RestartHistory(policy), state: 'stopped' as RoleState, incarnation: -1,
      worker: null, api: null, controlPort: null, pendingCause: null, lastError: null, failedAt: 0, restarts: 0, hangVerdict: null,
      lastBeat: -1, lastPos: 0, lastBeatAt: 0, stallCpuMs: -1, died: deferredDeath(), ready: null,
    });
    this.roles.set(spec.name, role);
    return role;
  }

  private async rewireNeighbours(links: LinkSpec[], except?: string): Promise<void> {
    for (const n of this.topo.neighbours(links)) {
      if (n === except) continue;
      const role = this.roles.get(n);
      if (!role || role.state !== 'running' || !role.api) continue; // picks the wiring up at (re)start
      const { inputs, outputs } = this.topo.portsOf(n);
      await this.rpc(role, role.api.rewire(inputs, outputs), 5000).catch(() => undefined);
    }
  }

  // ---- spares

  private bootSpare(heapMb: number, warm = this.running): Spare {
    // Spares booted after start() warm up as part of their boot; those of start() itself do
    // it once the start is done (warmIdleSpares), so a start does not wait for warm-ups.
    const worker = new Worker(WORKER_SCRIPT, { workerData: { warm }, resourceLimits: { maxOldGenerationSizeMb: heapMb } });
    let resolveBoot!: () => void;
    let rejectBoot!: (e: Error) => void;
    let resolveWarm!: () => void;
    const spare: Spare = {
      worker, heapMb, adopted: false, warmRequested: warm, ready: false,
      booted: new Promise<void>((res, rej) => ((resolveBoot = res), (rejectBoot = rej))),
      warmed: new Promise<void>((res) => (resolveWarm = res)),
      settleWarm: () => resolveWarm(),
    };
    spare.booted.catch(() => undefined);
    const onMsg = (m: FromWorker): void => {
      if (m.type === 'booted') {
        resolveBoot();
        if (warm) {
          spare.ready = true;
          resolveWarm();
        }
      } else if (m.type === 'warmed') {
        spare.ready = true;
        resolveWarm();
      }
    };
    worker.on('message', onMsg);
    worker.once('error', (e) => rejectBoot(e));
    worker.once('exit', (code) => {
      rejectBoot(new SupervisorError(`spare worker exited (${code}) before adopting a role`, 'ERR_SPARE_EXIT'));
      resolveWarm();
      const i = this.spares.indexOf(spare);
      if (i >= 0) this.spares.splice(i, 1);
    });
    worker.unref();
    return spare;
  }

  /** Asks the spares booted cold during start() to warm up now. */
  private warmIdleSpares(): void {
    for (const s of this.spares) {
      if (s.warmRequested) continue;
      s.warmRequested = true;
      s.worker.postMessage({ type: 'warm' } satisfies ToWorker);
    }
  }

  private fillSpares(): void {
    if (this.closed) return;
    const want = this.opts.spares;
    const have = this.spares.filter((s) => s.heapMb === this.opts.maxOldGenerationSizeMb).length;
    for (let i = have; i < want; i++) this.spares.push(this.bootSpare(this.opts.maxOldGenerationSizeMb));
  }

  private async takeSpare(heapMb: number): Promise<Spare> {
    for (;;) {
      // Best a spare that is booted and warm, then one still warming up or booting; with none,
      // boot one without the warm-up (someone is waiting for it).
      let i = this.spares.findIndex((s) => s.heapMb === heapMb && s.ready);
      if (i < 0) i = this.spares.findIndex((s) => s.heapMb === heapMb);
      const spare = i >= 0 ? this.spares.splice(i, 1)[0] : this.bootSpare(heapMb, false);
      spare.worker.ref(); // we are waiting on it now: keep the process alive
      setImmediate(() => this.fillSpares());
      try {
        await spare.booted;
        spare.adopted = true;
        // Its 'warmed' reply, if a warm-up is still running, will reach the role's handler
        // (launch() replaces the spare's): settle it now for sparesReady() waiting on it.
        spare.settleWarm();
        return spare;
      } catch {
        void spare.worker.terminate().catch(() => 0);
        if (this.closed) throw new SupervisorError('supervisor is stopped', 'ERR_SUPERVISOR_STOPPED');
      }
    }
  }

  // ---- launching and failures

  private async launch(role: Role): Promise<void> {
    role.state = role.incarnation < 0 ? 'starting' : 'restarting';
    role.incarnation++;
    role.pendingCause = null;
    role.lastError = null;
    role.died = deferredDeath();
    const spare = await this.takeSpare(role.spec.maxOldGenerationSizeMb ?? this.opts.maxOldGenerationSizeMb);
    const worker = spare.worker;
    if (this.closed || (role.state !== 'starting' && role.state !== 'restarting')) {
      // Stopped (or removed) while the spare booted: the role's rings, bell and devices may be
      // gone already; the spare must not adopt it.
      this.stats.adoptionsAborted++;
      await worker.terminate().catch(() => 0);
      throw new SupervisorError(`actor "${role.spec.name}" was stopped before its new incarnation started`, 'ERR_SUPERVISOR_STOPPED');
    }
    worker.removeAllListeners('message');
    worker.removeAllListeners('error');
    worker.removeAllListeners('exit');
    worker.ref();
    role.worker = worker;
    const incarnation = role.incarnation;
    worker.on('message', (m: FromWorker) => this.onWorkerMessage(role, m));
    worker.on('error', (e) => {
      // An uncaught exception (or heap exhaustion) has already stopped the worker's JavaScript:
      // nothing of it can touch the rings any more, so the role is handed on now rather than
      // after the thread's teardown (the later 'exit' is then ignored).
      if (role.worker === worker && role.incarnation === incarnation) {
        role.lastError = e;
        this.onExit(role, 1);
      }
    });
    worker.on('exit', (code) => {
      if (role.worker === worker && role.incarnation === incarnation) this.onExit(role, code);
    });
    const { port1, port2 } = new MessageChannel();
    role.controlPort = port1;
    const ready = new Promise<void>((resolve, reject) => (role.ready = { resolve, reject }));
    const timer = setTimeout(
      () => role.ready?.reject(new SupervisorError(`actor "${role.spec.name}" did not become ready in ${this.opts.readyTimeoutMs} ms`, 'ERR_TIMEOUT')),
      this.opts.readyTimeoutMs,
    );
    role.lastBeat = -1;
    role.lastBeatAt = performance.now();
    role.stallCpuMs = -1;
    // The control block still holds the dead incarnation's BUSY and TID: until the new worker
    // takes the role (it sets both in adopt()), the hang detector must not read them as a
    // busy thread with a still heartbeat (a spare finishing its warm-up first took >80 ms).
    // An adoption that never completes is caught by readyTimeoutMs.
    Atomics.store(role.blockI32, ActorWord.BUSY, 0);
    Atomics.store(role.blockI32, ActorWord.TID, 0);
    worker.postMessage({ type: 'adopt', role: this.topo.assignment(role.spec.name, role.incarnation), control: port2 }, [port2]);
    try {
      await ready;
    } finally {
      clearTimeout(timer);
      role.ready = null;
    }
    role.api = Comlink.wrap<ActorApi>(this.endpoint(role, port1));
    role.state = 'running';
    this.stats.started++;
    this.emit('started', { name: role.spec.name, incarnation: role.incarnation });
  }

  /** The comlink endpoint for a role: every message posted also raises CONTROL and rings the
   *  bell, so a worker asleep in Atomics.wait (or poll) returns to its event loop to read it. */
  private endpoint(role: Role, port: MessagePort): Comlink.Endpoint {
    const ep = nodeEndpoint(port) as Comlink.Endpoint;
    return {
      postMessage: (msg: unknown, transfer?: any[]) => { // eslint-disable-line @typescript-eslint/no-explicit-any
        ep.postMessage(msg, transfer);
        // Only for the live incarnation: comlink also posts here when the garbage collector
        // frees an old proxy (its RELEASE message), long after that incarnation (or the
        // whole supervisor) is gone.
        if (role.controlPort === port) this.pokeControl(role);
      },
      addEventListener: ep.addEventListener.bind(ep),
      removeEventListener: ep.removeEventListener.bind(ep),
      start: ep.start?.bind(ep),
    };
  }

  private pokeControl(role: Role): void {
    Atomics.store(role.blockI32, ActorWord.CONTROL, 1);
    role.bell.ringAlways();
  }

  private rpc<T>(role: Role, call: Promise<T>, timeoutMs: number): Promise<T> {
    let t: NodeJS.Timeout;
    const timeout = new Promise<never>((_, rej) => {
      t = setTimeout(() => rej(new SupervisorError(`actor "${role.spec.name}" did not answer within ${timeoutMs} ms`, 'ERR_TIMEOUT')), timeoutMs);
    });
    return Promise.race([call, role.died.promise, timeout]).finally(() => clearTimeout(t));
  }

  private onWorkerMessage(role: Role, m: FromWorker): void {
    switch (m.type) {
      case 'ready':
        role.ready?.resolve();
        return;
      case 'adopt-failed':
        role.ready?.reject(new SupervisorError(`actor "${role.spec.name}" failed to start: ${m.message}`, 'ERR_ACTOR_START'));
        return;
      case 'counter':
        role.counterSlots[m.name] = m.slot;
        return;
      case 'event':
        this.emit('actor-event', { name: m.name, event: m.event, data: m.data });
        return;
      case 'booted':
        return;
    }
  }

  private onExit(role: Role, code: number): void {
    const worker = role.worker;
    role.worker = null;
    role.api = null;
    role.controlPort?.close();
    role.controlPort = null;
    const wasStopping = role.state === 'stopping' || role.state === 'stopped' || this.closed;
    const err = role.lastError as (Error & { code?: string }) | null;
    let cause: ExitInfo['cause'];
    if (role.pendingCause) cause = role.pendingCause;
    else if (err?.code === 'ERR_WORKER_OUT_OF_MEMORY') cause = 'oom';
    else if (err) cause = 'throw';
    else cause = 'exit';
    if (err?.code === 'ERR_WORKER_OUT_OF_MEMORY') cause = 'oom';
    const info: ExitInfo = {
      name: role.spec.name, incarnation: role.incarnation, cause,
      detail: err ? `${err.name}: ${err.message}` : `exit code ${code}`,
    };
    if (role.hangVerdict) {
      info.detectedAt = role.hangVerdict.at;
      info.stalledMs = role.hangVerdict.stalledMs;
      role.hangVerdict = null;
    }
    role.died.reject(new SupervisorError(`actor "${role.spec.name}" exited (${cause})`, 'ERR_ACTOR_EXITED'));
    role.ready?.reject(new SupervisorError(`actor "${role.spec.name}" exited while starting: ${info.detail}`, 'ERR_ACTOR_START'));
    void worker;
    if (wasStopping) {
      role.state = 'stopped';
      return;
    }
    this.stats.exited++;
    if (!role.failedAt) role.failedAt = performance.now();
    this.emit('exited', info);
    const p = this.handleFailure(role, info).catch(() => undefined);
    this.restarting.add(p);
    void p.finally(() => this.restarting.delete(p));
  }

  private async handleFailure(role: Role, info: ExitInfo): Promise<void> {
    const backoff = role.history.onFailure(performance.now());
    if (backoff < 0) {
      role.state = 'escalated';
      role.failedAt = 0;
      this.stats.escalated++;
      this.emit('escalated', { name: role.spec.name, failures: role.history.recent + 1, last: info });
      return;
    }
    role.state = 'restarting';
    // rest_for_one: the roles started after this one restart too, in order.
    const group = [role];
    if (role.policy.strategy === 'rest_for_one') {
      for (const r of [...this.roles.values()].sort((a, b) => a.order - b.order)) {
        if (r.order > role.order && r.state === 'running') group.push(r);
      }
      for (const r of group.slice(1)) {
        r.state = 'restarting';
        r.pendingCause = 'rest_for_one';
        await this.killWorker(r);
      }
    }
    if (backoff > 0) await new Promise((res) => setTimeout(res, backoff));
    for (const r of group) {
      if (this.closed || !this.roles.has(r.spec.name)) return;
      const failedAt = r.failedAt || performance.now();
      try {
        await this.launch(r);
      } catch (e) {
        // The new incarnation failed to start: count it as another failure.
        r.lastError = e as Error;
        if (r.worker) void r.worker.terminate();
        continue;
      }
      const downtimeMs = performance.now() - failedAt;
      r.failedAt = 0;
      r.restarts++;
      this.stats.restarted++;
      this.recoveryMs.push(downtimeMs);
      this.emit('restarted', { name: r.spec.name, incarnation: r.incarnation, downtimeMs, backoffMs: r === role ? backoff : 0 });
    }
  }

  /** Terminates a role's worker without triggering the failure path (stop / rest_for_one). */
  private async killWorker(role: Role): Promise<void> {
    const w = role.worker;
    if (!w) return;
    role.worker = null;
    role.api = null;
    role.controlPort?.close();
    role.controlPort = null;
    role.died.reject(new SupervisorError(`actor "${role.spec.name}" stopped`, 'ERR_ACTOR_EXITED'));
    // A launch waiting for this worker's 'ready' must not wait for its timeout.
    role.ready?.reject(new SupervisorError(`actor "${role.spec.name}" stopped while starting`, 'ERR_ACTOR_START'));
    role.bell.ringAlways();
    await w.terminate().catch(() => 0);
  }

  private async stopRole(role: Role): Promise<void> {
    if (role.state === 'stopped') return;
    role.state = 'stopping';
    if (role.api) await this.rpc(role, role.api.stop(), 1000).catch(() => undefined);
    await this.killWorker(role);
    role.state = 'stopped';
  }

  // ---- hang detection

  private startHangDetector(): void {
    if (this.hangTimer || this.closed) return;
    this.hangTimer = setInterval(() => this.checkHangs(), this.opts.hangCheckMs);
    this.hangTimer.unref();
  }

  private lastHangCheck = 0;

  private checkHangs(): void {
    const now = performance.now();
    const lag = this.lastHangCheck ? now - this.lastHangCheck - this.opts.hangCheckMs : 0;
    this.lastHangCheck = now;
    if (lag > this.opts.hangTimeoutMs / 2) {
      // This thread was itself starved of CPU (or paused): heartbeats measured across the gap
      // say nothing about the actors. Start the clocks again rather than accuse anyone.
      for (const role of this.roles.values()) {
        role.lastBeatAt = now;
        role.stallCpuMs = -1;
      }
      return;
    }
    for (const role of this.roles.values()) {
      if (role.state !== 'running' || !role.worker) continue;
      // Progress is a loop turn (HEARTBEAT) or a new input record taken (INPROG_POS, written by
      // the runner for every record): a long batch on a starved thread still shows progress.
      const beat = Atomics.load(role.blockI32, ActorWord.HEARTBEAT);
      const pos = Atomics.load(role.blockI32, ActorWord.INPROG_POS);
      if (beat !== role.lastBeat || pos !== role.lastPos) {
        role.lastBeat = beat;
        role.lastPos = pos;
        role.lastBeatAt = now;
        role.stallCpuMs = -1;
        continue;
      }
      const busy = Atomics.load(role.blockI32, ActorWord.BUSY) !== 0;
      if (!busy) continue;
      const tid = Atomics.load(role.blockI32, ActorWord.TID);
      if (role.stallCpuMs < 0) role.stallCpuMs = threadCpuMs(tid);
      // An injected exit/throw/oom is already on its way out (heap filling, thread tearing
      // down): give it time to finish as itself before calling it a hang.
      const limit = role.pendingCause && role.pendingCause !== 'hang' ? INJECTED_FAULT_GRACE_MS : this.opts.hangTimeoutMs;
      const stalled = now - role.lastBeatAt;
      if (stalled <= limit) continue;
      // A hung actor spins: it burns CPU while its heartbeat stands still. One that simply did
      // not get a CPU (a loaded machine) did not use any; wait for it, up to 10x the limit.
      const cpu = threadCpuMs(tid);
      const starved = cpu >= 0 && role.stallCpuMs >= 0 && cpu - role.stallCpuMs < Math.max(2 * CPU_RESOLUTION_MS, stalled * 0.1);
      if (starved && stalled < limit * 10) continue;
      {
        this.stats.hangs++;
        role.hangVerdict = { at: now, stalledMs: stalled };
        role.pendingCause = role.pendingCause ?? 'hang';
        role.failedAt = role.failedAt || role.lastBeatAt;
        role.state = 'restarting';
        void role.worker.terminate();
      }
    }
  }
}

