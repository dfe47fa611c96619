import { RvcError, isRvcError } from '../errors.js';

/** How often and how patiently an operation is retried. */
export interface RetryPolicy {
  /** Retries after the first attempt (so `retries + 1` attempts in all). */
  retries: number;
  /** Upper bound of the first delay; each retry doubles the bound. */
  baseMs: number;
  /** Cap on any single delay. */
  maxMs: number;
}

export interface RetryOptions extends RetryPolicy {
  /** Which errors are worth another attempt; defaults to isTransientError. */
  isTransient?: (e: unknown) => boolean;
  signal?: AbortSignal;
  /** Source of randomness in [0, 1), replaceable so tests can pin the delays. */
  random?: () => number;
  onRetry?: (e: unknown, attempt: number, delayMs: number) => void;
}

/**
 * Production default: about 6 s of waiting in expectation before giving up, enough to ride out a
 * throttling burst or a load-balancer restart without making a dead endpoint take minutes.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { retries: 5, baseMs: 250, maxMs: 8_000 };

/**
 * A response body that ended before its announced length. Thrown by downloads so the retry loop
 * treats it like the dropped connection it almost always is.
 */
export class TruncatedBodyError extends Error {
  constructor(readonly received: number, readonly expected: number) {
    super(`response body truncated: received ${received} of ${expected} bytes`);
    this.name = 'TruncatedBodyError';
  }
}

export function interrupted(): RvcError {
  return new RvcError('INTERRUPTED', 'the transfer was interrupted', {
    hint: 'run the command again; objects already transferred are not sent twice',
  });
}

/**
 * Run `fn` until it succeeds, a permanent error occurs or the retries are used up. Delays use
 * "full jitter" (uniform in [0, min(maxMs, baseMs·2^attempt)]): many workers hitting the same
 * throttled endpoint spread out instead of retrying in lockstep.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const isTransient = opts.isTransient ?? isTransientError;
  const random = opts.random ?? Math.random;
  for (let attempt = 0; ; attempt++) {
    if (opts.signal?.aborted) throw interrupted();
    try {
      return await fn(attempt);
    } catch (e) {
      if (opts.signal?.aborted) throw interrupted();
      if (attempt >= opts.retries || !isTransient(e)) throw e;
      const bound = Math.min(opts.maxMs, opts.baseMs * 2 ** attempt);
      const delay = Math.floor(random() * bound);
      opts.onRetry?.(e, attempt + 1, delay);
      await sleep(delay, opts.signal);
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(interrupted());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Socket-level failures: the request may not have reached the server, or its answer was lost. */
const TRANSIENT_NET_CODES = new Set([
  'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ECONNREFUSED', 'ECONNABORTED', 'EAI_AGAIN', 'ENETUNREACH',
  'EHOSTUNREACH', 'ENETDOWN', 'EHOSTDOWN', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT', 'ERR_SOCKET_CONNECTION_TIMEOUT',
]);

/** Error names/codes the S3 and GCS APIs use for "try again later". */
const TRANSIENT_API_CODES = new Set([
  'SlowDown', 'RequestTimeout', 'RequestTimeoutException', 'Throttling', 'ThrottlingException',
  'ThrottledException', 'TooManyRequestsException', 'RequestLimitExceeded', 'RequestThrottled',
  'ProvisionedThroughputExceededException', 'InternalError', 'ServiceUnavailable', 'TimeoutError',
  'IncompleteBody', 'BadDigest', 'rateLimitExceeded', 'userRateLimitExceeded', 'backendError',
  'internalError', 'TruncatedBodyError',
]);

const TRANSIENT_MESSAGE = /socket hang up|premature close|\baborted\b|ECONNRESET|EPIPE|ETIMEDOUT|timed? ?out|truncated|other side closed|unexpected end of (file|stream)|socket connection timeout|unexpected connection closure/i;

