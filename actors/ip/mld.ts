// MLDv2 listener (host side) of the IP actor: which IPv6 multicast groups each interface
// listens to, the unsolicited State Change Reports sent on join and leave, and the Current State
// Reports that answer queries. Wire formats are protocol/mld.ts. Follows RFC 3810 §6 (the
// listener's behaviour), RFC 4862 §5.4.2 (joining the solicited-node group before DAD) and
// RFC 4291 §2.7.1 (the groups every node belongs to).
//
// Groups of an interface: ff02::1 (all nodes, implicit and never reported: RFC 3810 §6: "MLD
// messages are never sent for multicast addresses whose scope is 0 (reserved) or 1
// (node-local)" and Linux, like RFC 2710 §5, does not report the link-scope all-nodes address),
// ff02::2 while forwarding (RFC 4291 §2.8: a router joins all-routers), the solicited-node group
// of each of its addresses, and groups joined by the transports (joinGroup/leaveGroup control
// ops, counted per join). Only any-source (EXCLUDE {}) membership is kept: no source filters.
// Not implemented: MLDv1 compatibility mode (RFC 3810 §8: v1 queries are answered with v2
// reports), suppressing reports heard from others (MLDv2 has none).

import {
  Ipv6Addr, formatIpv6, ipv6AllNodes, ipv6Equal, ipv6MulticastScope, ipv6SolicitedNode,
} from '../../protocol/address';
import {
  MLD_CHANGE_TO_EXCLUDE, MLD_CHANGE_TO_INCLUDE, MLD_MODE_IS_EXCLUDE, MldMessage, MldRecord, mldMaxResponseDelay,
} from '../../protocol/mld';
import type { Interface } from './iface';

/** RFC 3810 §9.1 Robustness Variable default: 2 (a state change is sent twice). */
export const MLD_ROBUSTNESS = 2;
/** RFC 3810 §9.11 Unsolicited Report Interval: 1 second. */
export const MLD_UNSOLICITED_INTERVAL_MS = 1000;

export interface MldHost {
  now(): number;
  random(): number;
  count(name: string, n?: number): void;
  forwarding(): boolean;
  /** Sends an MLDv2 report with these records on `ifc` (to ff02::16, hop limit 1, Router
   *  Alert; the source is the link-local address or ::). */
  sendReport(ifc: Interface, records: MldRecord[]): void;
}

interface Pending {
  iface: number;
  group: Ipv6Addr;
  type: number;
  left: number;
  deadline: number;
}

const NO_SOURCES: Ipv6Addr[] = [];
const NO_AUX = new Uint8Array(0);
const ALL_ROUTERS = Uint8Array.of(0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2);

function hex(a: Ipv6Addr): string {
  return Buffer.from(a.buffer, a.byteOffset, 16).toString('hex');
}

export class MldListener {
  /** State-change reports still to (re)send. */
  private pending: Pending[] = [];
  /** Query answers: per interface, a general response deadline; per group, specific ones. */
  private general = new Map<number, number>();
  private specific = new Map<string, { iface: number; group: Ipv6Addr; deadline: number }>();

  constructor(private readonly host: MldHost, private readonly ifaces: () => readonly Interface[]) {}

  /** RFC 4291 §2.7.1 / RFC 3810: true when `ifc` listens to the group at b[off..off+16). */
  isMemberAt(ifc: Interface, b: Uint8Array, off: number): boolean {
    if (b[off] !== 0xff) return false;
    // ff02::1
    if (b[off + 1] === 0x02 && b[off + 15] === 1 && zeros(b, off + 2, 13)) return true;
    if (b[off + 1] === 0x02 && b[off + 15] === 2 && zeros(b, off + 2, 13)) return this.host.forwarding();
    // Solicited-node ff02::1:ffXX:XXXX of any of our addresses (tentative ones too).
    if (b[off + 1] === 0x02 && zeros(b, off + 2, 9) && b[off + 11] === 1 && b[off + 12] === 0xff) {
      for (const x of ifc.v6) if (x.state !== 'duplicated' && x.addr[13] === b[off + 13] && x.addr[14] === b[off + 14] && x.addr[15] === b[off + 15]) return true;
    }
    if (ifc.nd.groups.size === 0) return false;
    return ifc.nd.groups.has(Buffer.from(b.buffer, b.byteOffset + off, 16).toString('hex'));
  }

