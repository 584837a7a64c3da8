// The application's end of the pipeline, on the main thread. The app is not an actor (it has
// no worker), but it talks to the transport actors the same way actors talk to each other: a
// ring per direction per transport, in SharedArrayBuffer. The main thread must never block, so
// the AppPort sleeps with Atomics.waitAsync on one bell shared by all its inbound rings (the
// design's "one doorbell per stack"), drains every inbound ring on a wake-up, and hands each
// record to the handler registered for that transport.

import { Bell } from '../base/bell';
import { createRing, RingReader, RingWriter, RingDescriptor, RecordHandler } from '../base/ring';
import type { Supervisor } from '../supervisor/supervisor';

/** Records drained per inbound ring before yielding to the event loop. */
const BATCH = 512;

export class AppPort {
  readonly bell = Bell.create();
  private readonly inbound = new Map<string, { reader: RingReader; handler: RecordHandler }>();
  private readonly outbound = new Map<string, RingWriter>();
  private running = false;
  private pumping: Promise<void> | null = null;
  /** Keeps the process alive while sockets are open (Node semantics); see ref()/unref(). */
  private refs = 0;
  private keepAlive: NodeJS.Timeout | null = null;

  /** Creates the ring pair between the app and `actor` (its port "app") and binds both ends:
   *  our handler for records from the actor, a writer for records to it. */
  async connect(sup: Supervisor, actor: string, handler: RecordHandler, capacity = 4 << 20): Promise<void> {
    const actorBell = sup.bellOf(actor);
    const toActor: RingDescriptor = { buffer: createRing(capacity).buffer, producerBell: this.bell.desc, consumerBell: actorBell };
    const fromActor: RingDescriptor = { buffer: createRing(capacity).buffer, producerBell: actorBell, consumerBell: this.bell.desc };
    this.inbound.set(actor, { reader: new RingReader(fromActor), handler });
    this.outbound.set(actor, new RingWriter(toActor));
    await sup.attachExternal(`${actor}.app`, 'in', toActor);
    await sup.attachExternal(`${actor}.app`, 'out', fromActor);
    this.start();
  }

  writer(actor: string): RingWriter {
    const w = this.outbound.get(actor);
    if (!w) throw new Error(`app port is not connected to "${actor}"`);
    return w;
  }

  /** Copies one record to `actor`, waiting (without blocking the event loop) for space. */
  async send(actor: string, rec: Uint8Array, timeoutMs = 30000): Promise<boolean> {
    const w = this.writer(actor);
    const at = await w.reserveAsync(rec.length, timeoutMs);
    if (at < 0) return false;
    w.bytes.set(rec, at);
    w.commit(rec.length);
    return true;
  }

  /** Tries to copy one record without waiting. */
  trySend(actor: string, rec: Uint8Array): boolean {
    return this.writer(actor).write(rec);
  }

  ref(): void {
    if (this.refs++ === 0) this.keepAlive = setInterval(() => undefined, 1 << 30);
  }

  unref(): void {
    if (this.refs > 0 && --this.refs === 0 && this.keepAlive) {
      clearInterval(this.keepAlive);
      this.keepAlive = null;
    }
  }

  private start(): void {
    if (this.running) return;
    this.running = true;
    this.pumping = this.pump();
  }

  /** Drains every inbound ring; returns true if any record was handled. */
  drainOnce(): boolean {
    let any = false;
    for (const { reader, handler } of this.inbound.values()) if (reader.drain(handler, BATCH) > 0) any = true;
    return any;
  }

  private hasData(): boolean {
    for (const { reader } of this.inbound.values()) if (reader.hasData()) return true;
    return false;
  }

  private async pump(): Promise<void> {
    while (this.running) {
      if (this.drainOnce()) {
        // Busy: let timers, I/O and user callbacks run between batches.
        await new Promise((r) => setImmediate(r));
        continue;
      }
      const seq = this.bell.prepare();
      if (this.hasData()) {
        this.bell.cancel();
        continue;
      }
      // waitAsync does not keep the process alive by itself; the 1 s cap bounds a lost wake-up.
      await this.bell.waitAsync(seq, 1000);
    }
  }

  async close(): Promise<void> {
    this.running = false;
    this.bell.ringAlways();
    await this.pumping;
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.keepAlive = null;
    this.refs = 0;
  }
}
