// `salamander lab`: deterministic scenarios over many seeds on all cores.
//   salamander lab list
//   salamander lab run SCENARIO [--seeds N] [--from S0] [--seed S] [--threads T] [--json]

import { parseArgs, UsageError } from './args';
import { runLab, defaultThreads } from '../lab/run';
import { shippedScenarios, loadScenario } from '../lab/registry';

export const LAB_USAGE = `salamander lab list
  salamander lab run SCENARIO [--seeds N] [--from S0] [--seed S] [--threads T] [--json]`;

function int(v: string | undefined, name: string, def: number, min: number, max: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${name} must be an integer between ${min} and ${max}, got "${v}"`);
  return n;
}

export async function runLabCli(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'list') {
    for (const n of shippedScenarios()) console.log(`${n.padEnd(22)} ${loadScenario(n).description}`);
    return 0;
  }
  if (sub !== 'run') throw new UsageError(`lab needs "list" or "run"\n  ${LAB_USAGE}`);
  const { flags, positional } = parseArgs(rest, {
    '--seeds': { value: true }, '--from': { value: true }, '--seed': { value: true }, '--threads': { value: true }, '--json': {},
  });
  const [scenario, ...extra] = positional;
  if (!scenario) throw new UsageError(`lab run needs a SCENARIO (one of ${shippedScenarios().join(', ')}, or a path)`);
  if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`);
  try {
    loadScenario(scenario);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  let seeds: number[];
  if (flags.has('--seed')) seeds = [int(flags.get('--seed')![0], '--seed', 0, 0, 2 ** 32 - 1)];
  else {
    const n = int(flags.get('--seeds')?.[0], '--seeds', 100, 1, 10_000_000);
    const from = int(flags.get('--from')?.[0], '--from', 1, 0, 2 ** 32 - 1);
    seeds = Array.from({ length: n }, (_, i) => from + i);
  }
  const threads = int(flags.get('--threads')?.[0], '--threads', defaultThreads(), 1, 256);
  const rep = await runLab({ scenario, seeds, threads });
  if (flags.has('--json')) {
    console.log(JSON.stringify(rep));
  } else {
    for (const r of rep.results) {
      if (!r.pass || seeds.length <= 20) console.log(`seed ${r.seed}: ${r.pass ? 'pass' : 'FAIL'}  ${r.summary}${r.pass ? '' : `\n  ${r.failure}\n  replay: npx salamander lab run ${scenario} --seed ${r.seed}`}`);
    }
    const cpuMs = rep.results.reduce((a, r) => a + r.ms, 0);
    console.log(`${scenario}: ${rep.passed}/${rep.results.length} seeds passed, ${rep.failed} failed; ${(rep.wallMs / 1000).toFixed(1)} s wall on ${rep.threads} threads ` +
      `(${(cpuMs / 1000).toFixed(1)} s of scenario time, speed-up ${(cpuMs / rep.wallMs).toFixed(2)}x)`);
  }
  return rep.failed === 0 ? 0 : 1;
}
