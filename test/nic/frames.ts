// Test frames for the NIC tests: Ethernet frames that carry a sequence number, so a test can
// tell which frames arrived, in which order, duplicated or corrupted.

export const TEST_ETHERTYPE = 0x88b5; // IEEE 802 local experimental ethertype 1

/** A frame of `len` bytes (>= 22): dst, src, ethertype 0x88b5, u32 seq, then a pattern. */
export function seqFrame(seq: number, len = 64, dst = [0x02, 0, 0, 0, 0, 0xbb], src = [0x02, 0, 0, 0, 0, 0xaa]): Uint8Array {
  const f = new Uint8Array(len);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = TEST_ETHERTYPE >> 8;
  f[13] = TEST_ETHERTYPE & 0xff;
  new DataView(f.buffer).setUint32(14, seq >>> 0, false);
  for (let i = 18; i < len; i++) f[i] = (seq * 7 + i) & 0xff;
  return f;
}

export function frameSeq(b: Uint8Array, off = 0): number {
  return new DataView(b.buffer, b.byteOffset + off).getUint32(14, false);
}

/** Number of differing bits between two equal-length byte arrays. */
export function bitDiff(a: Uint8Array, b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    let x = a[i] ^ b[i];
    while (x) {
      n += x & 1;
      x >>= 1;
    }
  }
  return n;
}

/** A LinkReceiver that keeps copies of every frame and every state change. */
export class Collector {
  readonly frames: Uint8Array[] = [];
  readonly times: number[] = [];
  readonly states: Array<{ up: boolean; carrier: boolean }> = [];
  onFrame(bytes: Uint8Array, off: number, len: number, now: number): void {
    this.frames.push(bytes.slice(off, off + len));
    this.times.push(now);
  }
  onLinkState(s: { up: boolean; carrier: boolean }): void {
    this.states.push({ up: s.up, carrier: s.carrier });
  }
  seqs(): number[] {
    return this.frames.map((f) => frameSeq(f));
  }
}
