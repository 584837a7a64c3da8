// Scenario: two inline stacks over one wire with seeded loss, reordering and delay; one
// connection moves a seeded number of bytes each way at once (different sizes each way). Passes
// when both directions arrive intact (SHA-256), the connection closes gracefully, and nothing
// was reset. Sizes stay small (32 - 256 KiB) so a seed costs well under a second of CPU; the
// 64 MiB acceptance runs are `tcp-bulk-64m`.

import { SeededRandom } from '../../base/clock';
import { bulkBothWays } from '../inline-stack';
import type { Scenario } from '../scenario';

export const scenario: Scenario = {
  name: 'tcp-bulk-loss',
  description: 'bulk both ways between two inline stacks under seeded loss + reordering; pass = intact, no reset',
  run(seed) {
    const rnd = new SeededRandom(seed ^ 0x5bd1e995);
    const kib = (lo: number, hi: number): number => (lo + (rnd.u32() % (hi - lo + 1))) * 1024;
    const bytes = kib(32, 256);
    const bytesBack = kib(32, 256);
    const impair = {
      loss: rnd.next() * 0.02,
      reorder: rnd.next() * 0.05,
      reorderGap: 1 + (rnd.u32() % 3),
      delayMs: rnd.u32() % 5,
      jitterMs: rnd.next() < 0.3 ? 1 : 0,
    };
    const r = bulkBothWays({ seed, impair, bytes, bytesBack, deadlineMs: 3_600_000 });
    const pass = r.intact && r.done && r.resets === 0;
    return {
      pass,
      summary: `${bytes} + ${bytesBack} B, loss ${(impair.loss * 100).toFixed(2)}% reorder ${(impair.reorder * 100).toFixed(2)}%: ${r.intact ? 'intact' : 'NOT intact'}, ${r.retransmits} rtx, ${Math.round(r.fakeMs)} fake ms`,
      metrics: { bytes: r.bytes[0] + r.bytes[1], retransmits: r.retransmits, fakeMs: Math.round(r.fakeMs), resets: r.resets },
      failure: pass ? undefined : `intact ${r.intact}, done ${r.done}, resets ${r.resets}, bytes ${r.bytes.join('/')} of ${r.expected.join('/')}, errors ${r.errors.join('; ')}`,
    };
  },
};
