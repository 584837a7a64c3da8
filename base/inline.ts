// Inline mode: the same actor cores and rings as the threaded pipeline, wired by direct calls
// in one thread with a FakeClock and a SeededRandom, so a run is a pure function of its spec
// and seed (Netstack3-style deterministic simulation). Faults are simulated as restarts: the
// core is dropped at a step boundary and a new incarnation adopts the same rings and shared
// state, exactly as a spare worker would.

import { ActorRunner } from './runner';
import { FakeClock, SeededRandom } from './clock';
import { Counters } from './actor';
import { Topology } from './topology';
import type { ActorSpec, FaultKind, LinkSpec, PipelineSpec } from './types';
import { insertStage, removeStage, StageHost, StagePorts } from './stages';

export interface InlineOptions {
  seed?: number;
  ringCapacity?: number;
  /** Start time of the fake clock, ms. */
  startMs?: number;
}

export interface InlineEvent {
  at: number;
  name: string;
  event: string;
  data?: unknown;
}

export class InlinePipeline {
  readonly clock: FakeClock;
  readonly random: SeededRandom;
  readonly topo: Topology;
  private readonly runners = new Map<string, ActorRunner>();
  private readonly incarnations = new Map<string, number>();
  /** Events the cores emitted (link changes, ...) and simulated exits/restarts, in order. */
  readonly events: InlineEvent[] = [];
  /** Called for every event as it happens. */
  onEvent: ((e: InlineEvent) => void) | null = null;
  steps = 0;

  constructor(spec: PipelineSpec, opts: InlineOptions = {}) {
    this.clock = new FakeClock(opts.startMs ?? 0);
    this.random = new SeededRandom(opts.seed ?? 1);
    this.topo = new Topology(opts.ringCapacity ?? 1 << 20);
    for (const a of spec.actors) this.topo.addRole(a);
    for (const l of spec.links) this.topo.addLink(l);
    for (const a of spec.actors) this.launch(a.name);
  }

  private record(name: string, event: string, data?: unknown): void {
    const e = { at: this.clock.now(), name, event, data };
    this.events.push(e);
    this.onEvent?.(e);
  }

  private launch(name: string): void {
    const inc = (this.incarnations.get(name) ?? -1) + 1;
    this.incarnations.set(name, inc);
    const res = this.topo.role(name);
    const salt = [...name].reduce((h, ch) => Math.imul(h ^ ch.charCodeAt(0), 16777619), 2166136261) ^ inc;
    const runner = new ActorRunner(this.topo.assignment(name, inc), {
      clock: this.clock,
      random: this.random.fork(salt),
      inline: true,
      onEvent: (event, data) => this.record(name, event, data),
      onCounter: (cname, slot) => (res.counterSlots[cname] = slot),
    });
    this.runners.set(name, runner);
  }

  /** The live core of an actor (tests drive and inspect cores directly). */
  runner(name: string): ActorRunner {
    const r = this.runners.get(name);
    if (!r) throw new Error(`no actor "${name}"`);
    return r;
  }

  /** One round: every actor takes one step. Returns true if any did work. */
  step(): boolean {
    let worked = false;
    for (const [name, r] of this.runners) {
      try {
        if (r.step()) worked = true;
      } catch (e) {
        // An exception in a core is a crash, as in a worker: the incarnation is gone with
        // whatever it had not published, and a new one adopts the role.
        this.crash(name, 'throw', e);
        worked = true;
      }
    }
    this.steps++;
    // A core may publish output in a step that it reports as no work (a link releasing held
    // frames in poll(), say). The round is then not idle: a consumer has input waiting, or a
    // deadline came due. Without this check run() would jump the clock past that input.
    if (!worked) worked = this.pending();
    return worked;
  }

  /** True when some actor has input waiting (not refused) or a timer due now. */
  pending(): boolean {
    for (const r of this.runners.values()) if (r.hasPending()) return true;
    return false;
  }

  /** Exits and restarts `name` after a crash; `maxCrashes` guards against a crash loop. */
  private crash(name: string, kind: FaultKind, e?: unknown): void {
    const n = (this.crashes.get(name) ?? 0) + 1;
    this.crashes.set(name, n);
    this.runners.delete(name);
    this.record(name, 'exited', { cause: kind, detail: e instanceof Error ? e.message : e === undefined ? undefined : String(e) });
    if (n > this.maxCrashes) {
      this.record(name, 'escalated', { crashes: n });
      return;
    }
    this.launch(name);
    this.record(name, 'restarted', { incarnation: this.incarnations.get(name) });
  }
  private readonly crashes = new Map<string, number>();
  /** Crashes of one role after which inline mode stops restarting it (escalation). */
  maxCrashes = 1000;

