// Sequence-number range lists [left, right) kept sorted, disjoint and bounded, in the flat
// [l0, r0, l1, r1, ...] form stored in a TCB. Shared by out-of-order reassembly and the SACK
// scoreboard. All comparisons are modulo 2^32 (protocol/seq.ts).

import { seqGe, seqGt, seqLe, seqLt, seqMax, seqMin, seqSub } from '../../protocol/seq';

/** Adds [l, r) merging neighbours. Returns the index (range number) of the range now holding
 *  it, or -1 if adding would exceed `maxRanges` ranges (then the list is unchanged). */
export function addRange(list: number[], l: number, r: number, maxRanges: number): number {
  if (!seqLt(l, r)) return -1;
  let i = 0;
  while (i < list.length && seqLt(list[i + 1], l)) i += 2;
  // list[i..] ranges end at or after l
  let j = i;
  let nl = l;
  let nr = r;
  while (j < list.length && seqLe(list[j], r)) {
    nl = seqMin(nl, list[j]);
    nr = seqMax(nr, list[j + 1]);
    j += 2;
  }
  if (j === i && list.length / 2 >= maxRanges) return -1;
  list.splice(i, j - i, nl, nr);
  return i / 2;
}

/** Drops everything below `seq` (ranges entirely below go, a straddling one is cut). */
export function trimBelow(list: number[], seq: number): void {
  let k = 0;
  while (k < list.length && seqLe(list[k + 1], seq)) k += 2;
  if (k > 0) list.splice(0, k);
  if (list.length > 0 && seqLt(list[0], seq)) list[0] = seq;
}

/** Total bytes covered. */
export function rangesBytes(list: number[]): number {
  let n = 0;
  for (let i = 0; i < list.length; i += 2) n += seqSub(list[i + 1], list[i]);
  return n;
}

/** Bytes covered within [from, to). */
export function coveredIn(list: number[], from: number, to: number): number {
  let n = 0;
  for (let i = 0; i < list.length; i += 2) {
    const l = seqMax(list[i], from);
    const r = seqMin(list[i + 1], to);
    if (seqGt(r, l)) n += seqSub(r, l);
  }
  return n;
}

/** True if seq lies in a range. */
export function inRanges(list: number[], seq: number): boolean {
  for (let i = 0; i < list.length; i += 2) if (seqGe(seq, list[i]) && seqLt(seq, list[i + 1])) return true;
  return false;
}
