// Acceptance test for the ring: "no torn, lost or duplicated committed records across random
// writer kills". A real worker thread (ring-writer-worker.ts) writes sequence-numbered,
// self-checking records into a ring with the exactly-once commit-token scheme of
// actors/lab/source.ts; the main thread reads with RingReader (waitDataAsync: it never blocks)
// and checks that every record is whole, correct and exactly the next sequence number. The
// writer is killed at random moments, by worker.terminate() and by process.exit(1) inside the
// worker at a point chosen through shared memory (including half-way through a record and
// half-way through the commit token), and a new writer attaches to the same ring each time.
// The consumer also "dies" at random between drain and release; its successor must see exactly
// the unreleased records again (at-least-once on the consumer side) and nothing else.
//
// Reproduce a failure with RING_KILL_SEED=<seed printed in the message>.

import { expect } from 'chai';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { createRing, RingReader } from '../../base/ring';
import { CommittedRecords } from '../../base/committed';
import { checkFrame } from '../../actors/lab/frames';
import { Ctl, DieMode, DIE_MODES, DIE_MODE_NAMES, recordSize, TOKEN_FIELDS, F_NEXT, F_HEAD, F_PREV, WriterData } from './ring-writer-worker';

const WORKER = path.join(__dirname, 'ring-writer-worker.js');
const NEVER = 0x7fffffff;

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Kill = { how: 'terminate' } | { how: 'exit'; mode: DieMode };

interface Scenario {
  /** Writer kills, in order (shuffled by the caller). */
  kills: Kill[];
  /** Records the last incarnation writes after the final kill. */
  tail: number;
  /** Chance per drain batch that the consumer dies before releasing. */
  readerDeath: number;
  /** Max records seen between a writer's start and its kill. */
  maxObserve: number;
  capacity: number;
  initialPosition: number;
  budgetMs: number;
}

interface Outcome {
  seed: number;
  records: number;
  deliveries: number;
  redelivered: number;
  readerDeaths: number;
  writerKills: number;
  killsBy: Record<string, number>;
  exitedMidRecord: number;
  committedCount: number;
  releasedCount: number;
  corruptCount: number;
  fullCount: number;
  headWrapped: boolean;
}

