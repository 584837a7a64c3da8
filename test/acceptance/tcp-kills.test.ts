// Acceptance (issue "TCP actor"): crash survival, threaded. Two Stacks joined by an in-memory
// wire run 16 concurrent TCP transfers, 8 in each direction, each SHA-256 checked end to end,
// while the TCP actors of both stacks are killed at random moments with every fault kind
// (exit, throw, terminate, hang, oom). Every transfer must complete intact and no connection
// may be reset or time out. Prints the kills (by kind and stack), the bytes and the time.
//
// Sizes: by default 4 MiB per transfer and at least 20 kills; ACCEPTANCE_FULL=1 runs 64 MiB per
// transfer and at least 50 kills. When a round of 16 transfers finishes before the kill target
// is reached, another round of 16 starts (each round checked the same way), so every kill lands
// while transfers are in flight (or being set up / torn down). Kills are paced to stay inside
// the supervisor's restart intensity (10 restarts per 5 s per actor): at most 6 per stack in
// any 5 s window, and the next kill waits for the previous restart.

import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { Stack } from '../../api/stack';
import type { Socket } from '../../api/net';
import { FAULT_KINDS, type FaultKind } from '../../base/types';
import { pattern } from '../net/helpers';
import { FULL, log, mib, once, shuffle, sleep } from './helpers';

const A_ADDR = '192.0.2.1';
const B_ADDR = '192.0.2.2';
const TRANSFERS = 16;
const PER_TRANSFER = FULL ? 64 << 20 : 4 << 20;
const MIN_KILLS = FULL ? 50 : 20;
const CHUNK = 256 << 10;

/** Chunk `k` of transfer `id`: deterministic, different for every transfer and chunk. */
function chunkOf(id: number, k: number, len: number): Buffer {
  return pattern(len, (id * 1_000_003 + k * 7919 + 1) >>> 0);
}

function expectedSha(id: number, total: number): string {
  const h = createHash('sha256');
  for (let off = 0, k = 0; off < total; off += CHUNK, k++) h.update(chunkOf(id, k, Math.min(CHUNK, total - off)));
  return h.digest('hex');
}

interface Outcome {
  id: number;
  dir: 'A->B' | 'B->A';
  bytes: number;
  sha: string;
  errors: string[];
}

