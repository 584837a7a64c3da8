// Interfaces and their addresses for the IP actor, and the validation of the actor's config.
// Follows RFC 1122 §3.3.4 (multihoming: source address choice), RFC 919/922 (broadcasts) and
// RFC 1812 §2.2.7 (a router's interfaces each have their own addresses and MTU).
//
// Interfaces are fixed by the config (one per NIC), numbered from 1 in config order; their
// addresses, link state and routes change at runtime through control ops. IPv6 addresses will
// sit next to `v4` in a later session.

import {
  Ipv4Addr, Ipv4Cidr, MacAddr, formatIpv4, formatMac, ipv4Mask, ipv4Network, ipv4SubnetBroadcast,
  parseIpv4, parseIpv4Cidr, parseMac, ipv4IsUnicast,
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
}

export interface AddrV4 {
  addr: Ipv4Addr;
  prefixLen: number;
}

export class Interface {
  up: boolean;
  readonly v4: AddrV4[] = [];
  constructor(readonly index: number, readonly name: string, readonly mac: MacAddr, public mtu: number, up: boolean) {
    this.up = up;
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

  status(): object {
    return {
      index: this.index, name: this.name, mac: formatMac(this.mac), mtu: this.mtu, up: this.up,
      addresses: this.v4.map((x) => `${formatIpv4(x.addr)}/${x.prefixLen}`),
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
