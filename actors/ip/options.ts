// IPv4 options the IP actor acts on: Record Route and Internet Timestamp, updated in place in a
// header when a datagram is received for us, forwarded, or answered (echo). Follows RFC 791 §3.1
// (option formats), RFC 1122 §3.2.1.8 and §3.2.2.6 (hosts: "If a Record Route and/or Time Stamp
// option is received in an ICMP Echo Request, this option (these options) SHOULD be updated to
// include the current host and included in the IP header of the Echo Reply message") and
// RFC 1812 §4.2.2.1 / §5.3.13 (routers update them when forwarding). Source routes are not acted on
// (forwarding drops them, see ipv4.ts). Options are validated by protocol/ipv4.ts before this
// runs; these functions still check every pointer against the header.

import { IPV4_OPT_EOL, IPV4_OPT_NOP, IPV4_OPT_RR, IPV4_OPT_TS } from '../../protocol/ipv4';

/** RFC 791 Timestamp: "a right-justified, 32-bit timestamp in milliseconds since midnight UT.
 *  If the time is not available in milliseconds or cannot be provided with respect to midnight
 *  UT then any time may be inserted as a timestamp provided the high order bit of the timestamp
 *  field is set". Our clock is the stack's (not UT), so the high bit is set. */
export function ipTimestamp(nowMs: number): number {
  return ((Math.floor(nowMs) % 0x80000000) | 0x80000000) >>> 0;
}

function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

/** Updates Record Route and Timestamp options of the header at `off` (header length `hl`) with
 *  our address `addr` and time `nowMs`. Returns true if anything changed (the caller then
 *  recomputes the header checksum). */
export function updateRecordOptions(b: Uint8Array, off: number, hl: number, addr: number, nowMs: number): boolean {
  let changed = false;
  let p = off + 20;
  const end = off + hl;
  while (p < end) {
    const t = b[p];
    if (t === IPV4_OPT_EOL) break;
    if (t === IPV4_OPT_NOP) {
      p++;
      continue;
    }
    if (p + 1 >= end) break;
    const l = b[p + 1];
    if (l < 2 || p + l > end) break;
    if (t === IPV4_OPT_RR && l >= 3) {
      // RFC 791: "When an internet module routes a datagram it checks to see if the record
      // route option is present. If it is, it inserts its own internet address ... into the
      // recorded route beginning at the octet indicated by the pointer, and increments the
      // pointer by four. If the route data area is already full (the pointer exceeds the
      // length) the datagram is forwarded without inserting the address".
      const ptr = b[p + 2];
      if (ptr >= 4 && ptr + 3 <= l) {
        put32(b, p + ptr - 1, addr);
        b[p + 2] = ptr + 4;
        changed = true;
      }
    } else if (t === IPV4_OPT_TS && l >= 4) {
      const ptr = b[p + 2];
      const flg = b[p + 3] & 15;
      const oflw = b[p + 3] >>> 4;
      const size = flg === 0 ? 4 : 8;
      if (ptr >= 5 && ptr + size - 1 <= l) {
        if (flg === 0) {
          put32(b, p + ptr - 1, ipTimestamp(nowMs));
          b[p + 2] = ptr + 4;
          changed = true;
        } else if (flg === 1) {
          put32(b, p + ptr - 1, addr);
          put32(b, p + ptr + 3, ipTimestamp(nowMs));
          b[p + 2] = ptr + 8;
          changed = true;
        } else if (flg === 3) {
          // "the internet address fields are prespecified. An IP module only registers its
          // timestamp if it matches its own address with the next specified internet address".
          const want = ((b[p + ptr - 1] << 24) | (b[p + ptr] << 16) | (b[p + ptr + 1] << 8) | b[p + ptr + 2]) >>> 0;
          if (want === addr >>> 0) {
            put32(b, p + ptr + 3, ipTimestamp(nowMs));
            b[p + 2] = ptr + 8;
            changed = true;
          }
        }
      } else if (ptr > l && oflw < 15) {
        // "The Overflow (oflw) [4 bits] is the number of IP modules that cannot register
        // timestamps due to lack of space."
        b[p + 3] = ((oflw + 1) << 4) | flg;
        changed = true;
      }
    }
    p += l;
  }
  return changed;
}
