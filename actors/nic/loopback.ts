// loopback: every frame written comes back in on the same link at the next poll(). Useful for a
// stack talking to itself and for testing wrappers. Frames are copied into a bounded FIFO;
// a full FIFO is back-pressure (BUSY). Administratively down drops and counts ('link-down');
// carrier is always on.

import { BaseLink, BaseLinkOptions, WriteStatus } from './link';

export interface LoopbackOptions extends BaseLinkOptions {
  /** Frames held between write() and poll(). Default 1024. */
  queueFrames?: number;
}

export class LoopbackLink extends BaseLink {
  readonly kind = 'loopback';
  private readonly queue: Uint8Array[] = [];
  private head = 0;
  private readonly limit: number;

  constructor(opts: LoopbackOptions = {}) {
    super({ mtu: 65535 - 14, ...opts });
    this.limit = opts.queueFrames ?? 1024;
  }

  write(bytes: Uint8Array, off: number, len: number, _now: number): WriteStatus {
    if (!this.admit(len)) return WriteStatus.DROPPED;
    if (this.queue.length - this.head >= this.limit) return WriteStatus.BUSY;
    this.queue.push(bytes.slice(off, off + len));
    this.counters.tx(len);
    return WriteStatus.SENT;
  }

  poll(now: number, budget: number): number {
    let n = 0;
    while (n < budget && this.head < this.queue.length) {
      const f = this.queue[this.head++];
      if (!this.running) {
        this.counters.drop('link-down');
        continue;
      }
      n++;
      this.counters.rx(f.length);
      this.receiver?.onFrame(f, 0, f.length, now);
    }
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head > 256) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return n;
  }

  /** Frames waiting to come back. */
  get pending(): number {
    return this.queue.length - this.head;
  }
}
