// The IP actor core: wires the NIC frame rings and the transport packet rings to the IPv4 and
// IPv6 layers, validates the config, and answers control ops from the supervisor and the CLI.
// RFCs are quoted where the rules live: ipv4.ts (RFC 791/792/1122/1812), ipv6.ts (RFC 8200/4443/
// 4291/5722), nd.ts (RFC 4861/4862), mld.ts (RFC 3810), igmp.ts (RFC 1112/2236/3376), neighbor.ts (RFC 826, 4861 NUD, 5227),
// routes.ts (RFC 1812 §5.2.4.3), reassembly.ts (RFC 791/815/1122/8200), pmtu.ts (RFC 8201/1191).
//
// Ports (IFACE = an interface name from the config):
//   in  rx:IFACE   Ethernet frames from that NIC
//   out tx:IFACE   Ethernet frames to it (a full ring drops and counts `tx.drop.ring-full`)
//   out tcp, udp   packets for the transports (records.ts header + transport payload; ICMP
//                  errors about their packets arrive with proto 1 and RECORD_FLAG_ICMP_ERROR)
//   out icmp       echo replies and ICMP errors, for ping and diagnostics (optional)
//   in  tcp, udp, icmp  packets to send: records.ts header + transport payload (for `icmp` the
//                  whole ICMP message, checksum included); IP adds the header, routes, resolves
//                  the neighbour and fragments.
//
// Control ops (JSON in, JSON out; errors throw IpConfigError with code ERR_IP_CONFIG):
//   addAddress {iface, address}   removeAddress {iface, address}
//   addRoute {dest, gateway?, iface?, metric?}   removeRoute {dest, gateway?, iface?}
//   setLinkState {iface, up}   setForwarding {on}   status {}
//   addInterface {name, mac, mtu?, addresses?, up?}   removeInterface {name}
//   ping {dst, ident?, seq?, size?, data? (hex), ttl?, df?, iface?}   echoReplies {clear?}
//   neighbors {}   flushNeighbors {iface?}   joinGroup {group, iface?}   leaveGroup {group, iface?}
//   pmtu {dst}
// Addresses, routes, gateways and ping destinations may be IPv4 or IPv6 (text with a colon);
// "default" is IPv6 when the gateway is, or with `family: 6`.

import type { ActorContext, ActorCore } from '../../base/actor';
import { IP_PROTO_ICMP, IP_PROTO_TCP, IP_PROTO_UDP } from '../../protocol/ipv4';
import { ICMPV4_ECHO_REQUEST, emitIcmpv4 } from '../../protocol/icmpv4';
import { emitIcmpv6 } from '../../protocol/icmpv6';
import { NH_ICMPV6 } from '../../protocol/ipv6';
import { Ipv6Addr, formatIpv4, formatIpv6, ipv4IsMulticast, ipv4Network, ipv6IsMulticast, ipv6IsLinkLocal } from '../../protocol/address';
import {
  IpConfig, IpConfigError, Interface, InterfaceConfig, InterfaceTable, RouteConfig, parseAddrV4, parseIfaceAddrV4,
  parseIfaceAddrV6, parseAddrV6, isV6Text,
} from './iface';
import { Ipv6Layer } from './ipv6';
import { DEFAULT_ND6_PARAMS, Nd6Params } from './nd';
import { PmtuCache } from './pmtu';
import { IpCounters } from './counters';
import { DEFAULT_NEIGHBOR_PARAMS, NeighborParams } from './neighbor';
import { DEFAULT_REASSEMBLY_PARAMS, ReassemblyParams } from './reassembly';
import { DEFAULT_ICMP_RATE } from './icmp';
import { Ipv4Layer, TransportPort } from './ipv4';
import { RECORD_FLAG_DF, RECORD_HEADER_LEN, RecordHeader, readRecordHeader, writeRecordHeader } from './records';
import { parseRouteDestV4, parseRouteDestV6 } from './routes';
import { LinkHandlers, receiveFrame } from './link';

const TOP_KEYS = new Set(['interfaces', 'routes', 'forwarding', 'icmpRateLimit', 'reassembly', 'neighbor', 'ipv6', 'igmpVersion']);
const IPV6_KEYS = new Set(['dadTransmits', 'acceptRa', 'slaac', 'routerSolicitations', 'reassemblyTimeoutMs']);
const IFACE_KEYS = new Set(['name', 'mac', 'mtu', 'addresses', 'up']);
const ROUTE_KEYS = new Set(['dest', 'gateway', 'iface', 'metric', 'family']);

