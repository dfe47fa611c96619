import type { IncomingHttpHeaders } from 'node:http';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Bucket, Storage } from '@google-cloud/storage';
import { CloudRemote, type ListPage, type ObjectBody } from './cloud.js';
import type { ByteRange, Remote } from './remote.js';
import type { RetryPolicy } from './retry.js';
import type { ByteMeter } from './streaming.js';

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

class GcsRemote extends CloudRemote {
  private readonly bucket: Bucket;
  protected override readonly objectMissIsAmbiguous = true;

  constructor(url: string, private readonly gcs: GcsRemoteOptions, storage: Storage) {
    super(url, { ...gcs, idleMs: gcs.timeoutMs }, {
      name: 'Google Cloud Storage',
      bucketHint: 'check the bucket name in the remote URL (and the endpointurl), or create the bucket',
      deniedHint:
        'check the credentials (GOOGLE_APPLICATION_CREDENTIALS, `gcloud auth application-default login` or the ' +
        'credentialpath option) and that they allow storage.objects.get/create/list on the bucket',
    });
    this.bucket = storage.bucket(gcs.bucket);
  }

  /** An upload names no existing object, so its 404 can only be about the bucket. */
  protected override bucketMissing(codes: string[], status: number | undefined, action: string): boolean {
    return super.bucketMissing(codes, status, action) || (status === 404 && action === 'upload');
  }

  /** Credentials that cannot be loaded or refreshed fail before any request, without a status. */
  protected override deniedReason(e: unknown, _codes: string[], status: number | undefined): string | undefined {
    if (status === 401 || status === 403) return String(status);
    const msg = e instanceof Error ? e.message : String(e);
    return status === undefined && DENIED_MESSAGE.test(msg) ? 'no credentials' : undefined;
  }

  protected override credentialsReason(reason: string): boolean {
    return reason === 'no credentials' || reason === '401';
  }

  protected async headBucket(): Promise<void> {
    await this.bucket.getMetadata();
  }

  protected async headObject(name: string): Promise<void> {
    await this.bucket.file(name).getMetadata();
  }

  protected async listPage(prefix: string, token: string | undefined, withTimes = false): Promise<ListPage> {
    const [files, , response] = await this.bucket.getFiles({
      prefix,
      autoPaginate: false,
      maxResults: this.opts.pageSize,
      // Names only: a full object resource is ~1 KB of JSON, a name ~80 bytes.
      fields: withTimes ? 'items(name,size,updated),nextPageToken' : 'items(name),nextPageToken',
      ...(token !== undefined ? { pageToken: token } : {}),
    });
    const names: string[] = [];
    const sizes: number[] = [];
    const modified: number[] = [];
    for (const f of files) {
      // With `fields`, the library hands back the raw JSON items instead of File objects.
      const { name, size, updated } = f as unknown as { name?: unknown; size?: unknown; updated?: unknown };
      if (typeof name !== 'string') continue;
      names.push(name);
      // The JSON API gives the size as a decimal string; an item without a readable time counts
      // as written just now.
      sizes.push(Number(size ?? 0) || 0);
      const t = typeof updated === 'string' ? Date.parse(updated) : NaN;
      modified.push(Number.isFinite(t) ? t : Date.now());
    }
    const next = (response as { nextPageToken?: unknown } | undefined)?.nextPageToken;
    const page: ListPage = withTimes ? { names, sizes, modified } : { names };
    return typeof next === 'string' && next !== '' ? { ...page, next } : page;
  }

  protected async putObject(name: string, body: Readable | Buffer, size: number, meter: ByteMeter, signal?: AbortSignal): Promise<void> {
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        meter.add(chunk.length);
        cb(null, chunk);
      },
    });
    const sink = this.bucket.file(name).createWriteStream({
      // One request for small objects; a resumable session (streamed, not buffered) for large
      // ones, where a fresh attempt is cheaper than keeping the whole file in memory.
      resumable: size >= this.gcs.resumableThreshold,
      gzip: false,
      // The library checks the server's CRC32C against the bytes it sent: corruption on the
      // way up is caught here, on the way down by rvc's own hash check.
      validation: 'crc32c',
      metadata: { contentType: 'application/octet-stream' },
    });
    await pipeline(Buffer.isBuffer(body) ? Readable.from([body]) : body, counter, sink, signal ? { signal } : {});
  }

  protected async getObject(name: string, _signal?: AbortSignal, range?: ByteRange): Promise<ObjectBody> {
    let expected: number | undefined;
    // Hashes are verified by the caller against the oid, which is stronger than CRC32C.
    const body = this.bucket.file(name).createReadStream({
      validation: false,
      ...(range ? { start: range.offset, end: range.offset + range.length - 1 } : {}),
    });
    body.on('response', (res: ResponseLike) => {
      const encoding = header(res, 'content-encoding') ?? header(res, 'x-goog-stored-content-encoding');
      // A ranged answer's length is its Content-Length; the stored length is the whole object's.
      const len = range ? header(res, 'content-length') : header(res, 'x-goog-stored-content-length') ?? header(res, 'content-length');
      // A transcoded (gzip) body has no announced length to compare against.
      if ((encoding === undefined || encoding === 'identity') && len !== undefined && /^\d+$/.test(len)) expected = Number(len);
    });
    return { body, expected: () => expected };
  }

  protected async deleteObject(name: string): Promise<void> {
    await this.bucket.file(name).delete({ ignoreNotFound: true });
  }

  async close(): Promise<void> {}
}
