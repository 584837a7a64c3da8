// IPv4 fragmentation on output and reassembly on input, with memory limits. Follows RFC 791
// §3.2 (fragmentation and reassembly procedure), RFC 1122 §3.3.2 (reassembly timeout, time
// exceeded), RFC 815 (hole bookkeeping, done here as a sorted, non-overlapping fragment list)
// and, for overlaps, the practice of RFC 5722 (IPv6) and Linux since 2018 (FragmentSmack):
// a datagram with overlapping fragments is dropped whole.
//
// Limits (defaults, configurable): 30 s per datagram from its first fragment (Linux
// ipfrag_time; RFC 1122 §3.3.2 says "The IP layer MUST implement reassembly ... a fixed
// timeout ... The recommended value lies between 60 seconds and 120 seconds", we use the
// shorter Linux value to bound memory held for attackers), 4 MiB in all, 256 KiB per source
// address, 1024 datagrams in progress, and the 65535-octet datagram bound of RFC 791.

import { IPV4_MAX_DATAGRAM, Ipv4Header, Ipv4View, ipv4HeaderLen, emitIpv4Header, IPV4_OPT_NOP, IPV4_OPT_EOL } from '../../protocol/ipv4';
import type { Ipv4Option } from '../../protocol/ipv4';

export interface ReassemblyParams {
  timeoutMs: number;
  maxBytes: number;
  maxBytesPerSource: number;
  maxDatagrams: number;
}

export const DEFAULT_REASSEMBLY_PARAMS: ReassemblyParams = {
  timeoutMs: 30_000, maxBytes: 4 << 20, maxBytesPerSource: 256 << 10, maxDatagrams: 1024,
};

/** Bytes charged per fragment on top of its data (bookkeeping), so floods of tiny fragments
 *  also hit the memory limit. */
const FRAG_OVERHEAD = 64;

interface Frag {
  off: number;
  end: number;
  data: Uint8Array;
}

interface Pending {
  key: string;
  src: number;
  iface: number;
  frags: Frag[];
  /** Octets of data received. */
  have: number;
  /** Data length once the last fragment (MF=0) arrived, else -1. */
  total: number;
  /** The first fragment's IP header (offset 0), once seen. */
  header: Uint8Array | null;
  /** The start of the first fragment (header + some data) for an ICMP time exceeded quote. */
  firstQuote: Uint8Array | null;
  charged: number;
  deadline: number;
}

export type ReassemblyOutcome =
  | { kind: 'done'; datagram: Uint8Array }
  | { kind: 'pending' }
  | { kind: 'dropped'; reason: string };

const PENDING: ReassemblyOutcome = { kind: 'pending' };
const drop = (reason: string): ReassemblyOutcome => ({ kind: 'dropped', reason });

export class Reassembler {
  private readonly table = new Map<string, Pending>();
  private readonly perSource = new Map<number, number>();
  private bytes = 0;

  constructor(readonly params: ReassemblyParams = DEFAULT_REASSEMBLY_PARAMS) {}

  get inProgress(): number {
    return this.table.size;
  }
  get memory(): number {
    return this.bytes;
  }

  /** One fragment: `buf[off .. off+h.headerLen+h.payloadLen)` is the whole (validated)
   *  datagram. Returns the reassembled datagram when this fragment completed it. */
  input(buf: Uint8Array, off: number, h: Ipv4Header, iface: number, now: number): ReassemblyOutcome {
    // RFC 791: "the identification field is used ... together with the source and destination
    // address, and the protocol fields, to identify datagram fragments for reassembly."
    const key = `${h.src}|${h.dst}|${h.protocol}|${h.ident}`;
    const start = h.fragOffset;
    const end = start + h.payloadLen;
    const dataOff = off + h.headerLen;
    // RFC 791: fragments other than the last carry a multiple of 8 octets of data.
    if (h.moreFragments && (h.payloadLen & 7) !== 0) return drop('bad-length');
    if (h.moreFragments && h.payloadLen === 0) return drop('bad-length');
    let p = this.table.get(key);
    if (!p) {
      if (this.table.size >= this.params.maxDatagrams) this.evictOldest();
      p = { key, src: h.src, iface, frags: [], have: 0, total: -1, header: null, firstQuote: null, charged: 0, deadline: now + this.params.timeoutMs };
      this.table.set(key, p);
    }
    // The 64 KiB bound: the reassembled datagram (header + data) must fit Total Length.
    const hl = p.header ? p.header.length : h.headerLen;
    if (end + (start === 0 ? h.headerLen : hl) > IPV4_MAX_DATAGRAM) {
      this.discard(p);
      return drop('too-big');
    }
    if (!h.moreFragments) {
      if ((p.total >= 0 && p.total !== end) || p.frags.some((f) => f.end > end)) {
        this.discard(p);
        return drop('inconsistent');
      }
      p.total = end;
    } else if (p.total >= 0 && end > p.total) {
      this.discard(p);
      return drop('inconsistent');
    }
    // Find the insertion point; any overlap except an exact duplicate drops the datagram.
    let i = 0;
    while (i < p.frags.length && p.frags[i].end <= start) i++;
    if (i < p.frags.length && p.frags[i].off < end) {
      const f = p.frags[i];
      if (f.off === start && f.end === end) return drop('duplicate');
      this.discard(p);
      return drop('overlap');
    }
    const cost = h.payloadLen + FRAG_OVERHEAD + (start === 0 ? h.headerLen : 0);
    const src = this.perSource.get(h.src) ?? 0;
    if (src + cost > this.params.maxBytesPerSource) {
      if (p.frags.length === 0) this.discard(p);
      return drop('source-limit');
    }
    while (this.bytes + cost > this.params.maxBytes) {
      if (!this.evictOldest(p)) {
        if (p.frags.length === 0) this.discard(p);
        return drop('memory-limit');
      }
    }
    p.frags.splice(i, 0, { off: start, end, data: buf.slice(dataOff, dataOff + h.payloadLen) });
    p.have += h.payloadLen;
    this.charge(p, cost);
    if (start === 0) {
      p.header = buf.slice(off, off + h.headerLen);
      p.firstQuote = buf.slice(off, off + Math.min(h.headerLen + h.payloadLen, h.headerLen + 64));
    }
    if (p.total < 0 || p.have !== p.total || p.header === null) return PENDING;
    // Complete: RFC 791 "the reassembled datagram's header is the first fragment's header with
    // the More Fragments flag and the fragment offset cleared and Total Length recomputed".
    const out = new Uint8Array(p.header.length + p.total);
    out.set(p.header, 0);
    for (const f of p.frags) out.set(f.data, p.header.length + f.off);
    const v = new Ipv4View(out, 0);
    v.totalLen = out.length;
    v.moreFragments = false;
    v.fragOffset = 0;
    v.fillChecksum();
    this.discard(p);
    return { kind: 'done', datagram: out };
  }