function checkKeys(o: object, allowed: Set<string>, where: string): void {
  for (const k of Object.keys(o)) if (!allowed.has(k)) throw new IpConfigError(`${where}: unknown key "${k}" (allowed: ${[...allowed].join(', ')})`);
}

function positive(v: unknown, what: string, def: number, min = 1): number {
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new IpConfigError(`${what} must be a number >= ${min}, got ${JSON.stringify(v)}`);
  return v;
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (v === undefined) return {};
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new IpConfigError(`${what} must be an object`);
  return v as Record<string, unknown>;
}

/** The IP actor's state outside the data path: built from the config, changed by control ops. */
export class IpCore implements ActorCore {
  readonly ifaces = new InterfaceTable();
  readonly v4: Ipv4Layer;
  readonly v6: Ipv6Layer;
  readonly pmtu = new PmtuCache();
  readonly counters: IpCounters;

  constructor(private readonly ctx: ActorContext, config: unknown) {
    const cfg = obj(config, 'ip config') as unknown as IpConfig;
    checkKeys(cfg, TOP_KEYS, 'ip config');
    if (!Array.isArray(cfg.interfaces) || cfg.interfaces.length === 0) throw new IpConfigError('ip config: "interfaces" must be a non-empty array');
    if (cfg.forwarding !== undefined && typeof cfg.forwarding !== 'boolean') throw new IpConfigError('ip config: "forwarding" must be a boolean');
    const rate = obj(cfg.icmpRateLimit, 'icmpRateLimit');
    const ra = obj(cfg.reassembly, 'reassembly');
    const ne = obj(cfg.neighbor, 'neighbor');
    const reasm: ReassemblyParams = {
      timeoutMs: positive(ra.timeoutMs, 'reassembly.timeoutMs', DEFAULT_REASSEMBLY_PARAMS.timeoutMs),
      maxBytes: positive(ra.maxBytes, 'reassembly.maxBytes', DEFAULT_REASSEMBLY_PARAMS.maxBytes),
      maxBytesPerSource: positive(ra.maxBytesPerSource, 'reassembly.maxBytesPerSource', DEFAULT_REASSEMBLY_PARAMS.maxBytesPerSource),
      maxDatagrams: positive(ra.maxDatagrams, 'reassembly.maxDatagrams', DEFAULT_REASSEMBLY_PARAMS.maxDatagrams),
    };
    const neigh: NeighborParams = {
      ...DEFAULT_NEIGHBOR_PARAMS,
      reachableMs: positive(ne.reachableMs, 'neighbor.reachableMs', DEFAULT_NEIGHBOR_PARAMS.reachableMs),
      retransMs: positive(ne.retransMs, 'neighbor.retransMs', DEFAULT_NEIGHBOR_PARAMS.retransMs),
      delayMs: positive(ne.delayMs, 'neighbor.delayMs', DEFAULT_NEIGHBOR_PARAMS.delayMs),
      queueLen: positive(ne.queueLen, 'neighbor.queueLen', DEFAULT_NEIGHBOR_PARAMS.queueLen),
      maxEntries: positive(ne.maxEntries, 'neighbor.maxEntries', DEFAULT_NEIGHBOR_PARAMS.maxEntries),
    };
    const rl = {
      perSecond: positive(rate.perSecond, 'icmpRateLimit.perSecond', DEFAULT_ICMP_RATE.perSecond, 0),
      burst: positive(rate.burst, 'icmpRateLimit.burst', DEFAULT_ICMP_RATE.burst),
    };
    for (const ic of cfg.interfaces) {
      checkKeys(obj(ic, 'interface'), IFACE_KEYS, `interface ${JSON.stringify(ic.name)}`);
      this.ifaces.add(ic);
    }
    const i6 = obj(cfg.ipv6, 'ipv6');
    checkKeys(i6, IPV6_KEYS, 'ipv6');
    const bool = (v: unknown, what: string, def: boolean): boolean => {
      if (v === undefined) return def;
      if (typeof v !== 'boolean') throw new IpConfigError(`${what} must be a boolean`);
      return v;
    };
    const nd6: Nd6Params = {
      dadTransmits: positive(i6.dadTransmits, 'ipv6.dadTransmits', DEFAULT_ND6_PARAMS.dadTransmits, 0),
      acceptRa: bool(i6.acceptRa, 'ipv6.acceptRa', DEFAULT_ND6_PARAMS.acceptRa),
      slaac: bool(i6.slaac, 'ipv6.slaac', DEFAULT_ND6_PARAMS.slaac),
      routerSolicitations: positive(i6.routerSolicitations, 'ipv6.routerSolicitations', DEFAULT_ND6_PARAMS.routerSolicitations, 0),
    };
    const c = new IpCounters(ctx.counters);
    this.counters = c;
    this.v4 = new Ipv4Layer(this.ifaces, {
      now: () => ctx.now(),
      random: () => ctx.random(),
      count: (n, k = 1) => c.add(n, k),
      reserveFrame: (ifc, n) => this.reserveFrame(ifc, n),
      commitFrame: (ifc, n) => this.commitFrame(ifc, n),
      deliver: (port, h, b, o, l) => this.deliver(port, h, b, o, l),
      hasPort: (port) => ctx.out(port) !== undefined,
      emit: (e, d) => ctx.emit(e, d),
    }, cfg.forwarding ?? false, rl, reasm, neigh);
    this.v4.pmtu = this.pmtu;
    const igv = (cfg as unknown as { igmpVersion?: unknown }).igmpVersion;
    if (igv !== undefined && igv !== 2 && igv !== 3) throw new IpConfigError('ip config: "igmpVersion" must be 2 or 3');
    this.v4.igmp.version = (igv as 2 | 3 | undefined) ?? 3;
    const v4 = this.v4;
    this.v6 = new Ipv6Layer(this.ifaces, {
      now: () => ctx.now(),
      random: () => ctx.random(),
      count: (n, k = 1) => c.add(n, k),
      reserveFrame: (ifc, n) => this.reserveFrame(ifc, n),
      commitFrame: (ifc, n) => this.commitFrame(ifc, n),
      deliver: (port, h, b, o, l) => this.deliver(port, h, b, o, l),
      hasPort: (port) => ctx.out(port) !== undefined,
      emit: (e, d) => ctx.emit(e, d),
    }, { get forwarding() { return v4.forwarding; } }, rl, this.v4.reasm, this.pmtu, this.v4.echoReplies, nd6, neigh);
    this.v4.reasm.timeout6Ms = positive(i6.reassemblyTimeoutMs, 'ipv6.reassemblyTimeoutMs', 60_000);
    // IPv6 comes up on every interface: the EUI-64 link-local address with DAD, then RSs.
    for (const ifc of this.ifaces.list) if (ifc.up) this.v6.nd.ifaceUp(ifc);
    for (const ic of cfg.interfaces) {
      if (ic.addresses !== undefined && !Array.isArray(ic.addresses)) throw new IpConfigError(`interface "${ic.name}": addresses must be an array`);
      for (const a of ic.addresses ?? []) this.addAddress({ iface: ic.name, address: a }, false);
    }
    if (cfg.routes !== undefined && !Array.isArray(cfg.routes)) throw new IpConfigError('ip config: "routes" must be an array');
    for (const r of cfg.routes ?? []) this.addRoute(r);
    // Announce configured addresses once the actor runs (RFC 5227 §2.3), after a restart too.
    for (const ifc of this.ifaces.list) if (ifc.up) for (const a of ifc.v4) this.v4.arp.announce(ifc.index, a.addr);
  }

