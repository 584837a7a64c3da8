// `salamander ctl [--control PATH] [--json] <command>`: talks to a running `salamander up`
// over its control socket and prints JSON (--json) or readable text.

import { parseArgs, UsageError, defaultControlPath } from './args';
import { controlCall, ControlError } from './control';
import { runTop } from './top';

export const CTL_USAGE = `salamander ctl [--control PATH] [--json] <command>
    status | actors | top [--interval MS] [--count N]
    addr add|del IFACE CIDR
    route add|del DEST GATEWAY [metric N]
    link set IFACE up|down | link add tap NAME | link del NAME
    fault inject ACTOR KIND        (KIND: throw, exit, terminate, hang, oom)`;

const COMMANDS = new Set(['status', 'actors', 'addr', 'route', 'link', 'fault', 'top']);

function text(cmd: string, r: unknown): string {
  if (cmd === 'status') {
    const s = r as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    const lines = [`stack ${s.name}  forwarding ${s.forwarding ? 'on' : 'off'}`];
    lines.push('links:');
    for (const l of s.links ?? []) {
      lines.push(`  ${l.name.padEnd(10)} ${String(l.type).padEnd(8)} ${l.up ? 'up  ' : 'down'} ${l.mac}  mtu ${l.mtu}  ${(l.addresses ?? []).join(' ')}` +
        `  rx ${l.counters?.['nic.rx.frames'] ?? 0} tx ${l.counters?.['nic.tx.frames'] ?? 0}`);
    }
    for (const i of s.ip?.interfaces ?? []) {
      const v6 = (i.addresses6 ?? []).map((a: any) => (typeof a === 'string' ? a : `${a.address}${a.state && a.state !== 'preferred' ? ` (${a.state})` : ''}`)); // eslint-disable-line @typescript-eslint/no-explicit-any
      if (v6.length) lines.push(`  ${String(i.name).padEnd(10)} inet6 ${v6.join(' ')}`);
    }
    lines.push('routes:');
    for (const r2 of [...(s.ip?.routes?.v4 ?? []), ...(s.ip?.routes?.v6 ?? [])]) lines.push(`  ${String(r2.dest).padEnd(28)} ${r2.gateway ? 'via ' + r2.gateway : 'on-link'} dev ${r2.iface} metric ${r2.metric} (${r2.origin})`);
    lines.push('actors:');
    for (const a of s.actors ?? []) lines.push(`  ${String(a.name).padEnd(12)} ${String(a.state).padEnd(10)} incarnation ${a.incarnation}  restarts ${a.restarts}`);
    return lines.join('\n');
  }
  if (cmd === 'actors') {
    return (r as Array<Record<string, unknown>>).map((a) => `${String(a.name).padEnd(12)} ${String(a.state).padEnd(10)} incarnation ${a.incarnation} restarts ${a.restarts}`).join('\n');
  }
  return 'ok';
}

export async function runCtl(argv: string[]): Promise<number> {
  // Options may come before the command only.
  let i = 0;
  const opts: string[] = [];
  while (i < argv.length && argv[i].startsWith('--')) {
    opts.push(argv[i]);
    if (argv[i] === '--control' && i + 1 < argv.length) opts.push(argv[++i]);
    i++;
  }
  const { flags } = parseArgs(opts, { '--control': { value: true }, '--json': {} });
  const words = argv.slice(i);
  const json = flags.has('--json') || words.includes('--json');
  const rest = words.filter((w) => w !== '--json');
  const [cmd, ...args] = rest;
  if (!cmd) throw new UsageError(`ctl needs a command\n${CTL_USAGE}`);
  if (!COMMANDS.has(cmd)) throw new UsageError(`unknown ctl command "${cmd}"\n${CTL_USAGE}`);
  const path = flags.get('--control')?.[0] ?? defaultControlPath();
  if (cmd === 'top') {
    const t = parseArgs(args, { '--interval': { value: true }, '--count': { value: true } });
    const interval = Number(t.flags.get('--interval')?.[0] ?? 1000);
    const count = Number(t.flags.get('--count')?.[0] ?? 0);
    if (!Number.isInteger(interval) || interval < 100) throw new UsageError('--interval must be an integer >= 100 (ms)');
    if (!Number.isInteger(count) || count < 0) throw new UsageError('--count must be an integer >= 0 (0 = until interrupted)');
    try {
      return await runTop(path, interval, count);
    } catch (e) {
      process.stderr.write(`salamander ctl: ${(e as Error).message}\n`);
      return 1;
    }
  }
  try {
    const r = await controlCall(path, cmd, args);
    process.stdout.write((json ? JSON.stringify(r) : text(cmd, r)) + '\n');
    return 0;
  } catch (e) {
    const err = e as ControlError;
    if (err.code === 'ERR_USAGE') throw new UsageError(`${err.message}\n${CTL_USAGE}`);
    if (json) process.stdout.write(JSON.stringify({ error: err.message, code: err.code }) + '\n');
    process.stderr.write(`salamander ctl: ${err.message}\n`);
    return 1;
  }
}
