// Every shared-memory word of Salamander, named in one place (../shared/style.md, point 7).
// All words are Int32 slots of an Int32Array over a SharedArrayBuffer; indices are in words.

/** Ring header (base/ring.ts). Hot words sit on separate 64-byte cache lines so producer and
 *  consumer do not false-share. The data region starts at RING_HEADER_BYTES. */
export const RingWord = {
  /** Producer position in bytes, free-running mod 2^32 (carries the wrap count). Written by the
   *  producer only, with Atomics.store at commit. */
  HEAD: 0,
  /** Consumer position in bytes, free-running mod 2^32. Written by the consumer only, at release. */
  TAIL: 16,
  /** Embedded consumer doorbell: sequence word, then "consumer sleeping" flag at +1. Used when
   *  the ring is not wired to an actor's own bell. */
  CONSUMER_BELL: 32,
  /** Embedded producer doorbell (a producer waiting for space sleeps on it). */
  PRODUCER_BELL: 48,
  /** Constant: RING_MAGIC once initialised. */
  MAGIC: 64,
  /** Constant: capacity of the data region in bytes (a power of two). */
  CAPACITY: 65,
  /** Count of records the consumer rejected as corrupt (bad length or boundary). */
  CORRUPT: 66,
  /** Count of times a producer found the ring full (back-pressure events). */
  FULL: 67,
  /** Total records committed (producer) and released (consumer); for counters and `ctl top`. */
  COMMITTED: 68,
  RELEASED: 80,
  /** Fault injection (Supervisor.corruptRing): a pending request to damage the next batch the
   *  producer publishes (1 = bad length word, 2 = one flipped payload bit; 0 = none), the seed
   *  that picks what to damage, and how many requests the producer has applied. The producer
   *  applies a request to a record it has committed but not yet published, so no reader can be
   *  holding that record: this is corruption in transit, never a write into memory a reader is
   *  using. Set by the supervisor, cleared by the producer. */
  CORRUPT_REQ: 96,
  CORRUPT_SEED: 97,
  CORRUPT_APPLIED: 98,
} as const;
/** Values of RingWord.CORRUPT_REQ. */
export const enum CorruptMode {
  NONE = 0,
  LENGTH = 1,
  PAYLOAD = 2,
}
export const RING_HEADER_BYTES = 512;
export const RING_MAGIC = 0x52494e47; // "RING"
/** Record header: one u32 length word before each record's payload. */
export const RECORD_HEADER_BYTES = 4;
/** Length value of a padding record that tells the consumer to skip to the start of the data. */
export const RECORD_WRAP = 0xffffffff;

/** A doorbell is two words: the sequence (bumped and notified by ringers) and the sleeping flag
 *  (set by the one sleeper before it re-checks its inputs and waits). */
export const BellWord = { SEQ: 0, SLEEPING: 1 } as const;

/** Per-actor control block: one SharedArrayBuffer per actor role, owned by the supervisor and
 *  handed to each incarnation of the role, so it outlives any one worker. */
export const ActorWord = {
  /** The actor's inbound doorbell (rings from every input ring and from control messages). */
  BELL: 0, // +1 = sleeping flag
  /** Bumped by the shell on every loop iteration; the supervisor's hang detector reads it. */
  HEARTBEAT: 16,
  /** ActorState value, written by the shell. */
  STATE: 17,
  /** Set to 1 by the supervisor after posting a control message, so a sleeping shell returns to
   *  its event loop to read the port. Cleared by the shell. */
  CONTROL: 18,
  /** 1 while the shell is inside a work batch (not sleeping); the hang detector only accuses an
   *  actor that is busy or has pending input. */
  BUSY: 19,
  /** Incarnation number of the worker currently holding the role. */
  INCARNATION: 20,
  /** Monotonic ms (low 31 bits) when the current work batch began; for hang diagnosis. */
  BATCH_START: 21,
  /** Linux thread id of the worker holding the role (-1 if unknown): the hang detector reads
   *  its CPU time from /proc to tell a spinning actor from one starved of CPU. */
  TID: 22,
  /** Poison-input tracking (base/runner.ts): the input record being handled right now, as a
   *  port tag (hash of the port name, never 0; 0 = none) and the record's ring position. A new
   *  incarnation that finds these set knows its predecessor died inside that record. */
  INPROG_PORT: 23,
  INPROG_POS: 24,
  /** The record suspected of killing the role, and how many incarnations died on it. */
  SUSPECT_PORT: 25,
  SUSPECT_POS: 26,
  STRIKES: 27,
} as const;
/** Counters are Float64 slots (single writer: the actor; exact up to 2^53) starting at this byte
 *  offset of the actor block, so a counter keeps counting across restarts of the role. */
export const COUNTERS_BYTE_OFFSET = 128;
export const COUNTER_SLOTS = 96;
export const ACTOR_BLOCK_BYTES = COUNTERS_BYTE_OFFSET + COUNTER_SLOTS * 8;

export const enum ActorState {
  STARTING = 0,
  READY = 1,
  RUNNING = 2,
  STOPPING = 3,
  STOPPED = 4,
}
