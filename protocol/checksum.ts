// The Internet checksum (RFC 1071), its pseudo-headers (RFC 768/9293 for IPv4, RFC 8200 §8.1
// for IPv6) and incremental update (RFC 1624). Pure and allocation-free.
//
// RFC 1071 §2: "Adjacent octets to be checksummed are paired to form 16-bit integers, and the
// 1's complement sum of these 16-bit integers is formed." We add 16-bit words into a plain JS
// number (exact up to 2^53, so no carry folding is needed inside the loop) and fold at the end.
// For 64 bytes and more we read 32-bit words through a Uint32Array view over the buffer (little
// endian host), which quarters the loop count; the byte order swap is done once on the folded sum
// (RFC 1071 §2(B): the sum is byte-order independent up to a final swap). Unaligned and odd
// offsets take the same path (see sum16).

const littleEndianHost = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

// One Uint32Array over the whole ArrayBuffer of the last buffer summed, so the fast path does not
// allocate a view per call. Re-made when the buffer changes, grows, shrinks or is detached.
let wordsBuffer: ArrayBufferLike | null = null;
let words32: Uint32Array<ArrayBufferLike> = new Uint32Array(0);
function wordsOf(buffer: ArrayBufferLike): Uint32Array {
  if (buffer !== wordsBuffer || words32.length !== buffer.byteLength >>> 2) {
    wordsBuffer = buffer;
    words32 = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
  }
  return words32;
}

/** 2^21 words: a chunk whose sum of 32-bit words stays exact in a double (< 2^53). */
const CHUNK_WORDS = 1 << 21;

function swap16(x: number): number {
  return ((x & 0xff) << 8) | (x >>> 8);
}

/** Byte loop: big-endian 16-bit words, odd trailing byte padded with zero. */
function sumBytes(b: Uint8Array, i: number, end: number): number {
  let s = 0;
  for (; i + 1 < end; i += 2) s += (b[i] << 8) | b[i + 1];
  if (i < end) s += b[i] << 8; // RFC 1071: pad an odd trailing byte with zero
  return s;
}

/** Sum of [i, end) where b.byteOffset + i is even: one 16-bit word to reach 4-byte alignment,
 *  then 32-bit little-endian words summed in a double, folded and swapped to network order. */
function sumEven(b: Uint8Array, i: number, end: number): number {
  let s = 0;
  if (((b.byteOffset + i) & 2) !== 0) {
    s += (b[i] << 8) | b[i + 1];
    i += 2;
  }
  const u32 = wordsOf(b.buffer);
  let k = (b.byteOffset + i) >>> 2;
  let remaining = (end - i) >>> 2;
  i += remaining << 2;
  while (remaining > 0) {
    const n = remaining < CHUNK_WORDS ? remaining : CHUNK_WORDS;
    const kend = k + n;
    let a0 = 0;
    let a1 = 0;
    for (; k + 8 <= kend; k += 8) {
      a0 += u32[k] + u32[k + 1] + u32[k + 2] + u32[k + 3];
      a1 += u32[k + 4] + u32[k + 5] + u32[k + 6] + u32[k + 7];
    }
    for (; k < kend; k++) a0 += u32[k];
    s += swap16(fold(a0 + a1));
    remaining -= n;
  }
  return s + sumBytes(b, i, end);
}

/** Unfolded 1's complement partial sum of bytes [off, off+len) of `b`, in network byte order,
 *  added to `initial`. Use `finish()` to fold and complement.
 *  Any offset is fast: an odd start address sums its first byte alone and the rest with the byte
 *  pairing shifted by one, which RFC 1071 §2(B) lets us undo with one byte swap of the folded
 *  sum ("the sum of byte-swapped words is the byte-swapped sum"). */
export function sum16(b: Uint8Array, off: number, len: number, initial = 0): number {
  const end = off + len;
  if (len < 64 || !littleEndianHost) return sumBytes(b, off, end) + initial;
  if (((b.byteOffset + off) & 1) === 0) return sumEven(b, off, end) + initial;
  return (b[off] << 8) + swap16(fold(sumEven(b, off + 1, end))) + initial;
}

/** Folds a partial sum to 16 bits (no complement). */
export function fold(s: number): number {
  // `s & 0xffff` is exact for integers below 2^53 (ToInt32 works modulo 2^32).
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return s;
}

/** Folds and complements: the value to put in a checksum field (0 stays 0xffff-free: callers
 *  with UDP semantics map 0 to 0xffff themselves). */
export function finish(s: number): number {
  return ~fold(s) & 0xffff;
}

/** The checksum of a byte range. */
export function checksum(b: Uint8Array, off = 0, len = b.length - off, initial = 0): number {
  return finish(sum16(b, off, len, initial));
}

/** Partial sum of the IPv4 pseudo-header (RFC 9293 §3.1): src, dst, zero, protocol, length.
 *  Addresses are 32-bit unsigned numbers. */
export function pseudoSumV4(src: number, dst: number, protocol: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length;
}

/** Partial sum of the IPv6 pseudo-header (RFC 8200 §8.1): src, dst (16 bytes each, read from
 *  `b` at the given offsets), upper-layer length (32-bit), next header. */
export function pseudoSumV6(
  b: Uint8Array, srcOff: number, dstOff: number, nextHeader: number, length: number,
): number {
  let s = 0;
  for (let i = 0; i < 16; i += 2) s += ((b[srcOff + i] << 8) | b[srcOff + i + 1]) + ((b[dstOff + i] << 8) | b[dstOff + i + 1]);
  return s + (length >>> 16) + (length & 0xffff) + nextHeader;
}

/** Same as pseudoSumV6 with the addresses in separate 16-byte arrays. */
export function pseudoSumV6Addrs(src: Uint8Array, dst: Uint8Array, nextHeader: number, length: number): number {
  let s = 0;
  for (let i = 0; i < 16; i += 2) s += ((src[i] << 8) | src[i + 1]) + ((dst[i] << 8) | dst[i + 1]);
  return s + (length >>> 16) + (length & 0xffff) + nextHeader;
}

/** RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for one 16-bit field changing from m to m'. */
export function incrementalUpdate16(oldChecksum: number, oldWord: number, newWord: number): number {
  const s = (~oldChecksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  return ~fold(s) & 0xffff;
}

/** RFC 1624 for a 32-bit field (for example an IPv4 address in a NAT rewrite). */
export function incrementalUpdate32(oldChecksum: number, oldValue: number, newValue: number): number {
  const c = incrementalUpdate16(oldChecksum, oldValue >>> 16, newValue >>> 16);
  return incrementalUpdate16(c, oldValue & 0xffff, newValue & 0xffff);
}