  // -------------------------------------------------------------------------------------------
  // Data path

  /** Received frames by EtherType (the IPv6 half adds `ipv6`). */
  private readonly handlers: LinkHandlers = {
    ipv4: (ifc, b, o, l, bc) => this.v4.rxIpv4(ifc, b, o, l, bc),
    ipv6: (ifc, b, o, l, bc) => this.v6.rxIpv6(ifc, b, o, l, bc),
    arp: (ifc, b, o, l, src) => this.v4.arp.input(ifc.index, b, o, l, src),
    count: (n) => this.counters.add(n),
  };

  onRecord(port: string, bytes: Uint8Array, off: number, len: number): void {
    if (port.startsWith('rx:')) {
      const ifc = this.ifaces.get(port.slice(3));
      if (!ifc) {
        this.counters.add('rx.drop.unknown-port');
        return;
      }
      receiveFrame(ifc, bytes, off, len, this.handlers);
      return;
    }
    if (port === 'tcp' || port === 'udp' || port === 'icmp') {
      this.fromTransport(port, bytes, off, len);
      return;
    }
    this.counters.add('rx.drop.unknown-port');
  }

  private fromTransport(port: TransportPort, bytes: Uint8Array, off: number, len: number): void {
    const h = readRecordHeader(bytes, off, len);
    const want = port === 'tcp' ? IP_PROTO_TCP : port === 'udp' ? IP_PROTO_UDP : h?.family === 6 ? NH_ICMPV6 : IP_PROTO_ICMP;
    if (!h || h.proto !== want) {
      this.counters.add('rec.drop.bad');
      return;
    }
    if (h.family === 6) {
      this.v6.send(
        {
          src: h.src6!, dst: h.dst6!, proto: h.proto, hopLimit: h.ttl, tc: h.tos, df: (h.flags & RECORD_FLAG_DF) !== 0,
          ifindex: h.ifindex, fixIcmpChecksum: port === 'icmp',
        },
        bytes, off + RECORD_HEADER_LEN, len - RECORD_HEADER_LEN,
      );
      return;
    }
    this.v4.send(
      { src: h.src, dst: h.dst, proto: h.proto, ttl: h.ttl, tos: h.tos, df: (h.flags & RECORD_FLAG_DF) !== 0, ifindex: h.ifindex },
      bytes, off + RECORD_HEADER_LEN, len - RECORD_HEADER_LEN,
    );
  }

