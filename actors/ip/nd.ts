// Neighbor Discovery and address autoconfiguration of the IP actor (IPv6 host side): the
// neighbour cache for IPv6 (neighbor.ts's NUD machine driven by Neighbor Solicitations and
// Advertisements), answers for our own addresses, Router Solicitations on link up, Router
// Advertisement processing (Default Router List, Prefix List, MTU, ReachableTime,
// RetransTimer, CurHopLimit), Redirects, Duplicate Address Detection on every address, the
// EUI-64 link-local address and SLAAC. Wire formats are protocol/ndp.ts.
// Follows RFC 4861 (Neighbor Discovery), RFC 4862 (SLAAC, DAD), RFC 4191 §2.2 (router
// preference), RFC 5942 (SLAAC addresses do not imply on-link prefixes).
//
// Deliberate differences: RAs are processed only while not forwarding (as Linux with
// accept_ra=1); we send no Router Advertisements and no Redirects; ReachableTime and
// RetransTimer from an RA apply to the whole IPv6 neighbour cache (one per stack), not per
// interface; no random delay before the first DAD solicitation (RFC 4862 §5.4.2 SHOULD); a
// duplicate link-local address is marked 'duplicated' but IPv6 stays on for the interface
// (RFC 4862 §5.4.5 SHOULD disable it); no Optimistic DAD, no temporary addresses (RFC 8981),
// no enhanced DAD nonce (RFC 7527).

import {
  Ipv6Addr, MacAddr, eui64FromMac, formatIpv6, formatMac, ipv6AllNodes, ipv6AllRouters, ipv6Equal,
  ipv6IsLinkLocal, ipv6IsUnspecified, ipv6LinkLocalFromMac, ipv6Prefix, ipv6SolicitedNode,
} from '../../protocol/address';
import {
  NDP_INFINITE_LIFETIME, NdpMessage, NdpPrefixInfo, NeighborAdvert, NeighborSolicit, Redirect, RouterAdvert,
  ndpMtu, ndpPrefixes, ndpSourceLinkAddr, ndpTargetLinkAddr, raPreference,
} from '../../protocol/ndp';
import { IPV6_MIN_MTU } from '../../protocol/ipv6';
import type { AddrV6, Interface, InterfaceTable } from './iface';
import { NeighborCache, NeighborHooks, NeighborParams } from './neighbor';
import type { MldListener } from './mld';
import type { RouteTable } from './routes';

/** RFC 4861 §10 host constants. */
export const MAX_RTR_SOLICITATION_DELAY_MS = 1000;
export const RTR_SOLICITATION_INTERVAL_MS = 4000;
export const MAX_RTR_SOLICITATIONS = 3;
/** RFC 4862 §5.5.3 (e): "two hours". */
export const TWO_HOURS_MS = 2 * 3600 * 1000;
const MAX_REDIRECTS = 256;
const MAX_ROUTERS = 16;

export interface Nd6Params {
  /** RFC 4862 §5.1 DupAddrDetectTransmits (default 1; 0 turns DAD off). */
  dadTransmits: number;
  /** Process Router Advertisements (default true; never while forwarding). */
  acceptRa: boolean;
  /** Form addresses from RA prefixes with the A flag (default true). */
  slaac: boolean;
  /** Router Solicitations sent on link up (RFC 4861 MAX_RTR_SOLICITATIONS = 3). */
  routerSolicitations: number;
}

export const DEFAULT_ND6_PARAMS: Nd6Params = { dadTransmits: 1, acceptRa: true, slaac: true, routerSolicitations: MAX_RTR_SOLICITATIONS };

