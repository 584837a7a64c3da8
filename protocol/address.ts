// Address types and helpers for IPv4, IPv6 and Ethernet MAC addresses: text parse/format,
// CIDR prefixes, masks, scopes, and the address mappings the link layer needs.
// Follows RFC 791 (IPv4 addresses), RFC 4291 (IPv6 addressing architecture, EUI-64, solicited-node
// multicast), RFC 5952 (canonical IPv6 text), RFC 4632 (CIDR), RFC 1112 §6.4 (IPv4 multicast over
// Ethernet), RFC 2464 §7 (IPv6 multicast over Ethernet), RFC 5737 / RFC 3849 (documentation
// ranges), RFC 1918 (private IPv4), RFC 3927 (IPv4 link-local), RFC 4193 (unique local IPv6).
//
// Representation:
// - IPv4: an unsigned 32-bit number (`0xc0000201` is 192.0.2.1). Always kept in [0, 2^32) with
//   `>>> 0`, so values compare with `===`.
// - IPv6: a 16-byte Uint8Array in network order.
// - MAC: a 6-byte Uint8Array.
// Parsers return null on bad text and never throw.

/** IPv4 address as an unsigned 32-bit number. */
export type Ipv4Addr = number;
/** IPv6 address: 16 bytes, network order. */
export type Ipv6Addr = Uint8Array;
/** Ethernet MAC address: 6 bytes. */
export type MacAddr = Uint8Array;

export interface Ipv4Cidr {
  readonly addr: Ipv4Addr;
  readonly prefixLen: number;
}

export interface Ipv6Cidr {
  readonly addr: Ipv6Addr;
  readonly prefixLen: number;
}

export type Cidr = ({ readonly family: 4 } & Ipv4Cidr) | ({ readonly family: 6 } & Ipv6Cidr);

// ---------------------------------------------------------------------------------------------
// IPv4

export const IPV4_UNSPECIFIED: Ipv4Addr = 0;
/** RFC 919: the limited broadcast address 255.255.255.255. */
export const IPV4_BROADCAST: Ipv4Addr = 0xffffffff;
export const IPV4_LOOPBACK: Ipv4Addr = 0x7f000001;

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Parses dotted-quad text ("192.0.2.1"). Exactly four decimal parts 0..255; leading zeros are
 *  rejected (they are octal in some legacy parsers, so "010" is ambiguous). */
export function parseIpv4(s: string): Ipv4Addr | null {
  if (typeof s !== 'string' || s.length < 7 || s.length > 15) return null;
  let value = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 0x2e; // virtual trailing '.'
    if (isDigit(c)) {
      if (digits > 0 && part === 0) return null; // leading zero
      part = part * 10 + (c - 0x30);
      digits++;
      if (part > 255) return null;
    } else if (c === 0x2e) {
      if (digits === 0) return null;
      value = value * 256 + part;
      parts++;
      part = 0;
      digits = 0;
    } else {
      return null;
    }
  }
  if (parts !== 4) return null;
  return value >>> 0;
}