  private readonly slot: { bytes: Uint8Array; at: number } = { bytes: new Uint8Array(0), at: 0 };

  private reserveFrame(ifc: Interface, n: number): { bytes: Uint8Array; at: number } | null {
    const w = this.ctx.out(`tx:${ifc.name}`);
    if (!w) {
      this.counters.add('tx.drop.no-output');
      return null;
    }
    if (n > w.maxRecord) {
      this.counters.add('tx.drop.too-big');
      return null;
    }
    const at = w.tryReserve(n);
    if (at < 0) {
      // IP never blocks on a NIC: a full ring is a congested link, and the packet is lost as
      // on a real one (the transports retransmit).
      this.counters.add('tx.drop.ring-full');
      return null;
    }
    this.slot.bytes = w.bytes;
    this.slot.at = at;
    return this.slot;
  }

  private commitFrame(ifc: Interface, n: number): void {
    this.ctx.out(`tx:${ifc.name}`)!.commit(n, false);
    this.counters.add('tx.frames');
  }

  private deliver(port: TransportPort, h: RecordHeader, b: Uint8Array, o: number, l: number): boolean {
    const w = this.ctx.out(port);
    if (!w) return false;
    const n = RECORD_HEADER_LEN + l;
    if (n > w.maxRecord) return false;
    const at = w.tryReserve(n);
    if (at < 0) return false;
    writeRecordHeader(h, w.bytes, at);
    w.bytes.set(b.subarray(o, o + l), at + RECORD_HEADER_LEN);
    w.commit(n, false);
    this.counters.add(`deliver.${port}`);
    return true;
  }

  nextDeadline(): number {
    return Math.min(this.v4.nextDeadline(), this.v6.nextDeadline());
  }

  onTimer(): void {
    this.v4.onTimer();
    this.v6.onTimer();
  }

  // -------------------------------------------------------------------------------------------
  // Control

  control(op: string, args: unknown): unknown {
    const a = obj(args, `${op} arguments`);
    let result: unknown;
    switch (op) {
      case 'addAddress': result = this.addAddress(a); break;
      case 'removeAddress': result = this.removeAddress(a); break;
      case 'addRoute': result = this.addRoute(a as unknown as RouteConfig); break;
      case 'removeRoute': result = this.removeRoute(a); break;
      case 'setLinkState': result = this.setLinkState(a); break;
      case 'addInterface': result = this.addInterface(a); break;
      case 'removeInterface': result = this.removeInterface(a); break;
      case 'setForwarding':
        if (typeof a.on !== 'boolean') throw new IpConfigError('setForwarding: "on" must be a boolean');
        this.v4.forwarding = a.on;
        result = { forwarding: a.on };
        break;
      case 'status': result = this.status(); break;
      case 'neighbors': {
        const nm = (i: number): string => this.ifaces.byIndex(i)?.name ?? `#${i}`;
        result = [...this.v4.arp.cache.status(nm), ...this.v6.nd.cache.status(nm)];
        break;
      }
      case 'joinGroup': case 'leaveGroup': result = this.group(op === 'joinGroup', a); break;
      case 'pmtu': {
        const v6 = isV6Text(a.dst);
        const key = v6 ? formatIpv6(parseAddrV6(a.dst, 'pmtu dst')) : formatIpv4(parseAddrV4(a.dst, 'pmtu dst'));
        result = { dst: key, mtu: this.pmtu.get(key, 65535, this.ctx.now()) };
        break;
      }
      case 'flushNeighbors': {
        const list = a.iface === undefined ? this.ifaces.list : [this.ifaces.must(a.iface)];
        for (const i of list) {
          this.v4.arp.cache.flushIface(i.index);
          this.v6.nd.cache.flushIface(i.index);
        }
        result = { flushed: list.map((i) => i.name) };
        break;
      }
      case 'ping': result = this.ping(a); break;
      case 'echoReplies': {
        result = this.v4.echoReplies.slice();
        if (a.clear === true) this.v4.echoReplies.length = 0;
        break;
      }
      default:
        throw new IpConfigError(`unknown control op "${op}" (known: addAddress, removeAddress, addRoute, removeRoute, setLinkState, addInterface, removeInterface, setForwarding, status, neighbors, flushNeighbors, ping, echoReplies, joinGroup, leaveGroup, pmtu)`);
    }
    // Control ops run between steps: publish what they wrote (announcements, pings) now.
    for (const p of this.ctx.outPorts()) this.ctx.out(p)?.publish();
    return result;
  }

