import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { fromFsError } from '../errors.js';
import { queryExisting } from './query.js';
import { remoteError } from './remote-error.js';
import type { ByteRange, BytesDownloadOptions, DownloadOptions, Remote, RemoteKeyDetail, UploadOptions } from './remote.js';
import { interrupted } from './retry.js';

export type MemoryOp = 'head' | 'list' | 'upload' | 'download' | 'range' | 'delete';

export interface MemoryRemoteOptions {
  jobs?: number;
  headThreshold?: number;
  /** Keys per simulated list request, so tests can count requests as an object store would. */
  pageSize?: number;
}

/**
 * A remote held in memory, for tests of the layers above. It counts requests the way an object
 * store bills them (one per HEAD, one per list page, one per transfer) and can be told to fail
 * chosen operations, so callers can check both cost and failure handling without a server.
 */
export class MemoryRemote implements Remote {
  readonly jobs: number;
  readonly objects = new Map<string, Buffer>();
  /** When each key was last written (ms since the epoch); tests may set it to age a key. */
  readonly modified = new Map<string, number>();
  readonly calls: Record<MemoryOp, number> = { head: 0, list: 0, upload: 0, download: 0, range: 0, delete: 0 };
  /** Return (or throw) an error to make that operation fail; return undefined to let it run. */
  failWith: ((op: MemoryOp, key: string) => unknown) | undefined;
  private readonly headThreshold: number;
  private readonly pageSize: number;

  constructor(
    readonly url = 'memory://',
    opts: MemoryRemoteOptions = {},
  ) {
    this.jobs = opts.jobs ?? 8;
    this.headThreshold = opts.headThreshold ?? 64;
    this.pageSize = opts.pageSize ?? 1000;
  }

  private check(op: MemoryOp, key: string): void {
    this.calls[op]++;
    const e = this.failWith?.(op, key);
    if (e !== undefined) throw e;
  }

  put(key: string, data: Buffer | string): void {
    this.objects.set(key, Buffer.from(data));
    this.modified.set(key, Date.now());
  }

  get(key: string): Buffer | undefined {
    return this.objects.get(key);
  }

  resetCalls(): void {
    for (const k of Object.keys(this.calls) as MemoryOp[]) this.calls[k] = 0;
  }

  async existing(keys: string[], onProgress?: (done: number) => void): Promise<Set<string>> {
    return queryExisting(
      keys,
      {
        head: async (key) => {
          this.check('head', key);
          return this.objects.has(key);
        },
        list: (prefix) => this.list(prefix),
        jobs: this.jobs,
        headThreshold: this.headThreshold,
        pageSize: this.pageSize,
        parentListing: true,
      },
      onProgress,
    );
  }

  async *list(prefix = ''): AsyncIterable<string> {
    const all = [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
    for (let i = 0; i === 0 || i < all.length; i += this.pageSize) {
      this.check('list', prefix);
      for (const k of all.slice(i, i + this.pageSize)) yield k;
    }
  }

  async *listDetailed(prefix = ''): AsyncIterable<RemoteKeyDetail> {
    for await (const key of this.list(prefix)) {
      const data = this.objects.get(key);
      if (data !== undefined) yield { key, size: data.length, modified: this.modified.get(key) ?? Date.now() };
    }
  }

  async uploadBytes(key: string, data: Uint8Array, opts: UploadOptions = {}): Promise<void> {
    if (opts.signal?.aborted) throw interrupted();
    this.check('upload', key);
    this.objects.set(key, Buffer.from(data));
    this.modified.set(key, Date.now());
    opts.onBytes?.(data.length);
  }

  async upload(key: string, localPath: string, opts: UploadOptions = {}): Promise<void> {
    if (opts.signal?.aborted) throw interrupted();
    this.check('upload', key);
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of createReadStream(localPath)) chunks.push(chunk as Buffer);
    } catch (e) {
      throw fromFsError(e, localPath, 'read');
    }
    const data = Buffer.concat(chunks);
    this.objects.set(key, data);
    this.modified.set(key, Date.now());
    opts.onBytes?.(data.length);
  }

  async download(key: string, destPath: string, opts: DownloadOptions = {}): Promise<void> {
    if (opts.signal?.aborted) throw interrupted();
    this.check('download', key);
    const data = this.objects.get(key);
    if (data === undefined) {
      throw remoteError('OBJECT_MISSING', `'${key}' is not on remote ${this.url}`, { url: this.url, key });
    }
    await writeFile(destPath, data);
    opts.onBytes?.(data.length);
  }

  async downloadBytes(key: string, opts: BytesDownloadOptions = {}): Promise<Buffer> {
    if (opts.signal?.aborted) throw interrupted();
    this.check('download', key);
    const data = this.objects.get(key);
    if (data === undefined) {
      throw remoteError('OBJECT_MISSING', `'${key}' is not on remote ${this.url}`, { url: this.url, key });
    }
    opts.onBytes?.(data.length);
    if (opts.into && data.length <= opts.into.length) {
      data.copy(opts.into);
      return opts.into.subarray(0, data.length);
    }
    return Buffer.from(data);
  }

  async downloadRange(key: string, destPath: string, range: ByteRange, opts: DownloadOptions = {}): Promise<number> {
    if (opts.signal?.aborted) throw interrupted();
    this.check('range', key);
    const data = this.objects.get(key);
    if (data === undefined) {
      throw remoteError('OBJECT_MISSING', `'${key}' is not on remote ${this.url}`, { url: this.url, key });
    }
    const part = data.subarray(Math.min(range.offset, data.length), Math.min(range.offset + range.length, data.length));
    await writeFile(destPath, part);
    opts.onBytes?.(part.length);
    return part.length;
  }

  async delete(key: string): Promise<void> {
    this.check('delete', key);
    this.objects.delete(key);
    this.modified.delete(key);
  }

  async close(): Promise<void> {}
}

const named = new Map<string, MemoryRemote>();

/**
 * The process-wide memory remote called `name`, so that a test can configure `memory://name` as
 * a repository's remote and inspect the same store afterwards.
 */
export function namedMemoryRemote(name: string, opts?: MemoryRemoteOptions): MemoryRemote {
  let r = named.get(name);
  if (!r) {
    r = new MemoryRemote(`memory://${name}`, opts);
    named.set(name, r);
  }
  return r;
}

/** Forget every named memory remote (between tests). */
export function clearMemoryRemotes(): void {
  named.clear();
}
