// The sender's SACK scoreboard (RFC 2018 §5, RFC 6675 §4) over the TCB's bounded range list:
// updating it from received SACK blocks, the IsLost() threshold, SetPipe() and the holes that
// NextSeg() retransmits. The scoreboard holds at most SACK_MAX_RANGES ranges; blocks that do
// not fit are ignored (SACK is advisory, so this only slows recovery).

import { seqGe, seqGt, seqLe, seqLt, seqMax, seqMin, seqSub } from '../../protocol/seq';
import type { TcpSackBlock } from '../../protocol/tcp';
import { SACK_MAX_RANGES } from './layout';
import { addRange, coveredIn, trimBelow } from './ranges';
import type { Tcb } from './tcb';

/** RFC 6675 §2: "DupThresh ... Its default value is three". */
export const DUP_THRESH = 3;

/** Merges the blocks lying within (una, sndMax] into the scoreboard and drops what una passed.
 *  Returns the count of newly SACKed bytes. */
export function sackUpdate(t: Tcb, blocks: readonly TcpSackBlock[], una: number, sndMax: number): number {
  trimBelow(t.sackList, una);
  const before = coveredIn(t.sackList, una, sndMax);
  for (const b of blocks) {
    // RFC 2018 §4 / RFC 6675: ignore blocks that are not above SND.UNA or beyond what was sent
    // (a D-SACK below SND.UNA, or garbage).
    if (!seqLt(b.left, b.right) || seqLe(b.right, una) || seqGt(b.right, sndMax)) continue;
    addRange(t.sackList, seqMax(b.left, una), b.right, SACK_MAX_RANGES);
  }
  return coveredIn(t.sackList, una, sndMax) - before;
}

/** The sequence number below which every un-SACKed byte is lost. RFC 6675 §4 IsLost(SeqNum):
 *  "This routine returns whether the given sequence number is considered to be lost. The routine
 *  returns true when either DupThresh discontiguous SACKed sequences have arrived above 'SeqNum'
 *  or more than (DupThresh - 1) * SMSS bytes with sequence numbers greater than 'SeqNum' have been
 *  SACKed." Returns `una` when nothing is lost. */
export function lostBelow(t: Tcb, una: number): number {
  const l = t.sackList;
  let bytes = 0;
  let n = 0;
  for (let i = l.length - 2; i >= 0; i -= 2) {
    bytes += seqSub(l[i + 1], l[i]);
    n++;
    if (n >= DUP_THRESH || bytes > (DUP_THRESH - 1) * t.mss) return seqMax(l[i], una);
  }
  return una;
}

/** RFC 6675 SetPipe(): octets in flight: un-SACKed octets not lost, plus un-SACKed octets
 *  retransmitted in this recovery ("(a) If IsLost (S1) returns false: Pipe is incremented by 1
 *  octet. (b) If S1 <= HighRxt: Pipe is incremented by 1 octet."). */
export function pipe(t: Tcb, una: number, sndNxt: number, lost: number, highRxt: number): number {
  let p = 0;
  if (seqGt(sndNxt, lost)) p += seqSub(sndNxt, lost) - coveredIn(t.sackList, lost, sndNxt);
  const rEnd = seqMin(seqMin(highRxt, lost), sndNxt);
  if (seqGt(rEnd, una)) p += seqSub(rEnd, una) - coveredIn(t.sackList, una, rEnd);
  return p;
}

/** RFC 6675 NextSeg() rule (1): the first un-SACKed, lost range at or after `from`, cut to at
 *  most `max` bytes: [seq, len], or null. */
export function nextLostHole(t: Tcb, from: number, lost: number, max: number): [number, number] | null {
  let s = from;
  const l = t.sackList;
  for (let i = 0; i < l.length; i += 2) {
    if (seqLe(l[i + 1], s)) continue;
    if (seqLe(l[i], s)) {
      s = l[i + 1];
      continue;
    }
    // hole [s, l[i])
    if (seqGe(s, lost)) return null;
    const end = seqMin(l[i], lost);
    return [s, Math.min(max, seqSub(end, s))];
  }
  return null;
}
