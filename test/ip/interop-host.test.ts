// IP interop against the Linux kernel, host mode: `salamander up` on a TAP moved into a namespace
// of the test's own (salip-*), Linux at 192.0.2.1/24 and 2001:db8:1::1/64.
// - ping with 56, 1472, 8000 and 65000 bytes (fragmented both ways), payload pattern checked;
// - ping -6 to Salamander's link-local address and to its SLAAC address;
// - arping and ndisc6 answered;
// - DAD and SLAAC from a scapy-sent Router Advertisement (prefix 2001:db8:1::/64, A flag): the
//   SLAAC address shows in `ctl status` and Linux pings it; a prefix whose SLAAC address Linux
//   already holds makes Salamander's DAD fail ('duplicated');
// - malformed traffic from scapy (bad checksums, bad lengths, overlapping fragments in both
//   families, a bounded fragment flood): dropped and counted, reassembly memory within its
//   limit, and Salamander keeps answering ping.
// Needs root (TAP, namespaces) and python3-scapy; skips with a message otherwise.

import { expect } from 'chai';
import { formatIpv6, ipv6LinkLocalFromMac, parseMac, eui64FromMac } from '../../protocol/address';
import { IpNetns, Daemon, interopSkipReason, startUp, stopUp, status, ipCounters, until, delLinkIfAny, uniq } from './interop';

const RA_SCRIPT = `
import sys
from scapy.all import Ether, IPv6, ICMPv6ND_RA, ICMPv6NDOptPrefixInfo, ICMPv6NDOptSrcLLAddr, sendp, get_if_hwaddr
dev, prefix = sys.argv[1], sys.argv[2]
mac = get_if_hwaddr(dev)
ll = 'fe80::' + mac.replace(':', '')[6:8] + 'ff:fe' + mac.replace(':', '')[6:8]
p = (Ether(src=mac, dst='33:33:00:00:00:01') / IPv6(src='fe80::1', dst='ff02::1', hlim=255) /
     ICMPv6ND_RA(routerlifetime=0) /
     ICMPv6NDOptPrefixInfo(prefix=prefix, prefixlen=64, L=1, A=1, validlifetime=600, preferredlifetime=300) /
     ICMPv6NDOptSrcLLAddr(lladdr=mac))
sendp(p, iface=dev, verbose=False)
print('sent')
`;

/** Malformed traffic: raw frames built with scapy, sent through an AF_PACKET socket. The
 *  fragment flood is bounded to 20,000 frames and 10 seconds. */
const MALFORMED_SCRIPT = `
import sys, time, socket, struct
from scapy.all import Ether, IP, IPv6, ICMP, UDP, IPv6ExtHdrFragment, ICMPv6EchoRequest, raw, get_if_hwaddr
dev, dmac, dst4, dst6, src6 = sys.argv[1:6]
smac = get_if_hwaddr(dev)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((dev, 0))
E = Ether(src=smac, dst=dmac)
sent = {}
def send(name, frames):
    for f in frames:
        s.send(f)
    sent[name] = sent.get(name, 0) + len(frames)
ok = raw(E / IP(src='192.0.2.1', dst=dst4) / ICMP(id=7, seq=1) / (b'x' * 32))
# bad IPv4 header checksum
f = bytearray(ok); f[24] ^= 0x55; send('bad-checksum', [bytes(f)] * 5)
# bad lengths: Total Length past the frame; IHL 4; IHL past Total Length
f = bytearray(ok); f[16:18] = struct.pack('!H', 1400)
f[24:26] = b'\\0\\0'; c = 0
for i in range(14, 34, 2): c += (f[i] << 8) | f[i + 1]
while c >> 16: c = (c & 0xffff) + (c >> 16)
f[24:26] = struct.pack('!H', (~c) & 0xffff); send('bad-length', [bytes(f)] * 5)
f = bytearray(ok); f[14] = 0x44; send('bad-ihl', [bytes(f)] * 5)
# bad UDP checksum and bad ICMP checksum (dropped by the upper layers)
f = bytearray(ok); f[36] ^= 0xff; send('bad-icmp-checksum', [bytes(f)] * 5)
# IPv6 payload length past the frame
f = bytearray(raw(Ether(src=smac, dst=dmac) / IPv6(src=src6, dst=dst6) / ICMPv6EchoRequest(data=b'y' * 16)))
f[18:20] = struct.pack('!H', 1000); send('bad-length6', [bytes(f)] * 5)
# overlapping IPv4 fragments
base = IP(src='192.0.2.1', dst=dst4, id=4242, proto=1)
send('overlap4', [raw(E / IP(src='192.0.2.1', dst=dst4, id=4242, proto=1, flags='MF', frag=0) / (b'\\x08\\0\\0\\0\\0\\0\\0\\0' + b'a' * 24)),
                  raw(E / IP(src='192.0.2.1', dst=dst4, id=4242, proto=1, flags='MF', frag=2) / (b'b' * 32)),
                  raw(E / IP(src='192.0.2.1', dst=dst4, id=4242, proto=1, frag=4) / (b'c' * 16))])
# overlapping IPv6 fragments
send('overlap6', [raw(E / IPv6(src=src6, dst=dst6) / IPv6ExtHdrFragment(id=99, m=1, offset=0, nh=58) / (b'\\x80\\0\\0\\0\\0\\0\\0\\0' + b'a' * 24)),
                  raw(E / IPv6(src=src6, dst=dst6) / IPv6ExtHdrFragment(id=99, m=1, offset=2, nh=58) / (b'b' * 32)),
                  raw(E / IPv6(src=src6, dst=dst6) / IPv6ExtHdrFragment(id=99, m=0, offset=4, nh=58) / (b'c' * 16))])
# fragment flood: first fragments of distinct datagrams (never completed), both families
t4 = bytearray(raw(E / IP(src='192.0.2.1', dst=dst4, id=1, proto=17, flags='MF', frag=0) / (b'z' * 1024)))
t6 = bytearray(raw(E / IPv6(src=src6, dst=dst6) / IPv6ExtHdrFragment(id=1, m=1, offset=0, nh=17) / (b'z' * 1024)))
deadline = time.time() + 10
n = 0
while n < 20000 and time.time() < deadline:
    if n % 2 == 0:
        ident = (n >> 1) & 0xffff
        t4[18:20] = struct.pack('!H', ident)
        t4[24:26] = b'\\0\\0'; c = 0
        for i in range(14, 34, 2): c += (t4[i] << 8) | t4[i + 1]
        while c >> 16: c = (c & 0xffff) + (c >> 16)
        t4[24:26] = struct.pack('!H', (~c) & 0xffff)
        s.send(bytes(t4))
    else:
        t6[58:62] = struct.pack('!I', n)
        s.send(bytes(t6))
    n += 1
    if n % 500 == 0: time.sleep(0.005)
sent['flood'] = n
print(sent)
`;

