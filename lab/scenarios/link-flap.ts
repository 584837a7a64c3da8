// Scenario: two inline stacks joined by TWO wires, w0 (10.0.0.0/24) and w1 (10.0.1.0/24). Each
// stack routes the other's w0 subnet through w1 as a backup (same prefix, metric 10, via the
// peer's w1 address), so while w0 is up its connected route (metric 0) wins. One connection
// 10.0.0.1 -> 10.0.0.2 moves a bulk transfer both ways while w0 goes down (both ends, as
// Stack.setLinkState does: NIC admin down + IP interface down) at seeded points of the transfer,
// stays down a seeded time (traffic re-routes over w1, ARP for the gateway first), and comes back
// (traffic returns to w0), 1-3 times. Passes when the transfer arrives intact with no reset and
// traffic really crossed w1.

import { SeededRandom } from '../../base/clock';
import { InlineNet, Transfer } from '../inline-stack';
import type { Scenario } from '../scenario';

export function flapNet(seed: number, impair?: { loss?: number; delayMs?: number }): InlineNet {
  const tcp = { maxConns: 8, sendBufBytes: 1 << 17, recvBufBytes: 1 << 17 };
  return new InlineNet({
    seed,
    stacks: [
      { name: 'a', links: [{ name: 'w0', addresses: ['10.0.0.1/24'] }, { name: 'w1', addresses: ['10.0.1.1/24'] }], routes: [{ dest: '10.0.0.0/24', gateway: '10.0.1.2', metric: 10 }], tcp },
      { name: 'b', links: [{ name: 'w0', addresses: ['10.0.0.2/24'] }, { name: 'w1', addresses: ['10.0.1.2/24'] }], routes: [{ dest: '10.0.0.0/24', gateway: '10.0.1.1', metric: 10 }], tcp },
    ],
    wires: [
      { a: 'a:w0', b: 'b:w0', impair },
      { a: 'a:w1', b: 'b:w1', impair },
    ],
  });
}

export const scenario: Scenario = {
  name: 'link-flap',
  description: 'a connection survives its link going down (re-route over a second link) and coming back; pass = intact, no reset',
  run(seed) {
    const rnd = new SeededRandom(seed ^ 0x1b873593);
    const net = flapNet(seed, { loss: rnd.next() * 0.005, delayMs: rnd.u32() % 3 });
    const bytes = (128 + (rnd.u32() % 384)) * 1024;
    const bytesBack = (128 + (rnd.u32() % 384)) * 1024;
    const flaps = 1 + (rnd.u32() % 3);
    // Flap i: w0 goes down once b has received at[i] bytes from a, and comes back after at least
    // downMs[i] of fake time AND viaBytes[i] more bytes (so traffic really moved over w1).
    const slot = Math.floor((bytes * 0.9) / flaps);
    const at: number[] = [];
    const viaBytes: number[] = [];
    for (let i = 0; i < flaps; i++) {
      viaBytes.push(Math.floor(slot * (0.2 + rnd.next() * 0.3)));
      at.push(i * slot + Math.floor(rnd.next() * (slot - viaBytes[i]) * 0.5));
    }
    const downMs: number[] = at.map(() => 10 + (rnd.u32() % 2000));
    const lid = net.tcp('b').listen(null, 5001, 16);
    const cid = net.tcp('a').connect(0x0a000001, 0x0a000002, 5001);
    const t = new Transfer(net, { stack: 'a', id: cid }, { stack: 'b', id: -1, listener: lid }, bytes, bytesBack, seed);
    let next = 0;
    let down = false;
    let upAt = 0;
    let upBytes = 0;
    let w1Before = 0;
    const w1Frames = (): number => (net.counters('a:nic:w1')['nic.tx.frames'] ?? 0) + (net.counters('b:nic:w1')['nic.tx.frames'] ?? 0);
    net.onStep = () => {
      if (down && (net.now() >= upAt || t.sides[1].received >= upBytes)) {
        net.setLinkState('a', 'w0', true);
        net.setLinkState('b', 'w0', true);
        down = false;
      } else if (!down && next < flaps && t.sides[1].received >= at[next]) {
        net.setLinkState('a', 'w0', false);
        net.setLinkState('b', 'w0', false);
        down = true;
        upAt = net.now() + downMs[next];
        upBytes = Math.min(bytes, t.sides[1].received + viaBytes[next]);
        next++;
      }
    };
    w1Before = w1Frames();
    const r = t.runToEnd(3_600_000);
    const viaW1 = w1Frames() - w1Before;
    const pass = r.intact && r.done && r.resets === 0 && next === flaps && !down && viaW1 > 0;
    return {
      pass,
      summary: `${bytes} + ${bytesBack} B, ${next}/${flaps} flaps of w0 (${downMs.slice(0, next).join('/')} ms), ${viaW1} frames via w1: ${r.intact ? 'intact' : 'NOT intact'}, ${Math.round(r.fakeMs)} fake ms`,
      metrics: { bytes: r.bytes[0] + r.bytes[1], flaps: next, viaW1, retransmits: r.retransmits, fakeMs: Math.round(r.fakeMs), resets: r.resets },
      failure: pass ? undefined : `flaps ${next}/${flaps}, via w1 ${viaW1}, intact ${r.intact}, done ${r.done}, resets ${r.resets}, bytes ${r.bytes.join('/')} of ${r.expected.join('/')}, errors ${r.errors.join('; ')}`,
    };
  },
};
