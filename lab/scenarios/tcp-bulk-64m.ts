// Scenario: the acceptance transfers at full size: 64 MiB each way between two inline
// stacks over one impaired wire, under one of three conditions chosen by seed % 3:
//   0: 1% loss + 5% reordering,  1: 15% loss + 15% corruption,  2: 10% duplication.
// Passes when both directions arrive intact (SHA-256) with no reset. Costs tens of seconds of
// CPU per seed: run from the command line (`salamander lab run tcp-bulk-64m --seeds 60`), not
// in `npm test` (test/stack-inline runs the same conditions at 256 KiB - 1 MiB). The size can be
// overridden with SALAMANDER_BULK_MIB.

import { bulkBothWays } from '../inline-stack';
import type { Scenario } from '../scenario';
import type { ImpairParams } from '../../actors/nic/impair';

export const CONDITIONS: { name: string; impair: ImpairParams }[] = [
  { name: '1% loss + reordering', impair: { loss: 0.01, reorder: 0.05, reorderGap: 2, delayMs: 1 } },
  { name: '15% loss + 15% corruption', impair: { loss: 0.15, corrupt: 0.15, delayMs: 1 } },
  { name: '10% duplication', impair: { duplicate: 0.1, delayMs: 1 } },
];

export const scenario: Scenario = {
  name: 'tcp-bulk-64m',
  description: '64 MiB each way under 1% loss + reordering / 15% loss + 15% corruption / 10% duplication (seed % 3)',
  run(seed) {
    const mib = Number(process.env.SALAMANDER_BULK_MIB ?? 64);
    const bytes = Math.round(mib * 1024 * 1024);
    const c = CONDITIONS[seed % 3];
    const r = bulkBothWays({ seed, impair: c.impair, bytes, deadlineMs: 1e12 });
    const pass = r.intact && r.done && r.resets === 0;
    return {
      pass,
      summary: `${c.name}: ${mib} MiB each way ${r.intact ? 'intact' : 'NOT intact'}, ${r.retransmits} rtx, ${Math.round(r.fakeMs)} fake ms`,
      metrics: { bytes: r.bytes[0] + r.bytes[1], retransmits: r.retransmits, fakeMs: Math.round(r.fakeMs), resets: r.resets },
      failure: pass ? undefined : `${c.name}: intact ${r.intact}, done ${r.done}, resets ${r.resets}, bytes ${r.bytes.join('/')} of ${r.expected.join('/')}, errors ${r.errors.join('; ')}`,
    };
  },
};
