// Inline mode: the same cores and rings, one thread, fake clock, seeded random. Runs are
// deterministic, and simulated faults restart a role on the same rings.

import { expect } from 'chai';
import { InlinePipeline } from '../../base/inline';
import type { PipelineSpec } from '../../base/types';

function chain(count: number): PipelineSpec {
  return {
    actors: [
      { name: 'src', kind: 'source', config: { size: 200, count, batch: 16 }, shared: { state: 256 } },
      { name: 'relay', kind: 'relay' },
      { name: 'sink', kind: 'sink', shared: { state: 256 } },
    ],
    links: [
      { from: 'src.out', to: 'relay.in', capacity: 4096 },
      { from: 'relay.out', to: 'sink.in', capacity: 4096 },
    ],
  };
}

describe('inline pipeline', () => {
  it('moves every frame through a chain with back-pressure on small rings', () => {
    const p = new InlinePipeline(chain(5000));
    p.settle();
    const s = p.counters('sink');
    expect(s.framesIn).to.equal(5000);
    expect(s.gap).to.equal(0);
    expect(s.corrupt).to.equal(0);
    expect(s.duplicate).to.equal(0);
    expect(p.topo.links.size).to.equal(2);
  });

  it('is deterministic: the same spec and seed take the same steps', () => {
    const a = new InlinePipeline(chain(3000), { seed: 7 });
    a.settle();
    const b = new InlinePipeline(chain(3000), { seed: 7 });
    b.settle();
    expect(a.steps).to.equal(b.steps);
    expect(a.counters('sink')).to.deep.equal(b.counters('sink'));
  });

  it('survives simulated faults of every actor: nothing lost, nothing corrupt', () => {
    const p = new InlinePipeline(chain(20000));
    let kills = 0;
    for (let i = 0; i < 2000 && p.counters('sink').framesIn < 20000; i++) {
      p.step();
      if (i % 37 === 0) {
        p.inject(['src', 'relay', 'sink'][kills % 3], 'throw');
        kills++;
      }
    }
    p.settle();
    const s = p.counters('sink');
    expect(kills).to.be.greaterThan(30);
    expect(s.framesIn).to.equal(20000);
    expect(s.gap).to.equal(0);
    expect(s.corrupt).to.equal(0);
    expect(p.events.filter((e) => e.event === 'restarted')).to.have.length(kills);
  });

  it('adds and removes an actor at runtime', () => {
    const p = new InlinePipeline({
      actors: [{ name: 'src', kind: 'source', config: { size: 64, count: 1000 }, shared: { state: 256 } }],
      links: [],
    });
    p.settle();
    p.addActor({ name: 'sink', kind: 'sink', shared: { state: 256 } }, [{ from: 'src.out', to: 'sink.in' }]);
    p.settle();
    expect(p.counters('sink').framesIn).to.equal(1000);
    p.removeActor('sink');
    expect(p.topo.links.size).to.equal(0);
    expect(() => p.runner('sink')).to.throw(/no actor/);
  });

  it('runs timers on the fake clock', () => {
    const p = new InlinePipeline({ actors: [{ name: 'r', kind: 'relay' }], links: [] }, { startMs: 1000 });
    expect(p.run(5000)).to.equal(5000);
    expect(p.clock.now()).to.equal(5000);
  });
});
