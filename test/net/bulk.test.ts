// Bulk and scale over two stacks (threaded): a large transfer checked by SHA-256 (with the
// throughput printed), many concurrent connections, and the TCP actor killed mid-transfer
// (exit, throw, terminate) with the transfer completing intact and no reset.

import { expect } from 'chai';
import { Stack } from '../../api/stack';
import type { Socket } from '../../api/net';
import type { FaultKind } from '../../base/types';
import { B_ADDR, collect, deadline, once, pattern, sha256, twoStacks } from './helpers';

async function dumpTcp(st: Stack): Promise<unknown> {
  return ((await st.control('tcp', 'dump')) as Record<string, unknown>[])
    .filter((d) => d.stateName !== 'TIME-WAIT' && d.stateName !== 'LISTEN')
    .map((d) => ({ id: d.id, st: d.stateName, una: d.sndUna, nxt: d.sndNxt, sq: d.sendQueued, rq: d.recvQueued, wnd: d.sndWnd, rw: d.rcvWnd, f: d.flagNames, rto: d.tRto, cwnd: d.cwnd, now: Date.now() }));
}

/** Sends `data` from A to a sink on B; resolves with what B received. */
async function transfer(A: Stack, B: Stack, data: Buffer, port: number, during?: (got: () => number) => Promise<void>): Promise<Buffer> {
  let received = 0;
  const srv = B.net.createServer();
  const got = new Promise<Buffer>((resolve, reject) => {
    srv.once('connection', (c: Socket) => {
      const parts: Buffer[] = [];
      c.on('data', (d: Buffer) => {
        parts.push(d);
        received += d.length;
      });
      c.on('end', () => resolve(Buffer.concat(parts)));
      c.on('error', (e) => {
        // eslint-disable-next-line no-console
        console.log('receiver error', e);
        reject(e);
      });
    });
  });
  const l = once(srv, 'listening');
  srv.listen(port, B_ADDR);
  await l;
  const s = A.net.connect(port, B_ADDR);
  const sendErr = new Promise<never>((_r, reject) => s.on('error', reject));
  await once(s, 'connect');
  // Big writes in 1 MiB pieces, honouring back-pressure.
  const write = (async () => {
    for (let off = 0; off < data.length; off += 1 << 20) {
      if (!s.write(data.subarray(off, Math.min(data.length, off + (1 << 20))))) await once(s, 'drain', 30000);
    }
    s.end();
  })();
  if (during) await during(() => received);
  let out: Buffer;
  try {
    out = await deadline(Promise.race([got, sendErr]), 60000, 'transfer end');
  } catch (e) {
    // eslint-disable-next-line no-console
    console.log('stalled', { received, written: s.bytesWritten, A: await dumpTcp(A), B: await dumpTcp(B) });
    throw e;
  }
  await write;
  srv.close();
  return out;
}

describe('net: bulk transfer, scale and TCP actor crashes (threaded)', function () {
  this.timeout(180000);
  let A: Stack;
  let B: Stack;

  before(async () => {
    [A, B] = await twoStacks({ maxConns: 2048, sendBufBytes: 1 << 18, recvBufBytes: 1 << 18 }, ['ba', 'bb']);
  });

  after(async () => {
    await A?.stop();
    await B?.stop();
  });

  it('transfers 32 MiB intact (SHA-256) and reports the throughput', async () => {
    const data = pattern(32 << 20, 42);
    const t0 = process.hrtime.bigint();
    const out = await transfer(A, B, data, 9000);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    expect(out.length).to.equal(data.length);
    expect(sha256(out)).to.equal(sha256(data));
    // eslint-disable-next-line no-console
    console.log(`      32 MiB in ${ms.toFixed(0)} ms: ${((data.length * 8) / (ms / 1000) / 1e9).toFixed(2)} Gbit/s`);
  });

  it('serves 1000 concurrent connections', async () => {
    const N = 1000;
    const srv = B.net.createServer((c) => c.pipe(c));
    const l = once(srv, 'listening');
    srv.listen(9100, B_ADDR, 2048);
    await l;
    const t0 = Date.now();
    const results = await deadline(Promise.all(Array.from({ length: N }, (_, i) => new Promise<string>((resolve, reject) => {
      const s = A.net.connect(9100, B_ADDR);
      s.on('error', reject);
      s.on('connect', () => s.end(`conn-${i}`));
      collect(s).then((b) => resolve(b.toString()), reject);
    }))), 120000, `${N} echoes`);
    for (let i = 0; i < N; i++) expect(results[i]).to.equal(`conn-${i}`);
    // eslint-disable-next-line no-console
    console.log(`      ${N} concurrent echo connections in ${Date.now() - t0} ms`);
    await new Promise<void>((r) => srv.close(() => r()));
  });

  for (const kind of (process.env.NET_FAULTS ?? 'exit,throw,terminate').split(',') as FaultKind[]) {
    it(`a transfer survives the TCP actor being killed (${kind}) on both stacks`, async () => {
      const data = pattern(8 << 20, kind.length);
      const restarts: string[] = [];
      const onA = (e: { name: string }): void => void (e.name === 'tcp' && restarts.push('A'));
      const onB = (e: { name: string }): void => void (e.name === 'tcp' && restarts.push('B'));
      A.on('restarted', onA);
      B.on('restarted', onB);
      const out = await transfer(A, B, data, 9200 + kind.length, async (got) => {
        const wait = async (n: number): Promise<void> => {
          const t = Date.now();
          while (got() < n) {
            if (Date.now() - t > 20000) {
              // eslint-disable-next-line no-console
              console.log('stalled', JSON.stringify({ A: await dumpTcp(A), B: await dumpTcp(B) }));
              throw new Error(`transfer stalled at ${got()} bytes`);
            }
            await new Promise((r) => setImmediate(r));
          }
        };
        await wait(1 << 20);
        const rA = once(A as never, 'restarted', 10000);
        await A.inject('tcp', kind);
        await rA;
        await wait(4 << 20);
        const rB = once(B as never, 'restarted', 10000);
        await B.inject('tcp', kind);
        await rB;
      });
      A.off('restarted', onA);
      B.off('restarted', onB);
      expect(restarts).to.deep.equal(['A', 'B']);
      expect(out.length).to.equal(data.length);
      expect(sha256(out)).to.equal(sha256(data));
    });
  }
});
