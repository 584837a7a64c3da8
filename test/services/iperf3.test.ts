// The iperf3-compatible server against the real iperf3 client (Debian's iperf3), on Node's own
// net/dgram over 127.0.0.1. Skips when iperf3 is not installed.

import { spawn } from 'node:child_process';
import { expect } from 'chai';
import { serveIperf3, Iperf3Service, Iperf3Summary, IperfState, COOKIE_SIZE } from '../../services/iperf3';
import { waitFor } from '../util';
import { Collector, connect, hasCommand, nodeCtx, runCommand } from './helpers';

interface Report {
  error?: string;
  start?: { test_start?: { num_streams?: number; reverse?: number; protocol?: string } };
  end?: {
    streams?: unknown[];
    sum_sent?: { bytes: number };
    sum_received?: { bytes: number };
    sum?: { bytes: number; packets: number; lost_packets: number; jitter_ms: number };
  };
}

describe('services: iperf3 server with the real iperf3 client', function () {
  this.timeout(60000);
  let svc: Iperf3Service;
  const summaries: Iperf3Summary[] = [];

  before(async function () {
    if (!hasCommand('iperf3')) {
      console.log('    (skipped: iperf3 is not installed; apt-get install -y iperf3)');
      this.skip();
    }
    svc = await serveIperf3(0, nodeCtx, { onTestEnd: (s) => summaries.push(s) });
  });
  after(async () => {
    await svc?.close();
  });

  async function iperf(args: string[]): Promise<Report> {
    const r = await runCommand('iperf3', ['-c', '127.0.0.1', '-p', String(svc.port), '--json', ...args], 30000);
    let report: Report;
    try {
      report = JSON.parse(r.stdout) as Report;
    } catch {
      throw new Error(`iperf3 ${args.join(' ')}: exit ${r.code}, no JSON report: ${r.stdout.slice(0, 500)} ${r.stderr.slice(0, 500)}`);
    }
    return report;
  }

  it('TCP: iperf3 -t 2', async () => {
    // A rare failure in full-suite runs ("received an unknown control message") was 8 stray
    // bytes (01 00 ...) that a stopped Stack's bell wrote, long after stop(), to its closed
    // eventfd's number, reused by this server's control socket (fixed in base/bell.ts and the
    // supervisor's endpoint; docs/next.md). As root, the server port's PSH segments are still
    // captured and printed on a failure, should any other stray writer appear.
    const pcap = `/tmp/salamander-iperf3-${process.pid}.pcap`;
    const dump = process.getuid?.() === 0 && hasCommand('tcpdump') ? spawn('tcpdump', ['-i', 'lo', '-U', '-s', '200', '-w', pcap, `tcp src port ${svc.port} and tcp[tcpflags] & tcp-push != 0`], { stdio: ['ignore', 'ignore', 'pipe'] }) : null;
    dump?.stderr!.on('error', () => undefined);
    if (dump) {
      // tcpdump says "listening on lo" once attached (bounded: on no word, carry on without).
      await new Promise<void>((res) => {
        const t = setTimeout(res, 5000);
        dump.stderr!.on('data', (d: Buffer) => d.toString().includes('listening') && (clearTimeout(t), res()));
        dump.once('close', () => (clearTimeout(t), res()));
      });
    }
    let rep: Report;
    try {
      rep = await iperf(['-t', '2']);
    } finally {
      if (dump) {
        dump.kill('SIGINT'); // -U: every packet is already written
        await new Promise((r) => dump.once('close', r));
      }
    }
    if (dump && rep.error === 'received an unknown control message') {
      const r = await runCommand('tcpdump', ['-nn', '-r', pcap, '-X'], 10000);
      console.log(`      bytes the server's port sent (PSH segments):\n${r.stdout.slice(0, 4000)}`); // eslint-disable-line no-console
    }
    if (dump) await runCommand('rm', ['-f', pcap], 5000);
    if (rep.error) console.log(`      iperf3 client: "${rep.error}"; server summary: ${JSON.stringify(summaries[summaries.length - 1])}`); // eslint-disable-line no-console
    expect(rep.error).to.equal(undefined);
    expect(rep.end!.sum_sent!.bytes).to.be.greaterThan(0);
    expect(rep.end!.sum_received!.bytes).to.be.greaterThan(0);
    const s = summaries[summaries.length - 1];
    expect(s.protocol).to.equal('tcp');
    expect(s.error).to.equal(undefined);
    expect(s.streams[0].bytes).to.equal(rep.end!.sum_received!.bytes);
  });

  it('TCP reverse: iperf3 -R', async () => {
    const rep = await iperf(['-t', '1', '-R']);
    expect(rep.error).to.equal(undefined);
    expect(rep.start!.test_start!.reverse).to.equal(1);
    expect(rep.end!.sum_sent!.bytes).to.be.greaterThan(0);
    expect(rep.end!.sum_received!.bytes).to.be.greaterThan(0);
    expect(summaries[summaries.length - 1].streams[0].sender).to.equal(true);
  });

  it('TCP parallel: iperf3 -P 4', async () => {
    const rep = await iperf(['-t', '1', '-P', '4']);
    expect(rep.error).to.equal(undefined);
    expect(rep.end!.streams).to.have.length(4);
    expect(rep.end!.sum_received!.bytes).to.be.greaterThan(0);
    expect(summaries[summaries.length - 1].streams.map((s) => s.id)).to.deep.equal([1, 3, 4, 5]);
  });

  it('TCP bidirectional: iperf3 --bidir', async () => {
    const rep = await iperf(['-t', '1', '--bidir']);
    expect(rep.error).to.equal(undefined);
    const s = summaries[summaries.length - 1];
    expect(s.streams.map((x) => x.sender)).to.deep.equal([false, true]);
    expect(s.streams.every((x) => x.bytes > 0)).to.equal(true);
  });

  it('UDP: iperf3 -u -b 50M -t 2 (loss and jitter counted)', async () => {
    const rep = await iperf(['-u', '-b', '50M', '-t', '2']);
    expect(rep.error).to.equal(undefined);
    const sum = rep.end!.sum!;
    expect(sum.bytes).to.be.greaterThan(0);
    expect(sum.packets).to.be.greaterThan(0);
    expect(sum.lost_packets).to.be.at.least(0);
    const s = summaries[summaries.length - 1];
    expect(s.protocol).to.equal('udp');
    expect(s.streams[0].packets).to.be.greaterThan(0);
    expect(s.streams[0].errors).to.be.lessThan(s.streams[0].packets / 2);
  });

  it('UDP reverse and parallel: iperf3 -u -R -P 2 -b 10M', async () => {
    const rep = await iperf(['-u', '-R', '-P', '2', '-b', '10M', '-t', '1']);
    expect(rep.error).to.equal(undefined);
    expect(rep.end!.sum!.bytes).to.be.greaterThan(0);
    expect(rep.end!.sum!.packets).to.be.greaterThan(0);
  });

  it('omit period: iperf3 -u -b 10M -O 1 -t 1 (counts exclude the omitted second)', async () => {
    const rep = await iperf(['-u', '-b', '10M', '-O', '1', '-t', '1']);
    expect(rep.error).to.equal(undefined);
    const sum = rep.end!.sum!;
    expect(sum.packets).to.be.greaterThan(0);
    // About one second of 10 Mbit/s, not two.
    expect(sum.bytes).to.be.lessThan(1.6 * 1.25e6);
  });

  it('a second client gets ACCESS_DENIED; a client that disconnects is cleaned up', async () => {
    // Hold the server with a raw control connection: cookie in, PARAM_EXCHANGE out.
    const ctrl = await connect(svc.port);
    const c = new Collector(ctrl);
    ctrl.write(Buffer.concat([Buffer.from('abcdefghijklmnopqrstuvwxyz0123456789'), Buffer.from([0])]));
    expect(COOKIE_SIZE).to.equal(37);
    expect((await c.read(1)).readInt8(0)).to.equal(IperfState.PARAM_EXCHANGE);
    const denied = svc.counters.denied;

    const busy = await iperf(['-t', '1']);
    expect(busy.error).to.match(/busy/);
    expect(svc.counters.denied).to.equal(denied + 1);

    // The holder goes away mid-handshake: the server must take the next test.
    const aborted = svc.counters.aborted;
    ctrl.destroy();
    await waitFor(() => svc.counters.aborted === aborted + 1, 5000, 'the server to drop the abandoned test');
    const rep = await iperf(['-t', '1']);
    expect(rep.error).to.equal(undefined);
    expect(svc.counters.aborted).to.equal(aborted + 1);
  });

  it('without a dgram module, a UDP test gets SERVER_ERROR and TCP tests still run', async () => {
    const tcpOnly = await serveIperf3(0, { net: nodeCtx.net, host: '127.0.0.1' });
    try {
      const u = await runCommand('iperf3', ['-c', '127.0.0.1', '-p', String(tcpOnly.port), '--json', '-u', '-t', '1'], 30000);
      expect((JSON.parse(u.stdout) as Report).error).to.match(/unable to start stream listener/);
      const t = await runCommand('iperf3', ['-c', '127.0.0.1', '-p', String(tcpOnly.port), '--json', '-t', '1', '-b', '100M'], 30000);
      const rep = JSON.parse(t.stdout) as Report;
      expect(rep.error).to.equal(undefined);
      expect(rep.end!.sum_received!.bytes).to.be.greaterThan(0);
    } finally {
      await tcpOnly.close();
    }
  });
});
