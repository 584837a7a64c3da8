// Exact-length reads from a stream socket for the services' handshakes (iperf3 control, SOCKS5).
// Bounded: a peer that sends more than `limit` unread bytes is cut off.

import type { SocketLike } from './types';

export class ByteReader {
  private chunks: Buffer[] = [];
  private have = 0;
  private want: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;
  private readonly onData = (d: Uint8Array): void => {
    this.chunks.push(Buffer.from(d.buffer, d.byteOffset, d.byteLength));
    this.have += d.byteLength;
    if (this.have > this.limit) {
      this.fail(new Error(`peer sent more than ${this.limit} bytes ahead`));
      this.socket.destroy();
    }
    this.pump();
  };
  private readonly onEnd = (): void => this.fail(new Error('connection closed by the peer'));
  private readonly onClose = (): void => this.fail(new Error('connection closed'));
  private readonly onError = (e: Error): void => this.fail(e);

  constructor(private readonly socket: SocketLike, private readonly limit: number) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onClose);
    socket.on('error', this.onError);
  }

  /** Resolves with exactly n bytes, or rejects once the socket is gone. One read at a time. */
  read(n: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.want = { n, resolve, reject };
      this.pump();
    });
  }

  fail(e: Error): void {
    this.failure ??= e;
    this.pump();
  }

  /** Stop reading: remove the listeners and return the bytes received but not read. */
  detach(): Buffer {
    this.socket.removeListener('data', this.onData);
    this.socket.removeListener('end', this.onEnd);
    this.socket.removeListener('close', this.onClose);
    this.socket.removeListener('error', this.onError);
    const rest = Buffer.concat(this.chunks);
    this.chunks = [];
    this.have = 0;
    return rest;
  }

  private pump(): void {
    const w = this.want;
    if (!w) return;
    if (this.have >= w.n) {
      const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
      this.chunks = all.length > w.n ? [all.subarray(w.n)] : [];
      this.have -= w.n;
      this.want = null;
      w.resolve(all.subarray(0, w.n));
    } else if (this.failure) {
      this.want = null;
      w.reject(this.failure);
    }
  }
}
