// An iperf3-compatible server (the server side of esnet/iperf's protocol, as spoken by iperf 3.x
// clients), over a `net`-like and a `dgram`-like module. One test at a time; TCP and UDP, forward,
// reverse (-R), bidirectional (--bidir) and parallel streams (-P).
//
// The protocol, as the reference implementation speaks it (iperf_api.c, iperf_server_api.c,
// iperf_tcp.c, iperf_udp.c):
//   control   the client connects and sends a 37-byte cookie (36 characters and a NUL). The
//             server drives the test with single signed state bytes; JSON messages are a 4-byte
//             big-endian length and the JSON text.
//             PARAM_EXCHANGE -> client sends its parameters (JSON)
//             CREATE_STREAMS -> client opens its data streams
//             TEST_START, TEST_RUNNING -> data flows; the client decides when it ends: TEST_END
//             EXCHANGE_RESULTS -> client sends its results (JSON), the server replies with its own
//             DISPLAY_RESULTS -> client prints, sends IPERF_DONE and closes.
//             A connection arriving while a test runs gets ACCESS_DENIED (-1) and is closed; a
//             server failure is SERVER_ERROR (-2) and two 32-bit big-endian ints (i_errno, errno).
//   TCP data  each stream is another connection to the same port starting with the same cookie.
//   UDP data  each stream starts with a 4-byte datagram from the client to the same port; the
//             server answers with a 4-byte datagram ("UDP connect"). Data datagrams start with
//             sec, usec (32-bit each) and a packet count (32-bit, or 64-bit when the client asked
//             for udp_counters_64bit), big-endian; the receiver counts loss from gaps in the
//             count and jitter as in RFC 1889 (J += (|D| - J) / 16).
//   Stream ids are 1, 3, 4, 5, ... in the order the streams arrive (the client numbers them the
//   same way); in --bidir the first half of the streams are the client's senders.
// Not supported: SCTP, authentication (--username), -F file, --get-server-output gets a short text.

import {
  AddressInfoLike, bindDgram, closeDgram, closeServer, DgramSocketLike, listenServer, RunningService,
  ServiceContext, SocketLike, track,
} from './types';
import { ByteReader } from './reader';

/** Control-channel states (iperf.h). */
export const IperfState = {
  TEST_START: 1,
  TEST_RUNNING: 2,
  TEST_END: 4,
  PARAM_EXCHANGE: 9,
  CREATE_STREAMS: 10,
  SERVER_TERMINATE: 11,
  CLIENT_TERMINATE: 12,
  EXCHANGE_RESULTS: 13,
  DISPLAY_RESULTS: 14,
  IPERF_DONE: 16,
  ACCESS_DENIED: -1,
  SERVER_ERROR: -2,
} as const;

export const COOKIE_SIZE = 37;
/** i_errno values we report with SERVER_ERROR (iperf_api.h). */
const IECREATESTREAM = 200;
const IESTREAMLISTEN = 202;
const IERECVPARAMS = 9;
/** A JSON message longer than this is a protocol error (the reference client sends < 1 KiB). */
const MAX_JSON = 64 * 1024;
const MAX_STREAMS = 128;
const MAX_BLKSIZE = 1024 * 1024;
const DEFAULT_TCP_BLKSIZE = 128 * 1024;
const DEFAULT_UDP_BLKSIZE = 1460;
const LEGACY_CONNECT_MSG = 123456789;
const LEGACY_CONNECT_REPLY = 987654321;

export interface Iperf3Options {
  /** Time allowed for the cookie and parameters, and for all data streams to arrive. Default 10 s. */
  setupTimeoutMs?: number;
  /** Called after each test with a summary. */
  onTestEnd?: (summary: Iperf3Summary) => void;
}

export interface Iperf3Summary {
  protocol: 'tcp' | 'udp';
  reverse: boolean;
  bidirectional: boolean;
  streams: Array<{ id: number; sender: boolean; bytes: number; packets: number; errors: number; jitter: number }>;
  seconds: number;
  /** Why the test ended early, if it did. */
  error?: string;
}

