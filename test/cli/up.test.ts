// `salamander up` and `salamander ctl` end to end: bad arguments exit 2 with nothing started;
// as root, a real TAP device in a namespace of the test's own with a Linux peer at
// 192.0.2.1/24: ping works, and live reconfiguration through `ctl` (address add/remove, link
// down/up, route add/remove, a second TAP link added and removed, the IP actor killed) takes
// effect while the stack runs; SIGTERM stops it cleanly with exit code 0.

import { expect } from 'chai';
import * as path from 'node:path';
import * as os from 'node:os';
import { spawn, spawnSync, ChildProcess } from 'node:child_process';
import { Netns, quietPipes, tapTestsSkipReason, uniq, waitOutput, waitExit, delLinkIfAny, run } from '../nic/netns';

const BIN = path.join(__dirname, '..', '..', '..', 'bin', 'salamander.js');

function cli(args: string[], timeoutMs = 15000): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('salamander CLI: bad arguments', () => {
  const cases: Array<[string[], RegExp]> = [
    [['up'], /nothing to run/],
    [['up', '--tap'], /--tap needs a value/],
    [['up', '--bogus'], /unknown option --bogus/],
    [['up', '--tap', 'a', '--addr', 'b=192.0.2.2/24'], /no link "b"/],
    [['up', '--tap', 'a', '--addr', 'a=192.0.2.999/24'], /is not a CIDR/],
    [['up', '--tap', 'a', '--route', 'default'], /expected DEST=GATEWAY/],
    [['up', '--tap', 'a', '--route', '10.0.0.0/33=192.0.2.1'], /routes\[0\]\.dest/],
    [['up', '--config', '/nonexistent/salamander.json'], /cannot read config file/],
    [['up', '--tap', 'this-name-is-too-long'], /not a valid interface name/],
    [['ctl'], /ctl needs a command/],
    [['ctl', 'explode'], /unknown ctl command/],
    [['frobnicate'], /unknown command "frobnicate"/],
  ];
  for (const [args, msg] of cases) {
    it(`exits 2 with a clear message: salamander ${args.join(' ')}`, () => {
      const r = cli(args);
      expect(r.status, r.stderr).to.equal(2);
      expect(r.stderr).to.match(msg);
      expect(r.stdout).to.not.match(/"event":"ready"/);
    });
  }

  it('prints help', () => {
    const r = cli(['--help']);
    expect(r.status).to.equal(0);
    expect(r.stdout).to.match(/salamander up \[--config FILE\] \[--tap NAME\]/);
    expect(r.stdout).to.match(/fault inject ACTOR KIND/);
  });

  it('ctl reports an unreachable daemon clearly', () => {
    const r = cli(['ctl', '--control', path.join(os.tmpdir(), `no-salamander-${uniq()}.sock`), 'status']);
    expect(r.status).to.equal(1);
    expect(r.stderr).to.match(/cannot reach salamander/);
  });
});