  /** All groups to report on `ifc` (not ff02::1, nothing of scope 0 or 1). */
  groupsOf(ifc: Interface): Ipv6Addr[] {
    const out = new Map<string, Ipv6Addr>();
    for (const x of ifc.v6) {
      if (x.state === 'duplicated') continue;
      const s = ipv6SolicitedNode(x.addr);
      out.set(hex(s), s);
    }
    if (this.host.forwarding()) out.set(hex(ALL_ROUTERS), ALL_ROUTERS);
    for (const [k, g] of ifc.nd.groups) out.set(k, g.addr);
    return [...out.values()].filter((g) => reportable(g));
  }

  /** A transport joins `group` on `ifc`. Returns true on the first join. */
  join(ifc: Interface, group: Ipv6Addr): boolean {
    const k = hex(group);
    const g = ifc.nd.groups.get(k);
    if (g) {
      g.refs++;
      return false;
    }
    const already = this.isMemberAt(ifc, group, 0);
    ifc.nd.groups.set(k, { addr: group.slice(), refs: 1 });
    if (!already) this.stateChange(ifc, group, MLD_CHANGE_TO_EXCLUDE);
    return true;
  }

  /** A transport leaves; returns true when the last join went. */
  leave(ifc: Interface, group: Ipv6Addr): boolean {
    const k = hex(group);
    const g = ifc.nd.groups.get(k);
    if (!g) return false;
    if (--g.refs > 0) return false;
    ifc.nd.groups.delete(k);
    if (!this.isMemberAt(ifc, group, 0)) this.stateChange(ifc, group, MLD_CHANGE_TO_INCLUDE);
    return true;
  }

  /** Our address `a` was added (before DAD, RFC 4862 §5.4.2: "before sending a Neighbor
   *  Solicitation, an interface MUST join the all-nodes multicast address and the
   *  solicited-node multicast address of the tentative address"). `firstUse` says whether the
   *  solicited-node group was new on the interface. */
  addressAdded(ifc: Interface, a: Ipv6Addr, newGroup: boolean): void {
    if (newGroup) this.stateChange(ifc, ipv6SolicitedNode(a), MLD_CHANGE_TO_EXCLUDE);
  }

  addressRemoved(ifc: Interface, a: Ipv6Addr): void {
    const s = ipv6SolicitedNode(a);
    if (!this.isMemberAt(ifc, s, 0)) this.stateChange(ifc, s, MLD_CHANGE_TO_INCLUDE);
  }

  /** RFC 3810 §6.1: "the node immediately transmits a State Change Report ... To cover the
   *  possibility of the State Change Report being missed ... it is retransmitted [Robustness
   *  Variable] - 1 more times, at intervals chosen at random from the range (0, [Unsolicited
   *  Report Interval])." */
  stateChange(ifc: Interface, group: Ipv6Addr, type: number): void {
    if (!reportable(group)) return;
    this.pending = this.pending.filter((p) => !(p.iface === ifc.index && ipv6Equal(p.group, group)));
    const p: Pending = { iface: ifc.index, group: group.slice(), type, left: MLD_ROBUSTNESS, deadline: this.host.now() };
    this.pending.push(p);
    if (ifc.up) this.sendPending(ifc);
  }

  private sendPending(ifc: Interface): void {
    const now = this.host.now();
    const recs: MldRecord[] = [];
    for (const p of this.pending) {
      if (p.iface !== ifc.index || p.deadline > now || p.left <= 0) continue;
      recs.push({ recordType: p.type, address: p.group, sources: NO_SOURCES, auxData: NO_AUX });
      p.left--;
      p.deadline = now + Math.max(1, Math.floor(this.host.random() * MLD_UNSOLICITED_INTERVAL_MS));
    }
    this.pending = this.pending.filter((p) => p.left > 0);
    if (recs.length > 0) {
      this.host.count('mld.tx.state-change');
      this.host.sendReport(ifc, recs);
    }
  }