export interface Iperf3Service extends RunningService {
  /** Tests completed (results exchanged), tests aborted, connections denied as busy. */
  readonly counters: { completed: number; aborted: number; denied: number };
}

interface Stream {
  seq: number;
  id: number;
  sender: boolean;
  tcp?: SocketLike;
  udpPeer?: { address: string; port: number };
  bytes: number;
  /** UDP: highest packet count seen (receiver) or packets sent (sender). */
  packets: number;
  errors: number;
  outOfOrder: number;
  jitter: number;
  prevTransit: number;
  /** Counts at the end of the omit period (-O), subtracted from the results. */
  omitted: { bytes: number; packets: number; errors: number };
}

interface Params {
  udp: boolean;
  reverse: boolean;
  bidirectional: boolean;
  parallel: number;
  blksize: number;
  /** bits per second per stream; 0 = unlimited. */
  rate: number;
  bytesLimit: number;
  counters64: boolean;
  time: number;
  omit: number;
  serverOutput: boolean;
}

function parseParams(j: unknown): Params | string {
  if (typeof j !== 'object' || j === null || Array.isArray(j)) return 'parameters are not a JSON object';
  const o = j as Record<string, unknown>;
  const num = (k: string, dflt: number): number => (typeof o[k] === 'number' && Number.isFinite(o[k]) ? (o[k] as number) : dflt);
  const flag = (k: string): boolean => o[k] === true || (typeof o[k] === 'number' && o[k] !== 0);
  if (flag('sctp')) return 'SCTP is not supported';
  const udp = flag('udp');
  const parallel = Math.trunc(num('parallel', 1));
  if (parallel < 1 || parallel > MAX_STREAMS) return `parallel ${parallel} out of range 1..${MAX_STREAMS}`;
  let blksize = Math.trunc(num('len', udp ? DEFAULT_UDP_BLKSIZE : DEFAULT_TCP_BLKSIZE));
  if (blksize <= 0) blksize = udp ? DEFAULT_UDP_BLKSIZE : DEFAULT_TCP_BLKSIZE;
  if (blksize > MAX_BLKSIZE) return `block size ${blksize} too large`;
  if (udp && blksize < 16) return `UDP block size ${blksize} too small`;
  return {
    udp,
    reverse: flag('reverse'),
    bidirectional: flag('bidirectional'),
    parallel,
    blksize,
    rate: Math.max(0, num('bandwidth', udp ? 1_000_000 : 0)),
    bytesLimit: Math.max(0, num('num', 0)) || Math.max(0, num('blockcount', 0)) * blksize,
    counters64: flag('udp_counters_64bit'),
    time: Math.max(0, num('time', 10)),
    omit: Math.max(0, num('omit', 0)),
    serverOutput: flag('get_server_output'),
  };
}

