import fs from 'node:fs';
import path from 'node:path';
import { RvcError, errnoCode, fromFsError } from '../errors.js';
import { objectKey, isValidOid, isTreeOid, oidDigest, TREE_SUFFIX, type HashAlgo } from '../model/oid.js';
import { parseTree, serializeTreeChunks, type TreeEntry } from '../model/tree.js';
import { tempPathFor, isStaleTempName, sweepStaleTemps, writeAll, makeDirs } from '../fsutil/atomic.js';
import { hashBuffer, hashFile, hashCopyFile, createHasher, readSmallFile, digestBytes, blakeModulePath, SMALL_FILE, type IncrementalHash } from '../hashing/hash.js';
import { storeManySmall } from '../fsutil/copy-many.js';
import { defaultCutter } from '../hashing/chunker.js';
import { CHUNKS_SUFFIX, DEFAULT_CHUNK_THRESHOLD, parseChunkList, serializeChunkList, type ChunkEntry } from '../model/chunks.js';
import type { PackColumns, PackIndex } from '../model/pack.js';
import { LOCAL_PACK_ROOT, LocalPacks, PackGone, type LocalPacked } from './local-packs.js';

const tmpSwept = new Set<string>();

/**
 * `absentOf` reads a shard folder once when it is asked about at least this many objects in it;
 * for fewer, a `stat` or two each costs less than listing a folder that may hold thousands.
 */
const SHARD_LISTING_MIN = 16;

/** How many just-verified manifests an Odb keeps parsed for their next readTree. */
const VERIFIED_TREES_KEPT = 4;
/** Entries of a verified manifest a transfer's listing leaves for the next readTree (see readTreeEntries). */
const VERIFIED_TREE_LEFT_MAX = 200_000;

/** Cache objects are read-only so that a hard- or sym-linked workspace file cannot be edited into corruption. */
const OBJECT_MODE = 0o444;

export interface OdbOptions {
  /** `cache.shared: group`: folders made group-writable and setgid, objects readable by all. */
  shared?: boolean;
  /** `cache.chunk_threshold`: files of at least this many bytes are stored as chunks. */
  chunkThreshold?: number;
}

/** The read window of chunking: room for a largest chunk and a few reads of 4 MiB after it. */
const CHUNK_WINDOW = 16 * 1024 * 1024;
let chunkWindow: Buffer | undefined;
/** Reassembly's copy buffer. */
let copyBuf: Buffer | undefined;
const COPY_BUF_SIZE = 4 * 1024 * 1024;

/**
 * The local content-addressed object database: `<cache>/<algo>/ab/cdef…`. Every write goes to a
 * temp file in the object's own folder, or in `tmpRoot`, which callers keep inside the cache
 * folder (so on its filesystem: the cache may be a mount or symlink to another disk), and is
 * renamed into place, so an object either exists complete or not at all; writing an object that
 * exists is a no-op.
 */
export class Odb {
  readonly algoDir: string;
  private readonly knownDirs = new Set<string>();
  /** Manifests just verified on their way in, parsed, awaiting their first readTree. */
  private readonly verifiedTrees = new Map<string, TreeEntry[]>();
  /** Packs kept in the cache (`packed/<algo>/`), read lazily. */
  private readonly packs: LocalPacks;

  constructor(
    readonly root: string,
    readonly algo: HashAlgo,
    private readonly tmpRoot: string,
    private readonly opts: OdbOptions = {},
  ) {
    this.algoDir = path.join(root, algo);
    this.packs = new LocalPacks(path.join(root, LOCAL_PACK_ROOT, algo), algo, (d) => hashBuffer(algo, d));
  }

  /** Creates a folder of the cache (with the shared mode when configured). */
  private makeDir(dir: string): void {
    makeDirs(dir, !!this.opts.shared);
  }

  /** An object's mode before it is renamed into place: umask-proof when the cache is shared. */
  private setObjectMode(tmp: string): void {
    if (this.opts.shared) fs.chmodSync(tmp, OBJECT_MODE);
  }

  objectPath(oid: string): string {
    return path.join(this.root, objectKey(this.algo, oid));
  }

  /**
   * Where the indexes of remotes' packs are kept (`<cache>/packs/<algo>/`): named by their own
   * hash, shared by every remote, and outside `<algo>/`, so local gc and fsck never see them.
   */
  packIndexDir(): string {
    const dir = path.join(this.root, 'packs', this.algo);
    // A shared cache's folders are group-writable, this one too (made here, before a reader
    // caches an index in it); an unshared one is made by the reader.
    if (this.opts.shared && !this.knownDirs.has(dir)) {
      this.makeDir(dir);
      this.knownDirs.add(dir);
    }
    return dir;
  }

  /** Hash of bytes with this database's algorithm (pack indexes and packs). */
  hashBytes(data: Uint8Array): string {
    return hashBuffer(this.algo, data);
  }

  digestBytes(data: Uint8Array): Uint8Array {
    return digestBytes(this.algo, data);
  }

  /** An incremental hash with this database's algorithm. */
  hasher(): IncrementalHash {
    return createHasher(this.algo);
  }

