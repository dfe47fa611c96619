import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { FileStat } from './walk.js';

/**
 * Many small copies at once (a checkout of 50,000 small files): each is the same atomic
 * placement as `placeFile`'s copy (a temp file beside the destination, created exclusively with
 * its final mode, then renamed over it), done by this thread and by worker threads in parallel.
 * Creating a file is almost all kernel time, spent in the calling thread: one thread per core
 * places files in parallel where a single loop (and `cp -r`) uses one core.
 *
 * Only the common case is handled here. A copy whose source is missing or not of the expected
 * size, whose destination cannot be written, or whose name is too long for a temp name is left
 * unplaced (status 0), and the caller places it its own way, which also gives the right error.
 * A failure at a destination stops every thread from starting more (a full disk is not met
 * 50,000 times).
 */

/** One small file to copy. */
export interface SmallCopy {
  /** The file to copy: a loose cache object. */
  src: string;
  /** The absolute destination; its folder exists. */
  dest: string;
  /** The recorded size: a source of another size is left to the caller. */
  size: number;
  /** 0o644 or 0o755, whatever the umask. */
  mode: number;
  /** Where the same bytes lie when `src` does not exist (a local pack). */
  pack?: { file: string; offset: number; length: number };
}

/** Copies of at most this many bytes go through here (the caller's small-copy bound). */
export const MANY_MAX_SIZE = 256 * 1024;
/** Fewer copies than this are not worth starting a worker thread for. */
export const MANY_MIN_FOR_WORKERS = 1000;
/** Copies handed over at once; bounds the shared memory (a million files go batch by batch). */
const BATCH = 32768;
/**
 * A thread claims a run of copies into one folder, of at most this many: creating a file takes
 * its folder's lock, so two threads filling the same folder wait for each other (see
 * docs/benchmarks.md, "Checkout on every core").
 */
const RUN_MAX = 512;
/** A worker that makes no progress for this long is given up on, and this thread does its part. */
const STALL_MS = 15_000;

// Fields of one batch's control array (Int32, shared).
const C_CLAIM = 0; // the next run to claim
const C_ACTIVE = 1; // threads inside the claim loop
const C_STOP = 2; // 1 once a destination failed
const C_DONE = 3; // copies placed so far (progress)
const C_BY_WORKERS = 4; // of which by worker threads
// Fields of the workers' wake-up array.
const W_GEN = 0; // bumped for each batch posted, and to quit
const W_QUIT = 1;

/** One batch in shared memory: what both this thread and the workers read and fill. */
interface Batch {
  count: number;
  ctl: Int32Array;
  /** UTF-8 of every copy's src then dest, each ended by a NUL. */
  names: Uint8Array;
  /** Per copy: where its src starts in `names`, then its dest. */
  offs: Uint32Array;
  /** Per copy: size, pack offset, pack length. */
  nums: Float64Array;
  /** Per copy: mode, pack number in `packFiles` (-1: none). */
  meta: Int32Array;
  packFiles: string[];
  /** Per copy: 1 once placed. */
  status: Uint8Array;
  /** Per placed copy: ino, mtimeMs, size, mode of the new file. */
  stats: Float64Array;
  /** Where each run a thread claims starts (copies into one folder), then `count`. */
  runs: Uint32Array;
  /** Number of runs. */
  nRuns: number;
  /** What each item is: 0 a copy to place (placeRange), 1 a file to store in the cache (storeRange). */
  op: number;
  /** op 1: per item, the 32-byte digest of what was stored. */
  digests?: Uint8Array;
  /** op 1: the cache's folder of this algorithm's objects (ending in a separator), and how to write there. */
  store?: { root: string; algo: string; shared: boolean; maxSize: number };
}

/** What a placing thread keeps between copies. */
interface PlaceCtx {
  buf: Buffer;
  pid: number;
  tag: string;
  counter: number;
  packFds: Map<string, number>;
  /** A worker thread (counts what it places in C_BY_WORKERS). */
  worker: boolean;
  /** path.sep: the temp file goes beside its destination. */
  sep: string;
  /** op 1: the digest of `data` (32 bytes) under `algo`. */
  hash?: (algo: string, data: Uint8Array) => Uint8Array;
  /** op 1: the read buffer, made on first use (files up to the batch's maxSize). */
  storeBuf?: Buffer;
}

