// Ring benchmark: frames/s and Gbit/s through one ring between two workers (64 B and 1500 B
// records), through a three-stage chain A -> B -> C, and MessagePort postMessage with one
// transferred buffer per frame as the baseline, measured in the same run; plus the time from
// an injected kill to the restarted actor serving again.

import { Worker, MessageChannel } from 'node:worker_threads';
import * as path from 'node:path';
import { createRing } from '../base/ring';
import { Supervisor } from '../supervisor/supervisor';
import type { FaultKind } from '../base/types';

const WORKER = path.join(__dirname, 'ring-worker.js');

function run(job: Record<string, unknown>, transfer: unknown[] = []): { worker: Worker; result: Promise<Record<string, number>> } {
  const worker = new Worker(WORKER, { workerData: job, transferList: transfer as never[] });
  const result = new Promise<Record<string, number>>((res, rej) => {
    worker.once('message', res);
    worker.once('error', rej);
  });
  return { worker, result };
}

async function finish(ws: Array<{ worker: Worker; result: Promise<Record<string, number>> }>): Promise<Array<Record<string, number>>> {
  const r = await Promise.all(ws.map((w) => w.result));
  await Promise.all(ws.map((w) => w.worker.terminate()));
  return r;
}

export interface RateFigure {
  fps: number;
  gbps: number;
}

function figure(count: number, size: number, ms: number): RateFigure {
  return { fps: (count / ms) * 1000, gbps: (count * size * 8) / (ms * 1e6) };
}

async function ringPair(size: number, count: number): Promise<RateFigure> {
  const ring = createRing(1 << 20);
  const c = run({ role: 'consume', size, count, input: ring });
  const p = run({ role: 'produce', size, count, output: ring });
  const [, cons] = await finish([p, c]);
  return figure(count, size, cons.ms);
}

async function ringChain(size: number, count: number): Promise<RateFigure> {
  const r1 = createRing(1 << 20);
  const r2 = createRing(1 << 20);
  const c = run({ role: 'consume', size, count, input: r2 });
  const b = run({ role: 'relay', size, count, input: r1, output: r2 });
  const a = run({ role: 'produce', size, count, output: r1 });
  const [, , cons] = await finish([a, b, c]);
  return figure(count, size, cons.ms);
}

async function postMessagePair(size: number, count: number): Promise<RateFigure> {
  const { port1, port2 } = new MessageChannel();
  const c = run({ role: 'pm-consume', size, count, port: port2 }, [port2]);
  const p = run({ role: 'pm-produce', size, count, port: port1 }, [port1]);
  const [, cons] = await finish([p, c]);
  return figure(count, size, cons.ms);
}

function fmt(f: RateFigure): string {
  return `${(f.fps / 1e6).toFixed(2)} M frames/s, ${f.gbps.toFixed(2)} Gbit/s`;
}

export async function restartFigures(kinds: FaultKind[], rounds: number): Promise<{ p50: number; p99: number; n: number }> {
  const sup = new Supervisor({ spares: 2 });
  await sup.start({
    actors: [
      { name: 'src', kind: 'source', config: { size: 512, count: 1e12 }, shared: { state: 256 } },
      { name: 'relay', kind: 'relay', restart: { intensity: 1e9, periodMs: 1000, backoffMs: [0] } },
      { name: 'sink', kind: 'sink', shared: { state: 256 } },
    ],
    links: [{ from: 'src.out', to: 'relay.in' }, { from: 'relay.out', to: 'sink.in' }],
  });
  // Serving again = the sink sees new frames through the restarted relay.
  const served: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const kind = kinds[i % kinds.length];
    await sup.sparesReady();
    await new Promise((r) => setTimeout(r, 20)); // let the pipeline reach steady state
    const p = sup.waitRestarted('relay');
    const t0 = performance.now();
    await sup.inject('relay', kind);
    await p;
    const before = sup.counters('sink').framesIn;
    while (sup.counters('sink').framesIn <= before) await new Promise((r) => setImmediate(r));
    served.push(performance.now() - t0);
  }
  await sup.stop();
  served.sort((a, b) => a - b);
  return { p50: served[Math.floor(served.length * 0.5)], p99: served[Math.min(served.length - 1, Math.floor(served.length * 0.99))], n: served.length };
}

export async function benchRing(): Promise<void> {
  console.log('# rings (two workers; baseline: postMessage with one transferred buffer per frame)');
  for (const [size, count] of [[64, 4_000_000], [1500, 2_000_000]] as const) {
    const ring = await ringPair(size, count);
    const pm = await postMessagePair(size, Math.floor(count / 4));
    console.log(`ring ${size} B: ${fmt(ring)} | postMessage ${size} B: ${fmt(pm)} | ratio ${(ring.fps / pm.fps).toFixed(1)}x` +
      `   (targets: >= ${size === 64 ? 3 : 1.2} M frames/s, >= 3x postMessage)`);
  }
  const chain = await ringChain(1500, 1_000_000);
  console.log(`chain A->B->C 1500 B: ${fmt(chain)}`);
  const chain64 = await ringChain(64, 2_000_000);
  console.log(`chain A->B->C 64 B: ${fmt(chain64)}`);
  console.log('# restart: injected kill -> restarted relay serving frames again (spare worker adopts the role)');
  for (const kinds of [['exit'], ['throw'], ['terminate']] as FaultKind[][]) {
    const r = await restartFigures(kinds, 30);
    console.log(`restart after ${kinds.join('/')}: p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms over ${r.n} kills   (target p50 <= 20 ms)`);
  }
}

if (require.main === module) {
  benchRing().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
