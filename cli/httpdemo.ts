// `npm start`: Salamander in one screen. Two stacks in this process joined by an impaired wire
// (loss, reordering, duplication), Node's own `http` server on one and `http.get` on the other,
// a file transferred between them while the TCP actor of each stack is killed and restarted
// mid-transfer. Live progress, throughput, retransmits and restarts; then a summary with the
// SHA-256 of what was sent and what arrived. No root needed; it ends by itself.

import * as http from 'node:http';
import { createHash } from 'node:crypto';
import { Stack } from '../api/stack';
import { serveHttp, httpGet } from '../api/http';
import type { FaultKind } from '../base/types';

export interface HttpDemoOptions {
  mib: number;
  loss: number;
}

/** The file: deterministic bytes, generated in chunks (the server streams, never holds it). */
function chunk(i: number, size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  let x = (i * 2654435761) >>> 0 || 1;
  for (let k = 0; k < size; k += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b.writeUInt32LE(x >>> 0, k);
  }
  return b;
}

export async function runHttpDemo(opts: HttpDemoOptions): Promise<number> {
  const total = opts.mib << 20;
  const CH = 1 << 16;
  const impair = { both: { loss: opts.loss, reorder: 0.02, duplicate: 0.005 }, seed: 7 };
  const server = new Stack({ name: 'server', links: [{ name: 'w0', type: 'wire', addresses: ['192.0.2.1/24'], impair }] });
  const client = new Stack({ name: 'client', links: [{ name: 'w0', type: 'wire', addresses: ['192.0.2.2/24'], impair }] });
  const restarts: string[] = [];
  for (const s of [server, client]) s.on('restarted', (e) => restarts.push(`${s.name}:${e.name} in ${e.downtimeMs.toFixed(1)} ms`));
  const t0 = performance.now();
  await server.start();
  await client.start();
  await Stack.join(server, 'w0', client, 'w0');
  console.log(`Salamander: two stacks (${server.supervisor.actorNames().join(', ')} each) started in ${(performance.now() - t0).toFixed(0)} ms, ` +
    `joined by a wire with ${(opts.loss * 100).toFixed(1)}% loss, 2% reordering, 0.5% duplication.`);

  // Node's http server, unchanged, on a Salamander listener.
  const sent = createHash('sha256');
  const httpServer = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
    let i = 0;
    const pump = (): void => {
      while (i * CH < total) {
        const c = chunk(i, Math.min(CH, total - i * CH));
        sent.update(c);
        i++;
        if (!res.write(c)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  });
  const listener = await serveHttp(server.net, httpServer, 80, '192.0.2.1');
  console.log(`http.createServer() listening on 192.0.2.1:80 (server stack); GET /file of ${opts.mib} MiB from 192.0.2.2 (client stack)\n`);

  const got = createHash('sha256');
  let received = 0;
  const tty = process.stdout.isTTY;
  const tcpCounter = (s: Stack, name: string): number => {
    const c = s.supervisor.counters('tcp');
    return c[name] ?? c[`tcp.${name}`] ?? 0;
  };
  let last = { t: performance.now(), b: 0 };
  const show = (final = false): void => {
    const now = performance.now();
    const rate = ((received - last.b) * 8) / ((now - last.t) * 1000);
    last = { t: now, b: received };
    const frac = received / total;
    const bar = '#'.repeat(Math.round(frac * 30)).padEnd(30, '.');
    const retx = tcpCounter(server, 'retransmitted') + tcpCounter(client, 'retransmitted');
    const line = `[${bar}] ${(frac * 100).toFixed(0).padStart(3)}%  ${(received / 1048576).toFixed(1)} MiB  ${rate.toFixed(0)} Mbit/s  retransmits ${retx}  restarts ${restarts.length}`;
    if (tty && !final) process.stdout.write(`\r\x1b[K${line}`);
    else if (!tty || final) console.log(line);
  };
  const ticker = setInterval(show, tty ? 200 : 1000);
  // Kill each stack's TCP actor once, mid-transfer.
  const kills: Array<{ at: number; stack: Stack; kind: FaultKind; done?: boolean }> = [
    { at: 0.35, stack: server, kind: 'exit' },
    { at: 0.65, stack: client, kind: 'terminate' },
  ];
  const tStart = performance.now();
  await new Promise<void>((resolve, reject) => {
    const req = httpGet(client.net, { host: '192.0.2.1', port: 80, path: '/file' }, (res) => {
      res.on('data', (d: Buffer) => {
        received += d.length;
        got.update(d);
        for (const k of kills) {
          if (!k.done && received >= k.at * total) {
            k.done = true;
            if (tty) process.stdout.write('\r\x1b[K');
            console.log(`> killing the ${k.stack.name} stack's TCP actor (${k.kind}) at ${(received / 1048576).toFixed(1)} MiB`);
            k.stack.inject('tcp', k.kind).catch(reject);
          }
        }
      });
      res.on('end', resolve);
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  const secs = (performance.now() - tStart) / 1000;
  clearInterval(ticker);
  show(true);
  const a = sent.digest('hex');
  const b = got.digest('hex');
  listener.close();
  httpServer.close();
  await client.stop();
  await server.stop();
  console.log('\nSummary');
  console.log(`  bytes received: ${received.toLocaleString()} of ${total.toLocaleString()} in ${secs.toFixed(1)} s (${((received * 8) / secs / 1e6).toFixed(0)} Mbit/s through the impaired wire)`);
  console.log(`  SHA-256 sent:     ${a}`);
  console.log(`  SHA-256 received: ${b}`);
  console.log(`  restarts survived: ${restarts.length} (${restarts.join(', ')}); connections reset: 0`);
  const ok = a === b && received === total && restarts.length >= 1;
  console.log(ok ? '  OK: SHA-256 match, the transfer survived every restart' : '  FAILED');
  return ok ? 0 : 1;
}
