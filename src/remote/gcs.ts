import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Bucket, Storage } from '@google-cloud/storage';
import { RvcError, fromFsError, isRvcError } from '../errors.js';
import { queryExisting } from './query.js';
import { describeCause, remoteError } from './remote-error.js';
import type { DownloadOptions, Remote, UploadOptions } from './remote.js';
import { errorCodesOf, httpStatusOf, interrupted, isConnectionError, withRetry, type RetryPolicy } from './retry.js';
import { ByteMeter, streamToFile } from './streaming.js';

export interface GcsRemoteOptions {
  bucket: string;
  /** Object name prefix inside the bucket, without leading or trailing '/'. */
  prefix: string;
  jobs: number;
  /** Another JSON API endpoint (an emulator, a private endpoint). */
  endpointurl?: string;
  projectid?: string;
  /** A service-account key file; without it, application-default credentials are used. */
  credentialpath?: string;
  retry: RetryPolicy;
  /** Retries the client library makes per request (its own backoff starts at about 1 s). */
  requestRetries: number;
  timeoutMs: number;
  headThreshold: number;
  pageSize: number;
  /** Files at least this large use a resumable upload; smaller ones one multipart request. */
  resumableThreshold: number;
}

const DENIED_MESSAGE = /could not load the default credentials|invalid_grant|unauthorized_client|could not refresh access token|invalid_client|permission|forbidden|unauthenticated/i;

/** What an SDK response stream hands to its 'response' listeners (an IncomingMessage or similar). */
interface ResponseLike {
  headers?: IncomingHttpHeaders | Record<string, string | string[] | undefined>;
}

