// The pluggable congestion-controller interface. A controller keeps all of its state in TCB
// words (cwnd, ssthresh, ccWMax, ...) so it survives a restart of the TCP actor with the rest of
// the connection; the controller objects themselves are stateless singletons.

import type { CcAlgo } from '../layout';
import type { Tcb } from '../tcb';

export interface CongestionController {
  readonly algo: CcAlgo;
  readonly name: 'newreno' | 'cubic';
  /** At establishment: the initial window and ssthresh. */
  init(t: Tcb, now: number, initialSegments: number): void;
  /** An ACK acknowledged `acked` new bytes outside loss recovery. */
  onAck(t: Tcb, acked: number, now: number): void;
  /** Entering loss recovery (fast retransmit): set ssthresh from the flight size. */
  onCongestion(t: Tcb, flight: number, now: number): void;
  /** A retransmission timeout: set ssthresh and the loss window. */
  onRto(t: Tcb, flight: number, now: number): void;
  /** Leaving loss recovery (the full ACK). */
  onRecoveryExit(t: Tcb, now: number): void;
}

/** RFC 6928 §2: "IW = min (10*MSS, max (2*MSS, 14600))", with MSS the send MSS. */
export function initialWindow(mss: number, segments: number): number {
  if (segments === 10) return Math.min(10 * mss, Math.max(2 * mss, 14600));
  return segments * mss;
}

/** Standard slow start, RFC 5681 §3.1: "During slow start, a TCP increments cwnd by at most SMSS
 *  bytes for each ACK received that cumulatively acknowledges new data ... cwnd += min (N, SMSS)". */
export function slowStart(t: Tcb, acked: number): number {
  const inc = Math.min(acked, t.mss);
  t.cwnd += inc;
  return acked - inc;
}
