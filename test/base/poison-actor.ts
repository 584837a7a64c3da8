// Test actor: a relay that crashes (throws) on the frame with seq === config.poisonSeq, every
// time it sees it: a poison packet.
import type { ActorContext, ActorCore } from '../../base/actor';
import { checkFrame } from '../../actors/lab/frames';
import { create as createRelay } from '../../actors/lab/relay';

export function create(ctx: ActorContext, config: unknown): ActorCore {
  const poison = (config as { poisonSeq: number }).poisonSeq;
  const relay = createRelay(ctx);
  return {
    onRecord(port, bytes, off, len) {
      if (checkFrame(bytes, off, len, false) === poison) throw new Error(`poison frame ${poison}`);
      return relay.onRecord(port, bytes, off, len);
    },
  };
}
