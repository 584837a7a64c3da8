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
  /** Source key for the per-source limit (an IPv4 address, or IPv6 address hex). */
  src: number | string;
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
  /** When the first fragment arrived, and when the datagram expires. */
  born: number;
  deadline: number;
  /** IPv6: offset of the Next Header field naming the Fragment header (6, or inside the last
   *  unfragmentable extension header), and the Next Header of the offset-zero fragment. */
  nhField: number;
  nextHeader: number;
}

/** What the IPv6 path knows about one fragment (from the chain walk). */
export interface Fragment6 {
  /** Absolute offsets in the buffer: the IPv6 header and the fragment data. */
  ipOff: number;
  dataOff: number;
  dataLen: number;
  fragOffset: number;
  more: boolean;
  ident: number;
  nextHeader: number;
  /** Bytes of extension headers before the Fragment header. */
  unfragmentableLen: number;
  /** Offset (from the IPv6 header) of the Next Header field that names the Fragment header. */
  nhField: number;
}

export type ReassemblyOutcome =
  | { kind: 'done'; datagram: Uint8Array }
  | { kind: 'pending' }
  | { kind: 'dropped'; reason: string };

const PENDING: ReassemblyOutcome = { kind: 'pending' };
const drop = (reason: string): ReassemblyOutcome => ({ kind: 'dropped', reason });

/** Reassembly for both families. The IPv4 and IPv6 tables are kept apart (each in deadline
 *  order: one fixed timeout per family) but share one memory budget, one per-source budget and
 *  one datagram count, so a flood in either family cannot exhaust memory. */
export class Reassembler {
  private readonly table = new Map<string, Pending>();
  private readonly table6 = new Map<string, Pending>();
  private readonly perSource = new Map<number | string, number>();
  private bytes = 0;
  /** RFC 8200 §4.5: "within 60 seconds of the reception of the first-arriving fragment". */
  timeout6Ms = 60_000;

  constructor(readonly params: ReassemblyParams = DEFAULT_REASSEMBLY_PARAMS) {}

  get inProgress(): number {
    return this.table.size + this.table6.size;
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
      if (this.inProgress >= this.params.maxDatagrams) this.evictOldest();
      p = {
        key, src: h.src, iface, frags: [], have: 0, total: -1, header: null, firstQuote: null, charged: 0,
        born: now, deadline: now + this.params.timeoutMs, nhField: 0, nextHeader: 0,
      };
      this.table.set(key, p);
    }
    // The 64 KiB bound: the reassembled datagram (header + data) must fit Total Length.
    const hl = p.header ? p.header.length : h.headerLen;
    if (end + (start === 0 ? h.headerLen : hl) > IPV4_MAX_DATAGRAM) {
      this.discard(p);
      return drop('too-big');
    }
    const placed = this.place(p, start, end, h.moreFragments);
    if (typeof placed !== 'number') return placed;
    const i = placed;
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

  /** Both families: checks a fragment [start, end) against what is held and returns where it
   *  goes in `p.frags`, or the drop outcome (the datagram discarded where the rules say so).
   *  The last fragment (MF/M = 0) fixes the datagram's length ("If the fragment is the last
   *  one ... the length of the reassembled packet" is known): a second, different last
   *  fragment or data past it is inconsistent. An exact duplicate is dropped alone (RFC 8200
   *  §4.5); any other overlap drops the whole datagram (RFC 5722 §4: "if one or more its
   *  constituent fragments is determined to be an overlapping fragment, the entire datagram
   *  (and any constituent fragments) MUST be silently discarded"; done for IPv4 too). */
  private place(p: Pending, start: number, end: number, more: boolean): number | ReassemblyOutcome {
    if (!more) {
      if ((p.total >= 0 && p.total !== end) || p.frags.some((x) => x.end > end)) {
        this.discard(p);
        return drop('inconsistent');
      }
      p.total = end;
    } else if (p.total >= 0 && end > p.total) {
      this.discard(p);
      return drop('inconsistent');
    }
    let i = 0;
    while (i < p.frags.length && p.frags[i].end <= start) i++;
    if (i < p.frags.length && p.frags[i].off < end) {
      const x = p.frags[i];
      if (x.off === start && x.end === end) return drop('duplicate');
      this.discard(p);
      return drop('overlap');
    }
    return i;
  }

  private discard(p: Pending): void {
    const t = this.table.get(p.key) === p ? this.table : this.table6.get(p.key) === p ? this.table6 : null;
    if (t === null) return;
    t.delete(p.key);
    this.bytes -= p.charged;
    const s = (this.perSource.get(p.src) ?? 0) - p.charged;
    if (s > 0) this.perSource.set(p.src, s);
    else this.perSource.delete(p.src);
    p.charged = 0;
  }

  /** The oldest datagram in a table other than `keep` (Map order is insertion order). */
  private static head(t: Map<string, Pending>, keep?: Pending): Pending | null {
    for (const p of t.values()) if (p !== keep) return p;
    return null;
  }

  /** Drops the oldest datagram in progress of either family, except `keep`. */
  private evictOldest(keep?: Pending): boolean {
    const a = Reassembler.head(this.table, keep);
    const b = Reassembler.head(this.table6, keep);
    const p = a === null ? b : b === null ? a : a.born <= b.born ? a : b;
    if (p === null) return false;
    this.discard(p);
    this.evicted++;
    return true;
  }

