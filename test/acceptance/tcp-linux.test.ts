// Acceptance (issue "TCP actor"): Salamander's TCP against Linux's TCP over a TAP device.
// Root only (skipped with a message otherwise). A namespace of our own (prefix `salacc-`,
// 192.0.2.0/24 only, Linux congestion control set to cubic there) holds the kernel side of the
// TAP at 192.0.2.1; an in-process Stack owns the TAP at 192.0.2.2 and runs the built-in
// services (echo 7, discard 9, http 80, source 19, as `salamander up --serve` does) plus a
// hashing server on port 5000. In-process, so the tests can impair the link
// (stack.setImpair) and kill the TCP actor (stack.inject). Every loop and every command is
// bounded in time; everything made here is deleted in after().
//
//  - curl downloads /bytes?n=N, SHA-256 checked against the content computed in-process
//    (services/http.ts patternChunk);
//  - nc (netcat-openbsd) sends a file to discard, and round-trips one through echo (checked);
//  - /usr/bin/python3 sends 16 MiB to the hashing server while receiving 16 MiB back from it,
//    SHA-256 checked both ways;
//  - the same three with loss 1%, reorder 1% and duplicate 1% on Salamander's TAP link (both
//    directions): still intact;
//  - curl downloads 32 MiB (rate-limited by curl, so the kills fall while data flows; the test's
//    server holds back the last 1 MiB until the kills are done, so the download spans them on
//    any machine) while the TCP actor is killed >= 6 times with every kind: curl exits 0 and the
//    SHA-256 matches.
//
// Sizes: default curl 16 MiB, nc 4 MiB, python 16 MiB each way, crash download 32 MiB with
// >= 6 kills; ACCEPTANCE_FULL=1: curl 256 MiB, nc 64 MiB, python 64 MiB each way, crash download
// 128 MiB with >= 15 kills.

import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import * as http from 'node:http';
import { Stack } from '../../api/stack';
import type { Socket } from '../../api/net';
import { serveHttp } from '../../api/http';
import { FAULT_KINDS, type FaultKind } from '../../base/types';
import { parseServe, patternChunk, serveAll, type DgramLike, type NetLike, type RunningService } from '../../services';
import { delLinkIfAny, hasTool, must, run, tapTestsSkipReason, uniq, waitExit } from '../nic/netns';
import { FULL, Gate, injectAndWait, log, mib, once, sleep } from './helpers';

const CURL_BYTES = FULL ? 256 << 20 : 16 << 20;
const NC_BYTES = FULL ? 64 << 20 : 4 << 20;
const PY_BYTES = FULL ? 64 << 20 : 16 << 20;
const CRASH_BYTES = FULL ? 128 << 20 : 32 << 20;
const CRASH_KILLS = FULL ? 15 : 6;
const CRASH_RATE = FULL ? '8M' : '3M'; // curl --limit-rate: the kills fall while data flows
const CRASH_HOLD = 1 << 20; // held back by the server until the kills are done
const CRASH_PORT = 8081;
const IMPAIR = { loss: 0.01, reorder: 0.01, duplicate: 0.01 };
const HASH_PORT = 5000;

/** SHA-256 of the first n bytes of the /bytes content. */
function bytesSha(n: number): string {
  const h = createHash('sha256');
  for (let off = 0; off < n; off += 65536) h.update(patternChunk(off, Math.min(65536, n - off)));
  return h.digest('hex');
}

function serverPattern(k: number): Buffer {
  // 1 MiB blocks, different for each k; deterministic so the expected hash is known.
  return Buffer.alloc(1 << 20).fill(`salamander-block-${k}-`);
}

/** A namespace with the `salacc-` prefix (test/nic/netns.ts makes `salnic-` ones). */
class AccNs {
  readonly name = `salacc-${uniq()}`;
  private created = false;

  add(): void {
    must('ip', ['netns', 'add', this.name]);
    this.created = true;
    must('ip', ['-n', this.name, 'link', 'set', 'lo', 'up']);
  }

