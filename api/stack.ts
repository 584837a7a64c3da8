// Stack: the package's main export. A stack is a supervised pipeline of actors (one NIC actor
// per link, the IP actor, later TCP and UDP) built from a StackConfig, reconfigured live, and
// observable through events. `salamander up` is a thin wrapper around it.

import EventEmitter from 'eventemitter3';
import { formatIpv4, formatIpv6 } from '../protocol/address';
import * as path from 'node:path';
import { Supervisor, ExitInfo } from '../supervisor/supervisor';
import type { ActorSpec, FaultKind, LinkSpec, PipelineSpec } from '../base/types';
import { createRing } from '../base/ring';
import { StackConfig, StackLinkConfig, StackRouteConfig, validateStackConfig, derivedMac, checkCidr, StackConfigError } from './config';
import type { NicConfig } from '../actors/nic/actor';
import type { ImpairConfig, ImpairParams } from '../actors/nic/impair';
// UDP (actors/udp, api/dgram.ts)
import { AppPort } from './appport';
import { DgramApi } from './dgram';
import { udpSharedBytes } from '../actors/udp/actor';
// TCP (actors/tcp, api/net.ts)
import { NetApi, StackTcpConfig, tcpActorConfig, tcpSharedSizes } from './net';

export interface StackEvents {
  link: (e: { link: string; up: boolean; carrier?: boolean }) => void;
  address: (e: { iface: string; address: string; added: boolean }) => void;
  route: (e: Record<string, unknown>) => void;
  conflict: (e: Record<string, unknown>) => void;
  /** A path MTU learned from ICMP (Packet Too Big / Fragmentation Needed). */
  pmtu: (e: Record<string, unknown>) => void;
  exited: (e: ExitInfo) => void;
  restarted: (e: { name: string; incarnation: number; downtimeMs: number; backoffMs?: number }) => void;
  escalated: (e: { name: string; failures: number; last: ExitInfo }) => void;
}

interface TapFd {
  fd: number;
  device: string;
}

/** A TCB dump's address (IPv4 as a number, IPv6 as 16 bytes) as text; '*' for unbound. */
function fmtAddr(a: unknown, family: unknown): string {
  if (typeof a === 'number') return a === 0 ? '*' : formatIpv4(a);
  if (a && typeof a === 'object') {
    const b = Uint8Array.from(Object.values(a as Record<string, number>));
    if (b.every((x) => x === 0)) return '*';
    return family === 6 || b.length === 16 ? `[${formatIpv6(b)}]` : formatIpv4(((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0);
  }
  return '*';
}

export class StackError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
    this.name = 'StackError';
  }
}

const IP = 'ip';
const UDP = 'udp';
const TCP = 'tcp';
const nicName = (link: string): string => `nic:${link}`;

export class Stack extends EventEmitter<StackEvents> {
  readonly config: StackConfig;
  readonly supervisor: Supervisor;
  private readonly taps = new Map<string, TapFd>();
  private started = false;
  private stopped = false;
  // UDP: the main thread's end of the transports' rings, and the dgram-compatible API.
  readonly appPort = new AppPort();
  readonly dgram: DgramApi;
  // TCP: the net-compatible API, and the TCP actor's sizes and options (StackConfig.tcp).
  readonly net: NetApi;
  private readonly tcpConfig: StackTcpConfig;
  /** Multicast groups UDP sockets joined (forwarded to IP's joinGroup). */
  private readonly udpGroups = new Set<string>();