async function runScenario(sc: Scenario, seed: number): Promise<Outcome> {
  const rnd = mulberry32(seed);
  const rint = (n: number): number => Math.floor(rnd() * n);
  const deadline = Date.now() + sc.budgetMs;
  const fail = (msg: string): never => {
    throw new Error(`${msg} [RING_KILL_SEED=${seed}]`);
  };

  const desc = createRing(sc.capacity, sc.initialPosition);
  const state = new SharedArrayBuffer(CommittedRecords.bytes(1, TOKEN_FIELDS));
  const token = new CommittedRecords(state, 1, TOKEN_FIELDS);
  const ctlBuf = new SharedArrayBuffer(Ctl.WORDS * 4);
  const ctl = new Int32Array(ctlBuf);
  Atomics.store(ctl, Ctl.END_SEQ, NEVER);

  let reader = new RingReader(desc);
  let expected = 0; // the next seq the consumer must see
  let unreleased = 0; // records consumed by drain(.., false) and not yet released
  const out: Outcome = {
    seed,
    records: 0,
    deliveries: 0,
    redelivered: 0,
    readerDeaths: 0,
    writerKills: 0,
    killsBy: {},
    exitedMidRecord: 0,
    committedCount: 0,
    releasedCount: 0,
    corruptCount: 0,
    fullCount: 0,
    headWrapped: false,
  };

  const handler = (b: Uint8Array, off: number, len: number): void => {
    const seq = checkFrame(b, off, len, true);
    if (seq < 0) fail(`torn or corrupt record of ${len} bytes where seq ${expected} was expected`);
    if (seq !== expected) fail(seq < expected ? `duplicate: seq ${seq} again, expected ${expected}` : `lost: seq ${expected}..${seq - 1} missing, got ${seq}`);
    if (len !== recordSize(seq)) fail(`seq ${seq} has ${len} bytes, not ${recordSize(seq)}`);
    expected++;
    out.deliveries++;
  };

  /** One consumer step; returns the number of records handled. */
  const consume = (): number => {
    const release = rnd() < 0.6;
    const n = reader.drain(handler, 1 + rint(96), release);
    if (release && n > 0) unreleased = 0;
    else if (!release) unreleased += n;
    if (unreleased > 0 && rnd() < sc.readerDeath) {
      // The consumer dies between drain and release: its successor re-reads from TAIL.
      reader = new RingReader(desc);
      expected -= unreleased;
      out.redelivered += unreleased;
      out.readerDeaths++;
      unreleased = 0;
    } else if (rnd() < 0.1) {
      reader.releaseConsumed();
      unreleased = 0;
    }
    return n;
  };

  /** Reads everything the (dead) writer published and releases it. */
  const drainAll = (): void => {
    for (let guard = 0; guard < 1e6; guard++) if (consume() === 0 && !reader.hasData()) break;
    reader.releaseConsumed();
    unreleased = 0;
    if (reader.hasData()) fail('records left after draining a dead writer');
  };

  const incarnation = async (kill: Kill | null): Promise<void> => {
    drainAll();
    const startExpected = expected;
    Atomics.store(ctl, Ctl.DIE_MODE, DieMode.NONE);
    if (!kill) Atomics.store(ctl, Ctl.END_SEQ, expected + sc.tail);
    const data: WriterData & { kind: string } = { kind: 'ring-kill-writer', ring: desc, state, ctl: ctlBuf, maxBatch: 16 };
    const worker = new Worker(WORKER, { workerData: data });
    let exited = false;
    let exitCode = -1;
    let start = -1;
    let end = -1;
    let error: unknown = null;
    const exit = new Promise<void>((resolve) =>
      worker.once('exit', (code) => {
        exited = true;
        exitCode = code;
        reader.consumerBell.ringAlways(); // wake the consumer if it sleeps
        resolve();
      }),
    );
    worker.on('message', (m: { start?: number; end?: number }) => {
      if (m.start !== undefined) start = m.start;
      if (m.end !== undefined) end = m.end;
    });
    worker.on('error', (e) => (error = e));

    const observeTarget = rnd() < 0.1 ? 0 : rint(sc.maxObserve);
    let observed = 0;
    let fired = false;
    try {
      for (let step = 0; !exited; step++) {
        if (Date.now() > deadline) fail(`over the time budget (${out.writerKills} kills so far, expecting seq ${expected})`);
        const n = consume();
        observed += n;
        if (kill && !fired && observed >= observeTarget) {
          fired = true;
          if (kill.how === 'terminate') {
            await worker.terminate();
            break;
          }
          // Ask the worker to die at a point a little ahead of where it is now.
          Atomics.store(ctl, Ctl.DIE_SEQ, Math.max(expected, Atomics.load(ctl, Ctl.CURRENT)) + rint(24));
          Atomics.store(ctl, Ctl.DIE_BYTES, rint(1 << 20));
          Atomics.store(ctl, Ctl.DIE_MODE, kill.mode);
        }
        if (n === 0) {
          reader.releaseConsumed(); // never sleep on records we hold: the writer may need the space
          unreleased = 0;
          await reader.waitDataAsync(Math.max(1, Math.min(250, deadline - Date.now())));
        } else if ((step & 7) === 7) {
          await new Promise<void>((r) => setImmediate(r)); // let 'exit' and 'message' events in
        }
      }
      await exit;
    } finally {
      if (!exited) await worker.terminate();
    }
    if (error) fail(`writer worker failed: ${String((error as Error)?.stack ?? error)}`);
    drainAll();
    if (start >= 0 && start !== startExpected) {
      fail(`a new writer resumed at seq ${start}, but ${startExpected} records had been published`);
    }
    if (kill) {
      // process.exit(1) gives 1; terminate() gives 1, or 0 when it beats the worker's start-up.
      if (kill.how === 'exit') expect(exitCode, 'a writer that exits on request').to.equal(1);
      else expect(exitCode, 'a terminated writer').to.be.oneOf([0, 1]);
      out.writerKills++;
      const key = kill.how === 'terminate' ? 'terminate' : `exit:${DIE_MODE_NAMES[kill.mode]}`;
      out.killsBy[key] = (out.killsBy[key] ?? 0) + 1;
      if (kill.how === 'exit' && kill.mode === DieMode.MID_RECORD) out.exitedMidRecord++;
      // The token describes exactly what was published: either its batch was published (HEAD
      // matches) and `next` is the count, or it was not and `prev` is.
      if (reader.head === token.get(0, F_HEAD) >>> 0) expect(token.get(0, F_NEXT), 'token next').to.equal(expected);
      else expect(token.get(0, F_PREV), 'token prev').to.equal(expected);
    } else {
      expect(exitCode, 'the last writer finishes cleanly').to.equal(0);
      expect(end).to.equal(startExpected + sc.tail);
    }
  };

  for (const k of sc.kills) await incarnation(k);
  await incarnation(null);
  if (expected !== Atomics.load(ctl, Ctl.END_SEQ)) fail(`consumer ended at seq ${expected}, not ${Atomics.load(ctl, Ctl.END_SEQ)}`);

  out.records = expected;
  out.committedCount = reader.committedCount;
  out.releasedCount = reader.releasedCount;
  out.corruptCount = reader.corruptCount;
  out.fullCount = reader.fullCount;
  out.headWrapped = reader.head < sc.initialPosition;
  if (process.env.RING_KILL_VERBOSE) console.log(JSON.stringify(out));
  return out;
}

