// The control socket of `salamander up`: a Unix socket (mode 0600) carrying length-prefixed
// msgpackr frames. Frame = [u32 big-endian length][msgpack body]. Requests are
// { id, cmd, args }; replies are { id, ok: true, result } or { id, ok: false, error, code }.
// Frames larger than MAX_FRAME are refused and the connection closed (a misbehaving client
// never takes the daemon down).

import * as net from 'node:net';
import * as fs from 'node:fs';
import { pack, unpack } from 'msgpackr';

export const MAX_FRAME = 16 << 20;

export interface ControlRequest {
  id: number;
  cmd: string;
  args?: unknown;
}

export type ControlReply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: string; code: string };

export class ControlError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
    this.name = 'ControlError';
  }
}

export function encodeFrame(v: unknown): Buffer {
  const body = pack(v);
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

/** Splits a byte stream into frames; calls onFrame for each decoded value. Returns a feed
 *  function, which returns false (and stops) on a protocol error. */
export function frameReader(onFrame: (v: unknown) => void, onError: (e: ControlError) => void): (chunk: Buffer) => boolean {
  let buf: Buffer = Buffer.alloc(0);
  let dead = false;
  return (chunk: Buffer) => {
    if (dead) return false;
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    while (buf.length >= 4) {
      const len = buf.readUInt32BE(0);
      if (len > MAX_FRAME) {
        dead = true;
        onError(new ControlError(`control frame of ${len} bytes exceeds ${MAX_FRAME}`, 'ERR_FRAME_TOO_LARGE'));
        return false;
      }
      if (buf.length < 4 + len) break;
      const body = buf.subarray(4, 4 + len);
      buf = buf.subarray(4 + len);
      let v: unknown;
      try {
        v = unpack(body);
      } catch {
        dead = true;
        onError(new ControlError('control frame is not valid msgpack', 'ERR_FRAME_DECODE'));
        return false;
      }
      onFrame(v);
    }
    return true;
  };
}

export type ControlHandler = (cmd: string, args: unknown) => Promise<unknown> | unknown;

/** Listens on `path` (replacing a stale socket file) with mode 0600. */
export async function serveControl(path: string, handler: ControlHandler): Promise<net.Server> {
  try {
    const st = fs.lstatSync(path);
    if (!st.isSocket()) throw new ControlError(`control path ${path} exists and is not a socket`, 'ERR_CONTROL_PATH');
    // A socket file: stale if nobody answers on it.
    const alive = await new Promise<boolean>((res) => {
      const c = net.connect(path);
      c.once('connect', () => (c.destroy(), res(true)));
      c.once('error', () => res(false));
    });
    if (alive) throw new ControlError(`another salamander is listening on ${path}`, 'ERR_CONTROL_IN_USE');
    fs.unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const server = net.createServer((sock) => {
    const feed = frameReader(
      (v) => {
        const req = v as ControlRequest;
        const id = typeof req?.id === 'number' ? req.id : 0;
        if (!req || typeof req.cmd !== 'string') {
          sock.write(encodeFrame({ id, ok: false, error: 'request needs a string "cmd"', code: 'ERR_BAD_REQUEST' }));
          return;
        }
        Promise.resolve()
          .then(() => handler(req.cmd, req.args))
          .then(
            (result) => sock.writable && sock.write(encodeFrame({ id, ok: true, result })),
            (e: Error & { code?: string }) =>
              sock.writable && sock.write(encodeFrame({ id, ok: false, error: e?.message ?? String(e), code: e?.code ?? 'ERR_CONTROL' })),
          );
      },
      (e) => {
        if (sock.writable) sock.end(encodeFrame({ id: 0, ok: false, error: e.message, code: e.code }));
      },
    );
    sock.on('data', (c) => feed(c));
    sock.on('error', () => undefined);
  });
  const oldMask = process.umask(0o177);
  try {
    await new Promise<void>((res, rej) => {
      server.once('error', rej);
      server.listen(path, () => res());
    });
  } finally {
    process.umask(oldMask);
  }
  fs.chmodSync(path, 0o600);
  return server;
}

/** One request over a fresh connection. */
export async function controlCall(path: string, cmd: string, args?: unknown, timeoutMs = 10000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(path);
    const t = setTimeout(() => {
      sock.destroy();
      reject(new ControlError(`no reply from ${path} within ${timeoutMs} ms`, 'ETIMEDOUT'));
    }, timeoutMs);
    const done = (f: () => void): void => {
      clearTimeout(t);
      sock.destroy();
      f();
    };
    sock.once('error', (e: NodeJS.ErrnoException) =>
      done(() => reject(new ControlError(`cannot reach salamander at ${path}: ${e.code ?? e.message} (is "salamander up" running?)`, e.code ?? 'ECONNREFUSED'))));
    const feed = frameReader(
      (v) => {
        const r = v as ControlReply;
        if (r.ok) done(() => resolve(r.result));
        else done(() => reject(new ControlError(r.error, r.code)));
      },
      (e) => done(() => reject(e)),
    );
    sock.on('data', (c) => feed(c));
    sock.once('connect', () => sock.write(encodeFrame({ id: 1, cmd, args })));
  });
}
