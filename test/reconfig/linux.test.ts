// Resilience contract against Linux over TAP (root only; skips otherwise): curl in a namespace of
// our own (salrc-*, 192.0.2.0/24) downloads at least 32 000 000 bytes from a Node http server
// running on a Salamander Stack (streaming until the changes are done, then 1 MiB more) while the stack's link goes down and up and its address is removed and re-added;
// the body's SHA-256 must match. (Route failover between two TAP links, with a curl download from
// Linux across it: test/reconfig/failover-tap.test.ts; docs/resilience.md.)

import { expect } from 'chai';
import * as http from 'node:http';
import { Stack } from '../../api/stack';
import { serveHttp } from '../../api/http';
import { Netns, delLinkIfAny, hasTool, tapTestsSkipReason, uniq, waitExit } from '../nic/netns';
import { Gate, streamUntil } from '../util';

const N = 32_000_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('reconfig: a curl download from Linux survives link down/up and address remove/re-add (TAP)', function () {
  this.timeout(180_000);
  const skip = tapTestsSkipReason() ?? (hasTool('curl') ? null : 'curl is not installed');
  const ns = new Netns('', 'salrc'); // our own namespace prefix
  const dev = `salrc${uniq()}`.slice(0, 15);
  const gate = new Gate(); // opened after the last change: the download spans them all
  let sent: Promise<{ bytes: number; sha: string }> | null = null;
  let stack: Stack | null = null;
  let server: http.Server | null = null;

  before(async function () {
    if (skip) {
      console.log(`      skipped: ${skip}`); // eslint-disable-line no-console
      this.skip();
    }
    ns.add();
    stack = new Stack({ name: 'rclx', links: [{ name: 'tap0', type: 'tap', device: dev, addresses: ['192.0.2.2/24'] }], supervisor: { spares: 1 } });
    await stack.start();
    ns.adopt(dev, '192.0.2.1/24');
    // Streams until the test's changes are done (then 1 MiB more), whatever curl's pace.
    server = http.createServer((req, res) => {
      res.writeHead(200);
      sent = streamUntil(res, gate, N);
    });
    await serveHttp(stack.net, server, 80, '192.0.2.2');
  });

  after(async () => {
    gate.open();
    server?.closeAllConnections();
    await stack?.stop();
    if (!skip) {
      ns.del();
      delLinkIfAny(dev);
    }
  });

  it('32 MB arrive intact across a 1 s link outage and a 1 s address removal', async () => {
    // Rate-limited so the changes fall while data flows; the server streams until they are done.
    const child = ns.spawn(['sh', '-c', `curl -sS --max-time 150 --limit-rate 5M http://192.0.2.2/bytes?n=${N} | sha256sum`]);
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const exited = waitExit(child, 170_000);
    await sleep(1000);
    await stack!.setLinkState('tap0', false);
    await sleep(1000);
    await stack!.setLinkState('tap0', true);
    await sleep(1000);
    await stack!.removeAddress('tap0', '192.0.2.2/24');
    await sleep(1000);
    await stack!.addAddress('tap0', '192.0.2.2/24');
    expect(child.exitCode, `curl still running after the changes (stderr: ${err.trim()})`).to.equal(null);
    gate.open();
    const code = await exited;
    expect(code, err).to.equal(0);
    expect(sent, 'the request reached the server').to.not.equal(null);
    const body = await sent!;
    expect(body.bytes).to.be.at.least(N);
    expect(out.split(' ')[0]).to.equal(body.sha);
    const c = stack!.supervisor.counters('tcp') as Record<string, number>;
    expect((c['tcp.reset'] ?? 0) + (c['tcp.address-gone-abort'] ?? 0), 'resets').to.equal(0);
  });
});
