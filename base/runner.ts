// One step of an actor: drain inputs into the core, poll its own sources, run due timers,
// publish outputs, then release the inputs. Shared verbatim by the threaded worker shell (base/worker.ts) and the inline
// wiring (base/inline.ts): the two modes differ only by the worker boundary.

import { ActorContext, ActorCore, Counters } from './actor';
import { RingReader, RingWriter, RingDescriptor, RecordHandler } from './ring';
import type { Clock, Random } from './clock';
import type { RoleAssignment } from './types';
import { loadFactory } from './registry';
import { ActorWord } from './layout';

/** Incarnations that may die inside the same input record before it is quarantined. */
export const QUARANTINE_STRIKES = 2;

/** A non-zero 31-bit tag for a port name (FNV-1a). */
function portTag(port: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < port.length; i++) h = Math.imul(h ^ port.charCodeAt(i), 16777619);
  return (h & 0x7fffffff) | 1;
}

export interface RunnerEnv {
  clock: Clock;
  random: Random;
  inline: boolean;
  onEvent(event: string, data?: unknown): void;
  onCounter?(name: string, slot: number): void;
}

/** Records taken from one input per step, so one busy input cannot starve the others. */
export const STEP_BATCH = 256;

export class ActorRunner {
  readonly core: ActorCore;
  readonly ctx: ActorContext;
  readonly counters: Counters;
  /** `blocked`: the core refused this input's next record in the last step (back-pressure);
   *  hasPending() ignores it so the actor sleeps until an output drains (the consumer's release
   *  rings our bell) instead of spinning. */
  private inputs: Array<{ port: string; reader: RingReader; handler: RecordHandler; blocked: boolean }> = [];
  private outputs = new Map<string, RingWriter>();

  /** Poison input: the record (port tag, ring position) previous incarnations died in, to be
   *  dropped instead of handled again. */
  private quarantine: { tag: number; pos: number } | null = null;
  private readonly blk: Int32Array;

  constructor(readonly role: RoleAssignment, readonly env: RunnerEnv) {
    this.blk = new Int32Array(role.block, 0, 32);
    this.checkPoison();
    this.counters = new Counters(role.block, role.counterSlots, env.onCounter);
    this.setPorts(role.inputs, role.outputs);
    const self = this;
    this.ctx = {
      name: role.name,
      incarnation: role.incarnation,
      inline: env.inline,
      now: () => env.clock.now(),
      random: () => env.random.next(),
      randomU32: () => env.random.u32(),
      counters: this.counters,
      out: (port) => self.outputs.get(port),
      outPorts: () => [...self.outputs.keys()],
      shared: role.shared,
      emit: (event, data) => env.onEvent(event, data),
    };
    this.core = loadFactory(role.kind)(this.ctx, role.config);
    if (this.quarantine) this.env.onEvent('quarantine-armed', { ...this.quarantine, strikes: this.blk[ActorWord.STRIKES] });
  }

  /** Did the previous incarnation die inside an input record? Count strikes against it; after
   *  QUARANTINE_STRIKES, arm the quarantine so this incarnation drops it. */
  private checkPoison(): void {
    const b = this.blk;
    const tag = b[ActorWord.INPROG_PORT];
    if (tag === 0) return;
    const pos = b[ActorWord.INPROG_POS];
    b[ActorWord.INPROG_PORT] = 0;
    if (b[ActorWord.SUSPECT_PORT] === tag && b[ActorWord.SUSPECT_POS] === pos) b[ActorWord.STRIKES]++;
    else {
      b[ActorWord.SUSPECT_PORT] = tag;
      b[ActorWord.SUSPECT_POS] = pos;
      b[ActorWord.STRIKES] = 1;
    }
    if (b[ActorWord.STRIKES] >= QUARANTINE_STRIKES) this.quarantine = { tag, pos };
  }

