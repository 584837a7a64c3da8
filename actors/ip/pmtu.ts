// The path MTU cache of the IP actor: one entry per destination, for both families, learned from
// ICMPv6 Packet Too Big (RFC 8201) and ICMPv4 Fragmentation Needed (RFC 1191), used to size and
// fragment what this stack sends, and reported to the transports (the ICMP error record they
// already receive carries the MTU; the `pmtu` control op and `status.pmtu` show the cache).
//
// RFC 8201 §4: "When a node receives a Packet Too Big message, it MUST reduce its estimate of
// the PMTU for the relevant path, based on the value of the MTU field in the message." "A node
// MUST NOT reduce its estimate of the Path MTU below the IPv6 minimum link MTU." §5.3: "An
// upper limit on the PMTU increase is ... 10 minutes (recommended)": entries expire 10 minutes
// after the last decrease, after which the first-hop MTU is tried again (RFC 1191 §6.3 says
// the same for IPv4: "the timeout SHOULD be set to 10 minutes").
// RFC 1191 §5: "A host MUST never reduce its estimate of the Path MTU below 68 octets." An old
// router's Fragmentation Needed with a zero MTU field (RFC 1191 §5) uses the plateau below the
// datagram's length (RFC 1191 §7's table).

export const PMTU_EXPIRY_MS = 10 * 60 * 1000;
const MAX_ENTRIES = 1024;
/** RFC 1191 §7 plateau table (descending). */
const PLATEAUS = [65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68];

export interface PmtuEntry {
  mtu: number;
  expires: number;
}

export class PmtuCache {
  private readonly entries = new Map<string, PmtuEntry>();

  get size(): number {
    return this.entries.size;
  }

  /** The path MTU toward `key` (a formatted address), or `linkMtu` when none is cached. */
  get(key: string, linkMtu: number, now: number): number {
    const e = this.entries.get(key);
    if (e === undefined) return linkMtu;
    if (e.expires <= now) {
      this.entries.delete(key);
      return linkMtu;
    }
    return e.mtu < linkMtu ? e.mtu : linkMtu;
  }

  /** Records a smaller path MTU (larger values are ignored, RFC 8201 §4: "a node MUST NOT
   *  increase its estimate of the Path MTU in response to the contents of a Packet Too Big
   *  message"). Returns the value now in the cache, or -1 if nothing changed. */
  update(key: string, mtu: number, min: number, now: number): number {
    const v = mtu < min ? min : mtu;
    const e = this.entries.get(key);
    if (e !== undefined && e.expires > now && e.mtu <= v) return -1;
    if (e === undefined && this.entries.size >= MAX_ENTRIES) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.delete(key);
    this.entries.set(key, { mtu: v, expires: now + PMTU_EXPIRY_MS });
    return v;
  }

  /** RFC 1191 §5: the plateau below `len` for a Fragmentation Needed without an MTU. */
  static plateauBelow(len: number): number {
    for (const p of PLATEAUS) if (p < len) return p;
    return 68;
  }

  status(now: number): object[] {
    const out: object[] = [];
    for (const [k, e] of this.entries) if (e.expires > now) out.push({ dst: k, mtu: e.mtu, expiresInSec: Math.round((e.expires - now) / 1000) });
    return out;
  }
}
