// IGMP host side of the IP actor: which IPv4 multicast groups each interface belongs to, the
// unsolicited reports sent on join and leave, and the answers to queries. IGMPv3 reports
// (RFC 3376, any-source only: EXCLUDE {} / INCLUDE {}) by default, IGMPv2 (RFC 2236) and IGMPv1
// (RFC 1112) reports in the host compatibility modes of RFC 3376 §7.2.1 (or IGMPv2 always with
// config `igmpVersion: 2`). Messages are parsed and built here (there is no protocol/igmp.ts);
// ipv4.ts sends them with TTL 1 and the Router Alert option (RFC 2236 §2, RFC 3376 §4).
//
// Groups of an interface: 224.0.0.1 (all-systems, RFC 1112 §4: implicit and never reported,
// RFC 2236 §6 "The all-systems group (address 224.0.0.1) is handled as a special case. The host
// starts in Idle Member state for that group on every interface, never transitions to another
// state, and never sends a report for that group") and the groups joined by the transports
// (joinGroup/leaveGroup control ops, counted per join).
//
// Not implemented: source filters (INCLUDE/EXCLUDE with sources; a group-and-source-specific
// query is answered for its sources, as EXCLUDE {} requires), the v3 Querier's Robustness
// Variable / QQIC (the defaults are used), Router Alert checks on input (RFC 3376 §9.1 MAY).

import { Ipv4Addr, formatIpv4 } from '../../protocol/address';
import { checksum } from '../../protocol/checksum';
import type { Interface } from './iface';

export const IGMP_QUERY = 0x11;
export const IGMP_V1_REPORT = 0x12;
export const IGMP_V2_REPORT = 0x16;
export const IGMP_V2_LEAVE = 0x17;
export const IGMP_V3_REPORT = 0x22;

/** RFC 3376 §4.2.12 record types. */
export const IGMP_MODE_IS_INCLUDE = 1;
export const IGMP_MODE_IS_EXCLUDE = 2;
export const IGMP_CHANGE_TO_INCLUDE = 3;
export const IGMP_CHANGE_TO_EXCLUDE = 4;

export const ALL_SYSTEMS = 0xe0000001; // 224.0.0.1
export const ALL_ROUTERS = 0xe0000002; // 224.0.0.2, IGMPv2 Leave Group destination
export const ALL_IGMPV3_ROUTERS = 0xe0000016; // 224.0.0.22, IGMPv3 report destination

/** RFC 2236 §8.1 / RFC 3376 §8.1 Robustness Variable: 2 (unsolicited reports are sent twice). */
export const IGMP_ROBUSTNESS = 2;
/** RFC 2236 §8.10: Unsolicited Report Interval, 10 s. */
export const IGMP_V2_UNSOLICITED_MS = 10_000;
/** RFC 3376 §8.11: Unsolicited Report Interval, 1 s. */
export const IGMP_V3_UNSOLICITED_MS = 1_000;
/** RFC 3376 §8.12 Older Version Querier Present Timeout: Robustness x Query Interval (125 s) +
 *  Query Response Interval (10 s). */
export const IGMP_OLDER_QUERIER_MS = IGMP_ROBUSTNESS * 125_000 + 10_000;

export interface IgmpHost {
  now(): number;
  random(): number;
  count(name: string, n?: number): void;
  /** Sends the IGMP message `msg` (checksum filled) on `ifc` to `dst`. */
  send(ifc: Interface, dst: Ipv4Addr, msg: Uint8Array): void;
}

interface Pending {
  group: Ipv4Addr;
  join: boolean;
  left: number;
  deadline: number;
}

interface IfaceState {
  groups: Map<Ipv4Addr, number>;
  /** Compatibility mode deadlines (RFC 3376 §7.2.1): v1 / v2 querier seen until then. */
  v1Until: number;
  v2Until: number;
  pending: Pending[];
  /** v3 general query answer deadline. */
  general: number;
  /** Group answers: deadline and the queried sources (null: the whole group). */
  specific: Map<Ipv4Addr, { deadline: number; sources: Set<number> | null }>;
}

/** A parsed IGMP message. */
export interface IgmpMessage {
  type: number;
  /** Max Response Time in ms (queries). */
  maxRespMs: number;
  group: Ipv4Addr;
  /** 1, 2 or 3 for queries (RFC 3376 §7.1), 0 for the rest. */
  queryVersion: number;
  sources: Ipv4Addr[];
}

const rd32 = (b: Uint8Array, o: number): number => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
function wr32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