  constructor(config: StackConfig & { tcp?: StackTcpConfig } = {}) {
    super();
    const { tcp, ...base } = config; // TCP: validated by tcpSharedSizes, not by validateStackConfig
    this.tcpConfig = { ...(tcp ?? {}) };
    tcpSharedSizes(this.tcpConfig);
    this.config = validateStackConfig(base);
    this.supervisor = new Supervisor(this.config.supervisor ?? {});
    this.dgram = new DgramApi(this.appPort, () => (this.started ? this.supervisor.sharedRegion(UDP, 'udp') : undefined), UDP);
    this.supervisor.on('exited', (e) => this.emit('exited', e));
    this.supervisor.on('restarted', (e) => this.emit('restarted', e));
    this.net = new NetApi({ appPort: this.appPort, actor: TCP, regions: () => (this.started ? this.tcpRegions() : undefined) }); // TCP
    this.supervisor.on('restarted', (e) => {
      if (e.name === TCP) this.net.resync(); // events in flight to the app were lost
    });
    this.supervisor.on('escalated', (e) => this.emit('escalated', e));
    this.supervisor.on('actor-event', (e) => {
      const d = (e.data ?? {}) as Record<string, unknown>;
      if (e.event === 'link' && e.name.startsWith('nic:')) {
        this.onCarrier(e.name.slice(4), d.carrier !== false);
        this.emit('link', { link: e.name.slice(4), up: !!d.up, carrier: d.carrier as boolean });
      }
      else if (e.event === 'address') this.emit('address', d as never);
      else if (e.event === 'route') this.emit('route', d);
      else if (e.event === 'conflict') this.emit('conflict', d);
      else if (e.event === 'pmtu') this.emit('pmtu', d);
      else if (e.event === 'membership' && e.name === UDP && typeof d.group === 'string') {
        // UDP's first join / last leave of a group -> IP's IGMP/MLD membership (idempotent here).
        const had = this.udpGroups.has(d.group);
        if (d.join === had) return;
        if (d.join) this.udpGroups.add(d.group);
        else this.udpGroups.delete(d.group);
        this.supervisor.control(IP, d.join ? 'joinGroup' : 'leaveGroup', { group: d.group }).catch(() => undefined);
      }
    });
    // A restarted IP actor starts from its config: join UDP's groups again.
    this.supervisor.on('restarted', (e) => {
      if (e.name === IP) for (const g of this.udpGroups) this.supervisor.control(IP, 'joinGroup', { group: g }).catch(() => undefined);
    });
  }

  get name(): string {
    return this.config.name ?? 'salamander';
  }

  private links(): StackLinkConfig[] {
    return (this.config.links ??= []);
  }

  private link(name: string): StackLinkConfig {
    const l = this.links().find((x) => x.name === name);
    if (!l) throw new StackError(`no link "${name}"`, 'ERR_NO_LINK');
    return l;
  }

  private macOf(l: StackLinkConfig): string {
    return l.mac ?? derivedMac(this.name, l.name);
  }

  // ------------------------------------------------------------ pipeline construction

  private nicSpec(l: StackLinkConfig): ActorSpec {
    let link: NicConfig['link'];
    if (l.type === 'tap') {
      const t = this.taps.get(l.name);
      link = { type: 'tap', name: l.device ?? l.name, fd: t?.fd, mode: 'create-or-attach' };
    } else if (l.type === 'wire') link = { type: 'wire', port: 'wire' };
    else link = { type: 'loopback' };
    const pcap = l.pcap ?? (this.config.pcapDir ? path.join(this.config.pcapDir, `${l.name}.pcap`) : undefined);
    const config: NicConfig = {
      link, mac: this.macOf(l), mtu: l.mtu ?? 1500, down: l.up === false,
      impair: l.impair, pcap: pcap ? { path: pcap } : undefined,
    };
    return { name: nicName(l.name), kind: 'nic', config, bellEventfd: l.type === 'tap', shared: { nic: 64 } };
  }

  private ipConfig(): Record<string, unknown> {
    return {
      interfaces: this.links().map((l) => ({ name: l.name, mac: this.macOf(l), mtu: l.mtu ?? 1500, addresses: l.addresses ?? [], up: l.up !== false && !this.noCarrier.has(l.name) })),
      routes: (this.config.routes ?? []).map((r) => ({ ...r })),
      forwarding: this.config.forwarding ?? false,
    };
  }

  private nicLinks(l: StackLinkConfig): LinkSpec[] {
    return [
      { from: `${nicName(l.name)}.rx`, to: `${IP}.rx:${l.name}` },
      { from: `${IP}.tx:${l.name}`, to: `${nicName(l.name)}.tx` },
    ];
  }

  pipeline(): PipelineSpec {
    const actors: ActorSpec[] = [{ name: IP, kind: 'ip', config: this.ipConfig() }];
    const links: LinkSpec[] = [];
    for (const l of this.links()) {
      actors.push(this.nicSpec(l));
      links.push(...this.nicLinks(l));
    }
    actors.push(this.udpSpec());
    links.push(...this.udpLinks());
    actors.push(this.tcpSpec());
    links.push(...this.tcpLinks());
    return { actors, links };
  }

  // UDP: the actor, its links to IP (the datagrams both ways, and its ICMP Port Unreachable
  // messages into IP's `icmp` input), its shared region (the socket table survives restarts).
  private udpConfig(): Record<string, unknown> {
    return { addresses: this.links().flatMap((l) => l.addresses ?? []) };
  }

