// The thin threaded layer: two IP actors in real workers under the supervisor, joined back to
// back, ping each other; then the responder is killed and restarted from its config and
// answers again.

import { expect } from 'chai';
import { Supervisor } from '../../supervisor/supervisor';
import { MAC_A, MAC_B } from './lab';

describe('ip (threaded)', function () {
  this.timeout(30000);
  let sup: Supervisor | undefined;
  afterEach(async () => {
    await sup?.stop();
    sup = undefined;
  });

  it('pings across two IP actors in workers, and again after the responder restarts', async () => {
    sup = new Supervisor({ spares: 1, hangTimeoutMs: 1000, ringCapacity: 1 << 16 });
    await sup.start({
      actors: [
        { name: 'a', kind: 'ip', config: { interfaces: [{ name: 'eth0', mac: MAC_A, addresses: ['192.0.2.1/24'] }] } },
        { name: 'b', kind: 'ip', config: { interfaces: [{ name: 'eth0', mac: MAC_B, addresses: ['192.0.2.2/24'] }] } },
      ],
      links: [
        { from: 'a.tx:eth0', to: 'b.rx:eth0' },
        { from: 'b.tx:eth0', to: 'a.rx:eth0' },
      ],
    });
    const s = sup;
    const replies = async (): Promise<Array<{ seq: number; data: string }>> => (await s.control('a', 'echoReplies', {})) as Array<{ seq: number; data: string }>;
    await s.control('a', 'ping', { dst: '192.0.2.2', seq: 1, size: 3000 });
    let got: Array<{ seq: number; data: string }> = [];
    for (let i = 0; i < 500 && got.length === 0; i++) {
      got = await replies();
      if (got.length === 0) await new Promise((r) => setTimeout(r, 10));
    }
    expect(got.map((x) => x.seq)).to.deep.equal([1]);
    expect(got[0].data.length).to.equal(6000);
    const restarted = s.waitRestarted('b');
    await s.inject('b', 'throw');
    await restarted;
    await s.control('a', 'ping', { dst: '192.0.2.2', seq: 2 });
    for (let i = 0; i < 500 && got.length < 2; i++) {
      got = await replies();
      if (got.length < 2) await new Promise((r) => setTimeout(r, 10));
    }
    expect(got.map((x) => x.seq)).to.deep.equal([1, 2]);
  });
});
