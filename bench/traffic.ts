// Checked traffic for the fault campaign: one endpoint of a symmetric pair. Each endpoint serves
// a TCP check server (every byte of every incoming stream compared with the pattern the sender
// used) and a UDP echo, and sends TCP streams and UDP datagrams (each carrying its own SHA-256)
// to the other. The same code runs on a Salamander Stack (`stack.net` / `stack.dgram`) and, in
// the Linux peer process (bench/traffic-peer.ts), on Node's own `net` / `dgram`, i.e. on the
// Linux kernel's TCP/IP.

import { createHash } from 'node:crypto';

/** The parts of a `net.Socket` used here (Node's and Salamander's both have them). */
interface SockLike {
  write(b: Buffer): boolean;
  end(): void;
  destroy(): void;
  resume(): unknown;
  on(ev: string, f: (...a: never[]) => void): unknown;
  once(ev: string, f: (...a: never[]) => void): unknown;
}
interface ServerLike {
  listen(port: number, host: string, cb: () => void): unknown;
  close(): unknown;
  on(ev: string, f: (...a: never[]) => void): unknown;
}
export interface NetLike {
  createServer(onConn: (s: SockLike) => void): ServerLike;
  connect(port: number, host: string): SockLike;
}
interface UdpLike {
  bind(port: number, host: string, cb: () => void): unknown;
  send(b: Buffer, port: number, host: string): unknown;
  close(): unknown;
  on(ev: string, f: (...a: never[]) => void): unknown;
}
export interface DgramLike {
  createSocket(type: 'udp4' | 'udp6'): UdpLike;
}

/** Byte i of stream k. */
export const pat = (k: number, i: number): number => ((i * 31 + (i >>> 11) * 7 + k * 101) ^ (i >>> 19)) & 0xff;

export function datagram(seq: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  b.writeUInt32BE(seq, 0);
  for (let i = 36; i < size; i++) b[i] = (seq * 13 + i * 7) & 0xff;
  createHash('sha256').update(b.subarray(36)).digest().copy(b, 4);
  return b;
}

export function intact(b: Buffer): boolean {
  if (b.length < 36) return false;
  return createHash('sha256').update(b.subarray(36)).digest().equals(b.subarray(4, 36));
}

export interface TrafficStats {
  tcpIn: {
    /** Stream id -> bytes received and checked (the id is the stream's first byte). */
    bytes: Record<string, number>;
    completed: number;
    errors: number;
    corruptBytes: number;
    /** The first wrong bytes seen (stream, position, value, expected, Date.now()). */
    firstCorrupt: Array<{ stream: number; pos: number; got: number; want: number; at: number }>;
  };
  tcpOut: {
    bytes: Record<string, number>;
    ended: number;
    errors: number;
    errorCodes: string[];
    /** Streams that neither ended nor failed within stop()'s bound (stream id -> phase then). */
    stalled: Record<string, string>;
  };
  udp: { sent: number; intactBack: number; corruptDelivered: number; socketErrors: number; errorCodes: Record<string, number> };
  udpEcho: { echoed: number; corruptDelivered: number; socketErrors: number; errorCodes: Record<string, number> };
}

export const TCP_PORT = 9000;
export const UDP_PORT = 7;

/** A UDP socket error, counted by its code (send errors such as ENOBUFS when a ring is full). */
function countError(to: { socketErrors: number; errorCodes: Record<string, number> }, err: Error & { code?: string }): void {
  to.socketErrors++;
  const k = `${err.code ?? 'no code'}: ${err.message}`.slice(0, 80);
  to.errorCodes[k] = (to.errorCodes[k] ?? 0) + 1;
}

