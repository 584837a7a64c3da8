// Doorbells: how a sleeping thread is woken without anyone spinning.
// A bell is two Int32 words in shared memory: SEQ (bumped by ringers) and SLEEPING (set by its
// single sleeper). Protocol (a Dekker pair on sequentially consistent Atomics):
//   sleeper: SLEEPING=1; seq=load(SEQ); re-check inputs; if none: Atomics.wait(SEQ, seq); SLEEPING=0
//   ringer:  publish work (Atomics.store); if load(SLEEPING): add(SEQ,1); notify(SEQ)
// Either the ringer sees SLEEPING=1 and wakes the sleeper, or the sleeper's re-check sees the
// published work. Ringers notify only when the other side sleeps, so a busy pipeline pays one
// Atomics.load per publish and no syscall.
//
// A bell may also carry an eventfd (Linux): a sleeper that must also wait on a file descriptor
// (the TAP NIC: poll() on the device fd plus the eventfd) is woken by a write to the eventfd.

import { BellWord } from './layout';

export interface BellDescriptor {
  buffer: SharedArrayBuffer;
  /** Word index of SEQ; SLEEPING is at index + 1. */
  index: number;
  /** Optional eventfd to write when ringing (a sleeper blocked in poll()). */
  eventfd?: number;
}

type EventfdWriter = (fd: number) => void;
let eventfdWriter: EventfdWriter | null = null;
/** Installed by the module that owns eventfds (actors/nic), loaded lazily by ring(). */
export function setEventfdWriter(w: EventfdWriter): void {
  eventfdWriter = w;
}

export class Bell {
  readonly i32: Int32Array;
  readonly seqIndex: number;
  readonly sleepIndex: number;
  /** The eventfd written on a ring, or -1. Set to -1 (detachEventfd) before the fd is closed:
   *  a ring after that must not write the old number, which the process may have reused for
   *  an unrelated file or socket. */
  eventfd: number;

  constructor(readonly desc: BellDescriptor) {
    this.i32 = new Int32Array(desc.buffer);
    this.seqIndex = desc.index + BellWord.SEQ;
    this.sleepIndex = desc.index + BellWord.SLEEPING;
    this.eventfd = desc.eventfd ?? -1;
  }

  /** Stops writing the eventfd (returns it, or -1): call before closing it. */
  detachEventfd(): number {
    const fd = this.eventfd;
    this.eventfd = -1;
    this.desc.eventfd = -1;
    return fd;
  }

  static create(): Bell {
    return new Bell({ buffer: new SharedArrayBuffer(8), index: 0 });
  }

  /** Ringer side: wake the sleeper if (and only if) it sleeps. */
  ring(): void {
    if (Atomics.load(this.i32, this.sleepIndex) !== 0) this.ringAlways();
  }

  /** Wake unconditionally (control messages, shutdown). */
  ringAlways(): void {
    Atomics.add(this.i32, this.seqIndex, 1);
    Atomics.notify(this.i32, this.seqIndex);
    if (this.eventfd >= 0) {
      if (!eventfdWriter) {
        // Lazy: only threads that ring an eventfd bell load the FFI.
        // eslint-disable-next-line @typescript-eslint/no-var-requires
        require('./eventfd');
      }
      eventfdWriter?.(this.eventfd);
    }
  }

  /** Sleeper side, step 1: announce the intent to sleep; returns the sequence to wait on. The
   *  caller must re-check its inputs after this and before wait(). */
  prepare(): number {
    Atomics.store(this.i32, this.sleepIndex, 1);
    return Atomics.load(this.i32, this.seqIndex);
  }

  /** Sleeper side, step 2 (worker threads only: Atomics.wait blocks). */
  wait(seq: number, timeoutMs: number): 'ok' | 'not-equal' | 'timed-out' {
    const r = Atomics.wait(this.i32, this.seqIndex, seq, timeoutMs);
    Atomics.store(this.i32, this.sleepIndex, 0);
    return r;
  }

  /** Sleeper side, step 2 for the main thread: never blocks the event loop. */
  async waitAsync(seq: number, timeoutMs: number): Promise<'ok' | 'not-equal' | 'timed-out'> {
    const r = Atomics.waitAsync(this.i32, this.seqIndex, seq, timeoutMs);
    const v = r.async ? await r.value : r.value;
    Atomics.store(this.i32, this.sleepIndex, 0);
    return v;
  }

  /** Sleeper side: give up the intent to sleep (work was found on re-check). */
  cancel(): void {
    Atomics.store(this.i32, this.sleepIndex, 0);
  }

  get sleeping(): boolean {
    return Atomics.load(this.i32, this.sleepIndex) !== 0;
  }
}
