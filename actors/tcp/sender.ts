// Send-side decisions, without I/O: how much new data may go now (send window, congestion
// window, Nagle, sender silly-window avoidance) and the persist (zero-window probe) interval.
// The core turns the decisions into segments.

import { seqSub } from '../../protocol/seq';

export interface SendRoom {
  /** Bytes queued beyond SND.NXT (negative once the FIN is in flight). */
  avail: number;
  /** Payload limit of one segment (Eff.snd.MSS minus this segment's options). */
  maxPayload: number;
  /** SND.UNA + SND.WND - SND.NXT. */
  wndRoom: number;
  /** cwnd - bytes in flight. */
  cwndRoom: number;
}

/** Bytes of the next segment before Nagle / SWS, >= 0. */
export function segmentLength(r: SendRoom): number {
  return Math.max(0, Math.min(r.avail, r.maxPayload, r.wndRoom, r.cwndRoom));
}

/** Whether a segment of `len` (> 0) new bytes may go now.
 *  RFC 9293 §3.7.4 (Nagle): "If there is unacknowledged data (i.e., SND.NXT > SND.UNA), then the
 *  sending TCP endpoint buffers all user data (regardless of the PSH bit) until the outstanding
 *  data has been acknowledged or until the TCP endpoint can send a full-sized segment
 *  (Eff.snd.MSS bytes)."
 *  RFC 9293 §3.8.6.2.1 (sender SWS avoidance): send when "(1) a maximum-sized segment can be sent,
 *  i.e., if: min(D,U) >= Eff.snd.MSS; (2) or if the data is pushed and all queued data can be sent
 *  now, i.e., if: [SND.NXT = SND.UNA and] PUSHed and D <= U [...]; (3) or if at least a fraction
 *  Fs of the maximum window can be sent, i.e., if: [SND.NXT = SND.UNA and] min(D,U) >= Fs *
 *  Max(SND.WND); (4) or if the override timeout occurs." (Fs = 1/2; the override timeout is the
 *  persist timer.) Every write is treated as pushed. */
export function sendAllowed(len: number, r: SendRoom, flight: number, nodelay: boolean, maxSndWnd: number, retransmit: boolean): boolean {
  if (retransmit) return true;
  if (len >= r.maxPayload) return true;
  if (!nodelay && flight > 0) return false;
  if (len >= r.avail) return true;
  if (maxSndWnd > 0 && len >= maxSndWnd / 2) return true;
  return false;
}

/** The persist interval: RFC 9293 §3.8.6.1 "The transmitting host SHOULD send the first
 *  zero-window probe when a zero window has existed for the retransmission timeout period
 *  [...] and SHOULD increase exponentially the interval between successive probes." */
export function persistInterval(rto: number, backoff: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, rto * Math.pow(2, Math.min(backoff, 16))));
}

/** Bytes from `from` to `to` as a non-negative count. */
export function span(from: number, to: number): number {
  return Math.max(0, seqSub(to, from));
}