export interface NdHost {
  now(): number;
  random(): number;
  count(name: string, n?: number): void;
  emit(event: string, data: unknown): void;
  forwarding(): boolean;
  /** Sends an ND message (hop limit 255) from `src` to `dst` on `ifc`; `dstMac` null: the
   *  multicast MAC of `dst`, or neighbour resolution for a unicast `dst`. */
  sendNd(ifc: Interface, src: Ipv6Addr, dst: Ipv6Addr, m: NdpMessage, dstMac: MacAddr | null): void;
  /** The next hop we would use for `dst` now (for the Redirect check), or null. */
  firstHop(dst: Ipv6Addr): { iface: number; nextHop: Ipv6Addr } | null;
}

export interface DefaultRouter {
  iface: number;
  addr: Ipv6Addr;
  expires: number;
  pref: number;
}

function hex(a: Ipv6Addr): string {
  return Buffer.from(a.buffer, a.byteOffset, 16).toString('hex');
}

function lifetimeMs(now: number, sec: number): number {
  return sec === NDP_INFINITE_LIFETIME ? Infinity : now + sec * 1000;
}

export class NeighborDiscovery {
  readonly cache: NeighborCache<Ipv6Addr>;
  /** RFC 4861 §5.1 Default Router List. */
  readonly routers: DefaultRouter[] = [];
  /** RFC 4861 §5.1 Destination Cache entries made by Redirects: dst hex -> next hop. */
  readonly redirects = new Map<string, { iface: number; nextHop: Ipv6Addr; dst: Ipv6Addr }>();

  constructor(
    private readonly host: NdHost,
    private readonly ifaces: InterfaceTable,
    private readonly mld: MldListener,
    private readonly routes: RouteTable<Ipv6Addr>,
    readonly params: Nd6Params,
    hooks: Omit<NeighborHooks<Ipv6Addr>, 'solicit'>,
    neighParams: NeighborParams,
  ) {
    this.cache = new NeighborCache<Ipv6Addr>(
      (i, a) => `${i}|${hex(a)}`, formatIpv6,
      { ...hooks, solicit: (i, a, mac) => this.solicit(i, a, mac) },
      () => host.now(), () => host.random(), { ...neighParams },
    );
  }

  // -------------------------------------------------------------------------------------------
  // Addresses (RFC 4862)

  /** Brings IPv6 up on an interface: the link-local address (RFC 4862 §5.3: "A node forms a
   *  link-local address whenever an interface becomes enabled") and Router Solicitations. */
  ifaceUp(ifc: Interface): void {
    const ll = ipv6LinkLocalFromMac(ifc.mac);
    if (!ifc.findV6(ll)) this.addAddress(ifc, ll, 64, 'link-local', Infinity, Infinity);
    else for (const x of ifc.v6) if (x.state !== 'duplicated') this.restartDad(ifc, x);
    this.startRs(ifc);
  }

  private restartDad(ifc: Interface, x: AddrV6): void {
    if (this.params.dadTransmits <= 0) return;
    // RFC 4862 §5.4: "Duplicate Address Detection MUST be performed on all unicast addresses
    // prior to assigning them to an interface" ... also when the interface is re-enabled.
    x.state = 'tentative';
    x.dadLeft = this.params.dadTransmits;
    x.dadDeadline = this.host.now();
    this.mld.addressAdded(ifc, x.addr, true);
  }

  /** Adds an address in the tentative state and starts DAD (RFC 4862 §5.4). */
  addAddress(ifc: Interface, addr: Ipv6Addr, prefixLen: number, origin: AddrV6['origin'], validUntil: number, preferredUntil: number): AddrV6 {
    const newGroup = !this.mld.isMemberAt(ifc, ipv6SolicitedNode(addr), 0);
    const dad = this.params.dadTransmits > 0;
    const x: AddrV6 = {
      addr: addr.slice(), prefixLen, origin, validUntil, preferredUntil,
      state: dad ? 'tentative' : 'preferred', dadLeft: this.params.dadTransmits, dadDeadline: dad ? this.host.now() : Infinity,
    };
    ifc.v6.push(x);
    // RFC 4862 §5.4.2: join the solicited-node group of the tentative address first.
    this.mld.addressAdded(ifc, addr, newGroup);
    // Connected route for configured prefixes (RFC 5942 §4: a SLAAC address does not make its
    // prefix on-link; only the RA's L flag does).
    if (origin !== 'slaac' && prefixLen < 128) {
      this.routes.add({ dest: addr, prefixLen, gateway: null, iface: ifc.index, metric: origin === 'link-local' ? 256 : 0, origin: 'connected' });
    }
    this.host.count('nd.addr.added');
    this.host.emit('address', { iface: ifc.name, address: `${formatIpv6(addr)}/${prefixLen}`, added: true, family: 6, state: x.state, origin });
    if (dad && ifc.up) this.dadStep(ifc, x);
    return x;
  }

