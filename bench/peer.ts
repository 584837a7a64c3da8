// Salamander next to the peers on this machine, over a TAP device in a namespace of its own:
// ICMP echo round trips (and, once TCP is wired, bulk and request/response) for Salamander
// (`salamander up`), gVisor's netstack (../shared/peers/gvisor, built to /tmp/gvisor-peer by
// its build.sh) and Linux itself (a veth pair), measured in the same run.
// Needs root; skips with a message otherwise. Run: `node dist/bench/peer.js`.

import { spawn, spawnSync, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const BIN = path.join(__dirname, '..', '..', 'bin', 'salamander.js');
const GVISOR = process.env.GVISOR_PEER ?? '/tmp/gvisor-peer';

function sh(cmd: string, args: string[], timeoutMs = 20000): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status, out: (r.stdout ?? '') + (r.stderr ?? '') };
}

function waitReady(p: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error(`not ready in ${timeoutMs} ms: ${buf}`)), timeoutMs);
    p.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('"event":"ready"')) {
        clearTimeout(t);
        resolve();
      }
    });
    p.once('exit', (c) => reject(new Error(`exited (${c}) before ready: ${buf}`)));
  });
}

/** ping statistics: "rtt min/avg/max/mdev = a/b/c/d ms" */
function pingStats(ns: string, addr: string, count: number, size = 56): string {
  const r = sh('ip', ['netns', 'exec', ns, 'ping', '-q', '-c', String(count), '-i', '0.002', '-s', String(size), '-W', '1', addr], 60000);
  const m = /rtt min\/avg\/max\/mdev = ([\d.]+)\/([\d.]+)\/([\d.]+)\/([\d.]+) ms/.exec(r.out);
  const loss = /(\d+)% packet loss/.exec(r.out)?.[1] ?? '?';
  return m ? `avg ${(Number(m[2]) * 1000).toFixed(0)} us, min ${(Number(m[1]) * 1000).toFixed(0)} us, mdev ${(Number(m[4]) * 1000).toFixed(0)} us, loss ${loss}%` : `failed: ${r.out.trim().split('\n').pop()}`;
}

async function onTap(label: string, start: (dev: string) => ChildProcess, count: number): Promise<void> {
  const ns = `salbench-${process.pid}`;
  const dev = `salb${process.pid % 100000}`;
  sh('ip', ['netns', 'add', ns]);
  let p: ChildProcess | null = null;
  try {
    p = start(dev);
    await waitReady(p, 20000);
    sh('ip', ['link', 'set', dev, 'netns', ns]);
    sh('ip', ['-n', ns, 'addr', 'add', '192.0.2.1/24', 'dev', dev]);
    sh('ip', ['-n', ns, 'link', 'set', dev, 'up']);
    sh('ip', ['netns', 'exec', ns, 'ping', '-c', '3', '-W', '1', '192.0.2.2']); // warm ARP
    console.log(`${label.padEnd(22)} ping 56 B x${count}: ${pingStats(ns, '192.0.2.2', count)}`);
    console.log(`${label.padEnd(22)} ping 1400 B x${count}: ${pingStats(ns, '192.0.2.2', count, 1400)}`);
    tcpFigures(label, ns, '192.0.2.2');
  } finally {
    if (p && p.exitCode === null) {
      p.kill('SIGINT');
      await new Promise((r) => p!.once('exit', r));
    }
    sh('ip', ['netns', 'del', ns]);
  }
}

const RR = path.join(__dirname, '..', '..', '..', 'shared', 'peers', 'gvisor', 'rr.py');
const BULK = Number(process.env.PEER_BULK_MIB ?? 256) << 20;

/** TCP from Linux (cubic) to the device under test: BULK bytes to discard (:9), BULK bytes
 *  from source (:19), 1-byte request/response on echo (:7); the same commands gVisor's
 *  bench.sh runs. */