function shuffle<T>(xs: T[], rnd: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

const seedFromEnv = (): number => (process.env.RING_KILL_SEED ? Number(process.env.RING_KILL_SEED) : (Date.now() ^ (process.pid << 16)) >>> 0);

describe('base/ring under writer and reader kills', () => {
  it('no torn, lost or duplicated committed records across >= 30 random writer kills', async function () {
    this.timeout(20_000);
    const seed = seedFromEnv();
    const rnd = mulberry32(seed ^ 0x5eed);
    const kills: Kill[] = [];
    for (let i = 0; i < 10; i++) kills.push({ how: 'terminate' });
    for (let m = 1; m <= DIE_MODES; m++) for (let i = 0; i < 5; i++) kills.push({ how: 'exit', mode: m as DieMode });
    const tail = 3000;
    const o = await runScenario(
      {
        kills: shuffle(kills, rnd),
        tail,
        readerDeath: 0.02,
        maxObserve: 600,
        capacity: 64 * 1024,
        initialPosition: 2 ** 32 - 16 * 1024, // HEAD crosses 2^32 early
        budgetMs: 17_000,
      },
      seed,
    );
    const ctx = JSON.stringify(o);
    expect(o.writerKills, ctx).to.equal(35);
    expect(o.killsBy.terminate, ctx).to.equal(10);
    for (let m = 1; m <= DIE_MODES; m++) expect(o.killsBy[`exit:${DIE_MODE_NAMES[m]}`], ctx).to.equal(5);
    expect(o.records, ctx).to.be.at.least(tail);
    expect(o.deliveries, ctx).to.equal(o.records + o.redelivered);
    expect(o.releasedCount, 'every record released exactly once').to.equal(o.records);
    // COMMITTED is bumped just after HEAD is stored, so a terminate() in between can miss some.
    expect(o.committedCount, ctx).to.be.at.most(o.records).and.at.least(o.records - 16 * 10);
    expect(o.corruptCount, ctx).to.equal(0);
    expect(o.headWrapped, 'HEAD crossed 2^32').to.equal(true);
  });

  it('a consumer that dies between drain and release gets exactly the unreleased records again, and nothing else', async function () {
    this.timeout(20_000);
    const seed = seedFromEnv();
    const rnd = mulberry32(seed ^ 0xdead);
    const kills: Kill[] = shuffle(
      [{ how: 'terminate' }, { how: 'exit', mode: DieMode.MID_RECORD }, { how: 'exit', mode: DieMode.BEFORE_PUBLISH }, { how: 'exit', mode: DieMode.AFTER_PUBLISH }],
      rnd,
    );
    const o = await runScenario(
      { kills, tail: 4000, readerDeath: 0.3, maxObserve: 1500, capacity: 16 * 1024, initialPosition: 2 ** 32 - 4096, budgetMs: 10_000 },
      seed,
    );
    const ctx = JSON.stringify(o);
    expect(o.readerDeaths, ctx).to.be.at.least(20);
    expect(o.redelivered, ctx).to.be.greaterThan(0);
    expect(o.deliveries, ctx).to.equal(o.records + o.redelivered);
    expect(o.releasedCount, ctx).to.equal(o.records);
    expect(o.corruptCount, ctx).to.equal(0);
  });
});
