// Route tables, one per address family, with longest-prefix match and metrics.
// Follows RFC 1812 §5.2.4.3 (next hop selection: "Basic Match", then "Longest Match", then
// "Weak TOS" (ignored here), then "Best Metric"), and RFC 1122 §3.3.1 (a host's routing: a
// destination on a connected subnet is sent directly, else to a gateway).
//
// The table is generic over the address type through FamilyOps, so the IPv6 half plugs in its
// own ops (16-byte addresses) and gets the same matching rules. Connected routes are derived
// from interface addresses (metric 0); static routes come from the config and control ops.
// Routes whose interface is down are skipped.

import {
  Ipv4Addr, Ipv6Addr, formatIpv4, formatIpv6, ipv4Network, ipv6Equal, ipv6Prefix, parseIpv4Cidr, parseIpv6Cidr,
} from '../../protocol/address';

export interface FamilyOps<A> {
  readonly bits: number;
  network(a: A, prefixLen: number): A;
  equal(a: A, b: A): boolean;
  format(a: A): string;
}

export const V4_OPS: FamilyOps<Ipv4Addr> = {
  bits: 32,
  network: (a, l) => ipv4Network(a, l),
  equal: (a, b) => a === b,
  format: formatIpv4,
};

export const V6_OPS: FamilyOps<Ipv6Addr> = {
  bits: 128,
  network: (a, l) => ipv6Prefix(a, l),
  equal: (a, b) => ipv6Equal(a, b),
  format: formatIpv6,
};

export interface Route<A> {
  dest: A;
  prefixLen: number;
  /** Next hop; null for a directly connected destination. */
  gateway: A | null;
  /** Interface index. */
  iface: number;
  metric: number;
  /** 'connected' routes come from interface addresses; 'static' from config/control; 'ra' from
   *  the on-link prefixes of IPv6 Router Advertisements (RFC 4861 §6.3.4 Prefix List). */
  origin: 'connected' | 'static' | 'ra';
  /** Absolute expiry (ms) for 'ra' routes (the prefix's Valid Lifetime); undefined: none. */
  expires?: number;
}

export interface RouteResult<A> {
  route: Route<A>;
  iface: number;
  /** Where to send the frame: the gateway, or the destination itself. */
  nextHop: A;
}

export class RouteTable<A> {
  private routes: Route<A>[] = [];

  constructor(private readonly ops: FamilyOps<A>) {}

  add(r: Route<A>): void {
    const n = this.ops.network(r.dest, r.prefixLen);
    const route = { ...r, dest: n };
    const i = this.routes.findIndex((x) => this.same(x, route));
    if (i >= 0) this.routes[i] = route;
    else this.routes.push(route);
  }

  /** Removes the routes matching dest/prefix and, when given, gateway/iface/origin. Returns the
   *  count removed. */
  remove(dest: A, prefixLen: number, opts: { gateway?: A | null; iface?: number; origin?: Route<A>['origin'] } = {}): number {
    const n = this.ops.network(dest, prefixLen);
    const before = this.routes.length;
    this.routes = this.routes.filter((x) => !(
      x.prefixLen === prefixLen && this.ops.equal(x.dest, n) &&
      (opts.gateway === undefined || (opts.gateway === null ? x.gateway === null : x.gateway !== null && this.ops.equal(x.gateway, opts.gateway))) &&
      (opts.iface === undefined || x.iface === opts.iface) &&
      (opts.origin === undefined || x.origin === opts.origin)
    ));
    return before - this.routes.length;
  }

  removeIf(pred: (r: Route<A>) => boolean): number {
    const before = this.routes.length;
    this.routes = this.routes.filter((r) => !pred(r));
    return before - this.routes.length;
  }

  private same(a: Route<A>, b: Route<A>): boolean {
    return a.prefixLen === b.prefixLen && this.ops.equal(a.dest, b.dest) && a.iface === b.iface && a.origin === b.origin &&
      (a.gateway === null ? b.gateway === null : b.gateway !== null && this.ops.equal(a.gateway, b.gateway));
  }

  /** RFC 1812 §5.2.4.3: among the routes whose prefix matches `dst` ("Basic Match") on an
   *  interface that is up, keep the longest prefixes ("Longest Match"), then the lowest metric
   *  ("Best Metric"); ties go to the route added first. */
  lookup(dst: A, isUp: (iface: number) => boolean): RouteResult<A> | null {
    let best: Route<A> | null = null;
    for (const r of this.routes) {
      if (!this.ops.equal(this.ops.network(dst, r.prefixLen), r.dest)) continue;
      if (!isUp(r.iface)) continue;
      if (best === null || r.prefixLen > best.prefixLen || (r.prefixLen === best.prefixLen && r.metric < best.metric)) best = r;
    }
    if (best === null) return null;
    return { route: best, iface: best.iface, nextHop: best.gateway ?? dst };
  }

  /** Removes routes whose `expires` has passed; returns how many. */
  expire(now: number): number {
    return this.removeIf((r) => r.expires !== undefined && r.expires <= now);
  }

  /** The earliest route expiry, or Infinity. */
  nextExpiry(): number {
    let e = Infinity;
    for (const r of this.routes) if (r.expires !== undefined && r.expires < e) e = r.expires;
    return e;
  }

  list(): readonly Route<A>[] {
    return this.routes;
  }

  status(ifName: (i: number) => string): object[] {
    return this.routes.map((r) => ({
      dest: r.prefixLen === 0 ? 'default' : `${this.ops.format(r.dest)}/${r.prefixLen}`,
      gateway: r.gateway === null ? null : this.ops.format(r.gateway),
      iface: ifName(r.iface),
      metric: r.metric,
      origin: r.origin,
      ...(r.expires !== undefined && Number.isFinite(r.expires) ? { expires: r.expires } : {}),
    }));
  }
}

/** Parses a route destination: "default" or CIDR text. */
export function parseRouteDestV4(s: unknown): { dest: Ipv4Addr; prefixLen: number } | null {
  if (s === 'default') return { dest: 0, prefixLen: 0 };
  if (typeof s !== 'string') return null;
  const c = parseIpv4Cidr(s);
  return c ? { dest: c.addr, prefixLen: c.prefixLen } : null;
}

/** Parses an IPv6 route destination: "default" or CIDR text. */
export function parseRouteDestV6(s: unknown): { dest: Ipv6Addr; prefixLen: number } | null {
  if (s === 'default') return { dest: new Uint8Array(16), prefixLen: 0 };
  if (typeof s !== 'string') return null;
  const c = parseIpv6Cidr(s);
  return c ? { dest: c.addr, prefixLen: c.prefixLen } : null;
}
