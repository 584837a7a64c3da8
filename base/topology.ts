// The wiring of a pipeline: each role's control block, bell, shared regions and counter slots,
// and the rings between roles' ports. Used by both the threaded supervisor and the inline
// wiring, so the two build identical topologies from one PipelineSpec.

import { ACTOR_BLOCK_BYTES, ActorWord } from './layout';
import { Bell } from './bell';
import { createRing, RingDescriptor } from './ring';
import type { ActorSpec, LinkSpec, RoleAssignment } from './types';

export class TopologyError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
    this.name = 'TopologyError';
  }
}

export interface RoleResources {
  spec: ActorSpec;
  /** Start order; rest_for_one restarts the roles after a failed one in this order. */
  order: number;
  block: SharedArrayBuffer;
  blockI32: Int32Array;
  bell: Bell;
  shared: Record<string, SharedArrayBuffer>;
  counterSlots: Record<string, number>;
}

/** A link's phase during a live rewiring (a stage inserted or removed):
 *  - active: both ends use it;
 *  - held: only its producer writes it; the consumer does not see it yet (its records wait);
 *  - draining: only its consumer still reads it; the producer has moved on. */
export type LinkPhase = 'active' | 'held' | 'draining';

export interface LinkRec {
  phase?: LinkPhase;
  spec: LinkSpec;
  fromActor: string;
  fromPort: string;
  toActor: string;
  toPort: string;
  ring: RingDescriptor;
}

export function splitEnd(end: string): [string, string] {
  const i = typeof end === 'string' ? end.lastIndexOf('.') : -1;
  if (i <= 0 || i === end.length - 1) throw new TopologyError(`link end "${end}" must be "actor.port"`, 'ERR_LINK_END');
  return [end.slice(0, i), end.slice(i + 1)];
}

export class Topology {
  readonly roles = new Map<string, RoleResources>();
  readonly links = new Map<string, LinkRec>();
  private orderSeq = 0;

  constructor(readonly defaultCapacity: number) {}

  addRole(spec: ActorSpec): RoleResources {
    if (typeof spec.name !== 'string' || !/^[A-Za-z0-9_:.-]+$/.test(spec.name)) {
      throw new TopologyError(`bad actor name "${spec.name}"`, 'ERR_ACTOR_NAME');
    }
    if (this.roles.has(spec.name)) throw new TopologyError(`actor "${spec.name}" already exists`, 'ERR_ACTOR_EXISTS');
    if (typeof spec.kind !== 'string' || !spec.kind) throw new TopologyError(`actor "${spec.name}" has no kind`, 'ERR_ACTOR_KIND');
    const block = new SharedArrayBuffer(ACTOR_BLOCK_BYTES);
    const shared: Record<string, SharedArrayBuffer> = {};
    for (const [k, bytes] of Object.entries(spec.shared ?? {})) {
      if (!Number.isInteger(bytes) || bytes <= 0) throw new TopologyError(`shared region "${k}" of "${spec.name}" needs a positive byte size`, 'ERR_SHARED_SIZE');
      shared[k] = new SharedArrayBuffer(bytes);
    }
    let eventfd: number | undefined;
    if (spec.bellEventfd) {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      eventfd = (require('./eventfd') as typeof import('./eventfd')).createEventfd();
    }
    const r: RoleResources = {
      spec, order: this.orderSeq++, block, blockI32: new Int32Array(block, 0, 32),
      bell: new Bell({ buffer: block, index: ActorWord.BELL, eventfd }), shared, counterSlots: {},
    };
    this.roles.set(spec.name, r);
    return r;
  }

  role(name: string): RoleResources {
    const r = this.roles.get(name);
    if (!r) throw new TopologyError(`no actor "${name}"`, 'ERR_NO_ACTOR');
    return r;
  }

  static key(l: LinkSpec): string {
    return `${l.from}->${l.to}`;
  }

  addLink(spec: LinkSpec, phase: LinkPhase = 'active'): LinkRec {
    const [fromActor, fromPort] = splitEnd(spec.from);
    const [toActor, toPort] = splitEnd(spec.to);
    const from = this.role(fromActor);
    const to = this.role(toActor);
    const key = Topology.key(spec);
    if (this.links.has(key)) throw new TopologyError(`link ${key} already exists`, 'ERR_LINK_EXISTS');
    for (const l of this.links.values()) {
      const p = l.phase ?? 'active';
      if (l.spec.from === spec.from && p !== 'draining' && phase !== 'draining') throw new TopologyError(`output ${spec.from} is already wired`, 'ERR_PORT_IN_USE');
      if (l.spec.to === spec.to && p !== 'held' && phase !== 'held') throw new TopologyError(`input ${spec.to} is already wired`, 'ERR_PORT_IN_USE');
    }
    const base = createRing(spec.capacity ?? this.defaultCapacity);
    const rec: LinkRec = {
      spec, fromActor, fromPort, toActor, toPort, phase,
      ring: { buffer: base.buffer, consumerBell: to.bell.desc, producerBell: from.bell.desc },
    };
    this.links.set(key, rec);
    return rec;
  }

