// `salamander ctl top`: a live, refreshing view of a running stack: per actor (state,
// restarts, records/s in and out, fullest input ring), per link (frames/s, drops), per
// connection once TCP reports them. Reads `status` over the control socket once per interval.

import { controlCall } from './control';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Status = Record<string, any>;

interface Sample {
  t: number;
  ring: Map<string, number>;
  link: Map<string, { rx: number; tx: number; drops: number }>;
}

function sample(st: Status): Sample {
  const ring = new Map<string, number>();
  for (const r of st.rings ?? []) ring.set(`${r.from}->${r.to}`, r.committed);
  const link = new Map<string, { rx: number; tx: number; drops: number }>();
  for (const l of st.links ?? []) {
    const c = l.counters ?? {};
    let drops = 0;
    for (const [k, v] of Object.entries(c)) if (/\.drop\./.test(k)) drops += v as number;
    link.set(l.name, { rx: c['nic.rx.frames'] ?? 0, tx: c['nic.tx.frames'] ?? 0, drops });
  }
  return { t: performance.now(), ring, link };
}

const rate = (a: number, b: number, dt: number): string => {
  const r = ((b - a) * 1000) / dt;
  return r >= 1e6 ? `${(r / 1e6).toFixed(2)}M` : r >= 1e3 ? `${(r / 1e3).toFixed(1)}k` : r.toFixed(0);
};

export function renderTop(st: Status, prev: Sample | null, cur: Sample): string {
  const dt = prev ? cur.t - prev.t : 1;
  const lines: string[] = [];
  lines.push(`salamander ${st.name}  actors ${st.actors?.length ?? 0}  restarts ${st.supervisor?.restarted ?? 0}  hangs ${st.supervisor?.hangs ?? 0}  escalated ${st.supervisor?.escalated ?? 0}`);
  lines.push('');
  lines.push('ACTOR            STATE       INC  RESTARTS   IN/s     OUT/s    IN-FILL');
  for (const a of st.actors ?? []) {
    let inR = 0;
    let outR = 0;
    let fill = 0;
    for (const r of st.rings ?? []) {
      const key = `${r.from}->${r.to}`;
      const d = prev ? (r.committed - (prev.ring.get(key) ?? r.committed)) : 0;
      if (String(r.to).startsWith(a.name + '.')) {
        inR += d;
        fill = Math.max(fill, r.fill);
      }
      if (String(r.from).startsWith(a.name + '.')) outR += d;
    }
    lines.push(`${String(a.name).padEnd(16)} ${String(a.state).padEnd(11)} ${String(a.incarnation).padStart(3)}  ${String(a.restarts).padStart(8)}  ` +
      `${rate(0, inR, dt).padStart(7)}  ${rate(0, outR, dt).padStart(7)}  ${(fill * 100).toFixed(1).padStart(6)}%`);
  }
  lines.push('');
  lines.push('LINK             STATE  RX pps    TX pps    DROPS');
  for (const l of st.links ?? []) {
    const c = cur.link.get(l.name)!;
    const p = prev?.link.get(l.name) ?? c;
    lines.push(`${String(l.name).padEnd(16)} ${l.up ? 'up  ' : 'down'}   ${rate(p.rx, c.rx, dt).padStart(7)}   ${rate(p.tx, c.tx, dt).padStart(7)}   ${c.drops}`);
  }
  const conns = st.tcp?.connections as Array<Record<string, any>> | undefined;
  lines.push('');
  if (conns) {
    lines.push('CONNECTION                                   STATE         CWND      RTT ms   RETRANS');
    for (const c of conns) lines.push(`${String(c.id).padEnd(44)} ${String(c.state).padEnd(13)} ${String(c.cwnd).padStart(8)}  ${Number(c.rttMs ?? 0).toFixed(2).padStart(7)}  ${c.retransmits ?? 0}`);
  } else lines.push('(no TCP in this stack yet: connections appear here once the TCP actor runs)');
  return lines.join('\n');
}

export async function runTop(path: string, intervalMs: number, count: number): Promise<number> {
  const tty = process.stdout.isTTY;
  let prev: Sample | null = null;
  for (let i = 0; count <= 0 || i < count; i++) {
    const st = (await controlCall(path, 'status')) as Status;
    const cur = sample(st);
    const text = renderTop(st, prev, cur);
    process.stdout.write(tty ? `\x1b[H\x1b[2J${text}\n` : `${text}\n\n`);
    prev = cur;
    if (count > 0 && i === count - 1) break;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return 0;
}
