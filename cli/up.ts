// `salamander up`: runs a Stack in the foreground on TAP devices (and any links of --config),
// serves the control socket, prints one JSON line with "event":"ready" once every link is
// attached, and shuts down cleanly on SIGINT/SIGTERM (exit 0).

import * as fs from 'node:fs';
import { parseArgs, UsageError, defaultControlPath } from './args';
import { Stack } from '../api/stack';
import { StackConfig, StackConfigError, validateStackConfig, checkCidr } from '../api/config';
import { serveControl } from './control';
import { FAULT_KINDS, FaultKind } from '../base/types';
import * as nodeNet from 'node:net';
import * as nodeDgram from 'node:dgram';
import { parseServe, serveAll, ServeSpec } from '../services/serve';
import { createSocksServer } from '../services/socks5';
import type { NetLike, DgramLike } from '../services/types';

export const UP_USAGE = `salamander up [--config FILE] [--tap NAME]... [--addr IFACE=CIDR]... [--route DEST=GATEWAY]...
              [--forward] [--control PATH] [--pcap DIR] [--serve NAME[=PORT],...]
              [--socks HOST:PORT [--socks-user USER --socks-pass PASS]]`;

export interface UpExtras {
  serve: ServeSpec[];
  socks?: { host: string; port: number; auth?: { user: string; pass: string } };
}

