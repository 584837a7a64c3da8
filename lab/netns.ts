// Helpers for the tests and the fault campaign that need root: a throwaway network namespace (name prefix
// "salnic-"), commands run inside it, and the checks that decide whether such tests can run.
// Every command is bounded in time; every namespace made here is deleted by its owner's after().

import * as fs from 'node:fs';
import { spawnSync, spawn, ChildProcess } from 'node:child_process';

export function tapTestsSkipReason(): string | null {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'needs root (TAP devices and network namespaces)';
  if (!fs.existsSync('/dev/net/tun')) return '/dev/net/tun is missing (modprobe tun)';
  if (spawnSync('ip', ['-V'], { stdio: 'ignore' }).status !== 0) return 'iproute2 (ip) is not installed';
  return null;
}

export function hasTool(cmd: string, args = ['--version']): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 5000 });
  return r.status === 0 || (r.status !== null && r.error === undefined);
}

/** A short unique suffix for names (interface names are at most 15 characters). */
export function uniq(): string {
  return `${(process.pid % 10000).toString(36)}${Math.floor(Math.random() * 36 ** 3).toString(36)}`;
}

export function run(cmd: string, args: string[], timeoutMs = 10000): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export function must(cmd: string, args: string[], timeoutMs = 10000): string {
  const r = run(cmd, args, timeoutMs);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.trim()}`);
  return r.stdout;
}

export class Netns {
  readonly name: string;
  protected created = false;

  /** The name is `${prefix}-${tag}-<unique>` (`prefix-<unique>` without a tag): every user
   *  (NIC tests salnic, IP interop salip, reconfig salrc, campaign salcp) has its own prefix. */
  constructor(tag = 't', prefix = 'salnic') {
    this.name = tag ? `${prefix}-${tag}-${uniq()}` : `${prefix}-${uniq()}`;
  }

  add(): this {
    must('ip', ['netns', 'add', this.name]);
    this.created = true;
    must('ip', ['-n', this.name, 'link', 'set', 'lo', 'up']);
    return this;
  }

  /** Runs a command inside the namespace (synchronously, bounded). */
  exec(args: string[], timeoutMs = 10000): { status: number | null; stdout: string; stderr: string } {
    return run('ip', ['netns', 'exec', this.name, ...args], timeoutMs);
  }

  mustExec(args: string[], timeoutMs = 10000): string {
    return must('ip', ['netns', 'exec', this.name, ...args], timeoutMs);
  }

  /** Starts a command inside the namespace in the background. */
  spawn(args: string[]): ChildProcess {
    return quietPipes(spawn('ip', ['netns', 'exec', this.name, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  /** Moves a device of the root namespace in and configures it: IPv6 off (no background
   *  chatter), address, up. */
  adopt(dev: string, cidr?: string): void {
    must('ip', ['link', 'set', dev, 'netns', this.name]);
    this.exec(['sysctl', '-qw', `net.ipv6.conf.${dev}.disable_ipv6=1`]);
    if (cidr) must('ip', ['-n', this.name, 'addr', 'add', cidr, 'dev', dev]);
    must('ip', ['-n', this.name, 'link', 'set', dev, 'up']);
  }

  linkExists(dev: string): boolean {
    return run('ip', ['-n', this.name, 'link', 'show', dev]).status === 0;
  }

  /** Packets the kernel side of `dev` received (frames Salamander wrote). */
  rxPackets(dev: string): number {
    const j = JSON.parse(must('ip', ['-n', this.name, '-s', '-j', 'link', 'show', dev]));
    return j[0].stats64.rx.packets;
  }

  linkMac(dev: string): string {
    const j = JSON.parse(must('ip', ['-n', this.name, '-j', 'link', 'show', dev]));
    return j[0].address;
  }

  del(): void {
    if (!this.created) return;
    run('ip', ['netns', 'del', this.name]);
    this.created = false;
  }
}

/** A killed child's stdio pipes may end with ECONNRESET; that is not a test failure. */
export function quietPipes<T extends ChildProcess>(child: T): T {
  const noop = (): void => undefined;
  child.stdin?.on('error', noop);
  child.stdout?.on('error', noop);
  child.stderr?.on('error', noop);
  return child;
}

/** Deletes a device of the root namespace if it exists (cleanup after a failure). */
export function delLinkIfAny(dev: string): void {
  if (run('ip', ['link', 'show', dev]).status === 0) run('ip', ['link', 'del', dev]);
}

/** Resolves when the child's stderr or stdout contains `text` (bounded). */
export function waitOutput(child: ChildProcess, text: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${text} (got: ${buf.slice(-300)})`));
    }, timeoutMs);
    const on = (d: Buffer): void => {
      buf += d.toString();
      if (text.test(buf)) {
        cleanup();
        resolve(buf);
      }
    };
    const onExit = (): void => {
      cleanup();
      reject(new Error(`process exited before printing ${text} (got: ${buf.slice(-300)})`));
    };
    const cleanup = (): void => {
      clearTimeout(t);
      child.stderr?.off('data', on);
      child.stdout?.off('data', on);
      child.off('exit', onExit);
    };
    child.stderr?.on('data', on);
    child.stdout?.on('data', on);
    child.once('exit', onExit);
  });
}

/** Resolves with the exit code when the child exits; kills it (SIGKILL) after timeoutMs. */
export function waitExit(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });
}
