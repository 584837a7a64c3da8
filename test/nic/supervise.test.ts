// NIC actors under the supervisor (threaded): two NICs joined by a wire (a ring pair between
// their workers) carry a stream from a source to a sink; each NIC is killed with every fault
// kind while frames flow and traffic resumes after its restart; the shared cable unplugs both
// ends (carrier events from both workers); a NIC actor is removed and added back at runtime.

import { expect } from 'chai';
import { Supervisor } from '../../supervisor/supervisor';
import { ActorSpec, FAULT_KINDS, LinkSpec, PipelineSpec } from '../../base/types';
import { createCable } from '../../actors/nic/wire';
import { waitFor } from '../util';

describe('nic actors under the supervisor', function () {
  this.timeout(120000);
  let sup: Supervisor;
  const cable = createCable(true);
  const nic = (name: string): ActorSpec => ({
    name,
    kind: 'nic',
    config: { link: { type: 'wire', cable } },
    maxOldGenerationSizeMb: 64,
    restart: { intensity: 30, periodMs: 60000, backoffMs: [0] },
  });
  const bLinks: LinkSpec[] = [
    { from: 'nic:a.wire', to: 'nic:b.wire', capacity: 1 << 16 },
    { from: 'nic:b.wire', to: 'nic:a.wire', capacity: 1 << 16 },
    { from: 'nic:b.rx', to: 'sink.in', capacity: 1 << 18 },
  ];
  const spec: PipelineSpec = {
    actors: [
      { name: 'src', kind: 'source', config: { size: 200, count: 1e12, batch: 32 }, shared: { state: 256 } },
      nic('nic:a'),
      nic('nic:b'),
      { name: 'sink', kind: 'sink', shared: { state: 256 }, config: { full: true } },
    ],
    links: [{ from: 'src.out', to: 'nic:a.tx', capacity: 1 << 16 }, ...bLinks],
  };
  const framesIn = (): number => sup.counters('sink').framesIn ?? 0;
  const progress = async (n: number, what: string): Promise<void> => {
    const f0 = framesIn();
    await waitFor(() => framesIn() >= f0 + n, 10000, what);
  };

  before(async () => {
    sup = new Supervisor({ spares: 2 });
    await sup.start(spec);
  });
  after(async () => {
    await sup?.stop();
  });

  it('carries frames between two NIC workers over the wire', async () => {
    await progress(10000, 'frames at the sink');
    expect(sup.counters('sink').corrupt).to.equal(0);
    expect(sup.counters('nic:a')['link.tx.frames']).to.be.greaterThan(10000);
  });

  it('each NIC, killed by every fault kind while frames flow, restarts and traffic resumes', async () => {
    for (const kind of FAULT_KINDS) {
      for (const victim of ['nic:a', 'nic:b']) {
        await progress(1000, `traffic before ${kind} of ${victim}`);
        const restarted = sup.waitRestarted(victim, 20000);
        await sup.inject(victim, kind);
        await restarted;
        await progress(1000, `traffic after ${kind} of ${victim}`);
      }
    }
    // At least one restart per injected fault (a loaded machine may add a hang detection).
    expect(sup.status().stats.restarted).to.be.at.least(FAULT_KINDS.length * 2);
    // Frames are never torn by a crash (rings publish whole records); a NIC restart may lose
    // or repeat frames, as a real NIC reset does.
    expect(sup.counters('sink').corrupt).to.equal(0);
    expect(sup.status().links.every((l) => l.corrupt === 0)).to.equal(true);
  });

  it('unplugging the shared cable takes the carrier down at both ends', async () => {
    const events: Array<{ name: string; data: { up: boolean; carrier: boolean } }> = [];
    const on = (e: { name: string; event: string; data?: unknown }): void => {
      if (e.event === 'link') events.push({ name: e.name, data: e.data as { up: boolean; carrier: boolean } });
    };
    sup.on('actor-event', on);
    try {
      await sup.control('nic:a', 'cable', { plugged: false });
      await waitFor(() => ['nic:a', 'nic:b'].every((n) => events.some((e) => e.name === n && !e.data.carrier)), 5000, 'carrier down at both ends');
      const f0 = framesIn();
      await waitFor(() => (sup.counters('nic:a')['link.drop.link-down'] ?? 0) > 1000, 5000, 'drops while unplugged');
      expect(framesIn() - f0).to.be.lessThan(1000); // only what was already past the cable
      await sup.control('nic:b', 'cable', { plugged: true });
      await waitFor(() => ['nic:a', 'nic:b'].every((n) => events.filter((e) => e.name === n && e.data.carrier).length > 0), 5000, 'carrier up at both ends');
      await progress(1000, 'traffic after replugging');
    } finally {
      sup.off('actor-event', on);
    }
  });

  it('removes a NIC actor at runtime and adds it back', async () => {
    await sup.removeActor('nic:b');
    expect(sup.actorNames()).to.not.include('nic:b');
    const f0 = framesIn();
    await waitFor(() => (sup.counters('nic:a')['link.drop.unwired'] ?? 0) > 100, 5000, 'nic:a dropping with no peer');
    expect(framesIn() - f0).to.be.lessThan(100000);
    await sup.addActor(nic('nic:b'), bLinks);
    await progress(1000, 'traffic through the new nic:b');
    expect(sup.actorState('nic:b')).to.equal('running');
  });
});