  removeLink(from: string, to: string): LinkRec {
    const key = `${from}->${to}`;
    const l = this.links.get(key);
    if (!l) throw new TopologyError(`no link ${key}`, 'ERR_NO_LINK');
    this.links.delete(key);
    return l;
  }

  /** Binds one end of a ring that lives outside this topology (the other end belongs to
   *  another stack's supervisor, e.g. a wire between two stacks in one process). The ring's
   *  bells must already name the two roles' bells (see bellOf()). */
  addExternal(end: string, dir: 'in' | 'out', ring: RingDescriptor): LinkRec {
    const [actor, port] = splitEnd(end);
    this.role(actor);
    const spec: LinkSpec = dir === 'in' ? { from: `external:${end}`, to: end } : { from: end, to: `external:${end}` };
    const key = Topology.key(spec);
    for (const l of this.links.values()) {
      if ((dir === 'in' && l.spec.to === end) || (dir === 'out' && l.spec.from === end)) {
        throw new TopologyError(`${dir === 'in' ? 'input' : 'output'} ${end} is already wired`, 'ERR_PORT_IN_USE');
      }
    }
    const rec: LinkRec = dir === 'in'
      ? { spec, fromActor: '', fromPort: '', toActor: actor, toPort: port, ring }
      : { spec, fromActor: actor, fromPort: port, toActor: '', toPort: '', ring };
    this.links.set(key, rec);
    return rec;
  }

  removeExternal(end: string, dir: 'in' | 'out'): LinkRec {
    return dir === 'in' ? this.removeLink(`external:${end}`, end) : this.removeLink(end, `external:${end}`);
  }

  /** Removes a role and every link touching it; returns those links. */
  removeRole(name: string): LinkRec[] {
    this.role(name);
    const touching = [...this.links.values()].filter((l) => l.fromActor === name || l.toActor === name);
    for (const l of touching) this.links.delete(Topology.key(l.spec));
    this.roles.delete(name);
    return touching;
  }

  /** Closes a role's bell eventfd. Only once no thread of the role can run any more: a
   *  closed fd number may be reused by the next open(). */
  static closeBell(r: RoleResources): void {
    // Detach first: every later ring of this Bell (the supervisor's pokes, a comlink proxy
    // released by the garbage collector long after stop()) must not write the closed number.
    const fd = r.bell.detachEventfd();
    if (fd >= 0) {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      (require('./eventfd') as typeof import('./eventfd')).closeEventfd(fd);
    }
  }

  portsOf(name: string): { inputs: Record<string, RingDescriptor>; outputs: Record<string, RingDescriptor> } {
    const inputs: Record<string, RingDescriptor> = {};
    const outputs: Record<string, RingDescriptor> = {};
    for (const l of this.links.values()) {
      const p = l.phase ?? 'active';
      // A draining ring shares its port name with the ring that replaces it: the runner keys
      // it "port#drain" and hands its records to the core under the plain port name.
      if (l.toActor === name && p !== 'held') inputs[p === 'draining' ? `${l.toPort}#drain` : l.toPort] = l.ring;
      if (l.fromActor === name && p !== 'draining') outputs[l.fromPort] = l.ring;
    }
    return { inputs, outputs };
  }

  /** Actors whose ports change when these links come or go: consumers first, so a reader
   *  exists before records arrive. */
  neighbours(links: LinkSpec[]): string[] {
    const names: string[] = [];
    for (const l of links) if (!l.to.startsWith('external:')) names.push(splitEnd(l.to)[0]);
    for (const l of links) if (!l.from.startsWith('external:')) names.push(splitEnd(l.from)[0]);
    return [...new Set(names)];
  }

  assignment(name: string, incarnation: number): RoleAssignment {
    const r = this.role(name);
    const { inputs, outputs } = this.portsOf(name);
    return {
      name, kind: r.spec.kind, config: r.spec.config ?? {}, incarnation, block: r.block,
      bellEventfd: r.bell.desc.eventfd, inputs, outputs, shared: r.shared, counterSlots: { ...r.counterSlots },
    };
  }
}
