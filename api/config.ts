// The configuration of a Stack, shared by `new Stack(config)`, `salamander up --config FILE` and
// the `up` flags: validated once, here, with messages that say what is wrong and where.

import { parseCidr, parseMac } from '../protocol/address';
import type { ImpairConfig } from '../actors/nic/impair';
import type { SupervisorOptions } from '../supervisor/supervisor';

export type LinkType = 'tap' | 'wire' | 'loopback';

export interface StackLinkConfig {
  /** Interface name inside the stack (also the NIC actor's name: "nic:NAME"). */
  name: string;
  type: LinkType;
  /** TAP device name (default: `name`). Created if absent. */
  device?: string;
  /** MAC address; default derived from the stack and link names (stable across restarts). */
  mac?: string;
  /** IP MTU; default 1500. */
  mtu?: number;
  /** Initial administrative state; default up. */
  up?: boolean;
  /** Addresses as CIDR strings, e.g. "192.0.2.2/24". */
  addresses?: string[];
  /** Impairment of this link (loss, duplication, reordering, corruption, delay, rate). */
  impair?: ImpairConfig;
  /** Record the link's frames to this pcap file. */
  pcap?: string;
}

export interface StackRouteConfig {
  /** "default" or a CIDR. */
  dest: string;
  gateway?: string;
  iface?: string;
  metric?: number;
}

export interface StackConfig {
  /** A name for logs and derived MACs; default "salamander". */
  name?: string;
  links?: StackLinkConfig[];
  routes?: StackRouteConfig[];
  /** Router mode (forward between interfaces); default false. */
  forwarding?: boolean;
  /** Record every link's frames to DIR/<link>.pcap. */
  pcapDir?: string;
  supervisor?: SupervisorOptions;
  /** TCP table and buffer sizes and options (api/net.ts StackTcpConfig; checked by the Stack). */
  tcp?: import('./net').StackTcpConfig;
}

export class StackConfigError extends Error {
  readonly code = 'ERR_STACK_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'StackConfigError';
  }
}

const LINK_KEYS = new Set(['name', 'type', 'device', 'mac', 'mtu', 'up', 'addresses', 'impair', 'pcap']);
const TOP_KEYS = new Set(['name', 'links', 'routes', 'forwarding', 'pcapDir', 'supervisor', 'tcp']);
const ROUTE_KEYS = new Set(['dest', 'gateway', 'iface', 'metric']);

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function unknownKeys(o: Record<string, unknown>, allowed: Set<string>, where: string): void {
  for (const k of Object.keys(o)) if (!allowed.has(k)) throw new StackConfigError(`${where}: unknown key "${k}" (allowed: ${[...allowed].join(', ')})`);
}

/** Checks a CIDR the IP actor accepts: IPv4 ("192.0.2.2/24") or IPv6 ("2001:db8::2/64"). */
export function checkCidr(s: unknown, where: string): string {
  if (typeof s !== 'string' || !parseCidr(s)) throw new StackConfigError(`${where}: "${String(s)}" is not a CIDR like 192.0.2.2/24 or 2001:db8::2/64`);
  return s;
}

