import { randomBytes } from 'node:crypto';
import { mkdir, open, opendir, readFile, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { RvcError, errnoCode, fromFsError } from '../errors.js';
import { copyToNewFile, processGone } from '../fsutil/atomic.js';
import { queryExisting } from './query.js';
import { remoteError } from './remote-error.js';
import type { ByteRange, BytesDownloadOptions, DownloadOptions, Remote, RemoteKeyDetail, UploadOptions } from './remote.js';
import { interrupted } from './retry.js';

export interface LocalRemoteOptions {
  jobs: number;
  /** Up to this many keys, existing() stats each one; above it, it reads the shard folders. */
  headThreshold?: number;
  /**
   * Keys under `from` live in the folder `to` instead (both ending in '/'): a cache read as a
   * remote keeps its own packs in `packed/`, beside `packs/` which holds copies of remotes'
   * indexes.
   */
  alias?: { from: string; to: string };
}

/** Errors of a download that are about the local file being written. */
const LOCAL_WRITE_ERRNOS = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);

/**
 * Uploads are written into this folder of the remote and renamed into their shard folder, so
 * one readdir finds every leftover of an interrupted push. list() skips every name starting with
 * `.rvc-tmp` (older versions wrote `.rvc-tmp-<uuid>` files beside the objects).
 */
const TMP_DIR = '.rvc-tmp';
/** A leftover of another machine (or with an unknown writer) is removed only after this long unchanged. */
export const FOREIGN_TEMP_MAX_AGE_MS = 24 * 3600 * 1000;

/** This machine's name as it goes into temp names: only `[A-Za-z0-9-]`, so names parse back. */
function hostTag(): string {
  // Asked once a process (a uname call each time otherwise: one per uploaded object).
  return (hostTagOnce ??= os.hostname().replace(/[^A-Za-z0-9-]/g, '-').slice(0, 64) || 'unknown');
}
let hostTagOnce: string | undefined;

/** `<host>.<pid>.<random>.tmp`: who wrote it, so a sweep can tell a dead writer from a live one. */
const TEMP_RE = /^([A-Za-z0-9-]+)\.(\d+)\.[0-9a-f]+\.tmp$/;

export interface SweepOptions {
  /** Also look through every shard folder for temp files older versions left beside objects. */
  everywhere?: boolean;
  /** The clock, for tests. */
  now?: number;
}

/** Reject keys that could step outside the remote folder; object keys never look like this. */
function assertSafeKey(key: string): void {
  const parts = key.split('/');
  if (key === '' || path.isAbsolute(key) || key.includes('\\') || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new RvcError('PATH_UNSAFE', `'${key}' is not a valid object key`, {
      hint: 'object keys look like <algo>/ab/cdef…; this is a bug in the caller',
    });
  }
}

/**
 * A remote that is a folder: another disk, a network mount, a shared drive. Objects are written
 * to a temporary file in `.rvc-tmp/` and renamed into place, so a reader never sees half an
 * object. A temp name carries the writer's host and PID; an interrupted push's leftovers are
 * removed by the next push or `gc --cloud` (sweepLeftovers): at once when the writer was a
 * process of this machine that is gone, after a day unchanged when it was another machine's
 * (a folder remote may be shared over a network filesystem, where a PID proves nothing).
 */
export class LocalRemote implements Remote {
  readonly jobs: number;
  private readonly headThreshold: number;
  private readonly tmpRoot: string;
  private tmpReady: Promise<unknown> | undefined;
  /** Shard folders this object made or found (see moveIn). */
  private readonly madeDirs = new Set<string>();
  private readonly alias: { from: string; to: string } | undefined;

  constructor(
    readonly url: string,
    readonly root: string,
    opts: LocalRemoteOptions,
  ) {
    this.jobs = opts.jobs;
    this.headThreshold = opts.headThreshold ?? 64;
    this.tmpRoot = path.join(root, TMP_DIR);
    this.alias = opts.alias;
  }

  private pathOf(key: string): string {
    assertSafeKey(key);
    return path.join(this.root, ...this.stored(key).split('/'));
  }

  /** Where a key is stored (its alias folder, if any). */
  private stored(key: string): string {
    return this.alias && key.startsWith(this.alias.from) ? this.alias.to + key.slice(this.alias.from.length) : key;
  }

