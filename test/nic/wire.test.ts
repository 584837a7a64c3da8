// wire and loopback links: frames both ways, plug/unplug with carrier events at both ends,
// admin down, back-pressure on a full cable, ring wraparound.

import { expect } from 'chai';
import { Wire } from '../../actors/nic/wire';
import { LoopbackLink } from '../../actors/nic/loopback';
import { WriteStatus, LocalCounters, parseMac, formatMac } from '../../actors/nic/link';
import { Collector, seqFrame } from './frames';

describe('nic wire link', () => {
  it('carries frames both ways in order, with counters at both ends', () => {
    const w = new Wire();
    const ra = new Collector();
    const rb = new Collector();
    w.a.attach(ra);
    w.b.attach(rb);
    for (let i = 0; i < 50; i++) expect(w.a.write(seqFrame(i, 100), 0, 100, 0)).to.equal(WriteStatus.SENT);
    for (let i = 0; i < 20; i++) expect(w.b.write(seqFrame(1000 + i, 60), 0, 60, 0)).to.equal(WriteStatus.SENT);
    expect(w.b.poll(1, 1000)).to.equal(50);
    expect(w.a.poll(1, 1000)).to.equal(20);
    expect(rb.seqs()).to.deep.equal([...Array(50).keys()]);
    expect(ra.seqs()).to.deep.equal([...Array(20).keys()].map((i) => 1000 + i));
    expect(w.a.counters.get('tx.frames')).to.equal(50);
    expect(w.a.counters.get('tx.bytes')).to.equal(5000);
    expect(w.b.counters.get('rx.frames')).to.equal(50);
    expect(w.a.counters.get('rx.frames')).to.equal(20);
  });

  it('honours the poll budget', () => {
    const w = new Wire();
    const rb = new Collector();
    w.b.attach(rb);
    for (let i = 0; i < 10; i++) w.a.write(seqFrame(i), 0, 64, 0);
    expect(w.b.poll(0, 3)).to.equal(3);
    expect(w.b.poll(0, 100)).to.equal(7);
    expect(w.b.poll(0, 100)).to.equal(0);
  });

  it('unplugging drops frames and raises carrier events at both ends; replugging resumes', () => {
    const w = new Wire();
    const ra = new Collector();
    const rb = new Collector();
    w.a.attach(ra);
    w.b.attach(rb);
    w.a.write(seqFrame(1), 0, 64, 0); // in flight when the cable goes
    w.setPlugged(false, 1);
    expect(ra.states).to.deep.equal([{ up: true, carrier: false }]);
    expect(rb.states).to.deep.equal([{ up: true, carrier: false }]);
    expect(w.a.write(seqFrame(2), 0, 64, 2)).to.equal(WriteStatus.DROPPED);
    expect(w.b.poll(3, 100)).to.equal(1); // taken off the cable and dropped
    expect(rb.frames).to.have.length(0);
    expect(w.a.counters.get('drop.link-down')).to.equal(1);
    expect(w.b.counters.get('drop.link-down')).to.equal(1);
    w.setPlugged(true, 4);
    expect(ra.states[1]).to.deep.equal({ up: true, carrier: true });
    expect(rb.states[1]).to.deep.equal({ up: true, carrier: true });
    expect(w.a.write(seqFrame(3), 0, 64, 5)).to.equal(WriteStatus.SENT);
    w.b.poll(6, 100);
    expect(rb.seqs()).to.deep.equal([3]);
  });

  it('an end sees a cable change made elsewhere at its next poll', () => {
    const w = new Wire();
    const rb = new Collector();
    w.b.attach(rb);
    // As another thread would: flip the shared word only.
    new Int32Array(w.desc.cable)[0] = 0;
    w.b.poll(1, 10);
    expect(rb.states).to.deep.equal([{ up: true, carrier: false }]);
  });

  it('administratively down drops both ways at that end only', () => {
    const w = new Wire();
    const ra = new Collector();
    const rb = new Collector();
    w.a.attach(ra);
    w.b.attach(rb);
    w.a.setUp(false, 0);
    expect(ra.states).to.deep.equal([{ up: false, carrier: true }]);
    expect(rb.states).to.have.length(0);
    expect(w.a.write(seqFrame(1), 0, 64, 0)).to.equal(WriteStatus.DROPPED);
    w.b.write(seqFrame(2), 0, 64, 0);
    w.a.poll(0, 10);
    expect(ra.frames).to.have.length(0);
    expect(w.a.counters.get('drop.link-down')).to.equal(2);
    w.a.setUp(true, 1);
    w.b.write(seqFrame(3), 0, 64, 1);
    w.a.poll(1, 10);
    expect(ra.seqs()).to.deep.equal([3]);
  });

  it('a full cable is back-pressure (BUSY), not loss', () => {
    const w = new Wire({ ringBytes: 4096 });
    let sent = 0;
    for (let i = 0; i < 1000; i++) {
      const st = w.a.write(seqFrame(i, 200), 0, 200, 0);
      if (st === WriteStatus.BUSY) break;
      sent++;
    }
    expect(sent).to.be.greaterThan(5).and.lessThan(30);
    const rb = new Collector();
    w.b.attach(rb);
    w.b.poll(0, 1000);
    expect(rb.frames).to.have.length(sent);
    expect(w.a.write(seqFrame(9999, 200), 0, 200, 0)).to.equal(WriteStatus.SENT);
  });

  it('drops runts and frames above the MTU', () => {
    const w = new Wire({ a: { mtu: 1500 } });
    expect(w.a.write(new Uint8Array(10), 0, 10, 0)).to.equal(WriteStatus.DROPPED);
    expect(w.a.write(new Uint8Array(1600), 0, 1600, 0)).to.equal(WriteStatus.DROPPED);
    expect(w.a.write(seqFrame(1, 1518), 0, 1518, 0)).to.equal(WriteStatus.SENT);
    expect(w.a.counters.get('drop.runt')).to.equal(1);
    expect(w.a.counters.get('drop.too-big')).to.equal(1);
  });

  it('survives ring wraparound of the 32-bit positions', () => {
    const w = new Wire({ ringBytes: 4096, initialPosition: 2 ** 32 - 1024 });
    const rb = new Collector();
    w.b.attach(rb);
    for (let i = 0; i < 500; i++) {
      expect(w.a.write(seqFrame(i, 60 + (i % 90)), 0, 60 + (i % 90), 0)).to.equal(WriteStatus.SENT);
      w.b.poll(0, 10);
    }
    expect(rb.seqs()).to.deep.equal([...Array(500).keys()]);
  });

  it('takes counters from a shared sink with a prefix, and a configured MAC', () => {
    const sink = new LocalCounters();
    const w = new Wire({ a: { counters: sink, counterPrefix: 'a.', mac: '02:00:5e:00:00:01' } });
    w.a.write(seqFrame(1), 0, 64, 0);
    expect(sink.get('a.tx.frames')).to.equal(1);
    expect(formatMac(w.a.mac)).to.equal('02:00:5e:00:00:01');
    expect(w.b.mac[0] & 0x03).to.equal(0x02); // random: locally administered unicast
    expect(() => parseMac('02:00:5e:00:01')).to.throw(TypeError);
  });
});

