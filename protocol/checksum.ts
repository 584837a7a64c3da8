// The Internet checksum (RFC 1071), its pseudo-headers (RFC 768/9293 for IPv4, RFC 8200 §8.1
// for IPv6) and incremental update (RFC 1624). Pure and allocation-free.
//
// RFC 1071 §2: "Adjacent octets to be checksummed are paired to form 16-bit integers, and the
// 1's complement sum of these 16-bit integers is formed." We add 16-bit words into a plain JS
// number (exact up to 2^53, so no carry folding is needed inside the loop) and fold at the end.
// When the buffer is 4-byte aligned we read 32-bit words through a Uint32Array view (little
// endian host), which halves the loop count; the byte order swap is done once on the folded sum
// (RFC 1071 §2(B): the sum is byte-order independent up to a final swap).

const littleEndianHost = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Unfolded 1's complement partial sum of bytes [off, off+len) of `b`, in network byte order,
 *  added to `initial`. Use `finish()` to fold and complement. */
export function sum16(b: Uint8Array, off: number, len: number, initial = 0): number {
  let s = 0;
  let i = off;
  const end = off + len;
  // Fast path: 32-bit reads when aligned, accumulating little-endian words.
  if (littleEndianHost && len >= 64 && ((b.byteOffset + i) & 3) === 0) {
    const words = (end - i) >>> 2;
    const u32 = new Uint32Array(b.buffer, b.byteOffset + i, words);
    let lo = 0;
    let hi = 0;
    let k = 0;
    // Split each 32-bit word into two 16-bit halves; both stay far below 2^53 for any buffer
    // under 2^36 bytes.
    for (; k + 4 <= words; k += 4) {
      const w0 = u32[k], w1 = u32[k + 1], w2 = u32[k + 2], w3 = u32[k + 3];
      lo += (w0 & 0xffff) + (w1 & 0xffff) + (w2 & 0xffff) + (w3 & 0xffff);
      hi += (w0 >>> 16) + (w1 >>> 16) + (w2 >>> 16) + (w3 >>> 16);
    }
    for (; k < words; k++) {
      const w = u32[k];
      lo += w & 0xffff;
      hi += w >>> 16;
    }
    // lo/hi are sums of little-endian 16-bit words; fold and byte-swap to network order.
    let le = lo + hi;
    while (le > 0xffff) le = (le & 0xffff) + Math.floor(le / 65536);
    s += ((le & 0xff) << 8) | (le >>> 8);
    i += words << 2;
  }
  for (; i + 1 < end; i += 2) s += (b[i] << 8) | b[i + 1];
  if (i < end) s += b[i] << 8; // RFC 1071: pad an odd trailing byte with zero
  return s + initial;
}

/** Folds a partial sum to 16 bits (no complement). */
export function fold(s: number): number {
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
