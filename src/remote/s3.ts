import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { RvcError, fromFsError, isRvcError } from '../errors.js';
import { MemoryBudget } from './memory-budget.js';
import { queryExisting } from './query.js';
import { describeCause, remoteError } from './remote-error.js';
import type { DownloadOptions, Remote, UploadOptions } from './remote.js';
import { errorCodesOf, httpStatusOf, interrupted, isConnectionError, withRetry, type RetryPolicy } from './retry.js';
import { ByteMeter, streamToFile } from './streaming.js';

export interface S3RemoteOptions {
  bucket: string;
  /** Key prefix inside the bucket, without leading or trailing '/'. */
  prefix: string;
  jobs: number;
  /** An S3-compatible endpoint (MinIO, Ceph, R2…); switches to path-style addressing. */
  endpointurl?: string;
  region?: string;
  /** A named profile from the shared AWS config and credentials files. */
  profile?: string;
  /** Static credentials; only ever from the untracked local config or the caller. */
  accesskeyid?: string;
  secretaccesskey?: string;
  sessiontoken?: string;
  retry: RetryPolicy;
  /** Retries the SDK makes per HTTP request (parts of a multipart upload retry individually). */
  requestRetries: number;
  connectTimeoutMs: number;
  /** Longest silence on a socket before the request is abandoned (and retried). */
  readTimeoutMs: number;
  headThreshold: number;
  pageSize: number;
  /** Smallest multipart part; files below it go up in one PutObject. */
  partSize: number;
}

const MIB = 1024 * 1024;
/** S3 refuses more parts than this in one multipart upload. */
const MAX_PARTS = 10_000;
/** Parts one multipart upload keeps in flight. */
const QUEUE_SIZE = 4;
/**
 * lib-storage reads the body into part-sized buffers: a file below the part size is held whole,
 * a multipart upload holds QUEUE_SIZE parts in flight plus the one being filled. All uploads of a
 * remote share this many buffered bytes, whatever `jobs` is.
 */
const UPLOAD_BUFFER_BUDGET = 256 * MIB;

const DENIED_CODES = new Set([
  'AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken',
  'TokenRefreshRequired', 'AllAccessDisabled', 'AccountProblem', 'InvalidClientTokenId',
  'CredentialsProviderError', 'UnrecognizedClientException', 'Forbidden',
]);

type S3Module = typeof import('@aws-sdk/client-s3');
type UploadClass = (typeof import('@aws-sdk/lib-storage'))['Upload'];

const silentLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

/**
 * Open an S3 (or S3-compatible) remote. The SDK is imported here, on first use, so commands that
 * never touch a remote do not pay for loading it.
 */
export async function openS3Remote(url: string, opts: S3RemoteOptions): Promise<Remote> {
  // The SDK warns on stderr about future Node support; a library must not print.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const [sdk, storage] = await Promise.all([import('@aws-sdk/client-s3'), import('@aws-sdk/lib-storage')]);
  return new S3Remote(url, opts, sdk, storage.Upload);
}

class S3Remote implements Remote {
  readonly jobs: number;
  private readonly client: S3Client;
  private readonly base: string;
  private readonly buffers = new MemoryBudget(UPLOAD_BUFFER_BUDGET);
  private bucketChecked: Promise<void> | undefined;

