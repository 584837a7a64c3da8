// Counters of the IP actor. The role's shared counter block has 96 slots (base/layout.ts): the
// first names used get slots there (kept across restarts, readable by the supervisor without an
// RPC); with both families, ND, MLD and every drop reason there are more names than slots, so
// once the block is nearly full further names are counted in the actor itself. `status` shows
// both, merged; nothing is ever lost in the shared block's overflow bucket.

import type { Counters } from '../../base/actor';
import { COUNTER_SLOTS } from '../../base/layout';

/** Slots left free in the shared block for anything else the runner may register. */
const RESERVED = 4;

export class IpCounters {
  private readonly local = new Map<string, number>();
  private readonly slot = new Map<string, number>();
  private used: number;

  constructor(private readonly shared: Counters) {
    const snap = shared.snapshot();
    this.used = Object.keys(snap).length;
    for (const name of Object.keys(snap)) this.slot.set(name, shared.slot(name));
  }

  add(name: string, n = 1): void {
    let s = this.slot.get(name);
    if (s === undefined) {
      if (this.used < COUNTER_SLOTS - RESERVED) {
        s = this.shared.slot(name);
        this.used++;
      } else s = -1;
      this.slot.set(name, s);
    }
    if (s >= 0) this.shared.addSlot(s, n);
    else this.local.set(name, (this.local.get(name) ?? 0) + n);
  }

  get(name: string): number {
    const s = this.slot.get(name);
    if (s === undefined) return 0;
    return s >= 0 ? this.shared.get(name) : this.local.get(name) ?? 0;
  }

  snapshot(): Record<string, number> {
    const o = this.shared.snapshot();
    for (const [k, v] of this.local) o[k] = v;
    return o;
  }
}