/**
 * Places copies [from, to) of `b`. Runs in this thread and, as source text, in the workers: it
 * must use nothing but its arguments (no import, no module-level name).
 */
function placeRange(fsm: typeof fs, b: Batch, from: number, to: number, ctx: PlaceCtx): void {
  // Buffer, not TextDecoder: the names lie in shared memory, which TextDecoder refuses.
  const names = Buffer.from(b.names.buffer, b.names.byteOffset, b.names.byteLength);
  const C = fsm.constants;
  for (let i = from; i < to; i++) {
    // The control fields by number (C_STOP = 2, C_DONE = 3): this text runs on its own.
    if (Atomics.load(b.ctl, 2) === 1) return;
    const srcAt = b.offs[2 * i]!;
    const destAt = b.offs[2 * i + 1]!;
    const destEnd = names.indexOf(0, destAt);
    const src = names.toString('utf8', srcAt, destAt - 1);
    const dest = names.toString('utf8', destAt, destEnd);
    const size = b.nums[3 * i]!;
    const mode = b.meta[2 * i]!;
    const slash = dest.lastIndexOf(ctx.sep);
    const base = dest.slice(slash + 1);
    // A name too long for the temp name's stem is the caller's (it shortens the stem).
    if (Buffer.byteLength(base) > 200) continue;
    let n = -1;
    let fd = -1;
    try {
      fd = fsm.openSync(src, 'r');
    } catch {
      fd = -1;
    }
    try {
      if (fd >= 0) {
        n = fsm.readSync(fd, ctx.buf, 0, ctx.buf.length, 0);
        for (let r = n; r > 0 && n < ctx.buf.length && n !== size; n += r) r = fsm.readSync(fd, ctx.buf, n, ctx.buf.length - n, n);
      } else if (b.meta[2 * i + 1]! >= 0) {
        const file = b.packFiles[b.meta[2 * i + 1]!]!;
        let pfd = ctx.packFds.get(file);
        if (pfd === undefined) {
          pfd = fsm.openSync(file, 'r');
          ctx.packFds.set(file, pfd);
        }
        const off = b.nums[3 * i + 1]!;
        const len = b.nums[3 * i + 2]!;
        n = 0;
        while (n < len) {
          const r = fsm.readSync(pfd, ctx.buf, n, len - n, off + n);
          if (r === 0) break;
          n += r;
        }
      }
    } catch {
      n = -1;
    } finally {
      if (fd >= 0) fsm.closeSync(fd);
    }
    if (n !== size) continue;
    ctx.counter = (ctx.counter + 1) % 0x10000;
    const tmp = dest.slice(0, slash + 1) + '.' + base + '.' + ctx.pid + '.' + ctx.tag + ctx.counter.toString(16).padStart(4, '0') + '.tmp';
    let out = -1;
    try {
      out = fsm.openSync(tmp, C.O_WRONLY | C.O_CREAT | C.O_EXCL, mode);
      let w = 0;
      while (w < n) w += fsm.writeSync(out, ctx.buf, w, n - w);
      let st = fsm.fstatSync(out);
      if ((st.mode & 0o7777) !== mode) {
        fsm.fchmodSync(out, mode);
        st = fsm.fstatSync(out);
      }
      fsm.closeSync(out);
      out = -1;
      fsm.renameSync(tmp, dest);
      b.stats[4 * i] = st.ino;
      b.stats[4 * i + 1] = st.mtimeMs;
      b.stats[4 * i + 2] = st.size;
      b.stats[4 * i + 3] = st.mode;
      b.status[i] = 1;
      Atomics.add(b.ctl, 3, 1);
      if (ctx.worker) Atomics.add(b.ctl, 4, 1);
    } catch {
      if (out >= 0) {
        try {
          fsm.closeSync(out);
        } catch {
          // closing a descriptor that failed to write: nothing more to do
        }
      }
      try {
        fsm.rmSync(tmp, { force: true });
      } catch {
        // a temp file that cannot be removed is swept by the next checkout (its PID is gone)
      }
      Atomics.store(b.ctl, 2, 1);
      return;
    }
  }
}

/**
 * Stores files [from, to) of `b` in the cache: each read whole (into one reused buffer), hashed,
 * and written under its digest's name through a temp file beside it, created exclusively,
 * read-only, then renamed; an object already there is not written again. The bytes stored are
 * the bytes hashed, as in the one-by-one store. A file not of its expected size (written to
 * since its stat) is left to the caller. Same rules as placeRange: nothing but its arguments.
 */
