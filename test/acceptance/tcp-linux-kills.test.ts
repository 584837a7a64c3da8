// Crash survival against Linux over TAP (root; own namespace `salacc-`, 192.0.2.0/24): 16
// concurrent transfers between Linux curl and Node's http on a Salamander stack, 8 downloads
// and 8 uploads, while the TCP actor is killed with every fault kind. Every transfer must
// complete intact (curl exit 0, SHA-256 match), zero resets.
// Default: 8 MiB per transfer, >= 10 kills. ACCEPTANCE_FULL=1: 64 MiB each, >= 50 kills.
// Transfers are rate-limited (curl --limit-rate) so the kills fall while data flows, and the
// server holds back the last HOLD bytes of each transfer (downloads: not written; uploads: not
// read, the window closes) until the kills are done, so the transfers outlast the kill schedule
// on any machine. Kills are spaced so the supervisor's restart intensity (10 in 5 s) is never
// exceeded.

import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as http from 'node:http';
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { Stack } from '../../api/stack';
import { serveHttp } from '../../api/http';
import { FAULT_KINDS } from '../../base/types';
import { Netns, tapTestsSkipReason, uniq, delLinkIfAny, hasTool, quietPipes } from '../nic/netns';
import { FULL, Gate, injectAndWait, sleep, once, mib, log } from './helpers';

const SIZE = FULL ? 64 << 20 : 8 << 20;
const KILLS = FULL ? 50 : 10;
const RATE = FULL ? '900K' : '1M';
const HOLD = 1 << 20;

function blob(k: number, n: number): Buffer {
  return Buffer.alloc(n).fill(`salamander-${k}-`);
}
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Runs a shell command in the namespace without blocking this thread (the stack lives here). */
function nsRun(ns: string, cmd: string, timeoutMs: number): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = quietPipes(spawn('ip', ['netns', 'exec', ns, 'bash', '-c', cmd], { stdio: ['ignore', 'pipe', 'pipe'] }));
    let out = '';
    let err = '';
    p.stdout!.on('data', (d) => (out += d));
    p.stderr!.on('data', (d) => (err += d));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, out, err });
    });
  });
}

describe('acceptance: 16 transfers against Linux over TAP survive TCP actor kills (root)', function () {
  this.timeout(FULL ? 1_200_000 : 300_000);
  const skip = tapTestsSkipReason() ?? (hasTool('curl') ? null : 'curl is not installed');
  const ns = new Netns('kill');
  const dev = `salk${uniq()}`.slice(0, 15);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'salkill-'));
  let stack: Stack | null = null;
  let srv: http.Server | null = null;
  const uploads = new Map<string, string>();
  const gate = new Gate(); // opened when the kills are done
  let heldBack = 0; // transfers that reached their held-back end before the gate opened

  before(async function () {
    if (skip) {
      console.log(`      skipped: ${skip}`);
      this.skip();
    }
    ns.add();
    stack = new Stack({ name: 'k', links: [{ name: 'tap0', type: 'tap', device: dev, addresses: ['192.0.2.2/24'] }], tcp: { maxConns: 256, sendBufBytes: 1 << 18, recvBufBytes: 1 << 18 } });
    await stack.start();
    ns.adopt(dev, '192.0.2.1/24');
    srv = http.createServer((req, res) => {
      const k = Number(/\/(\d+)$/.exec(req.url ?? '')?.[1] ?? 0);
      if (req.method === 'POST') {
        const h = createHash('sha256');
        let got = 0;
        req.on('data', (d: Buffer) => {
          h.update(d);
          got += d.length;
          if (got >= SIZE - HOLD && !gate.isOpen && !req.isPaused()) {
            heldBack++;
            req.pause();
            void gate.opened.then(() => req.resume());
          }
        });
        req.on('end', () => {
          const hex = h.digest('hex');
          uploads.set(String(k), hex);
          res.end(hex);
        });
        return;
      }
      res.writeHead(200, { 'content-length': String(SIZE) });
      const b = blob(k, SIZE);
      res.write(b.subarray(0, SIZE - HOLD));
      if (!gate.isOpen) heldBack++;
      void gate.opened.then(() => res.end(b.subarray(SIZE - HOLD)));
    });
    await serveHttp(stack.net, srv, 80, '192.0.2.2');
    for (let k = 0; k < 8; k++) fs.writeFileSync(path.join(tmp, `up${k}`), blob(100 + k, SIZE));
  });

  after(async () => {
    gate.open();
    srv?.close();
    await Promise.race([stack?.stop(), sleep(20000)]).catch(() => undefined);
    ns.del();
    delLinkIfAny(dev);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it(`8 downloads + 8 uploads of ${mib(SIZE)} stay intact through >= ${KILLS} kills`, async () => {
    const t0 = Date.now();
    const limit = FULL ? 1_100_000 : 280_000;
    const downs = Array.from({ length: 8 }, (_, k) =>
      nsRun(ns.name, `set -o pipefail; curl -sS --max-time ${limit / 1000} --limit-rate ${RATE} http://192.0.2.2/dl/${k} | sha256sum`, limit));
    const ups = Array.from({ length: 8 }, (_, k) =>
      nsRun(ns.name, `curl -sS --max-time ${limit / 1000} --limit-rate ${RATE} -H 'Expect:' --data-binary @${path.join(tmp, `up${k}`)} http://192.0.2.2/up/${100 + k}`, limit));
    let done = 0;
    for (const p of [...downs, ...ups]) void p.then(() => done++);
    await sleep(500); // let the transfers get going
    const kinds: string[] = [];
    try {
      for (let i = 0; kinds.length < KILLS && done < 16; i++) {
        const kind = FAULT_KINDS[i % FAULT_KINDS.length];
        await injectAndWait(stack!, 'tcp', kind);
        kinds.push(kind);
        await sleep(600); // at most ~8 restarts in any 5 s: below the restart intensity
      }
    } finally {
      gate.open();
    }
    const dres = await Promise.all(downs);
    const ures = await Promise.all(ups);
    log(`${kinds.length} kills (${FAULT_KINDS.map((k) => `${k} ${kinds.filter((x) => x === k).length}`).join(', ')}); ` +
      `16 x ${mib(SIZE)} in ${((Date.now() - t0) / 1000).toFixed(1)} s; ${heldBack} of 16 held back for the kills`);
    expect(kinds.length, 'kills happened while transfers ran').to.be.at.least(KILLS);
    dres.forEach((r, k) => {
      expect(r.code, `download ${k}: ${r.err}`).to.equal(0);
      expect(r.out.split(' ')[0], `download ${k} SHA-256`).to.equal(sha(blob(k, SIZE)));
    });
    ures.forEach((r, k) => {
      expect(r.code, `upload ${k}: ${r.err}`).to.equal(0);
      expect(r.out.trim(), `upload ${k} SHA-256`).to.equal(sha(blob(100 + k, SIZE)));
      expect(uploads.get(String(100 + k))).to.equal(sha(blob(100 + k, SIZE)));
    });
    expect(stack!.supervisor.stats.escalated).to.equal(0);
  });
});
