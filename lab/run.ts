// `salamander lab run SCENARIO [--seeds N | --seed S] [--from S0] [--threads T]`: runs a
// deterministic scenario over many seeds in parallel on all cores (piscina), reports pass/fail
// per seed, and for each failure the exact command that replays it.

import * as os from 'node:os';
import * as path from 'node:path';
import { Piscina } from 'piscina';
import { loadScenario } from './registry';
import type { LabTask } from './task';
import type { ScenarioResult } from './scenario';

export interface LabOptions {
  scenario: string;
  seeds: number[];
  threads: number;
  quiet?: boolean;
}

export interface LabReport {
  scenario: string;
  results: Array<ScenarioResult & { seed: number; ms: number }>;
  passed: number;
  failed: number;
  wallMs: number;
  threads: number;
}

export async function runLab(opts: LabOptions): Promise<LabReport> {
  loadScenario(opts.scenario); // fail fast on a bad name, in this thread
  const pool = new Piscina({
    filename: path.join(__dirname, 'task.js'),
    minThreads: opts.threads,
    maxThreads: opts.threads,
    idleTimeout: 1000,
  });
  const t0 = performance.now();
  const results = await Promise.all(
    opts.seeds.map((seed) => pool.run({ scenario: opts.scenario, seed } satisfies LabTask) as Promise<ScenarioResult & { seed: number; ms: number }>),
  );
  const wallMs = performance.now() - t0;
  await pool.destroy();
  const failed = results.filter((r) => !r.pass).length;
  return { scenario: opts.scenario, results, passed: results.length - failed, failed, wallMs, threads: opts.threads };
}

export function defaultThreads(): number {
  return Math.max(1, os.availableParallelism ? os.availableParallelism() : os.cpus().length);
}
