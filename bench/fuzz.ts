// `npm run fuzz [count] [seed]`: runs random and mutated frames through every parser in
// protocol/ (the IPv4-side targets in ./fuzz-targets-v4 and the IPv6-side ones in
// ./fuzz-targets-v6). Inputs are mutations of the golden captures in test/fixtures (bit flips,
// interesting values, truncation, extension, splices, with checksums re-fixed half the time so
// the deeper layers are reached) and plain random bytes, from a seeded PRNG. Each input is parsed
// at the frame start and at the usual header offsets. Counts results by kind per target; any
// exception, or an ok result holding NaN/undefined, fails the run (exit 1) with the input in hex.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { finish, pseudoSumV4, sum16 } from '../protocol/checksum';
import { readPcap } from '../protocol/pcap';
import { FuzzTarget, v4FuzzTargets } from './fuzz-targets-v4';
import { v6FuzzTargets } from './fuzz-targets-v6';

/** mulberry32: small, fast, seedable. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function loadCorpus(): Uint8Array[] {
  const dirs = [path.resolve(__dirname, '../../test/fixtures'), path.resolve(process.cwd(), 'test/fixtures')];
  const dir = dirs.find((d) => fs.existsSync(d));
  const out: Uint8Array[] = [];
  if (!dir) return out;
  for (const f of fs.readdirSync(dir).sort()) {
    if (!f.endsWith('.pcap')) continue;
    const r = readPcap(new Uint8Array(fs.readFileSync(path.join(dir, f))));
    if (r.ok) for (const rec of r.value.records) out.push(new Uint8Array(rec.data));
  }
  return out;
}

const INTERESTING = [0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 0x0f, 0x10, 0x14, 0x20, 0x28, 0x3f, 0x40, 0x45, 0x4f, 0x60, 0x7f,
  0x80, 0x81, 0x86, 0x88, 0xa8, 0xdd, 0xfe, 0xff];

/** Re-fixes the IPv4 header and TCP/UDP/ICMP checksums of an (untagged or tagged) Ethernet frame
 *  where the lengths allow, so mutations get past checksum checks. */
function fixChecksums(b: Uint8Array): void {
  let p = 12;
  while (p + 4 <= b.length && (((b[p] << 8) | b[p + 1]) === 0x8100 || ((b[p] << 8) | b[p + 1]) === 0x88a8)) p += 4;
  if (p + 2 > b.length || ((b[p] << 8) | b[p + 1]) !== 0x0800) return;
  const ip = p + 2;
  if (ip + 20 > b.length || b[ip] >>> 4 !== 4) return;
  const hl = (b[ip] & 15) * 4;
  const total = (b[ip + 2] << 8) | b[ip + 3];
  if (hl < 20 || ip + hl > b.length) return;
  b[ip + 10] = 0;
  b[ip + 11] = 0;
  const c = finish(sum16(b, ip, hl));
  b[ip + 10] = c >>> 8;
  b[ip + 11] = c;
  if (total < hl || ip + total > b.length || (((b[ip + 6] << 8) | b[ip + 7]) & 0x3fff) !== 0) return;
  const l4 = ip + hl;
  const l4len = total - hl;
  const src = ((b[ip + 12] << 24) | (b[ip + 13] << 16) | (b[ip + 14] << 8) | b[ip + 15]) >>> 0;
  const dst = ((b[ip + 16] << 24) | (b[ip + 17] << 16) | (b[ip + 18] << 8) | b[ip + 19]) >>> 0;
  const proto = b[ip + 9];
  let at = -1;
  let ps = 0;
  if (proto === 6 && l4len >= 20) {
    at = l4 + 16;
    ps = pseudoSumV4(src, dst, 6, l4len);
  } else if (proto === 17 && l4len >= 8) {
    at = l4 + 6;
    ps = pseudoSumV4(src, dst, 17, l4len);
  } else if (proto === 1 && l4len >= 8) {
    at = l4 + 2;
  }
  if (at < 0) return;
  b[at] = 0;
  b[at + 1] = 0;
  const c4 = finish(sum16(b, l4, l4len, ps));
  b[at] = c4 >>> 8;
  b[at + 1] = c4;
}

function mutate(src: Uint8Array, corpus: Uint8Array[], rnd: () => number): Uint8Array {
  let b: Uint8Array = new Uint8Array(src);
  const ops = 1 + Math.floor(rnd() * 4);
  for (let k = 0; k < ops; k++) {
    const op = Math.floor(rnd() * 10);
    const pos = b.length ? Math.floor(rnd() * b.length) : 0;
    switch (op) {
      case 0: // bit flip
        if (b.length) b[pos] ^= 1 << Math.floor(rnd() * 8);
        break;
      case 1: // random byte
        if (b.length) b[pos] = Math.floor(rnd() * 256);
        break;
      case 2: // interesting byte, biased to the header area
      case 3: {
        const p = Math.floor(rnd() * Math.min(b.length, 80));
        if (b.length) b[p] = INTERESTING[Math.floor(rnd() * INTERESTING.length)];
        break;
      }
      case 4: // interesting 16-bit value
        if (pos + 1 < b.length) {
          const v = [0, 1, 0xffff, 0x7fff, 0x8000, b.length, b.length - 14, b.length + 1, 0x0800, 0x86dd, 0x8100][Math.floor(rnd() * 11)];
          b[pos] = v >>> 8;
          b[pos + 1] = v;
        }
        break;
      case 5: // truncate
        b = b.subarray(0, Math.floor(rnd() * (b.length + 1)));
        break;
      case 6: { // extend with random bytes
        const n = Math.floor(rnd() * 64);
        const e = new Uint8Array(b.length + n);
        e.set(b);
        for (let i = b.length; i < e.length; i++) e[i] = Math.floor(rnd() * 256);
        b = e;
        break;
      }
      case 7: { // splice a piece of another frame in
        const o = corpus[Math.floor(rnd() * corpus.length)];
        if (o.length && b.length) {
          const from = Math.floor(rnd() * o.length);
          const n = Math.min(Math.floor(rnd() * 40), o.length - from, b.length - pos);
          b.set(o.subarray(from, from + n), pos);
        }
        break;
      }
      case 8: { // delete a range
        const head = b.subarray(0, pos);
        const tail = b.subarray(Math.min(b.length, pos + Math.floor(rnd() * 16)));
        const e = new Uint8Array(head.length + tail.length);
        e.set(head);
        e.set(tail, head.length);
        b = e;
        break;
      }
      default: { // insert random bytes
        const n = 1 + Math.floor(rnd() * 8);
        const e = new Uint8Array(b.length + n);
        e.set(b.subarray(0, pos));
        for (let i = 0; i < n; i++) e[pos + i] = Math.floor(rnd() * 256);
        e.set(b.subarray(pos), pos + n);
        b = e;
      }
    }
  }
  if (rnd() < 0.5) fixChecksums(b);
  return b;
}