function storeRange(fsm: typeof fs, b: Batch, from: number, to: number, ctx: PlaceCtx): void {
  const names = Buffer.from(b.names.buffer, b.names.byteOffset, b.names.byteLength);
  const C = fsm.constants;
  const st = b.store!;
  const buf = (ctx.storeBuf ??= Buffer.allocUnsafe(st.maxSize + 1));
  for (let i = from; i < to; i++) {
    if (Atomics.load(b.ctl, 2) === 1) return;
    const srcAt = b.offs[2 * i]!;
    const src = names.toString('utf8', srcAt, names.indexOf(0, srcAt));
    const size = b.nums[3 * i]!;
    if (size > st.maxSize) continue;
    let n = -1;
    let fd = -1;
    try {
      fd = fsm.openSync(src, 'r');
      n = fsm.readSync(fd, buf, 0, buf.length, 0);
      for (let r = n; r > 0 && n < buf.length && n !== size; n += r) r = fsm.readSync(fd, buf, n, buf.length - n, n);
    } catch {
      n = -1;
    } finally {
      if (fd >= 0) fsm.closeSync(fd);
    }
    if (n !== size) continue;
    const digest = ctx.hash!(st.algo, buf.subarray(0, n));
    b.digests!.set(digest, 32 * i);
    const hex = Buffer.from(digest.buffer, digest.byteOffset, 32).toString('hex');
    const dir = st.root + hex.slice(0, 2);
    const dest = dir + ctx.sep + hex.slice(2);
    if (!fsm.existsSync(dest)) {
      ctx.counter = (ctx.counter + 1) % 0x10000;
      const tmp = dir + ctx.sep + '.' + hex.slice(2) + '.' + ctx.pid + '.' + ctx.tag + ctx.counter.toString(16).padStart(4, '0') + '.tmp';
      let out = -1;
      try {
        out = fsm.openSync(tmp, C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o444);
        let w = 0;
        while (w < n) w += fsm.writeSync(out, buf, w, n - w);
        // A shared cache's objects are readable by all whatever the umask.
        if (st.shared) fsm.fchmodSync(out, 0o444);
        fsm.closeSync(out);
        out = -1;
        fsm.renameSync(tmp, dest);
      } catch {
        if (out >= 0) {
          try {
            fsm.closeSync(out);
          } catch {
            // closing a descriptor that failed to write: nothing more to do
          }
        }
        try {
          fsm.rmSync(tmp, { force: true });
        } catch {
          // a temp file that cannot be removed is swept later (its PID is gone)
        }
        // The caller stores the rest one by one, and reports what failed.
        Atomics.store(b.ctl, 2, 1);
        return;
      }
    }
    b.status[i] = 1;
    Atomics.add(b.ctl, 3, 1);
    if (ctx.worker) Atomics.add(b.ctl, 4, 1);
  }
}

/** Claims runs of `b` until none is left (or a destination failed). */
function claimLoop(fsm: typeof fs, b: Batch, ctx: PlaceCtx, onBlock?: () => void): void {
  // C_ACTIVE = 1, C_STOP = 2, C_CLAIM = 0, by number: this text runs on its own.
  Atomics.add(b.ctl, 1, 1);
  try {
    for (;;) {
      if (Atomics.load(b.ctl, 2) === 1) return;
      const k = Atomics.add(b.ctl, 0, 1);
      if (k >= b.nRuns) return;
      (b.op === 1 ? storeRange : placeRange)(fsm, b, b.runs[k]!, b.runs[k + 1]!, ctx);
      onBlock?.();
    }
  } finally {
    Atomics.sub(b.ctl, 1, 1);
    Atomics.notify(b.ctl, 1);
  }
}

