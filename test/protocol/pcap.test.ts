// pcap files (protocol/pcap.ts): writePcap/readPcap round trips (fast-check), truncated and
// foreign files give error results, big-endian and nanosecond-resolution files are read, and a
// file written by writePcap is read by tshark without complaint.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import * as fc from 'fast-check';
import { LINKTYPE_ETHERNET, LINKTYPE_RAW, PcapRecord, pcapGlobalHeader, pcapRecord, readPcap, writePcap } from '../../protocol/pcap';
import { checkResult, loadPcap } from './v4-helpers';

const arbRecord: fc.Arbitrary<PcapRecord> = fc.record({
  sec: fc.nat(),
  frac: fc.integer({ min: 0, max: 999_999 }),
  data: fc.uint8Array({ maxLength: 100 }),
  extra: fc.integer({ min: 0, max: 1000 }),
}).map(({ sec, frac, data, extra }) => ({ timeUs: sec * 1e6 + frac, data, origLen: data.length + extra }));

/** A file written by hand: `little` picks the byte order, `nano` the nanosecond magic. */
function handMade(records: Array<{ sec: number; frac: number; data: Uint8Array; origLen: number }>, little: boolean, nano: boolean, linkType = 1): Uint8Array {
  const total = 24 + records.reduce((n, r) => n + 16 + r.data.length, 0);
  const b = new Uint8Array(total);
  const v = new DataView(b.buffer);
  v.setUint32(0, nano ? 0xa1b23c4d : 0xa1b2c3d4, little);
  v.setUint16(4, 2, little);
  v.setUint16(6, 4, little);
  v.setUint32(16, 65535, little);
  v.setUint32(20, linkType, little);
  let p = 24;
  for (const r of records) {
    v.setUint32(p, r.sec, little);
    v.setUint32(p + 4, r.frac, little);
    v.setUint32(p + 8, r.data.length, little);
    v.setUint32(p + 12, r.origLen, little);
    b.set(r.data, p + 16);
    p += 16 + r.data.length;
  }
  return b;
}

describe('pcap: write and read', () => {
  it('readPcap(writePcap(records)) gives the records back (fast-check)', () => {
    fc.assert(fc.property(fc.array(arbRecord, { maxLength: 8 }), fc.constantFrom(LINKTYPE_ETHERNET, LINKTYPE_RAW), (records, linkType) => {
      const file = writePcap(records, linkType);
      expect(file.length).to.equal(24 + records.reduce((n, r) => n + 16 + r.data.length, 0));
      const r = readPcap(file);
      expect(r.ok).to.equal(true);
      if (!r.ok) return;
      expect(r.value.linkType).to.equal(linkType);
      expect(r.value.records.map((x) => ({ timeUs: x.timeUs, data: new Uint8Array(x.data), origLen: x.origLen })))
        .to.deep.equal(records.map((x) => ({ timeUs: x.timeUs, data: x.data, origLen: x.origLen })));
    }));
  });

  it('the global header and a record are laid out as in pcap-savefile(5)', () => {
    const h = pcapGlobalHeader(LINKTYPE_ETHERNET, 1234);
    expect(Array.from(h)).to.deep.equal([0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xd2, 0x04, 0, 0, 1, 0, 0, 0]);
    const r = pcapRecord(1_700_000_000_123_456, Uint8Array.of(9, 8, 7), 60);
    const v = new DataView(r.buffer);
    expect([v.getUint32(0, true), v.getUint32(4, true), v.getUint32(8, true), v.getUint32(12, true)]).to.deep.equal([1_700_000_000, 123_456, 3, 60]);
    expect(Array.from(r.subarray(16))).to.deep.equal([9, 8, 7]);
  });

  it('re-writing the golden captures gives files that read back to the same frames', () => {
    for (const name of ['v6-linkup.pcap', 'v6-ndp.pcap', 'v6-echo.pcap', 'v6-errors.pcap', 'v6-ext.pcap']) {
      const recs = loadPcap(name);
      const again = readPcap(writePcap(recs));
      expect(again.ok).to.equal(true);
      if (again.ok) expect(again.value.records.map((r) => Array.from(r.data))).to.deep.equal(recs.map((r) => Array.from(r.data)));
    }
  });
});