function header(res: ResponseLike, name: string): string | undefined {
  const v = res.headers?.[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Open a Google Cloud Storage remote. The client library is imported here, on first use, so
 * commands that never touch a remote do not pay for loading it.
 */
export async function openGcsRemote(url: string, opts: GcsRemoteOptions): Promise<Remote> {
  const { Storage } = await import('@google-cloud/storage');
  const custom = opts.endpointurl !== undefined;
  // Tokens go to a custom endpoint only over TLS or when a key file is named explicitly: a plain
  // http:// endpoint is an emulator, and a bearer token must not cross the network in clear.
  const authenticate = !custom || opts.credentialpath !== undefined || opts.endpointurl!.startsWith('https:');
  const storage = new Storage({
    ...(custom ? { apiEndpoint: opts.endpointurl, useAuthWithCustomEndpoint: authenticate } : {}),
    ...(opts.projectid !== undefined ? { projectId: opts.projectid } : {}),
    ...(opts.credentialpath !== undefined ? { keyFilename: opts.credentialpath } : {}),
    retryOptions: { autoRetry: opts.requestRetries > 0, maxRetries: opts.requestRetries },
    timeout: opts.timeoutMs,
  });
  return new GcsRemote(url, opts, storage);
}

class GcsRemote implements Remote {
  readonly jobs: number;
  private readonly bucket: Bucket;
  private readonly base: string;
  private bucketChecked: Promise<void> | undefined;

  constructor(
    readonly url: string,
    private readonly opts: GcsRemoteOptions,
    storage: Storage,
  ) {
    this.jobs = opts.jobs;
    this.base = opts.prefix === '' ? '' : `${opts.prefix}/`;
    this.bucket = storage.bucket(opts.bucket);
  }

  private name(key: string): string {
    return this.base + key;
  }

  private where(key?: string): string {
    return key === undefined ? `remote ${this.url}` : `'${key}' on remote ${this.url}`;
  }

  private fail(e: unknown, action: string, key?: string): RvcError {
    if (isRvcError(e)) return e;
    const status = httpStatusOf(e);
    const codes = errorCodesOf(e);
    const msg = e instanceof Error ? e.message : String(e);
    const ctx = { url: this.url, cause: e, ...(key !== undefined ? { key } : {}) };
    if (codes.includes('AbortError')) return interrupted();
    // An upload names no existing object, so its 404 can only be about the bucket.
    if (codes.includes('NoSuchBucket') || (status === 404 && action === 'upload')) {
      return remoteError('REMOTE_NOT_FOUND', `bucket '${this.opts.bucket}' of remote ${this.url} does not exist`, {
        ...ctx, hint: 'check the bucket name in the remote URL (and the endpointurl), or create the bucket',
      });
    }
    if (status === 404 && action === 'download') {
      return remoteError('OBJECT_MISSING', `${this.where(key)} does not exist`, {
        ...ctx, hint: 'push it from a clone that has it, or check that this is the right remote',
      });
    }
    if (status === 401 || status === 403 || (status === undefined && DENIED_MESSAGE.test(msg))) {
      return remoteError('REMOTE_ACCESS_DENIED', `access denied (${status ?? 'no credentials'}) while trying to ${action} ${this.where(key)}`, {
        ...ctx,
        hint:
          'check the credentials (GOOGLE_APPLICATION_CREDENTIALS, `gcloud auth application-default login` or the ' +
          'credentialpath option) and that they allow storage.objects.get/create/list on the bucket',
      });
    }
    if (isConnectionError(e)) {
      return remoteError('REMOTE_UNREACHABLE', `could not reach ${this.opts.endpointurl ?? 'Google Cloud Storage'} for remote ${this.url} (${describeCause(e)})`, {
        ...ctx,
        hint: `check the network connection${this.opts.endpointurl ? ' and the endpointurl option' : ''} (gave up after ${this.opts.retry.retries} retries)`,
      });
    }
    return remoteError('REMOTE_TRANSFER_FAILED', `could not ${action} ${this.where(key)}: ${describeCause(e)}`, ctx);
  }

  private async run<T>(action: string, key: string | undefined, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    try {
      return await withRetry(fn, { ...this.opts.retry, ...(signal ? { signal } : {}) });
    } catch (e) {
      throw this.fail(e, action, key);
    }
  }

  /**
   * An object lookup answers 404 both for a missing object and a missing bucket, so the bucket is
   * checked once per remote before "missing" is believed. A 403 only means the credentials may
   * not read bucket metadata, which object access does not need.
   */
  private checkBucket(): Promise<void> {
    this.bucketChecked ??= this.run('check', undefined, async () => {
      try {
        await this.bucket.getMetadata();
      } catch (e) {
        const status = httpStatusOf(e);
        if (status === 404) throw Object.assign(new Error('NoSuchBucket'), { name: 'NoSuchBucket' });
        if (status === 403 || status === 401) return;
        throw e;
      }
    }).catch((e: unknown) => {
      if (!isRvcError(e, 'REMOTE_NOT_FOUND')) this.bucketChecked = undefined;
      throw e;
    });
    return this.bucketChecked;
  }

  private async head(key: string): Promise<boolean> {
    return this.run('check', key, async () => {
      try {
        await this.bucket.file(this.name(key)).getMetadata();
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
    let pageToken: string | undefined;
    do {
      const [files, , response] = await this.run('list', undefined, async () => {
        try {
          return await this.bucket.getFiles({
            prefix: this.name(prefix),
            autoPaginate: false,
            maxResults: this.opts.pageSize,
            // Names only: a full object resource is ~1 KB of JSON, a name ~80 bytes.
            fields: 'items(name),nextPageToken',
            ...(pageToken !== undefined ? { pageToken } : {}),
          });
        } catch (e) {
          if (httpStatusOf(e) === 404) throw Object.assign(new Error('NoSuchBucket'), { name: 'NoSuchBucket' });
          throw e;
        }
      });
      for (const f of files) {
        // With `fields`, the library hands back the raw JSON items instead of File objects.
        const name = (f as unknown as { name?: unknown }).name;
        if (typeof name === 'string' && name.startsWith(this.base)) yield name.slice(this.base.length);
      }
      const next = (response as { nextPageToken?: unknown } | undefined)?.nextPageToken;
      pageToken = typeof next === 'string' && next !== '' ? next : undefined;
    } while (pageToken !== undefined);
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
    const resumable = size >= this.opts.resumableThreshold;
    const meter = new ByteMeter(opts.onBytes);
    await this.run(
      'upload',
      key,
      async () => {
        meter.restart();
        let localError: unknown;
        const source = createReadStream(localPath).on('error', (e) => {
          localError = e;
        });
        const counter = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            meter.add(chunk.length);
            cb(null, chunk);
          },
        });
        const sink = this.bucket.file(this.name(key)).createWriteStream({
          // One request for small objects; a resumable session (streamed, not buffered) for large
          // ones, where a fresh attempt is cheaper than keeping the whole file in memory.
          resumable,
          gzip: false,
          // The library checks the server's CRC32C against the bytes it sent: corruption on the
          // way up is caught here, on the way down by rvc's own hash check.
          validation: 'crc32c',
          metadata: { contentType: 'application/octet-stream' },
        });
        try {
          await pipeline(source, counter, sink, opts.signal ? { signal: opts.signal } : {});
        } catch (e) {
          if (localError !== undefined) throw fromFsError(localError, localPath, 'read');
          throw e;
        }
      },
      opts.signal,
    );
  }

  async download(key: string, destPath: string, opts: DownloadOptions = {}): Promise<void> {
    const meter = new ByteMeter(opts.onBytes);
    try {
      await this.run(
        'download',
        key,
        async () => {
          meter.restart();
          let expected: number | undefined;
          // Hashes are verified by the caller against the oid, which is stronger than CRC32C.
          const body = this.bucket.file(this.name(key)).createReadStream({ validation: false });
          body.on('response', (res: ResponseLike) => {
            const encoding = header(res, 'content-encoding') ?? header(res, 'x-goog-stored-content-encoding');
            const len = header(res, 'x-goog-stored-content-length') ?? header(res, 'content-length');
            // A transcoded (gzip) body has no announced length to compare against.
            if ((encoding === undefined || encoding === 'identity') && len !== undefined && /^\d+$/.test(len)) expected = Number(len);
          });
          await streamToFile(body, destPath, {
            expected: () => expected,
            meter,
            idleMs: this.opts.timeoutMs,
            ...(opts.signal ? { signal: opts.signal } : {}),
          });
        },
        opts.signal,
      );
    } catch (e) {
      if (isRvcError(e, 'OBJECT_MISSING')) await this.checkBucket();
      throw e;
    }
  }

  async delete(key: string): Promise<void> {
    await this.run('delete', key, async () => {
      await this.bucket.file(this.name(key)).delete({ ignoreNotFound: true });
    });
  }

  async close(): Promise<void> {}
}
