// Worker side of the ring benchmark: produce, relay or consume records on rings, or the same
// over MessagePort postMessage (one transferred ArrayBuffer per frame) as the baseline.

import { workerData, parentPort, MessagePort } from 'node:worker_threads';
import { RingReader, RingWriter, RingDescriptor } from '../base/ring';

interface Job {
  role: 'produce' | 'relay' | 'consume' | 'pm-produce' | 'pm-consume';
  size: number;
  count: number;
  input?: RingDescriptor;
  output?: RingDescriptor;
  port?: MessagePort;
  batch?: number;
}

const job = workerData as Job;
const done = (v: Record<string, number>): void => parentPort!.postMessage(v);

function produce(): void {
  const w = new RingWriter(job.output!);
  const src = new Uint8Array(job.size);
  for (let i = 0; i < src.length; i++) src[i] = i & 0xff;
  const batch = job.batch ?? 32;
  const t0 = performance.now();
  for (let i = 0; i < job.count; ) {
    let at = w.tryReserve(job.size);
    if (at < 0) at = w.reserveWait(job.size, 1000);
    if (at < 0) continue;
    w.bytes.set(src, at);
    w.bytes[at] = i & 0xff;
    i++;
    w.commit(job.size, i % batch === 0);
  }
  w.publish();
  done({ ms: performance.now() - t0 });
}

function relay(): void {
  const r = new RingReader(job.input!);
  const w = new RingWriter(job.output!);
  let n = 0;
  const handler = (b: Uint8Array, off: number, len: number): boolean => {
    const at = w.tryReserve(len);
    if (at < 0) return false;
    w.bytes.set(b.subarray(off, off + len), at);
    w.commit(len, false);
    n++;
    return true;
  };
  while (n < job.count) {
    const got = r.drain(handler, 256, false);
    w.publish();
    r.releaseConsumed();
    if (got === 0) {
      if (r.hasData()) {
        // output full: wait for our consumer to release space
        const at = w.reserveWait(job.size, 1000);
        if (at >= 0) w.abort();
      } else r.waitData(1000);
    }
  }
  done({ n });
}

function consume(): void {
  const r = new RingReader(job.input!);
  let n = 0;
  let sum = 0;
  const handler = (b: Uint8Array, off: number): void => {
    sum += b[off];
    n++;
  };
  const t0 = performance.now();
  while (n < job.count) {
    if (r.drain(handler, 1024) === 0) r.waitData(1000);
  }
  done({ ms: performance.now() - t0, sum });
}

function pmProduce(): void {
  const port = job.port!;
  let i = 0;
  // Bounded in flight: the consumer acks every 1024 frames so memory stays bounded.
  let acked = 0;
  const windowFrames = 8192;
  const pump = (): void => {
    while (i < job.count && i - acked < windowFrames) {
      const ab = new ArrayBuffer(job.size);
      new Uint8Array(ab)[0] = i & 0xff;
      port.postMessage(ab, [ab]);
      i++;
    }
  };
  port.on('message', (m: number) => {
    acked = m;
    if (acked >= job.count) {
      done({});
      port.close();
    } else pump();
  });
  pump();
}

function pmConsume(): void {
  const port = job.port!;
  let n = 0;
  const t0 = performance.now();
  port.on('message', (ab: ArrayBuffer) => {
    n++;
    void new Uint8Array(ab)[0];
    if (n % 1024 === 0 || n === job.count) port.postMessage(n);
    if (n === job.count) {
      done({ ms: performance.now() - t0 });
      setImmediate(() => port.close());
    }
  });
}

switch (job.role) {
  case 'produce':
    produce();
    break;
  case 'relay':
    relay();
    break;
  case 'consume':
    consume();
    break;
  case 'pm-produce':
    pmProduce();
    break;
  case 'pm-consume':
    pmConsume();
    break;
}
