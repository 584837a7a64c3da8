// Timeouts and restarts with their own stacks (TCP options shortened so the test is quick):
// a connect whose SYNs are all lost ends in ETIMEDOUT; a data connection whose peer vanishes
// ends in ETIMEDOUT by the user timeout; after a TCP actor restart with a listener and idle
// connections, the idle connections still echo and new connections are accepted (the socket
// layer's re-check after 'restarted').

import { expect } from 'chai';
import { Stack } from '../../api/stack';
import type { Socket } from '../../api/net';
import { B_ADDR, collect, deadline, once, twoStacks } from './helpers';

describe('net: timeouts and TCP actor restarts (threaded)', function () {
  this.timeout(60000);
  let A: Stack;
  let B: Stack;

  before(async () => {
    [A, B] = await twoStacks({ maxConns: 128, options: { synRetries: 1, rtoInitial: 200, rtoMin: 50, dataRetries: 2 } }, ['ra', 'rb']);
  });

  after(async () => {
    await A?.stop();
    await B?.stop();
  });

  it('idle connections and the listener survive a TCP actor restart on the server side', async () => {
    const srv = B.net.createServer((c) => {
      c.on('error', () => undefined); // the peer may vanish in later tests
      c.pipe(c);
    });
    await new Promise<void>((r) => srv.listen(7300, B_ADDR, r));
    const socks: Socket[] = [];
    for (let i = 0; i < 5; i++) {
      const s = A.net.connect(7300, B_ADDR);
      await once(s, 'connect');
      socks.push(s);
    }
    for (const kind of ['exit', 'throw', 'terminate'] as const) {
      const restarted = once(B as never, 'restarted', 10000);
      await B.inject('tcp', kind);
      await restarted;
      for (const [i, s] of socks.entries()) {
        const echoed = once<[Buffer]>(s, 'data', 10000);
        s.write(`${kind}-${i}`);
        expect((await echoed)[0].toString()).to.equal(`${kind}-${i}`);
      }
      const fresh = A.net.connect(7300, B_ADDR, () => fresh.end(`new after ${kind}`));
      expect((await deadline(collect(fresh), 10000, 'a new connection after the restart')).toString()).to.equal(`new after ${kind}`);
    }
    const closed = once(srv, 'close', 10000);
    for (const s of socks) s.destroy();
    srv.close();
    await closed; // every server-side connection ended before the next test impairs the wire
  });

  it('SYNs that are all lost end in ETIMEDOUT', async () => {
    await B.setImpair('w0', { loss: 1 }, 'rx');
    try {
      const s = A.net.connect(7301, B_ADDR);
      const [err] = await once<[NodeJS.ErrnoException]>(s, 'error', 20000);
      expect(err.code).to.equal('ETIMEDOUT');
      expect(err.message).to.equal(`connect ETIMEDOUT ${B_ADDR}:7301`);
    } finally {
      await B.setImpair('w0', { loss: 0 }, 'rx');
    }
  });

  it('data that is never acknowledged ends in ETIMEDOUT after the retries', async () => {
    const srv = B.net.createServer((c) => {
      c.on('error', () => undefined);
      c.resume();
    });
    await new Promise<void>((r) => srv.listen(7302, B_ADDR, r));
    const s = A.net.connect(7302, B_ADDR);
    await once(s, 'connect');
    await B.setImpair('w0', { loss: 1 }, 'rx');
    try {
      const errP = once<[NodeJS.ErrnoException]>(s, 'error', 30000);
      s.write('lost in the void');
      const [err] = await errP;
      expect(err.code).to.equal('ETIMEDOUT');
    } finally {
      await B.setImpair('w0', { loss: 0 }, 'rx');
      srv.close();
    }
  });
});
