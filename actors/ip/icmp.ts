// ICMPv4 policy for the IP actor: when an error may be sent, how fast, and how echo requests are
// answered. Wire formats are protocol/icmpv4.ts; this file decides. Follows RFC 792, RFC 1122
// §3.2.2 (host ICMP rules) and RFC 1812 §4.3.2 (router ICMP rules, rate limiting).

import { Ipv4Header } from '../../protocol/ipv4';
import { icmpv4ErrorAllowed } from '../../protocol/icmpv4';

/** A token bucket. RFC 1812 §4.3.2.8: "A router which sends ICMP Source Quench messages MUST be
 *  able to limit the rate at which the messages can be generated. A router SHOULD also be able
 *  to limit the rate at which it sends other sorts of ICMP error messages". RFC 1122 §3.2.2 asks
 *  the same of hosts for some errors. We limit every error type with one bucket (echo replies
 *  are not errors and are not limited). Defaults: 100 per second, burst 50. Refilled lazily from
 *  `now`, so it needs no timer. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(private readonly perSecond: number, private readonly burst: number, now: number) {
    this.tokens = burst;
    this.last = now;
  }

  take(now: number): boolean {
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.perSecond) / 1000);
      this.last = now;
    }
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }
}

export const DEFAULT_ICMP_RATE = { perSecond: 100, burst: 50 };

/** Whether an ICMP error may be sent about a received datagram (RFC 1122 §3.2.2, quoted in
 *  protocol/icmpv4.ts icmpv4ErrorAllowed: never about an ICMP error, a broadcast or multicast
 *  (IP or link layer), a non-initial fragment, or a source that is not a single host). */
export function errorAllowed(ip: Ipv4Header, firstPayloadByte: number, linkBroadcast: boolean, dstIsBroadcast: boolean): boolean {
  return icmpv4ErrorAllowed(ip, firstPayloadByte, linkBroadcast, dstIsBroadcast);
}
