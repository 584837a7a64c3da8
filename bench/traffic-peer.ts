// The Linux side of the fault campaign (`campaign --peer linux`): run inside the campaign's
// network namespace (`ip netns exec NS node dist/bench/traffic-peer.js LOCAL PEER STREAMS`), it
// runs bench/traffic.ts on Node's own net/dgram, i.e. on the Linux kernel's TCP/IP.
// Protocol on stdio: prints "ready" once serving; reads "start" (begin sending to PEER), then
// "stop N" (end the streams, wait for PEER's N streams to end), and prints one JSON line of stats
// ("stalled" first if a stream of its own did not end in time; it then waits for "dumped").

import * as net from 'node:net';
import * as dgram from 'node:dgram';
import * as readline from 'node:readline';
import { CheckedTraffic, DgramLike, NetLike } from './traffic';

async function main(): Promise<void> {
  const [local, peer, streamsArg, rateArg] = process.argv.slice(2);
  const streams = Number(streamsArg);
  if (!net.isIPv4(local) || !net.isIPv4(peer) || !Number.isInteger(streams) || streams < 0 || streams > 100) {
    throw new Error('usage: traffic-peer LOCAL_IPV4 PEER_IPV4 STREAMS(0..100) [TCP_BYTES_PER_S]');
  }
  const rate = Number(rateArg ?? 0);
  if (!Number.isFinite(rate) || rate < 0) throw new Error('TCP_BYTES_PER_S must be >= 0');
  const t = new CheckedTraffic(net as unknown as NetLike, dgram as unknown as DgramLike);
  t.tcpRate = rate;
  await t.serve(local);
  console.log('ready');
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (line === 'start') await t.start(local, peer, streams, 100);
    else if (line.startsWith('stop')) {
      const expectIn = Number(line.split(' ')[1] ?? 0);
      // A stream that does not end in 30 s is stalled: say so, and give the campaign up to 5 s
      // to dump its side of the connections ("dumped") before this side destroys them.
      await t.stop(30_000, async () => {
        console.log('stalled');
        await new Promise<void>((res) => {
          const t2 = setTimeout(res, 5000);
          rl.on('line', (l) => l === 'dumped' && (clearTimeout(t2), res()));
        });
      });
      await t.inboundDone(expectIn, 30_000);
      console.log(JSON.stringify(t.s));
      t.close();
      break;
    }
  }
  rl.close();
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
