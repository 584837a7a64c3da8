import { expect } from 'chai';
import { transfer } from './transfer.test';
import { LOCAL, Net, REMOTE, patternBytes } from './harness';

describe('tcp: crash survival (a new core over the same shared memory)', function () {
  this.timeout(120_000);

  it('reattach rebuilds the table: dumpTcb is identical across a crash at rest', () => {
    const net = new Net(5, { delay: 5 });
    const lid = net.cores[1].listen(REMOTE, 80, 4);
    const cid = net.cores[0].connect(LOCAL, REMOTE, 80, {});
    for (let i = 0; i < 50 && net.step(); i++);
    const sid = net.cores[1].accept(lid)!;
    net.cores[0].write(cid, patternBytes(10_000, 1));
    for (let i = 0; i < 200 && net.step(); i++);
    const before = net.cores[1].dumpTcb(sid);
    net.crash(1);
    const after = net.cores[1].dumpTcb(sid);
    for (const k of ['stateName', 'iss', 'irs', 'sndNxt', 'rcvNxt', 'sndWnd', 'srtt', 'rto', 'cwnd', 'flags', 'sndWscale', 'rcvWscale', 'tsRecent']) {
      expect(after[k], k).to.deep.equal(before[k]);
    }
    expect(net.cores[1].accept(lid)).to.equal(null);
    expect(Buffer.from(net.cores[1].read(sid)).equals(Buffer.from(patternBytes(10_000, 1)))).to.equal(true);
  });

  for (const side of [0, 1, 'both'] as const) {
    for (const seed of [101, 102, 103]) {
      it(`crash of side ${side} at random moments between events, seed ${seed}: 1 MiB intact, no reset`, () => {
        const r = transfer(seed, 1 << 20, { loss: 0.005, reorder: 0.01, delay: 5 }, {}, { crashEvery: 150, crashSide: side });
        expect(r.resets).to.deep.equal([]);
        expect(r.net.crashes).to.be.greaterThan(3);
        expect(r.ok, `received ${r.received}`).to.equal(true);
      });
    }
  }

  for (const seed of [201, 202, 203, 204]) {
    it(`crash inside event processing (segment built / before / between / after commits), seed ${seed}`, () => {
      const r = transfer(seed, 1 << 20, { loss: 0.005, delay: 5 }, {}, { crashEvery: 80, crashSide: 'both', faultCrash: true });
      expect(r.resets).to.deep.equal([]);
      expect(r.net.crashes).to.be.greaterThan(3);
      expect(r.ok, `received ${r.received}`).to.equal(true);
    });
  }

  it('many crashes during the handshake and the close', () => {
    for (const seed of [301, 302, 303, 304, 305]) {
      const r = transfer(seed, 20_000, { delay: 5 }, {}, { crashEvery: 4, crashSide: 'both', faultCrash: seed % 2 === 0 });
      expect(r.resets, `seed ${seed}`).to.deep.equal([]);
      expect(r.ok, `seed ${seed}`).to.equal(true);
    }
  });
});

describe('tcp: crash sweep', function () {
  this.timeout(300_000);
  it('40 seeds x 256 KiB, crashes every ~40 events on either side (half inside processing)', () => {
    let crashes = 0;
    for (let seed = 1000; seed < 1040; seed++) {
      const r = transfer(seed, 256 << 10, { loss: 0.01, reorder: 0.01, dup: 0.01, delay: 5, jitter: 1 }, {}, {
        crashEvery: 40, crashSide: 'both', faultCrash: seed % 2 === 0,
      });
      expect(r.resets, `seed ${seed}`).to.deep.equal([]);
      expect(r.ok, `seed ${seed} received ${r.received}`).to.equal(true);
      crashes += r.net.crashes;
    }
    expect(crashes).to.be.greaterThan(400);
  });
});
