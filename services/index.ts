// The built-in services and the SOCKS5 front, each written against a `net`/`dgram`-like module.
export * from './types';
export { parseServe, serve, serveAll, DEFAULT_PORTS } from './serve';
export type { ServeSpec, ServiceName } from './serve';
export { serveHttp, patternChunk, parseByteCount, MAX_BYTES, PATTERN_PERIOD } from './http';
export { serveIperf3, IperfState, COOKIE_SIZE } from './iperf3';
export type { Iperf3Options, Iperf3Service, Iperf3Summary } from './iperf3';
export { createSocksServer, SocksReply, replyForError, isLoopbackHost, encodeAddress, parseAddress, ipv6ToBytes } from './socks5';
export type { SocksOptions, SocksServer, SocksCounters, SocksAddress } from './socks5';
export { ByteReader } from './reader';
