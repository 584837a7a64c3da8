// The neighbour cache (generic over the address family) with RFC 4861 §7.3.2 Neighbor
// Unreachability Detection states, and ARP on top of it for IPv4 (RFC 826, RFC 5227, RFC 1122
// §2.3.2). The IPv6 half will drive the same cache from Neighbor Solicitations/Advertisements.
//
// RFC 4861 §7.3.2 states, applied to ARP as Linux does:
//   INCOMPLETE "Address resolution is in progress and the link-layer address of the neighbor
//              has not yet been determined." (broadcast ARP requests every RETRANS_TIMER)
//   REACHABLE  "Positive confirmation was received within the last ReachableTime milliseconds"
//   STALE      "More than ReachableTime milliseconds have elapsed since the last positive
//              confirmation ... no action takes place until a packet is sent."
//   DELAY      "... a packet was recently sent ... if no reachability confirmation is received
//              within DELAY_FIRST_PROBE_TIME seconds of entering the DELAY state, send a Neighbor
//              Solicitation and change the state to PROBE."
//   PROBE      "A reachability confirmation is actively sought by retransmitting Neighbor
//              Solicitations every RetransTimer milliseconds" (unicast ARP requests here) until
//              MAX_UNICAST_SOLICIT attempts, then the entry is deleted.
// Timeouts are data: each entry has one deadline, and the actor asks nextDeadline().
//
// RFC 1122 §2.3.2.2: "The link layer SHOULD save (rather than discard) at least one (the latest)
// packet of each set of packets destined to the same unresolved IP address". We keep a bounded
// queue per entry (oldest dropped first) and drop it with an unreachable callback when
// resolution fails (RFC 4861 §7.2.2: "The sender MUST return ICMP destination unreachable
// indications with code 3 (Address Unreachable) for each packet queued awaiting address
// resolution"; for IPv4 that is Host Unreachable, RFC 1812 §5.2.7.1).

import {
  Ipv4Addr, MacAddr, formatIpv4, formatMac, macBroadcast, macEqual, macZero,
} from '../../protocol/address';
import {
  ARP_OP_REPLY, ARP_OP_REQUEST, ArpHeader, arpIsProbe, emitArp, parseArp, ARP_LEN,
} from '../../protocol/arp';

export type NudState = 'INCOMPLETE' | 'REACHABLE' | 'STALE' | 'DELAY' | 'PROBE';

export interface NeighborParams {
  /** RFC 4861 §10 BaseReachableTime: 30,000 ms; ReachableTime is drawn from [0.5, 1.5) times it. */
  reachableMs: number;
  /** RFC 4861 §10 RetransTimer: 1,000 ms. */
  retransMs: number;
  /** RFC 4861 §10 DELAY_FIRST_PROBE_TIME: 5 s. */
  delayMs: number;
  /** RFC 4861 §10 MAX_MULTICAST_SOLICIT: 3 (broadcast requests while INCOMPLETE). */
  maxMulticastSolicit: number;
  /** RFC 4861 §10 MAX_UNICAST_SOLICIT: 3 (unicast requests in PROBE). */
  maxUnicastSolicit: number;
  /** Packets kept per unresolved neighbour (Linux keeps up to ~100; we keep fewer). */
  queueLen: number;
  /** Entries in the cache; when full, the least recently used STALE entry goes first. */
  maxEntries: number;
}

export const DEFAULT_NEIGHBOR_PARAMS: NeighborParams = {
  reachableMs: 30_000, retransMs: 1000, delayMs: 5000, maxMulticastSolicit: 3, maxUnicastSolicit: 3,
  queueLen: 16, maxEntries: 1024,
};

export interface Neighbor<A> {
  iface: number;
  addr: A;
  state: NudState;
  mac: MacAddr | null;
  /** When the current state's timer fires (Infinity: none, as in STALE). */
  deadline: number;
  /** Requests sent in the current state (INCOMPLETE or PROBE). */
  probes: number;
  queue: Uint8Array[];
  lastUsed: number;
}

