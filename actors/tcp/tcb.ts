// The in-memory working copy of one TCB: every TcbWord as a named number property, plus the
// decoded SACK scoreboard and out-of-order ranges, and handles on the connection's two streams.
// loadTcb / storeTcb convert to and from a committed record (layout.ts); the core commits each
// changed TCB once at the end of every event, so a crash leaves the old or the new version.
// Derived values (SND.UNA, RCV.NXT) come from the streams' positions, which are the commit points
// of acknowledged and received bytes (docs/tcp.md "Crash survival").

import { seqAdd } from '../../protocol/seq';
import { OOO_MAX_RANGES, SACK_MAX_RANGES, TcbFlag, TcbWord, TcbWordName, TcpState } from './layout';
import { ByteStream } from './stream';

export type TcbFields = { [K in TcbWordName]: number };

export interface Tcb extends TcbFields {
  readonly slot: number;
  readonly snd: ByteStream;
  readonly rcv: ByteStream;
  /** SACK scoreboard: flat [left, right, ...] ascending, disjoint, above SND.UNA. */
  sackList: number[];
  /** Out-of-order receive ranges: flat [left, right, ...] ascending, above RCV.NXT. */
  oooList: number[];
  /** Rebuilt by a reattaching core: ACKs up to the end of the send stream are accepted, since
   *  the previous incarnation may have sent bytes it never committed as sent. */
  recovered: boolean;
  /** 4-tuple key in the core's index ('' when not indexed). */
  key: string;
  /** Changed since the last commit. */
  dirty: boolean;
}

const NAMES = Object.keys(TcbWord) as TcbWordName[];
const INDEX = NAMES.map((n) => TcbWord[n]);

export function newTcb(slot: number, snd: ByteStream, rcv: ByteStream): Tcb {
  const t = { slot, snd, rcv, sackList: [], oooList: [], recovered: false, key: '', dirty: false } as unknown as Tcb;
  for (const n of NAMES) (t as TcbFields)[n] = 0;
  return t;
}

/** Fills `t` from a committed record. Values are validated (a reader validates shared memory):
 *  range lists are clamped to their capacity and must be finite. */
export function loadTcb(t: Tcb, rec: ArrayLike<number>): void {
  for (let i = 0; i < NAMES.length; i++) {
    const v = rec[INDEX[i]];
    (t as TcbFields)[NAMES[i]] = Number.isFinite(v) ? v : 0;
  }
  t.sackList = readRanges(rec, TcbWord.sack0, t.sackCount, SACK_MAX_RANGES);
  t.oooList = readRanges(rec, TcbWord.ooo0, t.oooCount, OOO_MAX_RANGES);
  t.sackCount = t.sackList.length / 2;
  t.oooCount = t.oooList.length / 2;
}

function readRanges(rec: ArrayLike<number>, base: number, count: number, max: number): number[] {
  const n = Math.max(0, Math.min(max, count | 0));
  const out: number[] = [];
  for (let i = 0; i < n * 2; i++) out.push(rec[base + i] >>> 0);
  return out;
}

export function storeTcb(t: Tcb, out: Float64Array): void {
  t.sackCount = Math.min(SACK_MAX_RANGES, t.sackList.length / 2);
  t.oooCount = Math.min(OOO_MAX_RANGES, t.oooList.length / 2);
  for (let i = 0; i < NAMES.length; i++) out[INDEX[i]] = (t as TcbFields)[NAMES[i]];
  for (let i = 0; i < SACK_MAX_RANGES * 2; i++) out[TcbWord.sack0 + i] = i < t.sackCount * 2 ? t.sackList[i] : 0;
  for (let i = 0; i < OOO_MAX_RANGES * 2; i++) out[TcbWord.ooo0 + i] = i < t.oooCount * 2 ? t.oooList[i] : 0;
}

export function hasFlag(t: Tcb, f: number): boolean {
  return (t.flags & f) !== 0;
}
export function setFlag(t: Tcb, f: number, on = true): void {
  t.flags = on ? t.flags | f : t.flags & ~f;
}

/** SND.UNA: the send stream's TAIL is the commit point of acknowledged data. */
export function sndUna(t: Tcb): number {
  if (!hasFlag(t, TcbFlag.SYN_ACKED)) return t.iss;
  return seqAdd(seqAdd(t.sndBase, t.snd.tail()), hasFlag(t, TcbFlag.FIN_ACKED) ? 1 : 0);
}

/** Sequence number just after the last byte the user queued (where the FIN goes). */
export function sndEnd(t: Tcb): number {
  return seqAdd(t.sndBase, t.snd.head());
}

/** RCV.NXT: the receive stream's HEAD is the commit point of in-order received data. */
export function rcvNxt(t: Tcb): number {
  return seqAdd(seqAdd(t.rcvBase, t.rcv.head()), hasFlag(t, TcbFlag.FIN_RCVD) ? 1 : 0);
}

/** True in the states where both sides' ISNs are known (RFC 9293 "synchronized"). */
export function synchronized(s: TcpState): boolean {
  switch (s) {
    case TcpState.Free:
    case TcpState.Closed:
    case TcpState.Listen:
    case TcpState.SynSent:
    case TcpState.SynReceived:
      return false;
    case TcpState.Established:
    case TcpState.FinWait1:
    case TcpState.FinWait2:
    case TcpState.CloseWait:
    case TcpState.Closing:
    case TcpState.LastAck:
    case TcpState.TimeWait:
      return true;
  }
}

export const STATE_NAMES: Record<TcpState, string> = {
  [TcpState.Free]: 'FREE',
  [TcpState.Closed]: 'CLOSED',
  [TcpState.Listen]: 'LISTEN',
  [TcpState.SynSent]: 'SYN-SENT',
  [TcpState.SynReceived]: 'SYN-RECEIVED',
  [TcpState.Established]: 'ESTABLISHED',
  [TcpState.FinWait1]: 'FIN-WAIT-1',
  [TcpState.FinWait2]: 'FIN-WAIT-2',
  [TcpState.CloseWait]: 'CLOSE-WAIT',
  [TcpState.Closing]: 'CLOSING',
  [TcpState.LastAck]: 'LAST-ACK',
  [TcpState.TimeWait]: 'TIME-WAIT',
};