  removeAddress(ifc: Interface, x: AddrV6, why = 'removed'): void {
    const i = ifc.v6.indexOf(x);
    if (i < 0) return;
    ifc.v6.splice(i, 1);
    this.mld.addressRemoved(ifc, x.addr);
    if (x.origin !== 'slaac' && !ifc.v6.some((y) => y.origin !== 'slaac' && y.prefixLen === x.prefixLen && ipv6Equal(ipv6Prefix(y.addr, y.prefixLen), ipv6Prefix(x.addr, x.prefixLen)))) {
      this.routes.remove(x.addr, x.prefixLen, { iface: ifc.index, origin: 'connected' });
    }
    this.host.emit('address', { iface: ifc.name, address: `${formatIpv6(x.addr)}/${x.prefixLen}`, added: false, family: 6, reason: why });
  }

  /** One DAD step: RFC 4862 §5.4.2 "sending DupAddrDetectTransmits Neighbor Solicitations, each
   *  separated by RetransTimer milliseconds", from the unspecified address to the
   *  solicited-node group, no Source Link-Layer option; §5.4.5: "If no ... is received ... the
   *  address is considered unique and may be assigned". */
  private dadStep(ifc: Interface, x: AddrV6): void {
    const now = this.host.now();
    if (x.dadLeft > 0) {
      x.dadLeft--;
      x.dadDeadline = now + this.cache.params.retransMs;
      const ns: NeighborSolicit = { kind: 'neighborSolicit', target: x.addr, options: [] };
      this.host.count('nd.tx.dad');
      this.host.sendNd(ifc, new Uint8Array(16), ipv6SolicitedNode(x.addr), ns, null);
      return;
    }
    x.dadDeadline = Infinity;
    x.state = x.preferredUntil <= now ? 'deprecated' : 'preferred';
    this.host.count('nd.dad.ok');
    this.host.emit('address', { iface: ifc.name, address: `${formatIpv6(x.addr)}/${x.prefixLen}`, added: true, family: 6, state: x.state, origin: x.origin });
  }

  /** RFC 4862 §5.4.5: "the tentative address is a duplicate ... the address MUST NOT be
   *  assigned to the interface". */
  private duplicate(ifc: Interface, x: AddrV6, how: string, mac: MacAddr | null): void {
    x.state = 'duplicated';
    x.dadDeadline = Infinity;
    this.mld.addressRemoved(ifc, x.addr);
    this.host.count('nd.dad.conflict');
    this.host.emit('conflict', { iface: ifc.name, address: formatIpv6(x.addr), family: 6, how, mac: mac ? formatMac(mac) : null });
  }

  // -------------------------------------------------------------------------------------------
  // Input

  /** A validated ND message received on `ifc` from `src` to `dst` (protocol/ndp.ts checked the
   *  hop limit, code, checksum, lengths and address rules). */
  input(ifc: Interface, src: Ipv6Addr, dst: Ipv6Addr, m: NdpMessage): void {
    switch (m.kind) {
      case 'neighborSolicit': this.onNs(ifc, src, m); return;
      case 'neighborAdvert': this.onNa(ifc, dst, m); return;
      case 'routerAdvert': this.onRa(ifc, src, m); return;
      case 'redirect': this.onRedirect(ifc, src, m); return;
      case 'routerSolicit': this.host.count('nd.rx.rs.ignored'); return; // we send no RAs
    }
  }

