// pcap (libpcap classic format) writer and reader, pure: bytes in, bytes out.
// Format: https://www.tcpdump.org/manpages/pcap-savefile.5.html (magic 0xa1b2c3d4, v2.4,
// microsecond timestamps; 0xa1b23c4d nanosecond files are read too). Link type 1 = Ethernet.

import { ParseResult, ok, err } from './result';

export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;
const MAGIC_US = 0xa1b2c3d4;
const MAGIC_NS = 0xa1b23c4d;
const GLOBAL_HEADER_LEN = 24;
const RECORD_HEADER_LEN = 16;

export interface PcapRecord {
  /** Capture time in microseconds since the Unix epoch. */
  timeUs: number;
  /** Captured bytes (may be shorter than origLen when the capture was truncated). */
  data: Uint8Array;
  origLen: number;
}

export interface PcapFile {
  linkType: number;
  snapLen: number;
  records: PcapRecord[];
}

/** The 24-byte global header. */
export function pcapGlobalHeader(linkType = LINKTYPE_ETHERNET, snapLen = 262144): Uint8Array {
  const b = new Uint8Array(GLOBAL_HEADER_LEN);
  const v = new DataView(b.buffer);
  v.setUint32(0, MAGIC_US, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setInt32(8, 0, true); // thiszone
  v.setUint32(12, 0, true); // sigfigs
  v.setUint32(16, snapLen, true);
  v.setUint32(20, linkType, true);
  return b;
}

/** One record: 16-byte header followed by the frame bytes. */
export function pcapRecord(timeUs: number, frame: Uint8Array, origLen = frame.length): Uint8Array {
  const b = new Uint8Array(RECORD_HEADER_LEN + frame.length);
  const v = new DataView(b.buffer);
  const sec = Math.floor(timeUs / 1e6);
  v.setUint32(0, sec >>> 0, true);
  v.setUint32(4, Math.floor(timeUs - sec * 1e6) >>> 0, true);
  v.setUint32(8, frame.length, true);
  v.setUint32(12, origLen, true);
  b.set(frame, RECORD_HEADER_LEN);
  return b;
}

/** A whole file in memory. */
export function writePcap(records: readonly PcapRecord[], linkType = LINKTYPE_ETHERNET): Uint8Array {
  const parts = [pcapGlobalHeader(linkType), ...records.map((r) => pcapRecord(r.timeUs, r.data, r.origLen))];
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

const E_SHORT = err('format', 'pcap: shorter than the global header');
const E_MAGIC = err('unsupported', 'pcap: unknown magic (pcapng is not supported)');
const E_RECORD = err('format', 'pcap: truncated record');

/** Parses a whole file. Record data are subarrays of `buf` (no copies). Never throws. */
export function readPcap(buf: Uint8Array): ParseResult<PcapFile> {
  if (buf.length < GLOBAL_HEADER_LEN) return E_SHORT;
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let little: boolean;
  let nano: boolean;
  const m = v.getUint32(0, true);
  if (m === MAGIC_US || m === MAGIC_NS) {
    little = true;
    nano = m === MAGIC_NS;
  } else {
    const mb = v.getUint32(0, false);
    if (mb !== MAGIC_US && mb !== MAGIC_NS) return E_MAGIC;
    little = false;
    nano = mb === MAGIC_NS;
  }
  const snapLen = v.getUint32(16, little);
  const linkType = v.getUint32(20, little) & 0x0fffffff;
  const records: PcapRecord[] = [];
  let off = GLOBAL_HEADER_LEN;
  while (off < buf.length) {
    if (buf.length - off < RECORD_HEADER_LEN) return E_RECORD;
    const sec = v.getUint32(off, little);
    const frac = v.getUint32(off + 4, little);
    const inclLen = v.getUint32(off + 8, little);
    const origLen = v.getUint32(off + 12, little);
    off += RECORD_HEADER_LEN;
    if (inclLen > buf.length - off) return E_RECORD;
    records.push({
      timeUs: sec * 1e6 + (nano ? Math.floor(frac / 1000) : frac),
      data: buf.subarray(off, off + inclLen),
      origLen,
    });
    off += inclLen;
  }
  return ok({ linkType, snapLen, records });
}
