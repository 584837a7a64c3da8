// A small argv parser for the CLI: known flags only, repeated flags collected, values checked
// by the caller. Unknown flags and missing values are UsageErrors (exit code 2).

export class UsageError extends Error {}

export interface FlagSpec {
  /** Takes a value. */
  value?: boolean;
  /** May repeat (values collected into an array). */
  multi?: boolean;
}

export interface Parsed {
  flags: Map<string, string[]>;
  positional: string[];
}

export function parseArgs(argv: string[], spec: Record<string, FlagSpec>): Parsed {
  const flags = new Map<string, string[]>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(0, eq) : a;
      const s = spec[name];
      if (!s) throw new UsageError(`unknown option ${name}`);
      let v = '';
      if (s.value) {
        if (eq > 0) v = a.slice(eq + 1);
        else {
          if (i + 1 >= argv.length || argv[i + 1].startsWith('--')) throw new UsageError(`${name} needs a value`);
          v = argv[++i];
        }
      } else if (eq > 0) throw new UsageError(`${name} takes no value`);
      const list = flags.get(name) ?? [];
      if (list.length && !s.multi) throw new UsageError(`${name} given more than once`);
      list.push(v);
      flags.set(name, list);
    } else positional.push(a);
  }
  return { flags, positional };
}

export function defaultControlPath(): string {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const os = require('node:os') as typeof import('node:os');
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const path = require('node:path') as typeof import('node:path');
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return process.env.SALAMANDER_CONTROL ?? path.join(os.tmpdir(), `salamander-${uid}.sock`);
}