  constructor(
    readonly url: string,
    private readonly opts: S3RemoteOptions,
    private readonly sdk: S3Module,
    private readonly Upload: UploadClass,
  ) {
    this.jobs = opts.jobs;
    this.base = opts.prefix === '' ? '' : `${opts.prefix}/`;
    const agentOpts = { keepAlive: true, maxSockets: Math.max(opts.jobs + QUEUE_SIZE * 4, 16) };
    const custom = opts.endpointurl !== undefined;
    this.client = new sdk.S3Client({
      ...(custom ? { endpoint: opts.endpointurl, forcePathStyle: true } : {}),
      // Custom endpoints rarely care about the region but the signer needs one.
      ...(opts.region !== undefined ? { region: opts.region } : custom ? { region: 'us-east-1' } : {}),
      ...(opts.profile !== undefined ? { profile: opts.profile } : {}),
      ...(opts.accesskeyid !== undefined && opts.secretaccesskey !== undefined
        ? {
            credentials: {
              accessKeyId: opts.accesskeyid,
              secretAccessKey: opts.secretaccesskey,
              ...(opts.sessiontoken !== undefined ? { sessionToken: opts.sessiontoken } : {}),
            },
          }
        : {}),
      followRegionRedirects: true,
      maxAttempts: opts.requestRetries + 1,
      logger: silentLogger,
      // Many S3-compatible stores do not understand the aws-chunked trailing checksums the SDK
      // sends by default; content is verified by hash when it is fetched anyway.
      ...(custom ? { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } : {}),
      requestHandler: {
        connectionTimeout: opts.connectTimeoutMs,
        socketTimeout: opts.readTimeoutMs,
        httpAgent: new http.Agent(agentOpts),
        httpsAgent: new https.Agent(agentOpts),
        logger: silentLogger,
      },
    });
  }

  private key(key: string): string {
    return this.base + key;
  }

  private where(key?: string): string {
    return key === undefined ? `remote ${this.url}` : `'${key}' on remote ${this.url}`;
  }

