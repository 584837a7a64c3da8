// Helpers for the services tests: Node's own net/dgram on 127.0.0.1, awaits with deadlines.

import * as net from 'node:net';
import * as dgram from 'node:dgram';
import { spawn, spawnSync } from 'node:child_process';
import type { ServiceContext } from '../../services/types';

/** Node's modules as the services' context (a compile-time check that they are drop-in). */
export const nodeCtx: ServiceContext = { net, dgram, host: '127.0.0.1' };

export function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export function connect(port: number, host = '127.0.0.1'): Promise<net.Socket> {
  return withDeadline(
    new Promise((resolve, reject) => {
      const s = net.connect({ port, host }, () => resolve(s));
      s.once('error', reject);
    }),
    5000,
    `connect to ${host}:${port}`,
  );
}

/** A reader that collects a socket's bytes, for exact-length reads and read-to-end. */
export class Collector {
  private chunks: Buffer[] = [];
  private have = 0;
  ended = false;
  private waiters: Array<() => void> = [];
  constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.have += d.length;
      this.wake();
    });
    const end = (): void => {
      this.ended = true;
      this.wake();
    };
    socket.on('end', end);
    socket.on('close', end);
    socket.on('error', end);
  }
  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  private async until(cond: () => boolean, ms: number, what: string): Promise<void> {
    await withDeadline(
      (async () => {
        while (!cond()) await new Promise<void>((r) => this.waiters.push(r));
      })(),
      ms,
      what,
    );
  }
  async read(n: number, ms = 5000): Promise<Buffer> {
    await this.until(() => this.have >= n || this.ended, ms, `${n} bytes`);
    if (this.have < n) throw new Error(`connection ended after ${this.have} of ${n} bytes`);
    const all = Buffer.concat(this.chunks);
    this.chunks = [all.subarray(n)];
    this.have -= n;
    return all.subarray(0, n);
  }
  async toEnd(ms = 5000): Promise<Buffer> {
    await this.until(() => this.ended, ms, 'the connection to end');
    const out = Buffer.concat(this.chunks);
    this.chunks = [];
    this.have = 0;
    return out;
  }
}

export function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Run a command to completion (bounded); resolves with stdout/stderr and the exit code. */
export function runCommand(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // stdin ignored, and pipe errors absorbed: a child's stdio socketpair can end in
    // ECONNRESET when the child exits, which says nothing about the code under test.
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (stdout += d));
    child.stderr.on('data', (d: string) => (stderr += d));
    child.stdout.on('error', () => undefined);
    child.stderr.on('error', () => undefined);
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', () => undefined);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code: typeof code === 'number' ? code : null, stdout, stderr });
    });
  });
}

/** Resolve with the first datagram a socket receives. */
export function nextMessage(sock: dgram.Socket, ms = 5000): Promise<{ msg: Buffer; rinfo: dgram.RemoteInfo }> {
  return withDeadline(new Promise((resolve) => sock.once('message', (msg, rinfo) => resolve({ msg, rinfo }))), ms, 'a datagram');
}

export function bindUdp(port = 0): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(port, '127.0.0.1', () => resolve(s));
  });
}