  private fail(e: unknown, action: string, key?: string): RvcError {
    if (e instanceof RvcError) return e;
    const code = errnoCode(e);
    const what = key === undefined ? `remote ${this.url}` : `'${key}' on remote ${this.url}`;
    const ctx = { url: this.url, cause: e, ...(key !== undefined ? { key } : {}) };
    switch (code) {
      case 'EACCES':
      case 'EPERM':
      case 'EROFS':
        return remoteError('REMOTE_ACCESS_DENIED', `permission denied while trying to ${action} ${what}`, {
          ...ctx, hint: `check that you may read and write the folder ${this.root}`,
        });
      case 'ENOSPC':
      case 'EDQUOT':
        return remoteError('REMOTE_TRANSFER_FAILED', `no space left while trying to ${action} ${what}`, {
          ...ctx, hint: 'free some space on the remote’s disk and run the command again',
        });
      default:
        return remoteError('REMOTE_TRANSFER_FAILED', `could not ${action} ${what}: ${e instanceof Error ? e.message : String(e)}`, ctx);
    }
  }

  private async rootExists(): Promise<boolean> {
    try {
      return (await stat(this.root)).isDirectory();
    } catch {
      return false;
    }
  }

  async existing(keys: string[], onProgress?: (done: number) => void): Promise<Set<string>> {
    return queryExisting(
      keys,
      {
        head: async (key) => {
          try {
            return (await stat(this.pathOf(key))).isFile();
          } catch (e) {
            const code = errnoCode(e);
            if (code === 'ENOENT' || code === 'ENOTDIR') return false;
            throw this.fail(e, 'check', key);
          }
        },
        list: (prefix) => this.list(prefix),
        jobs: this.jobs,
        headThreshold: this.headThreshold,
        pageSize: Number.POSITIVE_INFINITY,
        parentListing: false,
      },
      onProgress,
    );
  }

  async *list(prefix = ''): AsyncIterable<string> {
    const dirPart = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    if (dirPart !== '') assertSafeKey(dirPart.slice(0, -1));
    const a = this.alias;
    if (a && dirPart.startsWith(a.from)) {
      // Listed from the alias folder, named back under `from`.
      for await (const key of this.walk(a.to + dirPart.slice(a.from.length))) {
        const named = a.from + key.slice(a.to.length);
        if (named.startsWith(prefix)) yield named;
      }
      return;
    }
    for await (const key of this.walk(dirPart)) {
      if (a && key.startsWith(a.from)) continue;
      const named = a && key.startsWith(a.to) ? a.from + key.slice(a.to.length) : key;
      if (named.startsWith(prefix)) yield named;
    }
  }

  async *listDetailed(prefix = ''): AsyncIterable<RemoteKeyDetail> {
    // Stats run a batch at a time: one by one, each waits its turn in the thread pool.
    const detail = async (key: string): Promise<RemoteKeyDetail | undefined> => {
      try {
        const st = await stat(this.pathOf(key));
        return { key, size: st.size, modified: st.mtimeMs };
      } catch (e) {
        const code = errnoCode(e);
        if (code === 'ENOENT' || code === 'ENOTDIR') return undefined; // deleted since it was listed
        throw this.fail(e, 'list');
      }
    };
    let batch: string[] = [];
    const flush = async function* (keys: string[]): AsyncGenerator<RemoteKeyDetail> {
      for (const d of await Promise.all(keys.map(detail))) if (d) yield d;
    };
    for await (const key of this.list(prefix)) {
      batch.push(key);
      if (batch.length >= 256) {
        yield* flush(batch);
        batch = [];
      }
    }
    yield* flush(batch);
  }

  private async *walk(rel: string): AsyncGenerator<string> {
    let dir;
    try {
      dir = await opendir(path.join(this.root, ...rel.split('/').filter(Boolean)));
    } catch (e) {
      const code = errnoCode(e);
      // A folder that does not exist yet holds no objects; the first push creates it.
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw this.fail(e, 'list');
    }
    for await (const ent of dir) {
      if (ent.name.startsWith(TMP_DIR)) continue;
      if (ent.isDirectory()) yield* this.walk(`${rel}${ent.name}/`);
      else if (ent.isFile()) yield `${rel}${ent.name}`;
    }
  }