  /** Steps until no actor has work at the current time (bounded). */
  settle(maxSteps = 1_000_000): void {
    for (let i = 0; i < maxSteps; i++) {
      if (!this.step()) {
        let pending = false;
        for (const r of this.runners.values()) if (r.hasPending()) pending = true;
        if (!pending) return;
      }
    }
    throw new Error(`inline pipeline did not settle within ${maxSteps} steps`);
  }

  /** The earliest timer deadline of any actor. */
  nextDeadline(): number {
    let d = Infinity;
    for (const r of this.runners.values()) d = Math.min(d, this.clock.now() + r.msUntilDeadline());
    return d;
  }

  /** Runs until `untilMs` of fake time: settle, jump to the next deadline, repeat. Stops early
   *  when `done()` returns true. Returns the fake time reached. */
  run(untilMs: number, done?: () => boolean, maxSteps = 50_000_000): number {
    let steps = 0;
    for (;;) {
      while (this.step()) {
        if (done?.()) return this.clock.now();
        if (++steps > maxSteps) throw new Error(`inline run exceeded ${maxSteps} steps`);
      }
      if (done?.()) return this.clock.now();
      const next = this.nextDeadline();
      if (next > untilMs) {
        this.clock.advanceTo(untilMs);
        this.step();
        return this.clock.now();
      }
      this.clock.advanceTo(next);
      if (++steps > maxSteps) throw new Error(`inline run exceeded ${maxSteps} steps`);
    }
  }

  /** Simulates a fault: the incarnation dies at this step boundary (its uncommitted work and
   *  everything it had not published are lost) and a new one adopts the role. */
  inject(name: string, kind: FaultKind): void {
    if (!this.runners.has(name)) throw new Error(`no actor "${name}"`);
    this.crash(name, kind);
  }

  addActor(spec: ActorSpec, links: LinkSpec[] = []): void {
    this.topo.addRole(spec);
    for (const l of links) this.topo.addLink(l);
    this.launch(spec.name);
    this.rewire(links, spec.name);
  }

  removeActor(name: string): void {
    const touching = this.topo.removeRole(name);
    this.runners.get(name)?.core.dispose?.();
    this.runners.delete(name);
    this.rewire(touching.map((l) => l.spec), name);
  }

  addLink(spec: LinkSpec): void {
    this.topo.addLink(spec);
    this.rewire([spec]);
  }

  removeLink(from: string, to: string): void {
    const l = this.topo.removeLink(from, to);
    this.rewire([l.spec]);
  }

  private rewire(links: LinkSpec[], except?: string): void {
    for (const n of this.topo.neighbours(links)) {
      if (n === except) continue;
      const r = this.runners.get(n);
      if (!r) continue;
      const { inputs, outputs } = this.topo.portsOf(n);
      r.rewire(inputs, outputs);
    }
  }

  /** Inserts a pass-through stage into a link while records flow (base/stages.ts). */
  insertStage(from: string, to: string, stage: ActorSpec, ports?: StagePorts, maxSteps = 1_000_000): Promise<void> {
    return insertStage(this.stageHost(maxSteps), from, to, stage, ports);
  }

  removeStage(name: string, ports?: StagePorts, maxSteps = 1_000_000): Promise<LinkSpec> {
    return removeStage(this.stageHost(maxSteps), name, ports);
  }

  private stageHost(maxSteps: number): StageHost {
    return {
      topo: this.topo,
      addRole: (spec) => void this.topo.addRole(spec),
      launch: (name) => this.launch(name),
      rewire: (names) => {
        for (const n of names) {
          const r = this.runners.get(n);
          if (!r) continue;
          const { inputs, outputs } = this.topo.portsOf(n);
          r.rewire(inputs, outputs);
        }
      },
      until: (cond, what) => {
        for (let i = 0; !cond(); i++) {
          if (i >= maxSteps) throw new Error(`inline: ${what} did not happen within ${maxSteps} steps`);
          this.step();
        }
      },
      stop: (name) => {
        this.topo.removeRole(name);
        this.runners.get(name)?.core.dispose?.();
        this.runners.delete(name);
      },
    };
  }

  counters(name: string): Record<string, number> {
    const res = this.topo.role(name);
    return Counters.read(res.block, res.counterSlots);
  }

  control(name: string, op: string, args?: unknown): unknown {
    return this.runner(name).core.control?.(op, args);
  }
}