  private charge(p: Pending, n: number): void {
    p.charged += n;
    this.bytes += n;
    this.perSource.set(p.src, (this.perSource.get(p.src) ?? 0) + n);
  }

  private discard(p: Pending): void {
    if (this.table.get(p.key) !== p) return;
    this.table.delete(p.key);
    this.bytes -= p.charged;
    const s = (this.perSource.get(p.src) ?? 0) - p.charged;
    if (s > 0) this.perSource.set(p.src, s);
    else this.perSource.delete(p.src);
    p.charged = 0;
  }

  /** Drops the oldest datagram in progress (Map order is insertion order), except `keep`. */
  private evictOldest(keep?: Pending): boolean {
    for (const p of this.table.values()) {
      if (p === keep) continue;
      this.discard(p);
      this.evicted++;
      return true;
    }
    return false;
  }

  evicted = 0;

  nextDeadline(): number {
    // Insertion order is deadline order (one fixed timeout from the first fragment).
    for (const p of this.table.values()) return p.deadline;
    return Infinity;
  }

  /** Expires datagrams past their deadline. `expired` gets the first fragment's quote (for an
   *  ICMP time exceeded, code 1) when fragment zero had arrived. RFC 1122 §3.3.2: "If the
   *  fragment zero is not available, then no time-exceeded need be sent at all." */
  onTimer(now: number, expired: (quote: Uint8Array | null, iface: number) => void): void {
    for (const p of this.table.values()) {
      if (p.deadline > now) break;
      this.discard(p);
      expired(p.firstQuote, p.iface);
    }
  }

  status(): object {
    return { inProgress: this.table.size, bytes: this.bytes, evicted: this.evicted };
  }
}

/** Options copied into every fragment: RFC 791: "the copied flag ... 1 = copied" (bit 0 of the
 *  type octet). */
function copiedOptions(options: readonly Ipv4Option[]): Ipv4Option[] {
  return options.filter((o) => (o.type & 0x80) !== 0 && o.type !== IPV4_OPT_NOP && o.type !== IPV4_OPT_EOL);
}

/** Splits the datagram `h` + data into fragments that fit `mtu` and hands each one to `emit`
 *  (a scratch buffer holding one fragment; copy what you keep). RFC 791 §3.2 fragmentation
 *  procedure: every fragment but the last carries a multiple of 8 data octets; the first keeps
 *  all options, later ones only the copied options; MF is set on all but the last (and on the
 *  last too if the original was itself a non-final fragment). Returns the number of fragments,
 *  or 0 if the mtu cannot carry even 8 data octets. */
export function fragment(
  h: Ipv4Header, data: Uint8Array, dataOff: number, dataLen: number, mtu: number,
  emit: (frag: Uint8Array, len: number) => void,
): number {
  const first = { ...h, options: h.options };
  const rest = { ...h, options: copiedOptions(h.options) };
  const hl1 = ipv4HeaderLen(first);
  const hlN = ipv4HeaderLen(rest);
  const per1 = (mtu - hl1) & ~7;
  const perN = (mtu - hlN) & ~7;
  if (per1 < 8 || perN < 8) return 0;
  const scratch = new Uint8Array(mtu);
  let done = 0;
  let n = 0;
  while (done < dataLen) {
    const isFirst = done === 0;
    const hh = isFirst ? first : rest;
    const hl = isFirst ? hl1 : hlN;
    const take = Math.min(isFirst ? per1 : perN, dataLen - done);
    const last = done + take >= dataLen;
    hh.fragOffset = h.fragOffset + done;
    hh.moreFragments = last ? h.moreFragments : true;
    hh.payloadLen = take;
    scratch.set(data.subarray(dataOff + done, dataOff + done + take), hl);
    emitIpv4Header(hh, scratch, 0);
    emit(scratch, hl + take);
    done += take;
    n++;
  }
  return n;
}
