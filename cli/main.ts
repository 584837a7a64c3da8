// The `salamander` command line. Subcommands land with their issues; today: `demo` (what
// `npm start` runs) and `help`. Bad arguments print a clear message and exit with code 2.

import { runDemo } from './demo';
import { runHttpDemo } from './httpdemo';
import { UsageError } from './args';
import { runUp, UP_USAGE } from './up';
import { runCtl, CTL_USAGE } from './ctl';
import { runLabCli, LAB_USAGE } from './lab';

const VERSION = '0.1.0';

const HELP = `salamander ${VERSION}: a userspace TCP/IP stack for Node.js, built from supervised actors

Usage:
  salamander demo [--mib N] [--loss P]
      What \`npm start\` runs (no root needed): two stacks joined by an impaired wire, Node's
      http server on one and http.get on the other, a file of N MiB (default 32) transferred
      while each stack's TCP actor is killed and restarted; live counters, SHA-256 summary.
  salamander demo pipeline [--seconds N] [--size BYTES]
      The actor pipeline alone: source, relay and sink actors joined by rings, each actor
      killed with every fault kind while frames flow.
  ${UP_USAGE}
      Runs the stack in the foreground on TAP devices (created if absent). Prints one JSON line
      with "event":"ready" when every link is attached; stops cleanly on SIGINT/SIGTERM.
      DEST is a CIDR or "default". Example:
        salamander up --tap sal0 --addr sal0=192.0.2.2/24 --route default=192.0.2.1
  ${CTL_USAGE}
      Reconfigures a running "up" live through its control socket (Unix socket, mode 0600).
  ${LAB_USAGE}
      Runs a deterministic scenario (inline stacks, fake clock, seeded impairments and kills)
      over many seeds in parallel; each failure prints the command that replays it.
  salamander help | --help | -h
  salamander version | --version

Not yet (see README "Status"): ctl top, --serve, --socks.
`;

function parseNumberFlag(args: string[], name: string, def: number, min: number, max: number): number {
  const i = args.indexOf(name);
  if (i < 0) return def;
  const v = Number(args[i + 1]);
  if (!Number.isFinite(v) || v < min || v > max) throw new UsageError(`${name} needs a number between ${min} and ${max}, got "${args[i + 1] ?? ''}"`);
  args.splice(i, 2);
  return v;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(HELP);
        return 0;
      case 'version':
      case '--version':
        process.stdout.write(VERSION + '\n');
        return 0;
      case 'demo': {
        const args = rest.slice();
        if (args[0] !== 'pipeline') {
          const mib = parseNumberFlag(args, '--mib', 32, 1, 4096);
          const loss = parseNumberFlag(args, '--loss', 0.01, 0, 0.5);
          if (args.length) throw new UsageError(`unknown argument "${args[0]}" for demo`);
          return await runHttpDemo({ mib, loss });
        }
        args.shift();
        const seconds = parseNumberFlag(args, '--seconds', 6, 1, 3600);
        const size = parseNumberFlag(args, '--size', 1500, 16, 65536);
        if (args.length) throw new UsageError(`unknown argument "${args[0]}" for demo`);
        return await runDemo({ seconds, size });
      }
      case 'up':
        return await runUp(rest);
      case 'ctl':
        return await runCtl(rest);
      case 'lab':
        return await runLabCli(rest);
      default:
        throw new UsageError(`unknown command "${cmd}"`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`salamander: ${e.message}\nRun "salamander --help" for usage.\n`);
      return 2;
    }
    process.stderr.write(`salamander: ${(e as Error)?.stack ?? String(e)}\n`);
    return 1;
  }
}

if (require.main === module || process.argv[1]?.endsWith('salamander.js') || process.argv[1]?.endsWith('salamander')) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
