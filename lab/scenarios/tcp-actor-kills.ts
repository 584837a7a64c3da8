// Scenario: a bulk transfer both ways between two inline stacks over a lightly impaired wire
// while the TCP actors of BOTH stacks are killed (inline `inject(..., 'throw')`: the incarnation
// dies at a step boundary, a new one reattaches to the shared connection table and streams) at
// seeded random steps. Passes when both directions arrive intact, nothing was reset, and at least
// a few kills happened.

import { SeededRandom } from '../../base/clock';
import { bulkBothWays } from '../inline-stack';
import type { Scenario } from '../scenario';

export const scenario: Scenario = {
  name: 'tcp-actor-kills',
  description: 'bulk both ways while both TCP actors are killed at seeded random moments; pass = intact, no reset',
  run(seed) {
    const rnd = new SeededRandom(seed ^ 0x2545f491);
    const bytes = (64 + (rnd.u32() % 192)) * 1024;
    const bytesBack = (64 + (rnd.u32() % 192)) * 1024;
    const p = 0.05 + rnd.next() * 0.2;
    const impair = { loss: rnd.next() * 0.01, delayMs: rnd.u32() % 3 };
    let kills = 0;
    let steps = 0;
    // One kill at a seeded step among the first few (a short transfer may need only a handful
    // of steps), then kills at random with probability p per step.
    const firstAt = 1 + (rnd.u32() % 8);
    const r = bulkBothWays({
      seed, impair, bytes, bytesBack, deadlineMs: 3_600_000,
      onNet: (net) => {
        net.onStep = () => {
          steps++;
          if (steps === firstAt || rnd.next() < p) {
            net.pipeline.inject(rnd.next() < 0.5 ? 'a:tcp' : 'b:tcp', 'throw');
            kills++;
          }
        };
      },
    });
    const pass = r.intact && r.done && r.resets === 0 && kills >= 1;
    return {
      pass,
      summary: `${bytes} + ${bytesBack} B with ${kills} TCP actor kills: ${r.intact ? 'intact' : 'NOT intact'}, ${r.resets} resets, ${Math.round(r.fakeMs)} fake ms`,
      metrics: { bytes: r.bytes[0] + r.bytes[1], kills, retransmits: r.retransmits, fakeMs: Math.round(r.fakeMs), resets: r.resets },
      failure: pass ? undefined : `kills ${kills}, intact ${r.intact}, done ${r.done}, resets ${r.resets}, bytes ${r.bytes.join('/')} of ${r.expected.join('/')}, errors ${r.errors.join('; ')}`,
    };
  },
};