  /**
   * Whether the cache holds the object's content: whole, or (a file) as a chunk list whose every
   * chunk is there.
   */
  hasSync(oid: string): boolean {
    if (this.hasWhole(oid)) return true;
    if (isTreeOid(oid)) return false;
    let chunks: ChunkEntry[] | undefined;
    try {
      chunks = this.readChunkListIfAny(oid);
    } catch (e) {
      // A damaged list holds nothing (fsck reports it); reading the file through it throws.
      if (e instanceof RvcError && e.code === 'OBJECT_CORRUPT') return false;
      throw e;
    }
    return chunks !== undefined && chunks.every((c) => this.hasWhole(c.oid));
  }

  /** Whether the cache holds `oid` as one object: a loose file, or in a local pack. */
  private hasWhole(oid: string): boolean {
    return this.packs.has(oid) || fs.existsSync(this.objectPath(oid));
  }

  /**
   * Where `oid` lies in a local pack, whether or not a loose copy exists too (no file system
   * call: for a reader that tries the loose copy first, as everything does).
   */
  packedAt(oid: string): LocalPacked | undefined {
    return this.packs.find(oid);
  }

  /**
   * Where `oid` lies in a local pack when the cache holds it packed and not loose (a loose copy
   * always wins); undefined otherwise.
   */
  packedRange(oid: string): LocalPacked | undefined {
    const at = this.packs.find(oid);
    if (!at || fs.existsSync(this.objectPath(oid))) return undefined;
    return at;
  }

  /**
   * An object's bytes as one piece (loose first, then packed), or undefined when the cache lacks
   * it. A pack deleted under a reader (a gc) sends it back to the loose copy gc wrote first, if
   * any: it never reads another pack's bytes.
   */
  private readWhole(oid: string): Buffer | undefined {
    const p = this.objectPath(oid);
    try {
      return fs.readFileSync(p);
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT' && errnoCode(e) !== 'ENOTDIR') throw fromFsError(e, p, 'read');
    }
    const at = this.packs.find(oid);
    return at ? this.readAt(at, oid) : undefined;
  }

  /** `oid`'s bytes from its place in a pack (into `buf` when it fits), or its loose copy if the pack is gone. */
  private readAt(at: LocalPacked, oid: string, buf?: Buffer): Buffer | undefined {
    try {
      return this.packs.read(at, buf && buf.length >= at.length ? buf : undefined);
    } catch (e) {
      if (!(e instanceof PackGone)) throw e;
      try {
        return fs.readFileSync(this.objectPath(oid));
      } catch {
        return undefined;
      }
    }
  }

  /**
   * Makes sure `oid` exists as a loose file (hard and symbolic links need a file of its own):
   * a packed object is written out of its pack. Returns its path.
   */
  ensureLoose(oid: string): string {
    const dest = this.objectPath(oid);
    if (fs.existsSync(dest)) return dest;
    const data = this.readWhole(oid);
    if (!data) throw this.missing(oid);
    this.ensureDir(dest);
    this.writeObject(dest, tempPathFor(path.join(this.tmpDir(), 'unpack')), data);
    return dest;
  }

  /**
   * Keeps a downloaded pack (`tmpPack`, in tmpDir(); the caller verified every object its index
   * lists, and its size) in the cache, under `index`; `indexText`, when given, is the text
   * `index` was parsed from (the remote's copy), kept as it is. Returns the local pack's id.
   */
  adoptPack(tmpPack: string, index: PackColumns, indexText?: Uint8Array): string {
    return this.packs.adopt(tmpPack, index, OBJECT_MODE, (d) => this.makeDir(d), indexText);
  }

  /** Every local pack and its index (undefined when the index does not match its name or its pack's size). */
  localPacks(): Generator<{ id: string; file: string; index: PackIndex | undefined }> {
    return this.packs.packs();
  }

  /**
   * Deletes a local pack (index first), after writing loose the objects `keep` names: new copies
   * before the old pack goes, so a crash in between leaves duplicates, never a loss. An object
   * that does not hash to its oid is not written. Returns the oids written.
   */
  dropPack(id: string, index: PackIndex, keep: (oid: string) => boolean): string[] {
    const written: string[] = [];
    const kept = index.entries.filter((e) => keep(e.oid) && !fs.existsSync(this.objectPath(e.oid)));
    if (kept.length) {
      const file = this.packs.packFile(id);
      const data = fs.readFileSync(file);
      for (const e of kept) {
        const bytes = data.subarray(e.offset, e.offset + e.length);
        if (bytes.length !== e.length || hashBuffer(this.algo, bytes) !== oidDigest(e.oid)) continue;
        const dest = this.objectPath(e.oid);
        this.ensureDir(dest);
        this.writeObject(dest, tempPathFor(path.join(this.tmpDir(), 'unpack')), bytes);
        written.push(e.oid);
      }
    }
    this.packs.deletePack(id);
    return written;
  }

  /** Forgets what was read of the local packs (after deleting some). */
  reloadPacks(): void {
    this.packs.reload();
  }

  /** Where `oid`'s chunk list is (or would be): beside the whole object's place. */
  chunkListPath(oid: string): string {
    return this.objectPath(oid) + CHUNKS_SUFFIX;
  }

  /**
   * The chunks of a file the cache holds as chunks and not whole; undefined for a whole object,
   * a tree, or an object the cache lacks. A damaged list throws OBJECT_CORRUPT.
   */
  chunksOf(oid: string): ChunkEntry[] | undefined {
    if (isTreeOid(oid) || this.hasWhole(oid)) return undefined;
    return this.readChunkListIfAny(oid);
  }

