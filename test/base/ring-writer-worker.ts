// Worker script for ring-kill.test.ts: writes self-checking records (actors/lab/frames.ts) with
// sequence numbers 0, 1, 2, ... into a ring as fast as the ring takes them, exactly once across
// incarnations, by the commit-token scheme of actors/lab/source.ts:
//   per batch: reserve + write + commit(len, false) for several records, then commit
//   crash-atomically {next seq, writer.pendingHead, first seq of the batch}, then publish().
//   on start: next = stored next, unless ring HEAD != stored head (the batch was never
//   published), in which case next = stored prev.
// The test kills it with worker.terminate() at random moments, or asks it (through shared
// words) to process.exit(1) at a chosen point, including half-way through writing a record.
//
// Imported by the test for the shared constants; the writer itself runs only in a worker.

import { isMainThread, parentPort, workerData } from 'worker_threads';
import { RingDescriptor, RingWriter } from '../../base/ring';
import { CommittedRecords } from '../../base/committed';
import { FRAME_HEADER, writeFrame } from '../../actors/lab/frames';

/** Words of the control block (Int32Array over `ctl`). */
export const Ctl = {
  /** DieMode; 0 = keep going. Read before every record and at every step of a batch. */
  DIE_MODE: 0,
  /** Die at the first step at or after this seq. */
  DIE_SEQ: 1,
  /** For MID_RECORD: how many of the record's bytes to write before dying (mod size + 1). */
  DIE_BYTES: 2,
  /** Stop (exit 0) once `next` reaches this seq. */
  END_SEQ: 3,
  /** The seq the worker is about to write (for the test to aim DIE_SEQ). */
  CURRENT: 4,
  WORDS: 8,
} as const;

export const enum DieMode {
  NONE = 0,
  /** Reserve, write the first DIE_BYTES bytes of the record, exit. */
  MID_RECORD = 1,
  /** After commit(len, false) of the record (unpublished, token not written), exit. */
  AFTER_COMMIT = 2,
  /** Half-way through writing the commit token's draft slot (simulated), exit. */
  MID_TOKEN = 3,
  /** After the token is committed, before publish(), exit. */
  BEFORE_PUBLISH = 4,
  /** Right after publish(), exit. */
  AFTER_PUBLISH = 5,
}
export const DIE_MODES = 5;
export const DIE_MODE_NAMES = ['NONE', 'MID_RECORD', 'AFTER_COMMIT', 'MID_TOKEN', 'BEFORE_PUBLISH', 'AFTER_PUBLISH'];

export const F_NEXT = 0;
export const F_HEAD = 1;
export const F_PREV = 2;
export const TOKEN_FIELDS = 3;

/** Deterministic record size of sequence number `seq` (FRAME_HEADER .. FRAME_HEADER + 700). */
export function recordSize(seq: number): number {
  const h = Math.imul(seq ^ (seq >>> 7), 0x9e3779b1) >>> 0;
  return FRAME_HEADER + (h % 8 === 0 ? h % 701 : h % 120);
}

export interface WriterData {
  ring: RingDescriptor;
  /** CommittedRecords(1 record, TOKEN_FIELDS fields) at offset 0. */
  state: SharedArrayBuffer;
  ctl: SharedArrayBuffer;
  /** Upper bound of records per publish. */
  maxBatch: number;
}

function run(data: WriterData): void {
  const ctl = new Int32Array(data.ctl);
  const w = new RingWriter(data.ring);
  const token = new CommittedRecords(data.state, 1, TOKEN_FIELDS);

  // Recover: was the last recorded batch published before the previous incarnation died?
  let next = token.get(0, F_NEXT);
  if (next > 0 && w.head !== token.get(0, F_HEAD) >>> 0) next = token.get(0, F_PREV);
  parentPort!.postMessage({ start: next });

  const scratch = new Uint8Array(FRAME_HEADER + 701);
  const dying = (seq: number, mode: DieMode): boolean =>
    Atomics.load(ctl, Ctl.DIE_MODE) === mode && seq >= Atomics.load(ctl, Ctl.DIE_SEQ);

  for (;;) {
    const end = Atomics.load(ctl, Ctl.END_SEQ);
    if (next >= end) break;
    const batch = 1 + Math.floor(Math.random() * data.maxBatch);
    const prev = next;
    let n = 0;
    while (n < batch && next < end) {
      Atomics.store(ctl, Ctl.CURRENT, next);
      const size = recordSize(next);
      let at = w.tryReserve(size);
      if (at < 0) {
        if (n > 0) break; // publish what we have (reserveWait would publish without a token)
        at = w.reserveWait(size, 50);
        if (at < 0) continue;
      }
      if (dying(next, DieMode.MID_RECORD)) {
        writeFrame(scratch, 0, size, next);
        const k = Atomics.load(ctl, Ctl.DIE_BYTES) % (size + 1);
        w.bytes.set(scratch.subarray(0, k), at);
        process.exit(1);
      }
      writeFrame(w.bytes, at, size, next);
      w.commit(size, false);
      next++;
      n++;
      if (dying(next - 1, DieMode.AFTER_COMMIT)) process.exit(1);
    }
    if (n === 0) continue;
    const last = next - 1;
    if (dying(last, DieMode.MID_TOKEN)) {
      // What a thread dying inside token.commit() leaves: part of the inactive slot written.
      const sel = new Int32Array(data.state, 0, 1);
      const slots = new Float64Array(data.state, 8, 2 * TOKEN_FIELDS);
      const base = ((Atomics.load(sel, 0) & 1) ^ 1) * TOKEN_FIELDS;
      const k = Atomics.load(ctl, Ctl.DIE_BYTES) % (TOKEN_FIELDS + 1);
      const v = [next, w.pendingHead, prev];
      for (let f = 0; f < k; f++) slots[base + f] = v[f];
      process.exit(1);
    }
    token.commit(0, [next, w.pendingHead, prev]);
    if (dying(last, DieMode.BEFORE_PUBLISH)) process.exit(1);
    w.publish();
    if (dying(last, DieMode.AFTER_PUBLISH)) process.exit(1);
  }
  parentPort!.postMessage({ end: next });
}

if (!isMainThread && (workerData as { kind?: string } | null)?.kind === 'ring-kill-writer') {
  run(workerData as WriterData);
}
