// Acceptance (issue "Resilience contract", part 5): overload isolation, threaded. Two Stacks
// joined by an in-memory wire (A 192.0.2.1, B 192.0.2.2). An established connection streams
// A -> B on port 8000 while stack B is flooded from A, for a bounded time, with
//   (a) connection attempts (SYNs): to port 8001, a listener made directly in B's TCP actor
//       (control op `listen`, backlog 4, SYN queue 4) that nobody ever accepts from, so its
//       queues stay full and SYN cookies answer; and to port 8002, where nothing listens
//       (RST, ECONNREFUSED). A keeps a rolling window of attempts open and resets the oldest;
//       an attempt left unanswered for 300 ms (B drops SYNs while the accept queue is full,
//       as Linux does) is abandoned for a fresh one;
//   (b) UDP datagrams to B:9999 at the highest rate A's dgram socket sustains (a tight loop
//       bounded by a window of unacknowledged sends and by the flood's end time), read by a
//       socket on B with a small receive buffer.
// Asserts: the established connection makes progress in every 500 ms window of the flood; the
// process RSS grows by less than RSS_BOUND; B's UDP drops grow (excess load is dropped and
// counted, not queued) while the app-bound UDP ring stays within its capacity; and the stream
// is intact afterwards (byte count and SHA-256). Prints SYN/s and datagrams/s offered,
// datagrams delivered and dropped, the throughput before / during / after, the RSS figures.
//
// Sizes: the flood lasts 3 s by default; ACCEPTANCE_FULL=1 floods for 15 s.

import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { Stack } from '../../api/stack';
import type { Socket } from '../../api/net';
import { pattern } from '../net/helpers';
import { FULL, log, once, sleep } from './helpers';

const A_ADDR = '192.0.2.1';
const B_ADDR = '192.0.2.2';
const FLOOD_MS = FULL ? 15000 : 3000;
const WINDOW_MS = 500;
const RSS_BOUND = 512 << 20; // the whole process (both stacks' app sides, this test, mocha)
const SYN_WINDOW = 384; // connection attempts A keeps open at once
const SYN_PATIENCE_MS = 300; // an unanswered attempt is abandoned after this
const UDP_INFLIGHT = 1024; // sends not yet acknowledged by A's UDP actor
const UDP_SIZE = 512;

function ipv4(a: string): number {
  return a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

function delta(after: Record<string, number>, before: Record<string, number>, re: RegExp): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (re.test(k) && v !== (before[k] ?? 0)) out[k] = v - (before[k] ?? 0);
  return out;
}

