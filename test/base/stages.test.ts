// Live pipeline surgery: a pass-through stage inserted into and removed from a link while
// records flow, and an actor hot-swapped for another build, with nothing lost, duplicated or
// reordered. Inline (deterministic) and threaded.

import { expect } from 'chai';
import * as path from 'node:path';
import { InlinePipeline } from '../../base/inline';
import { Supervisor } from '../../supervisor/supervisor';
import type { PipelineSpec } from '../../base/types';
import { waitFor } from '../util';

function spec(count: number, capacity: number): PipelineSpec {
  return {
    actors: [
      { name: 'src', kind: 'source', config: { size: 120, count, batch: 8 }, shared: { state: 256 } },
      { name: 'sink', kind: 'sink', shared: { state: 256 } },
    ],
    links: [{ from: 'src.out', to: 'sink.in', capacity }],
  };
}

describe('stages and hot-swap', function () {
  this.timeout(60000);

  it('inline: inserts and removes a stage many times mid-stream, losing nothing', async () => {
    const count = 30000;
    const p = new InlinePipeline(spec(count, 4096), { seed: 3 });
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 37; i++) p.step();
      await p.insertStage('src.out', 'sink.in', { name: 'mid', kind: 'relay' });
      for (let i = 0; i < 23; i++) p.step();
      expect(p.counters('mid').forwarded).to.be.greaterThan(0);
      const direct = await p.removeStage('mid');
      expect(direct).to.deep.include({ from: 'src.out', to: 'sink.in' });
    }
    p.settle();
    const s = p.counters('sink');
    expect(s.framesIn).to.equal(count);
    expect(s.gap).to.equal(0);
    expect(s.duplicate).to.equal(0);
    expect(s.corrupt).to.equal(0);
    expect([...p.topo.links.keys()]).to.deep.equal(['src.out->sink.in']);
  });

  it('threaded: insert and remove a stage while frames flow; neighbours never restart', async () => {
    const sup = new Supervisor({ spares: 1, hangTimeoutMs: 1000 });
    try {
      await sup.start(spec(1e12, 1 << 16));
      for (let round = 0; round < 3; round++) {
        const before = sup.counters('sink').framesIn;
        await waitFor(() => sup.counters('sink').framesIn > before + 1000, 10000, 'flow before insert');
        await sup.insertStage('src.out', 'sink.in', { name: 'mid', kind: 'relay' });
        await waitFor(() => (sup.counters('mid').forwarded ?? 0) > 1000, 10000, 'flow through the stage');
        await sup.removeStage('mid');
        expect(sup.actorNames()).to.deep.equal(['src', 'sink']);
      }
      const after = sup.counters('sink').framesIn;
      await waitFor(() => sup.counters('sink').framesIn > after + 1000, 10000, 'flow after removal');
      const s = sup.counters('sink');
      expect(s.gap).to.equal(0);
      expect(s.duplicate).to.equal(0);
      expect(s.corrupt).to.equal(0);
      expect(sup.status().actors.every((a) => a.incarnation === 0)).to.equal(true);
    } finally {
      await sup.stop();
    }
  });

  it('threaded: hot-swaps a running actor for another build on the same rings', async () => {
    const sup = new Supervisor({ spares: 1, hangTimeoutMs: 1000 });
    try {
      await sup.start({
        actors: [
          { name: 'src', kind: 'source', config: { size: 200, count: 200_000 }, shared: { state: 256 } },
          { name: 'mid', kind: 'relay' },
          { name: 'sink', kind: 'sink', shared: { state: 256 } },
        ],
        links: [{ from: 'src.out', to: 'mid.in' }, { from: 'mid.out', to: 'sink.in' }],
      });
      await waitFor(() => sup.counters('sink').framesIn > 10000, 10000, 'flow');
      await sup.replaceActor('mid', { kind: path.join(__dirname, 'poison-actor.js'), config: { poisonSeq: -1 } });
      expect(sup.status().actors.find((a) => a.name === 'mid')!.incarnation).to.equal(1);
      await waitFor(() => sup.counters('sink').framesIn === 200_000, 20000, 'every frame');
      expect(sup.counters('sink').gap).to.equal(0);
      expect(sup.counters('sink').corrupt).to.equal(0);
    } finally {
      await sup.stop();
    }
  });
});
