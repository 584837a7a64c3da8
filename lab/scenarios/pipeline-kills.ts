// Scenario: a source -> relay -> relay -> sink pipeline on small rings (constant
// back-pressure) while seeded random kills hit every actor. Passes when every frame arrives
// exactly once, whole and in order (the relays are at-least-once: duplicates from a relay
// killed between publishing and releasing are allowed and counted).

import { InlinePipeline } from '../../base/inline';
import { SeededRandom } from '../../base/clock';
import type { Scenario } from '../scenario';

export const scenario: Scenario = {
  name: 'pipeline-kills',
  description: 'frames through a 4-actor ring pipeline while seeded kills hit every actor',
  run(seed) {
    const rnd = new SeededRandom(seed);
    const count = 2000 + (rnd.u32() % 3000);
    const size = 16 + (rnd.u32() % 600);
    const p = new InlinePipeline({
      actors: [
        { name: 'src', kind: 'source', config: { size, count, batch: 1 + (rnd.u32() % 32) }, shared: { state: 256 } },
        { name: 'r1', kind: 'relay' },
        { name: 'r2', kind: 'relay' },
        { name: 'sink', kind: 'sink', shared: { state: 256 } },
      ],
      links: [
        { from: 'src.out', to: 'r1.in', capacity: 2048 },
        { from: 'r1.out', to: 'r2.in', capacity: 4096 },
        { from: 'r2.out', to: 'sink.in', capacity: 2048 },
      ],
    }, { seed });
    const names = ['src', 'r1', 'r2', 'sink'];
    let kills = 0;
    for (let step = 0; step < 200_000 && p.counters('sink').framesIn < count; step++) {
      p.step();
      if (rnd.next() < 0.02) {
        p.inject(names[rnd.u32() % names.length], 'throw');
        kills++;
      }
    }
    p.settle();
    const s = p.counters('sink');
    const pass = s.framesIn === count && s.gap === 0 && s.corrupt === 0;
    return {
      pass,
      summary: `${s.framesIn}/${count} frames of ${size} B, ${kills} kills, ${s.duplicate} relay duplicates`,
      metrics: { frames: s.framesIn, kills, duplicates: s.duplicate },
      failure: pass ? undefined : `frames ${s.framesIn}/${count}, gaps ${s.gap}, corrupt ${s.corrupt}`,
    };
  },
};
