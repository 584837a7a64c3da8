// Helpers for the IP interop tests against the Linux kernel: network namespaces named `salip-*`
// (deleted by the tests' after()), `salamander up` started with the real CLI, `ctl --json
// status`, and scapy scripts run with /usr/bin/python3 inside a namespace. Every command is
// bounded in time.

import * as path from 'node:path';
import * as os from 'node:os';
import * as fs from 'node:fs';
import { spawn, spawnSync, ChildProcess } from 'node:child_process';
import { Netns, must, run, tapTestsSkipReason, uniq, waitExit, waitOutput, delLinkIfAny } from '../nic/netns';

export const BIN = path.join(__dirname, '..', '..', '..', 'bin', 'salamander.js');

export function interopSkipReason(): string | null {
  const r = tapTestsSkipReason();
  if (r) return r;
  if (spawnSync('/usr/bin/python3', ['-c', 'import scapy.all'], { stdio: 'ignore', timeout: 20000 }).status !== 0) return 'python3-scapy is not installed';
  return null;
}

/** A network namespace of the test's own (name prefix `salip-`). */
export class IpNetns extends Netns {
  constructor(tag: string) {
    super(tag, 'salip');
  }

  /** Moves a TAP of the root namespace in, with IPv6 on (no DAD delays for our test
   *  addresses), addresses, up. */
  override adopt(dev: string, cidrs: string[] | string = []): void {
    if (typeof cidrs === 'string') cidrs = [cidrs];
    must('ip', ['link', 'set', dev, 'netns', this.name]);
    this.exec(['sysctl', '-qw', `net.ipv6.conf.${dev}.accept_dad=0`]);
    this.exec(['sysctl', '-qw', `net.ipv6.conf.${dev}.accept_ra=0`]);
    for (const c of cidrs) must('ip', ['-n', this.name, 'addr', 'add', c, 'dev', dev, ...(c.includes(':') ? ['nodad'] : [])]);
    must('ip', ['-n', this.name, 'link', 'set', dev, 'up']);
  }

  /** Runs a Python (scapy) script in the namespace; the script gets argv. */
  python(script: string, args: string[], timeoutMs = 30000): { status: number | null; stdout: string; stderr: string } {
    const f = path.join(os.tmpdir(), `salip-${uniq()}.py`);
    fs.writeFileSync(f, script);
    try {
      return this.exec(['/usr/bin/python3', f, ...args], timeoutMs);
    } finally {
      fs.unlinkSync(f);
    }
  }

}

export interface Daemon {
  child: ChildProcess;
  control: string;
  ready: { links: Array<{ name: string; device: string; mac: string }> };
  stderr: string[];
}

/** Starts `salamander up` with these arguments and waits for the ready line. */
export async function startUp(args: string[]): Promise<Daemon> {
  const control = path.join(os.tmpdir(), `salip-${uniq()}.sock`);
  const child = spawn(process.execPath, [BIN, 'up', ...args, '--control', control], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('error', () => undefined); // a killed child's pipe may end with ECONNRESET
  child.stderr.on('error', () => undefined);
  const stderr: string[] = [];
  child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
  const line = await waitOutput(child, /"event":"ready".*\n/, 20000);
  const ready = JSON.parse(line.slice(line.indexOf('{')).split('\n')[0]);
  return { child, control, ready, stderr };
}

export async function stopUp(d: Daemon | null): Promise<void> {
  if (!d) return;
  if (d.child.exitCode === null && d.child.signalCode === null) {
    d.child.kill('SIGTERM');
    const code = await waitExit(d.child, 5000);
    if (code === null && d.child.exitCode === null) d.child.kill('SIGKILL');
  }
  try {
    fs.unlinkSync(d.control);
  } catch {
    /* gone */
  }
}

export function ctl(d: Daemon, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, 'ctl', '--control', d.control, '--json', ...args], { encoding: 'utf8', timeout: 15000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `ctl --json status` parsed. */
export function status(d: Daemon): Record<string, any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const r = ctl(d, 'status');
  if (r.status !== 0) throw new Error(`ctl status failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** The IP actor's counters from status. */
export function ipCounters(d: Daemon): Record<string, number> {
  return (status(d).ip?.counters ?? {}) as Record<string, number>;
}

/** Polls `cond` every 100 ms up to `timeoutMs` (for state that changes in the daemon). */
export async function until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (cond()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export { delLinkIfAny, uniq, run };
