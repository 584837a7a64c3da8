// Multicast, broadcast and IPv6 UDP against the Linux kernel (root only): a Stack on a TAP
// device moved into a namespace of this test's own (`salmc-*`), the kernel at 192.0.2.1/24 and
// 2001:db8::1/64, Salamander at 192.0.2.2/24 and 2001:db8::2/64. /usr/bin/python3 and tcpdump
// run in the namespace. Every command is asynchronous (a blocking spawn would stall the Stack's
// app side on this thread) and every wait has a deadline.

import { expect } from 'chai';
import * as fs from 'node:fs';
import { spawn, ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { Stack } from '../../api/stack';
import type { RemoteInfo, Socket } from '../../api/dgram';
import { tapTestsSkipReason, uniq, waitOutput, waitExit } from '../nic/netns';
import { once } from '../util';

const PY = '/usr/bin/python3';
const TCPDUMP = ['/usr/bin/tcpdump', '/usr/sbin/tcpdump'].find((p) => fs.existsSync(p));

/** Runs a command to completion without blocking the event loop. */
function sh(cmd: string, args: string[], timeoutMs = 10000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    c.stdout!.on('error', () => undefined); // a child's stdio may end in ECONNRESET
    c.stderr!.on('error', () => undefined);
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (out += d));
    const t = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, out });
    });
  });
}

async function must(cmd: string, args: string[]): Promise<string> {
  const r = await sh(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.out.trim()}`);
  return r.out;
}


describe('udp multicast, broadcast and IPv6 interop with Linux (TAP, own namespace)', function () {
  this.timeout(90000);
  const skip = tapTestsSkipReason() ?? (fs.existsSync(PY) ? null : `${PY} is missing`) ?? (TCPDUMP ? null : 'tcpdump is missing');
  const ns = `salmc-${uniq()}`;
  const dev = `salm${uniq()}`.slice(0, 15);
  let nsMade = false;
  let stack: Stack | null = null;
  const children: ChildProcess[] = [];

  const inNs = (args: string[]): ChildProcess => {
    const c = spawn('ip', ['netns', 'exec', ns, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    c.stdout!.on('error', () => undefined); // a child's stdio may end in ECONNRESET
    c.stderr!.on('error', () => undefined);
    children.push(c);
    return c;
  };
  const py = (code: string): ChildProcess => inNs([PY, '-u', '-c', code]);

  before(async function () {
    if (skip) {
      console.log(`      skipped: ${skip}`);
      this.skip();
    }
    stack = new Stack({
      name: 'mclinux',
      links: [{ name: dev, type: 'tap', device: dev, addresses: ['192.0.2.2/24', '2001:db8::2/64'] }],
      supervisor: { spares: 1, hangTimeoutMs: 1000 },
    });
    await stack.start();
    await must('ip', ['netns', 'add', ns]);
    nsMade = true;
    await must('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    await must('ip', ['link', 'set', dev, 'netns', ns]);
    await sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `net.ipv6.conf.${dev}.disable_ipv6=0`]);
    await must('ip', ['-n', ns, 'addr', 'add', '192.0.2.1/24', 'brd', '192.0.2.255', 'dev', dev]);
    await must('ip', ['-n', ns, 'addr', 'add', '2001:db8::1/64', 'nodad', 'dev', dev]);
    await must('ip', ['-n', ns, 'link', 'set', dev, 'up']);
    await must('ip', ['-n', ns, 'route', 'add', '239.0.0.0/8', 'dev', dev]);
  });

  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await stack?.stop();
    if (nsMade) await sh('ip', ['netns', 'del', ns]);
    if ((await sh('ip', ['link', 'show', dev])).code === 0) await sh('ip', ['link', 'del', dev]);
  });

  it('joins 239.1.2.3: Linux sees the IGMP report and the socket receives what Linux sends to the group', async () => {
    const dump = inNs([TCPDUMP!, '-i', dev, '-n', '-l', '-vv', 'igmp']);
    const report = waitOutput(dump, /192\.0\.2\.2 > 224\.0\.0\.22: igmp v3 report[^\n]*239\.1\.2\.3 to_ex/, 20000);
    await waitOutput(dump, /listening on/, 10000);
    const s: Socket = stack!.dgram.createSocket({ type: 'udp4', reuseAddr: true });
    await new Promise<void>((r) => s.bind(7300, r));
    s.addMembership('239.1.2.3');
    const seen = await report;
    expect(seen).to.match(/options \(RA\)/);
    expect(seen).to.match(/ttl 1/);
    const got = once<[Buffer, RemoteInfo]>(s, 'message', 20000);
    const child = py(`
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton('192.0.2.1'))
s.bind(('192.0.2.1', 7310))
for i in range(40):
    s.sendto(b'hello group %d' % i, ('239.1.2.3', 7300))
    time.sleep(0.25)