export class CheckedTraffic {
  readonly s: TrafficStats = {
    tcpIn: { bytes: {}, completed: 0, errors: 0, corruptBytes: 0, firstCorrupt: [] },
    tcpOut: { bytes: {}, ended: 0, errors: 0, errorCodes: [], stalled: {} },
    udp: { sent: 0, intactBack: 0, corruptDelivered: 0, socketErrors: 0, errorCodes: {} },
    udpEcho: { echoed: 0, corruptDelivered: 0, socketErrors: 0, errorCodes: {} },
  };
  private server: ServerLike | null = null;
  private echo: UdpLike | null = null;
  private client: UdpLike | null = null;
  private sending = false;
  private senders: Promise<void>[] = [];
  /** Outbound stream id -> its socket until it has closed (destroyed if stop() gives up on it). */
  private readonly outbound = new Map<number, SockLike>();
  private pump: Promise<void> | null = null;
  private readonly inbound = new Set<SockLike>();
  /** Each outbound stream's phase (for diagnostics). */
  readonly state: Record<number, string> = {};

  /** Per-stream TCP pacing in bytes per second (0: as fast as the stack takes it). */
  tcpRate = 0;

  constructor(
    private readonly net: NetLike,
    private readonly dgram: DgramLike,
  ) {}

  /** TCP check server and UDP echo on `host`. */
  async serve(host: string): Promise<void> {
    const t = this.s.tcpIn;
    this.server = this.net.createServer((c) => {
      this.inbound.add(c);
      let k = -1;
      let pos = 0;
      c.on('data', (d: Buffer) => {
        let o = 0;
        if (k < 0) {
          k = d[0];
          o = 1;
        }
        for (; o < d.length; o++, pos++) {
          if (d[o] === pat(k, pos)) continue;
          t.corruptBytes++;
          if (t.firstCorrupt.length < 10) t.firstCorrupt.push({ stream: k, pos, got: d[o], want: pat(k, pos), at: Date.now() });
        }
        t.bytes[k] = pos;
      });
      c.on('end', () => {
        t.completed++;
        this.inbound.delete(c);
        c.end();
      });
      c.on('error', () => {
        t.errors++;
        this.inbound.delete(c);
      });
    });
    this.server.on('error', () => undefined);
    await settled(`TCP listen on ${host}:${TCP_PORT}`, this.server, (res) => this.server!.listen(TCP_PORT, host, res));
    const e = this.s.udpEcho;
    const echo = (this.echo = this.dgram.createSocket('udp4'));
    echo.on('error', (err: Error & { code?: string }) => countError(e, err));
    echo.on('message', (m: Buffer, r: { port: number; address: string }) => {
      if (!intact(m)) e.corruptDelivered++;
      e.echoed++;
      echo.send(m, r.port, r.address);
    });
    await settled(`UDP bind to ${host}:${UDP_PORT}`, echo, (res) => echo.bind(UDP_PORT, host, res));
  }

