// The UDP actor's state that survives a restart: the socket table (bindings, connected remotes,
// options), the multicast memberships and the per-socket receive accounting, all in the role's
// shared region `udp` (ActorSpec.shared.udp). Socket and membership records are committed
// crash-atomically (base/committed.ts: two slots and a flipped selector), so an actor that dies
// at any instruction leaves each record either as it was or as it was going to be; a new
// incarnation reads the region back (validating every record: it is memory another thread
// wrote) and carries on with no re-bind by the user.
//
// Region layout (every offset named here, and nowhere else):
//
//   0      HDR       Int32 words (HdrWord): MAGIC, VERSION, MAX_SOCKETS, MAX_MEMBERSHIPS
//   64     ACCT      Int32 words, two per socket slot: DELIVERED (written by the actor: payload
//                    bytes put in the udp->app ring for the slot) and CONSUMED (written by the
//                    app: payload bytes it took out). Both wrap at 2^32; the difference is the
//                    slot's receive queue. They keep counting across slot reuse (the app
//                    consumes every datagram it drains, even for a closed socket), so the
//                    difference stays right.
//   ...    SOCKETS   CommittedRecords(maxSockets, SOCK_FIELDS)
//   ...    MEMBERS   CommittedRecords(maxMemberships, MEMBER_FIELDS)

import { CommittedRecords } from '../../base/committed';

export const UDP_REGION_MAGIC = 0x55445031; // "UDP1"
export const UDP_REGION_VERSION = 1;

export const HdrWord = { MAGIC: 0, VERSION: 1, MAX_SOCKETS: 2, MAX_MEMBERSHIPS: 3 } as const;
const HDR_BYTES = 64;

/** Socket record fields (Float64 each; addresses as four big-endian u32 words). */
export const SockField = {
  /** SOCK_FREE, SOCK_BOUND, SOCK_CONNECTED. */
  STATE: 0,
  /** The app's socket id (u32, != 0). */
  SOCK: 1,
  /** 4 or 6. */
  FAMILY: 2,
  /** SOCKF_* bits. */
  FLAGS: 3,
  LPORT: 4,
  /** Local address words 0..3 (all zero = any). */
  LADDR: 5,
  RPORT: 9,
  /** Remote address words 0..3 (connected sockets). */
  RADDR: 10,
  /** Unicast TTL / hop limit (0 = IP's default). */
  TTL: 14,
  MTTL: 15,
  /** Receive budget in payload bytes. */
  RCVBUF: 16,
} as const;
export const SOCK_FIELDS = 17;

export const SOCK_FREE = 0;
export const SOCK_BOUND = 1;
export const SOCK_CONNECTED = 2;

export const SOCKF_REUSEADDR = 0x01;
export const SOCKF_BROADCAST = 0x02;
export const SOCKF_MCAST_LOOP = 0x04;
/** The socket was bound to the wildcard address; connect() fixed a source address, which
 *  disconnect() gives back (Linux's "bind address not locked"). */
export const SOCKF_WILDCARD_BOUND = 0x08;
export const SOCKF_V6ONLY = 0x10;
const SOCKF_ALL = 0x1f;

/** Membership record fields. */
export const MemberField = {
  /** 0 free, 1 in use. */
  STATE: 0,
  /** Socket slot, and that socket's id (both must match for the record to be valid). */
  SLOT: 1,
  SOCK: 2,
  FAMILY: 3,
  GROUP: 4,
  IFACE: 8,
} as const;
export const MEMBER_FIELDS = 12;