/** One transfer: `from` connects to a hashing sink on `to` and sends PER_TRANSFER bytes. */
async function transfer(from: Stack, to: Stack, toAddr: string, port: number, id: number, total: number, timeoutMs: number): Promise<Outcome> {
  const errors: string[] = [];
  const dir = from.name.endsWith('a') ? 'A->B' : 'B->A';
  const srv = to.net.createServer();
  const received = new Promise<{ bytes: number; sha: string }>((resolve) => {
    srv.once('connection', (c: Socket) => {
      const h = createHash('sha256');
      let bytes = 0;
      c.on('data', (d: Buffer) => {
        h.update(d);
        bytes += d.length;
      });
      c.on('end', () => resolve({ bytes, sha: h.digest('hex') }));
      c.on('error', (e: NodeJS.ErrnoException) => {
        errors.push(`receiver ${e.code ?? e.message}`);
        resolve({ bytes, sha: '' });
      });
    });
  });
  const listening = once(srv, 'listening', 30000);
  srv.listen(port, toAddr);
  await listening;
  const s = from.net.connect(port, toAddr);
  const sendDone = new Promise<void>((resolve) => {
    s.on('error', (e: NodeJS.ErrnoException) => {
      errors.push(`sender ${e.code ?? e.message}`);
      resolve();
    });
    s.on('connect', async () => {
      for (let off = 0, k = 0; off < total; off += CHUNK, k++) {
        if (s.destroyed) return resolve();
        if (!s.write(chunkOf(id, k, Math.min(CHUNK, total - off)))) {
          await new Promise<void>((r) => {
            const done = (): void => {
              s.off('drain', done);
              s.off('close', done);
              r();
            };
            s.on('drain', done);
            s.on('close', done);
          });
        }
      }
      s.end();
      resolve();
    });
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ bytes: number; sha: string }>((resolve) => {
    timer = setTimeout(() => {
      errors.push(`timed out after ${timeoutMs} ms`);
      resolve({ bytes: -1, sha: '' });
    }, timeoutMs);
  });
  const r = await Promise.race([received, timeout]);
  clearTimeout(timer);
  await Promise.race([sendDone, sleep(5000)]);
  s.destroy();
  srv.close();
  return { id, dir, bytes: r.bytes, sha: r.sha, errors };
}

describe('acceptance: TCP actor kills under 16 concurrent transfers (threaded)', function () {
  this.timeout(FULL ? 1_800_000 : 600_000);
  let A: Stack;
  let B: Stack;

  before(async () => {
    const sup = { spares: 1, hangTimeoutMs: 2000, ringCapacity: 1 << 20 };
    const tcp = { maxConns: 256, sendBufBytes: 1 << 18, recvBufBytes: 1 << 18 };
    A = new Stack({ name: 'acka', links: [{ name: 'w0', type: 'wire', addresses: [`${A_ADDR}/24`] }], supervisor: sup, tcp });
    B = new Stack({ name: 'ackb', links: [{ name: 'w0', type: 'wire', addresses: [`${B_ADDR}/24`] }], supervisor: sup, tcp });
    await A.start();
    await B.start();
    await Stack.join(A, 'w0', B, 'w0', 1 << 22);
  });

  after(async () => {
    await A?.stop();
    await B?.stop();
  });

  it(`${TRANSFERS} transfers of ${mib(PER_TRANSFER)} survive >= ${MIN_KILLS} TCP actor kills of every kind on both stacks`, async () => {
    const expected = Array.from({ length: TRANSFERS }, (_, i) => expectedSha(i, PER_TRANSFER));
    const kills: { stack: 'A' | 'B'; kind: FaultKind; at: number; downtimeMs: number }[] = [];
    const unexpected: string[] = []; // restarts nobody asked for (a false hang, an escalation)
    const onRestart = (st: 'A' | 'B') => (e: { name: string; downtimeMs: number }): void => {
      if (e.name !== 'tcp') return;
      const pending = kills.find((k) => k.stack === st && k.downtimeMs < 0);
      if (pending) pending.downtimeMs = e.downtimeMs;
      else unexpected.push(`${st} restarted without an injected fault`);
    };
    const onEscalated = (st: 'A' | 'B') => (e: { name: string }): void => void unexpected.push(`${st} escalated ${e.name}`);
    const hooks = [[A, onRestart('A'), onEscalated('A')], [B, onRestart('B'), onEscalated('B')]] as const;
    for (const [st, r, e] of hooks) {
      st.on('restarted', r);
      st.on('escalated', e);
    }

    const t0 = Date.now();
    let transfersDone = false;
    // Every kind at least MIN_KILLS / 5 times, in random order.
    const schedule: FaultKind[] = shuffle(Array.from({ length: MIN_KILLS }, (_, i) => FAULT_KINDS[i % FAULT_KINDS.length]));
    const killer = (async () => {
      const recent: Record<'A' | 'B', number[]> = { A: [], B: [] };
      while (kills.length < MIN_KILLS || !transfersDone) {
        if (kills.length >= MIN_KILLS) {
          await sleep(50);
          continue;
        }
        await sleep(100 + Math.random() * 500); // a random moment
        const now = Date.now();
        for (const k of ['A', 'B'] as const) recent[k] = recent[k].filter((t) => now - t < 5000);
        let which: 'A' | 'B' = Math.random() < 0.5 ? 'A' : 'B';
        if (recent[which].length >= 6) which = which === 'A' ? 'B' : 'A';
        if (recent[which].length >= 6) continue;
        const st = which === 'A' ? A : B;
        const kind = schedule[kills.length % schedule.length];
        const restarted = once(st as never, 'restarted', 60000);
        kills.push({ stack: which, kind, at: now - t0, downtimeMs: -1 });
        recent[which].push(now);
        await st.inject('tcp', kind);
        await restarted;
      }
    })();

    const outcomes: Outcome[] = [];
    let rounds = 0;
    const perTransferTimeout = FULL ? 1_200_000 : 300_000;
    try {
      do {
        const round = rounds++;
        const base = 7000 + (round % 50) * TRANSFERS;
        const res = await Promise.all(Array.from({ length: TRANSFERS }, (_, i) => (i % 2 === 0
          ? transfer(A, B, B_ADDR, base + i, i, PER_TRANSFER, perTransferTimeout)
          : transfer(B, A, A_ADDR, base + i, i, PER_TRANSFER, perTransferTimeout))));
        outcomes.push(...res);
        if (res.some((o) => o.errors.length > 0)) break;
      } while (kills.length < MIN_KILLS);
    } finally {
      transfersDone = true;
    }
    await killer;
    const ms = Date.now() - t0;
    for (const [st, r, e] of hooks) {
      st.off('restarted', r);
      st.off('escalated', e);
    }

    const byKind: Record<string, number> = {};
    for (const k of kills) byKind[`${k.kind}@${k.stack}`] = (byKind[`${k.kind}@${k.stack}`] ?? 0) + 1;
    const bytes = outcomes.reduce((s, o) => s + Math.max(0, o.bytes), 0);
    const downtimes = kills.map((k) => k.downtimeMs).filter((d) => d >= 0).sort((a, b) => a - b);
    log(`${kills.length} kills (${Object.entries(byKind).sort().map(([k, n]) => `${k} ${n}`).join(', ')})`);
    log(`restart downtime median ${downtimes[downtimes.length >> 1]?.toFixed(0)} ms, max ${downtimes[downtimes.length - 1]?.toFixed(0)} ms`);
    log(`${rounds} round(s) x ${TRANSFERS} transfers x ${mib(PER_TRANSFER)}: ${mib(bytes)} in ${(ms / 1000).toFixed(1)} s ` +
      `(${((bytes * 8) / (ms / 1000) / 1e6).toFixed(0)} Mbit/s with the kills)`);

    const failed = outcomes.filter((o) => o.errors.length > 0 || o.bytes !== PER_TRANSFER || o.sha !== expected[o.id]);
    expect(failed.map((o) => `#${o.id} ${o.dir}: ${o.bytes} bytes, ${o.sha === expected[o.id] ? 'sha ok' : 'sha MISMATCH'}, ${o.errors.join('; ')}`)).to.deep.equal([]);
    expect(unexpected).to.deep.equal([]);
    expect(kills.length).to.be.at.least(MIN_KILLS);
    for (const kind of FAULT_KINDS) expect(kills.some((k) => k.kind === kind), `a ${kind} kill`).to.equal(true);
    expect(kills.some((k) => k.stack === 'A')).to.equal(true);
    expect(kills.some((k) => k.stack === 'B')).to.equal(true);
  });
});
