// The campaign's checked traffic (bench/traffic.ts) must end even when a connection does not:
// stop() gives up on a stream that neither ends nor fails within its bound, records it as
// stalled with the phase it was in, lets the caller look first, then destroys it. Fake sockets
// here; the bound is 0 ms, so nothing waits on the clock.

import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import { CheckedTraffic, DgramLike, NetLike } from '../../bench/traffic';

class FakeSock extends EventEmitter {
  destroyed = false;
  ended = false;
  written = 0;
  constructor(
    private readonly drains: boolean,
    connects: boolean,
  ) {
    super();
    if (connects) process.nextTick(() => this.emit('connect'));
  }
  /** Every write fills the buffer; a healthy socket drains it at the next turn of the event loop, a stalled one never. */
  write(b: Buffer): boolean {
    this.written += b.length;
    if (this.drains) setImmediate(() => this.emit('drain'));
    return false;
  }
  end(): void {
    this.ended = true;
    // A healthy peer answers our FIN with its own: the socket closes.
    if (this.drains) process.nextTick(() => this.emit('close'));
  }
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    process.nextTick(() => this.emit('close'));
  }
  resume(): this {
    return this;
  }
}

function fakes(drains: boolean, connects = true): { net: NetLike; dgram: DgramLike; socks: FakeSock[] } {
  const socks: FakeSock[] = [];
  const net = {
    createServer: () => ({ listen: (_p: number, _h: string, cb: () => void) => cb(), close: () => undefined, on: () => undefined }),
    connect: () => {
      const s = new FakeSock(drains, connects);
      socks.push(s);
      return s;
    },
  } as unknown as NetLike;
  const dgram = {
    createSocket: () => Object.assign(new EventEmitter(), { bind: (_p: number, _h: string, cb: () => void) => cb(), send: () => undefined, close: () => undefined }),
  } as unknown as DgramLike;
  return { net, dgram, socks };
}

const ticks = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

describe('lab: checked traffic for the fault campaign', () => {
  it('stop() reports a stream that never drains as stalled, lets the caller look first, then destroys it', async () => {
    const { net, dgram, socks } = fakes(false);
    const t = new CheckedTraffic(net, dgram);
    await t.start('192.0.2.1', '192.0.2.2', 2, 100);
    await ticks(5);
    expect(socks).to.have.length(2);
    expect(socks.every((s) => s.written > 0)).to.equal(true);
    let destroyedWhenAsked: boolean[] = [];
    const ok = await t.stop(0, async () => {
      destroyedWhenAsked = socks.map((s) => s.destroyed);
    });
    expect(ok).to.equal(false);
    expect(destroyedWhenAsked).to.deep.equal([false, false]);
    expect(socks.every((s) => s.destroyed)).to.equal(true);
    expect(t.s.tcpOut.stalled).to.deep.equal({ 100: 'sending', 101: 'sending' });
    await ticks(5);
    // Given up on: neither ended nor counted as a failure.
    expect(t.s.tcpOut.ended).to.equal(0);
    expect(t.s.tcpOut.errors).to.equal(0);
  });

  it('stop() ends healthy streams and reports none stalled', async () => {
    const { net, dgram, socks } = fakes(true);
    const t = new CheckedTraffic(net, dgram);
    await t.start('192.0.2.1', '192.0.2.2', 2, 100);
    await ticks(5);
    let asked = false;
    const ok = await t.stop(60_000, async () => {
      asked = true;
    });
    expect(ok).to.equal(true);
    expect(asked).to.equal(false);
    expect(socks.every((s) => s.ended && !s.destroyed)).to.equal(true);
    expect(t.s.tcpOut.ended).to.equal(2);
    expect(t.s.tcpOut.stalled).to.deep.equal({});
  });

  it('a stream still connecting when stop() gives up is reported as such', async () => {
    const { net, dgram, socks } = fakes(false, false); // a SYN never answered
    const t = new CheckedTraffic(net, dgram);
    await t.start('192.0.2.1', '192.0.2.2', 1, 7);
    const ok = await t.stop(0);
    expect(ok).to.equal(false);
    expect(t.s.tcpOut.stalled).to.deep.equal({ 7: 'connecting' });
    expect(socks[0].destroyed).to.equal(true);
  });
});