/** A worker's whole life: wait for a batch, claim its blocks, until told to quit. */
function workerMain(fsm: typeof fs, wt: typeof import('node:worker_threads'), claim: typeof claimLoop, req: (id: string) => unknown): void {
  const { wake, port, pid, tag, sep, hashModule } = wt.workerData as { wake: Int32Array; port: MessagePort; pid: number; tag: string; sep: string; hashModule?: string };
  // The hashing a store needs: the same native BLAKE3 module as the main thread (its path is
  // given), or node's SHA-256; loaded on first use.
  let blake: { blake3(b: Uint8Array): Uint8Array } | undefined;
  const hash = (algo: string, data: Uint8Array): Uint8Array => {
    if (algo === 'blake3') return (blake ??= req(hashModule!) as { blake3(b: Uint8Array): Uint8Array }).blake3(data);
    return (req('node:crypto') as typeof import('node:crypto')).createHash('sha256').update(data).digest();
  };
  const ctx: PlaceCtx = { buf: Buffer.allocUnsafe(256 * 1024 + 1), pid, tag, counter: 0, packFds: new Map(), worker: true, sep, hash };
  let seen = 0;
  for (;;) {
    // W_GEN = 0, W_QUIT = 1.
    Atomics.wait(wake, 0, seen);
    seen = Atomics.load(wake, 0);
    for (let m = wt.receiveMessageOnPort(port); m; m = wt.receiveMessageOnPort(port)) {
      const b = m.message as Batch;
      claim(fsm, b, ctx);
    }
    if (Atomics.load(wake, 1) === 1) break;
  }
  for (const fd of ctx.packFds.values()) fsm.closeSync(fd);
  port.close();
}

/**
 * The workers' source: the functions above as text. Tools that transform this module may name
 * functions through a `__name` helper; it is defined so the text runs on its own.
 */
function workerSource(): string {
  return [
    'var __name = (f) => f;',
    "const fsm = require('node:fs');",
    "const wt = require('node:worker_threads');",
    `const placeRange = (${placeRange.toString()});`,
    `const storeRange = (${storeRange.toString()});`,
    // claimLoop calls placeRange and storeRange by those names.
    `const claimLoop = (${claimLoop.toString()});`,
    `(${workerMain.toString()})(fsm, wt, claimLoop, require);`,
  ].join('\n');
}

/**
 * The shared batch of `count` copies, each asked for (`copy(i)`) and written into shared memory
 * at once, in order. No list of the copies is kept: holding 32,768 objects and their path strings
 * until the batch was built made the garbage collector copy them all out of the young
 * generation, which cost a 50,000-file checkout about as much as building them (docs/benchmarks.md).
 */
function newBatch(count: number, copy: (i: number) => SmallCopy): Batch {
  const packFiles: string[] = [];
  const packNo = new Map<string, number>();
  const shared = <T>(make: (sab: SharedArrayBuffer) => T, n: number): T => make(new SharedArrayBuffer(n));
  const b: Batch = {
    count,
    ctl: shared((s) => new Int32Array(s), 32),
    names: new Uint8Array(0),
    offs: shared((s) => new Uint32Array(s), 8 * count),
    nums: shared((s) => new Float64Array(s), 24 * count),
    meta: shared((s) => new Int32Array(s), 8 * count),
    packFiles,
    status: shared((s) => new Uint8Array(s), count),
    stats: shared((s) => new Float64Array(s), 32 * count),
    runs: new Uint32Array(0),
    nRuns: 0,
    op: 0,
  };
  // The names are gathered in a growing private buffer, then copied once into shared memory.
  let names = Buffer.allocUnsafe(Math.max(4096, count * 160));
  let at = 0;
  const put = (s: string): void => {
    // At most three bytes of UTF-8 per UTF-16 unit, and the NUL.
    const need = at + 3 * s.length + 1;
    if (need > names.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, 2 * names.length));
      names.copy(grown, 0, 0, at);
      names = grown;
    }
    at += names.write(s, at, 'utf8');
    names[at++] = 0;
  };
  // Runs: a new one where the destination's folder changes, or after RUN_MAX copies.
  const starts: number[] = [];
  let lastDest = '';
  let lastCut = -1;
  for (let i = 0; i < count; i++) {
    const c = copy(i);
    const d = c.dest;
    const cut = d.lastIndexOf(path.sep);
    const sameDir = i > 0 && cut === lastCut && d.startsWith(lastDest.slice(0, cut + 1));
    if (!sameDir || i - starts[starts.length - 1]! >= RUN_MAX) starts.push(i);
    lastDest = d;
    lastCut = cut;
    b.offs[2 * i] = at;
    put(c.src);
    b.offs[2 * i + 1] = at;
    put(d);
    b.nums[3 * i] = c.size;
    b.meta[2 * i] = c.mode;
    if (c.pack) {
      let p = packNo.get(c.pack.file);
      if (p === undefined) {
        p = packFiles.length;
        packFiles.push(c.pack.file);
        packNo.set(c.pack.file, p);
      }
      b.meta[2 * i + 1] = p;
      b.nums[3 * i + 1] = c.pack.offset;
      b.nums[3 * i + 2] = c.pack.length;
    } else {
      b.meta[2 * i + 1] = -1;
    }
  }
  b.names = new Uint8Array(new SharedArrayBuffer(Math.max(1, at)));
  b.names.set(names.subarray(0, at));
  b.nRuns = starts.length;
  b.runs = new Uint32Array(new SharedArrayBuffer(4 * (starts.length + 1)));
  b.runs.set(starts);
  b.runs[starts.length] = count;
  return b;
}

