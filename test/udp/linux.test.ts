// UDP against the Linux kernel (root only): a Stack on a TAP device moved into a network
// namespace of this test's own, the kernel at 192.0.2.1/24 and Salamander at 192.0.2.2/24.
// /usr/bin/python3 in the namespace exchanges datagrams both ways with a stack.dgram socket; a
// datagram from Linux to a closed Salamander port gets ICMP Port Unreachable (Python sees
// ECONNREFUSED on its connected socket), and a Salamander connected socket gets ECONNREFUSED from
// a closed Linux port. Every wait is an event or a process output with a deadline.

import { expect } from 'chai';
import * as fs from 'node:fs';
import { EventEmitter } from 'node:events';
import { Stack } from '../../api/stack';
import type { RemoteInfo, Socket } from '../../api/dgram';
import { Netns, tapTestsSkipReason, uniq, waitOutput, waitExit, delLinkIfAny } from '../nic/netns';
import { once } from '../util';

const PY = '/usr/bin/python3';


describe('udp interop with Linux (TAP, own namespace)', function () {
  this.timeout(60000);
  const skip = tapTestsSkipReason() ?? (fs.existsSync(PY) ? null : `${PY} is missing`);
  const ns = new Netns('udp');
  const dev = `salu${uniq()}`.slice(0, 15);
  let stack: Stack | null = null;

  before(async function () {
    if (skip) {
      console.log(`      skipped: ${skip}`);
      this.skip();
    }
    stack = new Stack({
      name: 'udplinux',
      links: [{ name: dev, type: 'tap', device: dev, addresses: ['192.0.2.2/24'] }],
      supervisor: { spares: 1, hangTimeoutMs: 1000 },
    });
    await stack.start();
    ns.add();
    ns.adopt(dev, '192.0.2.1/24');
  });

  after(async () => {
    await stack?.stop();
    ns.del();
    delLinkIfAny(dev);
  });

  const py = (code: string): ReturnType<Netns['spawn']> => ns.spawn([PY, '-u', '-c', code]);

  it('answers a datagram from Linux (Python sendto/recvfrom through an echo socket)', async () => {
    const echo = stack!.dgram.createSocket('udp4');
    await new Promise<void>((r) => echo.bind(7000, r));
    const seen: RemoteInfo[] = [];
    echo.on('message', (m: Buffer, r: RemoteInfo) => {
      seen.push(r);
      echo.send(Buffer.concat([Buffer.from('echo:'), m]), r.port, r.address);
    });
    const child = py(`
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('192.0.2.1', 7100))
s.settimeout(1.0)
for i in range(10):
    s.sendto(b'hello from linux', ('192.0.2.2', 7000))
    try:
        d, a = s.recvfrom(2000)
        print('GOT %s %s %d' % (d.decode(), a[0], a[1]))
        break
    except socket.timeout:
        pass
`);
    const out = await waitOutput(child, /GOT .*\n/, 20000);
    expect(out).to.match(/GOT echo:hello from linux 192\.0\.2\.2 7000/);
    expect(await waitExit(child, 5000)).to.equal(0);
    expect(seen[0]).to.deep.include({ address: '192.0.2.1', port: 7100, family: 'IPv4', size: 16 });
    echo.close();
  });

  it('sends to a Linux socket and hears its answer', async () => {
    const child = py(`
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('192.0.2.1', 7001))
s.settimeout(15.0)
print('READY')
d, a = s.recvfrom(70000)
print('RECV %d %s %s %d' % (len(d), d[:20].decode(), a[0], a[1]))
s.sendto(b'ack', a)
`);
    await waitOutput(child, /READY/, 10000);
    const s: Socket = stack!.dgram.createSocket('udp4');
    const got = once<[Buffer, RemoteInfo]>(s, 'message', 15000);
    // 6000 bytes: IP fragments it, Linux reassembles.
    const payload = Buffer.concat([Buffer.from('from salamander....!'), Buffer.alloc(5980, 0x41)]);
    s.send(payload, 7001, '192.0.2.1');
    const out = await waitOutput(child, /RECV .*\n/, 15000);
    const port = s.address().port;
    expect(out).to.match(new RegExp(`RECV 6000 from salamander\\.\\.\\.\\.! 192\\.0\\.2\\.2 ${port}`));
    const [m, r] = await got;
    expect([m.toString(), r.address, r.port]).to.deep.equal(['ack', '192.0.2.1', 7001]);
    s.close();
  });

  it('a datagram from Linux to a closed port gets ICMP Port Unreachable (ECONNREFUSED in Python)', async () => {
    const child = py(`
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(('192.0.2.2', 7999))
s.settimeout(1.0)
for i in range(10):
    try:
        s.send(b'is anyone there')
        s.recv(100)
        print('UNEXPECTED REPLY')
        break
    except ConnectionRefusedError:
        print('ECONNREFUSED')
        break
    except socket.timeout:
        pass
`);
    const out = await waitOutput(child, /(ECONNREFUSED|UNEXPECTED)/, 20000);
    expect(out).to.match(/ECONNREFUSED/);
    await waitExit(child, 5000);
    expect(stack!.supervisor.counters('udp')['icmp.tx.port-unreachable']).to.be.greaterThan(0);
  });

  it('a connected Salamander socket gets ECONNREFUSED from a closed Linux port', async () => {
    const s = stack!.dgram.createSocket('udp4');
    await new Promise<void>((r) => s.connect(7998, '192.0.2.1', r));
    // Linux rate-limits ICMP errors: send again after each try's deadline.
    let e: NodeJS.ErrnoException | null = null;
    for (let i = 0; i < 10 && !e; i++) {
      const errP = once<[NodeJS.ErrnoException]>(s, 'error', 1000);
      s.send('knock');
      e = await errP.then((x) => x[0], () => null);
    }
    expect(e?.code).to.equal('ECONNREFUSED');
    s.close();
  });
});
