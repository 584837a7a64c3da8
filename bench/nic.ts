// NIC benchmark: raw TAP frame rates (read and write; 60- and 1514-byte frames) of a NIC actor
// running in its own worker (base/worker.ts shell, bell with an eventfd, rings to and from
// helper workers), next to a minimal plain koffi read()/write() loop in a worker on the same
// device in the same run, so the actor's overhead shows. Target: the actor within 20% of the
// plain loop. Needs root (TAP devices, a network namespace); skips with a message otherwise.
//
// Set-up, all inside a namespace made for the run (salnic-bench-*), deleted at the end:
//   W   a TAP for writes: frames written to it reach the kernel, which drops them at once
//       (unicast to a MAC that is not its own);
//   R   a TAP for reads, bridged (br) with I, a second TAP used as injector. Frames written to
//       I's fd are bridged out of R and queue on R's fd.
// Reads are measured on a pre-filled queue so the injector's own speed does not cap them:
// R's txqueuelen is raised to hold a whole batch, K frames are injected while nobody reads
// (the NIC actor starts with reading paused), then the reader drains them; the rate is taken
// between the first and the K-th frame seen (by the plain loop itself, or by the worker that
// drains the NIC's rx ring, asleep between the NIC's batches). Writes are measured the same
// way: the NIC's tx ring is filled with K frames before the NIC starts, and a watcher asleep
// on the ring's producer bell times the drain; the plain loop writes K frames.
//
// Run alone: `node dist/bench/nic.js`.

import * as path from 'node:path';
import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { Worker, MessageChannel } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { ACTOR_BLOCK_BYTES, ActorWord } from '../base/layout';
import { createRing, RingDescriptor, RingWriter } from '../base/ring';
import { Counters } from '../base/actor';
import type { ActorApi, FromWorker, RoleAssignment } from '../base/types';
import { openTap, closeTap } from '../actors/nic/tap';
import { getLibc } from '../base/ffi';
import { createEventfd, closeEventfd } from '../base/eventfd';
// eslint-disable-next-line @typescript-eslint/no-var-requires
const nodeEndpoint = require('comlink/dist/umd/node-adapter');

const DIST = path.join(__dirname, '..');
const READ_BATCH: Record<number, number> = { 60: 50000, 1514: 20000 };
const WRITE_BATCH: Record<number, number> = { 60: 100000, 1514: 20000 };
const SIZES = [60, 1514];
const REPS = 5;

function median(xs: number[]): number {
  const a = xs.slice().sort((x, y) => x - y);
  return a.length ? a[a.length >> 1] : NaN;
}