export interface CopyManyOptions {
  /** Worker threads to add to this one (at most 15); default: one less than the cores, at most 3. */
  workers?: number;
  /** Called now and then with the number of copies placed so far. */
  onProgress?: (placed: number) => void;
  /**
   * false: this thread only hands out the work and waits (at least one worker is started
   * however few the copies). Default true: it copies too.
   */
  inThisThread?: boolean;
}

export interface CopyManyResult {
  /** One byte per copy: 1 when placed, 0 when left to the caller. */
  done: Uint8Array;
  /** How many of them worker threads placed. */
  byWorkers: number;
}

/**
 * Places `count` small copies (`copy(i)`), in parallel where there are cores to spare.
 * `placed(i, stat)` is called (in this thread, in order within a batch) for each copy placed,
 * with its new stat.
 */
export function copyManySmall(count: number, copy: (i: number) => SmallCopy, placed: (i: number, st: FileStat) => void, opts: CopyManyOptions = {}): CopyManyResult {
  return runMany(count, opts, {}, (start, n) => newBatch(n, (i) => copy(start + i)), (b, start, i) => {
    placed(start + i, { ino: b.stats[4 * i]!, mtimeMs: b.stats[4 * i + 1]!, size: b.stats[4 * i + 2]!, mode: b.stats[4 * i + 3]! });
  });
}

/** One file to store in the cache. */
export interface SmallStore {
  /** The workspace file. */
  src: string;
  /** Its size when walked: a file read at another size is left to the caller. */
  size: number;
}

export interface StoreManyOptions extends CopyManyOptions {
  /** The cache's folder of `algo`'s objects: objects go to `<root>/<2 hex>/<rest>`; every shard folder exists. */
  root: string;
  algo: string;
  /** `cache.shared`: objects made readable by all whatever the umask. */
  shared: boolean;
  /** Files larger than this are left to the caller (the reused read buffer's size). */
  maxSize: number;
  /** The digest (32 bytes) of `data`, in this thread. */
  hash: (algo: string, data: Uint8Array) => Uint8Array;
  /** Where the worker threads load the BLAKE3 module from (the one `hash` uses). */
  hashModule: string;
}

/**
 * Stores `count` small files in the cache (`file(i)`), in parallel where there are cores to
 * spare: reading, hashing and writing a file are one thread's work, so `rvc add` of many files
 * uses every core. `stored(i, digest)` is called (in this thread) for each file stored, or found
 * already there, with the digest of the bytes read; the others are left to the caller.
 */
export function storeManySmall(count: number, file: (i: number) => SmallStore, stored: (i: number, digest: Uint8Array) => void, opts: StoreManyOptions): CopyManyResult {
  const root = opts.root.endsWith(path.sep) ? opts.root : opts.root + path.sep;
  const store = { root, algo: opts.algo, shared: opts.shared, maxSize: opts.maxSize };
  return runMany(count, opts, { hash: opts.hash, hashModule: opts.hashModule }, (start, n) => {
    // The runs follow the files' folders, as a walk lists them: a thread reads one folder's files.
    const b = newBatch(n, (i) => {
      const f = file(start + i);
      return { src: f.src, dest: f.src, size: f.size, mode: 0 };
    });
    b.op = 1;
    b.store = store;
    b.digests = new Uint8Array(new SharedArrayBuffer(32 * n));
    return b;
  }, (b, start, i) => stored(start + i, b.digests!.slice(32 * i, 32 * i + 32)));
}