  private udpSpec(): ActorSpec {
    const config = this.udpConfig();
    return { name: UDP, kind: 'udp', config, shared: { udp: udpSharedBytes(config) } };
  }

  private udpLinks(): LinkSpec[] {
    return [
      { from: `${IP}.udp`, to: `${UDP}.ip` },
      { from: `${UDP}.ip`, to: `${IP}.udp` },
      { from: `${UDP}.icmp`, to: `${IP}.icmp` },
    ];
  }

  /** UDP learns address changes (bind checks, broadcast detection, source selection). */
  private syncUdpAddresses(): Promise<unknown> {
    const config = this.udpConfig();
    this.supervisor.setDesiredConfig(UDP, config);
    return this.supervisor.control(UDP, 'setAddresses', config).catch(() => undefined);
  }

  // TCP: the actor, its links to IP, its shared regions (connection table and byte streams,
  // allocated zeroed by the supervisor and initialised by the actor on first attach).
  private tcpSpec(): ActorSpec {
    const config = tcpActorConfig(this.tcpConfig, this.links().flatMap((l) => l.addresses ?? []));
    return { name: TCP, kind: 'tcp', config, shared: tcpSharedSizes(this.tcpConfig) };
  }

  private tcpLinks(): LinkSpec[] {
    return [
      { from: `${IP}.tcp`, to: `${TCP}.ip` },
      { from: `${TCP}.ip`, to: `${IP}.tcp` },
    ];
  }

  private tcpRegions(): { tcbs: SharedArrayBuffer; tcpStreams: SharedArrayBuffer } | undefined {
    const tcbs = this.supervisor.sharedRegion(TCP, 'tcbs');
    const tcpStreams = this.supervisor.sharedRegion(TCP, 'tcpStreams');
    return tcbs && tcpStreams ? { tcbs, tcpStreams } : undefined;
  }

  private syncTcpAddresses(): Promise<unknown> {
    const addresses = this.links().flatMap((l) => l.addresses ?? []);
    this.supervisor.setDesiredConfig(TCP, tcpActorConfig(this.tcpConfig, addresses));
    return this.supervisor.control(TCP, 'setAddresses', { addresses }).catch(() => undefined);
  }

  private openTap(l: StackLinkConfig): void {
    if (l.type !== 'tap' || this.taps.has(l.name)) return;
    // The process owns the fd (opened here, on the main thread), so a NIC actor that dies and
    // restarts re-adopts the very same device.
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { openTap } = require('../actors/nic/tap') as typeof import('../actors/nic/tap');
    const h = openTap(l.device ?? l.name, 'create-or-attach');
    this.taps.set(l.name, { fd: h.fd, device: h.name });
  }

  private closeTap(name: string): void {
    const t = this.taps.get(name);
    if (!t) return;
    this.taps.delete(name);
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { getLibc } = require('../base/ffi') as typeof import('../base/ffi');
    getLibc().close(t.fd);
  }

  // ------------------------------------------------------------ lifecycle

