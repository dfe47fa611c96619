import { describe, expect, it } from 'vitest';
import { RvcError, isRvcError } from '../../src/errors.js';
import { TruncatedBodyError, isConnectionError, isTransientError, withRetry } from '../../src/remote/retry.js';

const policy = { retries: 4, baseMs: 1, maxMs: 4 };

describe('withRetry', () => {
  it('retries transient failures until success', async () => {
    let calls = 0;
    const out = await withRetry(async () => {
      calls++;
      if (calls < 3) throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
      return 'ok';
    }, policy);
    expect(out).toBe('ok');
    expect(calls).toBe(3);
  });

  it('does not retry permanent failures', async () => {
    let calls = 0;
    const err = await withRetry(async () => {
      calls++;
      throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    }, policy).catch((e: unknown) => e);
    expect((err as Error).name).toBe('AccessDenied');
    expect(calls).toBe(1);
  });

  it('gives up after the configured retries with the last error', async () => {
    let calls = 0;
    const err = await withRetry(async () => {
      calls++;
      throw Object.assign(new Error(`busy ${calls}`), { $metadata: { httpStatusCode: 503 } });
    }, policy).catch((e: unknown) => e);
    expect(calls).toBe(5);
    expect((err as Error).message).toBe('busy 5');
  });

  it('uses full jitter: each delay is uniform below an exponentially growing, capped bound', async () => {
    const delays: number[] = [];
    await withRetry(
      async (attempt) => {
        if (attempt < 5) throw new TruncatedBodyError(1, 2);
      },
      { retries: 5, baseMs: 10, maxMs: 50, random: () => 0.999, onRetry: (_e, _a, d) => delays.push(d) },
    );
    expect(delays).toEqual([9, 19, 39, 49, 49]);
    const zero: number[] = [];
    await withRetry(
      async (attempt) => {
        if (attempt < 2) throw new TruncatedBodyError(1, 2);
      },
      { retries: 2, baseMs: 10, maxMs: 50, random: () => 0, onRetry: (_e, _a, d) => zero.push(d) },
    );
    expect(zero).toEqual([0, 0]);
  });

  it('stops waiting when aborted', async () => {
    const ac = new AbortController();
    const started = Date.now();
    setTimeout(() => ac.abort(), 20);
    const err = await withRetry(
      async () => {
        throw Object.assign(new Error('slow down'), { name: 'SlowDown', $metadata: { httpStatusCode: 503 } });
      },
      { retries: 10, baseMs: 10_000, maxMs: 10_000, random: () => 1, signal: ac.signal },
    ).catch((e: unknown) => e);
    expect(isRvcError(err, 'INTERRUPTED')).toBe(true);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('isTransientError', () => {
  const transient: [string, unknown][] = [
    ['HTTP 500', { $metadata: { httpStatusCode: 500 } }],
    ['HTTP 503 SlowDown', Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown' })],
    ['HTTP 429', { response: { status: 429 } }],
    ['GCS ApiError 502', Object.assign(new Error('Bad Gateway'), { code: 502 })],
    ['GCS rateLimitExceeded', Object.assign(new Error('rate'), { errors: [{ reason: 'rateLimitExceeded' }] })],
    ['S3 RequestTimeout', Object.assign(new Error('timeout'), { name: 'RequestTimeout', $metadata: { httpStatusCode: 400 } })],
    ['ECONNRESET', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    ['ETIMEDOUT', Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' })],
    ['EPIPE', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })],
    ['socket hang up', new Error('socket hang up')],
    ['premature close', Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' })],
    ['truncated body', new TruncatedBodyError(10, 20)],
    ['wrapped cause', new Error('upload failed', { cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }) })],
  ];
  it.each(transient)('%s is transient', (_name, e) => {
    expect(isTransientError(e)).toBe(true);
  });

  const permanent: [string, unknown][] = [
    ['HTTP 403', { $metadata: { httpStatusCode: 403 }, name: 'AccessDenied' }],
    ['HTTP 404', { $metadata: { httpStatusCode: 404 }, name: 'NoSuchKey' }],
    ['GCS 400', Object.assign(new Error('Invalid argument'), { code: 400 })],
    ['an RvcError', new RvcError('OBJECT_MISSING', 'gone')],
    ['an abort', Object.assign(new Error('aborted'), { name: 'AbortError' })],
    ['a plain bug', new TypeError('x is not a function')],
  ];
  it.each(permanent)('%s is permanent', (_name, e) => {
    expect(isTransientError(e)).toBe(false);
  });

  it('tells an unreachable endpoint from one that answered', () => {
    expect(isConnectionError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isConnectionError(Object.assign(new Error('getaddrinfo ENOTFOUND nowhere'), { code: 'ENOTFOUND' }))).toBe(true);
    expect(isConnectionError({ $metadata: { httpStatusCode: 503 }, name: 'ServiceUnavailable' })).toBe(false);
  });
});