  private onNs(ifc: Interface, src: Ipv6Addr, m: NeighborSolicit): void {
    this.host.count('nd.rx.ns');
    const x = ifc.findV6(m.target);
    // RFC 4861 §7.2.3: "If the Target Address is not a valid 'individual' address of the
    // receiving interface ... the solicitation MUST be silently discarded."
    if (!x || x.state === 'duplicated') {
      this.host.count('nd.rx.ns.not-ours');
      return;
    }
    const fromDad = ipv6IsUnspecified(src);
    if (x.state === 'tentative') {
      // RFC 4862 §5.4.3: "If the source address of the Neighbor Solicitation is the unspecified
      // address, the solicitation is from a node performing Duplicate Address Detection" ...
      // "the tentative address is a duplicate"; otherwise "the solicitation MUST be silently
      // discarded" (we do not answer for a tentative address).
      if (fromDad) this.duplicate(ifc, x, 'ns', null);
      return;
    }
    const slla = ndpSourceLinkAddr(m);
    // RFC 4861 §7.2.3: "If the Source Address is not the unspecified address and, on link
    // layers that have addresses, the solicitation includes a Source Link-Layer Address option,
    // then the recipient SHOULD create or update the Neighbor Cache entry" (STALE if new or
    // changed).
    if (!fromDad && slla !== null && slla.length >= 6) this.cache.learn(ifc.index, src, slla.subarray(0, 6), false, true);
    // RFC 4861 §7.2.4: "sending a Neighbor Advertisement ... The Target Address ... copied from
    // the solicitation. The Target Link-Layer Address option [included]. The Router flag
    // [set if a router]. The Override flag SHOULD be set [for non-anycast]. If the source of
    // the solicitation is the unspecified address, the node MUST set the Solicited flag to zero
    // and multicast the advertisement to the all-nodes address. Otherwise, the node MUST set
    // the Solicited flag to one and unicast the advertisement to the Source Address".
    const na: NeighborAdvert = {
      kind: 'neighborAdvert', router: this.host.forwarding(), solicited: !fromDad, override: true, target: x.addr,
      options: [{ kind: 'targetLinkAddr', addr: ifc.mac }],
    };
    this.host.count('nd.tx.na');
    if (fromDad) this.host.sendNd(ifc, x.addr, ipv6AllNodes(), na, null);
    else this.host.sendNd(ifc, x.addr, src, na, slla !== null && slla.length >= 6 ? slla.subarray(0, 6) : null);
  }

  private onNa(ifc: Interface, _dst: Ipv6Addr, m: NeighborAdvert): void {
    this.host.count('nd.rx.na');
    const tlla = ndpTargetLinkAddr(m);
    const mac = tlla !== null && tlla.length >= 6 ? tlla.subarray(0, 6) : null;
    const x = ifc.findV6(m.target);
    if (x) {
      // RFC 4862 §5.4.4: "If the target address is tentative, the tentative address is not
      // unique." An advertisement for an address we use is another node claiming it.
      if (mac !== null && mac[0] === ifc.mac[0] && mac.every((b, i) => b === ifc.mac[i])) return; // our own, looped
      if (x.state === 'tentative') this.duplicate(ifc, x, 'na', mac);
      else if (x.state !== 'duplicated') {
        this.host.count('nd.rx.na.own-address');
        this.host.emit('conflict', { iface: ifc.name, address: formatIpv6(x.addr), family: 6, how: 'na', mac: mac ? formatMac(mac) : null });
      }
      return;
    }
    const updated = this.cache.advert(ifc.index, m.target, mac, m.solicited, m.override);
    if (!updated) this.host.count('nd.rx.na.ignored');
    // RFC 4861 §7.2.5: "In those cases where the IsRouter flag changes from TRUE to FALSE as a
    // result of this update, the node MUST remove that router from the Default Router List".
    if (updated && !m.router) {
      const i = this.routers.findIndex((r) => r.iface === ifc.index && ipv6Equal(r.addr, m.target));
      if (i >= 0) this.routers.splice(i, 1);
    }
  }

