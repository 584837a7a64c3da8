// Spare-worker warm-up. A fresh worker runs every function for the first time when it adopts a
// role: V8 compiles lazily, so building an IP or TCP core cold took 4-25 ms of the restart (the
// same construction warm takes under 1 ms). A spare, while nobody waits for it, therefore runs a
// small private network once: two inline stacks (every default actor kind: NIC on a wire, IP,
// TCP, UDP) and a short TCP transfer both ways, on their own shared memory and a fake clock.
// Nothing of it is shared with the rest of the process, and it is garbage once done.

import { bulkBothWays } from './inline-stack';

/** Runs the warm-up; returns its duration in ms. Throws if the private transfer went wrong
 *  (the caller treats a failed warm-up as harmless). */
export function warmUp(): number {
  const t0 = performance.now();
  const r = bulkBothWays({ seed: 1, bytes: 16 << 10 });
  if (!r.intact) throw new Error('warm-up transfer was not intact');
  return performance.now() - t0;
}