  addAddress(a: Record<string, unknown>, announce = true): object {
    const ifc = this.ifaces.must(a.iface);
    if (isV6Text(a.address)) {
      const c6 = parseIfaceAddrV6(a.address);
      const other = this.ifaces.holderOfV6(c6.addr);
      if (other) throw new IpConfigError(`address ${formatIpv6(c6.addr)} is already on interface "${other.name}"`);
      // RFC 4862 §5.4: DAD runs on every address, configured ones included.
      this.v6.nd.addAddress(ifc, c6.addr, c6.prefixLen, 'static', Infinity, Infinity);
      return ifc.status(this.ctx.now());
    }
    const x = parseIfaceAddrV4(a.address);
    const other = this.ifaces.ownerOfV4(x.addr);
    if (other) throw new IpConfigError(`address ${formatIpv4(x.addr)} is already on interface "${other.name}"`);
    ifc.v4.push(x);
    // RFC 1122 §3.3.1.1: a destination on a connected subnet is reached directly.
    this.v4.routes.add({ dest: x.addr, prefixLen: x.prefixLen, gateway: null, iface: ifc.index, metric: 0, origin: 'connected' });
    // RFC 5227 §2.3: "Having probed to determine that a desired address may be used safely, a
    // host implementing this specification MUST then announce that it is commencing to use this
    // address by broadcasting ... an ARP Announcement". (Probing, §2.1, is not done: addresses
    // come from the operator, and conflicts are reported as 'conflict' events.)
    if (announce && ifc.up) this.v4.arp.announce(ifc.index, x.addr);
    this.ctx.emit('address', { iface: ifc.name, address: `${formatIpv4(x.addr)}/${x.prefixLen}`, added: true });
    return ifc.status(this.ctx.now());
  }

  removeAddress(a: Record<string, unknown>): object {
    const ifc = this.ifaces.must(a.iface);
    if (isV6Text(a.address)) {
      const c6 = parseIfaceAddrV6(a.address);
      const y = ifc.findV6(c6.addr);
      if (!y || y.prefixLen !== c6.prefixLen) throw new IpConfigError(`interface "${ifc.name}" has no address ${a.address}`);
      this.v6.nd.removeAddress(ifc, y);
      return ifc.status(this.ctx.now());
    }
    const x = parseIfaceAddrV4(a.address);
    const i = ifc.v4.findIndex((y) => y.addr === x.addr && y.prefixLen === x.prefixLen);
    if (i < 0) throw new IpConfigError(`interface "${ifc.name}" has no address ${a.address}`);
    ifc.v4.splice(i, 1);
    const stillConnected = ifc.v4.some((y) => y.prefixLen === x.prefixLen && ipv4Network(y.addr, y.prefixLen) === ipv4Network(x.addr, x.prefixLen));
    if (!stillConnected) this.v4.routes.remove(x.addr, x.prefixLen, { iface: ifc.index, origin: 'connected' });
    this.ctx.emit('address', { iface: ifc.name, address: `${formatIpv4(x.addr)}/${x.prefixLen}`, added: false });
    return ifc.status(this.ctx.now());
  }

  /** IPv6 when the destination or gateway is IPv6 text, or `family: 6` ("default"). */
  private routeIsV6(r: Record<string, unknown>): boolean {
    if (r.family !== undefined && r.family !== 4 && r.family !== 6) throw new IpConfigError('route family must be 4 or 6');
    return r.family === 6 || isV6Text(r.dest) || isV6Text(r.gateway);
  }

