import { createWriteStream } from 'node:fs';
import { Transform, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { errnoCode, fromFsError } from '../errors.js';
import { TruncatedBodyError } from './retry.js';

/** Errors writing the downloaded file that are about the local disk. */
const LOCAL_WRITE_ERRNOS = new Set(['ENOSPC', 'EDQUOT', 'EFBIG', 'EROFS']);

/**
 * Reports transferred bytes across retries without counting any byte twice: a retried transfer
 * starts again from zero, and only bytes beyond the best earlier attempt are reported. Progress
 * bars therefore never run backwards or past 100 %.
 */
export class ByteMeter {
  private best = 0;
  private current = 0;
  constructor(private readonly onBytes?: (n: number) => void) {}

  /** Start counting a new attempt from zero. */
  restart(): void {
    this.current = 0;
  }

  /** The attempt has now moved `n` more bytes. */
  add(n: number): void {
    this.set(this.current + n);
  }

  /** The attempt has moved `total` bytes in all. */
  set(total: number): void {
    this.current = total;
    if (total > this.best) {
      const delta = total - this.best;
      this.best = total;
      this.onBytes?.(delta);
    }
  }
}

/** What streamInto reads a body with: the announced length, progress, stop switch, idle limit. */
export interface StreamOptions {
  /** The announced length, or a function returning it once the response headers have arrived. */
  expected?: number | (() => number | undefined);
  meter?: ByteMeter;
  signal?: AbortSignal;
  /**
   * Fail when no byte arrives for this long. Some HTTP stacks (node-fetch 2, under the GCS
   * client) never end or fail a body whose connection dropped mid-way; without this a cut
   * connection would hang the download forever instead of being retried.
   */
  idleMs?: number;
}

/**
 * Stream a response body into `sink`, counting bytes and watching for an idle connection; returns
 * the bytes received. When the server announced a length, a shorter body is a TruncatedBodyError,
 * which the retry loop treats as transient: proxies and load balancers can end a response early
 * without an error.
 */
async function streamInto(body: Readable | AsyncIterable<Uint8Array>, sink: Writable, opts: StreamOptions): Promise<number> {
  let received = 0;
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    if (opts.idleMs === undefined) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      const err = Object.assign(new Error(`no data received for ${opts.idleMs} ms`), { code: 'ETIMEDOUT' });
      counter.destroy(err);
    }, opts.idleMs);
  };
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      received += chunk.length;
      opts.meter?.add(chunk.length);
      arm();
      cb(null, chunk);
    },
  });
  arm();
  try {
    await pipeline(body, counter, sink, opts.signal ? { signal: opts.signal } : {});
  } finally {
    clearTimeout(timer);
  }
  const expected = typeof opts.expected === 'function' ? opts.expected() : opts.expected;
  if (expected !== undefined && received !== expected) {
    throw new TruncatedBodyError(received, expected);
  }
  return received;
}

/** Stream a response body into `destPath` (truncating whatever an earlier attempt left there); see streamInto. */
export async function streamToFile(body: Readable | AsyncIterable<Uint8Array>, destPath: string, opts: StreamOptions): Promise<number> {
  try {
    return await streamInto(body, createWriteStream(destPath, { flags: 'w' }), opts);
  } catch (e) {
    // A full local disk is the user's to fix, not a network fault to retry or blame on the remote.
    if (LOCAL_WRITE_ERRNOS.has(errnoCode(e) ?? '')) throw fromFsError(e, destPath, 'write');
    throw e;
  }
}

/**
 * Stream a response body into memory, for a caller that bounds its size (a pack read whole):
 * one buffer, no file written and read back. See streamInto.
 */
export async function streamToBuffer(
  body: Readable | AsyncIterable<Uint8Array>, opts: StreamOptions & { into?: Buffer; onFill?: (filled: number) => void },
): Promise<Buffer> {
  // Chunks go into `into` while they fit (reported to onFill); past its end (or without it) they
  // are kept and joined.
  const into = opts.into;
  let filled = 0;
  let chunks: Buffer[] | undefined = into ? undefined : [];
  if (into) opts.onFill?.(0);
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (!chunks && filled + chunk.length <= into!.length) {
        chunk.copy(into!, filled);
        filled += chunk.length;
        try {
          opts.onFill?.(filled);
        } catch (e) {
          cb(e as Error);
          return;
        }
      } else {
        chunks ??= [into!.subarray(0, filled)];
        chunks.push(chunk);
      }
      cb();
    },
  });
  const n = await streamInto(body, sink, opts);
  if (!chunks) return into!.subarray(0, filled);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, n);
}