/** RFC 3376 §4.1.1: Max Resp Code >= 128 is a floating point value (mant | 0x10) << (exp + 3),
 *  in units of 1/10 second. */
export function igmpMaxRespMs(code: number): number {
  if (code < 128) return code * 100;
  return (((code & 0x0f) | 0x10) << (((code >>> 4) & 7) + 3)) * 100;
}

/** Parses and validates an IGMP message (RFC 2236 §2, RFC 3376 §4, §7.1: the query version is
 *  told by its length and Max Resp Code). Null for invalid ones. */
export function parseIgmp(b: Uint8Array, off: number, len: number): IgmpMessage | null {
  if (len < 8) return null;
  if (checksum(b, off, len) !== 0) return null;
  const type = b[off];
  const group = rd32(b, off + 4);
  if (type !== IGMP_QUERY) return { type, maxRespMs: 0, group, queryVersion: 0, sources: [] };
  if (len === 8) {
    const code = b[off + 1];
    // RFC 3376 §7.1: "IGMPv1 Query: length = 8 octets AND Max Resp Code field is zero";
    // RFC 2236 §4: a v1 query means 10 s (100 tenths).
    if (code === 0) return { type, maxRespMs: 10_000, group, queryVersion: 1, sources: [] };
    return { type, maxRespMs: code * 100, group, queryVersion: 2, sources: [] };
  }
  if (len < 12) return null; // §7.1: other lengths below 12 are ignored
  const n = (b[off + 10] << 8) | b[off + 11];
  if (12 + 4 * n > len) return null;
  const sources: Ipv4Addr[] = [];
  for (let i = 0; i < n; i++) sources.push(rd32(b, off + 12 + 4 * i));
  return { type, maxRespMs: igmpMaxRespMs(b[off + 1]), group, queryVersion: 3, sources };
}

export class IgmpHostState {
  private readonly st = new Map<number, IfaceState>();

  constructor(private readonly host: IgmpHost, private readonly ifaces: () => readonly Interface[], public version: 2 | 3 = 3) {}

  private state(ifc: Interface): IfaceState {
    let s = this.st.get(ifc.index);
    if (!s) {
      s = { groups: new Map(), v1Until: -Infinity, v2Until: -Infinity, pending: [], general: Infinity, specific: new Map() };
      this.st.set(ifc.index, s);
    }
    return s;
  }

  /** The IGMP version used on `ifc` now (RFC 3376 §7.2.1 Host Compatibility Mode). */
  mode(ifc: Interface): 1 | 2 | 3 {
    const s = this.st.get(ifc.index);
    const now = this.host.now();
    if (s && s.v1Until > now) return 1;
    if ((s && s.v2Until > now) || this.version === 2) return 2;
    return 3;
  }

  /** RFC 1112 §4 / §6.4: true when `ifc` belongs to `group` (224.0.0.1 always). */
  isMember(ifc: Interface, group: Ipv4Addr): boolean {
    if (group === ALL_SYSTEMS) return true;
    const s = this.st.get(ifc.index);
    return s !== undefined && s.groups.has(group);
  }

  groupsOf(ifc: Interface): Ipv4Addr[] {
    const s = this.st.get(ifc.index);
    return s ? [...s.groups.keys()] : [];
  }

  /** A transport joins `group` on `ifc`; true on the first join. */
  join(ifc: Interface, group: Ipv4Addr): boolean {
    if (group === ALL_SYSTEMS) return false;
    const s = this.state(ifc);
    const n = s.groups.get(group);
    s.groups.set(group, (n ?? 0) + 1);
    if (n !== undefined) return false;
    this.host.count('igmp.join');
    // RFC 2236 §3: "When a host joins a multicast group, it should immediately transmit an
    // unsolicited Version 2 Membership Report for that group, in case it is the first member of
    // that group on the network. To cover the possibility of the initial Membership Report being
    // lost or damaged, it is recommended that it be repeated once or twice after short delays
    // [Unsolicited Report Interval]." RFC 3376 §5.1: a State-Change Report, retransmitted
    // [Robustness Variable] - 1 more times.
    this.stateChange(ifc, s, group, true);
    return true;
  }

  /** A transport leaves; true when the last join went. */
  leave(ifc: Interface, group: Ipv4Addr): boolean {
    const s = this.st.get(ifc.index);
    const n = s?.groups.get(group);
    if (!s || n === undefined) return false;
    if (n > 1) {
      s.groups.set(group, n - 1);
      return false;
    }
    s.groups.delete(group);
    s.specific.delete(group);
    this.host.count('igmp.leave');
    this.stateChange(ifc, s, group, false);
    return true;
  }

