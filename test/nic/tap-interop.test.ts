// Interop with the Linux stack over a real TAP device (root only; skips with a message
// otherwise, and when /dev/net/tun is missing). A NIC actor, run by the supervisor in its own
// worker, creates the TAP in the root namespace; the test moves it into a namespace it owns
// (the fd stays valid), gives the Linux side 192.0.2.1/24 and a static neighbour entry for
// Salamander's 192.0.2.2, and drives ping and tcpdump there. A test actor (echo-actor.ts)
// answers ICMP echo and ARP in place of the IP layer. Then the NIC actor is killed mid-stream
// with every fault kind and must come back on the same device, removed (the device goes away
// with its fd) and added again.

import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Supervisor } from '../../supervisor/supervisor';
import { ActorSpec, FAULT_KINDS, LinkSpec } from '../../base/types';
import { readPcap } from '../../protocol/pcap';
import { formatMac } from '../../actors/nic/link';
import { Netns, tapTestsSkipReason, uniq, delLinkIfAny, waitOutput, waitExit, hasTool } from './netns';
import { waitFor } from '../util';

const SAL_MAC = '02:00:5e:10:00:02';
const SAL_IP = '192.0.2.2';
const LINUX_CIDR = '192.0.2.1/24';
const ECHO = path.join(__dirname, 'echo-actor.js');

