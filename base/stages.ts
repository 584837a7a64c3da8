// Live pipeline surgery shared by the threaded supervisor and the inline wiring: insert a
// pass-through stage into a link, or take one out, while records flow, losing, duplicating and
// reordering nothing. The trick is link phases (base/topology.ts): the consumer finishes the
// old ring before it sees the new one.
//
// insert S into P.out -> C.in (ring R0):
//   R0 draining (only C reads it); R1 = P.out -> S.in active; R2 = S.out -> C.in held (S writes,
//   C does not see it); start S; rewire P (now writes R1) and C; wait until C has emptied R0;
//   drop R0, make R2 active, rewire C.
// remove S from P.out -> S.in (R1) -> S.out -> C.in (R2):
//   R1 draining (only S reads it); R0 = P.out -> C.in held; rewire P (now writes R0) and S; wait
//   until S has emptied R1 and C has emptied R2; drop R1 and R2, make R0 active, rewire C; stop S.

import { RingReader } from './ring';
import { Topology, splitEnd, LinkRec } from './topology';
import type { ActorSpec, LinkSpec } from './types';

export interface StageHost {
  topo: Topology;
  /** Create a role's resources (in the topology and wherever the host tracks roles). */
  addRole(spec: ActorSpec): void;
  /** Start a new role whose resources are already in the topology. */
  launch(name: string): Promise<void> | void;
  /** Push the current wiring of these roles to them. */
  rewire(names: string[]): Promise<void> | void;
  /** Resolve when `cond` holds (the host steps or waits), or throw after its deadline. */
  until(cond: () => boolean, what: string): Promise<void> | void;
  /** Stop and forget a role (its links are already gone). */
  stop(name: string): Promise<void> | void;
}

export interface StagePorts {
  in?: string;
  out?: string;
}

const empty = (l: LinkRec): boolean => new RingReader(l.ring).used() === 0;

export async function insertStage(h: StageHost, from: string, to: string, stage: ActorSpec, ports: StagePorts = {}): Promise<void> {
  const r0 = h.topo.links.get(`${from}->${to}`);
  if (!r0 || (r0.phase ?? 'active') !== 'active') throw new Error(`no active link ${from}->${to} to insert "${stage.name}" into`);
  const [producer] = splitEnd(from);
  const [consumer] = splitEnd(to);
  const pin = ports.in ?? 'in';
  const pout = ports.out ?? 'out';
  h.addRole(stage);
  r0.phase = 'draining';
  const r1 = h.topo.addLink({ from, to: `${stage.name}.${pin}`, capacity: r0.spec.capacity });
  const r2 = h.topo.addLink({ from: `${stage.name}.${pout}`, to, capacity: r0.spec.capacity }, 'held');
  void r1;
  await h.launch(stage.name);
  await h.rewire([producer, consumer]);
  await h.until(() => empty(r0), `${consumer} to empty the old ring ${from}->${to}`);
  h.topo.links.delete(Topology.key(r0.spec));
  r2.phase = 'active';
  await h.rewire([consumer]);
}

export async function removeStage(h: StageHost, name: string, ports: StagePorts = {}): Promise<LinkSpec> {
  const pin = `${name}.${ports.in ?? 'in'}`;
  const pout = `${name}.${ports.out ?? 'out'}`;
  const links = [...h.topo.links.values()];
  const r1 = links.find((l) => l.spec.to === pin && (l.phase ?? 'active') === 'active');
  const r2 = links.find((l) => l.spec.from === pout && (l.phase ?? 'active') === 'active');
  if (!r1 || !r2) throw new Error(`"${name}" is not a pass-through stage with active ${pin} and ${pout}`);
  const [producer] = splitEnd(r1.spec.from);
  const [consumer] = splitEnd(r2.spec.to);
  r1.phase = 'draining';
  const r0 = h.topo.addLink({ from: r1.spec.from, to: r2.spec.to, capacity: r1.spec.capacity }, 'held');
  await h.rewire([producer, name]);
  await h.until(() => empty(r1), `${name} to empty ${r1.spec.from}->${pin}`);
  await h.until(() => empty(r2), `${consumer} to empty ${pout}->${r2.spec.to}`);
  h.topo.links.delete(Topology.key(r1.spec));
  h.topo.links.delete(Topology.key(r2.spec));
  r0.phase = 'active';
  await h.rewire([consumer]);
  await h.stop(name);
  return r0.spec;
}