`);
    const [m, r] = await got;
    child.kill('SIGKILL');
    expect(m.toString()).to.match(/^hello group \d+$/);
    expect(r).to.deep.include({ address: '192.0.2.1', port: 7310, family: 'IPv4' });
    expect(stack!.supervisor.counters('ip')['igmp.tx']).to.be.greaterThan(0);
    s.dropMembership('239.1.2.3');
    const leave = waitOutput(dump, /192\.0\.2\.2 > 224\.0\.0\.22: igmp v3 report[^\n]*239\.1\.2\.3 to_in/, 10000);
    await leave;
    dump.kill('SIGKILL');
    s.close();
  });

  it('broadcast: receives Linux\'s datagram to 192.0.2.255, and with setBroadcast(true) Linux receives ours', async () => {
    const s: Socket = stack!.dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(7301, r));
    const got = once<[Buffer, RemoteInfo]>(s, 'message', 20000);
    const tx = py(`
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.bind(('192.0.2.1', 7311))
for i in range(40):
    s.sendto(b'broadcast from linux', ('192.0.2.255', 7301))
    time.sleep(0.25)
`);
    const [m, r] = await got;
    tx.kill('SIGKILL');
    expect(m.toString()).to.equal('broadcast from linux');
    expect(r).to.deep.include({ address: '192.0.2.1', port: 7311 });

    const rx = py(`
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('0.0.0.0', 7302))
s.settimeout(20.0)
print('READY')
d, a = s.recvfrom(2000)
print('RECV %s %s %d' % (d.decode(), a[0], a[1]))
`);
    const recv = waitOutput(rx, /RECV .*\n/, 20000);
    await waitOutput(rx, /READY/, 10000);
    const err = await new Promise<Error | null>((res) => s.send('no broadcast yet', 7302, '192.0.2.255', (e) => res(e)));
    expect((err as NodeJS.ErrnoException | null)?.code).to.equal('EACCES');
    s.setBroadcast(true);
    const timer = setInterval(() => s.send('broadcast from salamander', 7302, '192.0.2.255'), 250);
    try {
      expect(await recv).to.match(/RECV broadcast from salamander 192\.0\.2\.2 7301/);
    } finally {
      clearInterval(timer);
    }
    await waitExit(rx, 5000);
    s.close();
  });

  it('IPv6: a udp6 socket exchanges datagrams with Linux over 2001:db8::/64 both ways', async () => {
    const s: Socket = stack!.dgram.createSocket('udp6');
    await new Promise<void>((r) => s.bind(7303, r));
    const seen: RemoteInfo[] = [];
    s.on('message', (m: Buffer, r: RemoteInfo) => {
      seen.push(r);
      s.send(Buffer.concat([Buffer.from('echo:'), m]), r.port, r.address);
    });
    // Salamander's address is tentative until DAD ends (about a second): Python retries.
    const child = py(`
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(('2001:db8::1', 7313))
s.settimeout(0.5)
for i in range(40):
    s.sendto(b'hello v6', ('2001:db8::2', 7303))
    try:
        d, a = s.recvfrom(2000)
        print('GOT %s %s %d' % (d.decode(), a[0], a[1]))
        break
    except socket.timeout:
        pass
`);
    const out = await waitOutput(child, /GOT .*\n/, 30000);
    expect(out).to.match(/GOT echo:hello v6 2001:db8::2 7303/);
    expect(seen[0]).to.deep.include({ address: '2001:db8::1', port: 7313, family: 'IPv6' });
    await waitExit(child, 5000);
    s.close();
  });
});