function randomFrame(rnd: () => number): Uint8Array {
  const n = Math.floor(rnd() * (rnd() < 0.8 ? 128 : 1600));
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rnd() * 256);
  if (n >= 14 && rnd() < 0.5) {
    // a plausible EtherType and IP version so parsing goes deeper
    const t = [0x0800, 0x0806, 0x86dd, 0x8100][Math.floor(rnd() * 4)];
    b[12] = t >>> 8;
    b[13] = t;
    if (n > 14) b[14] = t === 0x86dd ? 0x60 : 0x45;
    if (rnd() < 0.5) fixChecksums(b);
  }
  return b;
}

type Counts = Record<string, number>;

function wellFormed(v: unknown, depth = 0): boolean {
  if (typeof v === 'number') return Number.isFinite(v);
  if (v === undefined) return false;
  if (v === null || typeof v !== 'object' || depth > 6 || v instanceof Uint8Array) return true;
  for (const x of Object.values(v as Record<string, unknown>)) if (!wellFormed(x, depth + 1)) return false;
  return true;
}

function hexOf(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

export function runFuzz(count: number, seed: number): number {
  const rnd = prng(seed);
  const corpus = loadCorpus();
  const targets: FuzzTarget[] = [...v4FuzzTargets, ...v6FuzzTargets];
  const counts = new Map<string, Counts>();
  for (const t of targets) counts.set(t.name, {});
  let failures = 0;
  let calls = 0;
  const t0 = Date.now();
  for (let i = 0; i < count; i++) {
    const fromCorpus = corpus.length > 0 && rnd() < 0.75;
    const buf = fromCorpus ? mutate(corpus[Math.floor(rnd() * corpus.length)], corpus, rnd) : randomFrame(rnd);
    // frame start, after Ethernet, after Ethernet+IPv4, and a random offset (sometimes a random len)
    const offsets = [0, 14, 34, Math.floor(rnd() * (buf.length + 2)) - 1];
    for (const t of targets) {
      const c = counts.get(t.name)!;
      for (const off of offsets) {
        const len = off === offsets[3] && rnd() < 0.2 ? Math.floor(rnd() * (buf.length + 4)) - 2 : buf.length - off;
        if (off > buf.length) continue;
        calls++;
        let r: unknown;
        try {
          r = t.parse(buf, off, len);
        } catch (e) {
          failures++;
          if (failures <= 5) console.error(`EXCEPTION in ${t.name} at off=${off} len=${len}: ${(e as Error).stack}\n  input ${hexOf(buf)}`);
          c.exception = (c.exception ?? 0) + 1;
          continue;
        }
        const res = r as { ok?: boolean; kind?: string; value?: unknown } | null;
        let key: string;
        if (res && typeof res === 'object' && 'ok' in res) key = res.ok ? 'ok' : String(res.kind);
        else key = res === null || res === undefined ? 'null' : 'value';
        c[key] = (c[key] ?? 0) + 1;
        if (res && res.ok && (calls & 15) === 0 && !wellFormed(res.value)) {
          failures++;
          c.malformed = (c.malformed ?? 0) + 1;
          if (failures <= 5) console.error(`NaN/undefined field from ${t.name} at off=${off}: input ${hexOf(buf)}`);
        }
      }
    }
  }
  const secs = (Date.now() - t0) / 1000;
  console.log(`fuzz: ${count} frames (seed ${seed}, ${corpus.length} golden frames mutated, ${targets.length} targets), ` +
    `${calls} parse calls in ${secs.toFixed(1)} s`);
  const kinds = ['ok', 'format', 'checksum', 'unsupported', 'unexpected', 'null', 'value', 'exception', 'malformed'];
  console.log(['target'.padEnd(24), ...kinds.map((k) => k.padStart(10))].join(' '));
  for (const t of targets) {
    const c = counts.get(t.name)!;
    console.log([t.name.padEnd(24), ...kinds.map((k) => String(c[k] ?? 0).padStart(10))].join(' '));
  }
  console.log(failures === 0 ? 'fuzz: PASS (no exceptions)' : `fuzz: FAIL (${failures} failures)`);
  return failures;
}

if (require.main === module) {
  const count = Number(process.argv[2] ?? 1_000_000);
  const seed = Number(process.argv[3] ?? 0x5a1a);
  const failures = runFuzz(Number.isFinite(count) && count > 0 ? count : 1_000_000, seed);
  process.exit(failures === 0 ? 0 : 1);
}