/**
 * Runs batches of items over this thread and worker threads: `batch(start, n)` builds the shared
 * batch of items [start, start + n), `done(b, start, i)` collects item i of it once placed.
 */
function runMany(
  count: number,
  opts: CopyManyOptions,
  hashing: { hash?: PlaceCtx['hash']; hashModule?: string },
  batch: (start: number, n: number) => Batch,
  done1: (b: Batch, start: number, i: number) => void,
): CopyManyResult {
  const done = new Uint8Array(count);
  const here = opts.inThisThread !== false;
  let byWorkers = 0;
  const ctx: PlaceCtx = {
    buf: Buffer.allocUnsafe(MANY_MAX_SIZE + 1), pid: process.pid, tag: randomBytes(2).toString('hex'), counter: 0, packFds: new Map(), worker: false, sep: path.sep,
    ...(hashing.hash ? { hash: hashing.hash } : {}),
  };
  const wanted = Math.max(0, Math.min(opts.workers ?? Math.min(os.availableParallelism() - 1, 3), 15));
  const nWorkers = here ? (count < MANY_MIN_FOR_WORKERS ? 0 : wanted) : Math.max(1, wanted);
  const wake = new Int32Array(new SharedArrayBuffer(8));
  const workers: { worker: Worker; port: MessagePort }[] = [];
  for (let w = 0; w < nWorkers; w++) {
    const { port1, port2 } = new MessageChannel();
    let worker: Worker;
    try {
      worker = new Worker(workerSource(), {
        eval: true,
        workerData: {
          wake, port: port2, pid: process.pid, tag: randomBytes(2).toString('hex'), sep: path.sep,
          ...(hashing.hashModule ? { hashModule: hashing.hashModule } : {}),
        },
        transferList: [port2],
        stdout: true,
        stderr: true,
      });
    } catch {
      // No thread to be had (a resource limit): the work is done with the threads there are.
      port1.close();
      break;
    }
    // Nothing is awaited on a worker: it must never hold the process open, and an error in one
    // only leaves its items to this thread.
    worker.on('error', () => {});
    worker.unref();
    port1.unref();
    workers.push({ worker, port: port1 });
  }
  let total = 0;
  try {
    for (let start = 0; start < count; start += BATCH) {
      const n = Math.min(BATCH, count - start);
      const b = batch(start, n);
      if (workers.length) {
        for (const w of workers) w.port.postMessage(b);
        Atomics.add(wake, W_GEN, 1);
        Atomics.notify(wake, W_GEN);
      }
      let reported = 0;
      const report = (): void => {
        const now = Atomics.load(b.ctl, C_DONE);
        if (now - reported >= 256) {
          reported = now;
          opts.onProgress?.(total + now);
        }
      };
      // With no worker to be had, this thread does whatever it was asked.
      if (here || workers.length === 0) claimLoop(fs, b, ctx, report);
      // Wait for the workers' last runs; one that stops making progress is given up on.
      let last = Atomics.load(b.ctl, C_DONE);
      let stallSince = Date.now();
      const unfinished = (): boolean =>
        Atomics.load(b.ctl, C_ACTIVE) > 0 || (Atomics.load(b.ctl, C_CLAIM) < b.nRuns && Atomics.load(b.ctl, C_STOP) === 0);
      while (unfinished()) {
        Atomics.wait(b.ctl, C_ACTIVE, Atomics.load(b.ctl, C_ACTIVE), 20);
        report();
        const now = Atomics.load(b.ctl, C_DONE);
        if (now !== last) {
          last = now;
          stallSince = Date.now();
        } else if (Date.now() - stallSince > STALL_MS) {
          break;
        }
      }
      for (let i = 0; i < n; i++) {
        if (b.status[i] !== 1) continue;
        done[start + i] = 1;
        done1(b, start, i);
      }
      total += Atomics.load(b.ctl, C_DONE);
      byWorkers += Atomics.load(b.ctl, C_BY_WORKERS);
      opts.onProgress?.(total);
      if (Atomics.load(b.ctl, C_STOP) === 1) break;
    }
  } finally {
    Atomics.store(wake, W_QUIT, 1);
    Atomics.add(wake, W_GEN, 1);
    Atomics.notify(wake, W_GEN);
    for (const w of workers) w.port.close();
    for (const fd of ctx.packFds.values()) fs.closeSync(fd);
  }
  return { done, byWorkers };
}
