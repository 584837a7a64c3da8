// Resilience contract, part 1 (docs/resilience.md), threaded: real Stacks (worker-thread actors)
// joined by in-memory wires. A client on stack A sends a pattern through an echo server on stack
// B while the network is reconfigured under the connection with the Stack API; the echo must come
// back intact (SHA-256) with no error on either socket and no reset counted by either TCP actor.
// The timing of the changes depends on the machine, the outcome must not.
// (a) link down/up on either side; (b) failover to a second wire (link down, then a more
// specific route added and removed); (c) unrelated addresses and routes; (d) the connection's
// own address removed and re-added; and an address removed for good: EADDRNOTAVAIL after the
// grace period, the listener on it kept.

import { expect } from 'chai';
import { Stack } from '../../api/stack';
import type { Socket, Server } from '../../api/net';
import { deadline, once, pattern, sha256 } from '../net/helpers';

const SUP = { spares: 1, hangTimeoutMs: 2000, ringCapacity: 1 << 20 };
const SIZE = 3 * 1024 * 1024;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Two stacks: w0 192.0.2.0/24 and w1 198.51.100.0/24; each routes the other's w0 address through
 *  w1 at metric 10 (a backup: w0's connected route wins while w0 is up). */
async function pair(tag: string, tcp: Record<string, unknown> = {}): Promise<[Stack, Stack]> {
  const mk = (n: string, me: number, peer: number): Stack => new Stack({
    name: `${tag}${n}`, supervisor: SUP, tcp,
    links: [{ name: 'w0', type: 'wire', addresses: [`192.0.2.${me}/24`] }, { name: 'w1', type: 'wire', addresses: [`198.51.100.${me}/24`] }],
    routes: [{ dest: '192.0.2.0/24', gateway: `198.51.100.${peer}`, metric: 10 }],
  });
  const A = mk('a', 1, 2);
  const B = mk('b', 2, 1);
  await A.start();
  await B.start();
  await Stack.join(A, 'w0', B, 'w0', 1 << 22);
  await Stack.join(A, 'w1', B, 'w1', 1 << 22);
  return [A, B];
}

function resets(s: Stack): number {
  const c = s.supervisor.counters('tcp') as Record<string, number>;
  return (c['tcp.reset'] ?? 0) + (c['tcp.rst-sent'] ?? 0) + (c['tcp.address-gone-abort'] ?? 0);
}

async function echoServer(B: Stack, port: number, host = '192.0.2.2'): Promise<{ srv: Server; errors: string[] }> {
  const errors: string[] = [];
  const srv = B.net.createServer((c) => {
    c.on('error', (e) => errors.push(`server: ${(e as NodeJS.ErrnoException).code}`));
    c.pipe(c);
  });
  await new Promise<void>((r) => srv.listen(port, host, r));
  return { srv, errors };
}

/** Sends SIZE bytes from A through B's echo on `port`; calls `change` once a third came back and
 *  awaits it while the transfer runs. Resolves with the echo's hash check and the errors. */
async function echoThrough(A: Stack, port: number, change: () => Promise<void>, local?: string): Promise<{ intact: boolean; errors: string[]; got: number }> {
  const data = pattern(SIZE, port);
  const errors: string[] = [];
  const s: Socket = A.net.connect({ port, host: '192.0.2.2', localAddress: local });
  s.on('error', (e) => errors.push(`client: ${(e as NodeJS.ErrnoException).code} ${e.message}`));
  await once(s, 'connect');
  const parts: Buffer[] = [];
  let got = 0;
  let changeP: Promise<void> | null = null;
  const done = new Promise<void>((resolve) => {
    s.on('data', (d: Buffer) => {
      parts.push(d);
      got += d.length;
      if (changeP === null && got >= SIZE / 3) changeP = change();
      if (got >= SIZE) resolve();
    });
    s.on('close', () => resolve());
  });
  // Write in chunks so the change lands in the middle of the transfer, not after the send buffer.
  for (let off = 0; off < SIZE; off += 64 * 1024) {
    if (!s.write(data.subarray(off, off + 64 * 1024))) {
      await new Promise<void>((r) => {
        const on = (): void => {
          s.off('drain', on);
          s.off('close', on);
          r();
        };
        s.on('drain', on);
        s.on('close', on);
      });
    }
    if (s.destroyed) break;
  }
  await deadline(done, 90000, `echo of ${SIZE} bytes (got ${got})`);
  if (changeP) await changeP;
  s.destroy();
  const echoed = Buffer.concat(parts);
  return { intact: echoed.length === SIZE && sha256(echoed) === sha256(data), errors, got };
}

describe('reconfig (threaded): connections through reconfiguration', function () {
  this.timeout(180_000);
  let A: Stack;
  let B: Stack;
  let srvErrors: string[];
  let srv: Server;

  before(async () => {
    [A, B] = await pair('rc', { addressGraceMs: 3000 });
    ({ srv, errors: srvErrors } = await echoServer(B, 7400));
  });
  after(async () => {
    srv?.close();
    await A?.stop();
    await B?.stop();
  });

  async function clean(what: string, change: () => Promise<void>, local?: string): Promise<void> {
    const r0 = resets(A) + resets(B);
    const r = await echoThrough(A, 7400, change, local);
    expect(r.errors.concat(srvErrors), what).to.deep.equal([]);
    expect(r.intact, `${what}: echo intact (${r.got} bytes)`).to.equal(true);
    expect(resets(A) + resets(B) - r0, `${what}: resets`).to.equal(0);
  }

  it('(a) link down and up on A, then on B, during a transfer (no second path: held and retransmitted)', async () => {
    // Take the backup route away so w0 is the only path.
    for (const [s, gw] of [[A, '198.51.100.2'], [B, '198.51.100.1']] as const) await s.removeRoute({ dest: '192.0.2.0/24', gateway: gw });
    try {
      for (const side of [A, B]) {
        await clean(`w0 down/up on ${side.name}`, async () => {
          await side.setLinkState('w0', false);
          await sleep(1000);
          await side.setLinkState('w0', true);
        });
      }
    } finally {
      await A.addRoute({ dest: '192.0.2.0/24', gateway: '198.51.100.2', metric: 10 });
      await B.addRoute({ dest: '192.0.2.0/24', gateway: '198.51.100.1', metric: 10 });
    }
  });

  it('(b) failover to w1 when w0 goes down (both ends) and back; then a more specific route via w1 added and removed', async () => {
    const w1 = (): number => Number((A.supervisor.counters('nic:w1') as Record<string, number>)['nic.tx.frames'] ?? 0);
    let before = w1();
    await clean('w0 down/up, traffic over w1', async () => {
      await Promise.all([A.setLinkState('w0', false), B.setLinkState('w0', false)]);
      await sleep(1000);
      await Promise.all([A.setLinkState('w0', true), B.setLinkState('w0', true)]);
    });
    expect(w1() - before, 'frames crossed w1 (link down)').to.be.greaterThan(10);
    before = w1();
    await clean('host route via w1 added then removed', async () => {
      await A.addRoute({ dest: '192.0.2.2/32', gateway: '198.51.100.2' });
      await B.addRoute({ dest: '192.0.2.1/32', gateway: '198.51.100.1' });
      await sleep(1000);
      await A.removeRoute({ dest: '192.0.2.2/32' });
      await B.removeRoute({ dest: '192.0.2.1/32' });
    });
    expect(w1() - before, 'frames crossed w1 (route)').to.be.greaterThan(10);
  });

  it('(c) unrelated addresses and routes added and removed during a transfer', async () => {
    await clean('unrelated changes', async () => {
      await A.addAddress('w0', '192.0.2.77/24');
      await B.addAddress('w1', '198.51.100.77/24');
      await A.addRoute({ dest: '203.0.113.0/24', gateway: '192.0.2.2' });
      await sleep(200);
      await A.removeAddress('w0', '192.0.2.77/24');
      await B.removeAddress('w1', '198.51.100.77/24');
      await A.removeRoute({ dest: '203.0.113.0/24' });
    });
  });

  it("(d) the connection's own address removed and re-added within the grace period, on A then on B", async () => {
    for (const [side, addr] of [[A, '192.0.2.1/24'], [B, '192.0.2.2/24']] as const) {
      await clean(`${addr} removed and re-added on ${side.name}`, async () => {
        await side.removeAddress('w0', addr);
        await sleep(1000);
        await side.addAddress('w0', addr);
      });
    }
  });

  it('an address removed for good: its connection fails with EADDRNOTAVAIL after the grace period (3 s here); its listener stays', async () => {
    await A.addAddress('w0', '192.0.2.11/24');
    const lsrv = A.net.createServer(() => undefined);
    await new Promise<void>((r) => lsrv.listen(7401, '192.0.2.11', r));
    const s = A.net.connect({ port: 7400, host: '192.0.2.2', localAddress: '192.0.2.11' });
    s.on('data', () => undefined);
    await once(s, 'connect');
    const t0 = Date.now();
    const errP = once<[NodeJS.ErrnoException]>(s, 'error', 20000);
    await A.removeAddress('w0', '192.0.2.11/24');
    s.write('into the void');
    const [err] = await errP;
    const waited = Date.now() - t0;
    expect(err.code).to.equal('EADDRNOTAVAIL');
    expect(waited, 'not before the grace period').to.be.greaterThan(2500);
    expect(lsrv.listening, 'the listener on the removed address is kept').to.equal(true);
    // Once the address is back, the listener works again.
    await A.addAddress('w0', '192.0.2.11/24');
    const c = B.net.connect({ port: 7401, host: '192.0.2.11' });
    await deadline(once(c, 'connect'), 10000, 'connect to the listener after re-adding its address');
    c.destroy();
    lsrv.close();
    await A.removeAddress('w0', '192.0.2.11/24');
  });
});
