// pcap wrapper: records both directions, re-read with protocol/pcap.ts readPcap, switchable at
// runtime, and (when tshark is installed) read by `tshark -r` with exit 0 and no warnings.

import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { readPcap, LINKTYPE_ETHERNET } from '../../protocol/pcap';
import { PcapLink, MemorySink, fileSink } from '../../actors/nic/pcap';
import { LoopbackLink } from '../../actors/nic/loopback';
import { Wire } from '../../actors/nic/wire';
import { WriteStatus } from '../../actors/nic/link';
import { Collector, seqFrame, frameSeq } from './frames';

function hasTshark(): boolean {
  return spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;
}

describe('nic pcap wrapper', () => {
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'salnic-pcap-'));
  });
  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('records frames of both directions with the caller clock as time', () => {
    const w = new Wire();
    const sink = new MemorySink();
    const cap = new PcapLink(w.a, { sink, epochMs: 1_700_000_000_000 });
    const got = new Collector();
    cap.attach(got);
    cap.write(seqFrame(1, 100), 0, 100, 10); // tx at t=10 ms
    w.b.write(seqFrame(2, 80), 0, 80, 0);
    cap.poll(12.5, 10); // rx at t=12.5 ms
    expect(got.seqs()).to.deep.equal([2]);
    const r = readPcap(sink.bytes());
    expect(r.ok).to.equal(true);
    if (!r.ok) return;
    expect(r.value.linkType).to.equal(LINKTYPE_ETHERNET);
    expect(r.value.records.map((x) => frameSeq(x.data))).to.deep.equal([1, 2]);
    expect(r.value.records.map((x) => x.data.length)).to.deep.equal([100, 80]);
    expect(r.value.records[0].timeUs).to.equal(1_700_000_000_010_000);
    expect(r.value.records[1].timeUs).to.equal(1_700_000_000_012_500);
    expect(cap.counters.get('tx.frames')).to.equal(1);
    expect(cap.counters.get('rx.frames')).to.equal(1);
  });

  it('does not record a frame the device refused (BUSY), so a retry is recorded once', () => {
    const lo = new LoopbackLink({ queueFrames: 1 });
    const sink = new MemorySink();
    const cap = new PcapLink(lo, { sink, epochMs: 0 });
    expect(cap.write(seqFrame(1), 0, 64, 0)).to.equal(WriteStatus.SENT);
    expect(cap.write(seqFrame(2), 0, 64, 0)).to.equal(WriteStatus.BUSY);
    const r = readPcap(sink.bytes());
    expect(r.ok && r.value.records.length).to.equal(1);
  });

  it('switches on and off at runtime; each sink gets its own header', () => {
    const lo = new LoopbackLink();
    const cap = new PcapLink(lo, { epochMs: 0 });
    cap.attach(new Collector());
    cap.write(seqFrame(1), 0, 64, 0); // not recording
    const s1 = new MemorySink();
    cap.setSink(s1);
    cap.write(seqFrame(2), 0, 64, 1);
    cap.poll(1, 10); // 1 and 2 come back in: both recorded as rx
    const s2 = new MemorySink();
    cap.setSink(s2);
    expect(s1.closed).to.equal(true);
    cap.write(seqFrame(3), 0, 64, 2);
    cap.setSink(null);
    expect(s2.closed).to.equal(true);
    cap.write(seqFrame(4), 0, 64, 3);
    const r1 = readPcap(s1.bytes());
    const r2 = readPcap(s2.bytes());
    expect(r1.ok && r1.value.records.map((x) => frameSeq(x.data))).to.deep.equal([2, 1, 2]);
    expect(r2.ok && r2.value.records.map((x) => frameSeq(x.data))).to.deep.equal([3]);
  });

  it('truncates records to snapLen and keeps the original length', () => {
    const lo = new LoopbackLink();
    const sink = new MemorySink();
    const cap = new PcapLink(lo, { sink, snapLen: 64, epochMs: 0, directions: 'tx' });
    cap.write(seqFrame(1, 1000), 0, 1000, 0);
    const r = readPcap(sink.bytes());
    expect(r.ok).to.equal(true);
    if (!r.ok) return;
    expect(r.value.snapLen).to.equal(64);
    expect(r.value.records[0].data.length).to.equal(64);
    expect(r.value.records[0].origLen).to.equal(1000);
  });

  it('stops recording (and counts an error) when the sink fails, without failing the link', () => {
    const lo = new LoopbackLink();
    let n = 0;
    const cap = new PcapLink(lo, {
      sink: {
        write() {
          if (++n > 1) throw new Error('disk full');
        },
      },
      epochMs: 0,
    });
    expect(cap.write(seqFrame(1), 0, 64, 0)).to.equal(WriteStatus.SENT);
    expect(cap.recording).to.equal(false);
    expect(cap.counters.get('errors')).to.equal(1);
  });

  it('writes a file that readPcap and tshark read without warnings', function () {
    const file = path.join(tmp, 'cap.pcap');
    const w = new Wire();
    const cap = new PcapLink(w.a, { sink: fileSink(file) });
    cap.attach(new Collector());
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) cap.write(seqFrame(i, 60 + i * 50), 0, 60 + i * 50, t0 + i);
    for (let i = 0; i < 20; i++) w.b.write(seqFrame(100 + i, 64), 0, 64, 0);
    cap.poll(t0 + 30, 100);
    cap.close();
    const r = readPcap(new Uint8Array(fs.readFileSync(file)));
    expect(r.ok).to.equal(true);
    if (!r.ok) return;
    expect(r.value.records).to.have.length(40);
    // Wall-clock stamps: within a minute of now.
    expect(Math.abs(r.value.records[0].timeUs / 1000 - Date.now())).to.be.lessThan(60_000);
    if (!hasTshark()) {
      console.log('      (tshark not installed: skipping the tshark check; apt-get install tshark)');
      return;
    }
    const ts = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.len'], { encoding: 'utf8', timeout: 20000 });
    expect(ts.status, ts.stderr).to.equal(0);
    // tshark warns about running as root; that line is about the user, not the file.
    const warnings = ts.stderr.split('\n').filter((l) => l.trim() !== '' && !/^Running as user "root"/.test(l));
    expect(warnings, ts.stderr).to.deep.equal([]);
    const lens = ts.stdout.trim().split('\n').map(Number);
    expect(lens).to.have.length(40);
    expect(lens.slice(0, 3)).to.deep.equal([60, 110, 160]);
  });
});