  evicted = 0;

  nextDeadline(): number {
    // Insertion order is deadline order in each table (one fixed timeout per family).
    let d = Infinity;
    for (const p of this.table.values()) {
      d = p.deadline;
      break;
    }
    for (const p of this.table6.values()) {
      if (p.deadline < d) d = p.deadline;
      break;
    }
    return d;
  }

  /** Expires IPv4 datagrams past their deadline. `expired` gets the first fragment's quote (for
   *  an ICMP time exceeded, code 1) when fragment zero had arrived. RFC 1122 §3.3.2: "If the
   *  fragment zero is not available, then no time-exceeded need be sent at all." */
  onTimer(now: number, expired: (quote: Uint8Array | null, iface: number) => void): void {
    for (const p of this.table.values()) {
      if (p.deadline > now) break;
      this.discard(p);
      expired(p.firstQuote, p.iface);
    }
  }

  /** The same for IPv6 (RFC 8200 §4.5: "If the first fragment (i.e., the one with a Fragment
   *  Offset of zero) has been received, an ICMP Time Exceeded -- Fragment Reassembly Time
   *  Exceeded message should be sent to the source of that fragment."). */
  onTimer6(now: number, expired: (quote: Uint8Array | null, iface: number) => void): void {
    for (const p of this.table6.values()) {
      if (p.deadline > now) break;
      this.discard(p);
      expired(p.firstQuote, p.iface);
    }
  }

  /** One IPv6 fragment (RFC 8200 §4.5). Returns the reassembled packet (IPv6 header, the
   *  Unfragmentable Part's extension headers with the Fragment header removed, the data) when
   *  this fragment completed it. */
  input6(buf: Uint8Array, f: Fragment6, iface: number, now: number): ReassemblyOutcome {
    const srcHex = hex16(buf, f.ipOff + 8);
    // RFC 8200 §4.5: "An original packet is reassembled only from fragment packets that have
    // the same Source Address, Destination Address, and Fragment Identification."
    const key = `${srcHex}|${hex16(buf, f.ipOff + 24)}|${f.ident}`;
    const start = f.fragOffset;
    const end = start + f.dataLen;
    if (f.more && (f.dataLen === 0 || (f.dataLen & 7) !== 0)) return drop('bad-length');
    let p = this.table6.get(key);
    if (!p) {
      if (this.inProgress >= this.params.maxDatagrams) this.evictOldest();
      p = {
        key, src: srcHex, iface, frags: [], have: 0, total: -1, header: null, firstQuote: null, charged: 0,
        born: now, deadline: now + this.timeout6Ms, nhField: 6, nextHeader: 0,
      };
      this.table6.set(key, p);
    }
    const unfrag = p.header ? p.header.length - 40 : f.unfragmentableLen;
    if (unfrag + end > 65535) {
      this.discard(p);
      return drop('too-big');
    }
    const placed = this.place(p, start, end, f.more);
    if (typeof placed !== 'number') return placed;
    const i = placed;
    const hl = 40 + f.unfragmentableLen;
    const cost = f.dataLen + FRAG_OVERHEAD + (start === 0 ? hl : 0);
    const used = this.perSource.get(srcHex) ?? 0;
    if (used + cost > this.params.maxBytesPerSource) {
      if (p.frags.length === 0) this.discard(p);
      return drop('source-limit');
    }
    while (this.bytes + cost > this.params.maxBytes) {
      if (!this.evictOldest(p)) {
        if (p.frags.length === 0) this.discard(p);
        return drop('memory-limit');
      }
    }
    p.frags.splice(i, 0, { off: start, end, data: buf.slice(f.dataOff, f.dataOff + f.dataLen) });
    p.have += f.dataLen;
    this.charge(p, cost);
    if (start === 0) {
      // RFC 8200 §4.5: "The Unfragmentable Part of the reassembled packet consists of all
      // headers up to, but not including, the Fragment header of the first fragment packet ...
      // The Next Header field of the last header of the Unfragmentable Part is obtained from the
      // Next Header field of the first fragment's Fragment header."
      p.header = buf.slice(f.ipOff, f.ipOff + hl);
      p.nhField = f.nhField;
      p.nextHeader = f.nextHeader;
      p.firstQuote = buf.slice(f.ipOff, f.dataOff + Math.min(f.dataLen, 1024));
    }
    if (p.total < 0 || p.have !== p.total || p.header === null) return PENDING;
    const out = new Uint8Array(p.header.length + p.total);
    out.set(p.header, 0);
    for (const x of p.frags) out.set(x.data, p.header.length + x.off);
    // "The Payload Length of the reassembled packet is computed from the length of the
    // Unfragmentable Part and the length and offset of the last fragment."
    const pl = out.length - 40;
    out[4] = pl >>> 8;
    out[5] = pl & 0xff;
    out[p.nhField] = p.nextHeader;
    this.discard(p);
    return { kind: 'done', datagram: out };
  }

  status(): object {
    return { inProgress: this.inProgress, v4: this.table.size, v6: this.table6.size, bytes: this.bytes, limit: this.params.maxBytes, evicted: this.evicted };
  }
}

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, '0'));

function hex16(b: Uint8Array, o: number): string {
  let s = '';
  for (let i = 0; i < 16; i++) s += HEX[b[o + i]];
  return s;
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
