import { createReadStream } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { RvcError, fromFsError, isRvcError } from '../errors.js';
import { queryExisting } from './query.js';
import { describeCause, remoteError, type RemoteErrorContext } from './remote-error.js';
import type { ByteRange, BytesDownloadOptions, DownloadOptions, Remote, RemoteKeyDetail, UploadOptions } from './remote.js';
import { errorCodesOf, httpStatusOf, interrupted, isConnectionError, withRetry, type RetryPolicy } from './retry.js';
import { ByteMeter, streamToBuffer, streamToFile } from './streaming.js';

/** What every object-store remote is configured with. */
export interface CloudOptions {
  bucket: string;
  /** Key prefix inside the bucket, without leading or trailing '/'. */
  prefix: string;
  jobs: number;
  /** Another API endpoint (an S3-compatible store, an emulator). */
  endpointurl?: string;
  retry: RetryPolicy;
  headThreshold: number;
  pageSize: number;
  /** Longest silence while receiving a body before the attempt is abandoned (and retried). */
  idleMs: number;
}

/** How a service names itself and its failures, for the messages the base builds. */
export interface CloudService {
  /** Named when the service cannot be reached and no endpointurl is set: 'AWS S3'. */
  name: string;
  /** Hint when the bucket does not exist. */
  bucketHint: string;
  /** Hint when access is denied: which credentials are read and which permissions are needed. */
  deniedHint: string;
}

/** One page of a listing: full object names, and the token of the next page if there is one. */
export interface ListPage {
  names: string[];
  /** With `withTimes`: each name's size and last modification (ms since the epoch), in the same order. */
  sizes?: number[];
  modified?: number[];
  next?: string;
}

/** A response body being received, and its announced length (possibly known only once it starts). */
export interface ObjectBody {
  body: Readable | AsyncIterable<Uint8Array>;
  expected?: number | (() => number | undefined);
}

const NO_SUCH_BUCKET = (): Error => Object.assign(new Error('NoSuchBucket'), { name: 'NoSuchBucket' });

/**
 * The shared part of the object-store remotes (S3, GCS): key prefixing, retries, the mapping of
 * failures to REMOTE_* codes, the bucket check that tells a missing key from a missing bucket,
 * existence queries, paginated listing, streamed upload from a file and download to a temp file
 * with a length check. A backend is the handful of primitive requests below, each one attempt
 * whose SDK error is thrown as it is; the base retries them and translates what is left.
 */
export abstract class CloudRemote implements Remote {
  readonly jobs: number;
  private readonly base: string;
  private bucketChecked: Promise<void> | undefined;

  constructor(
    readonly url: string,
    protected readonly opts: CloudOptions,
    private readonly service: CloudService,
  ) {
    this.jobs = opts.jobs;
    this.base = opts.prefix === '' ? '' : `${opts.prefix}/`;
  }

  // ---- primitives: one request each; SDK errors thrown unchanged ----

  /** Metadata of the bucket; throws the SDK's error (404 or NoSuchBucket when it does not exist). */
  protected abstract headBucket(): Promise<void>;
  /** Metadata of one object; throws the SDK's error, with status 404 when it does not exist. */
  protected abstract headObject(name: string): Promise<void>;
  /** One page of the names starting with `prefix`; with `withTimes`, their modification times too. */
  protected abstract listPage(prefix: string, token: string | undefined, withTimes?: boolean): Promise<ListPage>;
  /** Store `body` (the file's bytes, `size` of them) as `name`, counting sent bytes on `meter`. */
  protected abstract putObject(name: string, body: Readable | Buffer, size: number, meter: ByteMeter, signal?: AbortSignal): Promise<void>;
  /**
   * Files of at most this many bytes go up from one Buffer rather than a stream: those the
   * client sends in one request and holds in memory for it anyway. 0: always stream.
   */
  protected bufferedBodyLimit(): number {
    return 0;
  }
  /**
   * Start receiving `name`, or only `range` of it (an HTTP Range request; a range past the end
   * of the object fails with the service's 416).
   */
  protected abstract getObject(name: string, signal?: AbortSignal, range?: ByteRange): Promise<ObjectBody>;
  /** Delete `name`; a missing object is not an error. */
  protected abstract deleteObject(name: string): Promise<void>;
  abstract close(): Promise<void>;