  private stateChange(ifc: Interface, s: IfaceState, group: Ipv4Addr, join: boolean): void {
    s.pending = s.pending.filter((p) => p.group !== group);
    const mode = this.mode(ifc);
    // RFC 2236 §3: one Leave Group message (RFC 3376 §7.3.2 sends none to a v1 querier).
    // RFC 3376 §5.1: state changes are retransmitted [Robustness Variable] - 1 more times.
    const left = join ? IGMP_ROBUSTNESS : mode === 3 ? IGMP_ROBUSTNESS : mode === 2 ? 1 : 0;
    if (left === 0) return;
    s.pending.push({ group, join, left, deadline: this.host.now() });
    if (ifc.up) this.sendPending(ifc, s);
  }

  private sendPending(ifc: Interface, s: IfaceState): void {
    const now = this.host.now();
    const mode = this.mode(ifc);
    const interval = mode === 3 ? IGMP_V3_UNSOLICITED_MS : IGMP_V2_UNSOLICITED_MS;
    const recs: Array<{ type: number; group: Ipv4Addr; sources?: Ipv4Addr[] }> = [];
    for (const p of s.pending) {
      if (p.deadline > now || p.left <= 0) continue;
      p.left--;
      p.deadline = now + Math.max(1, Math.floor(this.host.random() * interval));
      if (mode === 3) recs.push({ type: p.join ? IGMP_CHANGE_TO_EXCLUDE : IGMP_CHANGE_TO_INCLUDE, group: p.group });
      else if (p.join) this.sendV12(ifc, mode, p.group, 'igmp.tx.unsolicited');
      else if (mode === 2) {
        this.host.count('igmp.tx.leave');
        this.host.send(ifc, ALL_ROUTERS, v2Message(IGMP_V2_LEAVE, p.group));
      }
    }
    s.pending = s.pending.filter((p) => p.left > 0);
    if (recs.length > 0) {
      this.host.count('igmp.tx.state-change');
      this.host.send(ifc, ALL_IGMPV3_ROUTERS, v3Report(recs));
    }
  }

  private sendV12(ifc: Interface, mode: 1 | 2, group: Ipv4Addr, what: string): void {
    this.host.count(what);
    this.host.count(mode === 1 ? 'igmp.tx.v1-report' : 'igmp.tx.v2-report');
    this.host.send(ifc, group, v2Message(mode === 1 ? IGMP_V1_REPORT : IGMP_V2_REPORT, group));
  }

  /** A received IGMP message on `ifc` (validated here). */
  input(ifc: Interface, b: Uint8Array, off: number, len: number): void {
    const m = parseIgmp(b, off, len);
    if (m === null) {
      this.host.count('igmp.rx.drop.invalid');
      return;
    }
    const s = this.state(ifc);
    const now = this.host.now();
    if (m.type === IGMP_V1_REPORT || m.type === IGMP_V2_REPORT) {
      this.host.count('igmp.rx.report');
      // RFC 2236 §3: "If the host receives another host's Report (version 1 or 2) while it has a
      // timer running, it stops its timer for the specified group and does not send a Report"
      // (v3 hosts do not suppress, RFC 3376 §5).
      if (this.mode(ifc) !== 3 && s.specific.delete(m.group)) this.host.count('igmp.suppressed');
      return;
    }
    if (m.type !== IGMP_QUERY) {
      this.host.count(m.type === IGMP_V3_REPORT ? 'igmp.rx.report' : m.type === IGMP_V2_LEAVE ? 'igmp.rx.leave' : 'igmp.rx.other');
      return;
    }
    this.host.count(`igmp.rx.query.v${m.queryVersion}`);
    // RFC 3376 §7.2.1: older queriers put the host in their compatibility mode.
    if (m.queryVersion === 1) s.v1Until = now + IGMP_OLDER_QUERIER_MS;
    if (m.queryVersion === 2) s.v2Until = now + IGMP_OLDER_QUERIER_MS;
    const general = m.group === 0;
    if (!general && !s.groups.has(m.group)) {
      this.host.count('igmp.rx.query.not-member');
      return;
    }
    // RFC 2236 §3: "sets a delay timer to a random value selected from the range (0, Max
    // Response Time]"; RFC 3376 §5.2 likewise, "(0, [Max Resp Time])".
    const at = now + Math.max(1, Math.ceil(this.host.random() * Math.max(1, m.maxRespMs)));
    const mode = this.mode(ifc);
    if (general && mode === 3) {
      // §5.2 rule 1: a pending general answer sooner than this one covers it.
      if (at < s.general) s.general = at;
      return;
    }
    const groups = general ? [...s.groups.keys()] : [m.group];
    for (const g of groups) {
      const cur = s.specific.get(g);
      const srcs = mode === 3 && m.sources.length > 0 ? new Set(m.sources) : null;
      // RFC 2236 §3: "If a timer for the group is already running, it is reset to the random
      // value only if the requested Max Response Time is less than the remaining value of the
      // running timer." RFC 3376 §5.2 rules 3-5: sources are merged; a group query clears them.
      if (!cur) s.specific.set(g, { deadline: at, sources: srcs });
      else {
        if (at < cur.deadline) cur.deadline = at;
        if (srcs === null) cur.sources = null;
        else if (cur.sources !== null) for (const x of srcs) cur.sources.add(x);
      }
    }
  }

