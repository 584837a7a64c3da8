// Keyed hashes for the numbers an off-path attacker must not guess: initial sequence numbers
// (RFC 6528), SYN cookies (RFC 4987 §3.6), per-connection timestamp offsets (RFC 7323 §5.4) and
// ephemeral port selection (RFC 6056 Algorithm 3). The key lives in the shared table header, so
// a restarted actor keeps validating its predecessor's cookies. HMAC-SHA-256 is the PRF.

import { createHmac } from 'node:crypto';

export interface FourTuple {
  family: 4 | 6;
  local: number[]; // 4 u32 words (IPv4: [addr, 0, 0, 0])
  localPort: number;
  remote: number[];
  remotePort: number;
}

function tupleBytes(t: FourTuple, extra: number[]): Buffer {
  const b = Buffer.alloc(4 * (8 + 2 + extra.length) + 1);
  let o = 0;
  b[o++] = t.family;
  for (const w of t.local) o = b.writeUInt32BE(w >>> 0, o);
  for (const w of t.remote) o = b.writeUInt32BE(w >>> 0, o);
  o = b.writeUInt32BE(t.localPort >>> 0, o);
  o = b.writeUInt32BE(t.remotePort >>> 0, o);
  for (const w of extra) o = b.writeUInt32BE(w >>> 0, o);
  return b;
}

/** A 32-bit keyed hash of the 4-tuple and extra words, domain-separated by `label`. */
export function keyedHash(key: Buffer, label: number, t: FourTuple, extra: number[] = []): number {
  const h = createHmac('sha256', key).update(tupleBytes(t, [label, ...extra])).digest();
  return h.readUInt32BE(0);
}

const L_ISN = 1;
const L_COOKIE1 = 2;
const L_COOKIE2 = 3;
const L_TS = 4;
const L_PORT = 5;

/** RFC 6528 §3: "ISN = M + F(localip, localport, remoteip, remoteport, secretkey) where M is
 *  the 4 microsecond timer, and F() is a pseudorandom function (PRF) of the connection-id". */
export function initialSeq(key: Buffer, t: FourTuple, nowMs: number): number {
  return (Math.floor(nowMs * 250) + keyedHash(key, L_ISN, t)) >>> 0;
}

/** RFC 7323 §5.4: "a random offset may be added to the timestamp clock on a per-connection
 *  basis". Derived from the tuple (not drawn) so a SYN cookie needs no state. */
export function tsOffset(key: Buffer, t: FourTuple): number {
  return keyedHash(key, L_TS, t);
}

/** RFC 6056 §3.3.3 Algorithm 3: "offset = F(local_IP, remote_IP, remote_port, secret_key)"
 *  (the local port is left out of the tuple). */
export function portOffset(key: Buffer, t: FourTuple): number {
  return keyedHash(key, L_PORT, { ...t, localPort: 0 });
}

// ---- SYN cookies (RFC 4987 §3.6). Our ISS is
//   hash1(tuple) + peer ISN + (count << 24 | hash2(tuple, count, peer ISN, mss index) << 3 | mss index)
// with count the 64-second time counter (8 bits), 21 bits of authenticator and the MSS index
// (3 bits). A cookie is valid for COOKIE_MAX_AGE counts. Window scale and SACK-permitted ride in
// the low bits of our TSval (only when the peer sent timestamps, as Linux does).

const COOKIE_BITS = 24;
const AUTH_MASK = (1 << 21) - 1;
export const COOKIE_PERIOD_MS = 64_000;
const COOKIE_MAX_AGE = 2;
/** MSS values a cookie can carry (index in 3 bits). */
export const COOKIE_MSS = [536, 1220, 1300, 1440, 1460, 4312, 8960, 9000];

export function cookieCount(nowMs: number): number {
  return Math.floor(nowMs / COOKIE_PERIOD_MS) & 0xff;
}

export function cookieMssIndex(mss: number): number {
  let i = 0;
  for (let k = 0; k < COOKIE_MSS.length; k++) if (COOKIE_MSS[k] <= mss) i = k;
  return i;
}

function cookieAuth(key: Buffer, t: FourTuple, count: number, peerIsn: number, mssIndex: number): number {
  return keyedHash(key, L_COOKIE2, t, [count, peerIsn, mssIndex]) & AUTH_MASK;
}

export function makeCookie(key: Buffer, t: FourTuple, peerIsn: number, nowMs: number, mssIndex: number): number {
  const count = cookieCount(nowMs);
  const h1 = keyedHash(key, L_COOKIE1, t);
  const low = (cookieAuth(key, t, count, peerIsn, mssIndex) << 3) | (mssIndex & 7);
  return (h1 + peerIsn + ((count << COOKIE_BITS) >>> 0) + low) >>> 0;
}

/** Checks a cookie (our ISS = SEG.ACK - 1, peer ISN = SEG.SEQ - 1); the MSS index or -1. */
export function checkCookie(key: Buffer, t: FourTuple, peerIsn: number, cookie: number, nowMs: number): number {
  const h1 = keyedHash(key, L_COOKIE1, t);
  const c = (cookie - h1 - peerIsn) >>> 0;
  const count = c >>> COOKIE_BITS;
  const age = (cookieCount(nowMs) - count) & 0xff;
  if (age >= COOKIE_MAX_AGE) return -1;
  const idx = c & 7;
  if (((c >>> 3) & AUTH_MASK) !== cookieAuth(key, t, count, peerIsn, idx)) return -1;
  return idx;
}

/** Options folded into the low 5 bits of a cookie SYN-ACK's TSval: bit 4 = SACK-permitted,
 *  bits 0..3 = the peer's window shift (15 = no window scaling). */
export function cookieTsBits(sackOk: boolean, peerWscale: number | null): number {
  return (sackOk ? 0x10 : 0) | (peerWscale === null ? 0xf : Math.min(14, peerWscale));
}
export function cookieTsDecode(bits: number): { sackOk: boolean; peerWscale: number | null } {
  const w = bits & 0xf;
  return { sackOk: (bits & 0x10) !== 0, peerWscale: w === 0xf ? null : w };
}