function tcpFigures(label: string, ns: string, host: string): void {
  const gbps = (bytes: number, s: number): string => ((bytes * 8) / s / 1e9).toFixed(2);
  let t0 = performance.now();
  const inb = sh('bash', ['-c', `head -c ${BULK} /dev/zero | timeout 120 ip netns exec ${ns} socat -u - TCP:${host}:9`], 130000);
  const tin = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const out = sh('bash', ['-c', `timeout 120 ip netns exec ${ns} socat -u TCP:${host}:19 - 2>/dev/null | head -c ${BULK} | wc -c`], 130000);
  const tout = (performance.now() - t0) / 1000;
  const got = Number(out.out.trim());
  console.log(`${label.padEnd(22)} TCP Linux->DUT ${BULK >> 20} MiB: ${inb.status === 0 ? `${gbps(BULK, tin)} Gbit/s` : 'failed'}; ` +
    `DUT->Linux: ${got === BULK ? `${gbps(BULK, tout)} Gbit/s` : `failed (${got} bytes)`}`);
  if (fs.existsSync(RR)) {
    const rr = sh('timeout', ['60', 'ip', 'netns', 'exec', ns, '/usr/bin/python3', RR, host, '7', '5000'], 70000);
    console.log(`${label.padEnd(22)} TCP 1-byte request/response: ${rr.out.trim().split('\n').pop()}`);
  }
}

async function veth(count: number): Promise<void> {
  const a = `salbench-a${process.pid}`;
  const b = `salbench-b${process.pid}`;
  sh('ip', ['netns', 'add', a]);
  sh('ip', ['netns', 'add', b]);
  try {
    sh('ip', ['-n', a, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1', 'netns', b]);
    sh('ip', ['-n', a, 'addr', 'add', '192.0.2.1/24', 'dev', 'v0']);
    sh('ip', ['-n', b, 'addr', 'add', '192.0.2.2/24', 'dev', 'v1']);
    sh('ip', ['-n', a, 'link', 'set', 'v0', 'up']);
    sh('ip', ['-n', b, 'link', 'set', 'v1', 'up']);
    console.log(`${'linux veth'.padEnd(22)} ping 56 B x${count}: ${pingStats(a, '192.0.2.2', count)}`);
    // Linux to Linux TCP (cubic on the connecting side's route) as the ceiling.
    sh('ip', ['-n', a, 'route', 'replace', '192.0.2.0/24', 'dev', 'v0', 'congctl', 'cubic']);
    const sink = spawn('ip', ['netns', 'exec', b, 'socat', '-u', 'TCP-LISTEN:9,reuseaddr', 'OPEN:/dev/null'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 300));
    const t0 = performance.now();
    const r = sh('bash', ['-c', `head -c ${BULK} /dev/zero | timeout 60 ip netns exec ${a} socat -u - TCP:192.0.2.2:9`], 70000);
    const secs = (performance.now() - t0) / 1000;
    sink.kill();
    console.log(`${'linux veth'.padEnd(22)} TCP ${BULK >> 20} MiB: ${r.status === 0 ? `${((BULK * 8) / secs / 1e9).toFixed(2)} Gbit/s` : 'failed'}`);
  } finally {
    sh('ip', ['netns', 'del', a]);
    sh('ip', ['netns', 'del', b]);
  }
}

export async function benchPeer(): Promise<void> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    console.log('# peer: skipped (needs root for TAP devices and namespaces)');
    return;
  }
  if (sh('ping', ['-V']).status !== 0) {
    console.log('# peer: skipped (iputils-ping is not installed)');
    return;
  }
  const count = 2000;
  console.log('# From Linux over a TAP (same run, same machine): ICMP echo RTT, TCP bulk both ways (socat, Linux cubic), TCP 1-byte request/response');
  await veth(count);
  await onTap('salamander', (dev) => spawn(process.execPath, [BIN, 'up', '--tap', dev, '--addr', `${dev}=192.0.2.2/24`, '--control', `/tmp/salbench-${process.pid}.sock`,
    '--serve', 'echo=7,discard=9,source=19'], { stdio: ['ignore', 'pipe', 'inherit'] }), count);
  if (fs.existsSync(GVISOR)) {
    await onTap('gvisor netstack', (dev) => spawn(GVISOR, ['-tap', dev], { stdio: ['ignore', 'pipe', 'inherit'] }), count);
  } else console.log(`gvisor netstack: skipped (${GVISOR} not built; run ../shared/peers/gvisor/build.sh)`);
}

if (require.main === module) {
  benchPeer().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
