// Interfaces and their addresses for the IP actor, and the validation of the actor's config.
// Follows RFC 1122 §3.3.4 (multihoming: source address choice), RFC 919/922 (broadcasts) and
// RFC 1812 §2.2.7 (a router's interfaces each have their own addresses and MTU).
//
// IPv6 addresses (RFC 4291, RFC 4862 address states) sit next to `v4`, with the per-interface
// ND parameters learned from Router Advertisements (RFC 4861 §6.3.2) and the multicast groups
// joined on the interface (RFC 3810). Source address choice for IPv6 follows RFC 6724 §5 in a
// reduced form (rules 1, 2, 3, 8).
//
// Interfaces are fixed by the config (one per NIC), numbered from 1 in config order; their
// addresses, link state and routes change at runtime through control ops.

import {
  Ipv4Addr, Ipv4Cidr, Ipv6Addr, MacAddr, formatIpv4, formatIpv6, formatMac, ipv4Mask, ipv4Network, ipv4SubnetBroadcast,
  parseIpv4, parseIpv4Cidr, parseIpv6, parseIpv6Cidr, parseMac, ipv4IsUnicast, ipv6Equal, ipv6EqualAt, ipv6IsLinkLocal,
  ipv6IsMulticast, ipv6IsUnspecified, ipv6IsLoopback, ipv6CommonPrefixLen, ipv6MulticastScope,
} from '../../protocol/address';
import { IPV4_MIN_MTU } from '../../protocol/ipv4';

export class IpConfigError extends Error {
  readonly code = 'ERR_IP_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'IpConfigError';
  }
}

export interface InterfaceConfig {
  name: string;
  mac: string;
  /** IP MTU (bytes of IP datagram). Default 1500. */
  mtu?: number;
  /** CIDR strings such as "192.0.2.2/24". */
  addresses?: string[];
  /** Initial link state; default true. */
  up?: boolean;
}

export interface RouteConfig {
  dest: string;
  gateway?: string;
  iface?: string;
  metric?: number;
}

export interface IcmpRateConfig {
  /** Tokens added per second. Default 100. */
  perSecond?: number;
  /** Bucket size. Default 50. */
  burst?: number;
}

export interface IpConfig {
  interfaces: InterfaceConfig[];
  routes?: RouteConfig[];
  forwarding?: boolean;
  icmpRateLimit?: IcmpRateConfig;
  /** Reassembly limits (defaults in reassembly.ts). */
  reassembly?: { timeoutMs?: number; maxBytes?: number; maxBytesPerSource?: number; maxDatagrams?: number };
  /** Neighbour cache parameters (defaults in neighbor.ts). */
  neighbor?: { reachableMs?: number; retransMs?: number; delayMs?: number; queueLen?: number; maxEntries?: number };
  /** IPv6 switches (defaults in ipv6.ts DEFAULT_IPV6_PARAMS). */
  ipv6?: { dadTransmits?: number; acceptRa?: boolean; slaac?: boolean; routerSolicitations?: number; reassemblyTimeoutMs?: number };
}

export interface AddrV4 {
  addr: Ipv4Addr;
  prefixLen: number;
}

/** RFC 4862 §2 address states, plus 'duplicated' (DAD failed, §5.4.5: never used). */
export type AddrState = 'tentative' | 'preferred' | 'deprecated' | 'duplicated';

export interface AddrV6 {
  addr: Ipv6Addr;
  prefixLen: number;
  state: AddrState;
  /** 'link-local' (EUI-64, RFC 4862 §5.3), 'static' (config/control), 'slaac' (RFC 4862 §5.5.3). */
  origin: 'link-local' | 'static' | 'slaac';
  /** Absolute deadlines (ms); Infinity for static and link-local addresses. */
  validUntil: number;
  preferredUntil: number;
  /** DAD: solicitations still to send, and when the next step is due. */
  dadLeft: number;
  dadDeadline: number;
}