  private readChunkListIfAny(oid: string): ChunkEntry[] | undefined {
    const p = this.chunkListPath(oid);
    // Most objects have no list: asked for each object a fetch lacks, a failed open (which
    // builds an error) cost more than the rest of the check.
    if (!fs.existsSync(p)) return undefined;
    let text: Buffer;
    try {
      text = fs.readFileSync(p);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return undefined;
      throw fromFsError(e, p, 'read');
    }
    return parseChunkList(text, this.algo, p);
  }

  /**
   * The chunks `oid`'s chunk list names, whether or not the whole object is also in the cache
   * (gc keeps them while the list is kept); [] without a list, or with one that does not parse
   * (fsck reports that one).
   */
  chunksListed(oid: string): ChunkEntry[] {
    try {
      return this.readChunkListIfAny(oid) ?? [];
    } catch (e) {
      if (e instanceof RvcError && e.code === 'OBJECT_CORRUPT') return [];
      throw e;
    }
  }

  /** The hash of the concatenation of `chunks` (read from the cache), or undefined if one is missing. */
  hashChunks(chunks: readonly ChunkEntry[]): string | undefined {
    const h = createHasher(this.algo);
    const buf = (copyBuf ??= Buffer.allocUnsafe(COPY_BUF_SIZE));
    for (const c of chunks) {
      if (this.streamObject(c.oid, buf, (piece) => h.update(piece)) !== c.size) return undefined;
    }
    return h.digest();
  }

  /**
   * Hands `oid`'s bytes to `use` in pieces read into `buf` (the loose copy first, then its pack's
   * range) and returns its size, or undefined when the cache lacks it. Reading a chunk whole with
   * readFileSync cost a fresh buffer (and its page faults) per chunk: a gigabyte of them for one
   * large file, read twice by a pull (the list's check, then the checkout).
   */
  private streamObject(oid: string, buf: Buffer, use: (piece: Buffer) => void): number | undefined {
    const src = this.objectPath(oid);
    let fd: number;
    try {
      fd = fs.openSync(src, 'r');
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT' && errnoCode(e) !== 'ENOTDIR') throw fromFsError(e, src, 'read');
      const at = this.packs.find(oid);
      const data = at ? this.readAt(at, oid, buf) : undefined;
      if (!data) return undefined;
      use(data);
      return data.length;
    }
    let size = 0;
    try {
      for (;;) {
        const n = fs.readSync(fd, buf, 0, buf.length, null);
        if (n === 0) break;
        use(buf.subarray(0, n));
        size += n;
      }
    } catch (e) {
      throw fromFsError(e, src, 'read');
    } finally {
      fs.closeSync(fd);
    }
    return size;
  }

  /**
   * Writes an object's content to `dest`, a new file (created exclusively, `mode`), whichever way
   * the cache holds it: a whole object is copied (a reflink where the filesystem can), a chunked
   * file reassembled from its chunks. Throws OBJECT_MISSING when the cache lacks it.
   */
  copyObjectTo(oid: string, dest: string, mode = 0o644): void {
    const chunks = this.chunksOf(oid);
    const packed = chunks ? undefined : this.packedRange(oid);
    if (!chunks && !packed) {
      try {
        fs.copyFileSync(this.objectPath(oid), dest, fs.constants.COPYFILE_FICLONE | fs.constants.COPYFILE_EXCL);
        fs.chmodSync(dest, mode);
      } catch (e) {
        if (errnoCode(e) === 'ENOENT' && !fs.existsSync(this.objectPath(oid))) throw this.missing(oid);
        throw fromFsError(e, dest, 'write');
      }
      return;
    }
    const buf = (copyBuf ??= Buffer.allocUnsafe(COPY_BUF_SIZE));
    let out: number;
    try {
      out = fs.openSync(dest, 'wx', mode);
      fs.fchmodSync(out, mode);
    } catch (e) {
      throw fromFsError(e, dest, 'write');
    }
    try {
      if (packed) {
        const data = this.readAt(packed, oid, buf);
        if (!data) throw this.missing(oid);
        writeAll(out, data);
      }
      for (const c of chunks ?? []) {
        if (this.streamObject(c.oid, buf, (piece) => writeAll(out, piece)) === undefined) throw this.missing(oid, c.oid);
      }
    } catch (e) {
      fs.closeSync(out);
      fs.rmSync(dest, { force: true });
      throw e instanceof RvcError ? e : fromFsError(e, dest, 'write');
    }
    fs.closeSync(out);
  }

  /** An object's whole content in memory (metrics, params: small files), whichever form it is stored in. */
  readObject(oid: string): Buffer {
    const chunks = this.chunksOf(oid);
    if (!chunks) {
      const b = this.readWhole(oid);
      if (!b) throw this.missing(oid);
      return b;
    }
    return Buffer.concat(chunks.map((c) => {
      const b = this.readWhole(c.oid);
      if (!b) throw this.missing(oid, c.oid);
      return b;
    }));
  }

  /**
   * readObject into `into` at `at` (returns the bytes written): an object in a local pack is
   * read straight there, with no buffer of its own; one whose pack a gc deleted meanwhile, a
   * loose one or a chunked one goes through readObject.
   */
  readObjectInto(oid: string, into: Buffer, at: number): number {
    const loc = this.packedRange(oid);
    if (loc) {
      try {
        this.packs.read(loc, into, at);
        return loc.length;
      } catch (e) {
        if (!(e instanceof PackGone)) throw e;
      }
    }
    return this.readObject(oid).copy(into, at);
  }