/** HTTP status carried by an S3 SDK, GCS client or gaxios error, if any. */
export function httpStatusOf(e: unknown): number | undefined {
  if (!e || typeof e !== 'object') return undefined;
  const o = e as {
    $metadata?: { httpStatusCode?: unknown };
    response?: { status?: unknown; statusCode?: unknown };
    code?: unknown;
    status?: unknown;
    statusCode?: unknown;
  };
  const candidates = [o.$metadata?.httpStatusCode, o.response?.status, o.response?.statusCode, o.statusCode, o.status, o.code];
  for (const c of candidates) {
    if (typeof c === 'number' && c >= 100 && c < 600) return c;
  }
  return undefined;
}

/** String error code (ECONNRESET, NoSuchKey…) or error name of an unknown thrown value. */
export function errorCodesOf(e: unknown): string[] {
  if (!e || typeof e !== 'object') return [];
  const o = e as { code?: unknown; name?: unknown; Code?: unknown; errno?: unknown; reason?: unknown; errors?: unknown };
  const out: string[] = [];
  for (const c of [o.code, o.Code, o.name, o.errno]) if (typeof c === 'string') out.push(c);
  if (Array.isArray(o.errors)) {
    for (const item of o.errors) {
      if (item && typeof item === 'object' && typeof (item as { reason?: unknown }).reason === 'string') {
        out.push((item as { reason: string }).reason);
      }
    }
  }
  return out;
}

/** Walk `e` and its `cause` chain (bounded, since causes can be cyclic in principle). */
function* causeChain(e: unknown): Generator<unknown> {
  let cur: unknown = e;
  for (let depth = 0; depth < 5 && cur != null; depth++) {
    yield cur;
    cur = typeof cur === 'object' ? (cur as { cause?: unknown }).cause : undefined;
  }
}

/** True for errors where the same request may well succeed if sent again. */
export function isTransientError(e: unknown): boolean {
  for (const err of causeChain(e)) {
    // Errors already translated into RvcErrors were judged permanent by the code that made them.
    if (isRvcError(err)) return false;
    if (err instanceof TruncatedBodyError) return true;
    if (err && typeof err === 'object' && (err as { name?: unknown }).name === 'AbortError') return false;
    const status = httpStatusOf(err);
    if (status !== undefined && (status >= 500 || status === 429 || status === 408)) return true;
    if (err && typeof err === 'object' && (err as { $retryable?: unknown }).$retryable) return true;
    for (const code of errorCodesOf(err)) {
      if (TRANSIENT_NET_CODES.has(code) || TRANSIENT_API_CODES.has(code)) return true;
    }
    // A status in the 4xx range is a definite answer from the server, whatever the message says.
    if (status !== undefined && status >= 400) return false;
    const msg = err instanceof Error ? err.message : typeof err === 'string' ? err : '';
    if (TRANSIENT_MESSAGE.test(msg)) return true;
  }
  return false;
}

/**
 * A connection was open and then went quiet past the read timeout. That is a fault of one
 * request (a stuck object, a slow shard), not proof that the endpoint is unreachable.
 */
const READ_TIMEOUT_MESSAGE = /of inactivity|no data received for/i;

export function isReadTimeout(e: unknown): boolean {
  for (const err of causeChain(e)) if (err instanceof Error && READ_TIMEOUT_MESSAGE.test(err.message)) return true;
  return false;
}

/** True when `e` says the endpoint could not be reached at all (as opposed to answering no). */
export function isConnectionError(e: unknown): boolean {
  if (isReadTimeout(e)) return false;
  for (const err of causeChain(e)) {
    // Any HTTP status means something answered; that is not an unreachable endpoint.
    if (httpStatusOf(err) !== undefined) return false;
    for (const code of errorCodesOf(err)) {
      if (TRANSIENT_NET_CODES.has(code) || code === 'ENOTFOUND' || code === 'TimeoutError') return true;
    }
    const msg = err instanceof Error ? err.message : '';
    if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|socket hang up|timed? ?out/i.test(msg)) return true;
  }
  return false;
}