export interface NeighborHooks<A> {
  /** Send a solicitation (ARP request) for `addr` on `iface`: broadcast when `mac` is null,
   *  unicast to `mac` otherwise (PROBE). */
  solicit(iface: number, addr: A, mac: MacAddr | null): void;
  /** Send a queued packet now that `mac` is known. */
  transmit(iface: number, mac: MacAddr, packet: Uint8Array): void;
  /** Resolution failed: these queued packets are dropped. */
  unreachable(iface: number, addr: A, packets: Uint8Array[]): void;
  /** Counter hook. */
  count(name: string, n?: number): void;
}

export class NeighborCache<A> {
  private readonly entries = new Map<string | number, Neighbor<A>>();
  private earliest = Infinity;
  private dirty = false;

  constructor(
    private readonly key: (iface: number, addr: A) => string | number,
    private readonly format: (a: A) => string,
    private readonly hooks: NeighborHooks<A>,
    private readonly now: () => number,
    private readonly random: () => number,
    readonly params: NeighborParams = DEFAULT_NEIGHBOR_PARAMS,
  ) {}

  get(iface: number, addr: A): Neighbor<A> | undefined {
    return this.entries.get(this.key(iface, addr));
  }

  get size(): number {
    return this.entries.size;
  }

  /** RFC 4861 §6.3.2: "ReachableTime ... a uniformly distributed random value between
   *  MIN_RANDOM_FACTOR [0.5] and MAX_RANDOM_FACTOR [1.5] times BaseReachableTime". */
  reachableTime(): number {
    return Math.floor(this.params.reachableMs * (0.5 + this.random()));
  }

  private setDeadline(n: Neighbor<A>, d: number): void {
    n.deadline = d;
    if (d < this.earliest) this.earliest = d;
    else this.dirty = true;
  }

  private transition(n: Neighbor<A>, state: NudState): void {
    if (n.state !== state) this.hooks.count(`neigh.state.${state.toLowerCase()}`);
    n.state = state;
  }

  /** Outbound packet to `addr` on `iface`. Returns the MAC to send to now, or null when the
   *  packet was queued (or dropped) pending resolution. `packet` is copied when queued. */
  resolve(iface: number, addr: A, packet: Uint8Array): MacAddr | null {
    const now = this.now();
    const k = this.key(iface, addr);
    let n = this.entries.get(k);
    if (!n) {
      if (!this.makeRoom()) {
        this.hooks.count('neigh.drop.table-full');
        this.hooks.unreachable(iface, addr, [packet.slice()]);
        return null;
      }
      // RFC 4861 §7.2.2: "When a node has a unicast packet to send to a neighbor, but does not
      // know the neighbor's link-layer address, it performs address resolution ... creating an
      // entry in the INCOMPLETE state ... [and] transmitting a Neighbor Solicitation".
      n = { iface, addr, state: 'INCOMPLETE', mac: null, deadline: Infinity, probes: 1, queue: [], lastUsed: now };
      this.entries.set(k, n);
      this.hooks.count('neigh.state.incomplete');
      this.enqueue(n, packet);
      this.setDeadline(n, now + this.params.retransMs);
      this.hooks.solicit(iface, addr, null);
      return null;
    }
    n.lastUsed = now;
    switch (n.state) {
      case 'INCOMPLETE':
        this.enqueue(n, packet);
        return null;
      case 'STALE':
        // RFC 4861 §7.3.3: "The first time a node sends a packet to a neighbor whose entry is
        // STALE, the sender changes the state to DELAY and sets a timer to expire in
        // DELAY_FIRST_PROBE_TIME seconds."
        this.transition(n, 'DELAY');
        this.setDeadline(n, now + this.params.delayMs);
        return n.mac;
      case 'REACHABLE':
      case 'DELAY':
      case 'PROBE':
        return n.mac;
    }
  }

