// Resilience contract, part 1 (docs/resilience.md), inline: two whole stacks (IP, NICs, TCP in one
// InlinePipeline on a fake clock, lab/inline-stack.ts) move a bulk transfer both ways over one
// connection while the network is reconfigured under it, the way api/stack.ts does it (control
// ops on the IP / NIC actors, then setAddresses on TCP). Every run must arrive intact (SHA-256
// of every byte each way) with zero resets, over a few seeds; the permanent address removal
// must fail the connection with EADDRNOTAVAIL after exactly the grace period, and not before.

import { expect } from 'chai';
import { InlineNet, Transfer, TransferResult, connectPair, twoStacks, addrOf } from '../../lab/inline-stack';
import { flapNet } from '../../lab/scenarios/link-flap';

const SEEDS = [1, 2, 3];
/** Seed 1: a clean wire; others: a delay of seed - 1 ms each way. No random loss: with 0.2% loss
 *  the stack's known slow-recovery bug (a 384 KiB transfer takes 100 s of fake time on some seeds
 *  even without any change, and (a) seed 3 then ends in ETIMEDOUT) would be tested, not
 *  reconfiguration. The only losses here are the ones the changes cause. */
const impairOf = (seed: number): { delayMs: number } | undefined => (seed === 1 ? undefined : { delayMs: seed - 1 });
const BYTES = 384 * 1024;

/** Address changes as Stack.addAddress / removeAddress make them: IP first, then TCP learns the
 *  stack's address list. `lists` holds each stack's CIDRs. */
class Addrs {
  constructor(private readonly net: InlineNet, readonly lists: Record<string, string[]>) {}
  remove(stack: string, iface: string, cidr: string): void {
    this.net.pipeline.control(`${stack}:ip`, 'removeAddress', { iface, address: cidr });
    this.lists[stack] = this.lists[stack].filter((a) => a !== cidr);
    this.net.pipeline.control(`${stack}:tcp`, 'setAddresses', { addresses: this.lists[stack] });
  }
  add(stack: string, iface: string, cidr: string): void {
    this.net.pipeline.control(`${stack}:ip`, 'addAddress', { iface, address: cidr });
    this.lists[stack] = [...this.lists[stack], cidr];
    this.net.pipeline.control(`${stack}:tcp`, 'setAddresses', { addresses: this.lists[stack] });
  }
}

/** A change applied once b has received `atBytes` from a, undone after `holdMs` of fake time
 *  (or, with `untilBytes`, as soon as b has received that many more bytes: for changes that do
 *  not stall the transfer, so it cannot finish before the undo). */
interface Change {
  atBytes: number;
  holdMs: number;
  untilBytes?: number;
  apply: () => void;
  undo: () => void;
}

/** Runs a transfer a <-> b with the changes applied in order; returns the result. InlineNet.run
 *  stops exactly at its deadline, so each undo happens at its fake time, not at the next timer. */
function runWithChanges(net: InlineNet, changes: Change[], seed: number): TransferResult & { applied: number } {
  const { a, b } = connectPair(net);
  const t = new Transfer(net, a, b, BYTES, BYTES, seed);
  let applied = 0;
  for (const c of changes) {
    net.run(net.now() + 600_000, () => t.finished() || t.sides[1].received >= c.atBytes);
    if (t.finished()) break;
    c.apply();
    const from = t.sides[1].received;
    net.run(net.now() + c.holdMs, () => t.finished() || (c.untilBytes !== undefined && t.sides[1].received >= from + c.untilBytes));
    c.undo();
    applied++;
  }
  const r = t.runToEnd(3_600_000);
  return { ...r, applied };
}

function expectClean(r: TransferResult & { applied: number }, changes: number, what: string): void {
  const info = `${what}: ${JSON.stringify({ ...r, firstMismatch: undefined })}`;
  expect(r.applied, info).to.equal(changes);
  expect(r.intact, info).to.equal(true);
  expect(r.done, info).to.equal(true);
  expect(r.resets, info).to.equal(0);
}