/** Per-interface IPv6 parameters, from the config and Router Advertisements (RFC 4861 §6.3.2). */
export interface Nd6State {
  /** CurHopLimit (RA "Cur Hop Limit", 0 = ours: 64). */
  curHopLimit: number;
  /** LinkMTU from the RA MTU option (RFC 4861 §6.3.4), at most the interface MTU; 0 = none. */
  linkMtu: number;
  /** Router Solicitations still to send, and when (RFC 4861 §6.3.7). */
  rsLeft: number;
  rsDeadline: number;
  /** Transport-joined groups (RFC 3810 listener state), hex -> join count. */
  groups: Map<string, { addr: Ipv6Addr; refs: number }>;
}

export class Interface {
  up: boolean;
  readonly v4: AddrV4[] = [];
  readonly v6: AddrV6[] = [];
  readonly nd: Nd6State = { curHopLimit: 0, linkMtu: 0, rsLeft: 0, rsDeadline: Infinity, groups: new Map() };
  constructor(readonly index: number, readonly name: string, readonly mac: MacAddr, public mtu: number, up: boolean) {
    this.up = up;
  }

  /** The MTU for IPv6 on this link: the RA's LinkMTU when smaller than the device's. */
  get mtu6(): number {
    return this.nd.linkMtu > 0 && this.nd.linkMtu < this.mtu ? this.nd.linkMtu : this.mtu;
  }

  /** Our IPv6 address equal to `a` (any state), or undefined. */
  findV6(a: Ipv6Addr): AddrV6 | undefined {
    for (const x of this.v6) if (ipv6Equal(x.addr, a)) return x;
    return undefined;
  }

  /** An address usable to receive (RFC 4862 §5.4: "a tentative address is not considered
   *  assigned to an interface"; a deprecated one still receives, §5.5.4). */
  hasV6At(b: Uint8Array, off: number): boolean {
    for (const x of this.v6) if ((x.state === 'preferred' || x.state === 'deprecated') && ipv6EqualAt(x.addr, b, off)) return true;
    return false;
  }

  /** The link-local address once DAD has passed, else null. */
  linkLocal(): Ipv6Addr | null {
    for (const x of this.v6) if (x.origin === 'link-local' && x.state === 'preferred') return x.addr;
    for (const x of this.v6) if (ipv6IsLinkLocal(x.addr) && (x.state === 'preferred' || x.state === 'deprecated')) return x.addr;
    return null;
  }

  /** RFC 6724 §5 source address selection among this interface's usable addresses, reduced to:
   *  rule 1 (prefer the destination itself), rule 2 (prefer an appropriate scope: link-local
   *  for link-local and link-scope multicast destinations, global otherwise), rule 3 (avoid
   *  deprecated addresses), rule 8 (longest matching prefix). Null when none is usable
   *  (tentative and duplicated addresses never are, RFC 4862 §5.4). */
  sourceForV6(dst: Ipv6Addr): Ipv6Addr | null {
    const linkScope = ipv6IsLinkLocal(dst) || (ipv6IsMulticast(dst) && ipv6MulticastScope(dst) <= 2);
    let best: AddrV6 | null = null;
    let bestScore = -1;
    for (const x of this.v6) {
      if (x.state !== 'preferred' && x.state !== 'deprecated') continue;
      if (ipv6Equal(x.addr, dst)) return x.addr;
      const ll = ipv6IsLinkLocal(x.addr);
      let score = 0;
      if (ll === linkScope) score += 1 << 10;
      if (x.state === 'preferred') score += 1 << 9;
      score += ipv6CommonPrefixLen(x.addr, dst);
      if (score > bestScore) {
        best = x;
        bestScore = score;
      }
    }
    return best ? best.addr : null;
  }

  hasV4(a: Ipv4Addr): boolean {
    for (const x of this.v4) if (x.addr === a) return true;
    return false;
  }