  nextDeadline(): number {
    let d = Infinity;
    for (const ifc of this.ifaces()) {
      if (!ifc.up) continue;
      const s = this.st.get(ifc.index);
      if (!s) continue;
      if (s.general < d) d = s.general;
      for (const p of s.pending) if (p.deadline < d) d = p.deadline;
      for (const x of s.specific.values()) if (x.deadline < d) d = x.deadline;
    }
    return d;
  }

  onTimer(): void {
    const now = this.host.now();
    const live = new Set<number>();
    for (const ifc of this.ifaces()) {
      live.add(ifc.index);
      const s = this.st.get(ifc.index);
      if (!s || !ifc.up) continue;
      this.sendPending(ifc, s);
      const mode = this.mode(ifc);
      if (s.general <= now) {
        s.general = Infinity;
        const groups = [...s.groups.keys()];
        if (groups.length > 0) {
          this.host.count('igmp.tx.current-state');
          this.host.send(ifc, ALL_IGMPV3_ROUTERS, v3Report(groups.map((g) => ({ type: IGMP_MODE_IS_EXCLUDE, group: g }))));
        }
      }
      const due: Array<{ type: number; group: Ipv4Addr; sources?: Ipv4Addr[] }> = [];
      for (const [g, x] of s.specific) {
        if (x.deadline > now) continue;
        s.specific.delete(g);
        if (!s.groups.has(g)) continue;
        if (mode !== 3) this.sendV12(ifc, mode, g, 'igmp.tx.current-state');
        // RFC 3376 §5.2: EXCLUDE {} answers a group query with IS_EX {} and a group-and-source
        // query with IS_IN (the queried sources, none of them excluded).
        else if (x.sources === null) due.push({ type: IGMP_MODE_IS_EXCLUDE, group: g });
        else due.push({ type: IGMP_MODE_IS_INCLUDE, group: g, sources: [...x.sources] });
      }
      if (due.length > 0) {
        this.host.count('igmp.tx.current-state');
        this.host.send(ifc, ALL_IGMPV3_ROUTERS, v3Report(due));
      }
    }
    for (const k of this.st.keys()) if (!live.has(k)) this.st.delete(k);
  }

  status(ifc: Interface): string[] {
    return [formatIpv4(ALL_SYSTEMS), ...this.groupsOf(ifc).map(formatIpv4)];
  }
}

/** RFC 2236 §2: an 8-octet message (Max Resp Time 0 in reports and leaves). */
export function v2Message(type: number, group: Ipv4Addr): Uint8Array {
  const m = new Uint8Array(8);
  m[0] = type;
  wr32(m, 4, group);
  const c = checksum(m, 0, 8);
  m[2] = c >>> 8;
  m[3] = c & 0xff;
  return m;
}

/** RFC 3376 §4.2: a Version 3 Membership Report. */
export function v3Report(recs: Array<{ type: number; group: Ipv4Addr; sources?: Ipv4Addr[] }>): Uint8Array {
  let n = 8;
  for (const r of recs) n += 8 + 4 * (r.sources?.length ?? 0);
  const m = new Uint8Array(n);
  m[0] = IGMP_V3_REPORT;
  m[6] = recs.length >>> 8;
  m[7] = recs.length & 0xff;
  let p = 8;
  for (const r of recs) {
    const ns = r.sources?.length ?? 0;
    m[p] = r.type;
    m[p + 2] = ns >>> 8;
    m[p + 3] = ns & 0xff;
    wr32(m, p + 4, r.group);
    p += 8;
    for (let i = 0; i < ns; i++, p += 4) wr32(m, p, r.sources![i]);
  }
  const c = checksum(m, 0, n);
  m[2] = c >>> 8;
  m[3] = c & 0xff;
  return m;
}
