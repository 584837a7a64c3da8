// Piscina task: runs one seed of one scenario in a pool worker. Each seed is an independent,
// CPU-bound, deterministic job, which is exactly what a task pool is for.

import { loadScenario } from './registry';
import type { ScenarioResult } from './scenario';

export interface LabTask {
  scenario: string;
  seed: number;
}

export default async function runTask(t: LabTask): Promise<ScenarioResult & { seed: number; ms: number }> {
  const t0 = performance.now();
  try {
    const r = await loadScenario(t.scenario).run(t.seed);
    return { ...r, seed: t.seed, ms: performance.now() - t0 };
  } catch (e) {
    return { pass: false, summary: 'threw', failure: (e as Error)?.stack ?? String(e), seed: t.seed, ms: performance.now() - t0 };
  }
}
