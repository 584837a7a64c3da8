// Poison input: an actor that dies twice inside the same input record gets that record
// quarantined (counted, reported, dropped) by its next incarnation, so it stops crash-looping
// and everything else keeps flowing. Inline (deterministic) and threaded.

import { expect } from 'chai';
import * as path from 'node:path';
import { InlinePipeline } from '../../base/inline';
import { Supervisor } from '../../supervisor/supervisor';
import type { PipelineSpec } from '../../base/types';
import { waitFor } from '../util';

const POISON = path.join(__dirname, 'poison-actor.js');

function spec(count: number, poisonSeq: number): PipelineSpec {
  return {
    actors: [
      { name: 'src', kind: 'source', config: { size: 100, count }, shared: { state: 256 } },
      { name: 'mid', kind: POISON, config: { poisonSeq } },
      { name: 'sink', kind: 'sink', shared: { state: 256 } },
    ],
    links: [{ from: 'src.out', to: 'mid.in', capacity: 8192 }, { from: 'mid.out', to: 'sink.in', capacity: 8192 }],
  };
}

describe('poison input quarantine', function () {
  this.timeout(30000);

  it('inline: two crashes on one record, then it is dropped and the rest flows', () => {
    const p = new InlinePipeline(spec(3000, 1234));
    p.settle();
    const exits = p.events.filter((e) => e.name === 'mid' && e.event === 'exited');
    expect(exits).to.have.length(2);
    const q = p.events.filter((e) => e.event === 'quarantined');
    expect(q).to.have.length(1);
    expect((q[0].data as { port: string }).port).to.equal('in');
    expect(p.counters('mid').quarantined).to.equal(1);
    const s = p.counters('sink');
    expect(s.framesIn).to.equal(2999);
    expect(s.gap).to.equal(1);
    expect(s.corrupt).to.equal(0);
  });

  it('inline: a crash on a record that then passes does not quarantine anything', () => {
    const p = new InlinePipeline(spec(2000, 999_999));
    p.settle();
    p.inject('mid', 'throw');
    p.settle();
    expect(p.counters('mid').quarantined ?? 0).to.equal(0);
    expect(p.counters('sink').framesIn).to.equal(2000);
  });

  it('threaded: the poison record is quarantined after two restarts; no escalation', async () => {
    const sup = new Supervisor({ spares: 2, hangTimeoutMs: 1000 });
    const events: string[] = [];
    sup.on('actor-event', (e) => events.push(`${e.name}:${e.event}`));
    sup.on('escalated', (e) => events.push(`${e.name}:escalated`));
    try {
      await sup.start(spec(50_000, 20_000));
      // The sink may count the last frame before this thread has handled the third
      // incarnation's 'ready' (a warm spare adopts within a millisecond): wait for both. Count
      // incarnations, not `restarts`: a new incarnation can meet the poison record (first in
      // its input) and die before this thread has handled its 'ready'; that restart counts as
      // a failed start, and the next one is the one counted.
      const mid = (): { state: string; incarnation: number; restarts: number } => sup.status().actors.find((a) => a.name === 'mid')!;
      await waitFor(() => sup.counters('sink').framesIn === 49_999 && mid().incarnation >= 2 && mid().state === 'running', 20000, 'all but the poison frame at the sink').catch((e: Error) => {
        const st = sup.status();
        throw new Error(`${e.message}; sink ${JSON.stringify(sup.counters('sink'))}, mid ${JSON.stringify(sup.counters('mid'))}, actors ${JSON.stringify(st.actors.map((a) => [a.name, a.state, a.incarnation, a.restarts]))}, links ${JSON.stringify(st.links)}, events ${events.join(' ')}`);
      });
      expect(sup.counters('sink').gap).to.equal(1);
      expect(sup.counters('mid').quarantined).to.equal(1);
      expect(events).to.include('mid:quarantined');
      expect(events).to.not.include('mid:escalated');
      expect(mid().incarnation, 'two deaths on the poison, then the quarantine').to.equal(2);
      expect(mid().restarts).to.be.within(1, 2);
      expect(sup.status().actors.find((a) => a.name === 'src')!.restarts).to.equal(0);
    } finally {
      await sup.stop();
    }
  });
});
