// Resilience contract against Linux over two TAP links (root only; skips otherwise): route failover.
// A Salamander Stack has tap0 (192.0.2.2/24) and tap1 (198.51.100.2/24); both devices sit in one
// namespace of our own (salrc-*) where the kernel has 192.0.2.1 and 198.51.100.1, and curl's
// address 203.0.113.1/32 on lo (so it survives either interface going down). The Stack reaches
// 203.0.113.0/24 via 192.0.2.1 (metric 0) or via 198.51.100.1 (metric 10, backup); the kernel
// reaches 192.0.2.0/24 directly on A or via 198.51.100.2 on B (metric 10, used while A's
// connected route is gone). curl downloads at least 32 000 000 bytes from a Node http server on
// the Stack (which streams until the changes are done, then 1 MiB more) while (1) the primary cable is "cut" (tap0 down on the Stack, A down in Linux) for 1.5 s and
// reconnected, then (2) a more specific route via tap1 is added on the Stack for 1 s and removed,
// then (3) Linux's end of tap0 goes down unannounced. The body's SHA-256 must match, frames must have crossed tap1 during both changes, and the TCP
// actor must count no reset. docs/resilience.md.
//
// While the download runs nothing here may block the event loop (the Stack's app side and the
// http server run on it): the `ip` commands are spawned asynchronously (ipAsync), never with
// spawnSync (Netns.exec/must are only used before the download starts and in after()).

import { expect } from 'chai';
import * as http from 'node:http';
import { spawn } from 'node:child_process';
import { Stack } from '../../api/stack';
import { serveHttp } from '../../api/http';
import { Netns, delLinkIfAny, hasTool, quietPipes, run, tapTestsSkipReason, uniq, waitExit } from '../nic/netns';
import { Gate, streamUntil } from '../util';

