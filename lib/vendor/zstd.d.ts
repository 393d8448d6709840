// Node 22.15 added zstd to node:zlib (22.19 honours a dictionary); the pinned @types/node 20
// predates it, so the members delta.ts uses are declared here.
declare module 'node:zlib' {
  interface ZstdOptions {
    params?: Record<number, number>;
    dictionary?: Buffer;
    maxOutputLength?: number;
    chunkSize?: number;
  }
  function createZstdCompress(options?: ZstdOptions): import('node:stream').Transform;
  function createZstdDecompress(options?: ZstdOptions): import('node:stream').Transform;
  function zstdCompressSync(buffer: Buffer, options?: ZstdOptions): Buffer;
  function zstdDecompressSync(buffer: Buffer, options?: ZstdOptions): Buffer;
  namespace constants {
    const ZSTD_c_compressionLevel: number;
    const ZSTD_c_windowLog: number;
    const ZSTD_c_enableLongDistanceMatching: number;
    const ZSTD_c_checksumFlag: number;
    const ZSTD_d_windowLogMax: number;
  }
}
