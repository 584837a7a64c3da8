// Test actor: never takes a record from its input (a consumer that stopped), so the ring
// feeding it stays full.
import type { ActorCore } from '../../base/actor';

export function create(): ActorCore {
  return {
    onRecord() {
      return false;
    },
  };
}
