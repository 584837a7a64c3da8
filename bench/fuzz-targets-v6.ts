// IPv6-side fuzz targets for bench/fuzz.ts (owned by the IPv6 protocol work; placeholder until
// it is filled in).
export const v6FuzzTargets: Array<{ name: string; parse: (buf: Uint8Array, off: number, len: number) => unknown }> = [];
