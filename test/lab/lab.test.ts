// The lab: scenarios are deterministic in their seed, run in a piscina pool, and failures name
// the seed.

import { expect } from 'chai';
import { runLab } from '../../lab/run';
import { loadScenario, shippedScenarios } from '../../lab/registry';

describe('lab', function () {
  this.timeout(60000);

  it('ships scenarios that load', () => {
    for (const n of shippedScenarios()) expect(loadScenario(n).name).to.equal(n);
    expect(() => loadScenario('no-such-scenario')).to.throw(/unknown scenario/);
  });

  it('a seed replays exactly', async () => {
    const s = loadScenario('pipeline-kills');
    const a = await s.run(42);
    const b = await s.run(42);
    expect(a).to.deep.equal(b);
    const c = await s.run(43);
    expect(c.summary).to.not.equal(a.summary);
  });

  it('runs many seeds on a worker pool and reports each', async () => {
    const rep = await runLab({ scenario: 'pipeline-kills', seeds: Array.from({ length: 16 }, (_, i) => i + 1), threads: 2 });
    expect(rep.results.map((r) => r.seed)).to.deep.equal(Array.from({ length: 16 }, (_, i) => i + 1));
    expect(rep.failed, JSON.stringify(rep.results.filter((r) => !r.pass))).to.equal(0);
    expect(rep.passed).to.equal(16);
    for (const r of rep.results) expect(r.metrics!.kills).to.be.greaterThan(0);
  });
});
