// NewReno congestion control: RFC 5681 (slow start, congestion avoidance with byte counting,
// the loss window) and RFC 6582 (the window arithmetic of fast recovery; the recovery state
// machine itself is in core.ts, shared with SACK recovery).

import { CcAlgo } from '../layout';
import type { Tcb } from '../tcb';
import { CongestionController, initialWindow, slowStart } from './types';

export const NewReno: CongestionController = {
  algo: CcAlgo.NewReno,
  name: 'newreno',
  init(t, _now, iw) {
    t.cwnd = initialWindow(t.mss, iw);
    // RFC 5681 §3.1: "The initial value of ssthresh SHOULD be set arbitrarily high".
    t.ssthresh = 0x7fffffff;
    t.bytesAcked = 0;
  },
  onAck(t, acked) {
    if (t.cwnd < t.ssthresh) {
      slowStart(t, acked);
      return;
    }
    // RFC 5681 §3.1: "Another common formula that a TCP MAY use to update cwnd during congestion
    // avoidance is ... cwnd += SMSS*SMSS/cwnd" -- we use the byte-counting form it recommends:
    // "set cwnd to cwnd+SMSS when bytes_acked ... becomes greater than or equal to the value of
    // cwnd".
    t.bytesAcked += acked;
    if (t.bytesAcked >= t.cwnd) {
      t.bytesAcked -= t.cwnd;
      t.cwnd += t.mss;
    }
  },
  onCongestion(t, flight) {
    // RFC 5681 (4): "ssthresh = max (FlightSize / 2, 2*SMSS)"
    t.ssthresh = Math.max(Math.floor(flight / 2), 2 * t.mss);
    t.bytesAcked = 0;
  },
  onRto(t, flight) {
    t.ssthresh = Math.max(Math.floor(flight / 2), 2 * t.mss);
    // RFC 5681 §3.1: "Upon a timeout ... cwnd MUST be set to no more than the loss window, LW,
    // which equals 1 full-sized segment".
    t.cwnd = t.mss;
    t.bytesAcked = 0;
  },
  onRecoveryExit() {},
};
