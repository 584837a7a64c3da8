// TCP benchmarks: bulk throughput between two stacks over an in-memory wire (threaded, through
// stack.net, the data crossing the app<->TCP shared streams, TCP, IP, two NIC actors and the
// wire), and the blackout when a TCP actor is killed mid-transfer (kill -> bytes flowing
// again). Over TAP against Linux (and gVisor next to it) see bench/peer.ts.

import { Stack } from '../api/stack';
import type { Socket } from '../api/net';
import type { FaultKind } from '../base/types';

async function pair(): Promise<[Stack, Stack]> {
  const a = new Stack({ name: 'a', links: [{ name: 'w0', type: 'wire', addresses: ['192.0.2.1/24'] }], tcp: { sendBufBytes: 1 << 20, recvBufBytes: 1 << 20, maxConns: 64 } } as never);
  const b = new Stack({ name: 'b', links: [{ name: 'w0', type: 'wire', addresses: ['192.0.2.2/24'] }], tcp: { sendBufBytes: 1 << 20, recvBufBytes: 1 << 20, maxConns: 64 } } as never);
  await a.start();
  await b.start();
  await Stack.join(a, 'w0', b, 'w0');
  return [a, b];
}

/** Streams `bytes` from a to b; `onProgress(received, t)` sees every chunk. Returns seconds. */
async function bulk(a: Stack, b: Stack, bytes: number, port: number, onProgress?: (received: number) => void): Promise<number> {
  const srv = b.net.createServer();
  let received = 0;
  const done = new Promise<void>((resolve, reject) => {
    srv.once('connection', (c: Socket) => {
      c.on('data', (d: Buffer) => {
        received += d.length;
        onProgress?.(received);
      });
      c.on('end', () => resolve());
      c.on('error', reject);
    });
  });
  await new Promise<void>((r) => srv.listen(port, '192.0.2.2', () => r()));
  const t0 = performance.now();
  const s = a.net.connect(port, '192.0.2.2');
  await new Promise<void>((r, j) => {
    s.once('connect', () => r());
    s.once('error', j);
  });
  const chunk = Buffer.alloc(1 << 20, 0x5a);
  for (let off = 0; off < bytes; off += chunk.length) {
    if (!s.write(off + chunk.length <= bytes ? chunk : chunk.subarray(0, bytes - off))) await new Promise((r) => s.once('drain', r));
  }
  s.end();
  await done;
  const secs = (performance.now() - t0) / 1000;
  srv.close();
  if (received !== bytes) throw new Error(`received ${received} of ${bytes}`);
  return secs;
}

export async function benchTcp(): Promise<void> {
  console.log('# TCP between two stacks over an in-memory wire (threaded; stack.net -> TCP -> IP -> NIC -> wire -> NIC -> IP -> TCP -> stack.net)');
  const [a, b] = await pair();
  try {
    const mib = 256;
    const secs = await bulk(a, b, mib << 20, 5001);
    console.log(`bulk ${mib} MiB: ${(((mib << 20) * 8) / secs / 1e9).toFixed(2)} Gbit/s   (target >= 8 Gbit/s)`);
    // Blackout: kill the receiver's or sender's TCP actor mid-transfer; time from the kill to
    // the next byte arriving at the receiver.
    const blackouts: number[] = [];
    const kinds: FaultKind[] = ['exit', 'throw', 'terminate'];
    for (let i = 0; i < 12; i++) {
      // Blackout = the longest pause in deliveries at the receiver within 2 s after the kill
      // (bytes already in the shared receive stream keep flowing for a moment, then stop until
      // the restarted actor carries on).
      let killedAt = 0;
      let last = 0;
      let worst = 0;
      const target = i % 2 === 0 ? a : b;
      const total = 64 << 20;
      await bulk(a, b, total, 5100 + i, (got) => {
        const now = performance.now();
        if (!killedAt && got > total / 3) {
          killedAt = now;
          void target.inject('tcp', kinds[i % kinds.length]);
        } else if (killedAt && now - killedAt < 2000) worst = Math.max(worst, now - Math.max(last, killedAt));
        last = now;
      });
      if (killedAt) blackouts.push(worst);
    }
    blackouts.sort((x, y) => x - y);
    const p = (q: number): string => blackouts[Math.min(blackouts.length - 1, Math.floor(blackouts.length * q))].toFixed(1);
    console.log(`blackout after a TCP actor kill (exit/throw/terminate, sender or receiver side): p50 ${p(0.5)} ms, p99 ${p(0.99)} ms over ${blackouts.length} kills   (targets p50 <= 20 ms, p99 <= 100 ms)`);
  } finally {
    await a.stop();
    await b.stop();
  }
}

if (require.main === module) {
  benchTcp().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
