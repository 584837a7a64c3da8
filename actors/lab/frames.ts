// Self-checking test frames for the lab actors (source -> relay... -> sink): a 16-byte header
// [magic u32][seq f64][len u32] then a payload cut from a fixed pseudo-random pattern at an
// offset that depends on seq, so a sink can tell whole, in-order frames from torn, corrupted,
// duplicated or missing ones. Writing is one memcpy and checking one memcmp per frame.

export const FRAME_MAGIC = 0x53414c41; // "SALA"
export const FRAME_HEADER = 16;
const MAX_FRAME = 1 << 20;

const PATTERN = (() => {
  const p = new Uint8Array(MAX_FRAME + 256);
  let x = 0x12345678;
  for (let i = 0; i < p.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    p[i] = x & 0xff;
  }
  return p;
})();

function patternFor(seq: number, n: number): Uint8Array {
  const o = seq % 251;
  return PATTERN.subarray(o, o + n);
}

/** Writes frame `seq` of `len` bytes (FRAME_HEADER <= len <= 1 MiB) at bytes[off..). */
export function writeFrame(bytes: Uint8Array, off: number, len: number, seq: number): void {
  const dv = new DataView(bytes.buffer, bytes.byteOffset + off, FRAME_HEADER);
  dv.setUint32(0, FRAME_MAGIC, true);
  dv.setFloat64(4, seq, true);
  dv.setUint32(12, len, true);
  bytes.set(patternFor(seq, len - FRAME_HEADER), off + FRAME_HEADER);
}

/** Returns the frame's seq, or -1 if the frame is torn or corrupt. `full` checks every byte. */
export function checkFrame(bytes: Uint8Array, off: number, len: number, full = true): number {
  if (len < FRAME_HEADER || len > MAX_FRAME) return -1;
  const dv = new DataView(bytes.buffer, bytes.byteOffset + off, FRAME_HEADER);
  if (dv.getUint32(0, true) !== FRAME_MAGIC || dv.getUint32(12, true) !== len) return -1;
  const seq = dv.getFloat64(4, true);
  if (!Number.isInteger(seq) || seq < 0) return -1;
  const n = len - FRAME_HEADER;
  const want = patternFor(seq, n);
  if (full) {
    const got = Buffer.from(bytes.buffer, bytes.byteOffset + off + FRAME_HEADER, n) as unknown as Uint8Array;
    if (Buffer.compare(got, want) !== 0) return -1;
  } else if (n > 0 && bytes[off + len - 1] !== want[n - 1]) return -1;
  return seq;
}