  private onRa(ifc: Interface, src: Ipv6Addr, m: RouterAdvert): void {
    this.host.count('nd.rx.ra');
    if (!this.params.acceptRa || this.host.forwarding()) {
      this.host.count('nd.rx.ra.ignored');
      return;
    }
    const now = this.host.now();
    ifc.nd.rsLeft = 0; // RFC 4861 §6.3.7: stop soliciting once an RA arrived
    ifc.nd.rsDeadline = Infinity;
    // RFC 4861 §6.3.4: "If the received Cur Hop Limit value is non-zero, the host SHOULD set
    // its CurHopLimit variable to the received value."
    if (m.curHopLimit !== 0) ifc.nd.curHopLimit = m.curHopLimit;
    // "If the received Reachable Time value is non-zero, the host SHOULD set its
    // BaseReachableTime variable to the received value ... The RetransTimer variable SHOULD be
    // copied from the Retrans Timer field, if the received value is non-zero."
    if (m.reachableTime !== 0 && m.reachableTime <= 3_600_000) this.cache.params.reachableMs = m.reachableTime;
    if (m.retransTimer !== 0 && m.retransTimer <= 60_000) this.cache.params.retransMs = m.retransTimer;
    // "If the advertisement contains a Source Link-Layer Address option, the link-layer address
    // SHOULD be recorded in the Neighbor Cache entry for the router (creating an entry if
    // necessary)".
    const slla = ndpSourceLinkAddr(m);
    if (slla !== null && slla.length >= 6) this.cache.learn(ifc.index, src, slla.subarray(0, 6), false, true);
    // "If the address is not already present in the host's Default Router List, and the
    // advertisement's Router Lifetime is non-zero, create a new entry ... If the address is
    // already present ... reset its invalidation timer ... If the address is already present
    // in the host's Default Router List and the received Router Lifetime value is zero,
    // immediately time-out the entry".
    const i = this.routers.findIndex((r) => r.iface === ifc.index && ipv6Equal(r.addr, src));
    if (m.routerLifetime === 0) {
      if (i >= 0) this.routers.splice(i, 1);
    } else if (i >= 0) {
      this.routers[i].expires = now + m.routerLifetime * 1000;
      this.routers[i].pref = raPreference(m);
    } else if (this.routers.length < MAX_ROUTERS) {
      this.routers.push({ iface: ifc.index, addr: src.slice(), expires: now + m.routerLifetime * 1000, pref: raPreference(m) });
      this.host.emit('route', { dest: 'default', gateway: formatIpv6(src), iface: ifc.name, family: 6, origin: 'ra', added: true });
    }
    // "If the MTU option is present, hosts SHOULD copy the option's value into LinkMTU so long
    // as the value is greater than or equal to the minimum link MTU [IPv6] and does not exceed
    // the maximum LinkMTU value specified in the link-type-specific document".
    const mtu = ndpMtu(m);
    if (mtu >= IPV6_MIN_MTU && mtu <= ifc.mtu) ifc.nd.linkMtu = mtu;
    else if (mtu >= 0) this.host.count('nd.rx.ra.bad-mtu');
    for (const pi of ndpPrefixes(m)) {
      this.onLinkPrefix(ifc, pi, now);
      if (this.params.slaac) this.slaac(ifc, pi, now);
    }
  }