const N = 32_000_000;
const CLIENT = '203.0.113.1';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs `ip args` without blocking the event loop; resolves with its stdout, rejects on failure. */
async function ipAsync(args: string[], timeoutMs = 10000): Promise<string> {
  const child = quietPipes(spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const code = await waitExit(child, timeoutMs);
  if (code !== 0) throw new Error(`ip ${args.join(' ')} failed (${code}): ${err.trim()}`);
  return out;
}

describe('reconfig: a curl download from Linux survives route failover between two TAP links', function () {
  this.timeout(180_000);
  const skip = tapTestsSkipReason() ?? (hasTool('curl') ? null : 'curl is not installed');
  const ns = new Netns('', 'salrc'); // our own namespace prefix
  const u = uniq();
  const devA = `salrca${u}`.slice(0, 15);
  const devB = `salrcb${u}`.slice(0, 15);
  const gate = new Gate(); // opened after the last change: the download spans them all
  let sent: Promise<{ bytes: number; sha: string }> | null = null;
  let stack: Stack | null = null;
  let server: http.Server | null = null;

  before(async function () {
    if (skip) {
      console.log(`      skipped: ${skip}`); // eslint-disable-line no-console
      this.skip();
    }
    ns.add();
    stack = new Stack({
      name: 'rcfo',
      links: [
        { name: 'tap0', type: 'tap', device: devA, addresses: ['192.0.2.2/24'] },
        { name: 'tap1', type: 'tap', device: devB, addresses: ['198.51.100.2/24'] },
      ],
      routes: [
        { dest: '203.0.113.0/24', gateway: '192.0.2.1' },
        { dest: '203.0.113.0/24', gateway: '198.51.100.1', metric: 10 },
      ],
      supervisor: { spares: 1 },
    });
    await stack.start();
    ns.adopt(devA, '192.0.2.1/24');
    ns.adopt(devB, '198.51.100.1/24');
    // Replies from 192.0.2.2 arrive on B while the kernel's route back to 192.0.2.2 is on A: no
    // reverse-path filtering (the effective value is the max of `all` and the device's).
    for (const c of ['all', 'default', devA, devB]) ns.mustExec(['sysctl', '-qw', `net.ipv4.conf.${c}.rp_filter=0`]);
    ns.mustExec(['ip', 'addr', 'add', `${CLIENT}/32`, 'dev', 'lo']);
    ns.mustExec(['ip', 'route', 'add', '192.0.2.0/24', 'via', '198.51.100.2', 'dev', devB, 'metric', '10']);
    // Streams until the test's changes are done (then 1 MiB more), whatever curl's pace.
    server = http.createServer((req, res) => {
      res.writeHead(200);
      sent = streamUntil(res, gate, N);
    });
    await serveHttp(stack.net, server, 80, '192.0.2.2');
  });

  after(async () => {
    gate.open();
    server?.closeAllConnections();
    await stack?.stop();
    if (!skip) {
      // A failed assertion leaves curl running: end what runs in our namespace (curl, sh, sha256sum).
      for (const pid of run('ip', ['netns', 'pids', ns.name]).stdout.split(/\s+/).filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already gone
        }
      }
      ns.del();
      delLinkIfAny(devA);
      delLinkIfAny(devB);
    }
  });

  it('32 MB arrive intact across a 1.5 s primary-link outage (both ends), a 1 s more specific route via tap1, and a 1.5 s carrier loss the Stack detects itself (its TAP NIC restarted meanwhile)', async () => {
    const s = stack!;
    const nic = (link: string, dir: 'tx' | 'rx'): number => Number((s.supervisor.counters(`nic:${link}`) as Record<string, number>)[`nic.${dir}.frames`] ?? 0);
    const txFrames = (link: string): number => nic(link, 'tx');
    /** The kernel's route to the Stack's server address, from curl's address. */
    const kernelRoute = async (): Promise<{ dev?: string; gateway?: string }> =>
      (JSON.parse(await ipAsync(['-n', ns.name, '-j', 'route', 'get', '192.0.2.2', 'from', CLIENT])) as Array<{ dev?: string; gateway?: string }>)[0];
    expect(await kernelRoute(), 'kernel route before').to.deep.include({ dev: devA });

    // Rate-limited so the changes fall while data flows; the server streams until they are done.
    const child = ns.spawn(['sh', '-c', `curl -sS --max-time 150 --limit-rate 4M --interface ${CLIENT} http://192.0.2.2/bytes?n=${N} | sha256sum`]);
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const t0 = Date.now();
    const exited = waitExit(child, 170_000);
    const running = (what: string): void => {
      expect(child.exitCode, `curl still running before ${what} (stderr: ${err.trim()})`).to.equal(null);
    };
    await sleep(1000);

    // (1) Cable cut on the primary: both ends down; the backup routes carry the traffic over tap1/B.
    running('the outage');
    let tx1 = txFrames('tap1');
    const rx1 = nic('tap1', 'rx');
    await s.setLinkState('tap0', false);
    await ipAsync(['-n', ns.name, 'link', 'set', devA, 'down']);
    await sleep(1500);
    const outageFrames = txFrames('tap1') - tx1;
    const outageAcks = nic('tap1', 'rx') - rx1;
    expect(await kernelRoute(), 'kernel route during the outage').to.deep.include({ dev: devB, gateway: '198.51.100.2' });
    // Reconnected, the Stack's end first: its announcement and ARP request then go into a
    // device that is still down (EIO). Since the TAP NIC takes that for a lost carrier and
    // probes every 20 ms, the interface comes back in IP (announcing again) as soon as Linux's
    // end is up, instead of waiting for ARP's 1 s retransmission. Linux keeps A's IPv4
    // address across down/up and puts its connected route back on up (checked below).
    await s.setLinkState('tap0', true);
    await sleep(100);
    await ipAsync(['-n', ns.name, 'link', 'set', devA, 'up']);
    expect(await kernelRoute(), 'kernel route after reconnecting').to.deep.include({ dev: devA });
    expect(outageFrames, 'frames the Stack sent on tap1 during the outage').to.be.greaterThan(100);
    // ... and Linux answered over B (its ACKs: the data was accepted there, not just sent).
    expect(outageAcks, 'frames the Stack received on tap1 during the outage').to.be.greaterThan(20);
    const tx0 = txFrames('tap0');
    await sleep(1000);
    const backFrames = txFrames('tap0') - tx0;
    expect(backFrames, 'frames back on tap0 after reconnecting').to.be.greaterThan(100);

    // (2) Failover by route: a more specific route to curl's address via tap1, for 1 s.
    running('the route change');
    tx1 = txFrames('tap1');
    await s.addRoute({ dest: `${CLIENT}/32`, gateway: '198.51.100.1' });
    await sleep(1000);
    await s.removeRoute({ dest: `${CLIENT}/32` });
    const routeFrames = txFrames('tap1') - tx1;
    expect(routeFrames, 'frames the Stack sent on tap1 via the /32 route').to.be.greaterThan(100);

    // (3) Only Linux's end goes down; the Stack is told nothing. Its next write to tap0 fails
    // (EIO): the TAP NIC reports a lost carrier, IP takes tap0 down and the backup route via
    // tap1 carries the traffic; a probe finds A up again (within CARRIER_PROBE_MS) and tap0
    // is back in use without any call.
    running('the carrier loss');
    const carrier: boolean[] = [];
    const onLink = (e: { link: string; carrier?: boolean }): void => {
      // Changes only (a restarted NIC reports its state again).
      if (e.link === 'tap0' && e.carrier !== undefined && carrier[carrier.length - 1] !== e.carrier) carrier.push(e.carrier);
    };
    s.on('link', onLink);
    tx1 = txFrames('tap1');
    await ipAsync(['-n', ns.name, 'link', 'set', devA, 'down']);
    await sleep(600);
    // The TAP NIC restarts meanwhile: its next incarnation starts without carrier (recorded in
    // its shared region) instead of sending into the down device.
    const restarted = s.supervisor.waitRestarted('nic:tap0', 10_000);
    await s.inject('nic:tap0', 'terminate');
    await restarted;
    await sleep(900);
    const carrierFrames = txFrames('tap1') - tx1;
    const lostSeen = carrier.slice();
    await ipAsync(['-n', ns.name, 'link', 'set', devA, 'up']);
    const tx0b = txFrames('tap0');
    await sleep(700);
    const afterCarrier = txFrames('tap0') - tx0b;
    s.off('link', onLink);
    gate.open();
    expect(lostSeen, 'carrier events while A was down').to.deep.equal([false]);
    expect(carrier, 'carrier events').to.deep.equal([false, true]);
    expect(carrierFrames, 'frames the Stack sent on tap1 without being told').to.be.greaterThan(100);
    expect(afterCarrier, 'frames back on tap0 once A is up').to.be.greaterThan(50);

    const code = await exited;
    const ms = Date.now() - t0;
    expect(code, err).to.equal(0);
    expect(sent, 'the request reached the server').to.not.equal(null);
    const body = await sent!;
    expect(body.bytes).to.be.at.least(N);
    expect(out.split(' ')[0], 'sha256 of the body').to.equal(body.sha);
    const c = s.supervisor.counters('tcp') as Record<string, number>;
    // Neither a reset received (tcp.reset) nor one sent (tcp.rst-sent), nor an abort for a lost address.
    expect((c['tcp.reset'] ?? 0) + (c['tcp.rst-sent'] ?? 0) + (c['tcp.address-gone-abort'] ?? 0), 'resets').to.equal(0);
    console.log(`      download of ${body.bytes} bytes ${ms} ms; tap1 frames: ${outageFrames} sent, ${outageAcks} received (outage); tap0: ${backFrames} sent in the 1 s after; tap1: ${routeFrames} sent (route); carrier loss: tap1 ${carrierFrames} sent, tap0 ${afterCarrier} sent in the 0.7 s after`); // eslint-disable-line no-console
  });
});
