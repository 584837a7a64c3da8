// Receive-side reassembly (RFC 9293 §3.10.7.4 "seventh, process the segment text"): in-order
// bytes go to the receive stream's HEAD and are published at once; out-of-order bytes are written
// into the same stream beyond HEAD, at the position their sequence number maps to, and remembered
// as a bounded list of ranges (OOO_MAX_RANGES) in the TCB. When a segment fills the hole at
// RCV.NXT, HEAD jumps over the contiguous ranges. Memory is bounded by the stream itself: the
// caller only accepts bytes inside the advertised window, which never exceeds the free space.

import { seqAdd, seqGt, seqLe, seqLt, seqMax, seqSub } from '../../protocol/seq';
import { OOO_MAX_RANGES, TcbFlag } from './layout';
import { addRange, trimBelow } from './ranges';
import { Tcb, hasFlag, rcvNxt } from './tcb';

export type ReassemblyOutcome =
  /** Appended at RCV.NXT; no out-of-order data was waiting. */
  | 'in-order'
  /** Appended at RCV.NXT and filled (part of) a hole. */
  | 'filled-gap'
  /** Stored beyond a hole. */
  | 'out-of-order'
  /** Nothing new (already received, or empty after trimming). */
  | 'duplicate'
  /** Out of order but the range list is full: dropped. */
  | 'no-room';

/** Places payload[off, off+len) with sequence number `seq`; `edge` is the right edge of what
 *  may be accepted. Returns the outcome and how far RCV.NXT moved. */
export function reassemble(
  t: Tcb, seq: number, payload: Uint8Array, off: number, len: number, edge: number,
): { outcome: ReassemblyOutcome; advanced: number } {
  if (hasFlag(t, TcbFlag.FIN_RCVD)) return { outcome: 'duplicate', advanced: 0 };
  const nxt = rcvNxt(t);
  if (seqLt(seq, nxt)) {
    const cut = seqSub(nxt, seq);
    if (cut >= len) return { outcome: 'duplicate', advanced: 0 };
    seq = nxt;
    off += cut;
    len -= cut;
  }
  // Never past the stream's free space, whatever the caller's window says.
  const bufEdge = seqAdd(t.rcvBase, (t.rcv.tail() + t.rcv.capacity) >>> 0);
  if (seqLt(bufEdge, edge)) edge = bufEdge;
  if (seqGt(seqAdd(seq, len), edge)) len = Math.max(0, seqSub(edge, seq));
  if (len <= 0) return { outcome: 'duplicate', advanced: 0 };
  const pos = seqSub(seq, t.rcvBase) >>> 0;
  if (seq === nxt) {
    t.rcv.copyIn(pos, payload, off, len);
    const hadOoo = t.oooList.length > 0;
    let newNxt = seqAdd(nxt, len);
    const l = t.oooList;
    while (l.length > 0 && seqLe(l[0], newNxt)) {
      newNxt = seqMax(newNxt, l[1]);
      l.splice(0, 2);
    }
    trimBelow(l, newNxt);
    const advanced = seqSub(newNxt, nxt);
    t.rcv.publish((t.rcv.head() + advanced) >>> 0); // the commit point of RCV.NXT
    return { outcome: hadOoo ? 'filled-gap' : 'in-order', advanced };
  }
  // Check for room before writing, so a refused segment leaves no trace at all.
  const probe = t.oooList.slice();
  if (addRange(probe, seq, seqAdd(seq, len), OOO_MAX_RANGES) < 0) return { outcome: 'no-room', advanced: 0 };
  t.rcv.copyIn(pos, payload, off, len);
  t.oooList = probe;
  t.oooLast = seq;
  return { outcome: 'out-of-order', advanced: 0 };
}

/** The SACK blocks to send (RFC 2018 §4): "The first SACK block ... MUST specify the contiguous
 *  block of data containing the segment which triggered this ACK, unless that segment advanced
 *  the Acknowledgment Number field in the header." The rest follow, highest first (we keep no
 *  per-block recency beyond the first; docs/tcp.md). */
export function sackBlocks(t: Tcb): { left: number; right: number }[] {
  const l = t.oooList;
  if (l.length === 0) return [];
  const out: { left: number; right: number }[] = [];
  let first = -1;
  for (let i = 0; i < l.length; i += 2) {
    if (seqLe(l[i], t.oooLast) && seqLt(t.oooLast, l[i + 1])) first = i;
  }
  if (first >= 0) out.push({ left: l[first], right: l[first + 1] });
  for (let i = l.length - 2; i >= 0; i -= 2) if (i !== first) out.push({ left: l[i], right: l[i + 1] });
  return out;
}
