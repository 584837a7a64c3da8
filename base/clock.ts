// Time and randomness, injected into every core (cores own no clock, timer or random source).
// Threaded actors get the monotonic clock and crypto-seeded randomness; inline (deterministic)
// runs get a FakeClock and a SeededRandom so a whole network replays from one seed.

export interface Clock {
  /** Milliseconds, monotonic, fractional. */
  now(): number;
}

export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform 32-bit unsigned integer. */
  u32(): number;
}

/** CLOCK_MONOTONIC in ms: one time line for every thread of the process, so deadlines and
 *  timestamps stored in shared memory by one incarnation of an actor mean the same to the next
 *  (each worker's performance.now() counts from its own start). */
export class MonotonicClock implements Clock {
  now(): number {
    return Number(process.hrtime.bigint()) / 1e6;
  }
}

export class FakeClock implements Clock {
  constructor(private t = 0) {}
  now(): number {
    return this.t;
  }
  /** Moves time forward (never backward). */
  advanceTo(t: number): void {
    if (t > this.t) this.t = t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

/** xoshiro128** (Blackman & Vigna), seeded through splitmix32: small, fast, good enough for
 *  simulation. Not for security (ISNs in threaded mode come from crypto). */
export class SeededRandom implements Random {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  constructor(seed: number) {
    let x = seed >>> 0;
    const split = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = split();
    this.s1 = split();
    this.s2 = split();
    this.s3 = split();
  }
  u32(): number {
    const r = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return r;
  }
  next(): number {
    return this.u32() / 4294967296;
  }
  /** A child generator (for one actor or link) that does not disturb this one's sequence. */
  fork(salt: number): SeededRandom {
    return new SeededRandom((this.u32() ^ Math.imul(salt, 0x9e3779b1)) >>> 0);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** Crypto-seeded random for threaded actors. */
export class CryptoRandom implements Random {
  private buf = new Uint32Array(256);
  private i = 256;
  u32(): number {
    if (this.i >= this.buf.length) {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      require('node:crypto').getRandomValues(this.buf);
      this.i = 0;
    }
    return this.buf[this.i++];
  }
  next(): number {
    return this.u32() / 4294967296;
  }
}
