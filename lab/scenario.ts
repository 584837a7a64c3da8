// The lab's scenario contract. A scenario is a deterministic function of a seed: it builds
// inline stacks or pipelines (fake clock, seeded impairments and actor kills), runs them, and
// returns a verdict. The same seed always gives the same run, so a failing seed is a complete
// bug report: `salamander lab run SCENARIO --seed N` replays it exactly.
//
// To write your own: export `scenario: Scenario` from a compiled module and pass its path as
// SCENARIO (`salamander lab run ./dist/my-scenario.js --seeds 100`).

export interface ScenarioResult {
  pass: boolean;
  /** One line for the report. */
  summary: string;
  /** Figures for the report (bytes moved, kills, fake ms...). */
  metrics?: Record<string, number>;
  /** Why it failed. */
  failure?: string;
}

export interface Scenario {
  name: string;
  description: string;
  run(seed: number): ScenarioResult | Promise<ScenarioResult>;
}
