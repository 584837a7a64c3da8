import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { TcpConfig } from '../../actors/tcp/types';
import { Impair, LOCAL, Net, REMOTE, patternBytes } from './harness';

export interface TransferResult {
  ok: boolean;
  received: number;
  time: number;
  resets: string[];
  net: Net;
}

/** A sends `size` bytes to B over the impaired link, then half-closes; B reads everything. */
export function transfer(seed: number, size: number, impair: Impair, cfg: Partial<TcpConfig> = {}, opts: {
  crashEvery?: number; crashSide?: 0 | 1 | 'both'; faultCrash?: boolean; limitMs?: number;
} = {}): TransferResult {
  const net = new Net(seed, impair, cfg);
  const data = patternBytes(size, seed);
  const lid = net.cores[1].listen(REMOTE, 80, 4);
  const cid = net.cores[0].connect(LOCAL, REMOTE, 80, {});
  let sid: number | null = null;
  let written = 0;
  let shut = false;
  const got = createHash('sha256');
  let received = 0;
  let peerClosed = false;
  const resets: string[] = [];
  const limit = opts.limitMs ?? 600_000;
  let steps = 0;
  let nextCrash = opts.crashEvery ? Math.floor(net.rnd.next() * opts.crashEvery) + 1 : Infinity;
  while (net.clock.now() < limit) {
    for (const side of [0, 1] as const) {
      for (const e of net.events[side].splice(0)) {
        if (e.kind === 'reset' || e.kind === 'timeout') resets.push(`${side}:${e.kind}:${e.code}`);
        if (side === 1 && e.kind === 'peer-closed' && e.id === sid) peerClosed = true;
      }
    }
    if (resets.length > 0) break;
    if (sid === null) sid = net.call(1, (c) => c.accept(lid)) ?? null;
    const st = net.call(0, (c) => c.dumpTcb(cid).stateName);
    // The app side uses the shared streams directly (as from another thread) and pokes the core:
    // a crash of the TCP actor never takes the app's bytes with it.
    if (written < size && st !== undefined && st !== 'SYN-SENT') {
      const s = net.cores[0].streams(cid).send;
      const n = s.write(data, written, Math.min(size - written, 65536));
      written += n;
      if (n > 0) net.call(0, (c) => c.poke(cid));
    }
    if (written === size && !shut) {
      shut = net.call(0, (c) => (c.shutdown(cid), true)) ?? false;
    }
    if (sid !== null) {
      const s = net.cores[1].streams(sid).recv;
      const chunk = new Uint8Array(s.used());
      s.read(chunk);
      if (chunk.length > 0) {
        net.call(1, (c) => c.poke(sid!));
        const want = data.subarray(received, received + chunk.length);
        if (Buffer.compare(Buffer.from(want), Buffer.from(chunk)) !== 0) throw new Error(`data mismatch at ${received}`);
        got.update(chunk);
        received += chunk.length;
      }
    }
    if (received === size && peerClosed) break;
    if (++steps >= nextCrash) {
      const side = opts.crashSide === 'both' ? (net.rnd.next() < 0.5 ? 0 : 1) : (opts.crashSide ?? 0);
      if (opts.faultCrash) net.crashAt[side] = 1 + Math.floor(net.rnd.next() * 6);
      else net.crash(side);
      nextCrash = steps + 1 + Math.floor(net.rnd.next() * opts.crashEvery!);
    }
    if (!net.step(limit)) break;
  }
  const ok = received === size && got.digest('hex') === createHash('sha256').update(data).digest('hex');
  return { ok, received, time: net.clock.now(), resets, net };
}

describe('tcp: two cores over a simulated link', function () {
  this.timeout(120_000);

  it('clean link: 2 MiB intact', () => {
    const r = transfer(1, 2 << 20, { delay: 5 });
    expect(r.resets).to.deep.equal([]);
    expect(r.received).to.equal(2 << 20);
    expect(r.ok).to.equal(true);
  });

  for (const seed of [11, 12, 13]) {
    it(`1% loss + reordering, seed ${seed}: 2 MiB intact`, () => {
      const r = transfer(seed, 2 << 20, { loss: 0.01, reorder: 0.02, delay: 5, jitter: 2 });
      expect(r.resets).to.deep.equal([]);
      expect(r.ok, `received ${r.received}`).to.equal(true);
    });
  }

  for (const seed of [21, 22]) {
    it(`10% duplication, seed ${seed}: 2 MiB intact`, () => {
      const r = transfer(seed, 2 << 20, { dup: 0.1, delay: 5, jitter: 1 });
      expect(r.resets).to.deep.equal([]);
      expect(r.ok).to.equal(true);
    });
  }

  it('corruption 1% (checksums drop it): 1 MiB intact', () => {
    const r = transfer(31, 1 << 20, { corrupt: 0.01, loss: 0.005, delay: 5 });
    expect(r.resets).to.deep.equal([]);
    expect(r.ok).to.equal(true);
  });

  it('NewReno without SACK or timestamps under 1% loss: 1 MiB intact', () => {
    const r = transfer(41, 1 << 20, { loss: 0.01, reorder: 0.01, delay: 5 }, { congestion: 'newreno', sack: false, timestamps: false });
    expect(r.resets).to.deep.equal([]);
    expect(r.ok).to.equal(true);
  });
});
