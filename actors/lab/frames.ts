// Self-checking test frames for the lab actors (source -> relay... -> sink): a 16-byte header
// [magic u32][seq f64][len u32] then a payload that is a pure function of (seq, i), so a sink
// can tell whole, in-order frames from torn, corrupted, duplicated or missing ones.

export const FRAME_MAGIC = 0x53414c41; // "SALA"
export const FRAME_HEADER = 16;

export function payloadByte(seq: number, i: number): number {
  return (seq * 31 + i * 7 + (i >>> 8)) & 0xff;
}

/** Writes frame `seq` of `len` bytes (len >= FRAME_HEADER) at bytes[off..). */
export function writeFrame(bytes: Uint8Array, off: number, len: number, seq: number): void {
  const dv = new DataView(bytes.buffer, bytes.byteOffset + off, FRAME_HEADER);
  dv.setUint32(0, FRAME_MAGIC, true);
  dv.setFloat64(4, seq, true);
  dv.setUint32(12, len, true);
  for (let i = FRAME_HEADER; i < len; i++) bytes[off + i] = payloadByte(seq, i);
}

/** Returns the frame's seq, or -1 if the frame is torn or corrupt. `full` checks every byte. */
export function checkFrame(bytes: Uint8Array, off: number, len: number, full = true): number {
  if (len < FRAME_HEADER) return -1;
  const dv = new DataView(bytes.buffer, bytes.byteOffset + off, FRAME_HEADER);
  if (dv.getUint32(0, true) !== FRAME_MAGIC || dv.getUint32(12, true) !== len) return -1;
  const seq = dv.getFloat64(4, true);
  if (!Number.isInteger(seq) || seq < 0) return -1;
  if (full) for (let i = FRAME_HEADER; i < len; i++) if (bytes[off + i] !== payloadByte(seq, i)) return -1;
  else if (len > FRAME_HEADER && bytes[off + len - 1] !== payloadByte(seq, len - 1)) return -1;
  return seq;
}