  /** RFC 919/922: the directed broadcast of one of this interface's subnets, or 255.255.255.255. */
  isV4Broadcast(a: Ipv4Addr): boolean {
    if (a === 0xffffffff) return true;
    for (const x of this.v4) if (x.prefixLen < 31 && ipv4SubnetBroadcast(x.addr, x.prefixLen) === a) return true;
    return false;
  }

  /** Source address for a packet to `dst` out of this interface. RFC 1122 §3.3.4.3: "the host
   *  ... SHOULD choose a source address ... of the interface" the datagram is sent on; we prefer
   *  an address whose subnet contains the destination or next hop, else the first. */
  sourceFor(dst: Ipv4Addr, nextHop: Ipv4Addr = dst): Ipv4Addr | null {
    for (const x of this.v4) if (ipv4Network(x.addr, x.prefixLen) === ipv4Network(nextHop, x.prefixLen)) return x.addr;
    for (const x of this.v4) if (ipv4Network(x.addr, x.prefixLen) === ipv4Network(dst, x.prefixLen)) return x.addr;
    return this.v4.length > 0 ? this.v4[0].addr : null;
  }

  status(now = 0): object {
    const left = (t: number): number | null => (Number.isFinite(t) ? Math.max(0, Math.round((t - now) / 1000)) : null);
    return {
      index: this.index, name: this.name, mac: formatMac(this.mac), mtu: this.mtu, up: this.up,
      addresses: this.v4.map((x) => `${formatIpv4(x.addr)}/${x.prefixLen}`),
      addresses6: this.v6.map((x) => ({
        address: `${formatIpv6(x.addr)}/${x.prefixLen}`, state: x.state, origin: x.origin,
        validSec: left(x.validUntil), preferredSec: left(x.preferredUntil),
      })),
      mtu6: this.mtu6,
      curHopLimit: this.nd.curHopLimit || 64,
      groups6: [...this.nd.groups.values()].map((g) => formatIpv6(g.addr)),
    };
  }
}

export class InterfaceTable {
  private readonly byName = new Map<string, Interface>();
  private readonly slots: Array<Interface | undefined> = [];
  /** Live interfaces in the order they were added. */
  list: Interface[] = [];

  add(cfg: InterfaceConfig): Interface {
    if (!cfg || typeof cfg !== 'object') throw new IpConfigError('interface entry must be an object');
    if (typeof cfg.name !== 'string' || !/^[A-Za-z0-9_:-]{1,32}$/.test(cfg.name)) {
      throw new IpConfigError(`interface name must be 1..32 of [A-Za-z0-9_:-], got ${JSON.stringify(cfg.name)}`);
    }
    if (this.byName.has(cfg.name)) throw new IpConfigError(`duplicate interface "${cfg.name}"`);
    const mac = typeof cfg.mac === 'string' ? parseMac(cfg.mac) : null;
    if (!mac || (mac[0] & 1) !== 0) throw new IpConfigError(`interface "${cfg.name}": mac must be a unicast MAC like 02:00:00:00:00:01, got ${JSON.stringify(cfg.mac)}`);
    const mtu = cfg.mtu ?? 1500;
    // RFC 791: "Every internet module must be able to forward a datagram of 68 octets".
    if (!Number.isInteger(mtu) || mtu < IPV4_MIN_MTU || mtu > 65535) {
      throw new IpConfigError(`interface "${cfg.name}": mtu must be an integer in 68..65535, got ${JSON.stringify(cfg.mtu)}`);
    }
    if (cfg.up !== undefined && typeof cfg.up !== 'boolean') throw new IpConfigError(`interface "${cfg.name}": up must be a boolean`);
    // Indices are never reused, so an index in a record or a timer never names a newer interface.
    const ifc = new Interface(this.slots.length + 1, cfg.name, mac, mtu, cfg.up ?? true);
    this.byName.set(cfg.name, ifc);
    this.slots.push(ifc);
    this.list.push(ifc);
    return ifc;
  }