export interface TableSizes {
  maxSockets: number;
  maxMemberships: number;
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

function offsets(s: TableSizes): { acct: number; sockets: number; members: number; total: number } {
  const acct = HDR_BYTES;
  const sockets = acct + align8(s.maxSockets * 2 * 4);
  const members = sockets + CommittedRecords.bytes(s.maxSockets, SOCK_FIELDS);
  const total = members + CommittedRecords.bytes(s.maxMemberships, MEMBER_FIELDS);
  return { acct, sockets, members, total };
}

/** Bytes of the shared region for these sizes (ActorSpec.shared.udp). */
export function udpRegionBytes(s: TableSizes): number {
  return offsets(s).total;
}

/** The receive accounting words of a region, for the app side (api/dgram.ts). */
export class RecvAccounting {
  readonly words: Int32Array;
  constructor(region: SharedArrayBuffer, readonly maxSockets: number) {
    this.words = new Int32Array(region, HDR_BYTES, maxSockets * 2);
  }
  /** Reads the sizes a region was initialised with (0 when not yet initialised). */
  static sizesOf(region: SharedArrayBuffer): TableSizes | null {
    const h = new Int32Array(region, 0, HDR_BYTES / 4);
    if (Atomics.load(h, HdrWord.MAGIC) !== UDP_REGION_MAGIC) return null;
    return { maxSockets: h[HdrWord.MAX_SOCKETS], maxMemberships: h[HdrWord.MAX_MEMBERSHIPS] };
  }
  /** Payload bytes of `slot` waiting in the ring. A crash may leave DELIVERED short of the truth
   *  (never above it), so a "negative" difference reads as zero. */
  queued(slot: number): number {
    const d = (Atomics.load(this.words, slot * 2) - Atomics.load(this.words, slot * 2 + 1)) | 0;
    return d > 0 ? d : 0;
  }
  /** Actor side: after the datagram is published. */
  delivered(slot: number, bytes: number): void {
    Atomics.add(this.words, slot * 2, bytes);
  }
  /** App side: after the datagram is taken out of the ring. */
  consumed(slot: number, bytes: number): void {
    if (slot >= 0 && slot < this.maxSockets) Atomics.add(this.words, slot * 2 + 1, bytes);
  }
}

/** One socket as the actor works with it (a mirror of its committed record). */
export interface Socket {
  slot: number;
  state: number;
  sock: number;
  family: 4 | 6;
  flags: number;
  lport: number;
  laddr: Uint32Array;
  rport: number;
  raddr: Uint32Array;
  ttl: number;
  mttl: number;
  rcvbuf: number;
}

export interface Membership {
  index: number;
  slot: number;
  sock: number;
  family: 4 | 6;
  group: Uint32Array;
  iface: Uint32Array;
}

const isU32 = (v: number): boolean => Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
const isPort = (v: number): boolean => Number.isInteger(v) && v >= 0 && v <= 0xffff;

/** The shared socket table. The actor is its only writer. */
export class SocketTable {
  readonly sockets: CommittedRecords;
  readonly members: CommittedRecords;
  readonly acct: RecvAccounting;
  /** What load() found: whether the region was fresh, and records dropped as invalid. */
  readonly loadReport = { fresh: false, reset: false, invalidSockets: 0, invalidMembers: 0 };

  constructor(readonly region: SharedArrayBuffer, readonly sizes: TableSizes) {
    const o = offsets(sizes);
    if (region.byteLength < o.total) throw new Error(`udp shared region is ${region.byteLength} bytes, needs ${o.total}`);
    const h = new Int32Array(region, 0, HDR_BYTES / 4);
    const magic = Atomics.load(h, HdrWord.MAGIC);
    if (magic !== UDP_REGION_MAGIC || h[HdrWord.VERSION] !== UDP_REGION_VERSION ||
        h[HdrWord.MAX_SOCKETS] !== sizes.maxSockets || h[HdrWord.MAX_MEMBERSHIPS] !== sizes.maxMemberships) {
      // Fresh (all zero), or laid out for other sizes: start empty. The magic is stored last,
      // so a crash during initialisation just initialises again.
      if (magic === UDP_REGION_MAGIC) this.loadReport.reset = true;
      else this.loadReport.fresh = true;
      Atomics.store(h, HdrWord.MAGIC, 0);
      new Uint8Array(region, HDR_BYTES, o.total - HDR_BYTES).fill(0);
      h[HdrWord.VERSION] = UDP_REGION_VERSION;
      h[HdrWord.MAX_SOCKETS] = sizes.maxSockets;
      h[HdrWord.MAX_MEMBERSHIPS] = sizes.maxMemberships;
      Atomics.store(h, HdrWord.MAGIC, UDP_REGION_MAGIC);
    }
    this.acct = new RecvAccounting(region, sizes.maxSockets);
    this.sockets = new CommittedRecords(region, sizes.maxSockets, SOCK_FIELDS, o.sockets);
    this.members = new CommittedRecords(region, sizes.maxMemberships, MEMBER_FIELDS, o.members);
  }

  /** Reads every committed socket; invalid records are freed (and counted in loadReport). */
  loadSockets(): Socket[] {
    const out: Socket[] = [];
    const seenIds = new Set<number>();
    for (let i = 0; i < this.sizes.maxSockets; i++) {
      const state = this.sockets.get(i, SockField.STATE);
      if (state === SOCK_FREE) continue;
      const s = this.readSocket(i);
      if (!s || seenIds.has(s.sock)) {
        this.loadReport.invalidSockets++;
        this.freeSocket(i);
        continue;
      }
      seenIds.add(s.sock);
      out.push(s);
    }
    return out;
  }

