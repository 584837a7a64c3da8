// Protocol benchmarks: header parse+validate rate for a 1500-byte Ethernet/IPv4/TCP frame
// (without and with the full TCP checksum) and Internet checksum throughput. One line per
// figure: name, value, target. Run alone with `node dist/bench/protocol.js`, or through
// `npm run bench`.

import { finish, pseudoSumV4, sum16 } from '../protocol/checksum';
import { EthernetHeader, emitEthernet, parseEthernet, ETHERTYPE_IPV4 } from '../protocol/ethernet';
import { Ipv4Header, emitIpv4Header, ipv4Header, parseIpv4Header, IP_PROTO_TCP } from '../protocol/ipv4';
import {
  TcpHeader, emitTcp, parseTcp, tcpFillChecksum, tcpHeader, tcpHeaderLen, tcpOptions, tcpVerifyChecksum, TCP_ACK,
} from '../protocol/tcp';

const SRC = 0xc0000201;
const DST = 0xc0000202;

/** A 1514-byte frame (1500-byte IP datagram) carrying a TCP segment with timestamps. */
export function makeTcpFrame(): Uint8Array {
  const frame = new Uint8Array(1514);
  const tcp = tcpHeader({
    srcPort: 40001, dstPort: 5001, seq: 123456789, ack: 987654321, flags: TCP_ACK, window: 502,
    options: tcpOptions({ tsVal: 1000, tsEcr: 2000 }),
  });
  const tl = tcpHeaderLen(tcp);
  const segLen = 1500 - 20;
  for (let i = 14 + 20 + tl; i < frame.length; i++) frame[i] = (i * 31) & 0xff;
  emitTcp(tcp, frame, 34);
  tcpFillChecksum(frame, 34, segLen, pseudoSumV4(SRC, DST, IP_PROTO_TCP, segLen));
  emitIpv4Header(ipv4Header({ src: SRC, dst: DST, protocol: IP_PROTO_TCP, payloadLen: segLen, ident: 1 }), frame, 14);
  const eth: EthernetHeader = {
    dst: Uint8Array.of(2, 0, 0, 0, 0, 0x0b), src: Uint8Array.of(2, 0, 0, 0, 0, 0x0a), vlans: [], etherType: ETHERTYPE_IPV4,
  };
  emitEthernet(eth, frame, 0);
  return frame;
}

function rate(name: string, target: number, unit: string, fn: () => number, minMs = 400): number {
  // warm up, then time batches until minMs has passed
  let n = 0;
  for (let i = 0; i < 3; i++) n += fn();
  n = 0;
  const t0 = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs) {
    n += fn();
    elapsed = Number(process.hrtime.bigint() - t0) / 1e6;
  }
  const perSec = n / (elapsed / 1000);
  const pretty = unit === 'GB/s' ? (perSec / 1e9).toFixed(2) : (perSec / 1e6).toFixed(2);
  const tgt = unit === 'GB/s' ? (target / 1e9).toFixed(1) : (target / 1e6).toFixed(1);
  const verdict = perSec >= target ? 'ok' : 'BELOW';
  console.log(`${name.padEnd(52)} ${pretty.padStart(8)} ${unit === 'GB/s' ? 'GB/s' : 'M/s '}   target >= ${tgt} ${unit === 'GB/s' ? 'GB/s' : 'M/s'}  ${verdict}`);
  return perSec;
}

export async function benchProtocol(): Promise<void> {
  const frame = makeTcpFrame();
  const eth: EthernetHeader = { dst: new Uint8Array(6), src: new Uint8Array(6), vlans: [], etherType: 0 };
  const ip: Ipv4Header = ipv4Header({ src: 0, dst: 0, protocol: 0, payloadLen: 0 });
  const tcp: TcpHeader = tcpHeader({ srcPort: 0, dstPort: 0 });
  let sink = 0;

  const parseOnce = (verify: boolean): boolean => {
    const e = parseEthernet(frame, 0, frame.length, eth);
    if (!e.ok || eth.etherType !== ETHERTYPE_IPV4) return false;
    const r = parseIpv4Header(frame, 14, frame.length - 14, true, ip);
    if (!r.ok || ip.protocol !== IP_PROTO_TCP) return false;
    const off = 14 + ip.headerLen;
    if (verify && !tcpVerifyChecksum(frame, off, ip.payloadLen, pseudoSumV4(ip.src, ip.dst, IP_PROTO_TCP, ip.payloadLen))) return false;
    const t = parseTcp(frame, off, ip.payloadLen, tcp);
    if (!t.ok) return false;
    sink += tcp.seq & 1;
    return true;
  };
  if (!parseOnce(true)) throw new Error('bench frame does not parse');

  const BATCH = 10000;
  rate('parse+validate eth/ipv4/tcp 1500 B (no TCP checksum)', 5e6, 'frames', () => {
    for (let i = 0; i < BATCH; i++) parseOnce(false);
    return BATCH;
  });
  rate('parse+validate eth/ipv4/tcp 1500 B (with TCP checksum)', 1e6, 'frames', () => {
    for (let i = 0; i < BATCH; i++) parseOnce(true);
    return BATCH;
  });

  const b1500 = frame.subarray(0, 1500);
  rate('checksum 1500 B (aligned)', 1e9, 'GB/s', () => {
    for (let i = 0; i < 2000; i++) sink += finish(sum16(b1500, 0, 1500));
    return 2000 * 1500;
  });
  rate('checksum 1480 B TCP segment at frame offset 34', 1e9, 'GB/s', () => {
    for (let i = 0; i < 2000; i++) sink += finish(sum16(frame, 34, 1480));
    return 2000 * 1480;
  });
  const big = new Uint8Array(65536);
  for (let i = 0; i < big.length; i++) big[i] = (i * 131) & 0xff;
  rate('checksum 64 KiB', 2e9, 'GB/s', () => {
    for (let i = 0; i < 50; i++) sink += finish(sum16(big, 0, big.length));
    return 50 * big.length;
  });
  rate('checksum 64 KiB at odd offset', 2e9, 'GB/s', () => {
    for (let i = 0; i < 50; i++) sink += finish(sum16(big, 1, big.length - 1));
    return 50 * (big.length - 1);
  });
  if (sink === -1) console.log(sink);
}

if (require.main === module) {
  benchProtocol().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