  private missing(oid: string, chunk?: string): RvcError {
    return new RvcError('OBJECT_MISSING', chunk ? `chunk ${chunk} of object ${oid} is not in the cache` : `object ${oid} is not in the cache`, {
      path: this.objectPath(chunk ?? oid), hint: 'fetch it from a remote with `rvc pull` (or `rvc fetch`)',
    });
  }

  async has(oid: string): Promise<boolean> {
    return this.hasSync(oid);
  }

  /**
   * The oids of `oids` the cache lacks: the answer `hasSync` gives for each, with fewer system
   * calls. Packed objects are found in the local packs' table; for the rest, a shard folder
   * (`<algo>/ab/`) holding at least SHARD_LISTING_MIN of them is read once (one readdir instead of
   * two failed `stat`s per absent object: the object, then its chunk list); a shard with fewer is
   * asked object by object, and a shard folder that does not exist (the cache's folder is read
   * once when many are asked about) not at all. A file with a chunk list and no whole copy gets the full check (its
   * chunks must all be there). An object written after its shard was read counts as absent and
   * is downloaded again, which stores nothing twice.
   */
  absentOf(oids: readonly string[]): string[] {
    const absent: string[] = [];
    // Which shard folders exist, read once when many objects are asked about: into an empty or
    // young cache, most shards are not there and their objects need no call at all (nor a place
    // in the grouping below: a fetch into an empty cache passes over its objects once).
    let shards: Set<string> | undefined;
    if (oids.length >= SHARD_LISTING_MIN) {
      try {
        shards = new Set(fs.readdirSync(this.algoDir));
      } catch (e) {
        const code = errnoCode(e);
        if (code === 'ENOENT' || code === 'ENOTDIR') shards = new Set();
      }
    }
    const byShard = new Map<string, string[]>();
    for (const oid of oids) {
      if (this.packs.has(oid)) continue;
      if (shards && (shards.size === 0 || !shards.has(oid.slice(0, 2)))) {
        absent.push(oid);
        continue;
      }
      const shard = oid.slice(0, 2);
      let list = byShard.get(shard);
      if (!list) byShard.set(shard, (list = []));
      list.push(oid);
    }
    for (const [shard, list] of byShard) {
      let names: Set<string> | undefined;
      if (list.length >= SHARD_LISTING_MIN) {
        const dir = path.join(this.algoDir, shard);
        try {
          names = new Set(fs.readdirSync(dir));
        } catch (e) {
          const code = errnoCode(e);
          if (code === 'ENOENT' || code === 'ENOTDIR') names = new Set();
          // Anything else: asked object by object below, which reports it as hasSync would.
        }
      }
      for (const oid of list) {
        let here: boolean;
        if (!names) here = this.hasSync(oid);
        else {
          const rest = oid.slice(2);
          here = names.has(rest) || (!isTreeOid(oid) && names.has(rest + CHUNKS_SUFFIX) && this.hasSync(oid));
        }
        if (!here) absent.push(oid);
      }
    }
    return absent;
  }

  /**
   * The folder for objects being written or downloaded. The first use in a process also removes
   * what killed processes left there (a large file's partial copy, a partial download): those
   * temp names carry their writer's PID, and only those whose writer is gone are removed.
   */
  tmpDir(): string {
    if (!tmpSwept.has(this.tmpRoot)) {
      try {
        this.makeDir(this.tmpRoot);
      } catch (e) {
        throw fromFsError(e, this.tmpRoot, 'create folder');
      }
      sweepStaleTemps(this.tmpRoot);
      tmpSwept.add(this.tmpRoot);
    }
    return this.tmpRoot;
  }

  private ensureDir(file: string): void {
    const dir = path.dirname(file);
    if (this.knownDirs.has(dir)) return;
    try {
      this.makeDir(dir);
    } catch (e) {
      throw fromFsError(e, dir, 'create cache folder');
    }
    this.knownDirs.add(dir);
  }

  /** Stores bytes whose oid the caller computed. */
  putBuffer(oid: string, data: Uint8Array | string): void {
    const dest = this.objectPath(oid);
    if (this.hasWhole(oid)) return;
    this.ensureDir(dest);
    this.writeObject(dest, tempPathFor(dest), data);
  }

  /** Writes `data` to `tmp` (read-only from the start) and renames it to `dest`; `tmp` never outlives a failure. */
  private writeObject(dest: string, tmp: string, data: Uint8Array | string): void {
    try {
      const fd = fs.openSync(tmp, 'wx', OBJECT_MODE);
      try {
        writeAll(fd, data);
      } finally {
        fs.closeSync(fd);
      }
      this.setObjectMode(tmp);
      this.ensureDir(dest);
      fs.renameSync(tmp, dest);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw fromFsError(e, dest, 'write cache object');
    }
  }

