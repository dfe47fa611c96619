import os from 'node:os';
import path from 'node:path';
import { RvcError } from '../errors.js';
import { LocalRemote } from './local.js';
import { namedMemoryRemote } from './memory.js';
import { urlHasCredentials } from '../model/secrets.js';
import { redact } from './remote-error.js';
import type { Remote } from './remote.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry.js';
import { parseRemoteUrl } from './url.js';

export type { Remote, RemoteObjectInfo, UploadOptions, DownloadOptions, ByteRange } from './remote.js';
export { parseRemoteUrl, type ParsedRemoteUrl } from './url.js';
export { MemoryRemote, namedMemoryRemote, clearMemoryRemotes, type MemoryOp } from './memory.js';
export { LocalRemote } from './local.js';
export { withRetry, isTransientError, DEFAULT_RETRY_POLICY, type RetryPolicy, type RetryOptions } from './retry.js';
export { push, fetch, fetchObject, verify, corruptOnRemote, existingObjects, PACK_MAX_OBJECT, PACK_TARGET_SIZE, type LocalObjectStore, type TransferOptions, type TransferResult, type TransferFailure, type VerifyOptions, type VerifyResult } from './transfer.js';

/**
 * Options of a remote, as stored in the config (lower-case keys, values possibly strings) or
 * passed by a caller. Keys that do not apply to the remote's kind are ignored.
 */
export interface RemoteOptions {
  /** Folder a relative remote path is resolved against (the repository root). */
  baseDir?: string;
  /** Concurrent transfers; default 4 × available cores. */
  jobs?: number | string;
  /** S3 or GCS: a different API endpoint (S3-compatible store, emulator). */
  endpointurl?: string;
  /** S3 */
  region?: string;
  profile?: string;
  accesskeyid?: string;
  secretaccesskey?: string;
  sessiontoken?: string;
  /** GCS */
  projectid?: string;
  credentialpath?: string;
  /** Seconds to wait for a connection / for data on an open connection. */
  connecttimeout?: number | string;
  readtimeout?: number | string;
  /** Retries of a failed operation (with exponential backoff and jitter). */
  retries?: number | string;
  /** Full retry policy; overrides `retries` (tests use it for millisecond delays). */
  retry?: Partial<RetryPolicy>;
  /** Retries the SDK makes per HTTP request, inside each operation attempt. */
  requestretries?: number | string;
  /** existing(): up to this many keys, one request per key; above, listing. */
  headthreshold?: number | string;
  /** Keys per list request (S3/GCS maximum and default: 1000). */
  pagesize?: number | string;
  /** S3: multipart part size in bytes (at least 5 MiB). */
  partsize?: number | string;
  /** GCS: files at least this many bytes use a resumable upload. */
  resumablethreshold?: number | string;
}

const MIB = 1024 * 1024;

export function defaultJobs(): number {
  return 4 * os.availableParallelism();
}

function intOption(opts: RemoteOptions, name: keyof RemoteOptions, min: number, fallback: number): number {
  const raw = opts[name];
  if (raw === undefined || raw === '') return fallback;
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min) {
    throw new RvcError('CONFIG_INVALID', `remote option '${name}' must be an integer of at least ${min}, not '${String(raw)}'`, {
      hint: `set ${name} to a whole number, or remove it to use the default (${fallback})`,
    });
  }
  return n;
}

/** Seconds (fractions allowed) → milliseconds. */
function secondsOption(opts: RemoteOptions, name: 'connecttimeout' | 'readtimeout', fallback: number): number {
  const raw = opts[name];
  if (raw === undefined || raw === '') return fallback * 1000;
  const n = typeof raw === 'number' ? raw : /^\s*\d+(\.\d+)?\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isFinite(n) || n <= 0) {
    throw new RvcError('CONFIG_INVALID', `remote option '${name}' must be a positive number of seconds, not '${String(raw)}'`, {
      hint: `set ${name} to a number of seconds, or remove it to use the default (${fallback})`,
    });
  }
  return Math.round(n * 1000);
}