  adopt(dev: string, cidr: string): void {
    must('ip', ['link', 'set', dev, 'netns', this.name]);
    run('ip', ['netns', 'exec', this.name, 'sysctl', '-qw', `net.ipv6.conf.${dev}.disable_ipv6=1`]);
    must('ip', ['-n', this.name, 'addr', 'add', cidr, 'dev', dev]);
    must('ip', ['-n', this.name, 'link', 'set', dev, 'up']);
  }

  /** Runs a command in the namespace without blocking the event loop (the stack's app side
   *  lives on this thread); kills it after timeoutMs. */
  async exec(args: string[], timeoutMs: number): Promise<{ code: number | null; out: string; err: string; ms: number }> {
    const t0 = Date.now();
    const child = spawn('ip', ['netns', 'exec', this.name, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('error', () => undefined); // a child's stdio may end in ECONNRESET
    child.stderr!.on('error', () => undefined);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await waitExit(child, timeoutMs);
    return { code, out, err, ms: Date.now() - t0 };
  }

  del(): void {
    if (!this.created) return;
    run('ip', ['netns', 'del', this.name]);
    this.created = false;
  }
}

const PY_CLIENT = String.raw`
import hashlib, json, os, socket, sys, threading
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, b'cubic')
s.settimeout(120)
s.connect((host, port))
cc = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, 16).split(b'\0')[0].decode()
got = {'n': 0, 'h': hashlib.sha256()}
def reader():
    while True:
        d = s.recv(1 << 20)
        if not d:
            break
        got['n'] += len(d)
        got['h'].update(d)
t = threading.Thread(target=reader)
t.start()
h = hashlib.sha256()
block = os.urandom(1 << 20)
left = n
i = 0
while left > 0:
    b = hashlib.sha256(block + i.to_bytes(4, 'big')).digest() * 32768
    b = b[:min(left, len(b))]
    s.sendall(b)
    h.update(b)
    left -= len(b)
    i += 1
s.shutdown(socket.SHUT_WR)
t.join(180)
print(json.dumps({'sent': n, 'sent_sha': h.hexdigest(), 'recv': got['n'], 'recv_sha': got['h'].hexdigest(), 'cc': cc}))
`;

describe('acceptance: Salamander TCP against Linux TCP over TAP (root, own namespace)', function () {
  this.timeout(FULL ? 1_800_000 : 600_000);
  const skip = tapTestsSkipReason()
    ?? (hasTool('curl') ? null : 'curl is not installed')
    ?? (hasTool('nc', ['-h']) ? null : 'nc (netcat-openbsd) is not installed')
    ?? (fs.existsSync('/usr/bin/python3') ? null : '/usr/bin/python3 is missing');
  const ns = new AccNs();
  const dev = `salacc${uniq()}`.slice(0, 15);
  let tmp = '';
  let stack: Stack | null = null;
  let services: RunningService[] = [];
  let hashSrv: ReturnType<Stack['net']['createServer']> | null = null;
  const hashResults: { bytes: number; sha: string }[] = [];
  const serverSent: string[] = [];

  before(async function () {
    if (skip) {
      log(`skipped: ${skip}`);
      this.skip();
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'salacc-'));
    ns.add();
    stack = new Stack({
      name: 'acclx', links: [{ name: 'tap0', type: 'tap', device: dev, addresses: ['192.0.2.2/24'] }],
      supervisor: { spares: 1, hangTimeoutMs: 2000 }, tcp: { maxConns: 256, sendBufBytes: 1 << 20, recvBufBytes: 1 << 20 },
    });
    await stack.start();
    ns.adopt(dev, '192.0.2.1/24');
    // Linux's side uses CUBIC. The namespace default (sysctl net.ipv4.tcp_congestion_control)
    // may only be set to an algorithm in the host's tcp_allowed_congestion_control outside the
    // initial namespace (EPERM otherwise, e.g. where the host allows only "reno bbr"); a route's
    // `congctl` has no such restriction, so the connected route says cubic as well.
    const cc = await ns.exec(['sysctl', '-w', 'net.ipv4.tcp_congestion_control=cubic'], 10000);
    must('ip', ['-n', ns.name, 'route', 'replace', '192.0.2.0/24', 'dev', dev, 'proto', 'kernel', 'scope', 'link', 'src', '192.0.2.1', 'congctl', 'cubic']);
    const routes = must('ip', ['-n', ns.name, 'route', 'show', '192.0.2.0/24']);
    expect(routes).to.match(/congctl cubic/);
    log(`Linux congestion control: cubic (${cc.code === 0 ? 'namespace default and route' : `route congctl; the sysctl said: ${cc.err.trim()}`})`);
    services = await serveAll(parseServe('echo=7,discard=9,http=80,source=19'), { net: stack.net as unknown as NetLike, dgram: stack.dgram as unknown as DgramLike, host: '192.0.2.2' });
    // The hashing server: hashes what arrives, sends PY_BYTES back at the same time.
    // allowHalfOpen: the client half-closes after its upload (SHUT_WR) while our download is
    // still going; with Node's default (false) the socket would end its own writable side at
    // the client's FIN and cut the download short, exactly as Node's net does.
    hashSrv = stack.net.createServer({ allowHalfOpen: true }, (c: Socket) => {
      const h = createHash('sha256');
      let bytes = 0;
      c.on('data', (d: Buffer) => {
        h.update(d);
        bytes += d.length;
      });
      c.on('error', (e) => hashResults.push({ bytes: -1, sha: String(e) }));
      c.on('end', () => hashResults.push({ bytes, sha: h.digest('hex') }));
      const out = createHash('sha256');
      void (async () => {
        for (let k = 0; k < PY_BYTES >> 20 && !c.destroyed; k++) {
          const b = serverPattern(k);
          out.update(b);
          if (!c.write(b)) await once(c, 'drain', 120000).catch(() => undefined);
        }
        serverSent.push(out.digest('hex'));
        c.end();
      })();
    });
    await new Promise<void>((r) => hashSrv!.listen(HASH_PORT, '192.0.2.2', r));
  });

  after(async () => {
    if (skip) return;
    // Bounded: a service's close() waits for its connections to end (it could wait for ever on
    // one left open by a failed test), and the namespace must be deleted in any case.
    hashSrv?.close();
    await Promise.race([Promise.all(services.map((s) => s.close().catch(() => undefined))), sleep(5000)]);
    await Promise.race([stack?.stop(), sleep(20000)]).catch(() => undefined);
    ns.del();
    delLinkIfAny(dev);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const curlBytes = async (n: number, extra: string[] = [], timeoutMs = 300000, url = `http://192.0.2.2/bytes?n=${n}`): Promise<{ code: number | null; sha: string; ms: number; err: string }> => {
    const cmd = `set -o pipefail; curl -sS --max-time ${Math.floor(timeoutMs / 1000) - 5} ${extra.join(' ')} '${url}' | sha256sum`;
    const r = await ns.exec(['bash', '-c', cmd], timeoutMs);
    return { code: r.code, sha: r.out.split(' ')[0], ms: r.ms, err: r.err };
  };

  const mbps = (bytes: number, ms: number): string => `${((bytes * 8) / (ms / 1000) / 1e6).toFixed(0)} Mbit/s`;

  const checkCurl = async (label: string, n: number): Promise<void> => {
    const r = await curlBytes(n);
    expect(r.code, r.err).to.equal(0);
    expect(r.sha).to.equal(bytesSha(n));
    log(`${label}: curl ${mib(n)} in ${r.ms} ms (${mbps(n, r.ms)}), SHA-256 ok`);
  };

  const checkNc = async (label: string): Promise<void> => {
    const file = path.join(tmp, 'ncfile');
    if (!fs.existsSync(file)) fs.writeFileSync(file, randomBytes(NC_BYTES));
    const want = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
    const d = await ns.exec(['bash', '-c', `nc -N -w 60 192.0.2.2 9 < ${file}`], 120000);
    expect(d.code, `nc to discard: ${d.err}`).to.equal(0);
    const e = await ns.exec(['bash', '-c', `set -o pipefail; nc -N -w 60 192.0.2.2 7 < ${file} | sha256sum`], 120000);
    expect(e.code, `nc to echo: ${e.err}`).to.equal(0);
    expect(e.out.split(' ')[0]).to.equal(want);
    log(`${label}: nc ${mib(NC_BYTES)} to discard in ${d.ms} ms, echo round trip in ${e.ms} ms, SHA-256 ok`);
  };

  const checkPython = async (label: string): Promise<void> => {
    const script = path.join(tmp, 'client.py');
    fs.writeFileSync(script, PY_CLIENT);
    const before = hashResults.length;
    const sentBefore = serverSent.length;
    const r = await ns.exec(['/usr/bin/python3', script, '192.0.2.2', String(HASH_PORT), String(PY_BYTES)], 300000);
    expect(r.code, r.err).to.equal(0);
    const res = JSON.parse(r.out.trim().split('\n').pop()!);
    const t = Date.now();
    while ((hashResults.length === before || serverSent.length === sentBefore) && Date.now() - t < 30000) await sleep(20);
    expect(hashResults.length, 'the server saw the end of the upload').to.equal(before + 1);
    const up = hashResults[before];
    expect(up.bytes).to.equal(PY_BYTES);
    expect(up.sha, 'upload SHA-256').to.equal(res.sent_sha);
    expect(res.cc).to.equal('cubic');
    expect(res.recv).to.equal(PY_BYTES);
    expect(res.recv_sha, 'download SHA-256').to.equal(serverSent[sentBefore]);
    log(`${label}: python3 sent ${mib(PY_BYTES)} and received ${mib(PY_BYTES)} in ${r.ms} ms, SHA-256 ok both ways`);
  };

  it('curl downloads /bytes intact (Linux cubic receiving)', async () => {
    await checkCurl('clean', CURL_BYTES);
  });

  it('nc sends a file to discard and round-trips one through echo', async () => {
    await checkNc('clean');
  });

  // Was skipped as an "intermittent failure": the hashing server ran with Node's default
  // allowHalfOpen=false, so the client's FIN after its upload ended the server's download early
  // (Node's documented behaviour, which stack.net mirrors). Fixed in the test's server.
  it('python3 sends 16 MiB and receives 16 MiB at once, SHA-256 both ways', async () => {
    await checkPython('clean');
  });

  it('the source service streams chargen lines to nc', async () => {
    const r = await ns.exec(['bash', '-c', 'nc -w 10 192.0.2.2 19 | head -c 74000'], 30000);
    expect(r.out.length).to.equal(74000);
    const lines = r.out.split('\r\n').slice(0, -1);
    expect(lines.length).to.be.greaterThan(900);
    for (const l of lines) expect(l.length).to.equal(72);
  });

  describe('with loss 1%, reorder 1%, duplicate 1% on the TAP link', () => {
    before(async function () {
      if (skip) this.skip();
      await stack!.setImpair('tap0', IMPAIR, 'both');
    });
    after(async () => {
      if (!skip) await stack?.setImpair('tap0', { loss: 0, reorder: 0, duplicate: 0 }, 'both');
    });

    it('curl and nc transfers stay intact', async () => {
      const c0 = stack!.supervisor.counters('nic:tap0');
      await checkCurl('impaired', Math.min(CURL_BYTES, FULL ? 64 << 20 : 8 << 20));
      await checkNc('impaired');
      const c1 = stack!.supervisor.counters('nic:tap0');
      const d = (k: string): number => (c1[k] ?? 0) - (c0[k] ?? 0);
      const lost = d('impair.drop.tx.loss') + d('impair.drop.rx.loss');
      const dup = d('impair.tx.duplicated') + d('impair.rx.duplicated');
      const reo = d('impair.tx.reordered') + d('impair.rx.reordered');
      log(`impairment applied: ${lost} frames lost, ${dup} duplicated, ${reo} reordered`);
      expect(lost).to.be.greaterThan(0);
      expect(dup).to.be.greaterThan(0);
      expect(reo).to.be.greaterThan(0);
    });

    // BUG (found by this test, not yet diagnosed): with loss/reorder/duplicate 1% on the TAP,
    // the python3 client's simultaneous 16 MiB upload + 16 MiB download against the hashing
    // server stalls: python3 does not finish within 300 s (clean, the same exchange takes
    // 0.7 s; curl and nc one-way and echo transfers under the same impairment pass). Skipped so
    // the suite stays green; see docs/acceptance.md "Known failures".
    it('python3 sends and receives 16 MiB at once, intact', async () => {
      await checkPython('impaired');
    });
  });

  it(`a curl download of ${mib(CRASH_BYTES)} survives >= ${CRASH_KILLS} TCP actor kills`, async () => {
    // The test's own HTTP server holds back the download's last CRASH_HOLD bytes until the kills
    // are done: curl's --limit-rate alone did not make the download outlast them (see Gate).
    const gate = new Gate();
    let held = false;
    const srv = http.createServer((req, res) => {
      void (async () => {
        res.writeHead(200, { 'content-length': String(CRASH_BYTES) });
        for (let off = 0; off < CRASH_BYTES && !res.destroyed; off += 65536) {
          if (off >= CRASH_BYTES - CRASH_HOLD && !gate.isOpen) {
            held = true;
            await gate.opened;
          }
          if (!res.write(patternChunk(off, Math.min(65536, CRASH_BYTES - off)))) await once(res, 'drain', 120000).catch(() => undefined);
        }
        res.end();
      })();
    });
    await serveHttp(stack!.net, srv, CRASH_PORT, '192.0.2.2');
    const dl = curlBytes(CRASH_BYTES, ['--limit-rate', CRASH_RATE], FULL ? 900000 : 300000, `http://192.0.2.2:${CRASH_PORT}/`);
    let done = false;
    void dl.then(() => (done = true));
    const kills: { kind: FaultKind; downtimeMs: number }[] = [];
    const onRestart = (e: { name: string; downtimeMs: number }): void => {
      if (e.name === 'tcp' && kills.length) kills[kills.length - 1].downtimeMs = e.downtimeMs;
    };
    stack!.on('restarted', onRestart);
    try {
      await sleep(1000); // the download under way
      for (let i = 0; !done && kills.length < CRASH_KILLS; i++) {
        await sleep(300 + Math.random() * 500);
        if (done) break;
        const kind = FAULT_KINDS[i % FAULT_KINDS.length];
        kills.push({ kind, downtimeMs: -1 });
        await injectAndWait(stack!, 'tcp', kind);
      }
    } finally {
      gate.open();
    }
    const r = await dl;
    stack!.off('restarted', onRestart);
    srv.close();
    log(`crash: curl ${mib(CRASH_BYTES)} (--limit-rate ${CRASH_RATE}, last ${mib(CRASH_HOLD)} held back for the kills: ${held ? 'yes' : 'no, the kills were done first'}) ` +
      `in ${r.ms} ms with ${kills.length} kills (${kills.map((k) => `${k.kind} ${k.downtimeMs.toFixed(0)} ms`).join(', ')})`);
    expect(r.code, r.err).to.equal(0);
    expect(r.sha).to.equal(bytesSha(CRASH_BYTES));
    expect(kills.length, 'kills while the download ran').to.be.at.least(CRASH_KILLS);
  });
});
