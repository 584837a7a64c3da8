// Whole-stack deterministic test: a bulk transfer both ways between two inline stacks while the
// TCP actor of stack "a" is killed (InlinePipeline.inject('a:tcp', 'throw'): the incarnation
// dies at a step boundary and a new one reattaches to the shared connection table and streams)
// at seeded random moments, at least 50 times. The transfer must complete intact with no reset.
// The lab scenario `tcp-actor-kills` does the same to both stacks over many seeds.

import { expect } from 'chai';
import { SeededRandom } from '../../base/clock';
import { bulkBothWays } from '../../lab/inline-stack';

describe('stack-inline: TCP actor killed during a transfer', function () {
  this.timeout(120_000);

  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: >= 50 kills of a:tcp, 1 MiB each way intact, zero resets`, () => {
      const rnd = new SeededRandom(seed * 7919);
      let kills = 0;
      let restarts = 0;
      const r = bulkBothWays({
        seed,
        impair: { loss: 0.002, delayMs: 1 },
        bytes: 1 << 20,
        deadlineMs: 1e9,
        onNet: (net) => {
          net.pipeline.onEvent = (e) => {
            if (e.name === 'a:tcp' && e.event === 'restarted') restarts++;
          };
          net.onStep = () => {
            if (kills < 400 && rnd.next() < 0.15) {
              net.pipeline.inject('a:tcp', 'throw');
              kills++;
            }
          };
        },
      });
      expect(kills, 'kills').to.be.at.least(50);
      expect(restarts).to.equal(kills);
      expect(r.errors).to.deep.equal([]);
      expect(r.resets).to.equal(0);
      expect(r.intact, JSON.stringify(r)).to.equal(true);
      expect(r.done).to.equal(true);
    });
  }
});