describe('nic tap interop with Linux (root)', function () {
  this.timeout(120000);
  const skip = tapTestsSkipReason();
  let ns: Netns;
  let sup: Supervisor;
  let dev: string;
  let tmp: string;

  const nicSpec = (): ActorSpec => ({
    name: 'nic:t',
    kind: 'nic',
    config: { link: { type: 'tap', name: dev }, mac: SAL_MAC },
    shared: { nic: 64 },
    bellEventfd: true,
    maxOldGenerationSizeMb: 64,
    restart: { intensity: 20, periodMs: 60000, backoffMs: [0] },
  });
  const links: LinkSpec[] = [
    { from: 'nic:t.rx', to: 'echo.in' },
    { from: 'echo.out', to: 'nic:t.tx' },
  ];
  const counter = (actor: string, name: string): number => sup.counters(actor)[name] ?? 0;

  /** Moves the device the NIC actor created into the namespace and configures Linux's side. */
  function plugIntoNamespace(): void {
    ns.adopt(dev, LINUX_CIDR);
    ns.mustExec(['ip', 'neigh', 'replace', SAL_IP, 'lladdr', SAL_MAC, 'dev', dev]);
  }

  before(async function () {
    if (skip) {
      console.log(`      skipping TAP interop tests: ${skip}`);
      this.skip();
    }
    if (!hasTool('ping', ['-V']) || !hasTool('tcpdump', ['--version'])) {
      console.log('      skipping TAP interop tests: needs ping and tcpdump (apt-get install iputils-ping tcpdump)');
      this.skip();
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'salnic-io-'));
    ns = new Netns('io').add();
    dev = `salio${uniq()}`;
    sup = new Supervisor({ spares: 1 });
    await sup.start({
      actors: [nicSpec(), { name: 'echo', kind: ECHO, config: { ip: SAL_IP, mac: SAL_MAC } }],
      links,
    });
    plugIntoNamespace();
  });

  after(async () => {
    await sup?.stop();
    if (dev) delLinkIfAny(dev);
    ns?.del();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('Linux pings Salamander: requests are read, replies appear in tcpdump, and a capture records both', async () => {
    const dump = path.join(tmp, 'linux.pcap');
    const ours = path.join(tmp, 'nic.pcap');
    await sup.control('nic:t', 'pcap', { path: ours });
    const td = ns.spawn(['tcpdump', '-i', dev, '-Q', 'in', '-n', '-U', '-w', dump, '-c', '3', 'icmp']);
    try {
      await waitOutput(td, /listening on/, 10000);
      const ping = ns.spawn(['ping', '-c', '3', '-i', '0.2', '-W', '2', SAL_IP]);
      let out = '';
      ping.stdout!.on('data', (d) => (out += d));
      expect(await waitExit(ping, 15000), out).to.equal(0);
      expect(out).to.match(/3 received/);
      expect(await waitExit(td, 5000)).to.equal(0);
    } finally {
      td.kill();
    }
    const r = readPcap(new Uint8Array(fs.readFileSync(dump)));
    expect(r.ok).to.equal(true);
    if (!r.ok) return;
    expect(r.value.records).to.have.length(3);
    for (const rec of r.value.records) {
      expect(formatMac(rec.data.subarray(6, 12))).to.equal(SAL_MAC); // from Salamander
      expect(rec.data[14 + 20]).to.equal(0); // ICMP echo reply
    }
    expect(counter('nic:t', 'link.rx.frames')).to.be.at.least(3);
    expect(counter('nic:t', 'link.tx.frames')).to.be.at.least(3);
    expect(counter('echo', 'echoed')).to.be.at.least(3);
    expect(counter('nic:t', 'nic.sleep.eventfd')).to.equal(1); // sleeps in poll() on the TAP and its bell eventfd
    await sup.control('nic:t', 'pcap', { path: null });
    const mine = readPcap(new Uint8Array(fs.readFileSync(ours)));
    expect(mine.ok && mine.value.records.length).to.be.at.least(6);
    if (spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0) {
      const ts = spawnSync('tshark', ['-r', ours], { encoding: 'utf8', timeout: 20000 });
      expect(ts.status, ts.stderr).to.equal(0);
      expect(ts.stdout).to.match(/Echo \(ping\) request/).and.to.match(/Echo \(ping\) reply/);
    }
  });

  it('Linux resolves Salamander over ARP', async () => {
    ns.mustExec(['ip', 'neigh', 'del', SAL_IP, 'dev', dev]);
    const ping = ns.spawn(['ping', '-c', '1', '-W', '2', SAL_IP]);
    expect(await waitExit(ping, 10000)).to.equal(0);
    expect(counter('echo', 'arp')).to.be.at.least(1);
    expect(ns.mustExec(['ip', 'neigh', 'show', SAL_IP, 'dev', dev])).to.include(SAL_MAC);
    ns.mustExec(['ip', 'neigh', 'replace', SAL_IP, 'lladdr', SAL_MAC, 'dev', dev]);
  });

  it('the NIC actor killed mid-stream by every fault kind restarts on the same device and traffic resumes', async () => {
    const ifindex = JSON.parse(ns.mustExec(['ip', '-j', 'link', 'show', dev]))[0].ifindex;
    const adoptedBefore = counter('nic:t', 'nic.tap.adopt.shared');
    for (const kind of FAULT_KINDS) {
      // A steady stream: 100 pings/s for at most 20 s.
      const ping = ns.spawn(['ping', '-i', '0.01', '-c', '2000', '-W', '1', SAL_IP]);
      try {
        const e0 = counter('echo', 'echoed');
        await waitFor(() => counter('echo', 'echoed') >= e0 + 10, 10000, `echo replies before ${kind}`);
        const restarted = sup.waitRestarted('nic:t', 20000);
        await sup.inject('nic:t', kind);
        await restarted;
        const e1 = counter('echo', 'echoed');
        await waitFor(() => counter('echo', 'echoed') >= e1 + 10, 10000, `echo replies after ${kind}`);
      } finally {
        ping.kill('SIGINT');
        await waitExit(ping, 5000);
      }
    }
    // Every new incarnation re-adopted the descriptor; the device was never recreated.
    expect(counter('nic:t', 'nic.tap.adopt.shared') - adoptedBefore).to.equal(FAULT_KINDS.length);
    expect(counter('nic:t', 'nic.tap.adopt.opened')).to.equal(1);
    expect(JSON.parse(ns.mustExec(['ip', '-j', 'link', 'show', dev]))[0].ifindex).to.equal(ifindex);
  });

  it('removing the NIC actor releases the device; adding it back creates it again', async () => {
    await sup.removeActor('nic:t');
    await waitFor(() => !ns.linkExists(dev), 5000, 'the TAP device to disappear with its fd');
    await sup.addActor(nicSpec(), links);
    plugIntoNamespace();
    const ping = ns.spawn(['ping', '-c', '2', '-i', '0.2', '-W', '2', SAL_IP]);
    expect(await waitExit(ping, 10000)).to.equal(0);
  });
});