  /** The fast path of resolve(): the MAC to send to when it is known (with the same STALE ->
   *  DELAY step), or null when resolve() must run (nothing is created or queued here). */
  known(iface: number, addr: A): MacAddr | null {
    const n = this.entries.get(this.key(iface, addr));
    if (!n || n.state === 'INCOMPLETE') return null;
    const now = this.now();
    n.lastUsed = now;
    if (n.state === 'STALE') {
      this.transition(n, 'DELAY');
      this.setDeadline(n, now + this.params.delayMs);
    }
    return n.mac;
  }

  private enqueue(n: Neighbor<A>, packet: Uint8Array): void {
    if (n.queue.length >= this.params.queueLen) {
      n.queue.shift();
      this.hooks.count('neigh.drop.queue-full');
    }
    n.queue.push(packet.slice());
    this.hooks.count('neigh.queued');
  }

  private makeRoom(): boolean {
    if (this.entries.size < this.params.maxEntries) return true;
    let victim: Neighbor<A> | null = null;
    for (const n of this.entries.values()) {
      if (n.state !== 'STALE') continue;
      if (!victim || n.lastUsed < victim.lastUsed) victim = n;
    }
    if (!victim) return false;
    this.entries.delete(this.key(victim.iface, victim.addr));
    this.hooks.count('neigh.evicted');
    return true;
  }

  /** Link-layer information learned about `addr` from the wire. `solicited`: a reply to our
   *  request (positive reachability confirmation); `create`: make an entry if none exists
   *  (RFC 826: only when the packet was for us). */
  learn(iface: number, addr: A, mac: MacAddr, solicited: boolean, create: boolean): void {
    const now = this.now();
    const k = this.key(iface, addr);
    let n = this.entries.get(k);
    if (!n) {
      if (!create || !this.makeRoom()) return;
      n = { iface, addr, state: 'STALE', mac: mac.slice(), deadline: Infinity, probes: 0, queue: [], lastUsed: now };
      this.entries.set(k, n);
      this.hooks.count('neigh.state.stale');
      // RFC 4861 §7.2.3 / §7.2.5: an entry created from unsolicited information is STALE, one
      // confirmed by a solicited advertisement is REACHABLE.
      if (solicited) {
        this.transition(n, 'REACHABLE');
        this.setDeadline(n, now + this.reachableTime());
      }
      return;
    }
    const changed = n.mac === null || !macEqual(n.mac, mac);
    if (n.state === 'INCOMPLETE') {
      // RFC 4861 §7.2.5: "If the target's Neighbor Cache entry is in the INCOMPLETE state ...
      // record the link-layer address ... If the advertisement's Solicited flag is set, the state
      // of the entry is set to REACHABLE; otherwise, it is set to STALE." Then "any packets
      // queued for the neighbor awaiting address resolution" are sent.
      n.mac = mac.slice();
      n.probes = 0;
      if (solicited) {
        this.transition(n, 'REACHABLE');
        this.setDeadline(n, now + this.reachableTime());
      } else {
        this.transition(n, 'STALE');
        n.deadline = Infinity;
        this.dirty = true;
      }
      const q = n.queue;
      n.queue = [];
      for (const p of q) this.hooks.transmit(iface, n.mac, p);
      return;
    }
    if (solicited) {
      // RFC 4861 §7.2.5 (Override, Solicited): "the entry MUST be set to REACHABLE".
      n.mac = mac.slice();
      n.probes = 0;
      this.transition(n, 'REACHABLE');
      this.setDeadline(n, now + this.reachableTime());
    } else if (changed) {
      // RFC 4861 §7.2.3: "If a Neighbor Cache entry already exists and its cached link-layer
      // address differs from the one in the received Source Link-Layer option, the cached address
      // should be replaced by the received address, and the entry's reachability state MUST be
      // set to STALE." RFC 826: "update the table with the sender hardware address".
      n.mac = mac.slice();
      n.probes = 0;
      this.transition(n, 'STALE');
      n.deadline = Infinity;
      this.dirty = true;
    }
  }

