// Actor kinds by name -> compiled module exporting `create: ActorFactory`. The threaded shell
// and the inline wiring load cores through this one table, so both run the same code.

import * as path from 'node:path';
import type { ActorFactory } from './actor';

const KINDS: Record<string, string> = {
  relay: '../actors/lab/relay',
  nic: '../actors/nic/actor',
  source: '../actors/lab/source',
  sink: '../actors/lab/sink',
  ip: '../actors/ip/actor',
  tcp: '../actors/tcp/actor',
  udp: '../actors/udp/actor',
};

/** Registers another kind (tests, users' own actors). Paths must be absolute compiled JS. */
export function registerKind(kind: string, modulePath: string): void {
  KINDS[kind] = modulePath;
}

export function kindModulePath(kind: string): string {
  if (path.isAbsolute(kind)) return kind;
  const rel = KINDS[kind];
  if (!rel) throw new Error(`unknown actor kind "${kind}" (known: ${Object.keys(KINDS).join(', ')})`);
  return path.isAbsolute(rel) ? rel : path.join(__dirname, rel);
}

export function loadFactory(kind: string): ActorFactory {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const mod = require(kindModulePath(kind));
  if (typeof mod.create !== 'function') throw new Error(`actor module for "${kind}" does not export create()`);
  return mod.create as ActorFactory;
}

/** Loads every registered kind (a spare worker does this before it is needed). Kinds whose
 *  module is missing are skipped. */
export function preloadKinds(): void {
  for (const k of Object.keys(KINDS)) {
    try {
      loadFactory(k);
    } catch {
      /* not built in this configuration */
    }
  }
}

export function knownKinds(): string[] {
  return Object.keys(KINDS);
}