  /**
   * Stores many small files at once, on every core (storeManySmall): for each file stored, or
   * whose object was already there, `stored(i, oid)` is called with the oid of the bytes read;
   * a file left out (larger than SMALL_FILE or the chunk threshold, changed size since its stat,
   * or a write that failed) is the caller's to store with addFile, which reports any error.
   */
  storeMany(count: number, file: (i: number) => { src: string; size: number }, stored: (i: number, oid: string) => void, opts: { jobs?: number; onProgress?: (n: number) => void } = {}): void {
    // Every shard folder first: the threads only create files.
    for (let b = 0; b < 256; b++) this.ensureDir(path.join(this.algoDir, b.toString(16).padStart(2, '0'), 'x'));
    const maxSize = Math.min(SMALL_FILE, (this.opts.chunkThreshold ?? DEFAULT_CHUNK_THRESHOLD) - 1);
    storeManySmall(count, file, (i, digest) => stored(i, Buffer.from(digest).toString('hex')), {
      root: this.algoDir, algo: this.algo, shared: !!this.opts.shared, maxSize,
      hash: digestBytes, hashModule: blakeModulePath(),
      ...(opts.jobs !== undefined ? { workers: opts.jobs - 1 } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
  }

  /**
   * Hashes a workspace file and stores its content, reading it once. Returns its oid and the
   * number of bytes stored, which differs from `size` (the caller's earlier stat) when the file
   * was written to meanwhile. Small files are read whole; large ones are hashed while being
   * copied to a temp file.
   */
  addFile(src: string, size: number, onBytes?: (n: number) => void): { oid: string; size: number } {
    if (size >= (this.opts.chunkThreshold ?? DEFAULT_CHUNK_THRESHOLD)) return this.addChunked(src, onBytes);
    // A file that grew past SMALL_FILE since its stat takes the large-file path.
    const buf = size <= SMALL_FILE ? readSmallFile(src, size) : undefined;
    if (buf) {
      const oid = hashBuffer(this.algo, buf);
      this.putBuffer(oid, buf);
      onBytes?.(buf.length);
      return { oid, size: buf.length };
    }
    const tmp = tempPathFor(path.join(this.tmpDir(), 'object'));
    try {
      const stored = hashCopyFile(this.algo, src, tmp, OBJECT_MODE, onBytes);
      const dest = this.objectPath(stored.oid);
      if (fs.existsSync(dest)) {
        fs.rmSync(tmp, { force: true });
      } else {
        this.setObjectMode(tmp);
        this.ensureDir(dest);
        fs.renameSync(tmp, dest);
      }
      return stored;
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw fromFsError(e, src, 'store');
    }
  }

  /**
   * Stores a large file as content-defined chunks and a chunk list, in one read: each buffer read
   * is hashed for the whole file's oid and cut into chunks, each chunk hashed and stored (once:
   * a chunk the cache has is not written again). The list is written last, so a list in the
   * cache implies its chunks were stored. The whole file is not kept.
   */
  private addChunked(src: string, onBytes?: (n: number) => void): { oid: string; size: number } {
    const win = (chunkWindow ??= Buffer.allocUnsafe(CHUNK_WINDOW));
    const cutter = defaultCutter();
    const whole = createHasher(this.algo);
    const chunks: ChunkEntry[] = [];
    let fd: number;
    try {
      fd = fs.openSync(src, 'r');
    } catch (e) {
      throw fromFsError(e, src, 'read');
    }
    let total = 0;
    try {
      let filled = 0;
      let pos = 0;
      let eof = false;
      for (;;) {
        if (!eof && filled - pos < cutter.params.max) {
          win.copyWithin(0, pos, filled);
          filled -= pos;
          pos = 0;
          while (filled < win.length) {
            let n: number;
            try {
              n = fs.readSync(fd, win, filled, win.length - filled, null);
            } catch (e) {
              throw fromFsError(e, src, 'read');
            }
            if (n === 0) {
              eof = true;
              break;
            }
            whole.update(win.subarray(filled, filled + n));
            filled += n;
            total += n;
            onBytes?.(n);
          }
        }
        if (pos === filled) break;
        const end = cutter.cut(win, pos, filled, eof);
        const chunk = win.subarray(pos, end);
        const oid = hashBuffer(this.algo, chunk);
        this.putBuffer(oid, chunk);
        chunks.push({ oid, size: end - pos });
        pos = end;
      }
    } finally {
      fs.closeSync(fd);
    }
    const oid = whole.digest();
    // A whole copy from an earlier rvc stays what the cache reads; the chunks are then garbage.
    if (!fs.existsSync(this.objectPath(oid))) this.writeChunkList(oid, chunks);
    return { oid, size: total };
  }

  /** Writes `oid`'s chunk list (atomically; a list that exists is kept). */
  private writeChunkList(oid: string, chunks: readonly ChunkEntry[]): void {
    const dest = this.chunkListPath(oid);
    if (fs.existsSync(dest)) return;
    this.ensureDir(dest);
    const tmp = tempPathFor(dest);
    try {
      const fd = fs.openSync(tmp, 'wx', OBJECT_MODE);
      try {
        writeAll(fd, serializeChunkList(this.algo, chunks));
      } finally {
        fs.closeSync(fd);
      }
      this.setObjectMode(tmp);
      fs.renameSync(tmp, dest);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw fromFsError(e, dest, 'write cache object');
    }
  }

  /**
   * Moves a downloaded chunk list for `oid` into the cache if it parses and its chunks, all
   * already in the cache, hash together to `oid`: a list is trusted only once the content it
   * describes is proven to be the file. Deletes it otherwise and says why.
   */
  async importChunkList(tmpPath: string, oid: string): Promise<'ok' | 'corrupt' | 'incomplete'> {
    let verdict: 'ok' | 'corrupt' | 'incomplete';
    try {
      const chunks = parseChunkList(fs.readFileSync(tmpPath), this.algo, tmpPath);
      const h = this.hashChunks(chunks);
      verdict = h === undefined ? 'incomplete' : h === oid ? 'ok' : 'corrupt';
    } catch (e) {
      if (!(e instanceof RvcError) || e.code !== 'OBJECT_CORRUPT') {
        fs.rmSync(tmpPath, { force: true });
        throw e;
      }
      verdict = 'corrupt';
    }
    if (verdict !== 'ok') {
      fs.rmSync(tmpPath, { force: true });
      return verdict;
    }
    this.moveIntoCache(tmpPath, this.chunkListPath(oid));
    return 'ok';
  }

  /** The chunks a downloaded list names (for fetching them before importChunkList); OBJECT_CORRUPT if it does not parse. */
  parseChunkListFile(file: string): ChunkEntry[] {
    return parseChunkList(fs.readFileSync(file), this.algo, file);
  }

  /** Writes a manifest object and returns its oid (`<hash>.tree`). */
  writeTree(entries: readonly TreeEntry[]): string {
    const known = this.treeOid(entries);
    if (this.hasSync(known)) return known;
    // Streamed to a temp file while hashed: a manifest of a million files is over 100 MB.
    const tmp = tempPathFor(path.join(this.tmpDir(), 'tree'));
    let fd: number | undefined;
    try {
      fd = fs.openSync(tmp, 'wx', OBJECT_MODE);
      const h = createHasher(this.algo);
      serializeTreeChunks(entries, (text) => {
        const b = Buffer.from(text);
        h.update(b);
        writeAll(fd!, b);
      });
      fs.closeSync(fd);
      fd = undefined;
      const oid = h.digest() + TREE_SUFFIX;
      const dest = this.objectPath(oid);
      if (fs.existsSync(dest)) fs.rmSync(tmp, { force: true });
      else {
        this.setObjectMode(tmp);
        this.ensureDir(dest);
        fs.renameSync(tmp, dest);
      }
      return oid;
    } catch (e) {
      if (fd !== undefined) fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
      throw fromFsError(e, this.objectPath(known), 'write cache object');
    }
  }

  /** The oid a manifest of `entries` has, without building its text as one string. */
  treeOid(entries: readonly TreeEntry[]): string {
    const h = createHasher(this.algo);
    serializeTreeChunks(entries, (text) => h.update(Buffer.from(text)));
    return h.digest() + TREE_SUFFIX;
  }

  readTree(oid: string): TreeEntry[] {
    // Just downloaded, hashed and parsed (importVerified, importBytes): handed over once, not
    // read, hashed and parsed a second time. Handed over only once, so a caller that changes
    // the list never changes another's.
    const fresh = this.verifiedTrees.get(oid);
    if (fresh) {
      this.verifiedTrees.delete(oid);
      return fresh;
    }
    const p = this.objectPath(oid);
    // Kept as bytes: hashed as they are and decoded one line at a time by parseTree, instead of
    // a 100 MB+ string for a million files plus a Buffer copy of it to hash.
    const text = this.readWhole(oid);
    if (!text) {
      throw new RvcError('OBJECT_MISSING', `directory manifest ${oid} is not in the cache`, {
        path: p, hint: 'fetch it from a remote with `rvc pull` (or `rvc fetch`)',
      });
    }
    // A manifest decides where checkout writes, so it is trusted only if it is the one its name
    // promises (hashing a manifest costs little next to parsing it). Downloads were verified,
    // but the cache folder itself may have been tampered with or damaged.
    if (treeOidOf(this.algo, text) !== oid) {
      throw new RvcError('OBJECT_CORRUPT', `directory manifest ${oid} in the cache does not match its name`, {
        path: p, hint: '`rvc fsck --repair` removes it; then `rvc pull` fetches a good copy',
      });
    }
    return parseTree(text, this.algo, `cache object ${oid}`);
  }

  /**
   * The entries of a manifest for a transfer to list (read, never changed). One just verified on
   * its way in is left for the next readTree when it is not too large: a pull's checkout then
   * uses the list the fetch parsed instead of reading, hashing and parsing the manifest again
   * (150-250 ms for 50,000 files). A larger one is handed over, as readTree does, so that a
   * million entries are not held through the whole transfer.
   */
  async readTreeEntries(oid: string): Promise<{ oid: string; size: number }[]> {
    const fresh = this.verifiedTrees.get(oid);
    if (fresh && fresh.length <= VERIFIED_TREE_LEFT_MAX) return fresh;
    return this.readTree(oid);
  }

  /** Re-hashes an object: 'ok', 'corrupt' (content does not match the name) or 'missing'. */
  verify(oid: string, pack?: string): 'ok' | 'corrupt' | 'missing' {
    if (oid.endsWith(CHUNKS_SUFFIX)) return this.verifyChunkList(oid.slice(0, -CHUNKS_SUFFIX.length));
    const p = this.objectPath(oid);
    if (pack !== undefined || !fs.existsSync(p)) {
      const at = this.packs.find(oid);
      if (at && (pack === undefined || at.id === pack)) {
        let data: Buffer;
        try {
          data = this.packs.read(at);
        } catch (e) {
          if (e instanceof PackGone) return 'missing';
          if (e instanceof RvcError && e.code === 'OBJECT_CORRUPT') return 'corrupt';
          throw e;
        }
        try {
          return this.verifyBytes(data, oid) ? 'ok' : 'corrupt';
        } catch {
          return 'corrupt';
        }
      }
      if (pack !== undefined) return 'missing';
    }
    let actual: string;
    try {
      actual = hashFile(this.algo, p);
    } catch (e) {
      if (e instanceof RvcError && e.code === 'PATH_NOT_FOUND') return 'missing';
      throw e;
    }
    if (actual !== oidDigest(oid)) return 'corrupt';
    if (isTreeOid(oid)) {
      try {
        parseTree(fs.readFileSync(p), this.algo, oid);
      } catch {
        return 'corrupt';
      }
    }
    return 'ok';
  }

  /**
   * A chunk list (listed as `<oid>.chunks`) is sound when it parses and its chunks, all present
   * and of the sizes it says, hash together to `oid`. A damaged chunk makes both it and the list
   * corrupt: repair removes both, and `rvc pull` fetches the list and the chunks it lacks.
   */
  private verifyChunkList(oid: string): 'ok' | 'corrupt' | 'missing' {
    let chunks: ChunkEntry[] | undefined;
    try {
      chunks = this.readChunkListIfAny(oid);
    } catch (e) {
      if (e instanceof RvcError && e.code === 'OBJECT_CORRUPT') return 'corrupt';
      throw e;
    }
    if (!chunks) return 'missing';
    return this.hashChunks(chunks) === oid ? 'ok' : 'corrupt';
  }

  /**
   * Whether a downloaded file hashes to `oid`; deleted if it throws. A manifest that is the one
   * its name promises but that rvc refuses (an entry with '..' or under '.git', colliding
   * entries) is not damaged: it was built that way, and its parse error (PATH_UNSAFE or
   * TREE_INVALID, naming the entry) is thrown rather than reported as a mismatch.
   */
  private downloadMatches(tmpPath: string, oid: string): { ok: boolean; entries?: TreeEntry[] } {
    try {
      if (!isTreeOid(oid)) return { ok: hashFile(this.algo, tmpPath) === oidDigest(oid) };
      // A manifest is read once, hashed and parsed from the same bytes.
      const text = fs.readFileSync(tmpPath);
      if (hashBuffer(this.algo, text) !== oidDigest(oid)) return { ok: false };
      return { ok: true, entries: parseTree(text, this.algo, `manifest ${oid}`) };
    } catch (e) {
      fs.rmSync(tmpPath, { force: true });
      throw e;
    }
  }

  /** Keeps a manifest's entries just verified on their way into the cache, for the next readTree. */
  private rememberVerified(oid: string, entries: TreeEntry[] | undefined): void {
    if (!entries) return;
    // A few at most: one that nobody reads next must not hold a million entries until exit.
    if (this.verifiedTrees.size >= VERIFIED_TREES_KEPT) this.verifiedTrees.delete(this.verifiedTrees.keys().next().value!);
    this.verifiedTrees.set(oid, entries);
  }

  /**
   * importVerified for bytes in memory (an object read out of a remote's pack): stored only when
   * they hash to `oid` (and, for a manifest, parse), written once through a temp file and renamed.
   */
  importBytes(data: Uint8Array, oid: string): boolean {
    if (hashBuffer(this.algo, data) !== oidDigest(oid)) return false;
    const entries = isTreeOid(oid) ? parseTree(Buffer.from(data.buffer, data.byteOffset, data.byteLength), this.algo, `manifest ${oid}`) : undefined;
    const dest = this.objectPath(oid);
    if (this.hasWhole(oid)) return true;
    this.rememberVerified(oid, entries);
    // The temp file goes in the cache's tmp folder, named with our PID, like every download's:
    // what a killed fetch leaves there is swept by the next one.
    this.writeObject(dest, tempPathFor(path.join(this.tmpDir(), 'fetch')), data);
    return true;
  }

  /** True when `data` hashes to `oid` (and, for a manifest, parses: TREE_INVALID otherwise). */
  verifyBytes(data: Uint8Array, oid: string): boolean {
    if (hashBuffer(this.algo, data) !== oidDigest(oid)) return false;
    if (isTreeOid(oid)) parseTree(Buffer.from(data.buffer, data.byteOffset, data.byteLength), this.algo, `manifest ${oid}`);
    return true;
  }

  /** Checks a downloaded file like importVerified, then deletes it: for checking a remote's copy. */
  async verifyDownload(tmpPath: string, oid: string): Promise<boolean> {
    try {
      return this.downloadMatches(tmpPath, oid).ok;
    } finally {
      fs.rmSync(tmpPath, { force: true });
    }
  }

  /**
   * Moves a downloaded file into the cache if its content hashes to `oid`; deletes it otherwise.
   * Remote data enters the cache this way, by importBytes, or in a pack whose every object was
   * checked (adoptPack).
   */
  async importVerified(tmpPath: string, oid: string): Promise<boolean> {
    const m = this.downloadMatches(tmpPath, oid);
    if (!m.ok) {
      fs.rmSync(tmpPath, { force: true });
      return false;
    }
    this.moveIntoCache(tmpPath, this.objectPath(oid));
    this.rememberVerified(oid, m.entries);
    return true;
  }

  /** Makes a checked temp file read-only and renames it to `dest`; it never outlives a failure. */
  private moveIntoCache(tmpPath: string, dest: string): void {
    try {
      fs.chmodSync(tmpPath, OBJECT_MODE);
      this.ensureDir(dest);
      fs.renameSync(tmpPath, dest);
    } catch (e) {
      fs.rmSync(tmpPath, { force: true });
      throw fromFsError(e, dest, 'write cache object');
    }
  }

  /**
   * Every object name in the cache (a chunk list as `<oid>.chunks`; a packed object with its
   * pack's id); temp files of killed writes (whose writer's PID is gone) and pack files without a
   * sound index are reported separately as leftovers. A live writer's temp file is neither.
   */
  *list(): Generator<{ oid: string; pack?: string } | { leftover: string }> {
    let shards: string[] = [];
    try {
      shards = fs.readdirSync(this.algoDir);
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw fromFsError(e, this.algoDir, 'list');
    }
    for (const shard of shards.sort()) {
      const dir = path.join(this.algoDir, shard);
      if (shard.length !== 2) continue;
      let names: string[];
      try {
        names = fs.readdirSync(dir);
      } catch {
        continue;
      }
      for (const n of names.sort()) {
        const oid: string = shard + n;
        const listOf = oid.endsWith(CHUNKS_SUFFIX) ? oid.slice(0, -CHUNKS_SUFFIX.length) : undefined;
        if (isValidOid(oid, this.algo)) yield { oid };
        else if (listOf !== undefined && isValidOid(listOf, this.algo) && !isTreeOid(listOf)) yield { oid };
        else if (isStaleTempName(n)) yield { leftover: path.join(dir, n) };
      }
    }
    // Then the packed objects (an object also loose is listed twice: once per copy), and the
    // pack files without a sound index (what a gc killed midway left, or damage): they hold
    // nothing the cache can trust.
    const { leftovers } = this.packs.scan();
    for (const l of leftovers) yield { leftover: l };
    for (const p of this.packs.packs()) {
      if (!p.index) {
        yield { leftover: p.file };
        continue;
      }
      for (const e of p.index.entries) yield { oid: e.oid, pack: p.id };
    }
  }

  /** Removes the loose copy of `oid` (a packed one goes with its pack: dropPack). */
  remove(oid: string): void {
    const p = this.objectPath(oid);
    try {
      fs.rmSync(p, { force: true });
    } catch (e) {
      throw fromFsError(e, p, 'remove');
    }
  }

  /**
   * Marks a manifest whose every file was seen in the cache, so `status` need not stat 50,000
   * objects to say "in cache". A mark is only ever a shortcut for a check that checkout repeats
   * when it matters.
   *
   * Marks live in a numbered generation folder (`complete/<algo>/<gen>/`); only the current
   * generation counts. Anything that deletes objects (gc, fsck) moves to a new generation before
   * it deletes and again after. A checker that takes no lock (status) reads the generation
   * *before* it looks at the objects and writes its mark into that generation: if any deletion
   * overlapped its check, that generation is no longer current and the mark is ignored.
   */
  markGeneration(): number {
    try {
      const n = Number(fs.readFileSync(this.generationFile(), 'utf8'));
      return Number.isSafeInteger(n) && n >= 0 ? n : 0;
    } catch {
      return 0;
    }
  }

  /** Marks `treeOid` complete in generation `gen` (read with markGeneration() before checking). */
  markComplete(treeOid: string, gen: number = this.markGeneration()): void {
    const p = this.completeMarkPath(treeOid, gen);
    try {
      this.makeDir(path.dirname(p));
      fs.writeFileSync(p, '');
    } catch {
      // a missing mark only costs a slower status
    }
  }

  isMarkedComplete(treeOid: string): boolean {
    return fs.existsSync(this.completeMarkPath(treeOid, this.markGeneration()));
  }

  /**
   * Invalidates every mark by moving to the next generation, then removes old generations'
   * folders. Safe beside a checker adding marks (a plain `fsck` takes no lock): its marks land
   * in a generation that is no longer current.
   */
  clearCompleteMarks(): void {
    const root = this.marksRoot();
    const next = this.markGeneration() + 1;
    try {
      this.makeDir(root);
      const tmp = tempPathFor(this.generationFile());
      fs.writeFileSync(tmp, String(next));
      fs.renameSync(tmp, this.generationFile());
    } catch {
      // cannot move on: fall back to removing every mark
      try {
        fs.rmSync(root, { recursive: true, force: true, maxRetries: 3 });
      } catch {
        // the marks are hints, not data
      }
      return;
    }
    let names: string[] = [];
    try {
      names = fs.readdirSync(root);
    } catch {
      return;
    }
    for (const n of names) {
      if (n === String(next) || !/^\d+$|^[0-9a-f]{64}\.tree$/.test(n)) continue;
      try {
        fs.rmSync(path.join(root, n), { recursive: true, force: true, maxRetries: 3 });
      } catch {
        // a mark written into an old generation meanwhile: ignored anyway
      }
    }
  }

  private marksRoot(): string {
    return path.join(this.tmpRoot, '..', 'complete', this.algo);
  }

  private generationFile(): string {
    return path.join(this.marksRoot(), 'generation');
  }

  private completeMarkPath(treeOid: string, gen: number): string {
    return path.join(this.marksRoot(), String(gen), treeOid);
  }

  sizeOf(oid: string): number {
    try {
      return fs.statSync(this.objectPath(oid)).size;
    } catch {
      return this.packs.find(oid)?.length ?? 0;
    }
  }
}

export function treeOidOf(algo: HashAlgo, manifestText: string | Buffer): string {
  return hashBuffer(algo, manifestText) + TREE_SUFFIX;
}
