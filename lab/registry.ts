// Scenarios shipped with Salamander, by name; a path to a compiled module works too.

import * as path from 'node:path';
import type { Scenario } from './scenario';

const SHIPPED: Record<string, string> = {
  'pipeline-kills': './scenarios/pipeline-kills',
  'tcp-bulk-loss': './scenarios/tcp-bulk-loss',
  'tcp-bulk-64m': './scenarios/tcp-bulk-64m',
  'tcp-short-conns': './scenarios/tcp-short-conns',
  'tcp-actor-kills': './scenarios/tcp-actor-kills',
  'link-flap': './scenarios/link-flap',
};

export function shippedScenarios(): string[] {
  return Object.keys(SHIPPED);
}

export function scenarioModule(name: string): string {
  if (SHIPPED[name]) return path.join(__dirname, SHIPPED[name]);
  if (name.includes('/') || name.endsWith('.js')) return path.resolve(name);
  throw new Error(`unknown scenario "${name}" (shipped: ${shippedScenarios().join(', ')}; or give a path to a compiled module)`);
}

export function loadScenario(name: string): Scenario {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const mod = require(scenarioModule(name));
  const s = mod.scenario as Scenario | undefined;
  if (!s || typeof s.run !== 'function') throw new Error(`${name}: module does not export "scenario" with run(seed)`);
  return s;
}
