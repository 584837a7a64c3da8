// The shared connection table and byte streams of the TCP actor: creation (by the supervisor or
// a test), validation and reattachment (by each TCP core incarnation), and the crash-atomic
// load/commit of one TCB (base/committed.ts: two slots and a flipped selector per TCB).
// Layouts are in layout.ts; docs/tcp.md describes them.

import { CommittedRecords } from '../../base/committed';
import {
  STREAM_HEADER_BYTES, TABLE_HEADER_BYTES, TABLE_MAGIC, TABLE_VERSION, TCB_WORDS, TableWord, streamSlotBytes,
} from './layout';
import { ByteStream } from './stream';

export interface TcpSharedOptions {
  /** TCB slots (listeners, embryonic and established connections, TIME_WAIT). Max 65536. */
  maxConns: number;
  /** Send stream capacity per connection (a power of two, >= 4096). */
  sendBufBytes: number;
  /** Receive stream capacity per connection (a power of two, >= 4096). */
  recvBufBytes: number;
}

/** The regions handed to the TCP actor as ActorContext.shared. */
export interface TcpShared {
  tcbs: SharedArrayBuffer;
  tcpStreams: SharedArrayBuffer;
}

function isPow2(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

function checkOptions(o: TcpSharedOptions): void {
  if (!Number.isInteger(o.maxConns) || o.maxConns < 1 || o.maxConns > 65536) throw new RangeError('tcp: maxConns');
  if (!isPow2(o.sendBufBytes) || o.sendBufBytes < 4096 || o.sendBufBytes > 1 << 30) throw new RangeError('tcp: sendBufBytes');
  if (!isPow2(o.recvBufBytes) || o.recvBufBytes < 4096 || o.recvBufBytes > 1 << 30) throw new RangeError('tcp: recvBufBytes');
}

/** Byte sizes of both regions (the Stack sizes ActorSpec.shared with these; the supervisor then
 *  allocates them zeroed and the TCP actor initialises them on first attach, initTcpShared). */
export function tcpSharedBytes(o: TcpSharedOptions): { tcbs: number; tcpStreams: number } {
  checkOptions(o);
  return {
    tcbs: TABLE_HEADER_BYTES + CommittedRecords.bytes(o.maxConns, TCB_WORDS),
    tcpStreams: o.maxConns * streamSlotBytes(o.sendBufBytes, o.recvBufBytes),
  };
}

/** True once the table header is initialised (MAGIC is written last). */
export function tcpSharedReady(shared: TcpShared): boolean {
  return Atomics.load(new Int32Array(shared.tcbs, 0, TABLE_HEADER_BYTES / 4), TableWord.MAGIC) === TABLE_MAGIC;
}

/** Initialises zeroed regions of at least tcpSharedBytes(o) bytes: the header, then MAGIC last,
 *  so a crash in the middle leaves an uninitialised table that the next attach initialises again. */
export function initTcpShared(shared: TcpShared, o: TcpSharedOptions, randomU32: () => number): void {
  const need = tcpSharedBytes(o);
  if (shared.tcbs.byteLength < need.tcbs || shared.tcpStreams.byteLength < need.tcpStreams) throw new RangeError('tcp: shared regions too small');
  const h = new Int32Array(shared.tcbs, 0, TABLE_HEADER_BYTES / 4);
  h[TableWord.VERSION] = TABLE_VERSION;
  h[TableWord.MAX_CONNS] = o.maxConns;
  h[TableWord.TCB_WORDS] = TCB_WORDS;
  h[TableWord.SEND_CAP] = o.sendBufBytes;
  h[TableWord.RECV_CAP] = o.recvBufBytes;
  h[TableWord.NEXT_EPHEMERAL] = randomU32() | 0;
  h[TableWord.KEY0] = randomU32() | 0;
  h[TableWord.KEY1] = randomU32() | 0;
  h[TableWord.KEY2] = randomU32() | 0;
  h[TableWord.KEY3] = randomU32() | 0;
  Atomics.store(h, TableWord.MAGIC, TABLE_MAGIC);
}

/** Allocates and initialises both regions. `randomU32` draws the secret hash key. */
export function createTcpShared(o: TcpSharedOptions, randomU32: () => number): TcpShared {
  const b = tcpSharedBytes(o);
  const shared = { tcbs: new SharedArrayBuffer(b.tcbs), tcpStreams: new SharedArrayBuffer(b.tcpStreams) };
  initTcpShared(shared, o, randomU32);
  return shared;
}

/** One core's handle on the shared table. */
export class TcbTable {
  readonly header: Int32Array;
  readonly records: CommittedRecords;
  readonly maxConns: number;
  readonly sendCap: number;
  readonly recvCap: number;
  readonly key: Buffer;
  private readonly streams: SharedArrayBuffer;
  private readonly slotBytes: number;

  constructor(shared: TcpShared) {
    const { tcbs, tcpStreams } = shared;
    if (!(tcbs instanceof SharedArrayBuffer) || !(tcpStreams instanceof SharedArrayBuffer)) throw new TypeError('tcp: shared regions missing');
    if (tcbs.byteLength < TABLE_HEADER_BYTES) throw new RangeError('tcp: tcbs region too small');
    this.header = new Int32Array(tcbs, 0, TABLE_HEADER_BYTES / 4);
    const h = this.header;
    // A reader validates what crosses a boundary (design.md): check every constant.
    if (Atomics.load(h, TableWord.MAGIC) !== TABLE_MAGIC) throw new Error('tcp: tcbs region not initialised');
    if (h[TableWord.VERSION] !== TABLE_VERSION || h[TableWord.TCB_WORDS] !== TCB_WORDS) throw new Error('tcp: tcbs layout version mismatch');
    this.maxConns = h[TableWord.MAX_CONNS];
    this.sendCap = h[TableWord.SEND_CAP];
    this.recvCap = h[TableWord.RECV_CAP];
    if (!(this.maxConns >= 1 && this.maxConns <= 65536) || !isPow2(this.sendCap) || !isPow2(this.recvCap)) throw new Error('tcp: tcbs header corrupt');
    if (tcbs.byteLength < TABLE_HEADER_BYTES + CommittedRecords.bytes(this.maxConns, TCB_WORDS)) throw new RangeError('tcp: tcbs region too small');
    this.slotBytes = streamSlotBytes(this.sendCap, this.recvCap);
    if (tcpStreams.byteLength < this.maxConns * this.slotBytes) throw new RangeError('tcp: tcpStreams region too small');
    this.streams = tcpStreams;
    this.records = new CommittedRecords(tcbs, this.maxConns, TCB_WORDS, TABLE_HEADER_BYTES);
    const k = Buffer.alloc(16);
    for (let i = 0; i < 4; i++) k.writeInt32BE(h[TableWord.KEY0 + i], i * 4);
    this.key = k;
    Atomics.add(h, TableWord.ATTACH_COUNT, 1);
  }

  sendStream(slot: number): ByteStream {
    return new ByteStream(this.streams, slot * this.slotBytes, this.sendCap);
  }
  recvStream(slot: number): ByteStream {
    return new ByteStream(this.streams, slot * this.slotBytes + STREAM_HEADER_BYTES + this.sendCap, this.recvCap);
  }

  /** RFC 6056 next_ephemeral: returns the current value and advances it. */
  nextEphemeral(): number {
    return Atomics.add(this.header, TableWord.NEXT_EPHEMERAL, 1) >>> 0;
  }
  nextAcceptOrder(): number {
    return Atomics.add(this.header, TableWord.ACCEPT_COUNTER, 1) >>> 0;
  }
}
