// Test helpers. waitFor polls a condition until a deadline: it waits for something to happen
// and fails with a clear message if it does not, instead of sleeping a fixed time.

import type { EventEmitter } from 'node:events';
import type { Writable } from 'node:stream';
import { createHash } from 'node:crypto';
import { patternChunk } from '../services/http';

export async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Resolves with the event's arguments (the first emission that passes `filter`), or rejects
 *  after `ms`. */
export function once<T extends unknown[] = unknown[]>(em: EventEmitter, event: string, ms = 10000, filter?: (...a: T) => boolean): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      em.off(event, on);
      reject(new Error(`no "${event}" within ${ms} ms`));
    }, ms);
    const on = (...a: unknown[]): void => {
      if (filter && !filter(...(a as T))) return;
      clearTimeout(t);
      em.off(event, on);
      resolve(a as T);
    };
    em.on(event, on);
  });
}

/** A one-shot gate: a test's server holds back the end of a transfer until the test's fault or
 *  change schedule is done, so the transfer cannot finish before it, however fast the machine
 *  is (a client-side rate limit alone left this to timing: curl finished a 32 MiB
 *  --limit-rate 3M download in 7.9 s in CI, before the 6th kill). */
export class Gate {
  private release!: () => void;
  private wasOpened = false;
  readonly opened: Promise<void> = new Promise<void>((r) => (this.release = r));

  get isOpen(): boolean {
    return this.wasOpened;
  }

  open(): void {
    this.wasOpened = true;
    this.release();
  }
}

/** Writes deterministic bytes (services' patternChunk) into `out`, honouring backpressure, until
 *  the gate is open and at least minBytes went out; then tailBytes more, then ends it. Data flows
 *  for as long as the test needs it to, and ends soon after. Resolves with the byte count and the
 *  SHA-256 of everything written (an HTTP response without content-length goes out chunked). */
export async function streamUntil(out: Writable, gate: Gate, minBytes: number, tailBytes = 1 << 20): Promise<{ bytes: number; sha: string }> {
  const h = createHash('sha256');
  let off = 0;
  let end = Infinity;
  while (off < end && !out.destroyed) {
    if (end === Infinity && gate.isOpen && off >= minBytes) end = off + tailBytes;
    const b = patternChunk(off, Math.min(65536, end - off));
    h.update(b);
    off += b.length;
    if (!out.write(b)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          out.off('drain', done);
          out.off('close', done);
          resolve();
        };
        out.on('drain', done);
        out.on('close', done);
      });
    }
  }
  out.end();
  return { bytes: off, sha: h.digest('hex') };
}