  private addRoute6(r: RouteConfig): object {
    const d = parseRouteDestV6(r.dest);
    if (!d) throw new IpConfigError(`route dest must be "default" or CIDR like "2001:db8:2::/64", got ${JSON.stringify(r.dest)}`);
    const gw = r.gateway === undefined ? null : parseAddrV6(r.gateway, 'route gateway');
    const metric = r.metric === undefined ? 0 : r.metric;
    if (!Number.isInteger(metric) || metric < 0 || metric > 0xffffffff) throw new IpConfigError(`route metric must be a non-negative integer, got ${JSON.stringify(r.metric)}`);
    let ifc: Interface | undefined;
    if (r.iface !== undefined) ifc = this.ifaces.must(r.iface);
    else if (gw !== null) {
      if (ipv6IsLinkLocal(gw)) throw new IpConfigError(`route ${r.dest}: a link-local gateway needs "iface"`);
      const found = this.v6.routes.lookup(gw, () => true);
      if (!found || found.route.gateway !== null) throw new IpConfigError(`route ${r.dest}: gateway ${r.gateway} is not on a connected prefix (give "iface")`);
      ifc = this.ifaces.byIndex(found.iface);
    }
    if (!ifc) throw new IpConfigError(`route ${r.dest}: give a gateway or an iface`);
    this.v6.routes.add({ dest: d.dest, prefixLen: d.prefixLen, gateway: gw, iface: ifc.index, metric, origin: 'static' });
    this.ctx.emit('route', { dest: r.dest, gateway: r.gateway ?? null, iface: ifc.name, metric, family: 6, added: true });
    return { dest: r.dest, gateway: r.gateway ?? null, iface: ifc.name, metric, family: 6 };
  }

  addRoute(r: RouteConfig): object {
    const ro = obj(r, 'route');
    checkKeys(ro, ROUTE_KEYS, 'route');
    if (this.routeIsV6(ro)) return this.addRoute6(r);
    const d = parseRouteDestV4(r.dest);
    if (!d) throw new IpConfigError(`route dest must be "default" or CIDR like "198.51.100.0/24", got ${JSON.stringify(r.dest)}`);
    const gw = r.gateway === undefined ? null : parseAddrV4(r.gateway, 'route gateway');
    const metric = r.metric === undefined ? 0 : r.metric;
    if (!Number.isInteger(metric) || metric < 0 || metric > 0xffffffff) throw new IpConfigError(`route metric must be a non-negative integer, got ${JSON.stringify(r.metric)}`);
    let ifc: Interface | undefined;
    if (r.iface !== undefined) ifc = this.ifaces.must(r.iface);
    else if (gw !== null) {
      // RFC 1122 §3.3.1.2: a gateway must be on a directly connected network.
      const found = this.v4.routes.lookup(gw, () => true);
      if (!found || found.route.origin !== 'connected') throw new IpConfigError(`route ${r.dest}: gateway ${r.gateway} is not on a connected subnet (give "iface")`);
      ifc = this.ifaces.byIndex(found.iface);
    }
    if (!ifc) throw new IpConfigError(`route ${r.dest}: give a gateway or an iface`);
    this.v4.routes.add({ dest: d.dest, prefixLen: d.prefixLen, gateway: gw, iface: ifc.index, metric, origin: 'static' });
    this.ctx.emit('route', { dest: r.dest, gateway: r.gateway ?? null, iface: ifc.name, metric, added: true });
    return { dest: r.dest, gateway: r.gateway ?? null, iface: ifc.name, metric };
  }

  removeRoute(a: Record<string, unknown>): object {
    if (this.routeIsV6(a)) {
      const d6 = parseRouteDestV6(a.dest);
      if (!d6) throw new IpConfigError(`route dest must be "default" or CIDR, got ${JSON.stringify(a.dest)}`);
      const gw6 = a.gateway === undefined ? undefined : parseAddrV6(a.gateway, 'route gateway');
      const if6 = a.iface === undefined ? undefined : this.ifaces.must(a.iface).index;
      const n6 = this.v6.routes.remove(d6.dest, d6.prefixLen, { gateway: gw6, iface: if6, origin: 'static' });
      if (n6 === 0) throw new IpConfigError(`no static route ${a.dest}${a.gateway ? ` via ${a.gateway}` : ''}`);
      this.ctx.emit('route', { dest: a.dest, family: 6, added: false });
      return { removed: n6 };
    }
    const d = parseRouteDestV4(a.dest);
    if (!d) throw new IpConfigError(`route dest must be "default" or CIDR, got ${JSON.stringify(a.dest)}`);
    const gw = a.gateway === undefined ? undefined : parseAddrV4(a.gateway, 'route gateway');
    const ifc = a.iface === undefined ? undefined : this.ifaces.must(a.iface).index;
    const n = this.v4.routes.remove(d.dest, d.prefixLen, { gateway: gw, iface: ifc, origin: 'static' });
    if (n === 0) throw new IpConfigError(`no static route ${a.dest}${a.gateway ? ` via ${a.gateway}` : ''}`);
    this.ctx.emit('route', { dest: a.dest, added: false });
    return { removed: n };
  }

