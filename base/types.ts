// Every cross-thread message type and the declarative pipeline description, in one place.
// Supervisor <-> actor worker traffic is: the boot handshake (plain messages, below), then typed
// RPC over the control MessagePort with comlink (ActorApi).

import type { RingDescriptor } from './ring';
import type { BellDescriptor } from './bell';

export type FaultKind = 'throw' | 'exit' | 'terminate' | 'hang' | 'oom';
export const FAULT_KINDS: readonly FaultKind[] = ['throw', 'exit', 'terminate', 'hang', 'oom'];

export type RestartStrategy = 'one_for_one' | 'rest_for_one';

/** Erlang/OTP-style restart policy of one actor. */
export interface RestartPolicy {
  strategy: RestartStrategy;
  /** At most `intensity` restarts within `periodMs`; one more escalates. */
  intensity: number;
  periodMs: number;
  /** Delay before the n-th consecutive restart inside the period (last value repeats). */
  backoffMs: number[];
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  strategy: 'one_for_one',
  intensity: 10,
  periodMs: 5000,
  backoffMs: [0, 0, 5, 20, 50, 100],
};

export interface ActorSpec {
  /** Unique role name, e.g. "ip", "nic:tap0". */
  name: string;
  /** Registered kind (base/registry.ts) or an absolute path to a compiled module exporting
   *  `create(ctx, config)`. */
  kind: string;
  config?: unknown;
  restart?: Partial<RestartPolicy>;
  /** Worker heap limit; an actor exceeding it is restarted like any other failure. */
  maxOldGenerationSizeMb?: number;
  /** Give the role's inbound bell an eventfd (Linux), for actors that sleep in poll() on a
   *  device fd (the TAP NIC): ringing the bell then also writes the eventfd. */
  bellEventfd?: boolean;
  /** Named shared regions (SharedArrayBuffer) the supervisor allocates once for this role and
   *  hands to every incarnation: state that must survive restarts. */
  shared?: Record<string, number>;
}

export interface LinkSpec {
  /** "actor.port" of the producer and of the consumer. */
  from: string;
  to: string;
  /** Ring data capacity in bytes (power of two). */
  capacity?: number;
}

export interface PipelineSpec {
  actors: ActorSpec[];
  links: LinkSpec[];
}

/** What an actor incarnation is given: everything it needs lives outside the worker. */
export interface RoleAssignment {
  name: string;
  kind: string;
  config: unknown;
  incarnation: number;
  /** The role's control block (base/layout.ts ActorWord), also holding its inbound bell. */
  block: SharedArrayBuffer;
  /** Optional eventfd for the inbound bell (actors that sleep in poll()). */
  bellEventfd?: number;
  inputs: Record<string, RingDescriptor>;
  outputs: Record<string, RingDescriptor>;
  shared: Record<string, SharedArrayBuffer>;
  /** Counter name -> slot, so a new incarnation keeps counting in the same slots. */
  counterSlots: Record<string, number>;
}

/** Supervisor -> worker boot messages (before RPC). */
export type ToWorker =
  | { type: 'adopt'; role: RoleAssignment; control: import('node:worker_threads').MessagePort }
  /** A spare booted cold (during the supervisor's start): warm up now (answers 'warmed'). */
  | { type: 'warm' };

/** Worker -> supervisor messages on the worker's parentPort. */
export type FromWorker =
  | { type: 'booted' }
  | { type: 'warmed' }
  | { type: 'ready'; name: string; incarnation: number }
  | { type: 'counter'; name: string; slot: number }
  | { type: 'event'; name: string; event: string; data?: unknown }
  | { type: 'adopt-failed'; name: string; message: string };

/** Typed RPC surface of every actor worker (comlink). */
export interface ActorApi {
  /** Runs a control operation on the core (actor-specific ops: "stats", "addAddress", ...). */
  control(op: string, args?: unknown): Promise<unknown>;
  /** Port changes while running: the supervisor added or removed rings. */
  rewire(inputs: Record<string, RingDescriptor>, outputs: Record<string, RingDescriptor>): Promise<void>;
  /** Injected faults that run inside the worker (throw, exit, hang, oom). */
  inject(kind: FaultKind): Promise<void>;
  /** Clean stop: dispose the core and return. */
  stop(): Promise<void>;
}

export type { RingDescriptor, BellDescriptor };
