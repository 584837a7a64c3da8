// Shared fixtures of the net tests: two Stacks joined by an in-memory wire (192.0.2.1 and
// 192.0.2.2), event waits with deadlines (no wall-clock sleeps), and byte helpers.

import { EventEmitter } from 'node:events';
import { createHash } from 'node:crypto';
import { Stack } from '../../api/stack';
import type { StackTcpConfig } from '../../api/net';

export const A_ADDR = '192.0.2.1';
export const B_ADDR = '192.0.2.2';

export async function twoStacks(tcp: StackTcpConfig = {}, names = ['na', 'nb']): Promise<[Stack, Stack]> {
  const sup = { spares: 1, hangTimeoutMs: 2000, ringCapacity: 1 << 20 };
  const A = new Stack({ name: names[0], links: [{ name: 'w0', type: 'wire', addresses: [`${A_ADDR}/24`] }], supervisor: sup, tcp });
  const B = new Stack({ name: names[1], links: [{ name: 'w0', type: 'wire', addresses: [`${B_ADDR}/24`] }], supervisor: sup, tcp });
  await A.start();
  await B.start();
  await Stack.join(A, 'w0', B, 'w0', 1 << 22);
  return [A, B];
}

export { once } from '../util';

/** Rejects after `ms` with a message naming what did not happen. */
export function deadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    p.then((v) => {
      clearTimeout(t);
      resolve(v);
    }, (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

/** Collects a readable stream to one Buffer. */
export function collect(s: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    s.on('data', (d: Buffer) => parts.push(d));
    s.on('end', () => resolve(Buffer.concat(parts)));
    s.on('error', reject);
  });
}

/** Deterministic pseudo-random bytes (xorshift), fast enough for tens of MiB. */
export function pattern(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b.writeUInt32LE(x, i);
  }
  for (; i < n; i++) b[i] = i & 0xff;
  return b;
}

export function sha256(b: Buffer | Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}