  /** Translate an SDK failure (after retries) into an RvcError with a stable code and a hint. */
  private fail(e: unknown, action: string, key?: string): RvcError {
    if (isRvcError(e)) return e;
    const codes = errorCodesOf(e);
    const status = httpStatusOf(e);
    const ctx = { url: this.url, cause: e, ...(key !== undefined ? { key } : {}) };
    const endpoint = this.opts.endpointurl ?? 'AWS S3';
    if (codes.includes('AbortError')) return interrupted();
    if (codes.includes('NoSuchBucket')) {
      return remoteError('REMOTE_NOT_FOUND', `bucket '${this.opts.bucket}' of remote ${this.url} does not exist`, {
        ...ctx, hint: 'check the bucket name in the remote URL (and the endpointurl or region), or create the bucket',
      });
    }
    if (codes.includes('NoSuchKey') || (status === 404 && action === 'download')) {
      return remoteError('OBJECT_MISSING', `${this.where(key)} does not exist`, {
        ...ctx, hint: 'push it from a clone that has it, or check that this is the right remote',
      });
    }
    if (status === 401 || status === 403 || codes.some((c) => DENIED_CODES.has(c))) {
      const reason = codes.find((c) => DENIED_CODES.has(c)) ?? String(status ?? 'denied');
      return remoteError('REMOTE_ACCESS_DENIED', `access denied (${reason}) while trying to ${action} ${this.where(key)}`, {
        ...ctx,
        hint:
          'check the credentials (the profile option, AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) ' +
          'and that they allow s3:ListBucket on the bucket and s3:GetObject/s3:PutObject on its keys',
      });
    }
    if (e instanceof Error && /region is missing/i.test(e.message)) {
      return new RvcError('CONFIG_INVALID', `no AWS region is configured for remote ${this.url}`, {
        hint: 'set the remote’s region option, AWS_REGION, or a region in the profile',
      });
    }
    if (isConnectionError(e)) {
      return remoteError('REMOTE_UNREACHABLE', `could not reach ${endpoint} for remote ${this.url} (${describeCause(e)})`, {
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
   * A HEAD on a key cannot tell a missing key from a missing bucket (both are a bare 404), so
   * before answering "not there" we make sure the bucket exists, once per remote. A 403 here only
   * means the credentials may not list the bucket; object requests will say more.
   */
  private checkBucket(): Promise<void> {
    this.bucketChecked ??= this.run('check', undefined, async () => {
      try {
        await this.client.send(new this.sdk.HeadBucketCommand({ Bucket: this.opts.bucket }));
      } catch (e) {
        const status = httpStatusOf(e);
        if (status === 404 || errorCodesOf(e).includes('NoSuchBucket')) {
          throw Object.assign(new Error('NoSuchBucket'), { name: 'NoSuchBucket' });
        }
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
        await this.client.send(new this.sdk.HeadObjectCommand({ Bucket: this.opts.bucket, Key: this.key(key) }));
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
    let token: string | undefined;
    do {
      const page = await this.run('list', undefined, () =>
        this.client.send(
          new this.sdk.ListObjectsV2Command({
            Bucket: this.opts.bucket,
            Prefix: this.key(prefix),
            MaxKeys: this.opts.pageSize,
            ...(token !== undefined ? { ContinuationToken: token } : {}),
          }),
        ),
      );
      for (const obj of page.Contents ?? []) {
        if (obj.Key !== undefined && obj.Key.startsWith(this.base)) yield obj.Key.slice(this.base.length);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
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
    const partSize = Math.max(this.opts.partSize, Math.ceil(size / MAX_PARTS));
    const meter = new ByteMeter(opts.onBytes);
    const attempt = (): Promise<void> =>
      this.run('upload', key, () => this.uploadOnce(key, localPath, size, partSize, meter, opts.signal), opts.signal);
    await this.buffers.run(size < partSize ? size : partSize * (QUEUE_SIZE + 1), attempt);
  }

  private async uploadOnce(
    key: string,
    localPath: string,
    size: number,
    partSize: number,
    meter: ByteMeter,
    signal?: AbortSignal,
  ): Promise<void> {
    meter.restart();
    const body = createReadStream(localPath);
    let localError: unknown;
    body.on('error', (e) => {
      localError = e;
    });
    const upload = new this.Upload({
      client: this.client,
      params: { Bucket: this.opts.bucket, Key: this.key(key), Body: body, ContentLength: size },
      partSize,
      queueSize: QUEUE_SIZE,
      // lib-storage lets a failed AbortMultipartUpload replace the real error; we abort ourselves.
      leavePartsOnError: true,
    });
    upload.on('httpUploadProgress', (p) => {
      if (p.loaded !== undefined) meter.set(p.loaded);
    });
    const onAbort = (): void => void upload.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await upload.done();
      meter.set(size);
    } catch (e) {
      if (upload.uploadId !== undefined) {
        // Best effort: parts of an unfinished upload cost storage until aborted or expired by a
        // lifecycle rule. Some S3-compatible servers do not implement the call (405); that is fine.
        await this.client
          .send(new this.sdk.AbortMultipartUploadCommand({ Bucket: this.opts.bucket, Key: this.key(key), UploadId: upload.uploadId }))
          .catch(() => undefined);
      }
      if (localError !== undefined) throw fromFsError(localError, localPath, 'read');
      throw e;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      body.destroy();
    }
  }

  async download(key: string, destPath: string, opts: DownloadOptions = {}): Promise<void> {
    const meter = new ByteMeter(opts.onBytes);
    await this.run(
      'download',
      key,
      async () => {
        meter.restart();
        const res = await this.client.send(
          new this.sdk.GetObjectCommand({ Bucket: this.opts.bucket, Key: this.key(key) }),
          opts.signal ? { abortSignal: opts.signal } : {},
        );
        if (res.Body === undefined) throw new Error('GetObject returned no body');
        await streamToFile(res.Body as Readable, destPath, {
          ...(res.ContentLength !== undefined ? { expected: res.ContentLength } : {}),
          meter,
          idleMs: this.opts.readTimeoutMs,
          ...(opts.signal ? { signal: opts.signal } : {}),
        });
      },
      opts.signal,
    );
  }

  async delete(key: string): Promise<void> {
    await this.run('delete', key, async () => {
      await this.client.send(new this.sdk.DeleteObjectCommand({ Bucket: this.opts.bucket, Key: this.key(key) }));
    });
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

export const S3_DEFAULT_PART_SIZE = 8 * MIB;