  // ---- hooks a backend may refine ----

  /** Why access was denied, for the message; undefined when `e` is not a denial. */
  protected deniedReason(_e: unknown, _codes: string[], status: number | undefined): string | undefined {
    return status === 401 || status === 403 ? String(status) : undefined;
  }

  /**
   * Whether a denial (as `deniedReason` named it) refuses the credentials themselves rather than
   * one object: then no request of the command can succeed, and transfers stop at the first.
   */
  protected credentialsReason(reason: string): boolean {
    return reason === '401';
  }

  /** Whether a failure says the bucket does not exist. */
  protected bucketMissing(codes: string[], _status: number | undefined, _action: string): boolean {
    return codes.includes('NoSuchBucket');
  }

  /** A failure the generic rules do not know (checked after the bucket, key and access rules). */
  protected classify(_e: unknown, _ctx: RemoteErrorContext): RvcError | undefined {
    return undefined;
  }

  /**
   * Whether a missing object can also mean a missing bucket (the service answers a bare 404 for
   * both): then the bucket is checked before OBJECT_MISSING is believed.
   */
  protected readonly objectMissIsAmbiguous: boolean = false;

  /** Runs one upload attempt sequence; a backend that buffers may limit how many run at once. */
  protected uploadSlot<T>(_size: number, run: () => Promise<T>): Promise<T> {
    return run();
  }

  // ---- shared behaviour ----

  protected name(key: string): string {
    return this.base + key;
  }

  protected where(key?: string): string {
    return key === undefined ? `remote ${this.url}` : `'${key}' on remote ${this.url}`;
  }

  /** Translate an SDK failure (after retries) into an RvcError with a stable code and a hint. */
  protected fail(e: unknown, action: string, key?: string): RvcError {
    if (isRvcError(e)) return e;
    const codes = errorCodesOf(e);
    const status = httpStatusOf(e);
    const ctx = { url: this.url, cause: e, ...(key !== undefined ? { key } : {}) };
    if (codes.includes('AbortError')) return interrupted();
    if (this.bucketMissing(codes, status, action)) {
      return remoteError('REMOTE_NOT_FOUND', `bucket '${this.opts.bucket}' of remote ${this.url} does not exist`, {
        ...ctx, hint: this.service.bucketHint,
      });
    }
    if (codes.includes('NoSuchKey') || (status === 404 && action === 'download')) {
      return remoteError('OBJECT_MISSING', `${this.where(key)} does not exist`, {
        ...ctx, hint: 'push it from a clone that has it, or check that this is the right remote',
      });
    }
    const denied = this.deniedReason(e, codes, status);
    if (denied !== undefined) {
      return remoteError('REMOTE_ACCESS_DENIED', `access denied (${denied}) while trying to ${action} ${this.where(key)}`, {
        ...ctx, hint: this.service.deniedHint, ...(this.credentialsReason(denied) ? { credentials: true } : {}),
      });
    }
    const special = this.classify(e, ctx);
    if (special) return special;
    if (isConnectionError(e)) {
      return remoteError('REMOTE_UNREACHABLE', `could not reach ${this.opts.endpointurl ?? this.service.name} for remote ${this.url} (${describeCause(e)})`, {
        ...ctx,
        hint: `check the network connection${this.opts.endpointurl ? ' and the endpointurl option' : ''} (gave up after ${this.opts.retry.retries} retries)`,
      });
    }
    return remoteError('REMOTE_TRANSFER_FAILED', `could not ${action} ${this.where(key)}: ${describeCause(e)}`, ctx);
  }

