// Receive-side decisions, without I/O: the window to advertise (receiver silly-window avoidance,
// never shrinking, window scaling), receive-buffer auto-tuning, and when to acknowledge
// (delayed ACK, quick ACK).

import { seqAdd, seqGt, seqLt, seqSub } from '../../protocol/seq';
import { TcbFlag } from './layout';
import { Tcb, hasFlag, rcvNxt, setFlag } from './tcb';

/** Bytes the receive stream can take now beyond RCV.NXT, within the auto-tuned limit. */
export function rcvSpace(t: Tcb): number {
  const used = t.rcv.used();
  const free = t.rcv.capacity - used;
  return Math.max(0, Math.min(free, t.rcvBufLimit - used));
}

/** Updates RCV.NXT + RCV.WND (t.rcvAdv) and returns the window to put in the header (already
 *  shifted when `scaled`). RFC 9293 §3.8.6.2.2: "The suggested SWS avoidance algorithm for the
 *  receiver is to keep RCV.NXT+RCV.WND fixed until the reduction satisfies:
 *  RCV.BUFF - RCV.USER - RCV.WND >= min( Fr * RCV.BUFF, Eff.snd.MSS )" (Fr = 1/2). And §3.8.6:
 *  "the receiver ... SHOULD NOT shrink the window, i.e., move the right window edge to the left". */
export function advertiseWindow(t: Tcb, scaled: boolean): number {
  const nxt = rcvNxt(t);
  if (seqLt(t.rcvAdv, nxt)) t.rcvAdv = nxt;
  const cur = seqSub(t.rcvAdv, nxt);
  const space = rcvSpace(t);
  const buff = Math.min(t.rcv.capacity, t.rcvBufLimit);
  if (space > cur && space - cur >= Math.min(buff / 2, t.advMss)) t.rcvAdv = seqAdd(nxt, space);
  const wnd = seqSub(t.rcvAdv, nxt);
  const shift = scaled ? t.rcvWscale : 0;
  const field = Math.min(0xffff, Math.floor(wnd / Math.pow(2, shift)));
  setFlag(t, TcbFlag.ZERO_WND_SENT, field === 0);
  return field;
}

/** Whether an ACK carrying a window update is worth sending after the application read: the
 *  right edge would move by at least two segments or half the buffer, or a zero window opens. */
export function windowUpdateDue(t: Tcb): boolean {
  // Once the peer's FIN is in (CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT) it sends no more data,
  // so a window update is useless, and in TIME-WAIT harmful: the peer may have left LAST-ACK
  // and answer it with a RST (RFC 1337 hazard; lab tcp-short-conns).
  if (hasFlag(t, TcbFlag.FIN_RCVD)) return false;
  const nxt = rcvNxt(t);
  const edge = seqAdd(nxt, rcvSpace(t));
  if (!seqGt(edge, t.rcvAdv)) return false;
  const inc = seqSub(edge, t.rcvAdv);
  if (hasFlag(t, TcbFlag.ZERO_WND_SENT)) return inc >= Math.min(t.advMss, t.rcv.capacity / 2);
  return inc >= Math.min(2 * t.advMss, t.rcv.capacity / 2);
}

/** Receive-buffer auto-tuning (like Linux's dynamic right-sizing; no RFC): once per smoothed RTT,
 *  if the peer delivered more than half of the current limit, double the limit (up to the
 *  stream's capacity), so the window never caps a sender that keeps up. */
export function autotune(t: Tcb, now: number): void {
  if (t.rcvBufLimit >= t.rcv.capacity) return;
  const rtt = t.srtt > 0 ? t.srtt : 100;
  if (t.rcvSpaceTime === 0) {
    t.rcvSpaceTime = now;
    t.rcvSpaceSeq = rcvNxt(t);
    return;
  }
  if (now - t.rcvSpaceTime < rtt) return;
  const got = seqSub(rcvNxt(t), t.rcvSpaceSeq);
  if (2 * got > t.rcvBufLimit) t.rcvBufLimit = Math.min(t.rcv.capacity, Math.max(2 * t.rcvBufLimit, 2 * got));
  t.rcvSpaceTime = now;
  t.rcvSpaceSeq = rcvNxt(t);
}

/** The window shift to offer for a stream of `capacity` bytes (RFC 7323 §2.3, max 14). */
export function windowShiftFor(capacity: number): number {
  let s = 0;
  while (s < 14 && 0xffff * Math.pow(2, s) < capacity) s++;
  return s;
}