  /** RFC 4861 §6.3.4 Prefix List (the L flag). */
  private onLinkPrefix(ifc: Interface, pi: NdpPrefixInfo, now: number): void {
    if (!pi.onLink) return;
    // "If the prefix is the link-local prefix, silently ignore the Prefix Information option."
    if (ipv6IsLinkLocal(pi.prefix) || pi.prefixLength > 128) return;
    // "If the new Lifetime value is zero, time-out the prefix immediately."
    if (pi.validLifetime === 0) {
      this.routes.remove(pi.prefix, pi.prefixLength, { iface: ifc.index, origin: 'ra' });
      return;
    }
    this.routes.add({
      dest: pi.prefix, prefixLen: pi.prefixLength, gateway: null, iface: ifc.index, metric: 0, origin: 'ra',
      expires: lifetimeMs(now, pi.validLifetime),
    });
  }

  /** RFC 4862 §5.5.3: Router Advertisement processing for stateless autoconfiguration. */
  private slaac(ifc: Interface, pi: NdpPrefixInfo, now: number): void {
    // "a) If the Autonomous flag is not set, silently ignore the Prefix Information option.
    //  b) If the prefix is the link-local prefix, silently ignore the Prefix Information option.
    //  c) If the preferred lifetime is greater than the valid lifetime, silently ignore the
    //  Prefix Information option."
    if (!pi.autonomous || ipv6IsLinkLocal(pi.prefix)) return;
    if (pi.preferredLifetime > pi.validLifetime) {
      this.host.count('slaac.ignored.lifetimes');
      return;
    }
    // "If the sum of the prefix length and interface identifier length does not equal 128
    // bits, the Prefix Information option MUST be ignored." (64-bit EUI-64 identifiers, RFC 2464.)
    if (pi.prefixLength !== 64) {
      this.host.count('slaac.ignored.prefix-length');
      return;
    }
    const existing = ifc.v6.find((x) => x.origin === 'slaac' && ipv6Equal(ipv6Prefix(x.addr, 64), ipv6Prefix(pi.prefix, 64)));
    if (!existing) {
      // "d) If the prefix advertised is not equal to the prefix of an address configured by
      // stateless autoconfiguration already in the list of addresses associated with the
      // interface ..., and if the Valid Lifetime is not 0, form an address".
      if (pi.validLifetime === 0) return;
      const a = ipv6Prefix(pi.prefix, 64);
      a.set(eui64FromMac(ifc.mac), 8);
      if (this.ifaces.holderOfV6(a)) return;
      this.host.count('slaac.added');
      this.addAddress(ifc, a, 64, 'slaac', lifetimeMs(now, pi.validLifetime), lifetimeMs(now, pi.preferredLifetime));
      return;
    }
    if (existing.state === 'duplicated') return;
    // "e) ... the preferred lifetime of the address is reset to the Preferred Lifetime in the
    // received advertisement."
    existing.preferredUntil = lifetimeMs(now, pi.preferredLifetime);
    if (existing.state === 'deprecated' && existing.preferredUntil > now) existing.state = 'preferred';
    // "The specific action to perform for the valid lifetime of the address depends on the
    // Valid Lifetime in the received advertisement and the remaining time to the valid
    // lifetime expiration of the previously autoconfigured address. We call the remaining time
    // 'RemainingLifetime' in the following discussion:
    // 1. If the received Valid Lifetime is greater than 2 hours or greater than
    //    RemainingLifetime, set the valid lifetime of the corresponding address to the
    //    advertised Valid Lifetime.
    // 2. If RemainingLifetime is less than or equal to 2 hours, ignore the Prefix Information
    //    option with regards to the valid lifetime, unless the Router Advertisement from which
    //    this option was obtained has been authenticated ...
    // 3. Otherwise, reset the valid lifetime of the corresponding address to 2 hours."
    const remaining = existing.validUntil - now;
    const advertised = pi.validLifetime === NDP_INFINITE_LIFETIME ? Infinity : pi.validLifetime * 1000;
    if (advertised > TWO_HOURS_MS || advertised > remaining) existing.validUntil = now + advertised;
    else if (remaining <= TWO_HOURS_MS) this.host.count('slaac.two-hour-rule');
    else existing.validUntil = now + TWO_HOURS_MS;
  }

