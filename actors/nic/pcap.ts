// pcap: a wrapper that records every frame of a link, both directions, to a classic pcap file
// (protocol/pcap.ts: microsecond timestamps, LINKTYPE_ETHERNET) that tcpdump, tshark and
// Wireshark read. The bytes go to a PcapSink, so the wrapper itself does no I/O and tests can
// capture in memory; fileSink() is the fs.writeSync-based sink the NIC actor uses. Recording
// is switched at runtime with setSink() (a new sink starts with its own global header).
// Timestamps are `epochMs + now` (now = the caller's clock, ms), so a capture in a threaded
// stack carries wall-clock times and an inline run carries its virtual time.
// tx frames are recorded when the inner link takes them (SENT or DROPPED below, not BUSY, so a
// retried frame is recorded once); rx frames as they come up from the inner link.

import * as fs from 'node:fs';
import { pcapGlobalHeader, pcapRecord, LINKTYPE_ETHERNET } from '../../protocol/pcap';
import { CounterSink, Link, LinkWrapper, WriteStatus } from './link';

export interface PcapSink {
  write(bytes: Uint8Array): void;
  /** Flushes and releases the sink. */
  close?(): void;
}

/** Where a capture sits in a wrapper stack: 'stack' = what the stack sent and received (outside
 *  impair), 'wire' = what went over the link (inside impair). */
export type PcapPosition = 'stack' | 'wire';

export interface PcapConfig {
  /** File to write; null/absent = not recording. */
  path?: string | null;
  /** Default 'stack'. */
  at?: PcapPosition;
  /** Bytes kept per frame. Default 65535. */
  snapLen?: number;
  /** Which directions to record. Default both. */
  directions?: 'both' | 'tx' | 'rx';
}

/** Appends to a file with fs.writeSync (truncates it first). Each record is one write. */
export function fileSink(path: string): PcapSink {
  const fd = fs.openSync(path, 'w');
  let open = true;
  return {
    write(bytes) {
      if (!open) return;
      let off = 0;
      while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
    },
    close() {
      if (!open) return;
      open = false;
      fs.closeSync(fd);
    },
  };
}

/** Collects the capture in memory (tests). */
export class MemorySink implements PcapSink {
  readonly chunks: Uint8Array[] = [];
  closed = false;
  write(bytes: Uint8Array): void {
    this.chunks.push(Uint8Array.from(bytes));
  }
  close(): void {
    this.closed = true;
  }
  bytes(): Uint8Array {
    const n = this.chunks.reduce((a, c) => a + c.length, 0);
    const out = new Uint8Array(n);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

export interface PcapOptions {
  sink?: PcapSink | null;
  snapLen?: number;
  directions?: 'both' | 'tx' | 'rx';
  /** Wall-clock ms at now = 0. Default performance.timeOrigin (matches a performance.now()
   *  clock); pass 0 for virtual time. */
  epochMs?: number;
  counters?: CounterSink;
  counterPrefix?: string;
}

export class PcapLink extends LinkWrapper {
  readonly kind = 'pcap';
  private sink: PcapSink | null = null;
  private readonly snapLen: number;
  private recTx: boolean;
  private recRx: boolean;
  private readonly epochMs: number;

  constructor(inner: Link, opts: PcapOptions = {}) {
    super(inner, opts.counters, opts.counterPrefix ?? 'pcap.');
    this.snapLen = opts.snapLen ?? 65535;
    const d = opts.directions ?? 'both';
    this.recTx = d !== 'rx';
    this.recRx = d !== 'tx';
    this.epochMs = opts.epochMs ?? performance.timeOrigin;
    if (opts.sink) this.setSink(opts.sink);
  }

  /** Starts recording to `sink` (closing the previous one), or stops with null. */
  setSink(sink: PcapSink | null): void {
    const old = this.sink;
    this.sink = null;
    try {
      old?.close?.();
    } catch {
      this.counters.error();
    }
    if (sink) {
      sink.write(pcapGlobalHeader(LINKTYPE_ETHERNET, this.snapLen));
      this.sink = sink;
    }
  }

  get recording(): boolean {
    return this.sink !== null;
  }

  private record(bytes: Uint8Array, off: number, len: number, now: number): void {
    const sink = this.sink;
    if (!sink) return;
    const cap = Math.min(len, this.snapLen);
    try {
      sink.write(pcapRecord(Math.round((this.epochMs + now) * 1000), bytes.subarray(off, off + cap), len));
    } catch {
      // A failing disk must not take the link down: stop recording and count it.
      this.counters.error();
      this.sink = null;
    }
  }

  override write(bytes: Uint8Array, off: number, len: number, now: number): WriteStatus {
    const st = this.inner.write(bytes, off, len, now);
    if (st !== WriteStatus.BUSY && this.recTx && this.sink) {
      this.record(bytes, off, len, now);
      this.counters.tx(len);
    }
    return st;
  }

  override onFrame(bytes: Uint8Array, off: number, len: number, now: number): void {
    if (this.recRx && this.sink) {
      this.record(bytes, off, len, now);
      this.counters.rx(len);
    }
    this.receiver?.onFrame(bytes, off, len, now);
  }

  override close(): void {
    this.setSink(null);
    super.close();
  }
}
