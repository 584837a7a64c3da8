// The thin worker shell around an actor core (threaded mode). Handshake (as piscina does it):
//   1. the supervisor starts the worker as a spare; it preloads every actor kind and posts
//      {type:'booted'};
//   2. the supervisor posts {type:'adopt', role, control} with the role's rings, control block,
//      shared regions and a control MessagePort;
//   3. the shell builds the core, exposes ActorApi on the port with comlink, posts
//      {type:'ready'}, and runs: drain inputs -> core -> publish outputs, then sleep on the
//      role's bell (Atomics.wait, or the core's own sleep such as poll() on a device fd).
// The shell bumps HEARTBEAT on every loop turn and keeps BUSY=1 except while asleep, so the
// supervisor can tell a hung actor (busy, heartbeat still) from an idle one.
// It returns to the Node event loop every few milliseconds of work and whenever the supervisor
// raises CONTROL, so RPC messages are served promptly without a second thread.

import { parentPort, MessagePort, workerData } from 'node:worker_threads';
import * as Comlink from 'comlink';
// eslint-disable-next-line @typescript-eslint/no-var-requires
const nodeEndpoint = require('comlink/dist/umd/node-adapter');
import { ActorWord, ActorState } from './layout';
import { Bell } from './bell';
import { ActorRunner } from './runner';
import { MonotonicClock, CryptoRandom } from './clock';
import { preloadKinds } from './registry';
import { getLibc } from './ffi';
import type { ActorApi, FaultKind, FromWorker, RoleAssignment, ToWorker } from './types';

/** Longest sleep without a wake-up; bounds the cost of a lost wake-up to this. */
const MAX_SLEEP_MS = 100;
/** Longest run of work before yielding to the event loop (RPC, termination). */
const SLICE_MS = 4;
/** Microseconds an idle actor polls its inputs before sleeping (env SALAMANDER_SPIN_US). */
const SPIN_US = Number(process.env.SALAMANDER_SPIN_US ?? 0) || 0;

if (!parentPort) throw new Error('base/worker.js must run in a worker thread');
const port = parentPort;
const post = (m: FromWorker): void => port.postMessage(m);

let runner: ActorRunner | null = null;
let block: Int32Array;
let bell: Bell;
let stopped = false;
let warmed = false;

port.on('message', (m: ToWorker) => {
  if (m.type === 'adopt') adopt(m.role, m.control);
  else if (m.type === 'warm') {
    warm();
    post({ type: 'warmed' });
  }
});

preloadKinds();
// Load the native FFI (koffi + libc) now, while this worker is a spare nobody will terminate:
// an addon whose initialisation is cut short by Worker.terminate() aborts the whole process
// (node-addon-api's fatal "napi_throw"), and actors otherwise load it lazily, at their first
// eventfd ring or device open, i.e. while they may be killed by a fault or the hang detector.
try {
  getLibc();
} catch {
  /* no FFI on this platform: the actors that need it report ERR_FFI_UNAVAILABLE */
}
/** Runs every actor kind once on a private inline network (lab/warmup.ts), so that adopting a
 *  role does not pay for V8's first-time compilation (env SALAMANDER_WARMUP=0 skips it). Spares
 *  booted while the supervisor starts skip it at boot (it would slow every start) and are asked
 *  for it afterwards ('warm'); later spares do it at boot (workerData.warm). */
function warm(): void {
  if (warmed || process.env.SALAMANDER_WARMUP === '0') return;
  warmed = true;
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    (require('../lab/warmup') as typeof import('../lab/warmup')).warmUp();
  } catch {
    /* a warm-up is an optimisation: a spare that could not run it is still a spare */
  }
}
if ((workerData as { warm?: boolean } | null)?.warm) warm();
post({ type: 'booted' });

