// Tests for base/bell.ts: doorbells (prepare / re-check / wait on the sleeper side, ring on the
// ringer side). Real timeouts appear only where the timeout itself is under test.

import { expect } from 'chai';
import { Worker } from 'worker_threads';
import { Bell, BellDescriptor, setEventfdWriter } from '../../base/bell';
import { BellWord } from '../../base/layout';
import { Topology, RoleResources } from '../../base/topology';
import { createEventfd, eventfdDrain, closeEventfd } from '../../base/eventfd';

const seqOf = (b: Bell): number => Atomics.load(b.i32, b.seqIndex);

/** Runs `body` (CommonJS source) in a worker with `bellPath` and `desc` in workerData. */
function bellWorker(body: string, desc: BellDescriptor, extra: Record<string, unknown> = {}): Worker {
  const src = `
    const { workerData, parentPort } = require('worker_threads');
    const { Bell } = require(workerData.bellPath);
    const bell = new Bell(workerData.desc);
    ${body}
  `;
  return new Worker(src, { eval: true, workerData: { bellPath: require.resolve('../../base/bell'), desc, ...extra } });
}

function nextMessage<T>(w: Worker, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no message from the worker within ${ms} ms`)), ms);
    w.once('message', (m: T) => {
      clearTimeout(t);
      resolve(m);
    });
    w.once('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

describe('base/bell', () => {
  it('create(): SEQ and SLEEPING in one small buffer, nobody sleeping', () => {
    const b = Bell.create();
    expect(b.seqIndex).to.equal(BellWord.SEQ);
    expect(b.sleepIndex).to.equal(BellWord.SLEEPING);
    expect(b.sleeping).to.equal(false);
    expect(seqOf(b)).to.equal(0);
    expect(b.eventfd).to.equal(-1);
  });

  it('ring() without a sleeper does not bump SEQ; ringAlways() does', () => {
    const b = Bell.create();
    for (let i = 0; i < 5; i++) b.ring();
    expect(seqOf(b)).to.equal(0);
    b.ringAlways();
    b.ringAlways();
    expect(seqOf(b)).to.equal(2);
    expect(b.sleeping).to.equal(false, 'ringAlways does not touch SLEEPING');
  });

  it('prepare() announces the sleeper and returns SEQ; ring() then bumps; cancel() withdraws', () => {
    const b = Bell.create();
    b.ringAlways();
    const seq = b.prepare();
    expect(seq).to.equal(1);
    expect(b.sleeping).to.equal(true);
    b.ring();
    expect(seqOf(b)).to.equal(2);
    b.ring();
    expect(seqOf(b)).to.equal(3, 'every ring while the sleeper is announced bumps');
    b.cancel();
    expect(b.sleeping).to.equal(false);
    b.ring();
    expect(seqOf(b)).to.equal(3);
  });

  it('a bell inside a larger buffer touches only its own two words', () => {
    const buffer = new SharedArrayBuffer(64);
    const all = new Int32Array(buffer);
    all.fill(7);
    all[5] = 0;
    all[6] = 0;
    const b = new Bell({ buffer, index: 5 });
    const other = new Bell({ buffer, index: 10 });
    b.prepare();
    b.ring();
    b.ringAlways();
    b.cancel();
    other.ring(); // its SLEEPING word holds 7 (non-zero): counts as a sleeper
    expect([...all]).to.deep.equal([7, 7, 7, 7, 7, 2, 0, 7, 7, 7, 8, 7, 7, 7, 7, 7]);
  });

  it('waitAsync resolves "ok" when rung after it started, and clears SLEEPING', async () => {
    const b = Bell.create();
    const seq = b.prepare();
    const p = b.waitAsync(seq, 10_000);
    expect(b.sleeping).to.equal(true);
    b.ring();
    expect(await p).to.equal('ok');
    expect(b.sleeping).to.equal(false);
  });

  it('waitAsync resolves "not-equal" when rung between prepare and waitAsync (no lost wake-up)', async () => {
    const b = Bell.create();
    const seq = b.prepare();
    b.ring();
    expect(await b.waitAsync(seq, 10_000)).to.equal('not-equal');
    expect(b.sleeping).to.equal(false);
  });

  it('waitAsync resolves "timed-out" after its timeout and clears SLEEPING', async () => {
    const b = Bell.create();
    const seq = b.prepare();
    const t0 = Date.now();
    expect(await b.waitAsync(seq, 10)).to.equal('timed-out');
    expect(Date.now() - t0).to.be.at.least(5);
    expect(b.sleeping).to.equal(false);
    expect(await b.waitAsync(b.prepare(), 0)).to.equal('timed-out');
    expect(b.sleeping).to.equal(false);
  });

  it('wait(): "not-equal" at once for a stale sequence, "timed-out" with a zero timeout; clears SLEEPING', () => {
    const b = Bell.create();
    const seq = b.prepare();
    b.ring();
    expect(b.wait(seq, 10_000)).to.equal('not-equal');
    expect(b.sleeping).to.equal(false);
    expect(b.wait(b.prepare(), 0)).to.equal('timed-out');
    expect(b.sleeping).to.equal(false);
  });

  it('SEQ wraps past 2^31 - 1 and still wakes', async () => {
    const b = Bell.create();
    Atomics.store(b.i32, b.seqIndex, 0x7fffffff);
    const seq = b.prepare();
    const p = b.waitAsync(seq, 10_000);
    b.ring();
    expect(await p).to.equal('ok');
    expect(seqOf(b)).to.equal(-0x80000000);
  });

  it('wakes a worker blocked in wait()', async () => {
    const b = Bell.create();
    const w = bellWorker(
      `
      const seq = bell.prepare();
      parentPort.postMessage('ready');
      const t0 = Date.now();
      const r = bell.wait(seq, 10000);
      parentPort.postMessage({ r, ms: Date.now() - t0, sleeping: bell.sleeping });
    `,
      b.desc,
    );
    try {
      expect(await nextMessage<string>(w, 5000)).to.equal('ready');
      expect(b.sleeping).to.equal(true);
      b.ring();
      const m = await nextMessage<{ r: string; ms: number; sleeping: boolean }>(w, 5000);
      expect(m.r).to.be.oneOf(['ok', 'not-equal']); // 'not-equal' if the ring beat the wait
      expect(m.ms).to.be.below(5000);
      expect(m.sleeping).to.equal(false);
    } finally {
      await w.terminate();
    }
  });

  it('the prepare / re-check / wait protocol loses no wake-up, in either direction (ping-pong with a worker)', async function () {
    this.timeout(15_000);
    // The main thread publishes item i and rings `b`; the worker (blocking wait) takes it,
    // publishes seen = i and rings `ack`; the main thread (waitAsync) waits for the ack. Each
    // side races the other's going to sleep every round. A lost wake-up shows as a timeout with
    // the work already published.
    const N = 2000;
    const b = Bell.create();
    const ack = Bell.create();
    const work = new SharedArrayBuffer(8); // [0] = published item, [1] = last item seen
    const w = bellWorker(
      `
      const ack = new Bell(workerData.ack);
      const work = new Int32Array(workerData.work);
      let seen = 0, sleeps = 0, lost = 0;
      parentPort.postMessage('ready');
      while (seen < workerData.n) {
        if (Atomics.load(work, 0) > seen) {
          seen = Atomics.load(work, 0);
          Atomics.store(work, 1, seen);
          ack.ring();
          continue;
        }
        const seq = bell.prepare();
        if (Atomics.load(work, 0) > seen) { bell.cancel(); continue; }
        sleeps++;
        if (bell.wait(seq, 2000) === 'timed-out' && Atomics.load(work, 0) > seen) lost++;
      }
      parentPort.postMessage({ seen, sleeps, lost });
    `,
      b.desc,
      { work, n: N, ack: ack.desc },
    );
    try {
      expect(await nextMessage<string>(w, 5000)).to.equal('ready');
      const done = nextMessage<{ seen: number; sleeps: number; lost: number }>(w, 14_000);
      const words = new Int32Array(work);
      let mainSleeps = 0;
      for (let i = 1; i <= N; i++) {
        Atomics.store(words, 0, i); // publish work, then ring
        b.ring();
        for (;;) {
          if (Atomics.load(words, 1) >= i) break;
          const seq = ack.prepare();
          if (Atomics.load(words, 1) >= i) {
            ack.cancel();
            break;
          }
          mainSleeps++;
          const r = await ack.waitAsync(seq, 3000);
          if (r === 'timed-out' && Atomics.load(words, 1) < i) expect.fail(`lost wake-up: item ${i} not acknowledged`);
        }
      }
      const res = await done;
      expect(res.seen).to.equal(N);
      expect(res.lost).to.equal(0);
      expect(res.sleeps + mainSleeps).to.be.greaterThan(0, 'someone slept at times');
      expect(seqOf(b)).to.be.at.most(N);
    } finally {
      await w.terminate();
    }
  });

  it('ringAlways() also writes the eventfd through the installed writer; ring() only with a sleeper', () => {
    const calls: number[] = [];
    const b = new Bell({ buffer: new SharedArrayBuffer(8), index: 0, eventfd: 1234 });
    const modPath = require.resolve('../../base/eventfd');
    const real = require.cache[modPath]?.exports as { eventfdWrite?: (fd: number) => void } | undefined;
    setEventfdWriter((fd) => calls.push(fd));
    try {
      b.ring();
      expect(calls).to.deep.equal([]);
      b.prepare();
      b.ring();
      b.cancel();
      b.ringAlways();
      expect(calls).to.deep.equal([1234, 1234]);
      expect(seqOf(b)).to.equal(2);
    } finally {
      // Restore: the real writer if base/eventfd is loaded, else none (it installs itself lazily).
      setEventfdWriter((real?.eventfdWrite ?? null) as unknown as (fd: number) => void);
    }
  });

  it('a role bell whose eventfd was closed never writes that number again, even once it is reused', () => {
    // The iperf3 flake of docs/next.md: after a Stack with a TAP link stopped, the garbage
    // collector freed a comlink proxy of its NIC role; comlink posted RELEASE, the supervisor's
    // endpoint rang the role's bell, and the bell wrote 8 bytes (01 00 ...) to the closed
    // eventfd's number, by then an unrelated socket of the process.
    const fd = createEventfd();
    const r = { bell: new Bell({ buffer: new SharedArrayBuffer(8), index: 0, eventfd: fd }) } as unknown as RoleResources;
    Topology.closeBell(r);
    expect(r.bell.eventfd).to.equal(-1);
    expect(r.bell.desc.eventfd).to.equal(-1);
    // Open eventfds until one gets the closed number (the lowest free one, unless another
    // thread took it first), keeping the others open meanwhile.
    const opened: number[] = [];
    try {
      for (let i = 0; i < 64 && !opened.includes(fd); i++) opened.push(createEventfd());
      expect(opened, 'the closed number was reused').to.include(fd);
      r.bell.ringAlways();
      expect(eventfdDrain(fd), 'bytes written to the reused number').to.equal(0);
      Topology.closeBell(r); // twice: nothing to close
    } finally {
      for (const o of opened) closeEventfd(o);
    }
  });
});