  private onRedirect(ifc: Interface, src: Ipv6Addr, m: Redirect): void {
    this.host.count('nd.rx.redirect');
    // RFC 4861 §8.2: "A router MUST NOT update its routing tables upon receipt of a Redirect."
    if (this.host.forwarding()) return;
    // RFC 4861 §8.1: "The IP source address of the Redirect is the same as the current
    // first-hop router for the specified ICMP Destination Address."
    const hop = this.host.firstHop(m.destination);
    if (!hop || hop.iface !== ifc.index || !ipv6Equal(hop.nextHop, src)) {
      this.host.count('nd.rx.redirect.not-first-hop');
      return;
    }
    // RFC 4861 §8.3: "If the redirect contains a Target Link-Layer Address option, the host
    // either creates or updates the Neighbor Cache entry for the target" (STALE when new or
    // changed). "the host MUST update its Destination Cache so that subsequent traffic goes to
    // the specified target".
    const tlla = ndpTargetLinkAddr(m);
    if (tlla !== null && tlla.length >= 6) this.cache.learn(ifc.index, m.target, tlla.subarray(0, 6), false, true);
    if (this.redirects.size >= MAX_REDIRECTS) {
      const k = this.redirects.keys().next().value;
      if (k !== undefined) this.redirects.delete(k);
    }
    this.redirects.set(hex(m.destination), { iface: ifc.index, nextHop: m.target.slice(), dst: m.destination.slice() });
  }

  // -------------------------------------------------------------------------------------------
  // Output

  /** The neighbour cache's solicitation (RFC 4861 §7.2.2): multicast to the target's
   *  solicited-node group while INCOMPLETE, unicast in PROBE; from an address of the interface
   *  (the target-facing one), with our Source Link-Layer Address. */
  private solicit(iface: number, target: Ipv6Addr, mac: MacAddr | null): void {
    const ifc = this.ifaces.byIndex(iface);
    if (!ifc) return;
    const src = ifc.sourceForV6(target);
    if (src === null) {
      this.host.count('nd.tx.ns.no-source');
      return;
    }
    const ns: NeighborSolicit = { kind: 'neighborSolicit', target, options: [{ kind: 'sourceLinkAddr', addr: ifc.mac }] };
    this.host.count('nd.tx.ns');
    this.host.sendNd(ifc, src, mac === null ? ipv6SolicitedNode(target) : target, ns, mac);
  }

  /** RFC 4861 §6.3.7: "a host SHOULD transmit up to MAX_RTR_SOLICITATIONS Router
   *  Solicitation messages, each separated by at least RTR_SOLICITATION_INTERVAL seconds",
   *  the first after "a random amount of time between 0 and MAX_RTR_SOLICITATION_DELAY". */
  startRs(ifc: Interface): void {
    if (!this.params.acceptRa || this.host.forwarding() || this.params.routerSolicitations <= 0) return;
    ifc.nd.rsLeft = this.params.routerSolicitations;
    ifc.nd.rsDeadline = this.host.now() + Math.floor(this.host.random() * MAX_RTR_SOLICITATION_DELAY_MS);
  }

  private sendRs(ifc: Interface): void {
    // RFC 4861 §6.3.7 / §4.1: the source is an address of the interface or the unspecified
    // address; "The link-layer address of the sender, if known. MUST NOT be included if the
    // Source Address is the unspecified address."
    const ll = ifc.linkLocal();
    const src = ll ?? new Uint8Array(16);
    this.host.count('nd.tx.rs');
    this.host.sendNd(ifc, src, ipv6AllRouters(), { kind: 'routerSolicit', options: ll ? [{ kind: 'sourceLinkAddr', addr: ifc.mac }] : [] }, null);
  }