  /**
   * Renames an upload's temp file to `dest`, making its shard folder first unless this remote
   * object made it already: a push of a thousand chunks asked for the same 256 folders a thousand
   * times (a failing mkdir, then a stat, each). A folder removed meanwhile (a gc on another
   * machine pruning empty shards) fails the rename with ENOENT: made again, and renamed once more.
   */
  private async moveIn(tmp: string, dest: string): Promise<void> {
    const dir = path.dirname(dest);
    if (!this.madeDirs.has(dir)) {
      await mkdir(dir, { recursive: true });
      this.madeDirs.add(dir);
    }
    try {
      await rename(tmp, dest);
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw e;
      this.madeDirs.delete(dir);
      await mkdir(dir, { recursive: true });
      await rename(tmp, dest);
      this.madeDirs.add(dir);
    }
  }

  async uploadBytes(key: string, data: Uint8Array, opts: UploadOptions = {}): Promise<void> {
    if (opts.signal?.aborted) throw interrupted();
    const dest = this.pathOf(key);
    const tmp = path.join(this.tmpRoot, `${hostTag()}.${process.pid}.${randomBytes(8).toString('hex')}.tmp`);
    try {
      await (this.tmpReady ??= mkdir(this.tmpRoot, { recursive: true }).catch((e: unknown) => {
        this.tmpReady = undefined;
        throw e;
      }));
      await writeFile(tmp, data, { flag: 'wx' });
      await this.moveIn(tmp, dest);
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw this.fail(e, 'upload', key);
    }
    opts.onBytes?.(data.length);
  }

