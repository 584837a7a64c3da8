// The supervisor with real workers: restarts after each injected fault with rings intact,
// escalation exactly when the restart intensity is exceeded, rest_for_one, hang detection, and
// actors added and removed at runtime while the others keep flowing.

import { expect } from 'chai';
import { Supervisor } from '../../supervisor/supervisor';
import { FAULT_KINDS, PipelineSpec } from '../../base/types';
import { waitFor } from '../util';

function chain(count: number, size = 256): PipelineSpec {
  return {
    actors: [
      { name: 'src', kind: 'source', config: { size, count }, shared: { state: 256 } },
      { name: 'relay', kind: 'relay' },
      { name: 'sink', kind: 'sink', shared: { state: 256 } },
    ],
    links: [
      { from: 'src.out', to: 'relay.in', capacity: 1 << 16 },
      { from: 'relay.out', to: 'sink.in', capacity: 1 << 16 },
    ],
  };
}

describe('supervisor (threaded)', function () {
  this.timeout(60000);
  let sup: Supervisor;
  afterEach(async () => {
    await sup?.stop();
  });

  it('restarts an actor after each of the five faults with its rings intact', async () => {
    const count = 400_000;
    // A generous hang timeout: this test is about restarts, and a loaded CI machine can
    // deschedule a busy worker for tens of milliseconds (the hang test below is strict).
    sup = new Supervisor({ spares: 2, hangTimeoutMs: 1000 });
    await sup.start(chain(count));
    const exits: string[] = [];
    sup.on('exited', (e) => exits.push(`${e.name}:${e.cause}`));
    for (const kind of FAULT_KINDS) {
      for (const victim of ['relay', 'src', 'sink']) {
        const before = sup.counters('sink').framesIn ?? 0;
        await waitFor(() => (sup.counters('sink').framesIn ?? 0) > before, 10000, `sink progress before ${kind}`);
        const restarted = sup.waitRestarted(victim);
        await sup.inject(victim, kind);
        const r = await restarted;
        expect(r.name).to.equal(victim);
      }
    }
    expect(exits, exits.join(' ')).to.have.length(FAULT_KINDS.length * 3);
    for (const kind of FAULT_KINDS) expect(exits).to.include(`relay:${kind}`);
    await waitFor(() => sup.counters('sink').framesIn === count, 30000, 'every frame at the sink').catch((e) => {
      throw new Error(`${e.message}: sink ${JSON.stringify(sup.counters('sink'))} src ${JSON.stringify(sup.counters('src'))} ` +
        `relay ${JSON.stringify(sup.counters('relay'))} status ${JSON.stringify(sup.status())}`);
    });
    const sink = sup.counters('sink');
    expect(sink.corrupt).to.equal(0);
    expect(sink.gap).to.equal(0);
    expect(sink.framesIn).to.equal(count);
    // The relay is at-least-once (a kill between publishing its output and releasing its input
    // re-delivers at most one step's batch, 256 records); nothing may be lost.
    expect(sink.duplicate).to.be.at.most(256 * FAULT_KINDS.length);
    expect(sup.status().stats.restarted).to.equal(FAULT_KINDS.length * 3);
    const ringStats = sup.status().links;
    expect(ringStats.every((l) => l.corrupt === 0)).to.equal(true);
  });

  it('escalates exactly when the restart intensity is exceeded', async () => {
    sup = new Supervisor({ spares: 1, hangTimeoutMs: 1000 });
    const spec = chain(1e12);
    spec.actors[1].restart = { intensity: 3, periodMs: 60000, backoffMs: [0] };
    await sup.start(spec);
    let escalated = 0;
    sup.on('escalated', () => escalated++);
    for (let i = 0; i < 3; i++) {
      const p = sup.waitRestarted('relay');
      await sup.inject('relay', 'exit');
      await p;
      expect(escalated).to.equal(0);
      expect(sup.actorState('relay')).to.equal('running');
    }
    const esc = new Promise<{ name: string; failures: number }>((res) => sup.once('escalated', res));
    await sup.inject('relay', 'exit');
    const e = await esc;
    expect(e.name).to.equal('relay');
    expect(e.failures).to.equal(4);
    expect(sup.actorState('relay')).to.equal('escalated');
    // The others are untouched.
    expect(sup.actorState('src')).to.equal('running');
    expect(sup.actorState('sink')).to.equal('running');
  });

  it('rest_for_one restarts the failed actor and those started after it', async () => {
    sup = new Supervisor({ spares: 2, hangTimeoutMs: 1000 });
    const spec = chain(1e12);
    spec.actors[1].restart = { strategy: 'rest_for_one' };
    await sup.start(spec);
    const restarted: string[] = [];
    sup.on('restarted', (e) => restarted.push(e.name));
    const p = sup.waitRestarted('sink');
    await sup.inject('relay', 'throw');
    await p;
    expect(restarted).to.deep.equal(['relay', 'sink']);
    expect(sup.status().actors.find((a) => a.name === 'src')!.incarnation).to.equal(0);
  });

  it('detects a hang (busy, heartbeat stalled) and restarts the actor', async () => {
    sup = new Supervisor({ spares: 1, hangTimeoutMs: 40 });
    await sup.start(chain(1e12));
    const exited = new Promise<{ cause: string }>((res) => sup.on('exited', (e) => e.name === 'relay' && res(e)));
    const p = sup.waitRestarted('relay');
    await sup.inject('relay', 'hang');
    expect((await exited).cause).to.equal('hang');
    const r = await p;
    expect(r.downtimeMs).to.be.below(2000);
    expect(sup.stats.hangs).to.be.at.least(1);
    const before = sup.counters('sink').framesIn;
    await waitFor(() => sup.counters('sink').framesIn > before, 5000, 'traffic after the hang');
  });

  it('does not call a slow actor hung while it takes records (a batch far longer than the hang limit)', async () => {
    // 2 ms of CPU per record and batches of up to 256 records: loop turns (heartbeats) come
    // ~0.5 s apart, 12x the limit, but every record taken is progress (INPROG_POS).
    sup = new Supervisor({ spares: 1, hangTimeoutMs: 40 });
    const spec = chain(600, 64);
    spec.actors[1].config = { busyUsPerRecord: 2000 };
    await sup.start(spec);
    await waitFor(() => sup.counters('sink').framesIn >= 600, 20000, 'all records through the slow relay');
    expect(sup.stats.hangs, 'hang verdicts').to.equal(0);
    expect(sup.status().actors.find((a) => a.name === 'relay')!.incarnation).to.equal(0);
    // It is still a hang when it stops taking records.
    const p = sup.waitRestarted('relay');
    await sup.inject('relay', 'hang');
    await p;
    expect(sup.stats.hangs).to.equal(1);
  });

  it('stop() during a restart: the new incarnation never adopts the stopped role', async () => {
    // No spares: the restart boots one (~0.1-0.5 s), and stop() comes in that window. Before
    // the fix the spare adopted the role after stop() had closed its fds (a zombie actor).
    sup = new Supervisor({ spares: 0 });
    await sup.start(chain(1e12));
    const started: string[] = [];
    const exited = new Promise<void>((res) => sup.on('exited', (e) => e.name === 'relay' && res()));
    sup.on('started', (e) => started.push(e.name));
    await sup.inject('relay', 'exit');
    await exited;
    await sup.stop();
    expect(sup.stats.adoptionsAborted, 'restart abandoned before stop() returned').to.equal(1);
    expect(started, 'no incarnation started after the exit').to.deep.equal([]);
    expect(sup.status().actors.every((a) => a.state === 'stopped')).to.equal(true);
  });

  it('sparesReady() settles when a spare it waits for is adopted while still warming up', async () => {
    // start() boots the pool's spares cold and asks them to warm up once it is done, so right
    // after it both are warming. A restart then adopts one of them; its 'warmed' reply goes to
    // the role's handler, and before the fix sparesReady() waited for it for ever (the fault
    // campaign hung in CI on this).
    sup = new Supervisor({ spares: 2, hangTimeoutMs: 1000 });
    await sup.start(chain(1e12));
    let settled = false;
    void sup.sparesReady().then(() => (settled = true));
    const restarted = sup.waitRestarted('relay');
    await sup.inject('relay', 'exit');
    await restarted;
    await waitFor(() => settled, 15000, 'sparesReady() to settle');
    expect(sup.status().actors.every((a) => a.state === 'running')).to.equal(true);
  });

  it('adds and removes actors at runtime while the others keep flowing', async () => {
    sup = new Supervisor({ spares: 1, hangTimeoutMs: 1000 });
    await sup.start({
      actors: [
        { name: 'a', kind: 'source', config: { size: 128, count: 1e12 }, shared: { state: 256 } },
        { name: 'b', kind: 'sink', shared: { state: 256 } },
      ],
      links: [{ from: 'a.out', to: 'b.in' }],
    });
    await sup.addActor({ name: 'c', kind: 'source', config: { size: 64, count: 1e12 }, shared: { state: 256 } });
    await sup.addActor({ name: 'd', kind: 'sink', shared: { state: 256 } }, [{ from: 'c.out', to: 'd.in' }]);
    await waitFor(() => (sup.counters('d').framesIn ?? 0) > 1000, 10000, 'the added pipeline flowing');
    const bBefore = sup.counters('b').framesIn;
    await sup.removeActor('d');
    await sup.removeActor('c');
    expect(sup.actorNames()).to.deep.equal(['a', 'b']);
    await waitFor(() => sup.counters('b').framesIn > bBefore + 1000, 10000, 'the first pipeline still flowing');
    const st = sup.status();
    expect(st.actors.every((a) => a.incarnation === 0)).to.equal(true);
    expect(sup.counters('b').gap).to.equal(0);
    expect(sup.counters('b').corrupt).to.equal(0);
  });

  it('rejects bad pipelines with clear errors', async () => {
    sup = new Supervisor({ spares: 0 });
    let err: Error | null = null;
    try {
      await sup.start({ actors: [{ name: 'x', kind: 'no-such-kind' }], links: [] });
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).to.match(/unknown actor kind "no-such-kind"/);
    const sup2 = new Supervisor({ spares: 0 });
    let err2: Error | null = null;
    try {
      await sup2.start({ actors: [{ name: 'y', kind: 'relay' }], links: [{ from: 'y', to: 'y.in' }] });
    } catch (e) {
      err2 = e as Error;
    }
    expect(err2?.message).to.match(/must be "actor.port"/);
    await sup2.stop();
    let err3: Error | null = null;
    try {
      await sup.inject('x', 'explode' as never);
    } catch (e) {
      err3 = e as Error;
    }
    expect(err3?.message).to.match(/unknown fault kind/);
  });
});
