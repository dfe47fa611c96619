import fs from 'node:fs';
import path from 'node:path';
import { RvcError, errnoCode, fromFsError } from '../errors.js';
import { objectKey, isValidOid, isTreeOid, oidDigest, TREE_SUFFIX, type HashAlgo } from '../model/oid.js';
import { parseTree, serializeTreeChunks, type TreeEntry } from '../model/tree.js';
import { tempPathFor, isStaleTempName, sweepStaleTemps, writeAll, makeDirs } from '../fsutil/atomic.js';
import { hashBuffer, hashFile, hashCopyFile, createHasher, SMALL_FILE } from '../hashing/hash.js';

const tmpSwept = new Set<string>();

/** Cache objects are read-only so that a hard- or sym-linked workspace file cannot be edited into corruption. */
const OBJECT_MODE = 0o444;

export interface OdbOptions {
  /** `cache.shared: group`: folders made group-writable and setgid, objects readable by all. */
  shared?: boolean;
}

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

  constructor(
    readonly root: string,
    readonly algo: HashAlgo,
    private readonly tmpRoot: string,
    private readonly opts: OdbOptions = {},
  ) {
    this.algoDir = path.join(root, algo);
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

  hasSync(oid: string): boolean {
    return fs.existsSync(this.objectPath(oid));
  }

  async has(oid: string): Promise<boolean> {
    return this.hasSync(oid);
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
    if (fs.existsSync(dest)) return;
    this.ensureDir(dest);
    const tmp = tempPathFor(dest);
    try {
      const fd = fs.openSync(tmp, 'wx', OBJECT_MODE);
      try {
        writeAll(fd, data);
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
   * Hashes a workspace file and stores its content, reading it once. Returns its oid and the
   * number of bytes stored, which differs from `size` (the caller's earlier stat) when the file
   * was written to meanwhile. Small files are read whole; large ones are hashed while being
   * copied to a temp file.
   */
  addFile(src: string, size: number, onBytes?: (n: number) => void): { oid: string; size: number } {
    if (size <= SMALL_FILE) {
      let buf: Buffer;
      try {
        buf = fs.readFileSync(src);
      } catch (e) {
        throw fromFsError(e, src, 'read');
      }
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
    const p = this.objectPath(oid);
    // Kept as bytes: hashed as they are and decoded one line at a time by parseTree, instead of
    // a 100 MB+ string for a million files plus a Buffer copy of it to hash.
    let text: Buffer;
    try {
      text = fs.readFileSync(p);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') {
        throw new RvcError('OBJECT_MISSING', `directory manifest ${oid} is not in the cache`, {
          path: p, hint: 'fetch it from a remote with `rvc pull` (or `rvc fetch`)',
        });
      }
      throw fromFsError(e, p, 'read');
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

  async readTreeEntries(oid: string): Promise<{ oid: string; size: number }[]> {
    return this.readTree(oid);
  }

  /** Re-hashes an object: 'ok', 'corrupt' (content does not match the name) or 'missing'. */
  verify(oid: string): 'ok' | 'corrupt' | 'missing' {
    const p = this.objectPath(oid);
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
   * Whether a downloaded file hashes to `oid`; deleted if it throws. A manifest that is the one
   * its name promises but that rvc refuses (an entry with '..' or under '.git', colliding
   * entries) is not damaged: it was built that way, and its parse error (PATH_UNSAFE or
   * TREE_INVALID, naming the entry) is thrown rather than reported as a mismatch.
   */
  private downloadMatches(tmpPath: string, oid: string): boolean {
    let actual: string;
    try {
      actual = hashFile(this.algo, tmpPath);
      if (actual === oidDigest(oid) && isTreeOid(oid)) parseTree(fs.readFileSync(tmpPath), this.algo, `manifest ${oid}`);
    } catch (e) {
      fs.rmSync(tmpPath, { force: true });
      throw e;
    }
    return actual === oidDigest(oid);
  }

  /** Checks a downloaded file like importVerified, then deletes it: for checking a remote's copy. */
  async verifyDownload(tmpPath: string, oid: string): Promise<boolean> {
    try {
      return this.downloadMatches(tmpPath, oid);
    } finally {
      fs.rmSync(tmpPath, { force: true });
    }
  }

  /**
   * Moves a downloaded file into the cache if its content hashes to `oid`; deletes it otherwise.
   * This is the only way remote data enters the cache.
   */
  async importVerified(tmpPath: string, oid: string): Promise<boolean> {
    if (!this.downloadMatches(tmpPath, oid)) {
      fs.rmSync(tmpPath, { force: true });
      return false;
    }
    const dest = this.objectPath(oid);
    try {
      fs.chmodSync(tmpPath, OBJECT_MODE);
      this.ensureDir(dest);
      fs.renameSync(tmpPath, dest);
    } catch (e) {
      fs.rmSync(tmpPath, { force: true });
      throw fromFsError(e, dest, 'write cache object');
    }
    return true;
  }

  /**
   * Every object name in the cache; temp files of killed writes (whose writer's PID is gone) are
   * reported separately. A live writer's temp file is neither.
   */
  *list(): Generator<{ oid: string } | { leftover: string }> {
    let shards: string[];
    try {
      shards = fs.readdirSync(this.algoDir);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return;
      throw fromFsError(e, this.algoDir, 'list');
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
        const oid = shard + n;
        if (isValidOid(oid, this.algo)) yield { oid };
        else if (isStaleTempName(n)) yield { leftover: path.join(dir, n) };
      }
    }
  }

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
      return 0;
    }
  }
}

export function treeOidOf(algo: HashAlgo, manifestText: string | Buffer): string {
  return hashBuffer(algo, manifestText) + TREE_SUFFIX;
}