  protected async run<T>(action: string, key: string | undefined, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    try {
      return await withRetry(fn, { ...this.opts.retry, ...(signal ? { signal } : {}) });
    } catch (e) {
      throw this.fail(e, action, key);
    }
  }

  /**
   * An object lookup answers a bare 404 both for a missing object and a missing bucket, so the
   * bucket is checked once per remote before "not there" is believed. A 401/403 here only means
   * the credentials may not read the bucket's metadata, which object access does not need; a 301
   * (S3: the bucket is in another region) says it exists.
   */
  protected checkBucket(): Promise<void> {
    this.bucketChecked ??= this.run('check', undefined, async () => {
      try {
        await this.headBucket();
      } catch (e) {
        const status = httpStatusOf(e);
        if (status === 404 || errorCodesOf(e).includes('NoSuchBucket')) throw NO_SUCH_BUCKET();
        if (status === 403 || status === 401 || status === 301) return;
        throw e;
      }
    }).catch((e: unknown) => {
      // Only a definite answer is remembered; a network failure is asked again next time.
      if (!isRvcError(e, 'REMOTE_NOT_FOUND')) this.bucketChecked = undefined;
      throw e;
    });
    return this.bucketChecked;
  }

  private async head(key: string): Promise<boolean> {
    return this.run('check', key, async () => {
      try {
        await this.headObject(this.name(key));
        return true;
      } catch (e) {
        if (httpStatusOf(e) === 404) return false;
        throw e;
      }
    });
  }

  async existing(keys: string[], onProgress?: (done: number) => void): Promise<Set<string>> {
    if (keys.length === 0) return new Set();
    await this.checkBucket();
    return queryExisting(
      keys,
      {
        head: (k) => this.head(k),
        list: (prefix) => this.list(prefix),
        jobs: this.jobs,
        headThreshold: this.opts.headThreshold,
        pageSize: this.opts.pageSize,
        parentListing: true,
      },
      onProgress,
    );
  }

  async *list(prefix = ''): AsyncIterable<string> {
    for await (const { key } of this.listPages(prefix, false)) yield key;
  }

  async *listDetailed(prefix = ''): AsyncIterable<RemoteKeyDetail> {
    yield* this.listPages(prefix, true);
  }

  private async *listPages(prefix: string, withTimes: boolean): AsyncIterable<RemoteKeyDetail> {
    let token: string | undefined;
    do {
      const page = await this.run('list', undefined, async () => {
        try {
          return await this.listPage(this.name(prefix), token, withTimes);
        } catch (e) {
          // A listing names no object: its 404 can only be about the bucket.
          if (httpStatusOf(e) === 404) throw NO_SUCH_BUCKET();
          throw e;
        }
      });
      for (let i = 0; i < page.names.length; i++) {
        const name = page.names[i]!;
        if (name.startsWith(this.base)) yield { key: name.slice(this.base.length), size: page.sizes?.[i] ?? 0, modified: page.modified?.[i] ?? Date.now() };
      }
      token = page.next;
    } while (token !== undefined);
  }

  async uploadBytes(key: string, data: Uint8Array, opts: UploadOptions = {}): Promise<void> {
    const body = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const meter = new ByteMeter(opts.onBytes);
    const attempt = async (): Promise<void> => {
      meter.restart();
      await this.putObject(this.name(key), body.length <= this.bufferedBodyLimit() ? body : Readable.from([body]), body.length, meter, opts.signal);
    };
    await this.uploadSlot(body.length, () => this.run('upload', key, attempt, opts.signal));
  }