describe('salamander up + ctl against Linux (TAP, own namespace)', function () {
  this.timeout(120000);
  const skip = tapTestsSkipReason();
  const ns = new Netns('up');
  const dev = `salu${uniq()}`.slice(0, 15);
  const dev2 = `salv${uniq()}`.slice(0, 15);
  const control = path.join(os.tmpdir(), `salamander-test-${uniq()}.sock`);
  let up: ChildProcess | null = null;

  const ctl = (...args: string[]): { status: number | null; stdout: string; stderr: string } => cli(['ctl', '--control', control, '--json', ...args]);
  /** Pings until one reply or `tries` attempts (each bounded to 1 s). */
  const pingOk = (addr: string, tries = 3): boolean => {
    for (let i = 0; i < tries; i++) if (ns.exec(['ping', '-c', '1', '-W', '1', addr], 5000).status === 0) return true;
    return false;
  };

  before(async function () {
    if (skip) {
      console.log(`      skipped: ${skip}`);
      this.skip();
    }
    ns.add();
    up = quietPipes(spawn(process.execPath, [BIN, 'up', '--tap', dev, '--addr', `${dev}=192.0.2.2/24`, '--control', control], { stdio: ['ignore', 'pipe', 'pipe'] }));
    const line = await waitOutput(up, /"event":"ready".*\n/, 20000);
    const ready = JSON.parse(line.slice(line.indexOf('{')).split('\n')[0]);
    expect(ready.links[0].device).to.equal(dev);
    ns.adopt(dev, '192.0.2.1/24');
  });

  after(async () => {
    if (up && up.exitCode === null) {
      up.kill('SIGKILL');
      await waitExit(up, 5000);
    }
    ns.del();
    delLinkIfAny(dev);
    delLinkIfAny(dev2);
  });

  it('answers ping from Linux, small and fragmented', () => {
    expect(pingOk('192.0.2.2')).to.equal(true);
    expect(ns.exec(['ping', '-c', '1', '-W', '2', '-s', '8000', '192.0.2.2'], 5000).status).to.equal(0);
  });

  it('adds and removes an address live', () => {
    expect(pingOk('192.0.2.3', 1)).to.equal(false);
    expect(ctl('addr', 'add', dev, '192.0.2.3/24').status).to.equal(0);
    expect(pingOk('192.0.2.3')).to.equal(true);
    expect(ctl('addr', 'del', dev, '192.0.2.3/24').status).to.equal(0);
    ns.exec(['ip', 'neigh', 'flush', 'dev', dev]);
    expect(pingOk('192.0.2.3', 1)).to.equal(false);
    expect(pingOk('192.0.2.2')).to.equal(true);
  });

  it('sets the link down (pings fail) and up (pings resume)', () => {
    expect(ctl('link', 'set', dev, 'down').status).to.equal(0);
    expect(pingOk('192.0.2.2', 1)).to.equal(false);
    expect(ctl('link', 'set', dev, 'up').status).to.equal(0);
    expect(pingOk('192.0.2.2', 5)).to.equal(true);
  });

  it('adds and removes a route live', () => {
    expect(ctl('route', 'add', '198.51.100.0/24', '192.0.2.1', 'metric', '5').status).to.equal(0);
    const st = JSON.parse(ctl('status').stdout);
    expect(st.ip.routes.v4.map((r: { dest: string }) => r.dest)).to.include('198.51.100.0/24');
    expect(ctl('route', 'del', '198.51.100.0/24', '192.0.2.1').status).to.equal(0);
    const st2 = JSON.parse(ctl('status').stdout);
    expect(st2.ip.routes.v4.map((r: { dest: string }) => r.dest)).to.not.include('198.51.100.0/24');
    const bad = ctl('route', 'add', '203.0.113.0/24', '10.9.9.9');
    expect(bad.status).to.equal(1);
    expect(bad.stderr).to.match(/not on a connected subnet/);
  });

  it('adds and removes a second TAP link live', () => {
    expect(ctl('link', 'add', 'tap', dev2).status).to.equal(0);
    expect(run('ip', ['link', 'show', dev2]).status).to.equal(0);
    const st = JSON.parse(ctl('status').stdout);
    expect(st.links.map((l: { name: string }) => l.name)).to.deep.equal([dev, dev2]);
    expect(pingOk('192.0.2.2')).to.equal(true);
    expect(ctl('link', 'del', dev2).status).to.equal(0);
    expect(run('ip', ['link', 'show', dev2]).status).to.not.equal(0);
    expect(pingOk('192.0.2.2')).to.equal(true);
  });

  it('keeps answering after the IP actor and the NIC actor are killed', () => {
    expect(ctl('fault', 'inject', 'ip', 'exit').status).to.equal(0);
    expect(pingOk('192.0.2.2', 5)).to.equal(true);
    expect(ctl('fault', 'inject', `nic:${dev}`, 'terminate').status).to.equal(0);
    expect(pingOk('192.0.2.2', 5)).to.equal(true);
    const actors = JSON.parse(ctl('actors').stdout) as Array<{ name: string; restarts: number }>;
    expect(actors.find((a) => a.name === 'ip')!.restarts).to.be.at.least(1);
  });

  it('stops cleanly on SIGTERM with exit code 0', async () => {
    up!.kill('SIGTERM');
    expect(await waitExit(up!, 15000)).to.equal(0);
  });
});