  private makeHandler(port: string, reader: RingReader): RecordHandler {
    const tag = portTag(port);
    const b = this.blk;
    return (bytes: Uint8Array, off: number, len: number) => {
      const q = this.quarantine;
      if (q !== null && q.tag === tag && q.pos === (reader.recordPos | 0)) {
        // The poison record: counted, reported (its first bytes) and dropped.
        this.quarantine = null;
        b[ActorWord.STRIKES] = 0;
        this.counters.add('quarantined');
        const head = Array.from(bytes.subarray(off, off + Math.min(len, 64)), (x) => x.toString(16).padStart(2, '0')).join('');
        this.env.onEvent('quarantined', { port, len, head });
        return true;
      }
      b[ActorWord.INPROG_POS] = reader.recordPos | 0;
      b[ActorWord.INPROG_PORT] = tag;
      const r = this.core.onRecord(port, bytes, off, len);
      b[ActorWord.INPROG_PORT] = 0;
      return r;
    };
  }

  private setPorts(inputs: Record<string, RingDescriptor>, outputs: Record<string, RingDescriptor>): void {
    const prevIn = new Map(this.inputs.map((i) => [i.port, i]));
    this.inputs = Object.entries(inputs).map(([port, desc]) => {
      const old = prevIn.get(port);
      if (old && old.reader.desc.buffer === desc.buffer) return old;
      const reader = new RingReader(desc);
      // "port#drain": an old ring still being emptied while a stage is inserted or removed.
      const corePort = port.includes('#') ? port.slice(0, port.indexOf('#')) : port;
      return { port, reader, handler: this.makeHandler(corePort, reader), blocked: false };
    });
    const next = new Map<string, RingWriter>();
    for (const [port, desc] of Object.entries(outputs)) {
      const old = this.outputs.get(port);
      if (old && old.desc.buffer === desc.buffer) next.set(port, old);
      else {
        old?.publish();
        next.set(port, new RingWriter(desc));
      }
    }
    for (const [port, w] of this.outputs) if (!next.has(port)) w.publish();
    this.outputs = next;
  }

  rewire(inputs: Record<string, RingDescriptor>, outputs: Record<string, RingDescriptor>): void {
    this.setPorts(inputs, outputs);
    this.core.onRewire?.();
  }

  /** One batch of work. Returns true if anything was done. */
  step(): boolean {
    let worked = false;
    for (let i = 0; i < this.inputs.length; i++) {
      const inp = this.inputs[i];
      if (inp.reader.drain(inp.handler, STEP_BATCH, false) > 0) {
        worked = true;
        inp.blocked = false;
      } else inp.blocked = inp.reader.hasData();
    }
    if (this.core.poll && this.core.poll()) worked = true;
    if (this.core.nextDeadline && this.core.nextDeadline() <= this.env.clock.now()) {
      this.core.onTimer?.();
      worked = true;
    }
    // Outputs are published before inputs are released: a crash between the two re-delivers
    // the inputs (at-least-once), it never loses them.
    for (const w of this.outputs.values()) w.publish();
    for (let i = 0; i < this.inputs.length; i++) this.inputs[i].reader.releaseConsumed();
    return worked;
  }

  /** True when a step would find work: input waiting or a timer due. */
  hasPending(): boolean {
    for (let i = 0; i < this.inputs.length; i++) {
      const inp = this.inputs[i];
      if (!inp.blocked && inp.reader.hasData()) return true;
    }
    return this.msUntilDeadline() <= 0;
  }

  /** True when the core refused an input last step (sleep briefly, not long). */
  hasBlockedInput(): boolean {
    for (let i = 0; i < this.inputs.length; i++) if (this.inputs[i].blocked) return true;
    return false;
  }

  msUntilDeadline(): number {
    const d = this.core.nextDeadline ? this.core.nextDeadline() : Infinity;
    return d - this.env.clock.now();
  }

  inputReaders(): RingReader[] {
    return this.inputs.map((i) => i.reader);
  }
}
