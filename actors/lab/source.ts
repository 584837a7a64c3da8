// Lab actor: emits self-checking frames on output "out" as fast as the ring takes them, exactly
// once across restarts. Progress is kept in a crash-atomic record (base/committed.ts) holding
// (next seq, ring HEAD after that batch): after a crash, if the ring's HEAD equals the stored
// position the batch was published, otherwise it was not and is sent again. Config:
// { size: bytes per frame, count: frames in all (Infinity = endless), batch?: frames per step }.

import type { ActorContext, ActorCore } from '../../base/actor';
import { CommittedRecords } from '../../base/committed';
import { writeFrame, FRAME_HEADER } from './frames';

export interface SourceConfig {
  size: number;
  count?: number;
  batch?: number;
}

const F_NEXT = 0;
const F_HEAD = 1;
const F_PREV = 2;

export function create(ctx: ActorContext, config: unknown): ActorCore {
  const cfg = config as SourceConfig;
  const size = Math.max(FRAME_HEADER, cfg.size | 0);
  const count = cfg.count ?? Infinity;
  const batch = cfg.batch ?? 64;
  const region = ctx.shared.state;
  if (!region) throw new Error('source actor needs a shared region "state"');
  const rec = new CommittedRecords(region, 1, 3);
  const sent = ctx.counters.slot('framesOut');

  // Recover: was the last recorded batch published before the previous incarnation died?
  let next = rec.get(0, F_NEXT);
  const out0 = ctx.out('out');
  if (out0 && next > 0 && out0.head !== rec.get(0, F_HEAD) >>> 0) next = rec.get(0, F_PREV);

  return {
    onRecord() {
      /* no inputs */
    },
    poll(): boolean {
      const out = ctx.out('out');
      if (!out || next >= count) return false;
      const prev = next;
      let n = 0;
      while (n < batch && next < count) {
        const at = out.tryReserve(size);
        if (at < 0) break;
        writeFrame(out.bytes, at, size, next);
        out.commit(size, false);
        next++;
        n++;
      }
      if (n === 0) return false;
      rec.commit(0, [next, out.pendingHead, prev]);
      out.publish();
      ctx.counters.addSlot(sent, n);
      return true;
    },
    control(op) {
      if (op === 'progress') return { next, count };
      return undefined;
    },
  };
}