  /** A received Neighbor Advertisement for `addr` (RFC 4861 §7.2.5). `mac` is its Target
   *  Link-Layer Address option (null if absent). Returns false when it was ignored. */
  advert(iface: number, addr: A, mac: MacAddr | null, solicited: boolean, override: boolean): boolean {
    const n = this.entries.get(this.key(iface, addr));
    // "If no entry exists, the advertisement SHOULD be silently discarded."
    if (!n) return false;
    if (n.state === 'INCOMPLETE') {
      // "If the link layer has addresses and no Target Link-Layer Address option is included,
      // the receiving node SHOULD silently discard the received advertisement."
      if (mac === null) return false;
      this.learn(iface, addr, mac, solicited, false);
      return true;
    }
    const changed = mac !== null && (n.mac === null || !macEqual(n.mac, mac));
    const now = this.now();
    if (!override && changed) {
      // "If the Override flag is clear and the supplied link-layer address differs from that in
      // the cache, then one of two actions takes place: a. If the state of the entry is
      // REACHABLE, set it to STALE, but do not update the entry in any other way. b. Otherwise,
      // the received advertisement should be ignored".
      if (n.state === 'REACHABLE') {
        this.transition(n, 'STALE');
        n.deadline = Infinity;
        this.dirty = true;
      }
      return false;
    }
    // "If the Override flag is set, or the supplied link-layer address is the same as that in
    // the cache, or no Target Link-Layer Address option was supplied, the received advertisement
    // MUST update the Neighbor Cache entry as follows: The link-layer address in the Target
    // Link-Layer Address option MUST be inserted in the cache (if one is supplied and differs
    // from the already recorded address). If the Solicited flag is set, the state of the entry
    // MUST be set to REACHABLE. If the Solicited flag is zero and the link-layer address was
    // updated with a different address, the state MUST be set to STALE."
    if (mac !== null && changed) n.mac = mac.slice();
    if (solicited) {
      this.transition(n, 'REACHABLE');
      n.probes = 0;
      this.setDeadline(n, now + this.reachableTime());
    } else if (changed) {
      this.transition(n, 'STALE');
      n.deadline = Infinity;
      this.dirty = true;
    }
    return true;
  }

  /** Upper-layer reachability confirmation (RFC 4861 §7.3.1: "forward progress" hints, e.g.
   *  TCP ACKs for new data): the entry becomes REACHABLE. */
  confirm(iface: number, addr: A): void {
    const n = this.entries.get(this.key(iface, addr));
    if (!n || n.state === 'INCOMPLETE') return;
    this.transition(n, 'REACHABLE');
    n.probes = 0;
    this.setDeadline(n, this.now() + this.reachableTime());
  }

  nextDeadline(): number {
    if (this.dirty) {
      let e = Infinity;
      for (const n of this.entries.values()) if (n.deadline < e) e = n.deadline;
      this.earliest = e;
      this.dirty = false;
    }
    return this.earliest;
  }

  onTimer(): void {
    const now = this.now();
    if (this.nextDeadline() > now) return;
    for (const [k, n] of this.entries) {
      if (n.deadline > now) continue;
      switch (n.state) {
        case 'INCOMPLETE':
          if (n.probes >= this.params.maxMulticastSolicit) {
            // RFC 4861 §7.2.2: "If no Neighbor Advertisement is received after
            // MAX_MULTICAST_SOLICIT solicitations, address resolution has failed."
            this.entries.delete(k);
            this.hooks.count('neigh.failed');
            this.hooks.unreachable(n.iface, n.addr, n.queue);
            n.queue = [];
          } else {
            n.probes++;
            n.deadline = now + this.params.retransMs;
            this.hooks.solicit(n.iface, n.addr, null);
          }
          break;
        case 'REACHABLE':
          // RFC 4861 §7.3.3: "When ReachableTime milliseconds have passed since receipt of the
          // last reachability confirmation for a neighbor, the Neighbor Cache entry's state
          // changes from REACHABLE to STALE."
          this.transition(n, 'STALE');
          n.deadline = Infinity;
          break;
        case 'DELAY':
          // RFC 4861 §7.3.3: "If the entry is still in the DELAY state when the timer expires,
          // the entry's state changes to PROBE" and a unicast solicitation is sent.
          this.transition(n, 'PROBE');
          n.probes = 1;
          n.deadline = now + this.params.retransMs;
          this.hooks.solicit(n.iface, n.addr, n.mac);
          break;
        case 'PROBE':
          if (n.probes >= this.params.maxUnicastSolicit) {
            // RFC 4861 §7.3.3: "If no response is received after waiting RetransTimer
            // milliseconds after sending the MAX_UNICAST_SOLICIT solicitations, retransmissions
            // cease and the entry SHOULD be deleted."
            this.entries.delete(k);
            this.hooks.count('neigh.failed');
          } else {
            n.probes++;
            n.deadline = now + this.params.retransMs;
            this.hooks.solicit(n.iface, n.addr, n.mac);
          }
          break;
        case 'STALE':
          n.deadline = Infinity;
          break;
      }
    }
    this.dirty = true;
  }