  private readSocket(i: number): Socket | null {
    const r = this.sockets.load(i);
    const state = r[SockField.STATE];
    const family = r[SockField.FAMILY];
    if (state !== SOCK_BOUND && state !== SOCK_CONNECTED) return null;
    if (family !== 4 && family !== 6) return null;
    if (!isU32(r[SockField.SOCK]) || r[SockField.SOCK] === 0) return null;
    if (!isU32(r[SockField.FLAGS]) || (r[SockField.FLAGS] & ~SOCKF_ALL) !== 0) return null;
    if (!isPort(r[SockField.LPORT]) || r[SockField.LPORT] === 0 || !isPort(r[SockField.RPORT])) return null;
    if (state === SOCK_CONNECTED && r[SockField.RPORT] === 0) return null;
    const laddr = new Uint32Array(4);
    const raddr = new Uint32Array(4);
    for (let w = 0; w < 4; w++) {
      const a = r[SockField.LADDR + w];
      const b = r[SockField.RADDR + w];
      if (!isU32(a) || !isU32(b)) return null;
      if (family === 4 && w > 0 && (a !== 0 || b !== 0)) return null;
      laddr[w] = a;
      raddr[w] = b;
    }
    const ttl = r[SockField.TTL];
    const mttl = r[SockField.MTTL];
    const rcvbuf = r[SockField.RCVBUF];
    if (!(Number.isInteger(ttl) && ttl >= 0 && ttl <= 255) || !(Number.isInteger(mttl) && mttl >= 0 && mttl <= 255)) return null;
    if (!(Number.isInteger(rcvbuf) && rcvbuf >= 0 && rcvbuf <= 0x7fffffff)) return null;
    return {
      slot: i, state, sock: r[SockField.SOCK], family, flags: r[SockField.FLAGS], lport: r[SockField.LPORT], laddr,
      rport: r[SockField.RPORT], raddr, ttl, mttl, rcvbuf,
    };
  }

  /** Commits the socket's current values (one crash-atomic record). */
  commitSocket(s: Socket): void {
    const d = this.sockets.draft;
    d[SockField.STATE] = s.state;
    d[SockField.SOCK] = s.sock;
    d[SockField.FAMILY] = s.family;
    d[SockField.FLAGS] = s.flags;
    d[SockField.LPORT] = s.lport;
    d[SockField.RPORT] = s.rport;
    for (let w = 0; w < 4; w++) {
      d[SockField.LADDR + w] = s.laddr[w];
      d[SockField.RADDR + w] = s.raddr[w];
    }
    d[SockField.TTL] = s.ttl;
    d[SockField.MTTL] = s.mttl;
    d[SockField.RCVBUF] = s.rcvbuf;
    this.sockets.commit(s.slot);
  }

  freeSocket(slot: number): void {
    this.sockets.draft.fill(0);
    this.sockets.commit(slot);
  }

  /** Reads every committed membership whose socket is in `live` (slot -> socket id). */
  loadMembers(live: Map<number, number>): Membership[] {
    const out: Membership[] = [];
    for (let i = 0; i < this.sizes.maxMemberships; i++) {
      if (this.members.get(i, MemberField.STATE) === 0) continue;
      const r = this.members.load(i);
      const slot = r[MemberField.SLOT];
      const sock = r[MemberField.SOCK];
      const family = r[MemberField.FAMILY];
      let ok = r[MemberField.STATE] === 1 && live.get(slot) === sock && (family === 4 || family === 6);
      const group = new Uint32Array(4);
      const iface = new Uint32Array(4);
      for (let w = 0; w < 4 && ok; w++) {
        if (!isU32(r[MemberField.GROUP + w]) || !isU32(r[MemberField.IFACE + w])) ok = false;
        else {
          group[w] = r[MemberField.GROUP + w];
          iface[w] = r[MemberField.IFACE + w];
        }
      }
      if (!ok) {
        // A membership of a socket that is gone (a crash between freeing the socket and its
        // memberships) or a corrupt record.
        this.loadReport.invalidMembers++;
        this.freeMember(i);
        continue;
      }
      out.push({ index: i, slot, sock, family: family as 4 | 6, group, iface });
    }
    return out;
  }

  commitMember(m: Membership): void {
    const d = this.members.draft;
    d.fill(0);
    d[MemberField.STATE] = 1;
    d[MemberField.SLOT] = m.slot;
    d[MemberField.SOCK] = m.sock;
    d[MemberField.FAMILY] = m.family;
    for (let w = 0; w < 4; w++) {
      d[MemberField.GROUP + w] = m.group[w];
      d[MemberField.IFACE + w] = m.iface[w];
    }
    this.members.commit(m.index);
  }

  freeMember(i: number): void {
    this.members.draft.fill(0);
    this.members.commit(i);
  }
}
