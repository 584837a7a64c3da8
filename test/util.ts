// Test helpers. waitFor polls a condition until a deadline: it waits for something to happen
// and fails with a clear message if it does not, instead of sleeping a fixed time.

import type { EventEmitter } from 'node:events';

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