  /** Starts `streams` TCP streams (ids firstId..) and a UDP datagram pump to `peer`. */
  async start(local: string, peer: string, streams: number, firstId: number): Promise<void> {
    this.sending = true;
    const u = this.s.udp;
    const client = (this.client = this.dgram.createSocket('udp4'));
    client.on('error', (err: Error & { code?: string }) => countError(u, err));
    client.on('message', (m: Buffer) => (intact(m) ? u.intactBack++ : u.corruptDelivered++));
    await settled(`UDP bind to ${local}`, client, (res) => client.bind(0, local, res));
    this.pump = (async () => {
      while (this.sending) {
        for (let i = 0; i < 16; i++) {
          client.send(datagram(u.sent, 64 + ((u.sent * 97) % 1200)), UDP_PORT, peer);
          u.sent++;
        }
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
    for (let n = 0; n < streams; n++) this.senders.push(this.sendStream(firstId + n, peer));
  }

  private async sendStream(k: number, peer: string): Promise<void> {
    const o = this.s.tcpOut;
    const s = this.net.connect(TCP_PORT, peer);
    this.outbound.set(k, s);
    let lost = false;
    let closed = false;
    s.once('close', () => (closed = true));
    s.on('error', (e: Error & { code?: string }) => {
      lost = true;
      o.errors++;
      o.errorCodes.push(e.code ?? e.message);
    });
    const connected = await new Promise<boolean>((res) => {
      s.once('connect', () => res(true));
      s.once('error', () => res(false));
      s.once('close', () => res(false));
    });
    if (!connected) {
      this.outbound.delete(k);
      return;
    }
    this.state[k] = 'sending';
    s.write(Buffer.from([k]));
    let pos = 0;
    o.bytes[k] = 0;
    const chunk = Buffer.alloc(64 << 10);
    const t0 = performance.now();
    while (this.sending && !lost) {
      if (this.tcpRate > 0) {
        const due = t0 + (pos / this.tcpRate) * 1000 - performance.now();
        if (due > 1) await new Promise((r) => setTimeout(r, due));
      }
      for (let i = 0; i < chunk.length; i++) chunk[i] = pat(k, pos + i);
      pos += chunk.length;
      o.bytes[k] = pos;
      if (!s.write(chunk)) await waitDrain(s);
    }
    if (lost || !this.outbound.has(k)) return; // failed, or given up on by stop()
    this.state[k] = 'ending';
    await new Promise<void>((r) => {
      if (closed) return r();
      s.once('close', () => r());
      s.resume(); // the receiver's FIN is an 'end' only once the readable side is consumed
      s.end();
    });
    if (!this.outbound.has(k)) return;
    this.state[k] = 'closed';
    this.outbound.delete(k);
    o.ended++;
  }

  /** Stops sending: ends every stream (waits until each has closed, at most `timeoutMs`) and the
   *  UDP pump. A stream still open then is a stalled connection: it is recorded in
   *  `s.tcpOut.stalled` with the phase it was in, and destroyed (after `beforeGivingUp`).
   *  Returns false if any stalled. */
  async stop(timeoutMs = 60_000, beforeGivingUp?: () => Promise<void>): Promise<boolean> {
    this.sending = false;
    await this.pump;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<false>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
    const done = await Promise.race([Promise.all(this.senders).then(() => true as const), expired]);
    clearTimeout(timer);
    if (done) return true;
    await beforeGivingUp?.().catch(() => undefined); // e.g. dump the connections for diagnosis
    for (const [k, sock] of this.outbound) {
      this.s.tcpOut.stalled[k] = this.state[k] ?? 'connecting';
      sock.destroy();
    }
    this.outbound.clear();
    return false;
  }

  /** Waits (bounded) until `expected` inbound streams have ended or failed. */
  async inboundDone(expected: number, timeoutMs: number): Promise<boolean> {
    const t = this.s.tcpIn;
    const deadline = performance.now() + timeoutMs;
    while (t.completed + t.errors < expected && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    return t.completed + t.errors >= expected;
  }

  close(): void {
    this.server?.close();
    for (const c of this.inbound) c.destroy();
    this.echo?.close();
    this.client?.close();
  }
}

/** Runs `start` (a listen or bind taking a callback) and resolves when it calls back; rejects on
 *  the emitter's first 'error' or after 10 s, naming `what`. */
function settled(what: string, em: { once?(ev: string, f: (e: Error) => void): unknown; on(ev: string, f: (e: Error) => void): unknown }, start: (res: () => void) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let done = false;
    const t = setTimeout(() => finish(new Error(`${what}: no answer in 10 s`)), 10_000);
    const finish = (e?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(t);
      if (e) reject(new Error(`${what}: ${e.message}`));
      else resolve();
    };
    (em.once ?? em.on).call(em, 'error', (e: Error) => finish(e));
    start(() => finish());
  });
}

/** Resolves on 'drain' or 'close', whichever comes first, and removes both listeners. */
function waitDrain(s: SockLike): Promise<void> {
  return new Promise<void>((r) => {
    const done = (): void => {
      (s as unknown as NodeJS.EventEmitter).off('drain', done).off('close', done);
      r();
    };
    s.once('drain', done);
    s.once('close', done);
  });
}

/** Bytes sent on each stream that the receiver did not get (0 when nothing was lost). */
export function missingBytes(sent: Record<string, number>, got: Record<string, number>): number {
  let n = 0;
  for (const [k, v] of Object.entries(sent)) n += Math.max(0, v - (got[k] ?? 0));
  return n;
}