function nowSeconds(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

/** The answer to a UDP connect datagram: the reference replies 0x39383736 to 0x36373839 (each
 *  written in host order, so reversing the 4 bytes answers either byte order), and the legacy
 *  987654321 to 123456789. */
function udpConnectReply(msg: Buffer): Buffer {
  const out = Buffer.alloc(4);
  if (msg.length >= 4 && msg.readUInt32LE(0) === LEGACY_CONNECT_MSG) out.writeUInt32LE(LEGACY_CONNECT_REPLY);
  else if (msg.length >= 4 && msg.readUInt32BE(0) === LEGACY_CONNECT_MSG) out.writeUInt32BE(LEGACY_CONNECT_REPLY);
  else if (msg.length >= 4) for (let i = 0; i < 4; i++) out[i] = msg[3 - i];
  else out.writeUInt32LE(0x39383736);
  return out;
}

class ProtocolError extends Error {
  constructor(message: string, readonly iErrno: number) {
    super(message);
  }
}

/** One test, from the control connection's cookie to IPERF_DONE. */
class Iperf3Test {
  cookie: Buffer | null = null;
  phase: 'setup' | 'streams' | 'running' | 'ending' = 'setup';
  params: Params | null = null;
  readonly streams: Stream[] = [];
  private readonly udpByPeer = new Map<string, Stream>();
  private seq = 0;
  private expected = 0;
  private streamsReady: (() => void) | null = null;
  private readonly reader: ByteReader;
  private readonly aborted: Promise<never>;
  private abortWith!: (e: Error) => void;
  private startedAt = 0;
  /** When the omit period ended (0: no omit, or not yet). */
  private omitEndedAt = 0;
  private omitTimer: NodeJS.Timeout | null = null;
  private endedAt = 0;
  private cpuStart = process.cpuUsage();
  private udpTimer: NodeJS.Timeout | null = null;
  private totalSent = 0;
  private closed = false;

  constructor(
    readonly ctrl: SocketLike,
    private readonly udp: DgramSocketLike | undefined,
    private readonly opts: Required<Pick<Iperf3Options, 'setupTimeoutMs'>>,
  ) {
    this.reader = new ByteReader(ctrl, MAX_JSON + 64);
    this.aborted = new Promise<never>((_, reject) => (this.abortWith = reject));
    this.aborted.catch(() => {});
    ctrl.on('close', () => this.abortWith(new Error('control connection closed')));
    ctrl.setNoDelay?.(true);
  }

  private sendState(state: number): void {
    if (!this.ctrl.destroyed) this.ctrl.write(Buffer.from([state & 0xff]));
  }

  private sendJson(obj: unknown): void {
    const body = Buffer.from(JSON.stringify(obj), 'utf8');
    const head = Buffer.alloc(4);
    head.writeUInt32BE(body.length);
    this.ctrl.write(Buffer.concat([head, body]));
  }

  private async readJson(): Promise<unknown> {
    const len = (await this.reader.read(4)).readUInt32BE(0);
    if (len > MAX_JSON) throw new ProtocolError(`JSON message of ${len} bytes is too large`, IERECVPARAMS);
    const text = (await this.reader.read(len)).toString('utf8');
    try {
      return JSON.parse(text);
    } catch {
      throw new ProtocolError('malformed JSON from the client', IERECVPARAMS);
    }
  }

  private async readState(): Promise<number> {
    return (await this.reader.read(1)).readInt8(0);
  }

  private withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const t = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ProtocolError(`timed out waiting for ${what}`, IECREATESTREAM)), this.opts.setupTimeoutMs);
    });
    return Promise.race([p, t, this.aborted]).finally(() => clearTimeout(timer));
  }

  /** A TCP connection that arrived during CREATE_STREAMS: a data stream if the cookie matches. */
  acceptTcpCandidate(s: SocketLike, deny: (s: SocketLike) => void): void {
    const seq = this.seq++;
    let got: Buffer[] = [];
    let have = 0;
    const onData = (d: Uint8Array): void => {
      got.push(Buffer.from(d.buffer, d.byteOffset, d.byteLength));
      have += d.byteLength;
      if (have < COOKIE_SIZE) return;
      s.removeListener('data', onData);
      const all = Buffer.concat(got);
      got = [];
      if (this.phase !== 'streams' || !this.cookie || !all.subarray(0, COOKIE_SIZE).equals(this.cookie) || this.params?.udp) {
        deny(s);
        return;
      }
      this.addStream({ tcp: s }, seq, all.length - COOKIE_SIZE);
    };
    s.on('data', onData);
  }

  /** A datagram on the service's UDP port from `rinfo`. */
  onDatagram(msg: Buffer, rinfo: { address: string; port: number }): void {
    const key = `${rinfo.address}|${rinfo.port}`;
    const st = this.udpByPeer.get(key);
    if (!st) {
      if (this.phase !== 'streams' || !this.params?.udp || msg.length > 8) return;
      this.udpByPeer.set(key, this.addStream({ udpPeer: { address: rinfo.address, port: rinfo.port } }, this.seq++, 0));
      this.udp?.send(udpConnectReply(msg), rinfo.port, rinfo.address);
      return;
    }
    if (msg.length <= 8) {
      // A repeated connect datagram (the reply was lost): answer again.
      if (this.phase === 'streams' || this.phase === 'running') this.udp?.send(udpConnectReply(msg), rinfo.port, rinfo.address);
      return;
    }
    if (this.phase !== 'running' || st.sender) return;
    this.receiveUdp(st, msg);
  }

  private receiveUdp(st: Stream, msg: Buffer): void {
    const first = st.bytes === 0;
    st.bytes += msg.length;
    const sent = msg.readUInt32BE(0) + msg.readUInt32BE(4) / 1e6;
    const pcount = this.params!.counters64 && msg.length >= 16 ? Number(msg.readBigUInt64BE(8)) : msg.readUInt32BE(8);
    if (pcount >= st.packets + 1) {
      // A gap in the sequence counts as loss until the missing packets turn up.
      if (pcount > st.packets + 1) st.errors += pcount - 1 - st.packets;
      st.packets = pcount;
    } else {
      st.outOfOrder++;
      if (st.errors > 0) st.errors--;
    }
    // RFC 1889 A.8: J = J + (|D(i-1,i)| - J)/16, D from the change in transit time. The two
    // clocks need not agree: only differences of transit times are used.
    const transit = Date.now() / 1000 - sent;
    if (first) st.prevTransit = transit;
    const d = Math.abs(transit - st.prevTransit);
    st.prevTransit = transit;
    st.jitter += (d - st.jitter) / 16;
  }

  private addStream(where: Pick<Stream, 'tcp' | 'udpPeer'>, seq: number, earlyBytes: number): Stream {
    const st: Stream = { seq, id: 0, sender: false, ...where, bytes: 0, packets: 0, errors: 0, outOfOrder: 0, jitter: 0, prevTransit: 0, omitted: { bytes: 0, packets: 0, errors: 0 } };
    this.streams.push(st);
    if (st.tcp) {
      const s = st.tcp;
      st.bytes += earlyBytes;
      s.setNoDelay?.(true);
      s.on('data', (d: Uint8Array) => {
        if (!st.sender) st.bytes += d.byteLength;
      });
    }
    if (this.streams.length >= this.expected && this.streamsReady) {
      this.phase = 'running';
      this.streamsReady();
    }
    return st;
  }

  async run(): Promise<Iperf3Summary> {
    let error: string | undefined;
    try {
      this.cookie = Buffer.from(await this.withTimeout(this.reader.read(COOKIE_SIZE), 'the cookie'));
      this.sendState(IperfState.PARAM_EXCHANGE);
      const p = parseParams(await this.withTimeout(this.readJson(), 'the test parameters'));
      if (typeof p === 'string') throw new ProtocolError(p, IERECVPARAMS);
      if (p.udp && !this.udp) throw new ProtocolError('this server has no UDP socket', IESTREAMLISTEN);
      this.params = p;
      this.expected = p.parallel * (p.bidirectional ? 2 : 1);
      const ready = new Promise<void>((resolve) => (this.streamsReady = resolve));
      this.phase = 'streams';
      this.sendState(IperfState.CREATE_STREAMS);
      await this.withTimeout(ready, `${this.expected} data stream(s)`);
      this.streams.sort((a, b) => a.seq - b.seq);
      this.streams.forEach((st, i) => {
        st.id = i === 0 ? 1 : i + 2;
        st.sender = p.bidirectional ? i >= p.parallel : p.reverse;
      });
      this.sendState(IperfState.TEST_START);
      this.sendState(IperfState.TEST_RUNNING);
      this.startedAt = nowSeconds();
      this.cpuStart = process.cpuUsage();
      this.startSenders();
      if (p.omit > 0) {
        // -O: the first seconds do not count (the reference resets its stats when they end).
        this.omitTimer = setTimeout(() => {
          for (const st of this.streams) st.omitted = { bytes: st.bytes, packets: st.packets, errors: st.errors };
          this.omitEndedAt = nowSeconds();
        }, p.omit * 1000);
      }
      // The client decides when the test ends.
      for (;;) {
        const st = await Promise.race([this.readState(), this.aborted]);
        if (st === IperfState.TEST_END) break;
        if (st === IperfState.CLIENT_TERMINATE) throw new Error('the client terminated the test');
      }
      this.phase = 'ending';
      this.endedAt = nowSeconds();
      this.stopStreams();
      this.sendState(IperfState.EXCHANGE_RESULTS);
      await this.withTimeout(this.readJson(), 'the client results');
      this.sendJson(this.results());
      this.sendState(IperfState.DISPLAY_RESULTS);
      try {
        await this.withTimeout(this.readState(), 'IPERF_DONE');
      } catch {
        // The client may close without IPERF_DONE; the results are exchanged either way.
      }
      this.ctrl.end();
    } catch (e) {
      error = (e as Error).message;
      if (e instanceof ProtocolError && !this.ctrl.destroyed) {
        const b = Buffer.alloc(9);
        b.writeInt8(IperfState.SERVER_ERROR, 0);
        b.writeInt32BE(e.iErrno, 1);
        b.writeInt32BE(0, 5);
        this.ctrl.write(b);
        this.ctrl.end();
      } else {
        this.ctrl.destroy();
      }
    } finally {
      if (!this.endedAt) this.endedAt = nowSeconds();
      this.stopStreams();
    }
    return this.summary(error);
  }

  /** The server is shutting down: tell the client, then drop everything. */
  terminate(): void {
    this.sendState(IperfState.SERVER_TERMINATE);
    this.ctrl.end();
    this.abortWith(new Error('server terminated'));
    this.stopStreams();
  }

  private startSenders(): void {
    const p = this.params!;
    const senders = this.streams.filter((s) => s.sender);
    if (senders.length === 0) return;
    if (!p.udp) {
      const block = Buffer.alloc(p.blksize, 0x5a);
      for (const st of senders) {
        const s = st.tcp!;
        const pump = (): void => {
          while (this.phase === 'running' && !s.destroyed) {
            if (p.bytesLimit > 0 && this.totalSent >= p.bytesLimit) return;
            st.bytes += block.length;
            this.totalSent += block.length;
            if (!s.write(block)) {
              s.once('drain', pump);
              return;
            }
          }
        };
        pump();
      }
      return;
    }
    // UDP: pace each stream at the requested rate from a 1 ms timer (0 = unlimited: capped).
    const rate = p.rate > 0 ? p.rate : 1e9;
    const template = Buffer.alloc(p.blksize, 0x5a);
    const start = nowSeconds();
    const maxBurst = 256;
    this.udpTimer = setInterval(() => {
      if (this.phase !== 'running') return;
      const elapsed = nowSeconds() - start;
      const due = Math.floor((rate / 8) * elapsed / p.blksize) + 1;
      for (const st of senders) {
        let n = Math.min(due - st.packets, maxBurst);
        while (n-- > 0) {
          if (p.bytesLimit > 0 && this.totalSent >= p.bytesLimit) return;
          const pkt = Buffer.from(template);
          const ms = Date.now();
          st.packets++;
          pkt.writeUInt32BE(Math.floor(ms / 1000), 0);
          pkt.writeUInt32BE((ms % 1000) * 1000, 4);
          if (p.counters64) pkt.writeBigUInt64BE(BigInt(st.packets), 8);
          else pkt.writeUInt32BE(st.packets >>> 0, 8);
          st.bytes += pkt.length;
          this.totalSent += pkt.length;
          this.udp!.send(pkt, st.udpPeer!.port, st.udpPeer!.address);
        }
      }
    }, 1);
  }

  private stopStreams(): void {
    if (this.udpTimer) clearInterval(this.udpTimer);
    this.udpTimer = null;
    if (this.omitTimer) clearTimeout(this.omitTimer);
    this.omitTimer = null;
    for (const st of this.streams) st.tcp?.destroy();
    this.udpByPeer.clear();
  }

  private results(): unknown {
    const p = this.params!;
    const secs = Math.max(0, this.endedAt - this.startedAt);
    const cpu = process.cpuUsage(this.cpuStart);
    const pct = (us: number): number => (secs > 0 ? (us / 1e6 / secs) * 100 : 0);
    const out: Record<string, unknown> = {
      cpu_util_total: pct(cpu.user + cpu.system),
      cpu_util_user: pct(cpu.user),
      cpu_util_system: pct(cpu.system),
      // We cannot read TCP retransmissions through a socket API: report "no information".
      sender_has_retransmits: p.reverse || p.bidirectional ? 0 : -1,
      streams: this.streams.map((st) => ({
        id: st.id,
        bytes: st.bytes - st.omitted.bytes,
        retransmits: -1,
        jitter: st.jitter,
        // Packet counts and errors go out raw: the client subtracts its own omitted count.
        errors: st.errors,
        omitted_errors: st.omitted.errors,
        packets: st.packets,
        start_time: this.omitEndedAt ? this.omitEndedAt - this.startedAt : 0,
        end_time: secs,
      })),
    };
    if (p.serverOutput) {
      out.server_output_text = this.streams
        .map((st) => `[${st.id}] ${st.sender ? 'sent' : 'received'} ${st.bytes} bytes in ${secs.toFixed(2)} s\n`)
        .join('');
    }
    return out;
  }

  private summary(error?: string): Iperf3Summary {
    const p = this.params;
    return {
      protocol: p?.udp ? 'udp' : 'tcp',
      reverse: p?.reverse ?? false,
      bidirectional: p?.bidirectional ?? false,
      streams: this.streams.map((s) => ({ id: s.id, sender: s.sender, bytes: s.bytes, packets: s.packets, errors: s.errors, jitter: s.jitter })),
      seconds: this.startedAt ? Math.max(0, this.endedAt - this.startedAt) : 0,
      ...(error !== undefined ? { error } : {}),
    };
  }
}

