// Shared pieces of the acceptance tests (test/acceptance/): the size switch (ACCEPTANCE_FULL=1
// selects the big versions), event helpers, and bounded sleeps.

import type { EventEmitter } from 'node:events';

/** True when the big versions were asked for (ACCEPTANCE_FULL=1). */
export const FULL = process.env.ACCEPTANCE_FULL === '1' || process.env.ACCEPTANCE_FULL === 'true';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export { once } from '../util';

/** Fisher-Yates shuffle with Math.random (the kill schedule is meant to vary between runs). */
export function shuffle<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

export function mib(n: number): string {
  return `${(n / 1048576).toFixed(1)} MiB`;
}

export function log(msg: string): void {
  // eslint-disable-next-line no-console
  console.log(`      ${msg}`);
}