/** Builds the stack config from flags; throws UsageError on anything wrong (nothing started). */
export function upConfig(argv: string[]): { config: StackConfig; control: string; extras: UpExtras } {
  const { flags, positional } = parseArgs(argv, {
    '--config': { value: true },
    '--tap': { value: true, multi: true },
    '--addr': { value: true, multi: true },
    '--route': { value: true, multi: true },
    '--forward': {},
    '--control': { value: true },
    '--pcap': { value: true },
    '--serve': { value: true, multi: true },
    '--socks': { value: true },
    '--socks-user': { value: true },
    '--socks-pass': { value: true },
  });
  if (positional.length) throw new UsageError(`unexpected argument "${positional[0]}"`);
  let base: StackConfig = {};
  const file = flags.get('--config')?.[0];
  if (file !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read config file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    try {
      base = JSON.parse(text);
    } catch (e) {
      throw new UsageError(`config file ${file} is not valid JSON: ${(e as Error).message}`);
    }
  }
  const cfg: StackConfig = { ...base, links: [...(base.links ?? [])], routes: [...(base.routes ?? [])] };
  for (const t of flags.get('--tap') ?? []) {
    if (!/^[A-Za-z0-9_-]{1,15}$/.test(t)) throw new UsageError(`--tap ${t}: not a valid interface name (1-15 characters of A-Z a-z 0-9 _ -)`);
    if (cfg.links!.some((l) => l.name === t)) throw new UsageError(`--tap ${t} given twice`);
    cfg.links!.push({ name: t, type: 'tap', device: t });
  }
  for (const a of flags.get('--addr') ?? []) {
    const eq = a.indexOf('=');
    if (eq <= 0) throw new UsageError(`--addr ${a}: expected IFACE=CIDR, e.g. tap0=192.0.2.2/24`);
    const iface = a.slice(0, eq);
    const cidr = a.slice(eq + 1);
    const l = cfg.links!.find((x) => x.name === iface);
    if (!l) throw new UsageError(`--addr ${a}: no link "${iface}" (add it with --tap ${iface})`);
    try {
      checkCidr(cidr, `--addr ${a}`);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    l.addresses = [...(l.addresses ?? []), cidr];
  }
  for (const r of flags.get('--route') ?? []) {
    const eq = r.indexOf('=');
    if (eq <= 0) throw new UsageError(`--route ${r}: expected DEST=GATEWAY, e.g. default=192.0.2.1`);
    cfg.routes!.push({ dest: r.slice(0, eq), gateway: r.slice(eq + 1) });
  }
  if (flags.has('--forward')) cfg.forwarding = true;
  const pcap = flags.get('--pcap')?.[0];
  if (pcap !== undefined) {
    if (!fs.existsSync(pcap) || !fs.statSync(pcap).isDirectory()) throw new UsageError(`--pcap ${pcap}: not a directory`);
    cfg.pcapDir = pcap;
  }
  if (!cfg.links!.length) throw new UsageError('nothing to run: give at least one --tap NAME (or links in --config)');
  let config: StackConfig;
  try {
    config = validateStackConfig(cfg);
  } catch (e) {
    if (e instanceof StackConfigError) throw new UsageError(e.message);
    throw e;
  }
  const extras: UpExtras = { serve: [] };
  for (const spec of flags.get('--serve') ?? []) {
    try {
      extras.serve.push(...parseServe(spec));
    } catch (e) {
      throw new UsageError(`--serve ${spec}: ${(e as Error).message}`);
    }
  }
  const seen = new Set<number>();
  for (const sv of extras.serve) {
    if (sv.name !== 'echo' && sv.name !== 'discard' && seen.has(sv.port)) throw new UsageError(`--serve: two services on port ${sv.port}`);
    seen.add(sv.port);
  }
  const socks = flags.get('--socks')?.[0];
  const user = flags.get('--socks-user')?.[0];
  const pass = flags.get('--socks-pass')?.[0];
  if ((user === undefined) !== (pass === undefined)) throw new UsageError('--socks-user and --socks-pass go together');
  if (socks !== undefined) {
    const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(socks);
    const port = m ? Number(m[2]) : NaN;
    if (!m || port < 1 || port > 65535) throw new UsageError(`--socks ${socks}: expected HOST:PORT, e.g. 127.0.0.1:1080`);
    const host = m[1].replace(/^\[|\]$/g, '');
    const loopback = host === 'localhost' || host === '::1' || /^127\./.test(host);
    if (!loopback && user === undefined) throw new UsageError(`--socks ${socks}: refusing an open proxy on a non-loopback address; listen on 127.0.0.1 or give --socks-user and --socks-pass`);
    extras.socks = { host, port, auth: user !== undefined ? { user, pass: pass! } : undefined };
  } else if (user !== undefined) throw new UsageError('--socks-user needs --socks HOST:PORT');
  return { config, control: flags.get('--control')?.[0] ?? defaultControlPath(), extras };
}

function word(args: unknown, i: number): string {
  const a = Array.isArray(args) ? args : [];
  const v = a[i];
  if (typeof v !== 'string') throw Object.assign(new Error(`missing argument ${i + 1}`), { code: 'ERR_USAGE' });
  return v;
}

/** Control-socket commands, as `ctl` sends them: cmd + a list of words. */
export async function handleControl(stack: Stack, cmd: string, args: unknown): Promise<unknown> {
  switch (cmd) {
    case 'status':
      return stack.status();
    case 'actors':
      return stack.supervisor.status().actors;
    case 'addr': {
      const op = word(args, 0);
      const iface = word(args, 1);
      const cidr = word(args, 2);
      if (op === 'add') await stack.addAddress(iface, cidr);
      else if (op === 'del') await stack.removeAddress(iface, cidr);
      else throw Object.assign(new Error(`addr ${op}: expected add or del`), { code: 'ERR_USAGE' });
      return { ok: true };
    }
    case 'route': {
      const op = word(args, 0);
      const dest = word(args, 1);
      const gateway = word(args, 2);
      const a = Array.isArray(args) ? args : [];
      let metric: number | undefined;
      if (a[3] === 'metric') {
        metric = Number(a[4]);
        if (!Number.isInteger(metric) || metric < 0) throw Object.assign(new Error('metric must be a non-negative integer'), { code: 'ERR_USAGE' });
      } else if (a.length > 3) throw Object.assign(new Error(`route: unexpected "${a[3]}"`), { code: 'ERR_USAGE' });
      if (op === 'add') await stack.addRoute({ dest, gateway, metric });
      else if (op === 'del') await stack.removeRoute({ dest, gateway });
      else throw Object.assign(new Error(`route ${op}: expected add or del`), { code: 'ERR_USAGE' });
      return { ok: true };
    }
    case 'link': {
      const op = word(args, 0);
      if (op === 'set') {
        const iface = word(args, 1);
        const st = word(args, 2);
        if (st !== 'up' && st !== 'down') throw Object.assign(new Error('link set IFACE up|down'), { code: 'ERR_USAGE' });
        await stack.setLinkState(iface, st === 'up');
        return { ok: true };
      }
      if (op === 'add') {
        const type = word(args, 1);
        const name = word(args, 2);
        if (type !== 'tap') throw Object.assign(new Error('link add tap NAME'), { code: 'ERR_USAGE' });
        await stack.addLink({ name, type: 'tap', device: name });
        return { ok: true };
      }
      if (op === 'del') {
        await stack.removeLink(word(args, 1));
        return { ok: true };
      }
      throw Object.assign(new Error(`link ${op}: expected set, add or del`), { code: 'ERR_USAGE' });
    }
    case 'fault': {
      if (word(args, 0) !== 'inject') throw Object.assign(new Error('fault inject ACTOR KIND'), { code: 'ERR_USAGE' });
      const actor = word(args, 1);
      const kind = word(args, 2) as FaultKind;
      if (!FAULT_KINDS.includes(kind)) throw Object.assign(new Error(`KIND must be one of ${FAULT_KINDS.join(', ')}`), { code: 'ERR_USAGE' });
      await stack.inject(actor, kind);
      return { ok: true, injected: { actor, kind } };
    }
    default:
      throw Object.assign(new Error(`unknown command "${cmd}"`), { code: 'ERR_USAGE' });
  }
}

export async function runUp(argv: string[]): Promise<number> {
  const { config, control, extras } = upConfig(argv);
  const stack = new Stack(config);
  const closers: Array<() => Promise<void>> = [];
  try {
    await stack.start();
    // Built-in services and the SOCKS front are ordinary users of stack.net / stack.dgram.
    const ctx = { net: stack.net as unknown as NetLike, dgram: stack.dgram as unknown as DgramLike };
    for (const svc of await serveAll(extras.serve, ctx)) closers.push(() => svc.close());
    if (extras.socks) {
      const socks = await createSocksServer({
        listen: { host: extras.socks.host, port: extras.socks.port }, auth: extras.socks.auth,
        outbound: ctx, hostNet: nodeNet as unknown as NetLike, hostDgram: nodeDgram as unknown as DgramLike,
      });
      closers.push(() => socks.close());
    }
  } catch (e) {
    process.stderr.write(`salamander up: ${(e as Error).message}\n`);
    for (const c of closers.reverse()) await c().catch(() => undefined);
    await stack.stop().catch(() => undefined);
    return 1;
  }
  let server: import('node:net').Server;
  try {
    server = await serveControl(control, (cmd, args) => handleControl(stack, cmd, args));
  } catch (e) {
    process.stderr.write(`salamander up: control socket: ${(e as Error).message}\n`);
    await stack.stop();
    return 1;
  }
  stack.on('restarted', (e) => process.stderr.write(`salamander: actor ${e.name} restarted (#${e.incarnation}, ${e.downtimeMs.toFixed(1)} ms)\n`));
  stack.on('escalated', (e) => process.stderr.write(`salamander: actor ${e.name} escalated after ${e.failures} failures\n`));
  const st = await stack.status();
  process.stdout.write(JSON.stringify({
    event: 'ready', pid: process.pid, control, serve: extras.serve, socks: extras.socks ? `${extras.socks.host}:${extras.socks.port}` : undefined,
    links: (st.links as Array<Record<string, unknown>>).map((l) => ({ name: l.name, device: l.device, mac: l.mac, addresses: l.addresses })),
  }) + '\n');
  await new Promise<void>((resolve) => {
    const onSig = (): void => {
      process.off('SIGINT', onSig);
      process.off('SIGTERM', onSig);
      resolve();
    };
    process.on('SIGINT', onSig);
    process.on('SIGTERM', onSig);
  });
  server.close();
  for (const c of closers.reverse()) await c().catch(() => undefined);
  try {
    fs.unlinkSync(control);
  } catch {
    /* already gone */
  }
  await stack.stop();
  return 0;
}