  /** Drops every entry of an interface (link down, address removed). */
  flushIface(iface: number): void {
    for (const [k, n] of this.entries) if (n.iface === iface) this.entries.delete(k);
    this.dirty = true;
  }

  delete(iface: number, addr: A): boolean {
    this.dirty = true;
    return this.entries.delete(this.key(iface, addr));
  }

  status(ifName: (i: number) => string): object[] {
    return [...this.entries.values()].map((n) => ({
      iface: ifName(n.iface), addr: this.format(n.addr), state: n.state, mac: n.mac ? formatMac(n.mac) : null,
      queued: n.queue.length, deadline: Number.isFinite(n.deadline) ? n.deadline : null,
    }));
  }
}

// ---------------------------------------------------------------------------------------------
// ARP (RFC 826) for IPv4 over Ethernet.

export interface ArpHost {
  now(): number;
  ownMac(iface: number): MacAddr;
  /** True if `a` is one of this interface's addresses. */
  ownAddrOn(iface: number, a: Ipv4Addr): boolean;
  /** Send an ARP packet (28 bytes) in an Ethernet frame to `dstMac`. */
  sendArp(iface: number, dstMac: MacAddr, arp: Uint8Array): void;
  conflict(iface: number, addr: Ipv4Addr, mac: MacAddr): void;
  count(name: string, n?: number): void;
}

/** RFC 5227 §1.1 DEFEND_INTERVAL: 10 seconds between defensive announcements. */
export const DEFEND_INTERVAL_MS = 10_000;

export class Arp {
  readonly cache: NeighborCache<Ipv4Addr>;
  private readonly scratch = new Uint8Array(ARP_LEN);
  private readonly parsed: ArpHeader = { op: 1, senderMac: new Uint8Array(6), senderIp: 0, targetMac: new Uint8Array(6), targetIp: 0 };
  private readonly lastDefend = new Map<number, number>();

  constructor(private readonly host: ArpHost, hooks: Omit<NeighborHooks<Ipv4Addr>, 'solicit'>, random: () => number, params: NeighborParams) {
    this.cache = new NeighborCache<Ipv4Addr>(
      (i, a) => i * 0x1_0000_0000 + a,
      formatIpv4,
      { ...hooks, solicit: (i, a, mac) => this.request(i, a, mac) },
      () => host.now(), random, params,
    );
  }

  /** Set by the IP layer: the sender protocol address for requests about `target`. */
  pickSource: (iface: number, target: Ipv4Addr) => Ipv4Addr | null = () => null;

  /** RFC 826: a request broadcast ("ar$tha ... does not matter", zero), or unicast in PROBE. */
  private request(iface: number, target: Ipv4Addr, mac: MacAddr | null): void {
    const h: ArpHeader = {
      op: ARP_OP_REQUEST, senderMac: this.host.ownMac(iface), senderIp: this.pickSource(iface, target) ?? 0,
      targetMac: macZero(), targetIp: target,
    };
    emitArp(h, this.scratch, 0);
    this.host.sendArp(iface, mac ?? macBroadcast(), this.scratch);
    this.host.count('arp.tx.request');
  }

