import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { fromFsError } from '../errors.js';
import type { HashAlgo } from '../model/oid.js';

/**
 * Files up to this size are read whole and hashed in one call: one open and one read syscall,
 * which is what makes 50,000 small files fast.
 */
export const SMALL_FILE = 4 * 1024 * 1024;
/** Chunk for large files. Native BLAKE3 runs ~5 GB/s on 4 MiB buffers but far slower on 64 KiB. */
const CHUNK = 4 * 1024 * 1024;

/**
 * The native BLAKE3 binding, loaded on first use, so commands that hash nothing (`config`,
 * `remote`, `init`) do not load it.
 */
let blakeLib: typeof import('@napi-rs/blake-hash') | undefined;
function blake(): typeof import('@napi-rs/blake-hash') {
  return (blakeLib ??= createRequire(import.meta.url)('@napi-rs/blake-hash') as typeof import('@napi-rs/blake-hash'));
}

export interface IncrementalHash {
  update(b: Uint8Array): void;
  digest(): string;
}

export function createHasher(algo: HashAlgo): IncrementalHash {
  if (algo === 'blake3') {
    const h = new (blake().Blake3Hasher)();
    return { update: (b) => void h.update(Buffer.from(b.buffer, b.byteOffset, b.byteLength)), digest: () => h.digest('hex') };
  }
  const h = createHash('sha256');
  return { update: (b) => void h.update(b), digest: () => h.digest('hex') };
}

/** The 32-byte digest of `data` (what hashBuffer writes as hex). */
export function digestBytes(algo: HashAlgo | string, data: Uint8Array): Uint8Array {
  if (algo === 'blake3') return blake().blake3(data);
  return createHash('sha256').update(data).digest();
}

/** Where the native BLAKE3 module is, for worker threads that hash as this thread does. */
export function blakeModulePath(): string {
  return createRequire(import.meta.url).resolve('@napi-rs/blake-hash');
}

export function hashBuffer(algo: HashAlgo, data: Uint8Array | string): string {
  if (algo === 'blake3') return blake().blake3(typeof data === 'string' ? Buffer.from(data) : data).toString('hex');
  return createHash('sha256').update(data).digest('hex');
}

let chunkBuf: Buffer | undefined;
function sharedChunk(): Buffer {
  return (chunkBuf ??= Buffer.allocUnsafe(CHUNK));
}

let wholeBuf: Buffer | undefined;

/**
 * Reads a file of up to SMALL_FILE bytes into one reused buffer and returns a view of its
 * content, valid until the next call; undefined when the file holds more (the caller takes its
 * large-file path). `expected` is the size a stat gave: a read that returns that many bytes is
 * taken as the whole file, as readFileSync does. Reusing the buffer spares a fresh allocation
 * and its page faults per file, which cost as much as the read of a 1 MiB file.
 */
export function readSmallFile(file: string, expected: number): Buffer | undefined {
  const buf = (wholeBuf ??= Buffer.allocUnsafe(SMALL_FILE + 1));
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw fromFsError(e, file, 'read');
  }
  let n = 0;
  try {
    for (;;) {
      const r = fs.readSync(fd, buf, n, buf.length - n, null);
      n += r;
      if (r === 0 || n === buf.length || n === expected) break;
    }
  } catch (e) {
    throw fromFsError(e, file, 'read');
  } finally {
    fs.closeSync(fd);
  }
  return n > SMALL_FILE ? undefined : buf.subarray(0, n);
}

/** Hashes a file's content. */
export function hashFile(algo: HashAlgo, file: string): string {
  return hashFileSized(algo, file).oid;
}

/**
 * Hashes a file's content and counts the bytes hashed: a file written to while it is read has
 * a size that is neither its earlier nor its later stat, and only this count matches the oid.
 */
export function hashFileSized(algo: HashAlgo, file: string): { oid: string; size: number } {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw fromFsError(e, file, 'read');
  }
  try {
    const buf = sharedChunk();
    let filled = 0;
    while (filled < buf.length) {
      const n = fs.readSync(fd, buf, filled, buf.length - filled, null);
      if (n === 0) break;
      filled += n;
    }
    // A file that fits one chunk is hashed in one call, without a hasher object: each native
    // BLAKE3 hasher holds about 2 KB outside the JS heap that only a garbage collection frees,
    // and over a million small files (fsck, a pull's verification) that grew to gigabytes
    // while the heap itself stayed too small to trigger one.
    if (filled < buf.length) return { oid: hashBuffer(algo, buf.subarray(0, filled)), size: filled };
    const h = createHasher(algo);
    h.update(buf);
    let size = filled;
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      size += n;
    }
    return { oid: h.digest(), size };
  } catch (e) {
    throw fromFsError(e, file, 'read');
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Reads `src` once, hashing it while writing the same bytes to `dest` (an exclusive new file).
 * Storing a large file in the cache this way costs one read and one write, like `cp`, instead
 * of a hashing pass followed by a copying pass.
 */
export function hashCopyFile(algo: HashAlgo, src: string, dest: string, mode: number, onBytes?: (n: number) => void): { oid: string; size: number } {
  let rfd: number | undefined;
  let wfd: number | undefined;
  try {
    rfd = fs.openSync(src, 'r');
    wfd = fs.openSync(dest, 'wx', mode);
    const h = createHasher(algo);
    const buf = sharedChunk();
    let size = 0;
    for (;;) {
      const n = fs.readSync(rfd, buf, 0, buf.length, null);
      if (n === 0) break;
      const chunk = buf.subarray(0, n);
      h.update(chunk);
      let off = 0;
      try {
        while (off < n) off += fs.writeSync(wfd, chunk, off, n - off);
      } catch (e) {
        // The disk (or file-size limit) is where the copy goes: name that place, and the source.
        throw fromFsError(e, path.dirname(dest), `store '${src}' in`);
      }
      size += n;
      onBytes?.(n);
    }
    return { oid: h.digest(), size };
  } catch (e) {
    throw fromFsError(e, wfd === undefined && rfd !== undefined ? dest : src, 'copy');
  } finally {
    if (rfd !== undefined) fs.closeSync(rfd);
    if (wfd !== undefined) fs.closeSync(wfd);
  }
}
