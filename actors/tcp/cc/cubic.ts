// CUBIC congestion control, RFC 9438: the cubic window function W_cubic(t) = C*(t-K)^3 + W_max
// (§4.2), the Reno-friendly region W_est (§4.3), concave/convex growth with the target clamped to
// [cwnd, 1.5*cwnd] (§4.4, §4.5), multiplicative decrease with beta_cubic = 0.7 (§4.6), fast
// convergence (§4.7) and the timeout reaction (§4.8). Slow start is RFC 5681's (no HyStart++).
// The state lives in TCB words (ccWMax, ccK, ccEpoch, ccWEst, ccWLastMax). Windows are computed
// in segments, as the RFC does, and stored in bytes.

import { CcAlgo } from '../layout';
import type { Tcb } from '../tcb';
import { CongestionController, initialWindow, slowStart } from './types';

/** RFC 9438 §5: "C SHOULD be set to 0.4". */
const C = 0.4;
/** RFC 9438 §4.6: "beta_cubic SHOULD be set to 0.7". */
const BETA = 0.7;
/** RFC 9438 §4.3: alpha_cubic = 3 * (1 - beta_cubic) / (1 + beta_cubic). */
const ALPHA = (3 * (1 - BETA)) / (1 + BETA);

function startEpoch(t: Tcb, now: number): void {
  const mss = t.mss;
  const cwnd = t.cwnd / mss;
  const wmax = t.ccWMax / mss;
  t.ccEpoch = now > 0 ? now : 1;
  // RFC 9438 (2): "K = cubic_root((W_max - cwnd_epoch) / C)"
  if (wmax > cwnd) {
    t.ccK = Math.cbrt((wmax - cwnd) / C);
  } else {
    t.ccK = 0;
    t.ccWMax = t.cwnd;
  }
  // §4.3: "W_est is set equal to cwnd_epoch at the start of the congestion avoidance stage."
  t.ccWEst = t.cwnd;
}

function reduce(t: Tcb, flight: number): void {
  const mss = t.mss;
  // §4.7 fast convergence: "if (cwnd < W_max) ... W_max = cwnd * (1 + beta_cubic) / 2; else
  // W_max = cwnd" (W_lastmax keeps the previous W_max).
  if (t.ccWLastMax > 0 && t.cwnd < t.ccWLastMax) {
    t.ccWLastMax = t.cwnd;
    t.ccWMax = (t.cwnd * (1 + BETA)) / 2;
  } else {
    t.ccWLastMax = t.cwnd;
    t.ccWMax = t.cwnd;
  }
  // §4.6: "ssthresh = flight_size * beta_cubic" ... "ssthresh = max(ssthresh, 2)" (segments).
  t.ssthresh = Math.max(Math.floor(flight * BETA), 2 * mss);
  t.ccEpoch = 0;
  t.bytesAcked = 0;
}

export const Cubic: CongestionController = {
  algo: CcAlgo.Cubic,
  name: 'cubic',
  init(t, _now, iw) {
    t.cwnd = initialWindow(t.mss, iw);
    t.ssthresh = 0x7fffffff;
    t.ccWMax = 0;
    t.ccWLastMax = 0;
    t.ccEpoch = 0;
    t.ccK = 0;
    t.ccWEst = 0;
    t.bytesAcked = 0;
  },
  onAck(t, acked, now) {
    if (t.cwnd < t.ssthresh) {
      acked = slowStart(t, acked);
      if (acked <= 0 || t.cwnd < t.ssthresh) return;
    }
    if (t.ccEpoch === 0) startEpoch(t, now);
    const mss = t.mss;
    const cwnd = t.cwnd / mss;
    const segs = acked / mss;
    const rtt = (t.srtt > 0 ? t.srtt : 100) / 1000;
    const el = (now - t.ccEpoch) / 1000;
    const wmax = t.ccWMax / mss;
    const wCubic = (x: number): number => C * Math.pow(x - t.ccK, 3) + wmax;
    // §4.3 (4): "W_est = W_est + alpha_cubic * segments_acked / cwnd"
    t.ccWEst += ((ALPHA * segs) / cwnd) * mss;
    if (wCubic(el) < t.ccWEst / mss) {
      // §4.3: "When receiving a new ACK in congestion avoidance (where cwnd could be greater
      // than or less than W_max), CUBIC checks whether W_cubic(t) is less than W_est. If so,
      // CUBIC is in the Reno-friendly region and cwnd SHOULD be set to W_est at each reception
      // of a new ACK."
      t.cwnd = Math.max(t.cwnd, Math.floor(t.ccWEst));
      return;
    }
    // §4.4/4.5: target = W_cubic(t + RTT) clamped: "if target < cwnd: target = cwnd; if
    // target > 1.5 * cwnd: target = 1.5 * cwnd"; "cwnd SHOULD be incremented by
    // (target - cwnd) / cwnd for each received new ACK" (per segment acked).
    let target = wCubic(el + rtt);
    if (target < cwnd) target = cwnd;
    if (target > 1.5 * cwnd) target = 1.5 * cwnd;
    t.bytesAcked += ((target - cwnd) / cwnd) * segs * mss;
    if (t.bytesAcked >= 1) {
      const inc = Math.floor(t.bytesAcked);
      t.cwnd += inc;
      t.bytesAcked -= inc;
    }
  },
  onCongestion(t, flight) {
    reduce(t, flight);
  },
  onRto(t, flight) {
    // §4.8: "CUBIC MUST [...] set ssthresh the same way as with a congestion event, and
    // set cwnd = 1 MSS" (after a timeout, the epoch restarts).
    reduce(t, flight);
    t.cwnd = t.mss;
  },
  onRecoveryExit(t) {
    t.ccEpoch = 0;
  },
};