function sh(args: string[]): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync(args[0], args.slice(1), { encoding: 'utf8', timeout: 10000 });
  return { status: r.status, stderr: r.stderr ?? '', stdout: r.stdout ?? '' };
}
function must(args: string[]): string {
  const r = sh(args);
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

function frame(len: number): Uint8Array {
  const f = new Uint8Array(len);
  f.set([0x02, 0, 0x5e, 0, 0, 0x99], 0); // unicast, nobody's
  f.set([0x02, 0, 0x5e, 0, 0, 0x01], 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  return f;
}

// ---- helper workers (eval'd; they load the compiled modules by absolute path)

const PLAIN_READ = `
const { parentPort, workerData: w } = require('node:worker_threads');
const { getLibc } = require(${JSON.stringify(path.join(DIST, 'base/ffi.js'))});
const c = getLibc();
const buf = new Uint8Array(65536);
// One round per message: read 'count' frames (already queued), timing first to last.
parentPort.on('message', (count) => {
  let n = 0, t0 = 0, t1 = 0;
  const deadline = Date.now() + 5000;
  while (n < count && Date.now() < deadline) {
    const r = c.read(w.fd, buf, buf.length);
    if (r > 0) { if (n === 0) t0 = performance.now(); n++; t1 = performance.now(); }
  }
  parentPort.postMessage({ n, ms: t1 - t0 });
});
parentPort.postMessage({ ready: true });
`;

const PLAIN_WRITE = `
const { parentPort, workerData: w } = require('node:worker_threads');
const { getLibc } = require(${JSON.stringify(path.join(DIST, 'base/ffi.js'))});
const c = getLibc();
const f = new Uint8Array(w.len); f.set([2,0,0x5e,0,0,0x99], 0); f.set([2,0,0x5e,0,0,1], 6); f[12] = 0x88; f[13] = 0xb5;
// One round per message: write 'count' frames, timed.
parentPort.on('message', (count) => {
  let n = 0, fail = 0;
  const t0 = performance.now();
  for (let i = 0; i < count; i++) { if (c.write(w.fd, f, w.len) === w.len) n++; else fail++; }
  parentPort.postMessage({ n, fail, ms: performance.now() - t0 });
});
parentPort.postMessage({ ready: true });
`;

/** Drains the NIC's rx ring. Rounds of workerData.rounds[i] frames: times each from its first
 *  to its last frame and reports it. */
const RX_CONSUMER = `
const { parentPort, workerData: w } = require('node:worker_threads');
const { RingReader } = require(${JSON.stringify(path.join(DIST, 'base/ring.js'))});
const r = new RingReader(w.ring);
let n = 0;
const h = () => { n++; };
parentPort.postMessage({ ready: true });
for (const count of w.rounds) {
  // Sleeps until the NIC publishes (it rings this consumer's bell), so it takes next to no CPU
  // from the NIC. Timed from the end of the first batch to the last frame.
  n = 0;
  let t0 = 0, n0 = 0, t1 = 0;
  const deadline = Date.now() + 8000;
  while (n < count && Date.now() < deadline) {
    if (r.drain(h) > 0) {
      t1 = performance.now();
      if (t0 === 0) { t0 = t1; n0 = n; }
    } else r.waitData(50);
  }
  parentPort.postMessage({ n: n - n0, ms: t1 - t0 });
}
`;

/** Watches the NIC drain a pre-filled tx ring: sleeps on the ring's producer bell (rung at
 *  every release), timing from the first release to the ring being empty. */
const TX_WATCHER = `
const { parentPort, workerData: w } = require('node:worker_threads');
const { RingWriter } = require(${JSON.stringify(path.join(DIST, 'base/ring.js'))});
const r = new RingWriter(w.ring);
const bell = r.producerBell;
parentPort.on('message', (count) => {
  const start = r.releasedCount;
  let t0 = 0, n0 = 0, t1 = 0, n1 = 0;
  const deadline = Date.now() + 8000;
  parentPort.postMessage({ armed: true });
  while (Date.now() < deadline) {
    const seq = bell.prepare();
    const rel = (r.releasedCount - start) >>> 0;
    if (rel > 0 && t0 === 0) { t0 = performance.now(); n0 = rel; }
    if (rel >= count) { bell.cancel(); t1 = performance.now(); n1 = rel; break; }
    bell.wait(seq, 50);
  }
  parentPort.postMessage({ n: n1 - n0, ms: t1 - t0 });
});
parentPort.postMessage({ ready: true });
`;

/** A helper worker: `ready` resolves at its {ready} message; next() yields its results. */
function runWorker<T>(code: string, data: unknown): { ready: Promise<void>; next: () => Promise<T>; worker: Worker } {
  const worker = new Worker(code, { eval: true, workerData: data });
  const queue: T[] = [];
  const waiters: Array<{ res: (v: T) => void; rej: (e: Error) => void }> = [];
  let failure: Error | null = null;
  let readyRes!: () => void;
  let readyRej!: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => ((readyRes = res), (readyRej = rej)));
  ready.catch(() => undefined);
  const fail = (e: Error): void => {
    failure = e;
    readyRej(e);
    for (const w of waiters.splice(0)) w.rej(e);
  };
  worker.on('message', (m) => {
    if (m && m.ready) return readyRes();
    if (m && m.armed) return;
    const w = waiters.shift();
    if (w) w.res(m as T);
    else queue.push(m as T);
  });
  worker.once('error', fail);
  worker.once('exit', (c) => fail(new Error(`helper worker exited (${c})`)));
  const next = (): Promise<T> => {
    if (queue.length) return Promise.resolve(queue.shift()!);
    if (failure) return Promise.reject(failure);
    return new Promise<T>((res, rej) => waiters.push({ res, rej }));
  };
  return { ready, next, worker };
}

/** A NIC actor in a base/worker.ts shell, wired by hand as the supervisor would. */
class NicWorker {
  readonly block = new SharedArrayBuffer(ACTOR_BLOCK_BYTES);
  readonly i32 = new Int32Array(this.block, 0, 32);
  readonly bellEventfd = createEventfd();
  readonly slots: Record<string, number> = {};
  readonly tx: RingDescriptor;
  readonly rx: RingDescriptor;
  worker!: Worker;
  api!: Comlink.Remote<ActorApi>;

  constructor(
    readonly config: unknown,
    rxRingBytes = 1 << 20,
    txRingBytes = 1 << 20,
  ) {
    const bell = { buffer: this.block, index: ActorWord.BELL, eventfd: this.bellEventfd };
    // Rings touched once so that page faults are not measured. tx: 1 MiB, the supervisor's
    // default; rx: large enough for a whole read round when asked.
    const tx = createRing(txRingBytes);
    const rx = createRing(rxRingBytes);
    new Uint8Array(tx.buffer, 512).fill(0);
    new Uint8Array(rx.buffer, 512).fill(0);
    this.tx = { buffer: tx.buffer, consumerBell: bell };
    this.rx = { buffer: rx.buffer, producerBell: bell };
  }

  async start(): Promise<void> {
    this.worker = new Worker(path.join(DIST, 'base/worker.js'));
    const booted = new Promise<void>((res, rej) => {
      this.worker.on('message', (m: FromWorker) => {
        if (m.type === 'booted') res();
        if (m.type === 'counter') this.slots[m.name] = m.slot;
        if (m.type === 'ready') this.readyRes?.();
        if (m.type === 'adopt-failed') rej(new Error(m.message));
      });
      this.worker.once('error', rej);
    });
    await booted;
    const { port1, port2 } = new MessageChannel();
    const role: RoleAssignment = {
      name: 'nic:bench', kind: 'nic', config: this.config, incarnation: 0, block: this.block,
      bellEventfd: this.bellEventfd, inputs: { tx: this.tx }, outputs: { rx: this.rx }, shared: {}, counterSlots: {},
    };
    const ready = new Promise<void>((res) => (this.readyRes = res));
    this.worker.postMessage({ type: 'adopt', role, control: port2 }, [port2]);
    await ready;
    const ep = nodeEndpoint(port1) as Comlink.Endpoint;
    const poke = (): void => {
      Atomics.store(this.i32, ActorWord.CONTROL, 1);
      Atomics.add(this.i32, ActorWord.BELL, 1);
      Atomics.notify(this.i32, ActorWord.BELL);
      getLibc().write(this.bellEventfd, new Uint8Array(new BigUint64Array([1n]).buffer), 8);
    };
    this.api = Comlink.wrap<ActorApi>({
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      postMessage: (m: unknown, t?: any[]) => {
        ep.postMessage(m, t);
        poke();
      },
      addEventListener: ep.addEventListener.bind(ep),
      removeEventListener: ep.removeEventListener.bind(ep),
    });
  }
  private readyRes: (() => void) | null = null;

  counter(name: string): number {
    return Counters.read(this.block, this.slots)[name] ?? 0;
  }

  async stop(): Promise<void> {
    await Promise.race([this.api?.stop(), new Promise((r) => setTimeout(r, 1000))]).catch(() => undefined);
    await this.worker?.terminate();
    closeEventfd(this.bellEventfd);
  }
}

function line(what: string, plain: number, actor: number): void {
  const ratio = actor / plain;
  const verdict = ratio >= 0.8 ? 'ok' : 'BELOW TARGET';
  console.log(
    `${what.padEnd(22)} plain ${(plain / 1e3).toFixed(0).padStart(6)} kframes/s   actor ${(actor / 1e3).toFixed(0).padStart(6)} kframes/s   actor/plain ${(ratio * 100).toFixed(0).padStart(3)}%  (target >= 80%: ${verdict})`,
  );
}

export async function benchNic(): Promise<void> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    console.log('nic: skipped (needs root: TAP devices and a network namespace)');
    return;
  }
  if (!fs.existsSync('/dev/net/tun')) {
    console.log('nic: skipped (/dev/net/tun is missing)');
    return;
  }
  const tag = `${(process.pid % 10000).toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
  const ns = `salnic-bench-${tag}`;
  const names = { w: `salbw${tag}`, r: `salbr${tag}`, i: `salbi${tag}` };
  const fds: number[] = [];
  let nsMade = false;
  try {
    must(['ip', 'netns', 'add', ns]);
    nsMade = true;
    const w = openTap(names.w);
    const r = openTap(names.r);
    const inj = openTap(names.i);
    fds.push(w.fd, r.fd, inj.fd);
    for (const d of [w.name, r.name, inj.name]) {
      must(['ip', 'link', 'set', d, 'netns', ns]);
      sh(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', `net.ipv6.conf.${d}.disable_ipv6=1`]);
    }
    const n = (args: string[]): string => must(['ip', '-n', ns, ...args]);
    n(['link', 'add', 'name', 'salbr', 'type', 'bridge']);
    sh(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.salbr.disable_ipv6=1']);
    n(['link', 'set', r.name, 'master', 'salbr']);
    n(['link', 'set', inj.name, 'master', 'salbr']);
    n(['link', 'set', r.name, 'txqueuelen', String(Math.max(...Object.values(READ_BATCH)) + 1000)]);
    for (const d of [w.name, r.name, inj.name, 'salbr']) n(['link', 'set', d, 'up']);

    console.log(`nic: TAP frame rates, NIC actor worker vs plain koffi loop worker (${ns})`);
    const c = getLibc();
    const inject = (len: number, count: number): number => {
      const f = frame(len);
      let ok = 0;
      for (let i = 0; i < count; i++) if (c.write(inj.fd, f, len) === len) ok++;
      return ok;
    };
    const drainR = (): void => {
      const b = new Uint8Array(65536);
      for (let i = 0; i < 1e6 && c.read(r.fd, b, b.length) > 0; i++);
    };

    const rate = (x: { n: number; ms: number }): number => x.n / (x.ms / 1000);

    for (const len of SIZES) {
      // -- reads: the plain loop and the NIC actor take turns on the same pre-filled queue.
      const K = READ_BATCH[len];
      const rounds = [Math.floor(K / 4), ...Array(REPS).fill(K)]; // a warm-up round, then REPS
      const plain = runWorker<{ n: number; ms: number }>(PLAIN_READ, { fd: r.fd });
      const rxRing = 2 ** Math.ceil(Math.log2(K * (len + 8)));
      const nic = new NicWorker({ link: { type: 'tap', name: r.name, fd: r.fd, rxPaused: true }, mac: '02:00:5e:00:00:01' }, rxRing);
      const cons = runWorker<{ n: number; ms: number }>(RX_CONSUMER, { ring: nic.rx, rounds });
      const pr: number[] = [];
      const ar: number[] = [];
      try {
        await plain.ready;
        await nic.start();
        await cons.ready;
        drainR();
        for (let i = 0; i < rounds.length; i++) {
          inject(len, rounds[i]);
          plain.worker.postMessage(rounds[i]);
          const p1 = await plain.next();
          inject(len, rounds[i]);
          await nic.api.control('rxPause', { paused: false });
          const a1 = await cons.next();
          await nic.api.control('rxPause', { paused: true });
          if (i > 0) {
            pr.push(rate({ n: p1.n - 1, ms: p1.ms }));
            ar.push(rate(a1));
          }
        }
        line(`read ${len} B`, median(pr), median(ar));
        const drops = nic.counter('nic.drop.rx-ring-full');
        if (drops) console.log(`  (rx ring full: ${drops} frames dropped by the NIC)`);
      } finally {
        await cons.worker.terminate();
        await plain.worker.terminate();
        await nic.stop();
      }
    }

    for (const len of SIZES) {
      // -- writes: the plain loop writes K frames; the NIC actor drains K frames put in its tx
      // ring while transmission was held.
      const K = WRITE_BATCH[len];
      const plain = runWorker<{ n: number; ms: number }>(PLAIN_WRITE, { fd: w.fd, len });
      const txRing = 2 ** Math.ceil(Math.log2(K * (len + 8) + 4096));
      const nic = new NicWorker({ link: { type: 'tap', name: w.name, fd: w.fd }, txPaused: true, mac: '02:00:5e:00:00:01' }, 1 << 20, txRing);
      const watch = runWorker<{ n: number; ms: number }>(TX_WATCHER, { ring: nic.tx });
      const tw = new RingWriter(nic.tx);
      const f = frame(len);
      const pw: number[] = [];
      const aw: number[] = [];
      try {
        await plain.ready;
        await nic.start();
        await watch.ready;
        for (let i = 0; i <= REPS; i++) {
          const k = i === 0 ? Math.floor(K / 4) : K;
          plain.worker.postMessage(k);
          const p1 = await plain.next();
          for (let j = 0; j < k; j++) if (!tw.write(f)) throw new Error('tx ring too small');
          watch.worker.postMessage(k);
          await nic.api.control('txPause', { paused: false });
          const a1 = await watch.next();
          await nic.api.control('txPause', { paused: true });
          if (i > 0) {
            pw.push(rate(p1));
            aw.push(rate(a1));
          }
        }
        line(`write ${len} B`, median(pw), median(aw));
        const errs = nic.counter('link.errors');
        if (errs) console.log(`  (${errs} write errors)`);
      } finally {
        await watch.worker.terminate();
        await plain.worker.terminate();
        await nic.stop();
      }
    }
    console.log(`  (median of ${REPS} alternating rounds each; frames per round: read ${JSON.stringify(READ_BATCH)}, write ${JSON.stringify(WRITE_BATCH)})`);
  } finally {
    for (const fd of fds) closeTap(fd);
    if (nsMade) sh(['ip', 'netns', 'del', ns]);
    for (const d of Object.values(names)) if (sh(['ip', 'link', 'show', d]).status === 0) sh(['ip', 'link', 'del', d]);
  }
}

if (require.main === module) {
  benchNic().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