describe('reconfig (inline): connections through reconfiguration', function () {
  this.timeout(120_000);

  for (const seed of SEEDS) {
    it(`(a) link down and up on either side during a transfer, seed ${seed}`, function () {
      // Seed 2 ended in ETIMEDOUT before commit c7c1ef0 (pure ACKs at SND.MAX, Karn fix).
      const net = twoStacks({ seed, impair: impairOf(seed) });
      const flap = (stack: string, at: number, hold: number): Change => ({
        atBytes: at, holdMs: hold,
        apply: () => net.setLinkState(stack, 'w0', false),
        undo: () => net.setLinkState(stack, 'w0', true),
      });
      const changes = [flap('a', BYTES / 4, 1500 + seed * 100), flap('b', BYTES / 2, 800), flap('a', (3 * BYTES) / 4, 3000)];
      expectClean(runWithChanges(net, changes, seed), changes.length, 'link flaps');
    });

    it(`(b) route failover to a second link and back (link down, and a more specific route added/removed), seed ${seed}`, () => {
      const net = flapNet(seed, impairOf(seed));
      const w1 = (): number => (net.counters('a:nic:w1')['nic.tx.frames'] ?? 0) + (net.counters('b:nic:w1')['nic.tx.frames'] ?? 0);
      const both = (up: boolean) => () => {
        net.setLinkState('a', 'w0', up);
        net.setLinkState('b', 'w0', up);
      };
      // A /32 via w1 beats w0's connected /24 (longest prefix), so adding it moves the traffic.
      const hostRoutes = (add: boolean) => () => {
        const op = add ? 'addRoute' : 'removeRoute';
        net.pipeline.control('a:ip', op, { dest: '10.0.0.2/32', gateway: '10.0.1.2' });
        net.pipeline.control('b:ip', op, { dest: '10.0.0.1/32', gateway: '10.0.1.1' });
      };
      let viaW1 = 0;
      let mark = 0;
      const counted = (f: () => void, start: boolean) => () => {
        if (start) mark = w1();
        f();
        if (!start) viaW1 = Math.min(viaW1 === 0 ? Infinity : viaW1, w1() - mark);
      };
      const changes: Change[] = [
        { atBytes: BYTES / 4, holdMs: 1000, untilBytes: BYTES / 8, apply: counted(both(false), true), undo: counted(both(true), false) },
        { atBytes: BYTES / 2, holdMs: 1000, untilBytes: BYTES / 8, apply: counted(hostRoutes(true), true), undo: counted(hostRoutes(false), false) },
      ];
      const r = runWithChanges(net, changes, seed);
      expectClean(r, changes.length, 'failover');
      expect(viaW1, 'frames crossed w1 during each failover').to.be.greaterThan(10);
    });

    it(`(c) unrelated addresses and routes added and removed during a transfer, seed ${seed}`, () => {
      const net = twoStacks({ seed, impair: impairOf(seed) });
      const ad = new Addrs(net, { a: ['10.0.0.1/24'], b: ['10.0.0.2/24'] });
      const changes: Change[] = [
        { atBytes: BYTES / 5, holdMs: 500, untilBytes: BYTES / 10, apply: () => ad.add('a', 'w0', '10.0.0.77/24'), undo: () => ad.remove('a', 'w0', '10.0.0.77/24') },
        { atBytes: (2 * BYTES) / 5, holdMs: 500, untilBytes: BYTES / 10, apply: () => ad.add('b', 'w0', '172.16.5.2/16'), undo: () => ad.remove('b', 'w0', '172.16.5.2/16') },
        {
          atBytes: (3 * BYTES) / 5, holdMs: 500, untilBytes: BYTES / 10,
          apply: () => net.pipeline.control('a:ip', 'addRoute', { dest: '198.51.100.0/24', gateway: '10.0.0.2' }),
          undo: () => net.pipeline.control('a:ip', 'removeRoute', { dest: '198.51.100.0/24' }),
        },
        {
          atBytes: (4 * BYTES) / 5, holdMs: 500, untilBytes: BYTES / 20,
          apply: () => net.pipeline.control('b:ip', 'addRoute', { dest: '0.0.0.0/0', gateway: '10.0.0.1' }),
          undo: () => net.pipeline.control('b:ip', 'removeRoute', { dest: '0.0.0.0/0' }),
        },
      ];
      expectClean(runWithChanges(net, changes, seed), changes.length, 'unrelated changes');
    });

    it(`(d) the connection's own address removed and re-added within the grace period (either side), seed ${seed}`, () => {
      const net = twoStacks({ seed, impair: impairOf(seed), tcp: { addressGraceMs: 5000 } });
      const ad = new Addrs(net, { a: ['10.0.0.1/24'], b: ['10.0.0.2/24'] });
      const changes: Change[] = [
        { atBytes: BYTES / 4, holdMs: 2000, apply: () => ad.remove('a', 'w0', '10.0.0.1/24'), undo: () => ad.add('a', 'w0', '10.0.0.1/24') },
        { atBytes: BYTES / 2, holdMs: 4500, apply: () => ad.remove('b', 'w0', '10.0.0.2/24'), undo: () => ad.add('b', 'w0', '10.0.0.2/24') },
      ];
      const r = runWithChanges(net, changes, seed);
      expectClean(r, changes.length, 'address remove / re-add');
      expect(net.tcpCounters('a')['tcp.address-gone'] ?? 0, 'a saw its address go').to.equal(1);
      expect(net.tcpCounters('b')['tcp.address-gone'] ?? 0, 'b saw its address go').to.equal(1);
      expect((net.tcpCounters('a')['tcp.address-gone-abort'] ?? 0) + (net.tcpCounters('b')['tcp.address-gone-abort'] ?? 0)).to.equal(0);
    });
  }

  it('an address removed for good fails its connections with EADDRNOTAVAIL after the grace period; listeners stay', () => {
    const grace = 5000;
    const net = twoStacks({ seed: 9, tcp: { addressGraceMs: grace } });
    const ad = new Addrs(net, { a: ['10.0.0.1/24'], b: ['10.0.0.2/24'] });
    const a = net.tcp('a');
    const listener = a.listen(addrOf('10.0.0.1'), 6000, 8);
    const { a: ca, b: cb } = connectPair(net);
    const t = new Transfer(net, ca, cb, BYTES, BYTES, 9);
    // An idle connection too (no data outstanding, so no retransmission would ever notice).
    const lb = net.tcp('b').listen(null, 6001, 8);
    const idle = a.connect(addrOf('10.0.0.1'), addrOf('10.0.0.2'), 6001);
    net.runFor(2000, () => t.sides[1].received >= BYTES / 4 && net.tcp('b').accept(lb) !== null);
    expect(String(a.dumpTcb(idle).stateName)).to.equal('ESTABLISHED');
    const removedAt = net.now();
    ad.remove('a', 'w0', '10.0.0.1/24');
    const gone = net.pipeline.control('a:tcp', 'addressGone') as { id: number; deadline: number }[];
    expect(gone.map((g) => g.id).sort()).to.deep.equal([ca.id, idle].sort());
    // Not before the grace period...
    net.run(removedAt + grace - 1);
    expect(String(net.tcp('a').dumpTcb(idle).stateName)).to.equal('ESTABLISHED');
    expect(net.tcpCounters('a')['tcp.address-gone-abort'] ?? 0).to.equal(0);
    // ...and at it: both connections aborted, the transfer side reports its connection gone.
    net.run(removedAt + grace + 1);
    expect(net.tcpCounters('a')['tcp.address-gone-abort']).to.equal(2);
    expect(() => net.tcp('a').dumpTcb(idle)).to.throw();
    const r = t.result();
    expect(r.errors.join(';')).to.match(/^a#\d+: FREE/);
    // The listener on the removed address is still there (it receives nothing until re-added).
    expect(String(net.tcp('a').dumpTcb(listener).stateName)).to.equal('LISTEN');
    ad.add('a', 'w0', '10.0.0.1/24');
    const c2 = net.tcp('b').connect(addrOf('10.0.0.2'), addrOf('10.0.0.1'), 6000);
    let acc: number | null = null;
    net.runFor(5000, () => (acc = net.tcp('a').accept(listener)) !== null);
    expect(acc, 'the listener accepts again once its address is back').to.not.equal(null);
    expect(String(net.tcp('b').dumpTcb(c2).stateName)).to.equal('ESTABLISHED');
  });
});
