import { randomUUID } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { copyFile, mkdir, opendir, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { RvcError, errnoCode, fromFsError } from '../errors.js';
import { queryExisting } from './query.js';
import { remoteError } from './remote-error.js';
import type { DownloadOptions, Remote, UploadOptions } from './remote.js';
import { interrupted } from './retry.js';

export interface LocalRemoteOptions {
  jobs: number;
  /** Up to this many keys, existing() stats each one; above it, it reads the shard folders. */
  headThreshold?: number;
}

/** Errors of a download that are about the local file being written. */
const LOCAL_WRITE_ERRNOS = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);

/** Temporary upload files start with this, so list() and other readers can skip them. */
const TMP_PREFIX = '.rvc-tmp-';

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
 * to a temporary file next to their final place and renamed, so a reader never sees half an
 * object and an interrupted push leaves only `.rvc-tmp-*` files, which are ignored.
 */
export class LocalRemote implements Remote {
  readonly jobs: number;
  private readonly headThreshold: number;

  constructor(
    readonly url: string,
    readonly root: string,
    opts: LocalRemoteOptions,
  ) {
    this.jobs = opts.jobs;
    this.headThreshold = opts.headThreshold ?? 64;
  }

  private pathOf(key: string): string {
    assertSafeKey(key);
    return path.join(this.root, ...key.split('/'));
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
    for await (const key of this.walk(dirPart)) {
      if (key.startsWith(prefix)) yield key;
    }
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
      if (ent.name.startsWith(TMP_PREFIX)) continue;
      if (ent.isDirectory()) yield* this.walk(`${rel}${ent.name}/`);
      else if (ent.isFile()) yield `${rel}${ent.name}`;
    }
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
    const tmp = path.join(path.dirname(dest), `${TMP_PREFIX}${randomUUID()}`);
    try {
      await mkdir(path.dirname(dest), { recursive: true });
      // FICLONE makes the copy a reflink where the filesystem supports it, a plain copy elsewhere.
      await copyFile(localPath, tmp, fsConstants.COPYFILE_FICLONE);
      await rename(tmp, dest);
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
      await copyFile(src, destPath, fsConstants.COPYFILE_FICLONE);
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

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.pathOf(key));
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw this.fail(e, 'delete', key);
    }
  }

  async close(): Promise<void> {}
}