  /** A new interface at runtime (a link added to the stack): no restart, nothing else changes.
   *  Wire `rx:NAME` / `tx:NAME` before or after; frames for an unwired port are counted. */
  addInterface(a: Record<string, unknown>): object {
    checkKeys(a, IFACE_KEYS, `interface ${JSON.stringify(a.name)}`);
    if (a.addresses !== undefined && !Array.isArray(a.addresses)) throw new IpConfigError(`interface "${String(a.name)}": addresses must be an array`);
    const addrs = ((a.addresses ?? []) as unknown[]).filter((x) => !isV6Text(x)).map((x) => parseIfaceAddrV4(x));
    for (const x of addrs) {
      const other = this.ifaces.ownerOfV4(x.addr);
      if (other) throw new IpConfigError(`address ${formatIpv4(x.addr)} is already on interface "${other.name}"`);
    }
    for (const x of ((a.addresses ?? []) as unknown[]).filter(isV6Text)) parseIfaceAddrV6(x);
    const ifc = this.ifaces.add(a as unknown as InterfaceConfig);
    if (ifc.up) this.v6.nd.ifaceUp(ifc);
    for (const x of (a.addresses ?? []) as string[]) this.addAddress({ iface: ifc.name, address: x });
    this.ctx.emit('interface', { iface: ifc.name, added: true });
    return ifc.status(this.ctx.now());
  }

  /** Removes an interface with its addresses, every route through it, its neighbours. */
  removeInterface(a: Record<string, unknown>): object {
    const ifc = this.ifaces.must(a.name);
    const routes = this.v4.routes.removeIf((r) => r.iface === ifc.index) + this.v6.routes.removeIf((r) => r.iface === ifc.index);
    this.v4.arp.cache.flushIface(ifc.index);
    this.v6.nd.cache.flushIface(ifc.index);
    const gone = this.v6.nd.routers.filter((r) => r.iface === ifc.index);
    for (const r of gone) this.v6.nd.routers.splice(this.v6.nd.routers.indexOf(r), 1);
    this.ifaces.remove(ifc);
    this.ctx.emit('interface', { iface: ifc.name, added: false });
    return { removed: ifc.name, routes };
  }

  setLinkState(a: Record<string, unknown>): object {
    const ifc = this.ifaces.must(a.iface);
    if (typeof a.up !== 'boolean') throw new IpConfigError('setLinkState: "up" must be a boolean');
    const was = ifc.up;
    ifc.up = a.up;
    if (was && !a.up) {
      this.v4.arp.cache.flushIface(ifc.index);
      this.v6.nd.cache.flushIface(ifc.index);
    }
    // Coming up: announce our addresses again (neighbours may have flushed us meanwhile), and
    // bring IPv6 up again: DAD on every address (RFC 4862 §5.4), Router Solicitations.
    if (!was && a.up) {
      for (const x of ifc.v4) this.v4.arp.announce(ifc.index, x.addr);
      this.v6.nd.ifaceUp(ifc);
    }
    return ifc.status(this.ctx.now());
  }

  /** A transport joins or leaves an IPv4 (IGMP, igmp.ts) or IPv6 (RFC 3810 listener state)
   *  multicast group; `iface` defaults to every interface. */
  private group(join: boolean, a: Record<string, unknown>): object {
    if (!isV6Text(a.group)) {
      const g4 = parseAddrV4(a.group, 'group');
      if (!ipv4IsMulticast(g4)) throw new IpConfigError(`group ${String(a.group)} is not an IPv4 multicast address`);
      const list4 = a.iface === undefined ? this.ifaces.list : [this.ifaces.must(a.iface)];
      const changed4: string[] = [];
      for (const ifc of list4) if (join ? this.v4.igmp.join(ifc, g4) : this.v4.igmp.leave(ifc, g4)) changed4.push(ifc.name);
      return { group: formatIpv4(g4), [join ? 'joined' : 'left']: changed4 };
    }
    const g = parseAddrV6(a.group, 'group');
    if (!ipv6IsMulticast(g)) throw new IpConfigError(`group ${String(a.group)} is not an IPv6 multicast address`);
    const list = a.iface === undefined ? this.ifaces.list : [this.ifaces.must(a.iface)];
    const changed: string[] = [];
    for (const ifc of list) if (join ? this.v6.mld.join(ifc, g) : this.v6.mld.leave(ifc, g)) changed.push(ifc.name);
    return { group: formatIpv6(g), [join ? 'joined' : 'left']: changed };
  }