describe('pcap: hostile and foreign files', () => {
  it('every truncation is an error, except cuts at record boundaries', () => {
    const file = writePcap([
      { timeUs: 1, data: Uint8Array.of(1, 2, 3), origLen: 3 },
      { timeUs: 2, data: new Uint8Array(10), origLen: 10 },
    ]);
    const boundaries = new Set([24, 24 + 19, file.length]);
    for (let n = 0; n <= file.length; n++) {
      const r = readPcap(file.slice(0, n));
      checkResult(r);
      expect(r.ok, `cut at ${n}`).to.equal(boundaries.has(n));
      if (!r.ok) expect(r.kind).to.equal('format');
    }
  });

  it('a record length past the end, unknown magics and pcapng are errors, never exceptions', () => {
    const file = writePcap([{ timeUs: 1, data: new Uint8Array(4), origLen: 4 }]);
    const big = file.slice();
    new DataView(big.buffer).setUint32(24 + 8, 0xffffffff, true);
    expect(readPcap(big)).to.deep.include({ ok: false, kind: 'format' });
    const ng = Uint8Array.of(0x0a, 0x0d, 0x0d, 0x0a, ...new Uint8Array(28));
    expect(readPcap(ng)).to.deep.include({ ok: false, kind: 'unsupported' });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), fc.boolean(), (bytes, withMagic) => {
      const b = bytes.slice();
      if (withMagic && b.length >= 4) b.set([0xd4, 0xc3, 0xb2, 0xa1]);
      checkResult(readPcap(b));
    }));
  });

  it('reads big-endian and nanosecond files (all four magics), masking the link-type FCS bits', () => {
    const recs = [
      { sec: 1_700_000_000, frac: 123_456, data: Uint8Array.of(1, 2, 3, 4), origLen: 4 },
      { sec: 5, frac: 999_999, data: new Uint8Array(0), origLen: 64 },
    ];
    for (const little of [true, false]) {
      const us = readPcap(handMade(recs, little, false, 1 | 0x10000000));
      expect(us.ok).to.equal(true);
      if (us.ok) {
        expect(us.value.linkType).to.equal(1);
        expect(us.value.snapLen).to.equal(65535);
        expect(us.value.records.map((r) => [r.timeUs, Array.from(r.data), r.origLen])).to.deep.equal([
          [1_700_000_000_123_456, [1, 2, 3, 4], 4], [5_999_999, [], 64],
        ]);
      }
      const nsRecs = recs.map((r) => ({ ...r, frac: r.frac * 1000 + 789 }));
      const ns = readPcap(handMade(nsRecs, little, true));
      expect(ns.ok).to.equal(true);
      if (ns.ok) expect(ns.value.records.map((r) => r.timeUs)).to.deep.equal([1_700_000_000_123_456, 5_999_999]);
    }
  });
});

describe('pcap: read by tshark', () => {
  const tshark = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
  const haveTshark = tshark.status === 0;

  it('tshark reads a file written by writePcap without warnings', function () {
    if (!haveTshark) {
      console.log('      (skipped: tshark is not installed; apt-get install -y tshark to run this case)');
      this.skip();
    }
    const frames = [...loadPcap('v6-ndp.pcap'), ...loadPcap('v6-echo.pcap')].map((r) => r.data);
    const base = 1_700_000_000_000_000;
    const records = frames.map((data, i) => ({ timeUs: base + i * 1500 + 7, data, origLen: data.length }));
    const file = path.join(os.tmpdir(), `salp6-pcap-${process.pid}-${Date.now()}.pcap`);
    fs.writeFileSync(file, writePcap(records));
    try {
      const r = spawnSync('tshark', ['-n', '-r', file, '-T', 'fields', '-e', 'frame.len', '-e', 'frame.time_epoch', '-e', '_ws.malformed'], {
        encoding: 'utf8', timeout: 60_000,
      });
      expect(r.status, r.stderr).to.equal(0);
      // tshark run as root prints a notice about it on stderr; anything else is a warning.
      const stderr = r.stderr.split('\n').filter((l) => l.trim() !== '' && !/^Running as user "root"/.test(l));
      expect(stderr, stderr.join('\n')).to.deep.equal([]);
      const lines = r.stdout.trim().split('\n').map((l) => l.split('\t'));
      expect(lines).to.have.length(records.length);
      lines.forEach(([len, epoch, malformed], i) => {
        expect(Number(len)).to.equal(records[i].data.length);
        expect(epoch).to.match(new RegExp(`^1700000000\\.${String(i * 1500 + 7).padStart(6, '0')}`));
        expect(malformed ?? '').to.equal('');
      });
    } finally {
      fs.rmSync(file, { force: true });
    }
  });
});