describe('IP interop with Linux: host (TAP, own namespace)', function () {
  this.timeout(180000);
  const skip = interopSkipReason();
  const ns = new IpNetns('host');
  const dev = `salh${uniq()}`.slice(0, 15);
  let up: Daemon | null = null;
  let mac = '';
  let ll = '';

  const ping = (args: string[], timeoutMs = 15000): { ok: boolean; out: string } => {
    const r = ns.exec(['ping', ...args], timeoutMs);
    return { ok: r.status === 0 && !/wrong data|corrupted/i.test(r.stdout), out: r.stdout + r.stderr };
  };

  before(async function () {
    if (skip) {
      console.log(`      skipped: ${skip}`);
      this.skip();
    }
    ns.add();
    up = await startUp(['--tap', dev, '--addr', `${dev}=192.0.2.2/24`]);
    mac = up.ready.links[0].mac;
    ll = formatIpv6(ipv6LinkLocalFromMac(parseMac(mac)!));
    ns.adopt(dev, ['192.0.2.1/24']);
    // Salamander's link-local address passes DAD (1 s) while the link comes up.
    const ok = await until(() => (status(up!).ip.interfaces[0].addresses6 as Array<{ state: string }>).some((a) => a.state === 'preferred'), 10000);
    expect(ok, 'link-local address preferred').to.equal(true);
  });

  after(async () => {
    await stopUp(up);
    ns.del();
    delLinkIfAny(dev);
  });

  for (const size of [56, 1472, 8000, 65000]) {
    it(`answers ping -s ${size} with identical payloads (pattern checked)`, () => {
      const r = ping(['-c', '2', '-i', '0.2', '-W', '3', '-s', String(size), '-p', 'a55a0ff0c3', '192.0.2.2']);
      expect(r.ok, r.out).to.equal(true);
      expect(r.out).to.match(/2 received/);
    });
  }

  it('answers arping', () => {
    const r = ns.exec(['arping', '-c', '2', '-w', '5', '-i', dev, '192.0.2.2'], 15000);
    expect(r.status, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout.toLowerCase()).to.contain(mac.toLowerCase());
  });

  it('answers ping -6 to its link-local address, small and fragmented', () => {
    for (const size of [56, 1452, 8000]) {
      const r = ping(['-6', '-c', '2', '-i', '0.2', '-W', '3', '-s', String(size), '-p', '5aa5', `${ll}%${dev}`]);
      expect(r.ok, `${size}: ${r.out}`).to.equal(true);
    }
  });

  it('answers ndisc6 (Neighbor Solicitation) with its MAC', () => {
    const r = ns.exec(['ndisc6', '-1', '-r', '3', '-w', '1000', ll, dev], 15000);
    expect(r.status, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout.toLowerCase()).to.contain(mac.toLowerCase());
  });

  it('forms a SLAAC address from a Linux-sent RA (after DAD) that Linux can ping', async () => {
    const iid = Array.from(eui64FromMac(parseMac(mac)!));
    const want = formatIpv6(Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, ...iid));
    ns.mustExec(['ip', 'addr', 'add', '2001:db8:1::1/64', 'dev', dev, 'nodad']);
    const r = ns.python(RA_SCRIPT, [dev, '2001:db8:1::']);
    expect(r.status, r.stderr).to.equal(0);
    const find = (): { state: string; validSec: number } | undefined =>
      (status(up!).ip.interfaces[0].addresses6 as Array<{ address: string; state: string; validSec: number }>).find((a) => a.address === `${want}/64`);
    expect(await until(() => find()?.state === 'preferred', 10000), JSON.stringify(find())).to.equal(true);
    expect(find()!.validSec).to.be.within(590, 600);
    for (const size of [56, 3000]) {
      const p = ping(['-6', '-c', '2', '-i', '0.2', '-W', '3', '-s', String(size), '-p', '1234', want]);
      expect(p.ok, p.out).to.equal(true);
    }
    const nd = ns.exec(['ndisc6', '-1', '-r', '3', '-w', '1000', want, dev], 15000);
    expect(nd.status, nd.stdout + nd.stderr).to.equal(0);
  });

  it('detects a duplicate: the SLAAC address for a prefix Linux already uses is marked duplicated', async () => {
    const iid = Array.from(eui64FromMac(parseMac(mac)!));
    const dup = formatIpv6(Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, ...iid));
    ns.mustExec(['ip', 'addr', 'add', `${dup}/64`, 'dev', dev, 'nodad']);
    expect(ns.python(RA_SCRIPT, [dev, '2001:db8:2::']).status).to.equal(0);
    const find = (): { state: string } | undefined =>
      (status(up!).ip.interfaces[0].addresses6 as Array<{ address: string; state: string }>).find((a) => a.address === `${dup}/64`);
    expect(await until(() => find()?.state === 'duplicated', 10000), JSON.stringify(find())).to.equal(true);
    expect(ipCounters(up!)['nd.dad.conflict']).to.be.at.least(1);
  });

  it('drops and counts malformed traffic and a bounded fragment flood, keeps memory bounded and keeps answering', () => {
    const before = ipCounters(up!);
    const r = ns.python(MALFORMED_SCRIPT, [dev, mac, '192.0.2.2', ll, 'fe80::1'], 60000);
    expect(r.status, r.stderr).to.equal(0);
    const sent = r.stdout;
    expect(sent).to.match(/'flood': \d+/);
    // Salamander still answers, in both families.
    expect(ping(['-c', '2', '-i', '0.2', '-W', '3', '192.0.2.2']).ok).to.equal(true);
    expect(ping(['-6', '-c', '2', '-i', '0.2', '-W', '3', `${ll}%${dev}`]).ok).to.equal(true);
    const st = status(up!);
    const c = st.ip.counters as Record<string, number>;
    const d = (k: string): number => (c[k] ?? 0) - (before[k] ?? 0);
    expect(d('ip4.drop.checksum'), 'checksum').to.be.at.least(5);
    expect(d('ip4.drop.truncated'), 'total length').to.be.at.least(5);
    expect(d('ip4.drop.ihl'), 'ihl').to.be.at.least(5);
    expect(d('icmp4.drop.checksum'), 'icmp checksum').to.be.at.least(5);
    expect(d('ip6.drop.truncated'), 'v6 payload length').to.be.at.least(5);
    expect(d('ip4.reasm.drop.overlap'), 'v4 overlap').to.equal(1);
    expect(d('ip6.reasm.drop.overlap'), 'v6 overlap').to.equal(1);
    const flood = Number(/'flood': (\d+)/.exec(sent)![1]);
    expect(flood).to.be.at.least(1000);
    // Most of the flood reached the IP actor (the kernel's TAP queue, 1000 frames, may drop some
    // when the machine is busy: that loss is Linux's, before Salamander reads).
    expect(d('ip4.reasm.fragments') + d('ip6.reasm.fragments')).to.be.at.least(Math.floor(flood * 0.25));
    // Memory stays within the (shared) reassembly limit, and the flood was cut by the limits.
    const ra = st.ip.reassembly.v4 as { bytes: number; limit: number; inProgress: number };
    expect(ra.bytes).to.be.at.most(ra.limit);
    expect(ra.inProgress).to.be.at.most(1024);
    const limited = d('ip4.reasm.drop.source-limit') + d('ip6.reasm.drop.source-limit') + d('ip4.reasm.drop.memory-limit') + d('ip6.reasm.drop.memory-limit');
    expect(limited, JSON.stringify(ra)).to.be.greaterThan(0);
  });
});
