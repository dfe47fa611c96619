import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { HashAlgo } from '../model/oid.js';

/**
 * Checks many small pieces of a buffer against expected digests in a worker thread: a fetch
 * hands it each pack it read whole, so hashing the pack's objects (about 5 µs a call of the
 * BLAKE3 binding on 2 KiB: a quarter of a second for 50,000 objects) runs on another core,
 * beside the thread that receives the next packs, instead of on it.
 *
 * The bytes are shared, not copied: the buffer must lie over a SharedArrayBuffer
 * (`sharedBuffer`), which the caller leaves untouched until the check has answered. The worker
 * runs source text (its function below), so it loads nothing of rvc's; it hashes with the same
 * libraries `hash.ts` uses (`@napi-rs/blake-hash` for BLAKE3, node's crypto for SHA-256).
 *
 * A check answers true only when the worker hashed every piece and each matched: a worker that
 * failed or exited answers undefined, and the caller checks the pieces itself.
 */
export class DigestWorker {
  private seq = 0;
  private readonly pending = new Map<number, (r: boolean | undefined) => void>();
  private dead = false;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (m: { seq: number; ok: boolean }) => {
      const done = this.pending.get(m.seq);
      this.pending.delete(m.seq);
      done?.(m.ok === true);
    });
    const fail = (): void => {
      this.dead = true;
      for (const done of this.pending.values()) done(undefined);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', fail);
    // It never holds the process open: nothing waits on it once no check is pending.
    worker.unref();
  }

  /** A worker for `algo`, or undefined when no thread (or the hash library) can be had. */
  static start(algo: HashAlgo): DigestWorker | undefined {
    try {
      const lib = algo === 'blake3' ? createRequire(import.meta.url).resolve('@napi-rs/blake-hash') : '';
      return new DigestWorker(new Worker(workerSource(), { eval: true, workerData: { algo, lib }, stdout: true, stderr: true }));
    } catch {
      return undefined;
    }
  }

  /**
   * Whether, for every j below `offsets.length`, bytes [offsets[j], offsets[j] + lengths[j]) of
   * `data` lie within `data` and hash to bytes [32j, 32j + 32) of `digests`. `data` must lie over
   * a SharedArrayBuffer. Undefined: not known (the worker failed); the caller checks itself.
   */
  check(data: Uint8Array, offsets: Float64Array, lengths: Float64Array, digests: Uint8Array): Promise<boolean | undefined> {
    if (this.dead || !(data.buffer instanceof SharedArrayBuffer)) return Promise.resolve(undefined);
    const seq = this.seq++;
    return new Promise((resolve) => {
      this.pending.set(seq, resolve);
      this.worker.ref();
      try {
        this.worker.postMessage({ seq, sab: data.buffer, at: data.byteOffset, n: data.byteLength, offsets, lengths, digests });
      } catch {
        this.pending.delete(seq);
        resolve(undefined);
      }
    }).finally(() => {
      if (this.pending.size === 0 && !this.dead) this.worker.unref();
    }) as Promise<boolean | undefined>;
  }

  /** Stops the worker; pending checks answer undefined. */
  close(): void {
    void this.worker.terminate();
  }
}

/** A buffer of `size` bytes over a SharedArrayBuffer, as `DigestWorker.check` reads. */
export function sharedBuffer(size: number): Buffer {
  return Buffer.from(new SharedArrayBuffer(size));
}

type Piece = { seq: number; sab: SharedArrayBuffer; at: number; n: number; offsets: Float64Array; lengths: Float64Array; digests: Uint8Array };

/** The worker's whole life: answer each check with whether every piece matched. */
function workerMain(wt: typeof import('node:worker_threads'), crypto: typeof import('node:crypto'), load: (p: string) => unknown): void {
  const { algo, lib } = wt.workerData as { algo: string; lib: string };
  const blake = algo === 'blake3' ? (load(lib) as { blake3(b: Uint8Array): Buffer }) : undefined;
  const hash = (b: Uint8Array): Buffer => (blake ? blake.blake3(b) : crypto.createHash('sha256').update(b).digest());
  wt.parentPort!.on('message', (m: Piece) => {
    let ok = true;
    try {
      const data = Buffer.from(m.sab, m.at, m.n);
      const d = Buffer.from(m.digests.buffer, m.digests.byteOffset, m.digests.byteLength);
      for (let j = 0; ok && j < m.offsets.length; j++) {
        const start = m.offsets[j]!;
        const end = start + m.lengths[j]!;
        if (end > m.n || d.length < 32 * (j + 1)) ok = false;
        else if (hash(data.subarray(start, end)).compare(d, 32 * j, 32 * (j + 1)) !== 0) ok = false;
      }
    } catch {
      ok = false;
    }
    wt.parentPort!.postMessage({ seq: m.seq, ok });
  });
}

/**
 * The worker's source: the function above as text. Tools that transform this module may name
 * functions through a `__name` helper; it is defined so the text runs on its own.
 */
function workerSource(): string {
  return [
    'var __name = (f) => f;',
    `(${workerMain.toString()})(require('node:worker_threads'), require('node:crypto'), require);`,
  ].join('\n');
}
