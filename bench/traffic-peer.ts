// The Linux side of the fault campaign (`campaign --peer linux`): run inside the campaign's
// network namespace (`ip netns exec NS node dist/bench/traffic-peer.js LOCAL PEER STREAMS`), it
// runs bench/traffic.ts on Node's own net/dgram, i.e. on the Linux kernel's TCP/IP.
// Protocol on stdio: prints "ready" once serving; reads "start" (begin sending to PEER), then
// "stop" (end the streams, wait for PEER's streams to end), and prints one JSON line of stats.

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
      await t.stop();
      await t.inboundDone(expectIn, 60_000);
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
