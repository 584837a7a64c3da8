// Shared helpers for the IPv4-side protocol tests: loading the golden captures, checking that a
// parse result holds no NaN/undefined fields, and running a parser over hostile inputs.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'chai';
import { readPcap, PcapRecord } from '../../protocol/pcap';
import { ParseResult } from '../../protocol/result';

export const FIXTURES = path.resolve(__dirname, '../../../test/fixtures');

export function loadPcap(name: string): PcapRecord[] {
  const bytes = new Uint8Array(fs.readFileSync(path.join(FIXTURES, name)));
  const r = readPcap(bytes);
  if (!r.ok) throw new Error(`${name}: ${r.reason}`);
  return r.value.records;
}

export function hex(s: string): Uint8Array {
  const clean = s.replace(/[^0-9a-fA-F]/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.substr(2 * i, 2), 16);
  return out;
}

/** Fails if any number reachable from `v` is NaN or not finite, or any property is undefined
 *  (optional properties that are absent are fine: only own keys with value undefined fail). */
export function expectWellFormed(v: unknown, where = 'value', seen = new Set<unknown>()): void {
  if (typeof v === 'number') {
    expect(Number.isFinite(v), `${where} is ${v}`).to.equal(true);
    return;
  }
  if (v === undefined) expect.fail(`${where} is undefined`);
  if (v === null || typeof v !== 'object' || seen.has(v)) return;
  seen.add(v);
  if (v instanceof Uint8Array) return;
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) expectWellFormed(x, `${where}.${k}`, seen);
}

const KINDS = new Set(['format', 'checksum', 'unsupported', 'unexpected']);

/** Calls `parse` and checks the result is a well-formed ParseResult (never throws). */
export function checkResult(r: ParseResult<unknown>): void {
  expect(r).to.be.an('object');
  if (r.ok) expectWellFormed(r.value);
  else {
    expect(KINDS.has(r.kind), `kind ${r.kind}`).to.equal(true);
    expect(r.reason).to.be.a('string');
  }
}

/** Runs parse on every truncation [0, n) of `bytes`, placed at an odd offset inside a larger
 *  buffer (so reading past `len` would see 0xee bytes instead of undefined), and returns the
 *  results. */
export function truncations<T>(
  bytes: Uint8Array, parse: (b: Uint8Array, off: number, len: number) => ParseResult<T>,
): ParseResult<T>[] {
  const out: ParseResult<T>[] = [];
  for (let n = 0; n <= bytes.length; n++) {
    // exact-size buffer: any read past the end yields undefined -> NaN in fields
    const exact = bytes.slice(0, n);
    const r1 = parse(exact, 0, n);
    checkResult(r1);
    const big = new Uint8Array(n + 7).fill(0xee);
    big.set(bytes.subarray(0, n), 3);
    const r2 = parse(big, 3, n);
    checkResult(r2);
    expect(r1.ok).to.equal(r2.ok);
    out.push(r1);
  }
  return out;
}

export function copyOf(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}