function adopt(role: RoleAssignment, control: MessagePort): void {
  block = new Int32Array(role.block, 0, 32);
  bell = new Bell({ buffer: role.block, index: ActorWord.BELL, eventfd: role.bellEventfd });
  Atomics.store(block, ActorWord.STATE, ActorState.STARTING);
  Atomics.store(block, ActorWord.INCARNATION, role.incarnation);
  Atomics.store(block, ActorWord.TID, threadId());
  Atomics.store(block, ActorWord.BUSY, 1);
  try {
    runner = new ActorRunner(role, {
      clock: new MonotonicClock(),
      random: new CryptoRandom(),
      inline: false,
      onEvent: (event, data) => post({ type: 'event', name: role.name, event, data }),
      onCounter: (name, slot) => post({ type: 'counter', name, slot }),
    });
  } catch (e) {
    post({ type: 'adopt-failed', name: role.name, message: (e as Error)?.stack ?? String(e) });
    return;
  }
  const api: ActorApi = {
    async control(op, args) {
      const r = runner!.core.control?.(op, args);
      return r instanceof Promise ? await r : r;
    },
    async rewire(inputs, outputs) {
      runner!.rewire(inputs, outputs);
    },
    async inject(kind: FaultKind) {
      injectFault(kind);
    },
    async stop() {
      stopped = true;
      Atomics.store(block, ActorWord.STATE, ActorState.STOPPING);
      runner?.core.dispose?.();
      Atomics.store(block, ActorWord.STATE, ActorState.STOPPED);
    },
  };
  Comlink.expose(api, nodeEndpoint(control));
  Atomics.store(block, ActorWord.STATE, ActorState.RUNNING);
  post({ type: 'ready', name: role.name, incarnation: role.incarnation });
  setImmediate(loop);
}

/** This thread's Linux tid, from /proc/thread-self -> "<pid>/task/<tid>" (-1 elsewhere). */
function threadId(): number {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const link = (require('node:fs') as typeof import('node:fs')).readlinkSync('/proc/thread-self');
    const tid = Number(link.split('/').pop());
    return Number.isInteger(tid) ? tid : -1;
  } catch {
    return -1;
  }
}

function injectFault(kind: FaultKind): void {
  switch (kind) {
    case 'throw':
      // Outside the RPC handler, so it is an uncaught exception and not a rejected call; on
      // the next tick, not in a setImmediate (the actor loop's own immediate runs first and may
      // sleep up to MAX_SLEEP_MS before the fault would happen).
      process.nextTick(() => {
        throw new Error('injected fault: throw');
      });
      return;
    case 'exit':
      process.exit(70);
      return;
    case 'hang':
      Atomics.store(block, ActorWord.BUSY, 1);
      process.nextTick(() => {
        for (;;) {
          /* a hang: busy, heartbeat stalled; only terminate() ends it */
        }
      });
      return;
    case 'oom': {
      process.nextTick(() => {
        const hog: number[][] = [];
        for (;;) hog.push(new Array(1 << 16).fill(hog.length));
      });
      return;
    }
    case 'terminate':
      // Done by the supervisor (worker.terminate()); nothing to do inside.
      return;
  }
}

function loop(): void {
  if (stopped || !runner) return;
  const r = runner;
  const start = performance.now();
  for (;;) {
    Atomics.add(block, ActorWord.HEARTBEAT, 1);
    const worked = r.step();
    if (Atomics.load(block, ActorWord.CONTROL) !== 0) {
      Atomics.store(block, ActorWord.CONTROL, 0);
      break; // serve the control port
    }
    if (worked) {
      if (performance.now() - start > SLICE_MS) break;
      continue;
    }
    // Briefly poll before sleeping: a wake-up costs a futex round trip, and in a busy
    // pipeline the next record is usually microseconds away (SPIN_US, 0 = off).
    if (SPIN_US > 0) {
      const spinEnd = performance.now() + SPIN_US / 1000;
      let found = false;
      while (performance.now() < spinEnd) {
        if (r.hasPending() || Atomics.load(block, ActorWord.CONTROL) !== 0) {
          found = true;
          break;
        }
      }
      if (found) continue;
    }
    // Idle: announce sleep, re-check, then sleep until rung, a timer is due, or MAX_SLEEP_MS.
    const seq = bell.prepare();
    if (r.hasPending() || Atomics.load(block, ActorWord.CONTROL) !== 0) {
      bell.cancel();
      continue;
    }
    const until = r.msUntilDeadline();
    const timeout = Math.max(0, Math.min(until, r.hasBlockedInput() ? 1 : MAX_SLEEP_MS));
    Atomics.store(block, ActorWord.BUSY, 0);
    if (r.core.sleep) {
      r.core.sleep(bell, seq, timeout);
      bell.cancel();
    } else bell.wait(seq, timeout);
    Atomics.store(block, ActorWord.BUSY, 1);
    if (Atomics.load(block, ActorWord.CONTROL) !== 0) {
      Atomics.store(block, ActorWord.CONTROL, 0);
      break;
    }
    if (performance.now() - start > SLICE_MS) break;
  }
  setImmediate(loop);
}
