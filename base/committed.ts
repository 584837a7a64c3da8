// Crash-atomic records in shared memory: a crash at any instruction leaves either the old or
// the new version of a record, never a mix. Each record has two slots and a selector word; a
// writer fills the inactive slot, then flips the selector with one Atomics.store. A reader
// (or the next incarnation after a crash) reads the slot the selector names.
// This is the primitive behind state that must survive an actor restart (the design's
// "two slots and an atomically flipped index").

export class CommittedRecords {
  private readonly sel: Int32Array;
  private readonly slots: Float64Array;
  /** Scratch for the slot being written (not yet visible). */
  readonly draft: Float64Array;

  /** Bytes needed for `count` records of `fields` Float64 fields each. */
  static bytes(count: number, fields: number): number {
    const selBytes = Math.ceil((count * 4) / 8) * 8;
    return selBytes + count * 2 * fields * 8;
  }

  constructor(buffer: SharedArrayBuffer, readonly count: number, readonly fields: number, byteOffset = 0) {
    const selBytes = Math.ceil((count * 4) / 8) * 8;
    this.sel = new Int32Array(buffer, byteOffset, count);
    this.slots = new Float64Array(buffer, byteOffset + selBytes, count * 2 * fields);
    this.draft = new Float64Array(fields);
  }

  /** Offset into `slots` of the committed version of record i. */
  private committedBase(i: number): number {
    return (i * 2 + (Atomics.load(this.sel, i) & 1)) * this.fields;
  }

  /** Copies every field of one committed version of record i into `out` (the selector is read
   *  once, so a concurrent reader gets one consistent version unless the writer commits twice
   *  while it copies; readers that must be exact re-check with version()). */
  read(i: number, out: Float64Array | number[]): void {
    const b = this.committedBase(i);
    for (let f = 0; f < this.fields; f++) out[f] = this.slots[b + f];
  }

  /** Reads field f of the committed version of record i (one field; for several fields of
   *  one version use read()). */
  get(i: number, f: number): number {
    return this.slots[this.committedBase(i) + f];
  }

  /** Copies the committed version of record i into `draft` (to modify and commit). */
  load(i: number): Float64Array {
    const b = this.committedBase(i);
    for (let f = 0; f < this.fields; f++) this.draft[f] = this.slots[b + f];
    return this.draft;
  }

  /** Writes `draft` into the inactive slot of record i and flips the selector. */
  commit(i: number, values: ArrayLike<number> = this.draft): void {
    const cur = Atomics.load(this.sel, i) & 1;
    const b = (i * 2 + (cur ^ 1)) * this.fields;
    for (let f = 0; f < this.fields; f++) this.slots[b + f] = values[f];
    Atomics.store(this.sel, i, cur ^ 1); // the commit point
  }
}
