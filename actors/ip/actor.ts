// The IP actor core (IPv4 half): wires the NIC frame rings and the transport packet rings to
// the IPv4 layer, validates the config, and answers control ops from the supervisor and the CLI.
// RFCs are quoted where the rules live: ipv4.ts (RFC 791/792/1122/1812), neighbor.ts (RFC 826,
// 4861 NUD, 5227), routes.ts (RFC 1812 §5.2.4.3), reassembly.ts (RFC 791/815/1122).
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
//   ping {dst, ident?, seq?, size?, data? (hex), ttl?, df?}   echoReplies {clear?}
//   neighbors {}   flushNeighbors {iface?}

import type { ActorContext, ActorCore } from '../../base/actor';
import { IP_PROTO_ICMP, IP_PROTO_TCP, IP_PROTO_UDP } from '../../protocol/ipv4';
import { ICMPV4_ECHO_REQUEST, emitIcmpv4 } from '../../protocol/icmpv4';
import { formatIpv4, ipv4Network } from '../../protocol/address';
import {
  IpConfig, IpConfigError, Interface, InterfaceConfig, InterfaceTable, RouteConfig, parseAddrV4, parseIfaceAddrV4,
} from './iface';
import { DEFAULT_NEIGHBOR_PARAMS, NeighborParams } from './neighbor';
import { DEFAULT_REASSEMBLY_PARAMS, ReassemblyParams } from './reassembly';
import { DEFAULT_ICMP_RATE } from './icmp';
import { Ipv4Layer, TransportPort } from './ipv4';
import { RECORD_FLAG_DF, RECORD_HEADER_LEN, RecordHeader, readRecordHeader, writeRecordHeader } from './records';
import { parseRouteDestV4 } from './routes';
import { LinkHandlers, receiveFrame } from './link';