  /** RFC 4861 §6.3.6: "Routers that are reachable or probably reachable (i.e., in any state
   *  other than INCOMPLETE) SHOULD be preferred over routers whose reachability is unknown or
   *  suspect"; among those, RFC 4191 §2.2 preference. Null when the list is empty. */
  defaultRouter(isUp: (i: number) => boolean): DefaultRouter | null {
    let best: DefaultRouter | null = null;
    let bestScore = -Infinity;
    const now = this.host.now();
    for (const r of this.routers) {
      if (r.expires <= now || !isUp(r.iface)) continue;
      const n = this.cache.get(r.iface, r.addr);
      const score = (n && n.state !== 'INCOMPLETE' ? 10 : 0) + r.pref;
      if (score > bestScore) {
        best = r;
        bestScore = score;
      }
    }
    return best;
  }

  // -------------------------------------------------------------------------------------------
  // Timers

  nextDeadline(): number {
    let d = Math.min(this.cache.nextDeadline(), this.routes.nextExpiry());
    for (const r of this.routers) if (r.expires < d) d = r.expires;
    for (const ifc of this.ifaces.list) {
      if (ifc.up && ifc.nd.rsDeadline < d) d = ifc.nd.rsDeadline;
      for (const x of ifc.v6) {
        if (x.state === 'tentative' && ifc.up) {
          if (x.dadDeadline < d) d = x.dadDeadline;
        }
        if (x.state === 'preferred' && x.preferredUntil < d) d = x.preferredUntil;
        if (x.validUntil < d) d = x.validUntil;
      }
    }
    return d;
  }

  onTimer(): void {
    const now = this.host.now();
    this.cache.onTimer();
    if (this.routes.expire(now) > 0) this.host.count('nd.prefix.expired');
    for (let i = this.routers.length - 1; i >= 0; i--) {
      if (this.routers[i].expires <= now) {
        // RFC 4861 §6.3.5: "Whenever the invalidation timer expires for a Default Router List
        // entry, the entry is deleted."
        this.routers.splice(i, 1);
        this.host.count('nd.router.expired');
      }
    }
    for (const ifc of this.ifaces.list) {
      if (ifc.up && ifc.nd.rsLeft > 0 && ifc.nd.rsDeadline <= now) {
        ifc.nd.rsLeft--;
        ifc.nd.rsDeadline = ifc.nd.rsLeft > 0 ? now + RTR_SOLICITATION_INTERVAL_MS : Infinity;
        this.sendRs(ifc);
      }
      for (const x of [...ifc.v6]) {
        if (x.validUntil <= now) {
          // RFC 4862 §5.5.4: "An address (and its association with an interface) becomes
          // invalid when its valid lifetime expires. An invalid address MUST NOT be used as a
          // source address ... and the IP layer MUST NOT accept packets destined to it".
          this.host.count('slaac.expired');
          this.removeAddress(ifc, x, 'valid lifetime expired');
          continue;
        }
        if (x.state === 'tentative' && ifc.up && x.dadDeadline <= now) this.dadStep(ifc, x);
        else if (x.state === 'preferred' && x.preferredUntil <= now) {
          // RFC 4862 §5.5.4: "the preferred lifetime expires: the address becomes deprecated".
          x.state = 'deprecated';
          this.host.count('slaac.deprecated');
        }
      }
    }
  }

  status(ifName: (i: number) => string): object {
    const now = this.host.now();
    return {
      neighbors: this.cache.status(ifName),
      routers: this.routers.map((r) => ({ iface: ifName(r.iface), addr: formatIpv6(r.addr), expiresInSec: Math.round((r.expires - now) / 1000), pref: r.pref })),
      redirects: [...this.redirects.values()].map((r) => ({ dst: formatIpv6(r.dst), nextHop: formatIpv6(r.nextHop), iface: ifName(r.iface) })),
      reachableMs: this.cache.params.reachableMs,
      retransMs: this.cache.params.retransMs,
    };
  }
}