function checkEndpoint(endpoint: string | undefined): string | undefined {
  if (endpoint === undefined || endpoint === '') return undefined;
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    throw new RvcError('REMOTE_URL_INVALID', `invalid endpointurl '${redact(endpoint)}'`, {
      hint: 'write it as http://host:port or https://host',
    });
  }
  if (urlHasCredentials(endpoint)) {
    throw new RvcError('REMOTE_URL_INVALID', `endpointurl '${redact(endpoint)}' contains credentials`, {
      hint: 'remove them from the URL; put credentials in the untracked local config (`--local`) or the environment',
    });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new RvcError('REMOTE_URL_INVALID', `endpointurl '${redact(endpoint)}' must be an http:// or https:// URL`, {
      hint: 'write it as http://host:port or https://host',
    });
  }
  return endpoint.replace(/\/+$/, '');
}

function resolvePath(p: string | undefined, baseDir: string | undefined): string | undefined {
  if (p === undefined || p === '') return undefined;
  const expanded = p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
  return path.resolve(baseDir ?? process.cwd(), expanded);
}

/**
 * Open the remote at `url`, picking the implementation by scheme: `s3://bucket/prefix`,
 * `gs://bucket/prefix`, `file://…` or a plain folder path (`memory://name` for tests).
 * Cloud SDKs are loaded only here, on demand.
 */
export async function openRemote(url: string, options: RemoteOptions = {}): Promise<Remote> {
  const parsed = parseRemoteUrl(url, options.baseDir);
  const jobs = intOption(options, 'jobs', 1, defaultJobs());
  const headThreshold = intOption(options, 'headthreshold', 0, 64);
  const retry: RetryPolicy = {
    ...DEFAULT_RETRY_POLICY,
    retries: intOption(options, 'retries', 0, DEFAULT_RETRY_POLICY.retries),
    ...options.retry,
  };
  const shownUrl = url.trim();
  switch (parsed.scheme) {
    case 'local':
      return new LocalRemote(shownUrl, parsed.path, { jobs, headThreshold });
    case 'memory':
      return namedMemoryRemote(parsed.name, { jobs, headThreshold, pageSize: intOption(options, 'pagesize', 1, 1000) });
    case 's3': {
      const { openS3Remote, S3_DEFAULT_PART_SIZE } = await import('./s3.js');
      const endpointurl = checkEndpoint(options.endpointurl);
      return openS3Remote(shownUrl, {
        bucket: parsed.bucket,
        prefix: parsed.prefix,
        jobs,
        ...(endpointurl !== undefined ? { endpointurl } : {}),
        ...(options.region ? { region: options.region } : {}),
        ...(options.profile ? { profile: options.profile } : {}),
        ...(options.accesskeyid ? { accesskeyid: options.accesskeyid } : {}),
        ...(options.secretaccesskey ? { secretaccesskey: options.secretaccesskey } : {}),
        ...(options.sessiontoken ? { sessiontoken: options.sessiontoken } : {}),
        retry,
        requestRetries: intOption(options, 'requestretries', 0, 2),
        connectTimeoutMs: secondsOption(options, 'connecttimeout', 10),
        readTimeoutMs: secondsOption(options, 'readtimeout', 60),
        headThreshold,
        pageSize: Math.min(1000, intOption(options, 'pagesize', 1, 1000)),
        partSize: intOption(options, 'partsize', 5 * MIB, S3_DEFAULT_PART_SIZE),
      });
    }
    case 'gs': {
      const { openGcsRemote } = await import('./gcs.js');
      const endpointurl = checkEndpoint(options.endpointurl);
      const credentialpath = resolvePath(options.credentialpath, options.baseDir);
      return openGcsRemote(shownUrl, {
        bucket: parsed.bucket,
        prefix: parsed.prefix,
        jobs,
        ...(endpointurl !== undefined ? { endpointurl } : {}),
        ...(options.projectid ? { projectid: options.projectid } : {}),
        ...(credentialpath !== undefined ? { credentialpath } : {}),
        retry,
        requestRetries: intOption(options, 'requestretries', 0, 2),
        timeoutMs: secondsOption(options, 'readtimeout', 60),
        headThreshold,
        pageSize: Math.min(1000, intOption(options, 'pagesize', 1, 1000)),
        resumableThreshold: intOption(options, 'resumablethreshold', 1, 8 * MIB),
      });
    }
  }
}