/** Start the iperf3 server on ctx.net (and ctx.dgram for UDP tests) at port (0: any). */
export async function serveIperf3(port: number, ctx: ServiceContext, opts: Iperf3Options = {}): Promise<Iperf3Service> {
  const host = ctx.host ?? '0.0.0.0';
  const setupTimeoutMs = opts.setupTimeoutMs ?? 10_000;
  const sockets = new Set<SocketLike>();
  const counters = { completed: 0, aborted: 0, denied: 0 };
  let test: Iperf3Test | null = null;
  let udp: DgramSocketLike | undefined;

  const deny = (s: SocketLike): void => {
    counters.denied++;
    s.write(Buffer.from([IperfState.ACCESS_DENIED & 0xff]));
    s.end();
  };

  const server = ctx.net.createServer((s) => {
    track(sockets, s);
    if (test === null) {
      const t = new Iperf3Test(s, udp, { setupTimeoutMs });
      test = t;
      void t.run().then((summary) => {
        if (summary.error === undefined) counters.completed++;
        else counters.aborted++;
        if (test === t) test = null;
        opts.onTestEnd?.(summary);
      });
    } else if (test.phase === 'streams' && !test.params?.udp) {
      test.acceptTcpCandidate(s, deny);
    } else {
      // iperf_server_api.c: do not read from the socket (it could block the running test),
      // just send ACCESS_DENIED.
      deny(s);
    }
  });
  const bound = await listenServer(server, port, host);
  if (ctx.dgram) {
    const u = ctx.dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    try {
      await bindDgram(u, bound, host);
    } catch (err) {
      await closeServer(server, sockets);
      throw err;
    }
    u.on('error', () => {});
    try {
      u.setRecvBufferSize?.(4 * 1024 * 1024); // the kernel caps it at rmem_max
    } catch {
      // not supported: keep the default
    }
    u.on('message', (msg: Buffer, rinfo: AddressInfoLike) => test?.onDatagram(msg, rinfo));
    udp = u;
  }
  return {
    name: 'iperf3',
    port: bound,
    counters,
    close: async () => {
      test?.terminate();
      test = null;
      await Promise.all([closeServer(server, sockets), udp ? closeDgram(udp) : Promise.resolve()]);
    },
  };
}