  async upload(key: string, localPath: string, opts: UploadOptions = {}): Promise<void> {
    if (opts.signal?.aborted) throw interrupted();
    const dest = this.pathOf(key);
    let size = opts.size;
    if (size === undefined) {
      try {
        size = (await stat(localPath)).size;
      } catch (e) {
        throw fromFsError(e, localPath, 'read');
      }
    }
    const tmp = path.join(this.tmpRoot, `${hostTag()}.${process.pid}.${randomBytes(8).toString('hex')}.tmp`);
    try {
      await (this.tmpReady ??= mkdir(this.tmpRoot, { recursive: true }).catch((e: unknown) => {
        this.tmpReady = undefined;
        throw e;
      }));
      // A reflink where the filesystem supports it, a plain copy elsewhere.
      await copyToNewFile(localPath, tmp);
      await this.moveIn(tmp, dest);
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => undefined);
      if (errnoCode(e) === 'ENOENT') {
        try {
          await stat(localPath);
        } catch (e2) {
          throw fromFsError(e2, localPath, 'read');
        }
      }
      throw this.fail(e, 'upload', key);
    }
    opts.onBytes?.(size);
  }

  async download(key: string, destPath: string, opts: DownloadOptions = {}): Promise<void> {
    if (opts.signal?.aborted) throw interrupted();
    const src = this.pathOf(key);
    try {
      await copyToNewFile(src, destPath);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') {
        let srcExists = true;
        try {
          await stat(src);
        } catch {
          srcExists = false;
        }
        if (!srcExists) {
          if (!(await this.rootExists())) {
            throw remoteError('REMOTE_NOT_FOUND', `remote folder ${this.root} does not exist`, {
              url: this.url, key, cause: e,
              hint: 'check the remote URL (is the drive mounted?) or push to it first',
            });
          }
          throw remoteError('OBJECT_MISSING', `'${key}' is not on remote ${this.url}`, {
            url: this.url, key, cause: e,
            hint: 'push it from a clone that has it, or check that this is the right remote',
          });
        }
        throw fromFsError(e, destPath, 'write');
      }
      // Only the destination can run out of room: that is the local disk, not the remote.
      if (LOCAL_WRITE_ERRNOS.has(errnoCode(e) ?? '')) throw fromFsError(e, destPath, 'write');
      throw this.fail(e, 'download', key);
    }
    if (opts.onBytes) {
      opts.onBytes((await stat(destPath)).size);
    }
  }

  /** The error of reading remote file `key` that failed with `e`: gone (the key, or the whole remote) or not readable. */
  private async readFailure(e: unknown, key: string): Promise<RvcError> {
    const code = errnoCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      if (!(await this.rootExists())) {
        return remoteError('REMOTE_NOT_FOUND', `remote folder ${this.root} does not exist`, {
          url: this.url, key, cause: e, hint: 'check the remote URL (is the drive mounted?) or push to it first',
        });
      }
      return remoteError('OBJECT_MISSING', `'${key}' is not on remote ${this.url}`, {
        url: this.url, key, cause: e, hint: 'push it from a clone that has it, or check that this is the right remote',
      });
    }
    return this.fail(e, 'download', key);
  }

  async downloadBytes(key: string, opts: BytesDownloadOptions = {}): Promise<Buffer> {
    if (opts.signal?.aborted) throw interrupted();
    let data: Buffer;
    try {
      if (!opts.into) data = await readFile(this.pathOf(key));
      else {
        const fh = await open(this.pathOf(key), 'r');
        try {
          const size = (await fh.stat()).size;
          if (size > opts.into.length) data = await fh.readFile();
          else {
            let got = 0;
            while (got < size) {
              const { bytesRead } = await fh.read(opts.into, got, size - got, got);
              if (bytesRead === 0) break;
              got += bytesRead;
            }
            data = opts.into.subarray(0, got);
          }
        } finally {
          await fh.close();
        }
      }
    } catch (e) {
      throw await this.readFailure(e, key);
    }
    opts.onBytes?.(data.length);
    return data;
  }

  /** A positional read of the remote file; a short one when the file ends before the range. */
  async downloadRange(key: string, destPath: string, range: ByteRange, opts: DownloadOptions = {}): Promise<number> {
    if (opts.signal?.aborted) throw interrupted();
    let fh;
    try {
      fh = await open(this.pathOf(key), 'r');
    } catch (e) {
      throw await this.readFailure(e, key);
    }
    let buf: Buffer;
    try {
      buf = Buffer.allocUnsafe(range.length);
      let got = 0;
      while (got < range.length) {
        const { bytesRead } = await fh.read(buf, got, range.length - got, range.offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      buf = buf.subarray(0, got);
    } catch (e) {
      throw this.fail(e, 'download', key);
    } finally {
      await fh.close();
    }
    try {
      await writeFile(destPath, buf);
    } catch (e) {
      throw fromFsError(e, destPath, 'write');
    }
    opts.onBytes?.(buf.length);
    return buf.length;
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.pathOf(key));
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw this.fail(e, 'delete', key);
    }
  }

  /**
   * Removes what interrupted uploads left: temp files in `.rvc-tmp/` whose writer was a process
   * of this machine that is gone, and any (another machine's, or of unknown origin) unchanged
   * for a day — a live upload keeps its file's mtime fresh. With `everywhere`, also the
   * `.rvc-tmp-*` files older versions wrote beside the objects, by the same age rule. Best
   * effort: returns how many were removed and never throws.
   */
  async sweepLeftovers(opts: SweepOptions = {}): Promise<number> {
    const now = opts.now ?? Date.now();
    const host = hostTag();
    let removed = 0;
    const removeIf = async (file: string, stale: (mtimeMs: number) => boolean): Promise<void> => {
      try {
        if (!stale((await stat(file)).mtimeMs)) return;
        await rm(file, { force: true });
        removed++;
      } catch {
        // gone already, or not ours to remove: the next sweep tries again
      }
    };
    let names: string[] = [];
    try {
      names = await readdir(this.tmpRoot);
    } catch {
      // no temp folder: nothing was ever interrupted here
    }
    for (const name of names) {
      const m = TEMP_RE.exec(name);
      const deadHere = m !== null && m[1] === host && processGone(Number(m[2]));
      await removeIf(path.join(this.tmpRoot, name), (mtime) => deadHere || now - mtime > FOREIGN_TEMP_MAX_AGE_MS);
    }
    if (opts.everywhere) {
      const walk = async (dir: string, depth: number): Promise<void> => {
        let ents;
        try {
          ents = await readdir(dir, { withFileTypes: true });
        } catch {
          return;
        }
        for (const e of ents) {
          const p = path.join(dir, e.name);
          if (e.name === TMP_DIR) continue;
          if (e.isDirectory() && depth < 2) await walk(p, depth + 1);
          else if (e.isFile() && e.name.startsWith(`${TMP_DIR}-`)) await removeIf(p, (mtime) => now - mtime > FOREIGN_TEMP_MAX_AGE_MS);
        }
      };
      await walk(this.root, 0);
    }
    return removed;
  }

  async close(): Promise<void> {}
}
