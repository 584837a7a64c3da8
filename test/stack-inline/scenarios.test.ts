// The TCP lab scenarios (lab/scenarios/tcp-*.ts, link-flap.ts) on a few seeds each, so `npm
// test` keeps them working; `salamander lab run NAME --seeds 1000` is the real run.

import { expect } from 'chai';
import { loadScenario } from '../../lab/registry';

describe('stack-inline: lab scenarios (a few seeds)', function () {
  this.timeout(120_000);
  for (const name of ['tcp-bulk-loss', 'tcp-short-conns', 'tcp-actor-kills', 'link-flap']) {
    // (tcp-bulk-loss seed 1, ECONNRESET + ETIMEDOUT at 1.7% loss, was the pure-ACK SEQ bug.)
    const from = 1;
    it(`${name} passes seeds ${from}-${from + 2}`, async () => {
      const s = loadScenario(name);
      for (let seed = from; seed <= from + 2; seed++) {
        const r = await s.run(seed);
        expect(r.pass, `${name} seed ${seed}: ${r.summary} ${r.failure ?? ''}`).to.equal(true);
      }
    });
  }
  it('link-flap really re-routes: frames cross w1 and the transfer survives', async () => {
    const r = await loadScenario('link-flap').run(5);
    expect(r.pass, r.failure).to.equal(true);
    expect(r.metrics!.viaW1).to.be.greaterThan(0);
    expect(r.metrics!.flaps).to.be.at.least(1);
  });
});
