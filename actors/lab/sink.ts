// Lab actor: consumes self-checking frames on input "in" and counts what a lossless pipeline
// must never show: corrupt (torn) frames, duplicates, gaps and reordering. The expected next
// seq is committed crash-atomically after every record, before the ring releases it, so a
// restarted sink carries on exactly: records re-delivered because the previous incarnation
// died between handling and release are counted as `redelivered`, never as duplicates or gaps.
// Config: { full?: boolean } (check every payload byte; default true).

import type { ActorContext, ActorCore } from '../../base/actor';
import { CommittedRecords } from '../../base/committed';
import { checkFrame } from './frames';

export function create(ctx: ActorContext, config: unknown): ActorCore {
  const full = (config as { full?: boolean } | undefined)?.full ?? true;
  const region = ctx.shared.state;
  if (!region) throw new Error('sink actor needs a shared region "state"');
  // Committed together: [expected seq, frames in, bytes in, gap frames]. The counters mirror
  // them (set, not added) so they are exact across restarts of the sink.
  const rec = new CommittedRecords(region, 1, 4);
  let expect = rec.get(0, 0);
  let framesIn = rec.get(0, 1);
  let bytesIn = rec.get(0, 2);
  let gaps = rec.get(0, 3);
  // After a restart, records below `expect` seen before the first new one are re-deliveries.
  let replaying = ctx.incarnation > 0;
  const c = ctx.counters;
  const sOk = c.slot('framesIn');
  const sBytes = c.slot('bytesIn');
  const sCorrupt = c.slot('corrupt');
  const sDup = c.slot('duplicate');
  const sGap = c.slot('gap');
  const sRedelivered = c.slot('redelivered');
  const draft = [0, 0, 0, 0];
  const mirror = (): void => {
    c.setSlot(sOk, framesIn);
    c.setSlot(sBytes, bytesIn);
    c.setSlot(sGap, gaps);
  };
  mirror();
  return {
    onRecord(_port, bytes, off, len) {
      const seq = checkFrame(bytes, off, len, full);
      if (seq < 0) {
        c.addSlot(sCorrupt);
        return;
      }
      if (seq < expect) {
        c.addSlot(replaying ? sRedelivered : sDup);
        mirror();
        return;
      }
      replaying = false;
      if (seq > expect) gaps += seq - expect;
      expect = seq + 1;
      framesIn++;
      bytesIn += len;
      draft[0] = expect;
      draft[1] = framesIn;
      draft[2] = bytesIn;
      draft[3] = gaps;
      rec.commit(0, draft);
      mirror();
    },
    control(op) {
      if (op === 'expect') return expect;
      if (op === 'stats') return { expect, framesIn, bytesIn, gaps };
      return undefined;
    },
  };
}
