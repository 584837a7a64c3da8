// TCP sequence-number arithmetic modulo 2^32, in one place, so no other file compares sequence
// numbers with plain `<`. Follows RFC 9293 §3.4 ("Sequence Numbers") and RFC 1982 (serial number
// arithmetic, with SERIAL_BITS = 32).
//
// RFC 9293 §3.4: "It is essential to remember that the actual sequence number space is finite,
// though very large. This space ranges from 0 to 2^32 - 1. Since the space is finite, all
// arithmetic dealing with sequence numbers must be performed modulo 2^32. ... The symbol "=<"
// means "less than or equal" (modulo 2^32)."
//
// Sequence numbers are JS numbers in [0, 2^32). Comparisons look at the signed 32-bit difference
// (b - a) | 0, so a < b when b is less than 2^31 ahead of a. As RFC 1982 §3.2 notes, a pair
// exactly 2^31 apart is undefined; here seqDiff gives -2^31 for it, so seqLt(a, a + 2^31) is
// false and seqGt is true (consistent and antisymmetric except at that one distance).

/** An unsigned 32-bit sequence number. */
export type SeqNum = number;

/** a + n mod 2^32 (n may be negative). */
export function seqAdd(a: SeqNum, n: number): SeqNum {
  return (a + n) >>> 0;
}

/** The signed 32-bit distance a - b: positive when a is after b. */
export function seqSub(a: SeqNum, b: SeqNum): number {
  return (a - b) | 0;
}

/** Alias of seqSub. */
export const seqDiff = seqSub;

/** a < b (mod 2^32). */
export function seqLt(a: SeqNum, b: SeqNum): boolean {
  return ((a - b) | 0) < 0;
}
/** a =< b (mod 2^32). */
export function seqLe(a: SeqNum, b: SeqNum): boolean {
  return ((a - b) | 0) <= 0;
}
/** a > b (mod 2^32). */
export function seqGt(a: SeqNum, b: SeqNum): boolean {
  return ((a - b) | 0) > 0;
}
/** a >= b (mod 2^32). */
export function seqGe(a: SeqNum, b: SeqNum): boolean {
  return ((a - b) | 0) >= 0;
}

/** The later of two sequence numbers. */
export function seqMax(a: SeqNum, b: SeqNum): SeqNum {
  return ((a - b) | 0) >= 0 ? a >>> 0 : b >>> 0;
}
/** The earlier of two sequence numbers. */
export function seqMin(a: SeqNum, b: SeqNum): SeqNum {
  return ((a - b) | 0) <= 0 ? a >>> 0 : b >>> 0;
}

/** start =< seq < start + len (mod 2^32), for a window of `len` (0 <= len < 2^31) octets
 *  starting at `start`. With len = 0 nothing is in the window. This is the building block of
 *  RFC 9293 §3.10.7.4's acceptability test ("RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND"); the
 *  zero-window special cases of that table stay with the caller. */
export function inWindow(seq: SeqNum, start: SeqNum, len: number): boolean {
  return ((seq - start) >>> 0) < len;
}

/** lo =< seq =< hi (mod 2^32), e.g. RFC 9293 §3.10.7.4 "SND.UNA < SEG.ACK =< SND.NXT" is
 *  seqBetween(ack, una + 1, nxt). */
export function seqBetween(seq: SeqNum, lo: SeqNum, hi: SeqNum): boolean {
  return ((seq - lo) >>> 0) <= ((hi - lo) >>> 0);
}
