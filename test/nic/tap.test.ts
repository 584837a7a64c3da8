// TAP link against the real kernel (root only; skips with a message otherwise): open/attach and
// its errors, frames both ways, fd re-adoption (config, shared region, /proc/self/fd scan),
// eventfd wake-ups of the NIC's poll()-based sleep. The device is created in the root
// namespace and moved at once into a namespace this test owns.

import { expect } from 'chai';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import {
  openTap, closeTap, tapInfo, isTapFd, findTapFd, adoptOrOpenTap, TapLink, CARRIER_PROBE_MS, TapError, NicShared,
} from '../../actors/nic/tap';
import { fdIsOpen } from '../../base/ffi';
import { createEventfd, eventfdWrite, eventfdDrain, closeEventfd } from '../../base/eventfd';
import { Bell } from '../../base/bell';
import { WriteStatus, formatMac } from '../../actors/nic/link';
import { create as createNic } from '../../actors/nic/actor';
import { LocalCounters } from '../../actors/nic/link';
import type { ActorContext } from '../../base/actor';
import { Netns, tapTestsSkipReason, uniq, delLinkIfAny } from './netns';
import { Collector, seqFrame } from './frames';
import { waitFor } from '../util';

const SAL_MAC = '02:00:5e:10:00:02';

describe('nic tap link (root)', function () {
  this.timeout(30000);
  const skip = tapTestsSkipReason();
  let ns: Netns;
  const devs: string[] = [];
  const fds: number[] = [];

  before(function () {
    if (skip) {
      console.log(`      skipping TAP tests: ${skip}`);
      this.skip();
    }
    ns = new Netns('tap').add();
  });

  after(() => {
    for (const fd of fds) if (fdIsOpen(fd) && tapInfo(fd)) closeTap(fd);
    for (const d of devs) delLinkIfAny(d);
    ns?.del();
  });

  function newDev(): string {
    const d = `salt${uniq()}`;
    devs.push(d);
    return d;
  }

  function openInNs(cidr = '192.0.2.1/24'): { fd: number; name: string } {
    const h = openTap(newDev());
    fds.push(h.fd);
    ns.adopt(h.name, cidr);
    return h;
  }

  it('rejects bad names, attaching to a missing device, and a second open of a bound device', () => {
    expect(() => openTap('this-name-is-too-long')).to.throw(TapError).with.property('code', 'ERR_TAP_NAME');
    expect(() => openTap(`nx${uniq()}`, 'attach')).to.throw(TapError).with.property('code', 'ERR_TAP_NOT_FOUND');
    const h = openTap(newDev());
    fds.push(h.fd);
    expect(() => openTap(h.name)).to.throw(TapError).with.property('code', 'ERR_TAP_BUSY');
    expect(() => openTap(h.name, 'create')).to.throw(TapError);
    closeTap(h.fd);
    expect(fdIsOpen(h.fd)).to.equal(false);
  });

  it('says clearly when /dev/net/tun is missing or permission is denied', () => {
    const script = `try { require(${JSON.stringify(path.join(__dirname, '../../actors/nic/tap.js'))}).openTap('salnope0'); console.log('opened'); } catch (e) { console.log(e.code + ' ' + e.message); }`;
    const missing = spawnSync('unshare', ['-m', 'sh', '-c', `mount -t tmpfs none /dev/net && ${process.execPath} -e "$0"`, script], { encoding: 'utf8', timeout: 20000 });
    if (missing.status === 0) {
      expect(missing.stdout).to.match(/^ERR_TUN_MISSING .*modprobe tun/);
    } else console.log(`      (unshare -m not usable here: ${missing.stderr.trim()})`);
    const denied = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20000, uid: 65534, gid: 65534, cwd: '/' });
    expect(denied.stdout, denied.stderr).to.match(/^ERR_TUN_PERMISSION .*root or CAP_NET_ADMIN/);
  });

  it('writes frames the kernel receives and reads frames the kernel sends', async () => {
    const h = openInNs();
    const c = new LocalCounters();
    const link = new TapLink({ fd: h.fd, name: h.name, mac: SAL_MAC, counters: c });
    const got = new Collector();
    link.attach(got);
    const before = ns.rxPackets(h.name);
    for (let i = 0; i < 10; i++) expect(link.write(seqFrame(i, 60 + i * 100), 0, 60 + i * 100, 0)).to.equal(WriteStatus.SENT);
    await waitFor(() => ns.rxPackets(h.name) >= before + 10, 5000, 'the kernel to count 10 frames');
    expect(link.counters.get('tx.frames')).to.equal(10);
    // Linux sends an echo request to Salamander's MAC (static neighbour: no ARP needed).
    ns.mustExec(['ip', 'neigh', 'replace', '192.0.2.2', 'lladdr', SAL_MAC, 'dev', h.name]);
    const ping = ns.spawn(['ping', '-c', '1', '-W', '1', '192.0.2.2']);
    try {
      await waitFor(() => {
        link.poll(0, 64);
        return got.frames.some((f) => f[12] === 0x08 && f[13] === 0x00 && f[23] === 1);
      }, 5000, 'an ICMP frame from Linux');
    } finally {
      ping.kill();
    }
    const icmp = got.frames.find((f) => f[23] === 1)!;
    expect(formatMac(icmp.subarray(0, 6))).to.equal(SAL_MAC);
    expect(formatMac(icmp.subarray(6, 12))).to.equal(ns.linkMac(h.name));
    expect(link.counters.get('rx.frames')).to.be.at.least(1);
    expect(link.waitable()).to.deep.equal({ fd: h.fd, events: 1 });
  });

  it('counts writes to a device that is down as drops, and mirrors admin state as carrier', () => {
    const h = openInNs();
    const link = new TapLink({ fd: h.fd, name: h.name });
    link.setUp(false, 0);
    const j = JSON.parse(ns.mustExec(['ip', '-j', 'link', 'show', h.name]));
    expect(j[0].flags).to.include('NO-CARRIER');
    link.setUp(true, 0);
    ns.mustExec(['ip', 'link', 'set', h.name, 'down']);
    expect(link.write(seqFrame(1), 0, 64, 0)).to.equal(WriteStatus.DROPPED);
    expect(link.counters.get('drop.device-down')).to.equal(1);
  });

  it('takes EIO after the kernel side was up as a lost carrier, probes every CARRIER_PROBE_MS, and gets it back (also across a new incarnation)', () => {
    const h = openInNs();
    const shared = new SharedArrayBuffer(NicShared.BYTES);
    const states: Array<{ up: boolean; carrier: boolean }> = [];
    const link = new TapLink({ fd: h.fd, name: h.name, mac: SAL_MAC, shared, now: 0 });
    link.attach({ onFrame: () => undefined, onLinkState: (st) => states.push({ ...st }) });
    expect(link.write(seqFrame(1), 0, 64, 0)).to.equal(WriteStatus.SENT); // seen up
    const rx0 = ns.rxPackets(h.name);
    ns.mustExec(['ip', 'link', 'set', h.name, 'down']);
    expect(link.write(seqFrame(2), 0, 64, 1000)).to.equal(WriteStatus.DROPPED);
    expect(link.state.carrier, 'carrier after EIO').to.equal(false);
    expect(states).to.deep.equal([{ up: true, carrier: false }]);
    expect(link.counters.get('drop.carrier-lost')).to.equal(1);
    expect(link.nextDeadline()).to.equal(1000 + CARRIER_PROBE_MS);
    // Without carrier nothing is written (dropped as link-down, not sent into the device).
    expect(link.write(seqFrame(3), 0, 64, 1001)).to.equal(WriteStatus.DROPPED);
    expect(link.counters.get('drop.link-down')).to.equal(1);
    // A probe while the side is still down: carrier stays off, the next probe is scheduled.
    link.onTimer(1000 + CARRIER_PROBE_MS);
    expect(link.state.carrier).to.equal(false);
    expect(link.nextDeadline()).to.equal(1000 + 2 * CARRIER_PROBE_MS);
    // A new incarnation (same shared region) starts without carrier, probing at once.
    const next = new TapLink({ fd: h.fd, name: h.name, mac: SAL_MAC, shared, now: 2000 });
    expect(next.state.carrier, 'a new incarnation starts without carrier').to.equal(false);
    expect(next.nextDeadline()).to.equal(2000);
    ns.mustExec(['ip', 'link', 'set', h.name, 'up']);
    next.onTimer(2000);
    expect(next.state.carrier, 'carrier back after a probe got through').to.equal(true);
    expect(next.nextDeadline()).to.equal(Infinity);
    expect(next.write(seqFrame(4), 0, 64, 2001)).to.equal(WriteStatus.SENT);
    // The kernel saw the probe (60 bytes to our own MAC) and the frame.
    expect(ns.rxPackets(h.name) - rx0).to.be.at.least(2);
    // ... and the shared record is cleared: a third incarnation starts with carrier.
    expect(new TapLink({ fd: h.fd, name: h.name, mac: SAL_MAC, shared, now: 3000 }).state.carrier).to.equal(true);
  });

  it('a device that was never up: EIO is only a drop (no carrier change)', () => {
    const h = openTap(newDev());
    fds.push(h.fd);
    const link = new TapLink({ fd: h.fd, name: h.name });
    expect(link.write(seqFrame(1), 0, 64, 0)).to.equal(WriteStatus.DROPPED);
    expect(link.counters.get('drop.device-down')).to.equal(1);
    expect(link.state.carrier).to.equal(true);
    expect(link.nextDeadline()).to.equal(Infinity);
  });

  it('re-adopts the fd from the config, the shared region, or /proc/self/fd', () => {
    const name = newDev();
    const shared = new SharedArrayBuffer(NicShared.BYTES);
    const first = adoptOrOpenTap(name, { shared });
    fds.push(first.fd);
    expect(first.source).to.equal('opened');
    expect(isTapFd(first.fd, name)).to.equal(true);
    // The device moves to another namespace: the fd stays bound to it.
    ns.adopt(name);
    expect(tapInfo(first.fd)?.name).to.equal(name);
    const again = adoptOrOpenTap(name, { shared });
    expect(again).to.include({ fd: first.fd, source: 'shared' });
    const scanned = adoptOrOpenTap(name, {});
    expect(scanned).to.include({ fd: first.fd, source: 'scan' });
    expect(findTapFd(name)).to.equal(first.fd);
    const fromConfig = adoptOrOpenTap(name, { fd: first.fd });
    expect(fromConfig).to.include({ fd: first.fd, source: 'config', opened: false });
    expect(() => adoptOrOpenTap('other0', { fd: first.fd })).to.throw(/bound to/);
  });

  it('sleeps in poll() on the device and the bell eventfd, and wakes on a ring from another thread', async () => {
    const h = openInNs();
    const efd = createEventfd();
    try {
      const block = new SharedArrayBuffer(1024);
      const bell = new Bell({ buffer: block, index: 0, eventfd: efd });
      const ctx = fakeCtx();
      const core = createNic(ctx, { link: { type: 'tap', name: h.name, fd: h.fd } });
      // Wake by eventfd alone (seq unchanged).
      let seq = bell.prepare();
      eventfdWrite(efd);
      let t0 = performance.now();
      core.sleep!(bell, seq, 10000);
      expect(performance.now() - t0).to.be.lessThan(5000);
      expect(eventfdDrain(efd)).to.equal(0); // the sleep drained it
      // Wake by a ring from another thread (Bell.ring loads base/eventfd there).
      seq = bell.prepare();
      const w = new Worker(
        `const { Bell } = require(${JSON.stringify(path.join(__dirname, '../../base/bell.js'))});
         const { workerData } = require('node:worker_threads');
         new Bell(workerData).ring();`,
        { eval: true, workerData: { buffer: block, index: 0, eventfd: efd } },
      );
      t0 = performance.now();
      core.sleep!(bell, seq, 10000);
      expect(performance.now() - t0).to.be.lessThan(5000);
      await new Promise((r) => w.once('exit', r));
      // Idle: returns at the timeout.
      seq = bell.prepare();
      t0 = performance.now();
      core.sleep!(bell, seq, 20);
      expect(performance.now() - t0).to.be.within(15, 2000);
      core.dispose!();
      expect(fdIsOpen(h.fd)).to.equal(true); // fd from the config: not ours to close
    } finally {
      closeEventfd(efd);
    }
  });
});

export function fakeCtx(name = 'nic:test'): ActorContext {
  const counters = new LocalCounters();
  return {
    name,
    incarnation: 0,
    inline: true,
    now: () => performance.now(),
    random: Math.random,
    randomU32: () => (Math.random() * 2 ** 32) >>> 0,
    counters: Object.assign(counters, {
      add: (n: string, v = 1) => counters.addSlot(counters.slot(n), v),
      set: (n: string, v: number) => counters.addSlot(counters.slot(n), v - counters.get(n)),
    }) as unknown as ActorContext['counters'],
    out: () => undefined,
    outPorts: () => [],
    shared: {},
    emit: () => undefined,
  };
}