  async start(): Promise<void> {
    if (this.started) throw new StackError('stack already started', 'ERR_STACK_STARTED');
    this.started = true;
    try {
      for (const l of this.links()) this.openTap(l);
      await this.supervisor.start(this.pipeline());
      await this.appPort.connect(this.supervisor, UDP, (b, o, l) => this.dgram.onRecord(b, o, l));
      await this.appPort.connect(this.supervisor, TCP, (b, o, l) => this.net.onRecord(b, o, l)); // TCP
      this.dgram.attach();
    } catch (e) {
      await this.supervisor.stop().catch(() => undefined);
      for (const n of [...this.taps.keys()]) this.closeTap(n);
      this.stopped = true;
      throw e;
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.dgram.closeAll();
    this.net.closeAll(); // TCP
    await this.appPort.close();
    await this.supervisor.stop();
    for (const n of [...this.taps.keys()]) this.closeTap(n);
  }

  // ------------------------------------------------------------ live reconfiguration
  // Each change is applied to the running actor by a control op and recorded in the desired
  // config, from which a restarted actor is rebuilt.

  /** Records the IP actor's desired config and tells the transports about the addresses.
   *  Resolves once they have applied it, so a caller that adds an address can bind to it at
   *  once (errors are not fatal here: a transport that is restarting starts from the desired
   *  config anyway). */
  private syncIpDesired(): Promise<unknown> {
    this.supervisor.setDesiredConfig(IP, this.ipConfig());
    if (!this.started || this.stopped) return Promise.resolve();
    return Promise.all([this.syncUdpAddresses(), this.syncTcpAddresses()]); // UDP, TCP
  }

  async addAddress(iface: string, cidr: string): Promise<void> {
    const l = this.link(iface);
    checkCidr(cidr, 'address');
    await this.supervisor.control(IP, 'addAddress', { iface, address: cidr });
    (l.addresses ??= []).push(cidr);
    await this.syncIpDesired();
  }

  async removeAddress(iface: string, cidr: string): Promise<void> {
    const l = this.link(iface);
    await this.supervisor.control(IP, 'removeAddress', { iface, address: cidr });
    l.addresses = (l.addresses ?? []).filter((a) => a !== cidr);
    await this.syncIpDesired();
  }

  async addRoute(route: StackRouteConfig): Promise<void> {
    await this.supervisor.control(IP, 'addRoute', route);
    (this.config.routes ??= []).push({ ...route });
    await this.syncIpDesired();
  }

  async removeRoute(route: { dest: string; gateway?: string; iface?: string }): Promise<void> {
    await this.supervisor.control(IP, 'removeRoute', route);
    this.config.routes = (this.config.routes ?? []).filter(
      (r) => !(r.dest === route.dest && (route.gateway === undefined || r.gateway === route.gateway) && (route.iface === undefined || r.iface === route.iface)),
    );
    await this.syncIpDesired();
  }

  async setLinkState(name: string, up: boolean): Promise<void> {
    const l = this.link(name);
    await this.supervisor.control(nicName(name), 'setUp', { up });
    await this.supervisor.control(IP, 'setLinkState', { iface: name, up: up && !this.noCarrier.has(name) });
    l.up = up;
    this.supervisor.setDesiredConfig(nicName(name), this.nicSpec(l).config);
    await this.syncIpDesired();
  }

  /** TAP links whose NIC reports no carrier (the kernel side went down). */
  private readonly noCarrier = new Set<string>();

  /** A TAP NIC lost or regained its carrier (actors/nic/tap.ts: a write found the kernel side
   *  down; a probe or a received frame found it up): IP sees the interface as down meanwhile,
   *  so its routes stop being used and traffic fails over to another link, as a router does
   *  when a cable is pulled. (Only TAP links: a wire's cable is a lab device of its own.) */
  private onCarrier(name: string, carrier: boolean): void {
    const l = this.links().find((x) => x.name === name);
    if (!l || l.type !== 'tap' || carrier === !this.noCarrier.has(name)) return;
    if (carrier) this.noCarrier.delete(name);
    else this.noCarrier.add(name);
    if (!this.started) return;
    this.supervisor
      .control(IP, 'setLinkState', { iface: name, up: l.up !== false && carrier })
      .then(() => this.syncIpDesired())
      .catch(() => undefined); // IP restarting: it starts from the desired config
  }

  async setForwarding(on: boolean): Promise<void> {
    await this.supervisor.control(IP, 'setForwarding', { on });
    this.config.forwarding = on;
    await this.syncIpDesired();
  }

  /** Changes a link's impairment at runtime (and for its future incarnations). */
  async setImpair(name: string, params: ImpairParams, dir: 'both' | 'tx' | 'rx' = 'both'): Promise<void> {
    const l = this.link(name);
    await this.supervisor.control(nicName(name), 'impair', { dir, params });
    const imp: ImpairConfig = (l.impair ??= {});
    imp[dir] = { ...(imp[dir] ?? {}), ...params };
    this.supervisor.setDesiredConfig(nicName(name), this.nicSpec(l).config);
  }

  /** Adds a link while the stack runs: a new NIC actor, a new interface in the IP actor
   *  (control op, no restart) and the rings between them; nothing else is touched. */
  async addLink(link: StackLinkConfig): Promise<void> {
    const probe = validateStackConfig({ ...this.config, supervisor: undefined, links: [...this.links(), link] });
    const l = probe.links!.find((x) => x.name === link.name)!;
    this.openTap(l);
    try {
      await this.supervisor.control(IP, 'addInterface', {
        name: l.name, mac: this.macOf(l), mtu: l.mtu ?? 1500, addresses: l.addresses ?? [], up: l.up !== false,
      });
      this.links().push(l);
      await this.syncIpDesired();
      await this.supervisor.addActor(this.nicSpec(l), []);
      for (const ls of this.nicLinks(l)) await this.supervisor.addLink(ls);
    } catch (e) {
      await this.supervisor.control(IP, 'removeInterface', { name: l.name }).catch(() => undefined);
      if (this.supervisor.actorNames().includes(nicName(l.name))) await this.supervisor.removeActor(nicName(l.name)).catch(() => undefined);
      this.config.links = this.links().filter((x) => x !== l);
      await this.syncIpDesired();
      this.closeTap(l.name);
      throw e;
    }
  }

  async removeLink(name: string): Promise<void> {
    this.link(name);
    if ((this.config.routes ?? []).some((r) => r.iface === name)) {
      throw new StackError(`link "${name}" still has routes; remove them first`, 'ERR_LINK_IN_USE');
    }
    this.config.links = this.links().filter((x) => x.name !== name);
    await this.syncIpDesired();
    await this.supervisor.removeActor(nicName(name));
    await this.supervisor.control(IP, 'removeInterface', { name });
    this.closeTap(name);
  }

  // ------------------------------------------------------------ observation and faults

  async status(): Promise<Record<string, unknown>> {
    const sup = this.supervisor.status();
    let ip: unknown = null;
    try {
      ip = await this.supervisor.control(IP, 'status');
    } catch (e) {
      ip = { error: (e as Error).message };
    }
    // Per-connection view for `ctl status` / `ctl top`: state, cwnd, RTT, retransmissions.
    let tcp: unknown = null;
    try {
      const dump = (await this.supervisor.control(TCP, 'dump')) as Array<Record<string, unknown>>;
      tcp = {
        connections: dump.map((d) => ({
          id: `${fmtAddr(d.local, d.family)}:${d.localPort} ${d.stateName === 'LISTEN' ? '' : `${fmtAddr(d.remote, d.family)}:${d.remotePort}`}`.trim(),
          state: d.stateName, cwnd: d.cwnd,
          rttMs: d.srtt, retransmits: d.rtxSegs, sendQueued: d.sendQueued, recvQueued: d.recvQueued,
        })),
      };
    } catch (e) {
      tcp = { error: (e as Error).message };
    }
    return {
      name: this.name,
      links: this.links().map((l) => ({
        name: l.name, type: l.type, device: this.taps.get(l.name)?.device, mac: this.macOf(l), mtu: l.mtu ?? 1500,
        up: l.up !== false, addresses: l.addresses ?? [], counters: this.supervisor.counters(nicName(l.name)),
      })),
      routes: this.config.routes ?? [],
      forwarding: this.config.forwarding ?? false,
      ip,
      tcp,
      actors: sup.actors,
      rings: sup.links,
      supervisor: sup.stats,
    };
  }

  inject(actor: string, kind: FaultKind): Promise<void> {
    return this.supervisor.inject(actor, kind);
  }

  control(actor: string, op: string, args?: unknown): Promise<unknown> {
    return this.supervisor.control(actor, op, args);
  }

  // ------------------------------------------------------------ joining stacks

  /** Joins link `aLink` of stack `a` and link `bLink` of stack `b` (both of type "wire" and
   *  started) with an in-memory cable: one ring per direction, each ringing the receiving NIC
   *  actor's bell. Impairment is configured per link (StackLinkConfig.impair / setImpair). */
  static async join(a: Stack, aLink: string, b: Stack, bLink: string, capacity = 1 << 20): Promise<void> {
    for (const [s, n] of [[a, aLink], [b, bLink]] as const) {
      if (s.link(n).type !== 'wire') throw new StackConfigError(`link "${n}" of stack "${s.name}" is not a wire`);
    }
    const an = nicName(aLink);
    const bn = nicName(bLink);
    const ab = { buffer: createRing(capacity).buffer, producerBell: a.supervisor.bellOf(an), consumerBell: b.supervisor.bellOf(bn) };
    const ba = { buffer: createRing(capacity).buffer, producerBell: b.supervisor.bellOf(bn), consumerBell: a.supervisor.bellOf(an) };
    await b.supervisor.attachExternal(`${bn}.wire`, 'in', ab);
    await a.supervisor.attachExternal(`${an}.wire`, 'in', ba);
    await a.supervisor.attachExternal(`${an}.wire`, 'out', ab);
    await b.supervisor.attachExternal(`${bn}.wire`, 'out', ba);
  }
}