  /** RFC 5227 §2.3 announcement ("gratuitous ARP"): a request with sender and target IP both
   *  set to the new address, broadcast, so neighbours update stale caches. */
  announce(iface: number, addr: Ipv4Addr): void {
    const h: ArpHeader = { op: ARP_OP_REQUEST, senderMac: this.host.ownMac(iface), senderIp: addr, targetMac: macZero(), targetIp: addr };
    emitArp(h, this.scratch, 0);
    this.host.sendArp(iface, macBroadcast(), this.scratch);
    this.host.count('arp.tx.announce');
  }

  /** One received ARP packet (the Ethernet payload). Never throws on bad input. */
  input(iface: number, buf: Uint8Array, off: number, len: number, frameSrc: MacAddr): void {
    const r = parseArp(buf, off, len, this.parsed);
    if (!r.ok) {
      this.host.count(`arp.drop.${r.kind}`);
      return;
    }
    const h = r.value;
    this.host.count('arp.rx');
    const own = this.host.ownMac(iface);
    if (macEqual(h.senderMac, own)) {
      this.host.count('arp.drop.own-mac'); // our own broadcast looped back
      return;
    }
    // A group or all-zero sender hardware address can never be a neighbour's (RFC 1812
    // §3.3.2: "A router MUST not believe any ARP reply that claims that the Link Layer address
    // of another host or router is a broadcast or multicast address").
    if ((h.senderMac[0] & 1) !== 0 || (frameSrc[0] & 1) !== 0 || isZeroMac(h.senderMac)) {
      this.host.count('arp.drop.bad-sender');
      return;
    }
    // RFC 5227 §2.4: "if the host receives any ARP packet (Request *or* Reply) on an interface
    // where the 'sender IP address' is (one of) the host's own IP address(es) configured on
    // that interface, but the 'sender hardware address' does not match any of the host's own
    // interface addresses, then this is a conflicting ARP packet".
    if (h.senderIp !== 0 && this.host.ownAddrOn(iface, h.senderIp)) {
      this.host.count('arp.conflict');
      this.host.conflict(iface, h.senderIp, h.senderMac);
      // RFC 5227 §2.4 (b): defend once per DEFEND_INTERVAL with an announcement.
      const now = this.host.now();
      const last = this.lastDefend.get(h.senderIp);
      if (last === undefined || now - last >= DEFEND_INTERVAL_MS) {
        this.lastDefend.set(h.senderIp, now);
        this.announce(iface, h.senderIp);
      }
      return;
    }
    // RFC 826: "If the pair <protocol type, sender protocol address> is already in my
    // translation table, update the sender hardware address field of the entry with the new
    // information in the packet and set Merge_flag to true. ... ?Am I the target protocol
    // address? Yes: If Merge_flag is false, add the triplet <protocol type, sender protocol
    // address, sender hardware address> to the translation table."
    const forMe = this.host.ownAddrOn(iface, h.targetIp);
    if (h.senderIp !== 0 && !arpIsProbe(h)) {
      const solicited = h.op === ARP_OP_REPLY && forMe && macEqual(h.targetMac, own);
      this.cache.learn(iface, h.senderIp, h.senderMac, solicited, forMe);
    }
    if (!forMe) {
      this.host.count('arp.ignored');
      return;
    }
    // RFC 826: "Is the opcode ares_op$REQUEST? ... Yes: Swap hardware and protocol fields,
    // putting the local hardware and protocol addresses in the sender fields. Set the ar$op
    // field to ares_op$REPLY. Send the packet to the (new) target hardware address".
    if (h.op === ARP_OP_REQUEST) {
      const reply: ArpHeader = { op: ARP_OP_REPLY, senderMac: own, senderIp: h.targetIp, targetMac: h.senderMac, targetIp: h.senderIp };
      emitArp(reply, this.scratch, 0);
      this.host.sendArp(iface, h.senderMac, this.scratch);
      this.host.count('arp.tx.reply');
    }
  }
}

function isZeroMac(m: MacAddr): boolean {
  return (m[0] | m[1] | m[2] | m[3] | m[4] | m[5]) === 0;
}

export { macEqual };