  private ping6(a: Record<string, unknown>, data: Uint8Array, ident: number, seq: number): object {
    const dst: Ipv6Addr = parseAddrV6(a.dst, 'ping dst');
    const ifindex = a.iface === undefined ? 0 : this.ifaces.must(a.iface).index;
    const msg = new Uint8Array(8 + data.length);
    msg.set(data, 8);
    // The checksum is filled in by send once the source is chosen.
    emitIcmpv6({ kind: 'echoRequest', code: 0, ident, seq, dataLen: data.length }, msg, 0, new Uint8Array(16), dst);
    this.counters.add('icmp6.tx.echo-request');
    const res = this.v6.send({ src: null, dst, proto: NH_ICMPV6, hopLimit: a.ttl === undefined ? 0 : Number(a.ttl), df: a.df === true, ifindex, fixIcmpChecksum: true }, msg, 0, msg.length);
    return { result: res, ident, seq, bytes: data.length };
  }

  private ping(a: Record<string, unknown>): object {
    if (isV6Text(a.dst)) {
      const ident6 = a.ident === undefined ? 0x5a11 : Number(a.ident) & 0xffff;
      const seq6 = a.seq === undefined ? 1 : Number(a.seq) & 0xffff;
      return this.ping6(a, this.pingData(a), ident6, seq6);
    }
    const dst = parseAddrV4(a.dst, 'ping dst');
    const ident = a.ident === undefined ? 0x5a11 : Number(a.ident) & 0xffff;
    const seq = a.seq === undefined ? 1 : Number(a.seq) & 0xffff;
    const data = this.pingData(a);
    const msg = new Uint8Array(8 + data.length);
    msg.set(data, 8);
    emitIcmpv4({ type: ICMPV4_ECHO_REQUEST, code: 0, ident, seq }, msg, 0, data.length);
    this.counters.add('icmp4.tx.echo-request');
    const res = this.v4.send({ src: 0, dst, proto: IP_PROTO_ICMP, ttl: a.ttl === undefined ? 0 : Number(a.ttl), df: a.df === true }, msg, 0, msg.length);
    return { result: res, ident, seq, bytes: data.length };
  }

  private pingData(a: Record<string, unknown>): Uint8Array {
    if (typeof a.data === 'string') {
      if (!/^([0-9a-fA-F]{2})*$/.test(a.data)) throw new IpConfigError('ping data must be hex');
      return Uint8Array.from(Buffer.from(a.data, 'hex'));
    }
    const size = positive(a.size, 'ping size', 56, 0);
    if (size > 65507) throw new IpConfigError('ping size must be at most 65507');
    const data = new Uint8Array(size);
    for (let i = 0; i < size; i++) data[i] = (i * 7 + 3) & 0xff;
    return data;
  }

  status(): object {
    const name = (i: number): string => this.ifaces.byIndex(i)?.name ?? `#${i}`;
    const v6 = this.v6.status(name) as Record<string, unknown>;
    const now = this.ctx.now();
    return {
      forwarding: this.v4.forwarding,
      interfaces: this.ifaces.list.map((i) => ({ ...i.status(now), groups6: this.v6.mld.status(i), groups4: this.v4.igmp.status(i) })),
      routes: { v4: this.v4.routes.status(name), v6: v6.routes },
      defaultRouters6: v6.routers,
      redirects6: v6.redirects,
      nd6: { reachableMs: v6.reachableMs, retransMs: v6.retransMs },
      neighbors: { v4: this.v4.arp.cache.status(name), v6: v6.neighbors },
      // One reassembly budget for both families (bytes <= limit always).
      reassembly: { v4: this.v4.reasm.status(), v6: this.v4.reasm.status() },
      pmtu: this.pmtu.status(now),
      counters: this.counters.snapshot(),
    };
  }
}

export function create(ctx: ActorContext, config: unknown): ActorCore {
  return new IpCore(ctx, config);
}
