// Small big-endian byte helpers shared by the wire formats in protocol/ (network byte order,
// RFC 1700 "Data Notations": "the most significant octet ... is transmitted first").
// Pure; no DataView, so reads inline to plain indexed loads.

/** True when [off, off+len) is a valid integer range inside `buf`. Written so NaN, negative,
 *  fractional and oversized values all fail; every parser calls it before touching bytes. */
export function rangeOk(buf: Uint8Array, off: number, len: number): boolean {
  return (off | 0) === off && (len | 0) === len && off >= 0 && len >= 0 && off + len <= buf.length;
}

export function readU16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

export function readU32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

export function writeU16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v;
}

export function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

import { ParseOk } from './result';

const OK_WRAPPER = Symbol('salamander.okWrapper');

/** The Ok result for a caller-provided (reused) header value, made once per value and kept on it
 *  under a non-enumerable symbol, so parsing into a reused header allocates no result object.
 *  (An Ok is immutable and always wraps the same value, so sharing it is safe.) */
export function okReused<T extends object>(value: T): ParseOk<T> {
  const w = (value as { [OK_WRAPPER]?: ParseOk<T> })[OK_WRAPPER];
  if (w !== undefined) return w;
  const made: ParseOk<T> = Object.freeze({ ok: true as const, value });
  Object.defineProperty(value, OK_WRAPPER, { value: made, enumerable: false, writable: false, configurable: false });
  return made;
}
