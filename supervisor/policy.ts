// Restart intensity bookkeeping in the spirit of Erlang/OTP supervisors: a role may restart at
// most `intensity` times within `periodMs`; the next failure inside the window escalates.
// Back-off grows with the number of restarts inside the window.

import { DEFAULT_RESTART_POLICY, RestartPolicy } from '../base/types';

export function resolvePolicy(p?: Partial<RestartPolicy>): RestartPolicy {
  const r = { ...DEFAULT_RESTART_POLICY, ...(p ?? {}) };
  if (!Number.isInteger(r.intensity) || r.intensity < 0) throw new Error(`restart intensity must be an integer >= 0, got ${r.intensity}`);
  if (!(r.periodMs > 0)) throw new Error(`restart period must be > 0 ms, got ${r.periodMs}`);
  if (!Array.isArray(r.backoffMs) || r.backoffMs.length === 0) throw new Error('restart backoffMs must be a non-empty array');
  if (r.strategy !== 'one_for_one' && r.strategy !== 'rest_for_one') throw new Error(`unknown restart strategy "${r.strategy}"`);
  return r;
}

export class RestartHistory {
  private times: number[] = [];
  constructor(readonly policy: RestartPolicy) {}

  /** Records a failure at `now`. Returns the back-off before restarting, or -1 to escalate. */
  onFailure(now: number): number {
    this.times = this.times.filter((t) => now - t < this.policy.periodMs);
    if (this.times.length >= this.policy.intensity) return -1;
    const k = this.times.length;
    this.times.push(now);
    const b = this.policy.backoffMs;
    return b[Math.min(k, b.length - 1)];
  }

  get recent(): number {
    return this.times.length;
  }
}