  /** A received MLD message on `ifc` (already validated by protocol/mld.ts). RFC 3810 §6.2:
   *  "the node ... sets a delay for a response to the query randomly selected from the range
   *  (0, [Maximum Response Delay])". General queries get a report of every group; a
   *  Multicast Address Specific Query one of that group if we listen to it. */
  input(ifc: Interface, m: MldMessage): void {
    if (m.kind === 'queryV2' || m.kind === 'queryV1') {
      this.host.count('mld.rx.query');
      const maxMs = m.kind === 'queryV2' ? mldMaxResponseDelay(m.maxResponseCode) : m.maxResponseDelay;
      const at = this.host.now() + Math.floor(this.host.random() * Math.max(1, maxMs));
      let general = true;
      for (let i = 0; i < 16; i++) if (m.address[i] !== 0) general = false;
      if (general) {
        const cur = this.general.get(ifc.index);
        if (cur === undefined || at < cur) this.general.set(ifc.index, at);
      } else if (this.isMemberAt(ifc, m.address, 0) && reportable(m.address)) {
        const k = `${ifc.index}|${hex(m.address)}`;
        const cur = this.specific.get(k);
        if (cur === undefined || at < cur.deadline) this.specific.set(k, { iface: ifc.index, group: m.address.slice(), deadline: at });
      }
      return;
    }
    this.host.count('mld.rx.report'); // other listeners' reports: nothing to do for a host
  }

  /** The earliest report due on an interface that is up (reports for a down interface wait
   *  until it comes up, without keeping the actor busy). */
  nextDeadline(): number {
    let d = Infinity;
    if (this.pending.length === 0 && this.general.size === 0 && this.specific.size === 0) return d;
    const up = new Set<number>();
    for (const i of this.ifaces()) if (i.up) up.add(i.index);
    for (const p of this.pending) if (p.deadline < d && up.has(p.iface)) d = p.deadline;
    for (const [i, t] of this.general) if (t < d && up.has(i)) d = t;
    for (const s of this.specific.values()) if (s.deadline < d && up.has(s.iface)) d = s.deadline;
    return d;
  }

  onTimer(): void {
    const now = this.host.now();
    for (const ifc of this.ifaces()) {
      if (!ifc.up) continue;
      this.sendPending(ifc);
      const g = this.general.get(ifc.index);
      if (g !== undefined && g <= now) {
        this.general.delete(ifc.index);
        const recs = this.groupsOf(ifc).map((a) => ({ recordType: MLD_MODE_IS_EXCLUDE, address: a, sources: NO_SOURCES, auxData: NO_AUX }));
        if (recs.length > 0) {
          this.host.count('mld.tx.current-state');
          this.host.sendReport(ifc, recs);
        }
      }
    }
    for (const [k, s] of this.specific) {
      if (s.deadline > now) continue;
      this.specific.delete(k);
      const ifc = this.ifaces().find((i) => i.index === s.iface);
      if (!ifc || !ifc.up || !this.isMemberAt(ifc, s.group, 0)) continue;
      this.host.count('mld.tx.current-state');
      this.host.sendReport(ifc, [{ recordType: MLD_MODE_IS_EXCLUDE, address: s.group, sources: NO_SOURCES, auxData: NO_AUX }]);
    }
    // Drop state of interfaces that are gone.
    const live = new Set(this.ifaces().map((i) => i.index));
    this.pending = this.pending.filter((p) => live.has(p.iface));
  }

  status(ifc: Interface): string[] {
    return [formatIpv6(ipv6AllNodes()), ...this.groupsOf(ifc).map(formatIpv6)];
  }
}

function zeros(b: Uint8Array, off: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (b[off + i] !== 0) return false;
  return true;
}

/** Groups MLD reports: not scope 0/1, not ff02::1. */
function reportable(g: Ipv6Addr): boolean {
  const s = ipv6MulticastScope(g);
  if (s <= 1) return false;
  return !ipv6Equal(g, ipv6AllNodes());
}
