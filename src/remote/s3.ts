import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { RvcError } from '../errors.js';
import { CloudRemote, type ListPage, type ObjectBody } from './cloud.js';
import type { ByteRange } from './remote.js';
import { MemoryBudget } from './memory-budget.js';
import type { Remote } from './remote.js';
import type { RetryPolicy } from './retry.js';
import type { ByteMeter } from './streaming.js';

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

/** Denials that refuse the credentials themselves (not one object's permissions). */
const CREDENTIAL_CODES = new Set([
  'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken', 'TokenRefreshRequired',
  'CredentialsProviderError', 'InvalidClientTokenId', 'UnrecognizedClientException', '401',
]);

type S3Module = typeof import('@aws-sdk/client-s3');
type UploadClass = (typeof import('@aws-sdk/lib-storage'))['Upload'];

const silentLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

/**
 * The SDK's packages are CommonJS without a declared module type, so `import()` of one makes
 * node read its entry file (the client's is 270 KB) twice over before running it: once to
 * detect whether it is an ES module, once to list its exports for the ES module namespace.
 * `require` runs it at once: loading the S3 client took half the time (about 0.2 s against
 * 0.4 s of a fetch on the benchmark machine).
 */
const requireSdk = createRequire(import.meta.url);

/**
 * Open an S3 (or S3-compatible) remote. The SDK is loaded here, on first use, so commands that
 * never touch a remote do not pay for loading it.
 */
export async function openS3Remote(url: string, opts: S3RemoteOptions): Promise<Remote> {
  // The SDK warns on stderr about future Node support; a library must not print.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new S3Remote(url, opts, requireSdk('@aws-sdk/client-s3') as S3Module);
}

/**
 * lib-storage (multipart uploads), loaded on the first upload: a fetch or a status never
 * uploads, and loading it took about a tenth of a small fetch's CPU time.
 */
let uploadClass: UploadClass | undefined;
function loadUpload(): UploadClass {
  return (uploadClass ??= (requireSdk('@aws-sdk/lib-storage') as typeof import('@aws-sdk/lib-storage')).Upload);
}

class S3Remote extends CloudRemote {
  private readonly client: S3Client;
  private readonly buffers = new MemoryBudget(UPLOAD_BUFFER_BUDGET);

  constructor(
    url: string,
    private readonly s3: S3RemoteOptions,
    private readonly sdk: S3Module,
  ) {
    super(url, { ...s3, idleMs: s3.readTimeoutMs }, {
      name: 'AWS S3',
      bucketHint: 'check the bucket name in the remote URL (and the endpointurl or region), or create the bucket',
      deniedHint:
        'check the credentials (the profile option, AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) ' +
        'and that they allow s3:ListBucket on the bucket and s3:GetObject/s3:PutObject on its keys',
    });
    const agentOpts = { keepAlive: true, maxSockets: Math.max(s3.jobs + QUEUE_SIZE * 4, 16) };
    const custom = s3.endpointurl !== undefined;
    this.client = new sdk.S3Client({
      ...(custom ? { endpoint: s3.endpointurl, forcePathStyle: true } : {}),
      // Custom endpoints rarely care about the region but the signer needs one.
      ...(s3.region !== undefined ? { region: s3.region } : custom ? { region: 'us-east-1' } : {}),
      ...(s3.profile !== undefined ? { profile: s3.profile } : {}),
      ...(s3.accesskeyid !== undefined && s3.secretaccesskey !== undefined
        ? {
            credentials: {
              accessKeyId: s3.accesskeyid,
              secretAccessKey: s3.secretaccesskey,
              ...(s3.sessiontoken !== undefined ? { sessionToken: s3.sessiontoken } : {}),
            },
          }
        : {}),
      followRegionRedirects: true,
      maxAttempts: s3.requestRetries + 1,
      logger: silentLogger,
      // Many S3-compatible stores do not understand the aws-chunked trailing checksums the SDK
      // sends by default; content is verified by hash when it is fetched anyway.
      ...(custom ? { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } : {}),
      requestHandler: {
        connectionTimeout: s3.connectTimeoutMs,
        socketTimeout: s3.readTimeoutMs,
        httpAgent: new http.Agent(agentOpts),
        httpsAgent: new https.Agent(agentOpts),
        logger: silentLogger,
      },
    });
  }