const TOP_KEYS = new Set(['interfaces', 'routes', 'forwarding', 'icmpRateLimit', 'reassembly', 'neighbor']);
const IFACE_KEYS = new Set(['name', 'mac', 'mtu', 'addresses', 'up']);
const ROUTE_KEYS = new Set(['dest', 'gateway', 'iface', 'metric']);

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
    const c = ctx.counters;
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
    arp: (ifc, b, o, l, src) => this.v4.arp.input(ifc.index, b, o, l, src),
    count: (n) => this.ctx.counters.add(n),
  };

  onRecord(port: string, bytes: Uint8Array, off: number, len: number): void {
    if (port.startsWith('rx:')) {
      const ifc = this.ifaces.get(port.slice(3));
      if (!ifc) {
        this.ctx.counters.add('rx.drop.unknown-port');
        return;
      }
      receiveFrame(ifc, bytes, off, len, this.handlers);
      return;
    }
    if (port === 'tcp' || port === 'udp' || port === 'icmp') {
      this.fromTransport(port, bytes, off, len);
      return;
    }
    this.ctx.counters.add('rx.drop.unknown-port');
  }

  private fromTransport(port: TransportPort, bytes: Uint8Array, off: number, len: number): void {
    const h = readRecordHeader(bytes, off, len);
    const want = port === 'tcp' ? IP_PROTO_TCP : port === 'udp' ? IP_PROTO_UDP : IP_PROTO_ICMP;
    if (!h || h.proto !== want) {
      this.ctx.counters.add('rec.drop.bad');
      return;
    }
    if (h.family !== 4) {
      this.ctx.counters.add('rec.drop.family'); // IPv6: a later session
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
      this.ctx.counters.add('tx.drop.no-output');
      return null;
    }
    if (n > w.maxRecord) {
      this.ctx.counters.add('tx.drop.too-big');
      return null;
    }
    const at = w.tryReserve(n);
    if (at < 0) {
      // IP never blocks on a NIC: a full ring is a congested link, and the packet is lost as
      // on a real one (the transports retransmit).
      this.ctx.counters.add('tx.drop.ring-full');
      return null;
    }
    this.slot.bytes = w.bytes;
    this.slot.at = at;
    return this.slot;
  }

  private commitFrame(ifc: Interface, n: number): void {
    this.ctx.out(`tx:${ifc.name}`)!.commit(n, false);
    this.ctx.counters.add('tx.frames');
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
    this.ctx.counters.add(`deliver.${port}`);
    return true;
  }

  nextDeadline(): number {
    return this.v4.nextDeadline();
  }

  onTimer(): void {
    this.v4.onTimer();
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
      case 'neighbors': result = this.v4.arp.cache.status((i) => this.ifaces.byIndex(i)?.name ?? `#${i}`); break;
      case 'flushNeighbors': {
        const list = a.iface === undefined ? this.ifaces.list : [this.ifaces.must(a.iface)];
        for (const i of list) this.v4.arp.cache.flushIface(i.index);
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
        throw new IpConfigError(`unknown control op "${op}" (known: addAddress, removeAddress, addRoute, removeRoute, setLinkState, addInterface, removeInterface, setForwarding, status, neighbors, flushNeighbors, ping, echoReplies)`);
    }
    // Control ops run between steps: publish what they wrote (announcements, pings) now.
    for (const p of this.ctx.outPorts()) this.ctx.out(p)?.publish();
    return result;
  }

  addAddress(a: Record<string, unknown>, announce = true): object {
    const ifc = this.ifaces.must(a.iface);
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
    return ifc.status();
  }

  removeAddress(a: Record<string, unknown>): object {
    const ifc = this.ifaces.must(a.iface);
    const x = parseIfaceAddrV4(a.address);
    const i = ifc.v4.findIndex((y) => y.addr === x.addr && y.prefixLen === x.prefixLen);
    if (i < 0) throw new IpConfigError(`interface "${ifc.name}" has no address ${a.address}`);
    ifc.v4.splice(i, 1);
    const stillConnected = ifc.v4.some((y) => y.prefixLen === x.prefixLen && ipv4Network(y.addr, y.prefixLen) === ipv4Network(x.addr, x.prefixLen));
    if (!stillConnected) this.v4.routes.remove(x.addr, x.prefixLen, { iface: ifc.index, origin: 'connected' });
    this.ctx.emit('address', { iface: ifc.name, address: `${formatIpv4(x.addr)}/${x.prefixLen}`, added: false });
    return ifc.status();
  }

  addRoute(r: RouteConfig): object {
    const ro = obj(r, 'route');
    checkKeys(ro, ROUTE_KEYS, 'route');
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
    const addrs = ((a.addresses ?? []) as unknown[]).map((x) => parseIfaceAddrV4(x));
    for (const x of addrs) {
      const other = this.ifaces.ownerOfV4(x.addr);
      if (other) throw new IpConfigError(`address ${formatIpv4(x.addr)} is already on interface "${other.name}"`);
    }
    const ifc = this.ifaces.add(a as unknown as InterfaceConfig);
    for (const x of (a.addresses ?? []) as string[]) this.addAddress({ iface: ifc.name, address: x });
    this.ctx.emit('interface', { iface: ifc.name, added: true });
    return ifc.status();
  }

  /** Removes an interface with its addresses, every route through it, its neighbours. */
  removeInterface(a: Record<string, unknown>): object {
    const ifc = this.ifaces.must(a.name);
    const routes = this.v4.routes.removeIf((r) => r.iface === ifc.index);
    this.v4.arp.cache.flushIface(ifc.index);
    this.ifaces.remove(ifc);
    this.ctx.emit('interface', { iface: ifc.name, added: false });
    return { removed: ifc.name, routes };
  }

  setLinkState(a: Record<string, unknown>): object {
    const ifc = this.ifaces.must(a.iface);
    if (typeof a.up !== 'boolean') throw new IpConfigError('setLinkState: "up" must be a boolean');
    const was = ifc.up;
    ifc.up = a.up;
    if (was && !a.up) this.v4.arp.cache.flushIface(ifc.index);
    // Coming up: announce our addresses again (neighbours may have flushed us meanwhile).
    if (!was && a.up) for (const x of ifc.v4) this.v4.arp.announce(ifc.index, x.addr);
    return ifc.status();
  }

  private ping(a: Record<string, unknown>): object {
    const dst = parseAddrV4(a.dst, 'ping dst');
    const ident = a.ident === undefined ? 0x5a11 : Number(a.ident) & 0xffff;
    const seq = a.seq === undefined ? 1 : Number(a.seq) & 0xffff;
    let data: Uint8Array;
    if (typeof a.data === 'string') {
      if (!/^([0-9a-fA-F]{2})*$/.test(a.data)) throw new IpConfigError('ping data must be hex');
      data = Uint8Array.from(Buffer.from(a.data, 'hex'));
    } else {
      const size = positive(a.size, 'ping size', 56, 0);
      if (size > 65507) throw new IpConfigError('ping size must be at most 65507');
      data = new Uint8Array(size);
      for (let i = 0; i < size; i++) data[i] = (i * 7 + 3) & 0xff;
    }
    const msg = new Uint8Array(8 + data.length);
    msg.set(data, 8);
    emitIcmpv4({ type: ICMPV4_ECHO_REQUEST, code: 0, ident, seq }, msg, 0, data.length);
    this.ctx.counters.add('icmp4.tx.echo-request');
    const res = this.v4.send({ src: 0, dst, proto: IP_PROTO_ICMP, ttl: a.ttl === undefined ? 0 : Number(a.ttl), df: a.df === true }, msg, 0, msg.length);
    return { result: res, ident, seq, bytes: data.length };
  }

  status(): object {
    const name = (i: number): string => this.ifaces.byIndex(i)?.name ?? `#${i}`;
    return {
      forwarding: this.v4.forwarding,
      interfaces: this.ifaces.list.map((i) => i.status()),
      routes: { v4: this.v4.routes.status(name) },
      neighbors: { v4: this.v4.arp.cache.status(name) },
      reassembly: { v4: this.v4.reasm.status() },
      counters: this.ctx.counters.snapshot(),
    };
  }
}

export function create(ctx: ActorContext, config: unknown): ActorCore {
  return new IpCore(ctx, config);
}