describe('nic loopback link', () => {
  it('returns every frame written at the next poll', () => {
    const l = new LoopbackLink();
    const r = new Collector();
    l.attach(r);
    for (let i = 0; i < 10; i++) l.write(seqFrame(i), 0, 64, 0);
    expect(l.pending).to.equal(10);
    expect(l.poll(1, 4)).to.equal(4);
    expect(l.poll(1, 100)).to.equal(6);
    expect(r.seqs()).to.deep.equal([...Array(10).keys()]);
    expect(l.counters.get('tx.frames')).to.equal(10);
    expect(l.counters.get('rx.frames')).to.equal(10);
  });

  it('copies the frame (the caller may reuse its buffer)', () => {
    const l = new LoopbackLink();
    const r = new Collector();
    l.attach(r);
    const f = seqFrame(7);
    l.write(f, 0, 64, 0);
    f.fill(0);
    l.poll(0, 10);
    expect(r.seqs()).to.deep.equal([7]);
  });

  it('is back-pressure when full and drops while down', () => {
    const l = new LoopbackLink({ queueFrames: 3 });
    const r = new Collector();
    l.attach(r);
    for (let i = 0; i < 3; i++) expect(l.write(seqFrame(i), 0, 64, 0)).to.equal(WriteStatus.SENT);
    expect(l.write(seqFrame(3), 0, 64, 0)).to.equal(WriteStatus.BUSY);
    l.setUp(false, 1);
    expect(r.states).to.deep.equal([{ up: false, carrier: true }]);
    expect(l.poll(1, 10)).to.equal(0);
    expect(l.counters.get('drop.link-down')).to.equal(3);
    expect(l.write(seqFrame(4), 0, 64, 1)).to.equal(WriteStatus.DROPPED);
  });
});