  remove(ifc: Interface): void {
    this.byName.delete(ifc.name);
    this.slots[ifc.index - 1] = undefined;
    this.list = this.list.filter((x) => x !== ifc);
  }

  get(name: string): Interface | undefined {
    return this.byName.get(name);
  }

  must(name: unknown): Interface {
    const i = typeof name === 'string' ? this.byName.get(name) : undefined;
    if (!i) throw new IpConfigError(`unknown interface ${JSON.stringify(name)} (known: ${[...this.byName.keys()].join(', ')})`);
    return i;
  }

  byIndex(index: number): Interface | undefined {
    return this.slots[index - 1];
  }

  /** The interface holding `a` as one of its addresses (weak host model, RFC 1122 §3.3.4.2). */
  ownerOfV4(a: Ipv4Addr): Interface | undefined {
    for (const i of this.list) if (i.hasV4(a)) return i;
    return undefined;
  }

  /** The interface holding the IPv6 address at b[off..off+16) in a usable state. */
  ownerOfV6At(b: Uint8Array, off: number): Interface | undefined {
    for (const i of this.list) if (i.hasV6At(b, off)) return i;
    return undefined;
  }

  /** The interface holding `a` in any state (for duplicate checks). */
  holderOfV6(a: Ipv6Addr): Interface | undefined {
    for (const i of this.list) if (i.findV6(a)) return i;
    return undefined;
  }
}

/** Parses "addr/n" for an IPv6 interface address: unicast, not ::, ::1 or multicast. */
export function parseIfaceAddrV6(s: unknown): { addr: Ipv6Addr; prefixLen: number } {
  const c = typeof s === 'string' ? parseIpv6Cidr(s) : null;
  if (!c) throw new IpConfigError(`address must be CIDR text like "2001:db8::2/64", got ${JSON.stringify(s)}`);
  if (ipv6IsUnspecified(c.addr) || ipv6IsLoopback(c.addr) || ipv6IsMulticast(c.addr) || c.prefixLen < 1) {
    throw new IpConfigError(`address ${s} is not a unicast host address`);
  }
  return c;
}

export function parseAddrV6(s: unknown, what: string): Ipv6Addr {
  const a = typeof s === 'string' ? parseIpv6(s) : null;
  if (a === null) throw new IpConfigError(`${what} must be an IPv6 address like "2001:db8::1", got ${JSON.stringify(s)}`);
  return a;
}

/** True when the text is an IPv6 address or CIDR (it has a colon). */
export function isV6Text(s: unknown): boolean {
  return typeof s === 'string' && s.includes(':');
}

/** Parses "a.b.c.d/n" for an interface address: unicast, prefix 1..32. */
export function parseIfaceAddrV4(s: unknown): AddrV4 {
  const c: Ipv4Cidr | null = typeof s === 'string' ? parseIpv4Cidr(s) : null;
  if (!c) throw new IpConfigError(`address must be CIDR text like "192.0.2.2/24", got ${JSON.stringify(s)}`);
  if (!ipv4IsUnicast(c.addr) || c.prefixLen < 1) throw new IpConfigError(`address ${s} is not a unicast host address`);
  if (c.prefixLen < 31 && (c.addr === ipv4Network(c.addr, c.prefixLen) || c.addr === ipv4SubnetBroadcast(c.addr, c.prefixLen))) {
    throw new IpConfigError(`address ${s} is the network or broadcast address of its subnet`);
  }
  return { addr: c.addr, prefixLen: c.prefixLen };
}

export function parseAddrV4(s: unknown, what: string): Ipv4Addr {
  const a = typeof s === 'string' ? parseIpv4(s) : null;
  if (a === null) throw new IpConfigError(`${what} must be an IPv4 address like "192.0.2.1", got ${JSON.stringify(s)}`);
  return a;
}

export { ipv4Mask };