export function validateStackConfig(raw: unknown): StackConfig {
  if (!isObj(raw)) throw new StackConfigError('config must be a JSON object');
  unknownKeys(raw, TOP_KEYS, 'config');
  const cfg = raw as StackConfig;
  if (cfg.name !== undefined && (typeof cfg.name !== 'string' || !/^[A-Za-z0-9_.-]{1,32}$/.test(cfg.name))) {
    throw new StackConfigError('config.name must be 1-32 characters of A-Z a-z 0-9 _ . -');
  }
  const links = cfg.links ?? [];
  if (!Array.isArray(links)) throw new StackConfigError('config.links must be an array');
  const names = new Set<string>();
  const devices = new Set<string>();
  links.forEach((l, i) => {
    const where = `links[${i}]`;
    if (!isObj(l)) throw new StackConfigError(`${where} must be an object`);
    unknownKeys(l, LINK_KEYS, where);
    if (typeof l.name !== 'string' || !/^[A-Za-z0-9_-]{1,15}$/.test(l.name)) throw new StackConfigError(`${where}.name must be 1-15 characters of A-Z a-z 0-9 _ - (no dots: a dot separates actor and port)`);
    if (names.has(l.name)) throw new StackConfigError(`${where}: duplicate link name "${l.name}"`);
    names.add(l.name);
    if (l.type !== 'tap' && l.type !== 'wire' && l.type !== 'loopback') throw new StackConfigError(`${where}.type must be "tap", "wire" or "loopback"`);
    if (l.type === 'tap') {
      const dev = l.device ?? l.name;
      if (typeof dev !== 'string' || !/^[A-Za-z0-9_.%-]{1,15}$/.test(dev)) throw new StackConfigError(`${where}.device must be a Linux interface name (1-15 characters)`);
      if (devices.has(dev)) throw new StackConfigError(`${where}: TAP device "${dev}" is used twice`);
      devices.add(dev);
    }
    if (l.mac !== undefined && (typeof l.mac !== 'string' || !parseMac(l.mac))) throw new StackConfigError(`${where}.mac "${String(l.mac)}" is not a MAC address like 02:00:00:00:00:01`);
    if (l.mtu !== undefined && (!Number.isInteger(l.mtu) || l.mtu < 576 || l.mtu > 65535)) throw new StackConfigError(`${where}.mtu must be an integer between 576 and 65535`);
    if (l.up !== undefined && typeof l.up !== 'boolean') throw new StackConfigError(`${where}.up must be a boolean`);
    if (l.addresses !== undefined && !Array.isArray(l.addresses)) throw new StackConfigError(`${where}.addresses must be an array of CIDR strings`);
    (l.addresses ?? []).forEach((a, j) => checkCidr(a, `${where}.addresses[${j}]`));
    if (l.pcap !== undefined && typeof l.pcap !== 'string') throw new StackConfigError(`${where}.pcap must be a file path`);
    if (l.impair !== undefined && !isObj(l.impair)) throw new StackConfigError(`${where}.impair must be an object`);
  });
  const routes = cfg.routes ?? [];
  if (!Array.isArray(routes)) throw new StackConfigError('config.routes must be an array');
  routes.forEach((r, i) => {
    const where = `routes[${i}]`;
    if (!isObj(r)) throw new StackConfigError(`${where} must be an object`);
    unknownKeys(r, ROUTE_KEYS, where);
    if (r.dest !== 'default') checkCidr(r.dest, `${where}.dest`);
    if (r.gateway === undefined && r.iface === undefined) throw new StackConfigError(`${where}: give a gateway or an iface`);
    if (r.iface !== undefined && !names.has(r.iface as string)) throw new StackConfigError(`${where}.iface "${String(r.iface)}" is not a configured link`);
    if (r.metric !== undefined && (!Number.isInteger(r.metric) || (r.metric as number) < 0)) throw new StackConfigError(`${where}.metric must be a non-negative integer`);
  });
  if (cfg.forwarding !== undefined && typeof cfg.forwarding !== 'boolean') throw new StackConfigError('config.forwarding must be a boolean');
  if (cfg.pcapDir !== undefined && typeof cfg.pcapDir !== 'string') throw new StackConfigError('config.pcapDir must be a directory path');
  if (cfg.supervisor !== undefined && !isObj(cfg.supervisor)) throw new StackConfigError('config.supervisor must be an object');
  if (cfg.tcp !== undefined) {
    if (!isObj(cfg.tcp)) throw new StackConfigError('config.tcp must be an object');
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      (require('./net') as typeof import('./net')).tcpSharedSizes(cfg.tcp);
    } catch (e) {
      throw new StackConfigError(`config.tcp: ${(e as Error).message}`);
    }
  }
  return JSON.parse(JSON.stringify(cfg)) as StackConfig;
}

/** A locally administered unicast MAC derived from two names (FNV-1a), stable across runs. */
export function derivedMac(stack: string, link: string): string {
  let h = 0x811c9dc5;
  for (const ch of `${stack}/${link}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  let h2 = 0x01000193;
  for (const ch of `${link}/${stack}`) h2 = Math.imul(h2 ^ ch.charCodeAt(0), 2166136261) >>> 0;
  const b = [0x02, h >>> 24, (h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff, h2 & 0xff];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}
