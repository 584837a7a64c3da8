// IP interop against the Linux kernel, router mode: `salamander up --forward` with two TAPs, each
// moved into its own namespace (salip-*): Linux 192.0.2.1/24 and 198.51.100.1/24, each with a
// default route via Salamander (192.0.2.2 / 198.51.100.2), whose only path to the other is
// through Salamander. Ping across (small and fragmented), a 10 MB TCP transfer Linux to Linux
// with SHA-256 compared, and ping -t 1 answered by Salamander's Time Exceeded.
// Needs root (TAP, namespaces) and python3; skips with a message otherwise.

import { expect } from 'chai';
import { IpNetns, Daemon, interopSkipReason, startUp, stopUp, ipCounters, delLinkIfAny, uniq } from './interop';
import { waitExit } from '../nic/netns';

const SERVER = `
import socket, hashlib, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('198.51.100.1', 5001)); s.listen(1); s.settimeout(60)
print('listening', flush=True)
c, _ = s.accept(); c.settimeout(60)
h = hashlib.sha256(); n = 0
while True:
    b = c.recv(65536)
    if not b: break
    h.update(b); n += len(b)
print(n, h.hexdigest(), flush=True)
`;

const CLIENT = `
import socket, hashlib, random
r = random.Random(7)
data = bytes(r.getrandbits(8) for _ in range(1 << 16)) * 160  # 10 MiB
c = socket.create_connection(('198.51.100.1', 5001), timeout=60)
c.sendall(data); c.shutdown(socket.SHUT_WR)
c.recv(1)
print(len(data), hashlib.sha256(data).hexdigest(), flush=True)
`;

describe('IP interop with Linux: router (two TAPs, --forward)', function () {
  this.timeout(180000);
  const skip = interopSkipReason();
  const ns1 = new IpNetns('r1');
  const ns2 = new IpNetns('r2');
  const d1 = `salr${uniq()}`.slice(0, 15);
  const d2 = `sals${uniq()}`.slice(0, 15);
  let up: Daemon | null = null;

  before(async function () {
    if (skip) {
      console.log(`      skipped: ${skip}`);
      this.skip();
    }
    ns1.add();
    ns2.add();
    up = await startUp(['--tap', d1, '--addr', `${d1}=192.0.2.2/24`, '--tap', d2, '--addr', `${d2}=198.51.100.2/24`, '--forward']);
    ns1.adopt(d1, ['192.0.2.1/24']);
    ns2.adopt(d2, ['198.51.100.1/24']);
    ns1.mustExec(['ip', 'route', 'add', 'default', 'via', '192.0.2.2']);
    ns2.mustExec(['ip', 'route', 'add', 'default', 'via', '198.51.100.2']);
  });

  after(async () => {
    await stopUp(up);
    ns1.del();
    ns2.del();
    delLinkIfAny(d1);
    delLinkIfAny(d2);
  });

  it('forwards ping between the namespaces, small and fragmented', () => {
    for (const size of [56, 8000]) {
      let r = ns1.exec(['ping', '-c', '3', '-i', '0.2', '-W', '3', '-s', String(size), '-p', 'c0ffee', '198.51.100.1'], 20000);
      if (r.status !== 0) r = ns1.exec(['ping', '-c', '3', '-i', '0.2', '-W', '3', '-s', String(size), '-p', 'c0ffee', '198.51.100.1'], 20000);
      expect(r.status, r.stdout + r.stderr).to.equal(0);
      expect(r.stdout).to.not.match(/wrong data/);
      // Linux on the far side sees the TTL decremented once.
      expect(r.stdout).to.match(/ttl=63/);
    }
    expect(ipCounters(up!)['ip4.fwd']).to.be.at.least(6);
  });

  it('carries a 10 MB TCP transfer from Linux to Linux intact (SHA-256)', async () => {
    const server = ns2.spawn(['/usr/bin/python3', '-c', SERVER]);
    let sout = '';
    server.stdout!.on('data', (d: Buffer) => (sout += d.toString()));
    for (let i = 0; i < 50 && !sout.includes('listening'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(sout).to.contain('listening');
    const c = ns1.exec(['/usr/bin/python3', '-c', CLIENT], 90000);
    expect(c.status, c.stderr).to.equal(0);
    await waitExit(server, 30000);
    const [n1, h1] = c.stdout.trim().split(' ');
    const [n2, h2] = sout.split('\n').filter((l) => /^\d+ [0-9a-f]{64}$/.test(l))[0].split(' ');
    expect(n1).to.equal(String(10 * 1024 * 1024));
    expect(n2).to.equal(n1);
    expect(h2).to.equal(h1);
  });

  it('answers ping -t 1 with ICMP Time Exceeded from Salamander', () => {
    const r = ns1.exec(['ping', '-c', '1', '-W', '3', '-t', '1', '198.51.100.1'], 10000);
    expect(r.stdout).to.match(/From 192\.0\.2\.2 .*Time to live exceeded/i);
    expect(ipCounters(up!)['icmp4.tx.error.11']).to.be.at.least(1);
  });
});
