// `salamander up --serve ... --socks ...` against Linux over TAP (root; own namespace,
// 192.0.2.0/24): curl downloads from Salamander's HTTP service, the real iperf3 client runs TCP
// (-t, -R, -P 4) and UDP (-u -b) tests against Salamander's iperf3 server, and curl fetches a
// file from a Linux HTTP server through the SOCKS5 front, SHA-256 checked; a bad SOCKS request
// gets an error reply and the front keeps serving.

import { expect } from 'chai';
import * as path from 'node:path';
import * as os from 'node:os';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { createHash } from 'node:crypto';
import { spawn, spawnSync, ChildProcess } from 'node:child_process';
import { Netns, quietPipes, tapTestsSkipReason, uniq, waitOutput, waitExit, delLinkIfAny, hasTool } from '../nic/netns';

const BIN = path.join(__dirname, '..', '..', '..', 'bin', 'salamander.js');
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('salamander up --serve/--socks against Linux (TAP, own namespace)', function () {
  this.timeout(180000);
  const skip = tapTestsSkipReason() ?? (hasTool('curl') ? null : 'curl is not installed');
  const ns = new Netns('svc');
  const dev = `sals${uniq()}`.slice(0, 15);
  const control = path.join(os.tmpdir(), `salamander-svc-${uniq()}.sock`);
  const socksPort = 20000 + (process.pid % 20000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'salsvc-'));
  let up: ChildProcess | null = null;
  let web: ChildProcess | null = null;

  before(async function () {
    if (skip) {
      console.log(`      skipped: ${skip}`);
      this.skip();
    }
    ns.add();
    up = quietPipes(spawn(process.execPath, [BIN, 'up', '--tap', dev, '--addr', `${dev}=192.0.2.2/24`, '--control', control,
      '--serve', 'echo=7,discard=9,http=80,iperf3', '--socks', `127.0.0.1:${socksPort}`], { stdio: ['ignore', 'pipe', 'pipe'] }));
    await waitOutput(up, /"event":"ready".*\n/, 20000);
    ns.adopt(dev, '192.0.2.1/24');
    // A Linux HTTP server in the namespace, serving a 4 MiB random file.
    fs.writeFileSync(path.join(tmp, 'file'), Buffer.from(Array.from({ length: 4 << 20 }, (_, i) => (i * 2654435761) >>> 24)));
    web = ns.spawn(['/usr/bin/python3', '-m', 'http.server', '8000', '--bind', '192.0.2.1', '--directory', tmp]);
    await waitOutput(web, /Serving HTTP/, 10000);
  });

  after(async () => {
    for (const p of [web, up]) {
      if (p && p.exitCode === null) {
        p.kill('SIGKILL');
        await waitExit(p, 5000);
      }
    }
    ns.del();
    delLinkIfAny(dev);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('serves /bytes?n=N to Linux curl intact', () => {
    const r = spawnSync('ip', ['netns', 'exec', ns.name, 'curl', '-s', '--max-time', '60', 'http://192.0.2.2/bytes?n=8000000'], { maxBuffer: 64 << 20, timeout: 70000 });
    expect(r.status).to.equal(0);
    expect(r.stdout.length).to.equal(8_000_000);
    const again = spawnSync('ip', ['netns', 'exec', ns.name, 'curl', '-s', '--max-time', '60', 'http://192.0.2.2/bytes?n=8000000'], { maxBuffer: 64 << 20, timeout: 70000 });
    expect(sha(again.stdout)).to.equal(sha(r.stdout)); // deterministic content
  });

  const iperf = (args: string[]): Record<string, any> => { // eslint-disable-line @typescript-eslint/no-explicit-any
    const r = spawnSync('ip', ['netns', 'exec', ns.name, 'iperf3', '-c', '192.0.2.2', '--json', ...args], { encoding: 'utf8', timeout: 60000 });
    expect(r.status, r.stdout + r.stderr).to.equal(0);
    return JSON.parse(r.stdout);
  };

  it('runs the real iperf3 client: TCP, reverse, 4 streams, UDP', function () {
    if (!hasTool('iperf3', ['--version'])) this.skip();
    const tcp = iperf(['-t', '2', '-C', 'cubic']);
    expect(tcp.end.sum_received.bytes).to.be.greaterThan(1e6);
    const rev = iperf(['-t', '2', '-R']);
    expect(rev.end.sum_received.bytes).to.be.greaterThan(1e6);
    const par = iperf(['-t', '2', '-P', '4']);
    expect(par.end.streams).to.have.length(4);
    expect(par.end.sum_received.bytes).to.be.greaterThan(1e6);
    const udp = iperf(['-u', '-b', '50M', '-t', '2']);
    expect(udp.end.sum.packets).to.be.greaterThan(1000);
    console.log(`      iperf3 against Salamander: ${(tcp.end.sum_received.bits_per_second / 1e6).toFixed(0)} Mbit/s in, ` +
      `${(rev.end.sum_received.bits_per_second / 1e6).toFixed(0)} Mbit/s out (-R), ${(par.end.sum_received.bits_per_second / 1e6).toFixed(0)} Mbit/s -P 4, ` +
      `UDP 50M loss ${udp.end.sum.lost_percent.toFixed(1)}%`);
  });

  it('carries curl through the SOCKS5 front to a Linux server, intact', () => {
    const r = spawnSync('curl', ['-s', '--max-time', '60', '--socks5-hostname', `127.0.0.1:${socksPort}`, 'http://192.0.2.1:8000/file'], { maxBuffer: 64 << 20, timeout: 70000 });
    expect(r.status).to.equal(0);
    expect(sha(r.stdout)).to.equal(sha(fs.readFileSync(path.join(tmp, 'file'))));
  });

  it('answers a bad SOCKS request with an error reply and keeps serving', async () => {
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const s = net.connect(socksPort, '127.0.0.1');
      let buf = Buffer.alloc(0);
      s.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 + 10) {
          s.destroy();
          resolve(buf);
        }
      });
      s.on('error', reject);
      s.on('close', () => resolve(buf));
      // greeting (no auth), then a CONNECT to a closed port on the Linux side
      s.write(Buffer.from([5, 1, 0]));
      s.write(Buffer.from([5, 1, 0, 1, 192, 0, 2, 1, 0x1f, 0x41])); // 192.0.2.1:8001, nobody listens
    });
    expect(reply[0]).to.equal(5);
    expect(reply[2]).to.equal(5); // method reply "05 00", then "05 05": connection refused
    expect(reply[3]).to.equal(5);
    const r = spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '30', '--socks5-hostname', `127.0.0.1:${socksPort}`, 'http://192.0.2.1:8000/file'], { encoding: 'utf8', timeout: 40000 });
    expect(r.stdout).to.equal('200');
  });
});
