// Lab actor: forwards every record from input "in" to output "out" unchanged, with
// back-pressure (a full output leaves the record in the input ring). Stands for a protocol
// layer in demos, tests and the ring benchmark's A -> B -> C chain. Config `busyUsPerRecord`
// makes it a slow layer: it burns that much CPU on every record (long batches without a loop
// turn, for the hang detector's tests).

import type { ActorContext, ActorCore } from '../../base/actor';

export function create(ctx: ActorContext, config?: { busyUsPerRecord?: number }): ActorCore {
  const fwd = ctx.counters.slot('forwarded');
  const busyMs = Math.max(0, Number(config?.busyUsPerRecord ?? 0)) / 1000;
  return {
    onRecord(_port, bytes, off, len) {
      if (busyMs > 0) for (const end = performance.now() + busyMs; performance.now() < end; );
      const out = ctx.out('out');
      if (!out) {
        ctx.counters.add('droppedNoOutput');
        return;
      }
      const at = out.tryReserve(len);
      if (at < 0) return false; // full: keep it in our input until the consumer catches up
      out.bytes.set(bytes.subarray(off, off + len), at);
      out.commit(len, false);
      ctx.counters.addSlot(fwd);
      return true;
    },
  };
}
