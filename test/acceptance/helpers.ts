// Shared pieces of the acceptance tests (test/acceptance/): the size switch (ACCEPTANCE_FULL=1
// selects the big versions), event helpers, and bounded sleeps.

import type { EventEmitter } from 'node:events';
import type { Stack } from '../../api/stack';
import type { FaultKind } from '../../base/types';
import { once } from '../util';
export { Gate } from '../util';

/** True when the big versions were asked for (ACCEPTANCE_FULL=1). */
export const FULL = process.env.ACCEPTANCE_FULL === '1' || process.env.ACCEPTANCE_FULL === 'true';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export { once };

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

/** Injects a fault into a role and waits until the actor serves again. On a loaded machine the
 *  hang detector may restart the actor on its own just before: then it waits for that restart
 *  and injects again (ERR_ACTOR_NOT_RUNNING), so every call makes exactly one injected kill. */
export async function injectAndWait(stack: Stack, role: string, kind: FaultKind, timeoutMs = 60000): Promise<void> {
  for (;;) {
    if (stack.supervisor.actorState(role) !== 'running') await stack.supervisor.waitRestarted(role, timeoutMs);
    const restarted = once(stack as never, 'restarted', timeoutMs, (e: { name: string }) => e.name === role);
    try {
      await stack.inject(role, kind);
    } catch (e) {
      restarted.catch(() => undefined);
      if ((e as { code?: string }).code === 'ERR_ACTOR_NOT_RUNNING') continue;
      throw e;
    }
    await restarted;
    return;
  }
}