describe('acceptance: overload isolation (SYN + UDP flood next to an established stream, threaded)', function () {
  this.timeout(FULL ? 300_000 : 120_000);
  let A: Stack;
  let B: Stack;

  before(async () => {
    const sup = { spares: 1, hangTimeoutMs: 2000, ringCapacity: 1 << 20 };
    const tcp = { maxConns: 1024, sendBufBytes: 1 << 17, recvBufBytes: 1 << 17 };
    A = new Stack({ name: 'ova', links: [{ name: 'w0', type: 'wire', addresses: [`${A_ADDR}/24`] }], supervisor: sup, tcp });
    B = new Stack({ name: 'ovb', links: [{ name: 'w0', type: 'wire', addresses: [`${B_ADDR}/24`] }], supervisor: sup, tcp });
    await A.start();
    await B.start();
    await Stack.join(A, 'w0', B, 'w0', 1 << 22);
  });

  after(async () => {
    await A?.stop();
    await B?.stop();
  });

  it(`an established stream keeps moving and memory stays bounded during a ${FLOOD_MS / 1000} s SYN + UDP flood`, async () => {
    // ---- the established stream A -> B:8000, hashed on both ends
    const srv = B.net.createServer();
    let received = 0;
    const rxHash = createHash('sha256');
    const streamEnd = new Promise<void>((resolve, reject) => {
      srv.once('connection', (c: Socket) => {
        c.on('data', (d: Buffer) => {
          received += d.length;
          rxHash.update(d);
        });
        c.on('end', () => resolve());
        c.on('error', reject);
      });
    });
    const l = once(srv, 'listening');
    srv.listen(8000, B_ADDR);
    await l;
    const s = A.net.connect(8000, B_ADDR);
    await once(s, 'connect');
    const sendErrors: string[] = [];
    s.on('error', (e: NodeJS.ErrnoException) => sendErrors.push(e.code ?? e.message));
    const txHash = createHash('sha256');
    let sent = 0;
    let streaming = true;
    const writer = (async () => {
      for (let k = 0; streaming && !s.destroyed; k++) {
        const chunk = pattern(64 << 10, k + 1);
        txHash.update(chunk);
        sent += chunk.length;
        if (!s.write(chunk)) await once(s, 'drain', 60000);
      }
      s.end();
    })();

    // ---- throughput windows
    const windows: { phase: string; bytes: number }[] = [];
    let phase = 'before';
    let last = received;
    const sampler = setInterval(() => {
      windows.push({ phase, bytes: received - last });
      last = received;
    }, WINDOW_MS);

    // ---- the flood targets on B
    await B.control('tcp', 'listen', { addr: ipv4(B_ADDR), port: 8001, backlog: 4, options: { synQueue: 4 } });
    const sink = B.dgram.createSocket('udp4');
    let delivered = 0;
    sink.on('message', () => void delivered++);
    await new Promise<void>((r) => sink.bind(9999, B_ADDR, () => r()));
    sink.setRecvBufferSize(64 << 10);

    await sleep(4 * WINDOW_MS); // the stream's baseline
    const rss0 = process.memoryUsage().rss;
    let rssMax = rss0;
    const rssTimer = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage().rss)), 100);
    const tcpB0 = (await B.control('tcp', 'counters')) as Record<string, number>;
    const tcpA0 = (await A.control('tcp', 'counters')) as Record<string, number>;
    const udpB0 = { ...B.supervisor.counters('udp') };
    const ringFull: Record<string, number> = {};
    const ringSampler = setInterval(() => {
      for (const rl of B.supervisor.status().links) {
        const key = `${rl.from}->${rl.to}`;
        ringFull[key] = Math.max(ringFull[key] ?? 0, rl.fill / rl.capacity);
      }
    }, 100);

    phase = 'during';
    const floodEnd = Date.now() + FLOOD_MS;
    const t0 = Date.now();

    // (a) connection attempts
    let synAttempts = 0;
    const synOutcomes: Record<string, number> = {};
    const open: Socket[] = [];
    const synFlood = (async () => {
      let inflight = 0;
      while (Date.now() < floodEnd) {
        while (inflight < SYN_WINDOW && Date.now() < floodEnd) {
          const port = synAttempts % 4 === 3 ? 8002 : 8001;
          synAttempts++;
          inflight++;
          const c = A.net.connect(port, B_ADDR);
          let done = false;
          const finish = (what: string): void => {
            if (done) return;
            done = true;
            inflight--;
            synOutcomes[what] = (synOutcomes[what] ?? 0) + 1;
          };
          // An attempt not answered soon (the listener's queues are full, so B drops the SYN
          // as Linux does) is abandoned and replaced by a fresh one: a new SYN.
          const t = setTimeout(() => {
            finish('abandoned');
            c.destroy();
          }, SYN_PATIENCE_MS);
          c.on('error', (e: NodeJS.ErrnoException) => {
            clearTimeout(t);
            finish(e.code ?? 'error');
          });
          c.on('connect', () => {
            clearTimeout(t);
            if (done) return void c.resetAndDestroy();
            finish('connected');
            open.push(c);
            while (open.length > SYN_WINDOW) open.shift()!.resetAndDestroy();
          });
        }
        await new Promise((r) => setImmediate(r));
      }
    })();

    // (b) UDP datagrams
    const src = A.dgram.createSocket('udp4');
    await new Promise<void>((r) => src.bind(0, A_ADDR, () => r()));
    let udpOffered = 0;
    let udpErrors = 0;
    const payload = Buffer.alloc(UDP_SIZE, 0x55);
    const udpFlood = (async () => {
      let inflight = 0;
      while (Date.now() < floodEnd) {
        while (inflight < UDP_INFLIGHT && Date.now() < floodEnd) {
          inflight++;
          udpOffered++;
          src.send(payload, 9999, B_ADDR, (err) => {
            inflight--;
            if (err) udpErrors++;
          });
        }
        await new Promise((r) => setImmediate(r));
      }
      while (inflight > 0 && Date.now() < floodEnd + 10000) await sleep(10);
    })();

    await Promise.all([synFlood, udpFlood]);
    const floodMs = Date.now() - t0;
    phase = 'after';
    await sleep(4 * WINDOW_MS);
    clearInterval(rssTimer);
    clearInterval(ringSampler);
    const tcpB1 = (await B.control('tcp', 'counters')) as Record<string, number>;
    const tcpA1 = (await A.control('tcp', 'counters')) as Record<string, number>;
    const udpB1 = { ...B.supervisor.counters('udp') };

    // ---- end the stream, check it, clean up the flood's leftovers
    streaming = false;
    await writer;
    await Promise.race([streamEnd, sleep(60000).then(() => { throw new Error('stream did not end'); })]);
    clearInterval(sampler);
    for (const c of open) c.resetAndDestroy();
    src.close();
    sink.close();
    srv.close();

    // ---- figures
    const rate = (p: string): number => {
      const w = windows.filter((x) => x.phase === p);
      return w.length ? (w.reduce((a, x) => a + x.bytes, 0) * 8) / ((w.length * WINDOW_MS) / 1000) / 1e6 : 0;
    };
    const during = windows.filter((w) => w.phase === 'during');
    const udpDrops = delta(udpB1, udpB0, /drop/);
    const totalUdpDrops = Object.values(udpDrops).reduce((a, b) => a + b, 0);
    log(`flood ${floodMs} ms: ${synAttempts} connection attempts (${((synAttempts * 1000) / floodMs).toFixed(0)} SYN/s offered; ` +
      `${Object.entries(synOutcomes).map(([k, v]) => `${k} ${v}`).join(', ')})`);
    log(`UDP: ${udpOffered} datagrams of ${UDP_SIZE} B offered (${((udpOffered * 1000) / floodMs).toFixed(0)}/s), ${udpErrors} send errors, ` +
      `${delivered} delivered to the app, B's UDP drops ${JSON.stringify(udpDrops)}`);
    log(`A's TCP counters during the flood: ${JSON.stringify(delta(tcpA1, tcpA0, /./))}`);
    log(`B's TCP counters during the flood: ${JSON.stringify(delta(tcpB1, tcpB0, /./))}`);
    log(`stream A->B: ${rate('before').toFixed(0)} Mbit/s before, ${rate('during').toFixed(0)} during, ${rate('after').toFixed(0)} after; ` +
      `during-flood windows (KiB): ${during.map((w) => (w.bytes >> 10)).join(' ')}`);
    log(`RSS ${(rss0 / 1048576).toFixed(0)} MiB before, max ${(rssMax / 1048576).toFixed(0)} MiB during (growth ${((rssMax - rss0) / 1048576).toFixed(0)} MiB, bound ${RSS_BOUND >> 20} MiB)`);
    log(`B ring fill max: ${Object.entries(ringFull).filter(([, f]) => f > 0.01).map(([k, f]) => `${k} ${(f * 100).toFixed(0)}%`).join(', ') || 'all under 1%'}`);

    // ---- checks
    expect(sendErrors).to.deep.equal([]);
    expect(received).to.equal(sent);
    expect(rxHash.digest('hex')).to.equal(txHash.digest('hex'));
    expect(during.length).to.be.at.least(Math.floor(FLOOD_MS / WINDOW_MS) - 1);
    for (const [i, w] of during.entries()) expect(w.bytes, `stream bytes in flood window ${i}`).to.be.greaterThan(0);
    expect(rssMax - rss0).to.be.below(RSS_BOUND);
    expect(synAttempts).to.be.greaterThan(0);
    expect(udpOffered).to.be.greaterThan(0);
    // Excess UDP is dropped and counted by the stack rather than queued without bound.
    expect(delivered).to.be.greaterThan(0);
    if (delivered < udpOffered) expect(totalUdpDrops, "B's UDP drop counters").to.be.greaterThan(0);
    expect(delivered + totalUdpDrops).to.be.at.most(udpOffered);
    for (const [k, f] of Object.entries(ringFull)) expect(f, `ring ${k} fill`).to.be.at.most(1);
  });
});