  protected override deniedReason(_e: unknown, codes: string[], status: number | undefined): string | undefined {
    const code = codes.find((c) => DENIED_CODES.has(c));
    if (code !== undefined) return code;
    return status === 401 || status === 403 ? String(status) : undefined;
  }

  protected override credentialsReason(reason: string): boolean {
    return CREDENTIAL_CODES.has(reason);
  }

  protected override classify(e: unknown): RvcError | undefined {
    if (e instanceof Error && /region is missing/i.test(e.message)) {
      return new RvcError('CONFIG_INVALID', `no AWS region is configured for remote ${this.url}`, {
        hint: 'set the remote’s region option, AWS_REGION, or a region in the profile',
      });
    }
    return undefined;
  }

  protected async headBucket(): Promise<void> {
    await this.client.send(new this.sdk.HeadBucketCommand({ Bucket: this.s3.bucket }));
  }

  protected async headObject(name: string): Promise<void> {
    await this.client.send(new this.sdk.HeadObjectCommand({ Bucket: this.s3.bucket, Key: name }));
  }

  protected async listPage(prefix: string, token: string | undefined, withTimes = false): Promise<ListPage> {
    const page = await this.client.send(
      new this.sdk.ListObjectsV2Command({
        Bucket: this.s3.bucket,
        Prefix: prefix,
        MaxKeys: this.s3.pageSize,
        ...(token !== undefined ? { ContinuationToken: token } : {}),
      }),
    );
    const names: string[] = [];
    const sizes: number[] = [];
    const modified: number[] = [];
    for (const obj of page.Contents ?? []) {
      if (obj.Key === undefined) continue;
      names.push(obj.Key);
      // A listing always carries both; an object without a time counts as written just now.
      sizes.push(obj.Size ?? 0);
      modified.push(obj.LastModified?.getTime() ?? Date.now());
    }
    const next = page.IsTruncated ? page.NextContinuationToken : undefined;
    return { names, ...(withTimes ? { sizes, modified } : {}), ...(next !== undefined ? { next } : {}) };
  }

  private partSize(size: number): number {
    return Math.max(this.s3.partSize, Math.ceil(size / MAX_PARTS));
  }

  /** lib-storage buffers a small file whole, a large one QUEUE_SIZE parts plus the one being filled. */
  protected override uploadSlot<T>(size: number, run: () => Promise<T>): Promise<T> {
    const partSize = this.partSize(size);
    return this.buffers.run(size <= partSize ? size : partSize * (QUEUE_SIZE + 1), run);
  }

  /** lib-storage sends a body of at most one part in a single PutObject, buffered whole. */
  protected override bufferedBodyLimit(): number {
    return this.s3.partSize;
  }

  protected async putObject(name: string, body: Readable | Buffer, size: number, meter: ByteMeter, signal?: AbortSignal): Promise<void> {
    const Upload = loadUpload();
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.s3.bucket, Key: name, Body: body, ContentLength: size },
      partSize: this.partSize(size),
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
          .send(new this.sdk.AbortMultipartUploadCommand({ Bucket: this.s3.bucket, Key: name, UploadId: upload.uploadId }))
          .catch(() => undefined);
      }
      throw e;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  protected async getObject(name: string, signal?: AbortSignal, range?: ByteRange): Promise<ObjectBody> {
    const res = await this.client.send(
      new this.sdk.GetObjectCommand({
        Bucket: this.s3.bucket,
        Key: name,
        ...(range ? { Range: `bytes=${range.offset}-${range.offset + range.length - 1}` } : {}),
      }),
      signal ? { abortSignal: signal } : {},
    );
    if (res.Body === undefined) throw new Error('GetObject returned no body');
    return { body: res.Body as Readable, ...(res.ContentLength !== undefined ? { expected: res.ContentLength } : {}) };
  }

  protected async deleteObject(name: string): Promise<void> {
    await this.client.send(new this.sdk.DeleteObjectCommand({ Bucket: this.s3.bucket, Key: name }));
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

export const S3_DEFAULT_PART_SIZE = 8 * MIB;