  async upload(key: string, localPath: string, opts: UploadOptions = {}): Promise<void> {
    let size = opts.size;
    if (size === undefined) {
      try {
        size = (await stat(localPath)).size;
      } catch (e) {
        throw fromFsError(e, localPath, 'read');
      }
    }
    const bytes = size;
    const meter = new ByteMeter(opts.onBytes);
    const attempt = async (): Promise<void> => {
      meter.restart();
      let localError: unknown;
      // A body the SDK would buffer whole anyway is read in one call: streaming it costs a
      // chunk array and a concatenation per request (a pack a push sends is one of these).
      if (bytes <= this.bufferedBodyLimit()) {
        let data: Buffer;
        try {
          data = await readFile(localPath);
        } catch (e) {
          throw fromFsError(e, localPath, 'read');
        }
        await this.putObject(this.name(key), data, data.length, meter, opts.signal);
        return;
      }
      const body = createReadStream(localPath).on('error', (e) => {
        localError = e;
      });
      try {
        await this.putObject(this.name(key), body, bytes, meter, opts.signal);
      } catch (e) {
        // The file could not be read: the user's to fix, not a network fault to retry.
        if (localError !== undefined) throw fromFsError(localError, localPath, 'read');
        throw e;
      } finally {
        body.destroy();
      }
    };
    await this.uploadSlot(bytes, () => this.run('upload', key, attempt, opts.signal));
  }

  /**
   * One GET with its retries (`attempt`, run again from the start on each). A missing key on a
   * backend that cannot tell a missing key from a missing bucket checks the bucket first, so the
   * error names the right one.
   */
  private async runDownload<T>(key: string, signal: AbortSignal | undefined, attempt: () => Promise<T>): Promise<T> {
    try {
      return await this.run('download', key, attempt, signal);
    } catch (e) {
      if (this.objectMissIsAmbiguous && isRvcError(e, 'OBJECT_MISSING')) await this.checkBucket();
      throw e;
    }
  }

  async download(key: string, destPath: string, opts: DownloadOptions = {}): Promise<void> {
    const meter = new ByteMeter(opts.onBytes);
    await this.runDownload(key, opts.signal, async () => {
      meter.restart();
      const { body, expected } = await this.getObject(this.name(key), opts.signal);
      await streamToFile(body, destPath, {
        ...(expected !== undefined ? { expected } : {}),
        meter,
        idleMs: this.opts.idleMs,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    });
  }

  async downloadBytes(key: string, opts: BytesDownloadOptions = {}): Promise<Buffer> {
    const meter = new ByteMeter(opts.onBytes);
    return this.runDownload(key, opts.signal, async () => {
      meter.restart();
      const { body, expected } = await this.getObject(this.name(key), opts.signal);
      return streamToBuffer(body, {
        ...(expected !== undefined ? { expected } : {}),
        ...(opts.into ? { into: opts.into } : {}),
        ...(opts.onFill ? { onFill: opts.onFill } : {}),
        meter,
        idleMs: this.opts.idleMs,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    });
  }

  async downloadRange(key: string, destPath: string, range: ByteRange, opts: DownloadOptions = {}): Promise<number> {
    const meter = new ByteMeter(opts.onBytes);
    if (range.length === 0) {
      await writeFile(destPath, new Uint8Array());
      return 0;
    }
    return this.runDownload(key, opts.signal, async () => {
      meter.restart();
      let n: number;
      try {
        const got = await this.getObject(this.name(key), opts.signal, range);
        n = await streamToFile(got.body, destPath, {
          ...(got.expected !== undefined ? { expected: got.expected } : {}),
          meter,
          idleMs: this.opts.idleMs,
          ...(opts.signal ? { signal: opts.signal } : {}),
        });
      } catch (e) {
        // The object ends before the range starts: nothing of it is there. (A backend may
        // say so when the request is sent, or, streaming, when the body is read.)
        if (httpStatusOf(e) === 416) {
          await writeFile(destPath, new Uint8Array());
          return 0;
        }
        throw e;
      }
      if (n > range.length) {
        throw new RvcError('REMOTE_TRANSFER_FAILED', `${this.where(key)}: the server sent ${n} bytes for a range of ${range.length} (it ignores Range requests)`, {
          hint: 'use an endpoint that supports ranged GETs, or set the remote’s packs option to false and push again',
        });
      }
      return n;
    });
  }

  async delete(key: string): Promise<void> {
    await this.run('delete', key, () => this.deleteObject(this.name(key)));
  }
}
