// Round-trip time estimation and the retransmission timeout, RFC 6298, on a TCB's words
// (srtt, rttvar, rto, backoff). Times in ms.

import type { Tcb } from './tcb';

export interface RtoLimits {
  /** RFC 6298 2.4 allows a lower bound below 1 s; we use 200 ms like Linux (docs/tcp.md). */
  min: number;
  /** RFC 6298 2.5: "A maximum value MAY be placed on RTO provided it is at least 60 seconds." */
  max: number;
  /** RFC 6298 2.1: "Until a round-trip time (RTT) measurement has been made ... the sender
   *  SHOULD set RTO <- 1 second". */
  initial: number;
}

/** Clock granularity G (ms). */
const G = 1;
const ALPHA = 1 / 8;
const BETA = 1 / 4;
const K = 4;

export function rttInit(t: Tcb, lim: RtoLimits): void {
  t.srtt = 0;
  t.rttvar = 0;
  t.rto = lim.initial;
  t.backoff = 0;
}

/** Takes one RTT measurement R (ms). */
export function rttSample(t: Tcb, r: number, lim: RtoLimits): void {
  if (!(r >= 0)) return;
  if (r < 1) r = 1;
  if (t.srtt === 0) {
    // RFC 6298 2.2: "When the first RTT measurement R is made, the host MUST set
    //   SRTT <- R, RTTVAR <- R/2, RTO <- SRTT + max (G, K*RTTVAR)"
    t.srtt = r;
    t.rttvar = r / 2;
  } else {
    // RFC 6298 2.3: "RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|
    //   SRTT <- (1 - alpha) * SRTT + alpha * R'" (RTTVAR first, with the old SRTT).
    t.rttvar = (1 - BETA) * t.rttvar + BETA * Math.abs(t.srtt - r);
    t.srtt = (1 - ALPHA) * t.srtt + ALPHA * r;
  }
  t.rto = clampRto(t.srtt + Math.max(G, K * t.rttvar), lim);
}

export function clampRto(v: number, lim: RtoLimits): number {
  // RFC 6298 2.4: "Whenever RTO is computed, if it is less than 1 second, then the RTO SHOULD
  // be rounded up to 1 second." (we round up to lim.min, a deliberate deviation)
  return Math.min(lim.max, Math.max(lim.min, v));
}

/** RFC 6298 5.5: "The host MUST set RTO <- RTO * 2 ("back off the timer")." */
export function rttBackoff(t: Tcb, lim: RtoLimits): void {
  t.rto = clampRto(t.rto * 2, lim);
  t.backoff++;
}