export function formatIpv4(a: Ipv4Addr): string {
  return `${(a >>> 24) & 0xff}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

/** Reads an IPv4 address from 4 bytes at `off`. The caller checks bounds. */
export function ipv4FromBytes(b: Uint8Array, off = 0): Ipv4Addr {
  return ((b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]) >>> 0;
}

/** Writes an IPv4 address as 4 bytes at `off`. */
export function ipv4ToBytes(a: Ipv4Addr, b: Uint8Array = new Uint8Array(4), off = 0): Uint8Array {
  b[off] = a >>> 24;
  b[off + 1] = a >>> 16;
  b[off + 2] = a >>> 8;
  b[off + 3] = a;
  return b;
}

/** The netmask for a prefix length 0..32 (RFC 4632 §3.1), as an unsigned number. Lengths out of
 *  range are clamped. */
export function ipv4Mask(prefixLen: number): Ipv4Addr {
  if (!(prefixLen > 0)) return 0;
  if (prefixLen >= 32) return 0xffffffff;
  return (0xffffffff << (32 - prefixLen)) >>> 0;
}

/** The prefix length of a contiguous netmask, or null if the mask has holes. */
export function ipv4MaskLen(mask: Ipv4Addr): number | null {
  const m = mask >>> 0;
  const inv = ~m >>> 0;
  if ((inv & (inv + 1)) !== 0) return null; // inv must be 2^k - 1
  let n = 0;
  for (let x = m; x !== 0; x = (x << 1) >>> 0) n++;
  return n;
}

/** The network address: `a` with host bits cleared. */
export function ipv4Network(a: Ipv4Addr, prefixLen: number): Ipv4Addr {
  return (a & ipv4Mask(prefixLen)) >>> 0;
}

/** The directed broadcast address of the subnet (RFC 919 / RFC 922): all host bits set. */
export function ipv4SubnetBroadcast(a: Ipv4Addr, prefixLen: number): Ipv4Addr {
  return (a | ~ipv4Mask(prefixLen)) >>> 0;
}

/** True if `a` and `b` agree on the first `prefixLen` bits. */
export function ipv4PrefixMatch(a: Ipv4Addr, b: Ipv4Addr, prefixLen: number): boolean {
  const m = ipv4Mask(prefixLen);
  return ((a & m) >>> 0) === ((b & m) >>> 0);
}

/** 0.0.0.0 ("this host", RFC 1122 §3.2.1.3 (a)). */
export function ipv4IsUnspecified(a: Ipv4Addr): boolean {
  return a >>> 0 === 0;
}
/** 127.0.0.0/8 (RFC 1122 §3.2.1.3 (g)). */
export function ipv4IsLoopback(a: Ipv4Addr): boolean {
  return a >>> 24 === 127;
}
/** 169.254.0.0/16 (RFC 3927). */
export function ipv4IsLinkLocal(a: Ipv4Addr): boolean {
  return a >>> 16 === 0xa9fe;
}
/** 224.0.0.0/4, class D (RFC 1112 §4). */
export function ipv4IsMulticast(a: Ipv4Addr): boolean {
  return a >>> 28 === 0xe;
}
/** The limited broadcast address 255.255.255.255 (RFC 919). Subnet-directed broadcast depends
 *  on the interface prefix; see ipv4SubnetBroadcast. */
export function ipv4IsBroadcast(a: Ipv4Addr): boolean {
  return a >>> 0 === 0xffffffff;
}
/** RFC 1918 private ranges: 10/8, 172.16/12, 192.168/16. */
export function ipv4IsPrivate(a: Ipv4Addr): boolean {
  return a >>> 24 === 10 || a >>> 20 === 0xac1 || a >>> 16 === 0xc0a8;
}
/** RFC 5737 documentation ranges: 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24. */
export function ipv4IsDocumentation(a: Ipv4Addr): boolean {
  const n = a >>> 8;
  return n === 0xc00002 || n === 0xc63364 || n === 0xcb0071;
}
/** A unicast address usable as a source or destination (not unspecified, multicast,
 *  limited broadcast, or class E reserved 240/4). */
export function ipv4IsUnicast(a: Ipv4Addr): boolean {
  return a >>> 0 !== 0 && a >>> 28 < 0xe;
}

/** The Ethernet group address for an IPv4 multicast address. RFC 1112 §6.4: "An IP host group
 *  address is mapped to an Ethernet multicast address by placing the low-order 23-bits of the IP
 *  address into the low-order 23 bits of the Ethernet multicast address 01-00-5E-00-00-00". */
export function ipv4MulticastMac(a: Ipv4Addr): MacAddr {
  return Uint8Array.of(0x01, 0x00, 0x5e, (a >>> 16) & 0x7f, (a >>> 8) & 0xff, a & 0xff);
}

/** Parses "a.b.c.d/n". A bare address is rejected (use parseIpv4). */
export function parseIpv4Cidr(s: string): Ipv4Cidr | null {
  if (typeof s !== 'string') return null;
  const slash = s.indexOf('/');
  if (slash < 0) return null;
  const addr = parseIpv4(s.slice(0, slash));
  const len = parsePrefixLen(s.slice(slash + 1), 32);
  if (addr === null || len === null) return null;
  return { addr, prefixLen: len };
}

function parsePrefixLen(s: string, max: number): number | null {
  if (s.length === 0 || s.length > 3) return null;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!isDigit(c)) return null;
    if (i > 0 && n === 0) return null; // leading zero
    n = n * 10 + (c - 0x30);
  }
  return n <= max ? n : null;
}

// ---------------------------------------------------------------------------------------------
// IPv6

export function ipv6Unspecified(): Ipv6Addr {
  return new Uint8Array(16);
}
/** ::1 (RFC 4291 §2.5.3). */
export function ipv6Loopback(): Ipv6Addr {
  const a = new Uint8Array(16);
  a[15] = 1;
  return a;
}
/** ff02::1, all nodes on the link (RFC 4291 §2.7.1). */
export function ipv6AllNodes(): Ipv6Addr {
  const a = new Uint8Array(16);
  a[0] = 0xff;
  a[1] = 0x02;
  a[15] = 1;
  return a;
}
/** ff02::2, all routers on the link (RFC 4291 §2.7.1). */
export function ipv6AllRouters(): Ipv6Addr {
  const a = ipv6AllNodes();
  a[15] = 2;
  return a;
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/** Parses IPv6 text (RFC 4291 §2.2): eight groups of 1-4 hex digits, at most one "::", and an
 *  optional embedded dotted-quad IPv4 address in the last 32 bits ("::ffff:192.0.2.1").
 *  Zone identifiers ("%eth0") are not accepted here. Returns null on bad text. */
export function parseIpv6(s: string): Ipv6Addr | null {
  if (typeof s !== 'string' || s.length < 2 || s.length > 45) return null;
  const groups: number[] = [];
  let gap = -1; // index in groups where "::" sits
  let i = 0;
  const n = s.length;
  if (s.charCodeAt(0) === 0x3a) {
    if (s.charCodeAt(1) !== 0x3a) return null; // a lone leading ':'
    gap = 0;
    i = 2;
    if (i === n) return new Uint8Array(16); // "::"
  }
  while (i < n) {
    // Parse one group, or a trailing IPv4 address.
    const start = i;
    let v = 0;
    let digits = 0;
    while (i < n) {
      const h = hexVal(s.charCodeAt(i));
      if (h < 0) break;
      v = v * 16 + h;
      digits++;
      i++;
      if (digits > 4) return null;
    }
    if (i < n && s.charCodeAt(i) === 0x2e) {
      // Embedded IPv4: must be the last thing and fit in the remaining 2 groups.
      const v4 = parseIpv4(s.slice(start));
      if (v4 === null) return null;
      if (groups.length > 6 || (gap < 0 && groups.length !== 6)) return null;
      groups.push(v4 >>> 16, v4 & 0xffff);
      i = n;
      break;
    }
    if (digits === 0) return null;
    groups.push(v);
    if (groups.length > 8) return null;
    if (i === n) break;
    if (s.charCodeAt(i) !== 0x3a) return null;
    i++;
    if (i < n && s.charCodeAt(i) === 0x3a) {
      if (gap >= 0) return null; // two "::"
      gap = groups.length;
      i++;
      if (i === n) break;
    } else if (i === n) {
      return null; // trailing single ':'
    }
  }
  if (gap < 0) {
    if (groups.length !== 8) return null;
  } else if (groups.length > 7) {
    return null; // "::" must stand for at least one group
  }
  const out = new Uint8Array(16);
  const tail = groups.length - (gap < 0 ? groups.length : gap);
  const head = groups.length - tail;
  for (let g = 0; g < head; g++) {
    out[2 * g] = groups[g] >>> 8;
    out[2 * g + 1] = groups[g] & 0xff;
  }
  for (let g = 0; g < tail; g++) {
    const pos = 8 - tail + g;
    out[2 * pos] = groups[head + g] >>> 8;
    out[2 * pos + 1] = groups[head + g] & 0xff;
  }
  return out;
}

/** Formats an IPv6 address in RFC 5952 canonical text:
 *  §4.1 "Leading zeros MUST be suppressed"; §4.2.1 "The use of the symbol '::' MUST be used to
 *  its maximum capability"; §4.2.2 "The symbol '::' MUST NOT be used to shorten just one 16-bit
 *  0 field"; §4.2.3 "When there is an alternative choice in the placement of a '::', the longest
 *  run of consecutive 16-bit 0 fields MUST be shortened ... the first sequence of zero bits MUST
 *  be shortened" on a tie; §4.3 lowercase; §5 IPv4-mapped addresses are written with the
 *  dotted-quad ("::ffff:192.0.2.1"). */
export function formatIpv6(a: Ipv6Addr): string {
  if (ipv6IsIpv4Mapped(a)) return '::ffff:' + formatIpv4(ipv4FromBytes(a, 12));
  let bestStart = -1;
  let bestLen = 0;
  let runStart = -1;
  for (let g = 0; g <= 8; g++) {
    const zero = g < 8 && a[2 * g] === 0 && a[2 * g + 1] === 0;
    if (zero) {
      if (runStart < 0) runStart = g;
    } else if (runStart >= 0) {
      const len = g - runStart;
      if (len > bestLen) {
        bestLen = len;
        bestStart = runStart;
      }
      runStart = -1;
    }
  }
  if (bestLen < 2) bestStart = -1;
  let out = '';
  for (let g = 0; g < 8; g++) {
    if (g === bestStart) {
      out += '::';
      g += bestLen - 1;
      continue;
    }
    if (out.length > 0 && !out.endsWith(':')) out += ':';
    out += ((a[2 * g] << 8) | a[2 * g + 1]).toString(16);
  }
  return out;
}

/** Copies 16 bytes at `off` into a new address. The caller checks bounds. */
export function ipv6FromBytes(b: Uint8Array, off = 0): Ipv6Addr {
  return b.slice(off, off + 16);
}

/** Writes 16 bytes of `a` at `off`. */
export function ipv6ToBytes(a: Ipv6Addr, b: Uint8Array, off = 0): Uint8Array {
  for (let i = 0; i < 16; i++) b[off + i] = a[i];
  return b;
}

export function ipv6Equal(a: Ipv6Addr, b: Ipv6Addr): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Compares 16 bytes of `a` with 16 bytes of `b` at `off` (for matching a header in place). */
export function ipv6EqualAt(a: Ipv6Addr, b: Uint8Array, off: number): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[off + i]) return false;
  return true;
}

/** Lexicographic order, -1 / 0 / 1. */
export function ipv6Compare(a: Ipv6Addr, b: Ipv6Addr): number {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

/** The prefix: a copy of `a` with all bits after `prefixLen` (0..128) cleared. */
export function ipv6Prefix(a: Ipv6Addr, prefixLen: number): Ipv6Addr {
  const out = new Uint8Array(16);
  const len = prefixLen > 128 ? 128 : prefixLen > 0 ? prefixLen : 0;
  const full = len >>> 3;
  for (let i = 0; i < full; i++) out[i] = a[i];
  const rem = len & 7;
  if (rem !== 0) out[full] = a[full] & ((0xff << (8 - rem)) & 0xff);
  return out;
}

/** The netmask for a prefix length as 16 bytes. */
export function ipv6Mask(prefixLen: number): Ipv6Addr {
  return ipv6Prefix(new Uint8Array(16).fill(0xff), prefixLen);
}

/** True if `a` and `b` agree on the first `prefixLen` (0..128) bits. */
export function ipv6PrefixMatch(a: Ipv6Addr, b: Ipv6Addr, prefixLen: number): boolean {
  const len = prefixLen > 128 ? 128 : prefixLen > 0 ? prefixLen : 0;
  const full = len >>> 3;
  for (let i = 0; i < full; i++) if (a[i] !== b[i]) return false;
  const rem = len & 7;
  if (rem === 0) return true;
  const m = (0xff << (8 - rem)) & 0xff;
  return (a[full] & m) === (b[full] & m);
}

/** Length of the common prefix of `a` and `b` in bits (RFC 6724 CommonPrefixLen). */
export function ipv6CommonPrefixLen(a: Ipv6Addr, b: Ipv6Addr): number {
  for (let i = 0; i < 16; i++) {
    const x = a[i] ^ b[i];
    if (x !== 0) return i * 8 + (Math.clz32(x) - 24);
  }
  return 128;
}

/** :: (RFC 4291 §2.5.2). */
export function ipv6IsUnspecified(a: Ipv6Addr): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== 0) return false;
  return true;
}
/** ::1 (RFC 4291 §2.5.3). */
export function ipv6IsLoopback(a: Ipv6Addr): boolean {
  for (let i = 0; i < 15; i++) if (a[i] !== 0) return false;
  return a[15] === 1;
}
/** ff00::/8 (RFC 4291 §2.7). */
export function ipv6IsMulticast(a: Ipv6Addr): boolean {
  return a[0] === 0xff;
}
/** Unicast link-local fe80::/10 (RFC 4291 §2.5.6). */
export function ipv6IsLinkLocal(a: Ipv6Addr): boolean {
  return a[0] === 0xfe && (a[1] & 0xc0) === 0x80;
}
/** Link-local scope multicast ff02::/16 (and any ffX2::). */
export function ipv6IsLinkLocalMulticast(a: Ipv6Addr): boolean {
  return a[0] === 0xff && (a[1] & 0x0f) === 0x2;
}
/** The multicast scope nibble (RFC 4291 §2.7: 1 interface, 2 link, 5 site, 8 org, e global),
 *  or -1 for a non-multicast address. */
export function ipv6MulticastScope(a: Ipv6Addr): number {
  return a[0] === 0xff ? a[1] & 0x0f : -1;
}
/** Unique local fc00::/7 (RFC 4193). */
export function ipv6IsUniqueLocal(a: Ipv6Addr): boolean {
  return (a[0] & 0xfe) === 0xfc;
}
/** 2001:db8::/32 (RFC 3849). */
export function ipv6IsDocumentation(a: Ipv6Addr): boolean {
  return a[0] === 0x20 && a[1] === 0x01 && a[2] === 0x0d && a[3] === 0xb8;
}
/** ::ffff:0:0/96 (RFC 4291 §2.5.5.2). */
export function ipv6IsIpv4Mapped(a: Ipv6Addr): boolean {
  for (let i = 0; i < 10; i++) if (a[i] !== 0) return false;
  return a[10] === 0xff && a[11] === 0xff;
}
/** True if `a` is the solicited-node multicast address ff02::1:ffXX:XXXX. */
export function ipv6IsSolicitedNode(a: Ipv6Addr): boolean {
  if (a[0] !== 0xff || a[1] !== 0x02) return false;
  for (let i = 2; i < 11; i++) if (a[i] !== 0) return false;
  return a[11] === 0x01 && a[12] === 0xff;
}

/** ::ffff:a.b.c.d for an IPv4 address. */
export function ipv6FromIpv4Mapped(v4: Ipv4Addr): Ipv6Addr {
  const a = new Uint8Array(16);
  a[10] = 0xff;
  a[11] = 0xff;
  ipv4ToBytes(v4, a, 12);
  return a;
}

/** RFC 4291 §2.7.1: "Solicited-Node multicast address are computed as a function of a node's
 *  unicast and anycast addresses. A Solicited-Node multicast address is formed by taking the
 *  low-order 24 bits of an address (unicast or anycast) and appending those bits to the prefix
 *  FF02:0:0:0:0:1:FF00::/104". */
export function ipv6SolicitedNode(a: Ipv6Addr): Ipv6Addr {
  const out = new Uint8Array(16);
  out[0] = 0xff;
  out[1] = 0x02;
  out[11] = 0x01;
  out[12] = 0xff;
  out[13] = a[13];
  out[14] = a[14];
  out[15] = a[15];
  return out;
}

/** RFC 2464 §7: "An IPv6 packet with a multicast destination address DST, consisting of the
 *  sixteen octets DST[1] through DST[16], is transmitted to the Ethernet multicast address whose
 *  first two octets are the value 3333 hexadecimal and whose last four octets are the last four
 *  octets of DST." */
export function ipv6MulticastMac(a: Ipv6Addr): MacAddr {
  return Uint8Array.of(0x33, 0x33, a[12], a[13], a[14], a[15]);
}

/** Modified EUI-64 interface identifier from a 48-bit MAC (RFC 4291 Appendix A): insert FFFE
 *  between the OUI and the rest, and invert the universal/local bit ("the 'u' bit ... is
 *  inverted"). Returns 8 bytes. */
export function eui64FromMac(mac: MacAddr): Uint8Array {
  return Uint8Array.of(mac[0] ^ 0x02, mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5]);
}

/** fe80::/64 + modified EUI-64 of `mac` (RFC 4862 §5.3, RFC 2464 §5). */
export function ipv6LinkLocalFromMac(mac: MacAddr): Ipv6Addr {
  const a = new Uint8Array(16);
  a[0] = 0xfe;
  a[1] = 0x80;
  a.set(eui64FromMac(mac), 8);
  return a;
}

/** Parses "addr/n" for IPv6. */
export function parseIpv6Cidr(s: string): Ipv6Cidr | null {
  if (typeof s !== 'string') return null;
  const slash = s.indexOf('/');
  if (slash < 0) return null;
  const addr = parseIpv6(s.slice(0, slash));
  const len = parsePrefixLen(s.slice(slash + 1), 128);
  if (addr === null || len === null) return null;
  return { addr, prefixLen: len };
}

/** Parses a CIDR prefix of either family ("192.0.2.0/24", "2001:db8::/32"). */
export function parseCidr(s: string): Cidr | null {
  if (typeof s !== 'string') return null;
  if (s.indexOf(':') >= 0) {
    const c = parseIpv6Cidr(s);
    return c === null ? null : { family: 6, addr: c.addr, prefixLen: c.prefixLen };
  }
  const c = parseIpv4Cidr(s);
  return c === null ? null : { family: 4, addr: c.addr, prefixLen: c.prefixLen };
}

export function formatIpv4Cidr(c: Ipv4Cidr): string {
  return `${formatIpv4(c.addr)}/${c.prefixLen}`;
}
export function formatIpv6Cidr(c: Ipv6Cidr): string {
  return `${formatIpv6(c.addr)}/${c.prefixLen}`;
}

/** Parses either family; IPv4 as a number, IPv6 as bytes. */
export function parseIp(s: string): { family: 4; addr: Ipv4Addr } | { family: 6; addr: Ipv6Addr } | null {
  if (typeof s !== 'string') return null;
  if (s.indexOf(':') >= 0) {
    const a = parseIpv6(s);
    return a === null ? null : { family: 6, addr: a };
  }
  const a = parseIpv4(s);
  return a === null ? null : { family: 4, addr: a };
}

// ---------------------------------------------------------------------------------------------
// MAC

export function macBroadcast(): MacAddr {
  return new Uint8Array(6).fill(0xff);
}
export function macZero(): MacAddr {
  return new Uint8Array(6);
}

/** Parses "aa:bb:cc:dd:ee:ff" (also with '-' separators, either case). */
export function parseMac(s: string): MacAddr | null {
  if (typeof s !== 'string' || s.length !== 17) return null;
  const sep = s.charCodeAt(2);
  if (sep !== 0x3a && sep !== 0x2d) return null;
  const out = new Uint8Array(6);
  for (let i = 0; i < 6; i++) {
    const hi = hexVal(s.charCodeAt(3 * i));
    const lo = hexVal(s.charCodeAt(3 * i + 1));
    if (hi < 0 || lo < 0) return null;
    if (i < 5 && s.charCodeAt(3 * i + 2) !== sep) return null;
    out[i] = (hi << 4) | lo;
  }
  return out;
}

const HEX = '0123456789abcdef';

/** Lowercase, colon-separated. */
export function formatMac(m: MacAddr): string {
  let out = '';
  for (let i = 0; i < 6; i++) {
    if (i > 0) out += ':';
    out += HEX[m[i] >>> 4] + HEX[m[i] & 15];
  }
  return out;
}

export function macEqual(a: MacAddr, b: MacAddr): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3] && a[4] === b[4] && a[5] === b[5];
}
/** Compares 6 bytes of `a` with `b` at `off`. */
export function macEqualAt(a: MacAddr, b: Uint8Array, off: number): boolean {
  return a[0] === b[off] && a[1] === b[off + 1] && a[2] === b[off + 2] &&
    a[3] === b[off + 3] && a[4] === b[off + 4] && a[5] === b[off + 5];
}
/** ff:ff:ff:ff:ff:ff. */
export function macIsBroadcast(m: MacAddr): boolean {
  return (m[0] & m[1] & m[2] & m[3] & m[4] & m[5]) === 0xff;
}
/** Group (I/G) bit set: multicast or broadcast (IEEE 802-2014 §8.2.2). */
export function macIsMulticast(m: MacAddr): boolean {
  return (m[0] & 0x01) !== 0;
}
export function macIsUnicast(m: MacAddr): boolean {
  return (m[0] & 0x01) === 0;
}
/** Locally administered (U/L bit set). */
export function macIsLocal(m: MacAddr): boolean {
  return (m[0] & 0x02) !== 0;
}
