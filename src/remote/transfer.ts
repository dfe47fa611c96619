import { closeSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { setMaxListeners } from 'node:events';
import path from 'node:path';
import pLimit, { type LimitFunction } from 'p-limit';
import { RvcError, addFailure, errnoCode, isRvcError, type ErrorCode, type FailureSummary } from '../errors.js';
import { isTreeOid, isValidOid, objectKey, type HashAlgo } from '../model/oid.js';
import { CHUNKS_SUFFIX, chunkListKey, type ChunkEntry } from '../model/chunks.js';
import { ProgressTicker, type ProgressFn } from '../progress.js';
import { tempPathFor } from '../fsutil/atomic.js';
import { packKey, parsePackKey, type PackColumns } from '../model/pack.js';
import type { DownloadOptions, Remote } from './remote.js';
import { PackSet, PackWriter, SpareBuffers, coalesceReads, isMissingKey, type PackedObject } from './packs.js';
import { interrupted } from './retry.js';
import { credentialsRefused } from './remote-error.js';
import { MemoryBudget } from './memory-budget.js';

/**
 * What the transfer engine needs from the local object database. The odb implements it; tests
 * implement it over a temporary folder.
 */
export interface LocalObjectStore {
  readonly algo: HashAlgo;
  has(oid: string): Promise<boolean>;
  /**
   * The oids of `oids` the store lacks (what `has` says of each), in fewer system calls than
   * asking one by one; a store without it is asked one by one.
   */
  absentOf?(oids: readonly string[]): string[];
  /** Path of the object file in the cache. */
  objectPath(oid: string): string;
  /**
   * Hash `tmpPath`; if it matches `oid` move it into the cache (atomic rename, read-only) and
   * return true; otherwise delete it and return false.
   */
  importVerified(tmpPath: string, oid: string): Promise<boolean>;
  /**
   * importVerified for bytes already in memory (an object cut out of a pack): hashed there and
   * written once. A store without it gets a temp file.
   */
  importBytes?(data: Uint8Array, oid: string): boolean;
  /** verifyDownload for bytes in memory. */
  verifyBytes?(data: Uint8Array, oid: string): boolean;
  /** Hash `tmpPath` like importVerified, then delete it; true when it matches `oid`. */
  verifyDownload(tmpPath: string, oid: string): Promise<boolean>;
  /** A folder on the cache's filesystem for downloads, so importing is a rename. */
  tmpDir(): string;
  /** Children of a tree object, which must be in the cache. */
  readTreeEntries(oid: string): Promise<{ oid: string; size: number }[]>;
  /**
   * The folder of the cache where remotes' pack indexes are kept, and the hash of bytes with the
   * store's algorithm. A store without them moves loose objects only (it neither reads nor
   * writes packs).
   */
  packIndexDir?(): string;
  hashBytes?(data: Uint8Array): string;
  /** The digest of bytes with the store's algorithm, as bytes (no hex to build and compare). */
  digestBytes?(data: Uint8Array): Uint8Array;
  /** An incremental hash with the store's algorithm (fsck --cloud: a file's oid from its chunks). */
  hasher?(): { update(data: Uint8Array): void; digest(): string };
  /**
   * Files stored as chunks (a store without these keeps whole objects only). `chunksOf`: the
   * chunks of a file the store holds as chunks and not whole, else undefined.
   */
  chunksOf?(oid: string): ChunkEntry[] | undefined;
  /** Path of `oid`'s chunk list in the store. */
  chunkListPath?(oid: string): string;
  /** The chunks a downloaded chunk list names; throws OBJECT_CORRUPT when it does not parse. */
  parseChunkListFile?(file: string): ChunkEntry[];
  /**
   * Moves a downloaded chunk list into the store if its chunks (already there) hash together to
   * `oid`; deletes it otherwise.
   */
  importChunkList?(tmpPath: string, oid: string): Promise<'ok' | 'corrupt' | 'incomplete'>;
  /**
   * Keeps a pack downloaded whole (`tmpPack`, in tmpDir(); every object its index lists was
   * verified, and its size) as a pack in the store, instead of one file per object. A store
   * without it gets the objects one by one.
   */
  adoptPack?(tmpPack: string, index: PackColumns, indexText?: Uint8Array): string;
  /** Where `oid` lies in one of the store's packs when the store holds it packed and not as a file of its own. */
  packedRange?(oid: string): { file: string; offset: number; length: number } | undefined;
  /** An object's whole content, loose or packed (a store without it is read at objectPath). */
  readObject?(oid: string): Buffer;
  /** readObject into `into` at `at`, without a buffer of its own for a packed object; returns the bytes written. */
  readObjectInto?(oid: string, into: Buffer, at: number): number;
}

export interface TransferOptions {
  /** Concurrent network transfers; defaults to the remote's `jobs`. */
  jobs?: number;
  /** Concurrent local checks (stat, tree reads); separate from network concurrency. */
  localJobs?: number;
  onProgress?: ProgressFn;
  signal?: AbortSignal;
  /**
   * oids whose absence from the source is not a failure (fetch): left out of the result. Outputs
   * recorded only in rvc.lock at other revisions may never have been cached.
   */
  optional?: ReadonlySet<string>;
  /** Push: put the small objects the remote lacks into packs (default true; false keeps every object loose). */
  packs?: boolean;
}

export interface TransferFailure {
  oid: string;
  error: RvcError;
}

/**
 * `failed` is a bounded sample of the objects that could not be moved (the others were still
 * attempted); `failedCount` and `failedByCode` count them all (see FailureSummary).
 */
export interface TransferResult extends FailureSummary<TransferFailure> {
  /** Objects moved by this call, in completion order. */
  transferred: string[];
  /** Objects that were already at the destination (children of a tree found complete at the destination are not counted). */
  skipped: number;
}

/**
 * A fetch asks the remote which of the objects it still has to download exist once this many
 * downloads found their object missing: past that point a remote that lacks many objects costs
 * one listing instead of one failing request (and an error record) per object, while a normal
 * fetch never pays for the query.
 */
export const MISSES_BEFORE_QUERY = 32;

/**
 * Failures that say the whole remote (or local disk) is unusable: once one is seen, starting
 * more transfers would only repeat it, so the run stops and throws it.
 */
const FATAL: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'REMOTE_NOT_FOUND', 'REMOTE_UNREACHABLE', 'INTERRUPTED', 'CONFIG_INVALID', 'DISK_FULL',
]);
/** Access can be denied per object (KMS keys, object ACLs); only a run of denials and no success stops the run. */
const DENIALS_BEFORE_GIVING_UP = 8;
/**
 * A read timeout fails one object (the others may well answer); only a run of them with no
 * success says the remote as a whole has stopped answering.
 */
const TIMEOUTS_BEFORE_GIVING_UP = 8;
const TIMEOUT_MESSAGE = /of inactivity|no data received for/i;

/**
 * Push puts objects of at most this many bytes into packs; larger ones stay loose: one request
 * per megabyte or more costs little next to its transfer, and a loose object can be read (and
 * deleted by gc) on its own.
 */
export const PACK_MAX_OBJECT = 1024 * 1024;
/**
 * Size a push fills each pack to. A fetch reads packs in parallel, each while the next downloads,
 * so smaller packs spread a pull over more connections, while larger ones cost fewer requests.
 * Measured (20,000 × 2 KiB on s3rver, docs/benchmarks-remote.md): 8 MiB fetched fastest of 8, 16
 * and 64 MiB, pushes were alike; at 8 MiB, 10⁶ files of 2 KiB are still only about 250 packs.
 */
export const PACK_TARGET_SIZE = 8 * 1024 * 1024;
/**
 * A push packs its small objects only when it has at least this many: below that a pack saves
 * few requests, while loose objects stay readable by any rvc version and gc deletes them one by
 * one without repacking.
 */
export const PACK_MIN_OBJECTS = 64;
/** A fetch downloads a whole pack when it wants at least this fraction of its bytes, else ranges. */
const WHOLE_PACK_FRACTION = 0.5;
/** Wanted objects at most this far apart in a pack are read by one ranged request… */
const RANGE_MAX_GAP = 256 * 1024;
/**
 * A pack read whole to be kept in the cache is read into memory up to this size (packs are made
 * about PACK_TARGET_SIZE); a larger one goes through a temp file.
 */
const PACK_IN_MEMORY_MAX = 4 * PACK_TARGET_SIZE;
/** …of at most this many bytes. */
const RANGE_MAX_SPAN = 16 * 1024 * 1024;
/**
 * Bytes of packs a fetch holds in memory at once (four of PACK_TARGET_SIZE), whatever `jobs`
 * is: each is a buffer of its own, whose first use costs a page fault per 4 KiB, and more packs
 * at once arrive in smaller pieces, each a trip through the stream machinery. Measured (50,000 ×
 * 2 KiB from s3rver, 2 cores, 8 alternating runs): 8 packs at once (the default `jobs`) took
 * 11 % more CPU and 13 % longer than 4, with 9,000 more page faults (of 57,000). Ranged reads
 * do not count against it.
 */
const PACK_READ_MEMORY = 4 * PACK_TARGET_SIZE;

/**
 * The packs of each remote handle, listed once per handle (a command opens its remotes once) and
 * per algorithm; `remotePacks(…, stale)` lists them again once, when a pack read from the set
 * `stale` has vanished (a gc repacked it meanwhile).
 */
const packSets = new WeakMap<Remote, Map<HashAlgo, Promise<PackSet>>>();

/** The packs `remote` holds for the store's algorithm (none for a store that cannot read packs). */
export function remotePacks(store: LocalObjectStore, remote: Remote, stale?: Promise<PackSet>): Promise<PackSet> {
  if (!store.packIndexDir || !store.hashBytes) return Promise.resolve(PackSet.empty(store.algo));
  let m = packSets.get(remote);
  if (!m) packSets.set(remote, (m = new Map()));
  let p = m.get(store.algo);
  if (!p || (stale !== undefined && p === stale)) {
    const hash = store.hashBytes.bind(store);
    const loading = PackSet.load(remote, store.algo, hash, store.packIndexDir());
    m.set(store.algo, loading);
    loading.then(() => listedPacks.add(loading), () => undefined);
    // A failure is not remembered: the next caller lists again.
    loading.catch(() => {
      if (m!.get(store.algo) === loading) m!.delete(store.algo);
    });
    p = loading;
  }
  return p;
}

/** The listings of packs that have completed. */
const listedPacks = new WeakSet<Promise<PackSet>>();

/** Forgets the listed packs of `remote` (after a push added some). */
function forgetPacks(remote: Remote, algo: HashAlgo): void {
  packSets.get(remote)?.delete(algo);
}

/** Keys to ask about from which existingObjects first asks whether the remote has any loose object. */
const ANY_LOOSE_FIRST = 1024;

/** Whether the remote lists any key under `prefix` (reads the first page of the listing only). */
async function anyKey(remote: Remote, prefix: string): Promise<boolean> {
  for await (const _ of remote.list(prefix)) return true;
  return false;
}

/**
 * Which of `oids` the remote has: loose, or in a pack listed with its index. Packed ones cost no
 * request beyond the one listing of the packs; the rest are asked like loose keys.
 */
export async function existingObjects(store: LocalObjectStore, remote: Remote, oids: readonly string[], onProgress?: (done: number) => void): Promise<Set<string>> {
  const found = new Set<string>();
  if (oids.length === 0) return found;
  const packs = await remotePacks(store, remote);
  const loose: string[] = [];
  for (const o of oids) {
    if (packs.has(o)) found.add(o);
    else loose.push(o);
  }
  const packed = found.size;
  if (packed) onProgress?.(packed);
  // Asked about many keys, a remote is first asked whether it holds any loose object of the
  // algorithm (one listing request): a new one, or one holding packs only, then costs no key
  // string per object (about 100 bytes each, besides the sets the query makes of them).
  if (loose.length >= ANY_LOOSE_FIRST && !(await anyKey(remote, `${store.algo}/`))) {
    onProgress?.(packed + loose.length);
    return found;
  }
  if (loose.length) {
    const keys = loose.map((o) => objectKey(store.algo, o));
    const there = await remote.existing(keys, (done) => onProgress?.(packed + done));
    for (let i = 0; i < loose.length; i++) if (there.has(keys[i]!)) found.add(loose[i]!);
  }
  return found;
}

/** An object read out of a pack that does not match its oid (or that the pack ends before). */
export function corruptInPack(remote: Remote, oid: string, key: string, truncated = false): RvcError {
  return new RvcError(
    'OBJECT_CORRUPT',
    `object ${oid} in pack '${key}' on remote ${remote.url} ${truncated ? 'lies past the end of the pack (it is truncated)' : 'does not match its oid'}; it was not stored`,
    {
      hint: 'the pack on the remote is damaged and `rvc push` will not replace it: remove the pack and its index (same name, .idx) from the remote, then run `rvc push` from a clone whose cache has good copies',
      details: { key, url: remote.url, oid },
    },
  );
}

function asRvcError(e: unknown, oid: string, fallback: ErrorCode): RvcError {
  if (isRvcError(e)) {
    if (e.code === 'PATH_NOT_FOUND') {
      return new RvcError('OBJECT_MISSING', `object ${oid} is not in the local cache`, {
        cause: e, hint: 'fetch it from a remote that has it, or re-add the data it belongs to',
      });
    }
    return e;
  }
  return new RvcError(fallback, `${oid}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}

/** Shared state of one push or fetch: limits, results, progress and the stop switch. */
class Run {
  readonly transferred: string[] = [];
  readonly failures: FailureSummary<TransferFailure> = { failed: [], failedCount: 0, failedByCode: {} };
  skipped = 0;
  /** Objects found missing at the source so far. */
  misses = 0;
  readonly net: LimitFunction;
  readonly local: LimitFunction;
  readonly netJobs: number;
  readonly localJobs: number;
  readonly controller = new AbortController();
  private fatal: RvcError | undefined;
  private denials = 0;
  private timeouts = 0;
  private successes = 0;
  /**
   * Trees already reported: a tree can fail in more than one step. A file oid fails at most once
   * (each is attempted once), so files are not remembered: a million of them would be a million
   * strings.
   */
  private readonly failedTrees = new Set<string>();
  private readonly onAbort = (): void => this.stop(interrupted());

  constructor(
    readonly remote: Remote,
    readonly algo: HashAlgo,
    readonly opts: TransferOptions,
  ) {
    this.netJobs = Math.max(1, opts.jobs ?? remote.jobs);
    this.localJobs = Math.max(1, opts.localJobs ?? 32);
    this.net = pLimit(this.netJobs);
    this.local = pLimit(this.localJobs);
    // Every request in flight listens on this signal (the SDKs add a listener each): `jobs`
    // above 10, or pack reads beside chunk reads, are not a leak.
    setMaxListeners(0, this.controller.signal);
    if (opts.signal?.aborted) this.stop(interrupted());
    else opts.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  get stopped(): boolean {
    return this.controller.signal.aborted;
  }

  key(oid: string): string {
    return objectKey(this.algo, oid);
  }

  stop(e: RvcError): void {
    this.fatal ??= e;
    this.controller.abort();
  }

  succeeded(oid?: string): void {
    this.successes++;
    if (oid !== undefined) this.transferred.push(oid);
  }

  fail(oid: string, e: unknown, fallback: ErrorCode = 'REMOTE_TRANSFER_FAILED'): void {
    const err = asRvcError(e, oid, fallback);
    if (err.code === 'OBJECT_MISSING') {
      this.misses++;
      if (this.opts.optional?.has(oid)) return;
    }
    // Work cancelled because of an earlier fatal error is not a failure of its own.
    if (this.stopped && err.code === 'INTERRUPTED') return;
    if (FATAL.has(err.code)) {
      this.stop(err);
      return;
    }
    // Refused credentials fail every request alike: stop at once, with the one error that says so.
    if (err.code === 'REMOTE_ACCESS_DENIED' && (credentialsRefused(err) || (++this.denials >= DENIALS_BEFORE_GIVING_UP && this.successes === 0))) {
      this.stop(err);
      return;
    }
    if (err.code === 'REMOTE_TRANSFER_FAILED' && TIMEOUT_MESSAGE.test(err.message) && ++this.timeouts >= TIMEOUTS_BEFORE_GIVING_UP && this.successes === 0) {
      this.stop(new RvcError('REMOTE_UNREACHABLE', `remote ${this.remote.url} accepts connections but does not answer (${err.message})`, {
        cause: err, hint: 'check the endpoint, or raise the remote’s readtimeout option if it is just slow',
      }));
      return;
    }
    if (isTreeOid(oid)) {
      if (this.failedTrees.has(oid)) return;
      this.failedTrees.add(oid);
    }
    addFailure(this.failures, err.code, { oid, error: err });
  }

  /**
   * One request failed for many objects (a pack): each is reported, but the rules that stop a
   * run after repeated denials or timeouts count it once, as the one request it was.
   */
  failMany(oids: readonly string[], e: unknown): void {
    if (!oids.length) return;
    this.fail(oids[0]!, e);
    if (this.stopped) return;
    for (let i = 1; i < oids.length; i++) {
      const oid = oids[i]!;
      const err = asRvcError(e, oid, 'REMOTE_TRANSFER_FAILED');
      if (err.code === 'OBJECT_MISSING') {
        this.misses++;
        if (this.opts.optional?.has(oid)) continue;
      }
      addFailure(this.failures, err.code, { oid, error: err });
    }
  }

  /** An object the remote's listing lacks: counted, and an error built only for the sample. */
  absent(oid: string): void {
    this.misses++;
    if (this.opts.optional?.has(oid)) return;
    const key = this.key(oid);
    addFailure(this.failures, 'OBJECT_MISSING', () => ({
      oid,
      error: new RvcError('OBJECT_MISSING', `'${key}' is not on remote ${this.remote.url}`, {
        hint: 'push it from a clone that has it, or check that this is the right remote',
        details: { url: this.remote.url, key },
      }),
    }));
  }

  async query(keys: string[]): Promise<Set<string>> {
    if (keys.length === 0) return new Set();
    if (this.stopped) throw this.fatal ?? interrupted();
    const ticker = this.opts.onProgress ? new ProgressTicker(this.opts.onProgress, 'query', keys.length) : undefined;
    let last = 0;
    const found = await this.remote.existing(keys, (done) => {
      ticker?.tick(done - last);
      last = done;
    });
    ticker?.finish();
    return found;
  }

  /** Which of `oids` the remote has, loose or packed (`existingObjects`), with the query's progress. */
  async present(store: LocalObjectStore, oids: string[]): Promise<Set<string>> {
    if (oids.length === 0) return new Set();
    if (this.stopped) throw this.fatal ?? interrupted();
    const ticker = this.opts.onProgress ? new ProgressTicker(this.opts.onProgress, 'query', oids.length) : undefined;
    let last = 0;
    const found = await existingObjects(store, this.remote, oids, (done) => {
      ticker?.tick(done - last);
      last = done;
    });
    ticker?.finish();
    return found;
  }

  /** Detach from the caller's signal, which may outlive this run. */
  dispose(): void {
    this.opts.signal?.removeEventListener('abort', this.onAbort);
  }

  /** The result, or the fatal error carrying the partial result in `details`. */
  finish(): TransferResult {
    const result: TransferResult = { transferred: this.transferred, skipped: this.skipped, ...this.failures };
    if (this.fatal) {
      throw new RvcError(this.fatal.code, this.fatal.message, {
        ...(this.fatal.hint !== undefined ? { hint: this.fatal.hint } : {}),
        cause: this.fatal,
        details: {
          ...(typeof this.fatal.details === 'object' && this.fatal.details !== null ? this.fatal.details : {}),
          transferred: result.transferred.length,
          failedCount: result.failedCount,
          failed: result.failed.map((f) => ({ oid: f.oid, code: f.error.code, message: f.error.message })),
        },
      });
    }
    return result;
  }
}

function splitValid(run: Run, oids: string[]): { trees: string[]; files: string[] } {
  const trees: string[] = [];
  const files: string[] = [];
  for (const oid of new Set(oids)) {
    const valid: boolean = isValidOid(oid, run.algo);
    if (!valid) {
      run.fail(oid, new RvcError('OID_INVALID', `'${oid.slice(0, 80)}' is not a valid ${run.algo} oid`), 'OID_INVALID');
    } else if (isTreeOid(oid)) trees.push(oid);
    else files.push(oid);
  }
  return { trees, files };
}

/**
 * Upload the objects in `oids` (files and trees) that the remote lacks.
 *
 * Invariant kept on the remote: a tree object is present only if every object it lists is.
 * Hence a tree found on the remote ends the search below it (a no-op push of a 50,000-file
 * folder costs one query), and a tree is uploaded only after all its children are confirmed
 * there, now or earlier. A failed child keeps its tree off the remote and is reported; the rest
 * of the transfer goes on.
 */
export async function push(store: LocalObjectStore, remote: Remote, oids: string[], opts: TransferOptions = {}): Promise<TransferResult> {
  const run = new Run(remote, store.algo, opts);
  try {
    return await pushWith(run, store, remote, oids, opts);
  } finally {
    run.dispose();
  }
}

async function pushWith(run: Run, store: LocalObjectStore, remote: Remote, oids: string[], opts: TransferOptions): Promise<TransferResult> {
  const { trees: rootTrees, files: looseFiles } = splitValid(run, oids);
  // What a killed push left (a folder remote's partial copies) goes before we add our own.
  await remote.sweepLeftovers?.();

  // 1. Trees, one level at a time, each level one query.
  const onRemote = new Set<string>();
  const children = new Map<string, string[]>();
  const seenTrees = new Set(rootTrees);
  const unreadable = new Set<string>();
  let level = rootTrees;
  while (level.length > 0 && !run.stopped) {
    const present = await run.present(store, level);
    const next: string[] = [];
    await Promise.all(
      level.map((t) =>
        run.local(async () => {
          if (present.has(t)) {
            onRemote.add(t);
            run.skipped++;
            return;
          }
          try {
            const entries = await store.readTreeEntries(t);
            children.set(t, entries.map((e) => e.oid));
            for (const e of entries) {
              if (isTreeOid(e.oid) && !seenTrees.has(e.oid)) {
                seenTrees.add(e.oid);
                next.push(e.oid);
              }
            }
          } catch (e) {
            unreadable.add(t);
            run.fail(t, e, 'OBJECT_MISSING');
          }
        }),
      ),
    );
    level = next;
  }

  // 2. Files: those named directly plus the children of trees the remote lacks; one query.
  let missing = await absentFiles(run, store, looseFiles, children);
  const missingTrees = [...children.keys()];
  // Sizes, for a progress total and to choose what goes into packs (-1: not found, its upload
  // reports why), the files' in an array beside `missing`: a Map of a million oids cost about
  // 37 bytes each. A synchronous stat a file: 50,000 promise-based ones cost a second of the
  // main thread in round trips to the thread pool.
  const sizeOf = (oid: string): number => {
    try {
      const st = statSync(store.objectPath(oid), { throwIfNoEntry: false });
      // Not loose: it may sit in a pack the cache keeps.
      return st ? st.size : store.packedRange?.(oid)?.length ?? -1;
    } catch {
      return -1; // reported by its upload itself, with the right code
    }
  };
  let sizes = Float64Array.from(missing, sizeOf);
  // 2b. Files the cache holds as chunks go as their chunks and then their list. A chunked file
  //     has no whole object in the cache, so only those without one are looked at.
  const chunked = await expandChunkedPush(run, store, missing, (i) => sizes[i]! < 0);
  if (chunked.lists.size) sizes = Float64Array.from(missing, sizeOf); // their chunks in their place
  const packing = opts.packs !== false && store.hashBytes !== undefined && missing.length >= PACK_MIN_OBJECTS;
  let totalBytes = 0;
  for (const size of sizes) totalBytes += Math.max(0, size);
  for (const oid of missingTrees) totalBytes += Math.max(0, sizeOf(oid));
  // Small files go into packs of about PACK_TARGET_SIZE: `packable` in order, cut into groups
  // ending at `packEnds` (an object per file cost about 48 bytes more); the others (and any that
  // could not be stat'ed, whose upload reports why) stay loose.
  const packable: string[] = [];
  const packEnds: number[] = [];
  /** Each pack's bytes, so that its writer makes its buffer once at that size. */
  const packBytes: number[] = [];
  let looseUploads = missing;
  if (packing) {
    looseUploads = [];
    let groupBytes = 0;
    for (let i = 0; i < missing.length; i++) {
      const size = sizes[i]!;
      if (size < 0 || size > PACK_MAX_OBJECT) {
        looseUploads.push(missing[i]!);
        continue;
      }
      // A pack stays within PACK_TARGET_SIZE: S3 then takes it in one PutObject, where one byte
      // more makes a multipart upload of four requests.
      if (packable.length > (packEnds.at(-1) ?? 0) && groupBytes + size > PACK_TARGET_SIZE) {
        packEnds.push(packable.length);
        packBytes.push(groupBytes);
        groupBytes = 0;
      }
      packable.push(missing[i]!);
      groupBytes += size;
    }
    if (packable.length > (packEnds.at(-1) ?? 0)) {
      packEnds.push(packable.length);
      packBytes.push(groupBytes);
    }
    if (packable.length < PACK_MIN_OBJECTS) {
      for (const o of packable) looseUploads.push(o);
      packable.length = 0;
      packEnds.length = 0;
      packBytes.length = 0;
    }
  }
  const files = missing.length;
  missing = [];
  sizes = new Float64Array(0);
  const ticker = opts.onProgress
    ? new ProgressTicker(opts.onProgress, 'upload', files + missingTrees.length + chunked.lists.size, totalBytes)
    : undefined;

  const upload = async (oid: string, part?: { key: string; file: string; counted: boolean }): Promise<boolean> => {
    if (run.stopped) return false;
    try {
      const file = part?.file ?? store.objectPath(oid);
      // An object the cache holds in a local pack goes up from memory (at most PACK_MAX_OBJECT).
      const at = file === store.objectPath(oid) ? store.packedRange?.(oid) : undefined;
      const how = { onBytes: (n: number) => ticker?.tick(0, n), signal: run.controller.signal };
      if (at && store.readObject) await remote.uploadBytes(part?.key ?? run.key(oid), store.readObject(oid), how);
      else await remote.upload(part?.key ?? run.key(oid), file, how);
      if (part && !part.counted) run.succeeded();
      else run.succeeded(oid);
      return true;
    } catch (e) {
      run.fail(oid, e);
      return false;
    } finally {
      ticker?.tick(1);
    }
  };

  // 3. Files upload through a fixed pool of workers (a promise per file would cost a million
  //    closures on a million files); then each tree whose children all made it.
  const failedFiles = new Set<string>();
  const hashBytes = store.hashBytes?.bind(store);
  // Pack buffers, reused from one pack to the next (at most one per concurrent upload kept).
  const pool = new SpareBuffers(run.netJobs);
  const uploadPack = async (start: number, end: number, bytes: number): Promise<void> => {
    const writer = new PackWriter(remote, store.algo, hashBytes!, Number.POSITIVE_INFINITY, undefined, {
      onBytes: (n) => ticker?.tick(0, n),
      signal: run.controller.signal,
    }, bytes, pool);
    const packed: string[] = [];
    try {
      for (let i = start; i < end; i++) {
        if (run.stopped) break;
        const oid = packable[i]!;
        try {
          const at = store.packedRange?.(oid);
          // An object the cache keeps packed is read from its local pack straight into the
          // pending one (the store's reading, which also finds the loose copy a gc wrote first).
          await writer.add(at && store.readObjectInto
            ? { oid, length: at.length, readInto: (into, pos) => store.readObjectInto!(oid, into, pos) }
            : at && store.readObject ? { oid, bytes: store.readObject(oid) } : { oid, file: store.objectPath(oid) });
          packed.push(oid);
        } catch (e) {
          // This object alone: the pack goes on without it.
          failedFiles.add(oid);
          run.fail(oid, errnoCode(e) === 'ENOENT'
            ? new RvcError('OBJECT_MISSING', `object ${oid} is not in the local cache`, { hint: 'fetch it from a remote that has it, or re-add the data it belongs to' })
            : e);
          ticker?.tick(1);
        }
      }
      if (run.stopped) throw interrupted();
      // The pack, then its index: only then are its objects on the remote for readers.
      await writer.flush();
      // A chunk is part of its file, which is the object counted.
      for (const o of packed) {
        if (chunked.chunks.has(o)) run.succeeded();
        else run.succeeded(o);
      }
    } catch (e) {
      writer.discard();
      for (const o of packed) failedFiles.add(o);
      run.failMany(packed, e);
    } finally {
      ticker?.tick(packed.length);
    }
  };
  if (packEnds.length) forgetPacks(remote, store.algo);
  // One pool for packs and loose files alike (packs first: they hold most of the objects), by
  // number: pack g, then loose file i - packEnds.length.
  await eachIndex(packEnds.length + looseUploads.length, run.netJobs, async (i) => {
    if (i < packEnds.length) await uploadPack(i === 0 ? 0 : packEnds[i - 1]!, packEnds[i]!, packBytes[i]!);
    else {
      const file = looseUploads[i - packEnds.length]!;
      if (!(await upload(file, chunked.chunks.has(file) ? { key: run.key(file), file: store.objectPath(file), counted: false } : undefined))) failedFiles.add(file);
    }
  });
  await uploadChunkLists(run, store, chunked.lists, failedFiles, upload);
  const done = new Map<string, Promise<boolean>>();
  const ensureTree = (t: string): Promise<boolean> => {
    let p = done.get(t);
    if (p) return p;
    p = (async () => {
      if (onRemote.has(t)) return true;
      if (unreadable.has(t)) return false;
      const kids = children.get(t) ?? [];
      let bad = 0;
      const subtrees: string[] = [];
      for (const c of kids) {
        if (isTreeOid(c)) subtrees.push(c);
        else if (failedFiles.has(c)) bad++;
      }
      for (const ok of await Promise.all(subtrees.map(ensureTree))) if (!ok) bad++;
      if (bad > 0 || run.stopped) {
        if (!run.stopped) {
          run.fail(
            t,
            new RvcError('REMOTE_TRANSFER_FAILED', `tree ${t} was not uploaded because ${bad} of its ${kids.length} objects failed`, {
              hint: 'fix the failures listed for its objects and push again; only what is missing is sent',
            }),
          );
        }
        ticker?.tick(1);
        return false;
      }
      return run.net(() => upload(t));
    })();
    done.set(t, p);
    return p;
  };
  await Promise.all(rootTrees.map(ensureTree));
  ticker?.finish();
  return run.finish();
}

/**
 * The files to push that the remote lacks (one query; the others count as skipped): those named
 * directly and those the trees to upload list. The Set that joins them is dropped before the
 * query, the list it gives once this returns (each a million entries for a million files).
 */
async function absentFiles(run: Run, store: LocalObjectStore, looseFiles: readonly string[], children: ReadonlyMap<string, readonly string[]>): Promise<string[]> {
  const list = ((): string[] => {
    const files = new Set(looseFiles);
    for (const kids of children.values()) for (const c of kids) if (!isTreeOid(c)) files.add(c);
    return [...files];
  })();
  const present = run.stopped ? new Set<string>() : await run.present(store, list);
  const missing: string[] = [];
  for (const f of list) {
    if (present.has(f)) run.skipped++;
    else missing.push(f);
  }
  return missing;
}

/**
 * The oids of `oids` the local store lacks: one question for the whole list where the store can
 * answer it so (`absentOf`: a shard folder read once instead of two failed stats per absent
 * object, a million files of a manifest or the thousand chunks of a 1 GiB file), else `has` for
 * each, `localJobs` at a time.
 */
async function absentLocally(run: Run, store: LocalObjectStore, oids: readonly string[]): Promise<string[]> {
  if (store.absentOf) return store.absentOf(oids);
  const absent: string[] = [];
  await eachLimit(oids, run.localJobs, async (o) => {
    if (!(await store.has(o))) absent.push(o);
  });
  return absent;
}

/** Runs `fn` over `items` with at most `n` at a time, from a fixed pool of `n` workers. */
function eachLimit<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  return eachIndex(items.length, n, (i) => fn(items[i]!));
}

/** Runs `fn` over 0 … count - 1 with at most `n` at a time, from a fixed pool of `n` workers. */
async function eachIndex(count: number, n: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, count)) }, worker));
}

/** A remote copy that does not hash to its name: pushing again cannot fix it (push trusts it). */
export function corruptOnRemote(remote: Remote, key: string): RvcError {
  return new RvcError('OBJECT_CORRUPT', `'${key}' on remote ${remote.url} does not match its oid; it was not stored`, {
    hint: 'the copy on the remote is damaged and `rvc push` will not replace it: from a clone whose cache has a good copy, run `rvc fsck --cloud --repair` (removes damaged remote copies), then `rvc push`',
    details: { key, url: remote.url },
  });
}

const tmpDirsReady = new WeakMap<LocalObjectStore, Promise<unknown>>();

/** The store's download folder, created once per store (a failure is not remembered). */
async function downloadDir(store: LocalObjectStore): Promise<string> {
  let ready = tmpDirsReady.get(store);
  if (!ready) {
    ready = mkdir(store.tmpDir(), { recursive: true });
    tmpDirsReady.set(store, ready);
    ready.catch(() => tmpDirsReady.delete(store));
  }
  await ready;
  return store.tmpDir();
}

/**
 * Removes a download's temp file if it is still there (most are renamed into the cache by then):
 * one unlink, where `rm(…, { force: true })` first lstats the path on the main thread (about
 * 0.1 ms a call, 0.1 s of a 1 GiB chunked file's fetch).
 */
async function dropTemp(tmp: string): Promise<void> {
  await unlink(tmp).catch(() => undefined);
}

/** A temp file in the store's download folder; its name carries our PID (see downloadInto). */
async function downloadTemp(store: LocalObjectStore, tag: string): Promise<string> {
  return tempPathFor(path.join(await downloadDir(store), tag));
}

/** Moves (import) or checks (check) a downloaded temp file against `oid`; true when it matches. */
function settle(store: LocalObjectStore, tmp: string, oid: string, mode: 'import' | 'check'): Promise<boolean> {
  return mode === 'import' ? store.importVerified(tmp, oid) : store.verifyDownload(tmp, oid);
}

/**
 * The one download path: `oid` streamed from the remote into a temp file beside the cache (its
 * name carries our PID, so a later run can tell a killed download from a live one), then hashed
 * — `import` moves a matching file into the cache, `check` only compares and deletes it. An
 * object in one of the remote's packs is read from there (one ranged request; a manifest asked
 * for while the packs are still being listed is first read loose, as push leaves it); when that pack
 * has vanished (a gc repacked it), the packs are listed again once and the object read from where
 * they now say, loose if in no pack. Returns undefined when the copy matches; a copy that does not
 * is deleted and the OBJECT_CORRUPT error naming the remote copy returned (the caller reports it).
 * Whatever the remote or the check throws is thrown, the temp file removed.
 */
async function downloadInto(store: LocalObjectStore, remote: Remote, oid: string, mode: 'import' | 'check', opts: DownloadOptions): Promise<RvcError | undefined> {
  const tmp = await downloadTemp(store, `fetch-${oid.slice(0, 16)}`);
  try {
    let packs = remotePacks(store, remote);
    // Push leaves manifests loose: while the packs are still being listed, a manifest's loose key
    // is read at once rather than after the listing (a fetch starts with its manifests). Only
    // when that copy is absent or damaged are the packs asked for another.
    const looseKey = objectKey(store.algo, oid);
    let loose: { missing: RvcError } | { bad: RvcError } | undefined;
    if (isTreeOid(oid) && !listedPacks.has(packs)) {
      try {
        await remote.download(looseKey, tmp, opts);
        if (await settle(store, tmp, oid, mode)) return undefined;
        loose = { bad: corruptOnRemote(remote, looseKey) };
      } catch (e) {
        if (!isRvcError(e, 'OBJECT_MISSING')) throw e;
        loose = { missing: e };
      }
    }
    for (let attempt = 0; ; attempt++) {
      const at = (await packs).find(oid);
      if (!at) break;
      const key = packKey(store.algo, at.id);
      let got: number;
      try {
        got = await remote.downloadRange(key, tmp, { offset: at.offset, length: at.length }, opts);
      } catch (e) {
        if (attempt > 0 || !isMissingKey(e)) throw e;
        packs = remotePacks(store, remote, packs);
        continue;
      }
      if (got !== at.length) {
        await dropTemp(tmp);
        return corruptInPack(remote, oid, key, true);
      }
      return (await settle(store, tmp, oid, mode)) ? undefined : corruptInPack(remote, oid, key);
    }
    if (loose && 'bad' in loose) return loose.bad;
    if (loose) throw loose.missing;
    await remote.download(looseKey, tmp, opts);
    return (await settle(store, tmp, oid, mode)) ? undefined : corruptOnRemote(remote, looseKey);
  } finally {
    await dropTemp(tmp);
  }
}

type Outcome = { r: 'ok' } | { r: 'corrupt'; error: RvcError } | { r: 'failed' } | { r: 'absent' };

/**
 * downloadInto for a run: limited by its network pool, stopped with it, failures reported to it
 * ('failed'); 'corrupt' is left to the caller.
 */
function downloadVerified(
  run: Run, store: LocalObjectStore, oid: string, mode: 'import' | 'check', ticker?: ProgressTicker,
  part: { absentOk?: boolean; uncounted?: boolean } = {},
): Promise<Outcome> {
  return run.net(async (): Promise<Outcome> => {
    if (run.stopped) return { r: 'failed' };
    try {
      const bad = await downloadInto(store, run.remote, oid, mode, { onBytes: (n) => ticker?.tick(0, n), signal: run.controller.signal });
      return bad ? { r: 'corrupt', error: bad } : { r: 'ok' };
    } catch (e) {
      if (part.absentOk && isRvcError(e) && e.code === 'OBJECT_MISSING') return { r: 'absent' };
      run.fail(oid, e);
      return { r: 'failed' };
    } finally {
      // A chunk's bytes count towards its file's progress; the file is the item.
      if (!part.uncounted) ticker?.tick(1);
    }
  });
}

/**
 * Reads many objects out of the remote's packs, each pack at most a few requests: the whole pack
 * (one GET into a temp file) when at least WHOLE_PACK_FRACTION of its bytes are wanted, else
 * ranged requests of wanted objects close together (`coalesceReads`). Each object is cut out of
 * the downloaded bytes into a temp file of its own and hashed (`importVerified` or
 * `verifyDownload`), so nothing wrong enters the cache: an object that does not match, or that a
 * truncated pack ends before, is OBJECT_CORRUPT naming the object and the pack. Objects of a pack
 * that vanished are returned for the caller to read again after listing the packs anew.
 */
async function readPacked(
  run: Run, store: LocalObjectStore, packs: PackSet, objects: readonly PackedObject[], mode: 'import' | 'check',
  onDone: (oid: string, o: Outcome) => void, ticker?: Pick<ProgressTicker, 'tick'>,
): Promise<PackedObject[]> {
  const byPack = new Map<string, PackedObject[]>();
  for (const o of objects) {
    let list = byPack.get(o.id);
    if (!list) byPack.set(o.id, (list = []));
    list.push(o);
  }
  const reads: { id: string; whole: boolean; offset: number; length: number; entries: PackedObject[] }[] = [];
  for (const [id, list] of byPack) {
    const size = packs.packs.get(id)?.index.packSize ?? 0;
    const wanted = list.reduce((a, o) => a + o.length, 0);
    if (wanted >= size * WHOLE_PACK_FRACTION) reads.push({ id, whole: true, offset: 0, length: size, entries: list });
    else {
      for (const r of coalesceReads(list, RANGE_MAX_GAP, RANGE_MAX_SPAN)) {
        reads.push({ id, whole: false, offset: r.offset, length: r.length, entries: r.entries as PackedObject[] });
      }
    }
  }
  const vanished: PackedObject[] = [];
  // Buffers of packs read into memory, reused from one pack to the next (at most one per
  // concurrent read): a fresh 8 MiB buffer per pack cost more in page faults than the copy.
  const spare = new SpareBuffers(run.netJobs);
  // Packs in memory at once are bounded by PACK_READ_MEMORY, whatever `jobs` is.
  const memory = new MemoryBudget(PACK_READ_MEMORY);
  await eachLimit(reads, run.netJobs, async (rd) => {
    if (run.stopped) return;
    // A pack read whole to keep goes into memory: its objects are hashed where they lie and the
    // pack written once, instead of streamed to a file in pieces and read back.
    const inMemory = rd.whole && mode === 'import' && !!store.adoptPack && !!store.verifyBytes && rd.length <= PACK_IN_MEMORY_MAX;
    if (inMemory) await memory.run(Math.max(rd.length, PACK_TARGET_SIZE), () => readOne(rd, true));
    else await readOne(rd, false);
  });
  return vanished;

  async function readOne(rd: (typeof reads)[number], inMemory: boolean): Promise<void> {
    if (run.stopped) return;
    const key = packKey(store.algo, rd.id);
    const index = packs.packs.get(rd.id)?.index;
    const tmp = await downloadTemp(store, `pack-${rd.id.slice(0, 16)}`);
    let buffer: Buffer | undefined;
    let check: PackCheck | undefined;
    try {
      let got: number;
      let data: Buffer | undefined;
      try {
        const dl = { onBytes: (n: number) => ticker?.tick(0, n), signal: run.controller.signal };
        if (inMemory) {
          buffer = spare.take(Math.max(rd.length, PACK_TARGET_SIZE));
          const into = buffer;
          if (index) check = new PackCheck(store, index);
          const onFill = check ? (filled: number): void => check!.advance(into, filled) : undefined;
          data = await run.remote.downloadBytes(key, { ...dl, into, ...(onFill ? { onFill } : {}) });
          got = data.length;
        } else if (rd.whole) {
          await run.remote.download(key, tmp, dl);
          got = (await stat(tmp)).size;
        } else got = await run.remote.downloadRange(key, tmp, { offset: rd.offset, length: rd.length }, dl);
      } catch (e) {
        if (isMissingKey(e)) {
          for (const o of rd.entries) vanished.push(o);
          return;
        }
        run.failMany(rd.entries.map((o) => o.oid), e);
        for (const o of rd.entries) {
          onDone(o.oid, { r: 'failed' });
          ticker?.tick(1);
        }
        return;
      }
      if (rd.whole && mode === 'import' && (await keepWholePack(store, rd.id, index, tmp, data, check))) {
        for (const o of rd.entries) {
          onDone(o.oid, { r: 'ok' });
          ticker?.tick(1);
        }
        return;
      }
      const fd = data ? undefined : openSync(tmp, 'r');
      try {
        for (const o of rd.entries) {
          if (run.stopped) return;
          const rel = o.offset - rd.offset;
          let outcome: Outcome;
          try {
            if (rel + o.length > got) outcome = { r: 'corrupt', error: corruptInPack(run.remote, o.oid, key, true) };
            else {
              let bytes: Buffer;
              if (data) bytes = data.subarray(rel, rel + o.length);
              else {
                const buf = Buffer.allocUnsafe(o.length);
                let n = 0;
                while (n < o.length) {
                  const k = readSync(fd!, buf, n, o.length - n, rel + n);
                  if (k === 0) break;
                  n += k;
                }
                bytes = buf.subarray(0, n);
              }
              let good: boolean;
              if (store.importBytes && store.verifyBytes) {
                // Hashed in memory and written once: no temp file to write and read back.
                good = mode === 'import' ? store.importBytes(bytes, o.oid) : store.verifyBytes(bytes, o.oid);
              } else {
                // Synchronous writes: for small objects the thread-pool round trips of async fs
                // calls cost more than the writes themselves.
                const one = await downloadTemp(store, `fetch-${o.oid.slice(0, 16)}`);
                try {
                  writeFileSync(one, bytes);
                  good = await settle(store, one, o.oid, mode);
                } finally {
                  rmSync(one, { force: true });
                }
              }
              outcome = good ? { r: 'ok' } : { r: 'corrupt', error: corruptInPack(run.remote, o.oid, key) };
            }
          } catch (e) {
            run.fail(o.oid, e);
            outcome = { r: 'failed' };
          }
          onDone(o.oid, outcome);
          ticker?.tick(1);
        }
      } finally {
        if (fd !== undefined) closeSync(fd);
      }
    } finally {
      if (buffer) spare.give(buffer);
      await dropTemp(tmp);
    }
  }
}

/**
 * Keeps a pack downloaded whole as a pack in the store (`adoptPack`) when it is exactly the size
 * its index says and every object the index lists (not only the wanted ones) hashes to its oid.
 * The pack is `data` when it was read into memory (then written to `tmp` only once it passed),
 * else the file `tmp`. False, with the bytes left for the object-by-object path, when the store
 * cannot keep packs or anything does not match: that path stores the good objects and reports
 * the bad ones.
 */
async function keepWholePack(
  store: LocalObjectStore, id: string, index: PackColumns | undefined, tmp: string, data: Buffer | undefined, check?: PackCheck,
): Promise<boolean> {
  if (!index || !store.adoptPack || !store.verifyBytes) return false;
  let bytes: Buffer;
  try {
    bytes = data ?? readFileSync(tmp);
  } catch {
    return false;
  }
  if (bytes.length !== index.packSize) return false;
  // A pack in memory is written to its temp file by the thread pool while the objects not yet
  // hashed as it arrived are hashed here; it is kept only once both are done and every object matched.
  const written = data ? writeFile(tmp, data).then(() => true, () => false) : Promise.resolve(true);
  const c = check ?? new PackCheck(store, index);
  c.advance(bytes, bytes.length);
  // Awaited either way: the buffer is not reused, nor the temp file removed, while being written.
  if (!(await written) || !c.sound || !c.done) return false;
  try {
    store.adoptPack(tmp, index, cachedIndexText(store, id));
    return true;
  } catch {
    // Keeping it failed (disk full, permissions): the objects go one by one, which report why.
    return false;
  }
}

/**
 * Hashes the objects a pack's index lists in the order they lie in the pack, as far as its bytes
 * have arrived (`advance`): a pack read into memory is checked while it downloads rather than
 * after. `sound` turns false at the first object that does not hash to its oid (or a manifest
 * rvc refuses; the object-by-object path reports why); an attempt that starts again (filled 0)
 * starts the check again.
 */
class PackCheck {
  /** Entry numbers of the index in the order their bytes lie in the pack. */
  private readonly order: Uint32Array;
  private next = 0;
  sound = true;

  constructor(private readonly store: LocalObjectStore, private readonly index: PackColumns) {
    const order = new Uint32Array(index.n);
    for (let j = 0; j < index.n; j++) order[j] = j;
    this.order = order.sort((a, b) => index.offsets[a]! - index.offsets[b]!);
  }

  get done(): boolean {
    return this.next === this.order.length;
  }

  advance(bytes: Buffer, filled: number): void {
    if (filled === 0) {
      this.next = 0;
      this.sound = true;
      return;
    }
    const { offsets, lengths, digests, tree } = this.index;
    const B = this.index.digestBytes;
    const digest = this.store.digestBytes?.bind(this.store);
    while (this.sound && this.next < this.order.length) {
      const j = this.order[this.next]!;
      const at = offsets[j]!;
      const end = at + lengths[j]!;
      if (end > filled) return;
      try {
        // A file's digest is compared as bytes with the index's column; a manifest must also
        // parse (verifyBytes).
        if (digest && !tree[j]) {
          if (!digests.subarray(j * B, (j + 1) * B).equals(digest(bytes.subarray(at, end)))) this.sound = false;
        } else if (!this.store.verifyBytes!(bytes.subarray(at, end), this.index.oid(j))) this.sound = false;
      } catch {
        this.sound = false;
      }
      this.next++;
    }
  }
}

/**
 * The text of the remote index `id` as the pack listing cached it, when it is still the text
 * that hashes to `id` (the one the listing parsed): the store keeps it as it is instead of
 * formatting the index again. Undefined otherwise.
 */
function cachedIndexText(store: LocalObjectStore, id: string): Buffer | undefined {
  if (!store.packIndexDir || !store.hashBytes) return undefined;
  try {
    const text = readFileSync(path.join(store.packIndexDir(), `${id}.idx`));
    return store.hashBytes(text) === id ? text : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Downloads one object on its own — a manifest without the files it lists — through the same
 * verified path as `fetch` (from a pack when the remote packed it): it enters the store only if
 * it hashes to `oid` (and, for a manifest, parses). Returns true when it was downloaded, false
 * when the store already had it. Throws the remote's error (OBJECT_MISSING when the remote lacks
 * it), OBJECT_CORRUPT (`corruptOnRemote`, or `corruptInPack`) when the remote's copy does not
 * match, and PATH_UNSAFE or TREE_INVALID for a manifest that is the one its name promises but
 * that rvc refuses.
 */
export async function fetchObject(store: LocalObjectStore, remote: Remote, oid: string, opts: DownloadOptions = {}): Promise<boolean> {
  const valid: boolean = isValidOid(oid, store.algo);
  if (!valid) {
    throw new RvcError('OID_INVALID', `'${oid.slice(0, 80)}' is not a valid ${store.algo} oid`);
  }
  if (await store.has(oid)) return false;
  if (opts.signal?.aborted) throw interrupted();
  let bad: RvcError | undefined;
  try {
    bad = await downloadInto(store, remote, oid, 'import', opts);
  } catch (e) {
    if (!(isRvcError(e) && e.code === 'OBJECT_MISSING' && store.importChunkList && !isTreeOid(oid))) throw e;
    // Not there whole: perhaps as chunks (the fetch of one file, with its verification).
    const r = await fetch(store, remote, [oid], { jobs: remote.jobs, ...(opts.signal ? { signal: opts.signal } : {}) });
    const failure = r.failed.find((f) => f.oid === oid) ?? r.failed[0];
    if (failure) throw failure.error.code === 'OBJECT_MISSING' ? e : failure.error;
    return true;
  }
  if (bad) throw bad;
  return true;
}

/**
 * Download the objects in `oids` (files and trees) that the local store lacks. Trees come first
 * since their entries name the files to get; every download is hashed on import, so a damaged
 * or wrong object never enters the cache (it is reported as OBJECT_CORRUPT with its key).
 */
export async function fetch(store: LocalObjectStore, remote: Remote, oids: string[], opts: TransferOptions = {}): Promise<TransferResult> {
  const run = new Run(remote, store.algo, opts);
  try {
    return await fetchWith(run, store, remote, oids, opts);
  } finally {
    run.dispose();
  }
}

async function fetchWith(run: Run, store: LocalObjectStore, remote: Remote, oids: string[], opts: TransferOptions): Promise<TransferResult> {
  const { trees: rootTrees, files: looseFiles } = splitValid(run, oids);
  const sizes = new Map<string, number>();
  let ticker: ProgressTicker | undefined;

  const settled = (oid: string, o: Outcome): void => {
    if (o.r === 'corrupt') run.fail(oid, o.error);
    else if (o.r === 'ok') run.succeeded(oid);
  };
  const download = async (oid: string, chunksOnly = false): Promise<boolean> => {
    // A file the remote lacks whole may be there as chunks (isTreeOid: manifests never are).
    const chunks = store.importChunkList !== undefined && !isTreeOid(oid);
    const o: Outcome = chunksOnly ? { r: 'absent' } : await downloadVerified(run, store, oid, 'import', ticker, { absentOk: chunks });
    if (o.r === 'absent') {
      const got = await fetchChunked(run, store, oid, ticker);
      if (chunksOnly) ticker?.tick(1);
      return got;
    }
    settled(oid, o);
    return o.r === 'ok';
  };

  const hasLocally = (oid: string): Promise<boolean> => run.local(() => store.has(oid));

  // 1. Trees, level by level: a tree already in the cache still has its entries checked, since an
  //    earlier fetch may have stopped half-way through its files.
  ticker = opts.onProgress ? new ProgressTicker(opts.onProgress, 'download') : undefined;
  const files = new Set(looseFiles);
  const seenTrees = new Set(rootTrees);
  let level = rootTrees;
  while (level.length > 0 && !run.stopped) {
    const next: string[] = [];
    await Promise.all(
      level.map(async (t) => {
        let ok: boolean;
        if (await hasLocally(t)) {
          run.skipped++;
          ok = true;
        } else {
          ok = await download(t);
        }
        if (!ok) return;
        try {
          const entries = await run.local(() => store.readTreeEntries(t));
          for (const e of entries) {
            if (isTreeOid(e.oid)) {
              if (!seenTrees.has(e.oid)) {
                seenTrees.add(e.oid);
                next.push(e.oid);
              }
            } else {
              files.add(e.oid);
              if (opts.onProgress) sizes.set(e.oid, e.size); // only a progress total needs them
            }
          }
        } catch (e) {
          run.fail(t, e, 'TREE_INVALID');
        }
      }),
    );
    level = next;
  }

  // 2. Files missing locally (a fixed pool of workers: a promise per file would cost a million
  //    closures on a million files).
  const missing: string[] = [];
  {
    const list = [...files];
    // Only `missing` is needed from here on: the set's table goes (a million files).
    files.clear();
    seenTrees.clear();
    for (const f of await absentLocally(run, store, list)) missing.push(f);
    run.skipped += list.length - missing.length;
  }
  if (opts.onProgress) {
    // One count for the whole phase: the files continue where the trees left off, so a bar
    // never runs backwards between the two steps.
    const trees = ticker!;
    const known = missing.every((f) => sizes.has(f));
    const totalBytes = known ? trees.bytes + missing.reduce((a, f) => a + (sizes.get(f) ?? 0), 0) : undefined;
    ticker = new ProgressTicker(opts.onProgress, 'download', trees.done + missing.length, totalBytes);
    ticker.done = trees.done;
    ticker.bytes = trees.bytes;
  }
  // 3. Packed objects, grouped by pack (whole packs or coalesced ranges). Those whose pack
  //    vanished meanwhile are looked up again in a new listing of the packs, once; those no pack
  //    holds any more are fetched loose below.
  if (missing.length && !run.stopped) {
    let packsP = remotePacks(store, remote);
    const loose: string[] = [];
    for (let round = 0; round < 2 && missing.length && !run.stopped; round++) {
      const packs = await packsP;
      const packed: PackedObject[] = [];
      for (const f of missing) {
        const at = packs.find(f);
        if (at) packed.push(at);
        else loose.push(f);
      }
      missing.length = 0;
      if (!packed.length) break;
      const vanished = await readPacked(run, store, packs, packed, 'import', settled, ticker);
      if (!vanished.length) break;
      if (round === 0) {
        packsP = remotePacks(store, remote, packsP);
        for (const o of vanished) missing.push(o.oid);
      } else {
        for (const o of vanished) {
          run.fail(o.oid, new RvcError('OBJECT_MISSING', `pack '${packKey(store.algo, o.id)}' holding ${o.oid} is not on remote ${remote.url}`, {
            hint: 'push it from a clone that has it, or check that this is the right remote',
          }));
          ticker?.tick(1);
        }
      }
    }
    for (const f of loose) missing.push(f);
  }

  // 4. Loose downloads. Once MISSES_BEFORE_QUERY of them found nothing, the remote is asked in one
  //    query which of the rest it has, and those it lacks are reported without a request each.
  //    A failed query only means each object is tried after all.
  let present: Promise<Set<string> | undefined> | undefined;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < missing.length && !run.stopped) {
      const i = next++;
      const f = missing[i]!;
      if (!present && run.misses >= MISSES_BEFORE_QUERY) present = run.query(missing.slice(i).flatMap((o) => [run.key(o), run.key(o) + CHUNKS_SUFFIX])).catch(() => undefined);
      const known = present ? await present : undefined;
      if (known && !known.has(run.key(f))) {
        if (known.has(run.key(f) + CHUNKS_SUFFIX) && store.importChunkList) {
          await download(f, true);
          continue;
        }
        run.absent(f);
        ticker?.tick(1);
        continue;
      }
      await download(f);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(run.netJobs, missing.length)) }, worker));
  ticker?.finish();
  return run.finish();
}

export interface VerifyOptions extends TransferOptions {
  /** Delete corrupt objects, and manifests listing an object the remote lacks or holds damaged. */
  repair?: boolean;
}

/**
 * `failed` (bounded, see FailureSummary) holds objects that could not be checked (transfer
 * errors); objects absent from the remote are only counted in `missing`.
 */
export interface VerifyResult extends FailureSummary<TransferFailure> {
  /** Remote copies downloaded and found to match their oid. */
  checked: number;
  /** Objects whose remote copy does not match its oid (trees included). */
  corrupt: string[];
  /**
   * Trees on the remote, themselves intact, that list an object the remote lacks or holds damaged
   * (directly or below): push trusts a tree it finds there and would never complete it.
   */
  incomplete: string[];
  /** Objects in scope that the remote does not have (`push` uploads them; not damage). */
  missing: number;
  /** With repair: the keys deleted from the remote, trees first. */
  removed: string[];
  /**
   * Ids of the packs holding a corrupt copy (altered, or cut short). Repair leaves them to the
   * caller (replacing a pack means writing its other objects anew: repo/pack-repair.ts).
   */
  damagedPacks: string[];
}

/**
 * Downloads every object of `oids` (trees expanded) that the remote has, through the same
 * verified download path as fetch, and re-hashes it. The local cache is not needed and is not
 * filled, except with manifests (verified, to read their entries); a corrupt manifest's entries
 * are read from the local copy when there is one. With `repair`, manifests first, then the
 * objects are deleted — the remote then simply lacks them, which `push` repairs from a cache
 * holding good copies. A corrupt copy inside a pack is not deleted here: its pack is named in
 * `damagedPacks` for the caller to replace.
 */
export async function verify(store: LocalObjectStore, remote: Remote, oids: string[], opts: VerifyOptions = {}): Promise<VerifyResult> {
  const run = new Run(remote, store.algo, opts);
  try {
    return await verifyWith(run, store, remote, oids, opts);
  } finally {
    run.dispose();
  }
}

async function verifyWith(run: Run, store: LocalObjectStore, remote: Remote, oids: string[], opts: VerifyOptions): Promise<VerifyResult> {
  const { trees: rootTrees, files: looseFiles } = splitValid(run, oids);
  const ticker = opts.onProgress ? new ProgressTicker(opts.onProgress, 'verify') : undefined;
  let checked = 0;
  let missing = 0;
  const corrupt = new Set<string>();
  /** Corrupt copies inside a pack: deleting their loose key would repair nothing. */
  const corruptPacked = new Map<string, RvcError>();
  const damagedPacks = new Set<string>();
  const unchecked = new Set<string>(); // trees whose download failed: neither good nor bad
  const treesThere = new Set<string>();
  const children = new Map<string, string[]>();
  const note = (oid: string, o: Outcome): void => {
    if (o.r === 'ok') {
      checked++;
      run.succeeded();
    } else if (o.r === 'corrupt') {
      corrupt.add(oid);
      const key = (o.error.details as { key?: unknown } | undefined)?.key;
      const inPack = typeof key === 'string' ? parsePackKey(store.algo, key) : undefined;
      if (inPack) {
        corruptPacked.set(oid, o.error);
        damagedPacks.add(inPack.id);
      }
    }
    else unchecked.add(oid);
  };

  // 1. Trees, level by level: which exist, then each downloaded and re-hashed.
  const seen = new Set(rootTrees);
  let level = rootTrees;
  while (level.length > 0 && !run.stopped) {
    const present = await run.present(store, level);
    const next: string[] = [];
    await Promise.all(level.map(async (t) => {
      if (!present.has(t)) {
        missing++;
        return;
      }
      treesThere.add(t);
      const local = await run.local(() => store.has(t));
      note(t, await downloadVerified(run, store, t, local ? 'check' : 'import', ticker));
      if (!(await run.local(() => store.has(t)))) return; // corrupt or failed, and no local copy
      try {
        const entries = await run.local(() => store.readTreeEntries(t));
        children.set(t, entries.map((e) => e.oid));
        for (const e of entries) {
          if (isTreeOid(e.oid) && !seen.has(e.oid)) {
            seen.add(e.oid);
            next.push(e.oid);
          }
        }
      } catch (e) {
        run.fail(t, e, 'TREE_INVALID');
      }
    }));
    level = next;
  }

  // 2. Files: one query, then each present one downloaded and re-hashed (nothing kept).
  const files = new Set(looseFiles);
  for (const list of children.values()) for (const c of list) if (!isTreeOid(c)) files.add(c);
  const list = [...files];
  const filesThere = run.stopped ? new Set<string>() : await run.present(store, list);
  const chunked = await verifyChunked(run, store, list.filter((f) => !filesThere.has(f)), note, ticker);
  for (const c of chunked.corrupt) corrupt.add(c);
  // Packed ones pack by pack (few requests); the others one download each.
  const packs = run.stopped ? PackSet.empty(store.algo) : await remotePacks(store, remote);
  const packed: PackedObject[] = [];
  const loose: string[] = [];
  for (const f of list) {
    if (!filesThere.has(f)) {
      if (!chunked.listed.has(f)) missing++;
    } else {
      const at = packs.find(f);
      if (at) packed.push(at);
      else loose.push(f);
    }
  }
  const vanished = packed.length ? await readPacked(run, store, packs, packed, 'check', note, ticker) : [];
  for (const o of vanished) loose.push(o.oid); // read again alone, through the packs listed anew
  await eachLimit(loose, run.netJobs, async (f) => {
    if (run.stopped) return;
    note(f, await downloadVerified(run, store, f, 'check', ticker));
  });

  // 3. Trees that list something missing or damaged, directly or below.
  const incomplete = new Set<string>();
  const bad = new Map<string, boolean>();
  const isBad = (oid: string): boolean => {
    if (corrupt.has(oid)) return true;
    if (!isTreeOid(oid)) return !filesThere.has(oid) && !chunked.good.has(oid);
    if (!treesThere.has(oid)) return true;
    let b = bad.get(oid);
    if (b !== undefined) return b;
    bad.set(oid, false); // manifests cannot nest themselves; this only guards a forged one
    b = (children.get(oid) ?? []).some((c) => isBad(c) && !unchecked.has(c));
    bad.set(oid, b);
    if (b) incomplete.add(oid);
    return b;
  };
  if (!run.stopped) for (const t of treesThere) if (!corrupt.has(t)) isBad(t);
  for (const l of chunked.incomplete) incomplete.add(l);

  // 4. Repair: manifests first, so an interruption never leaves a manifest without its files.
  const removed: string[] = [];
  if (opts.repair && !run.stopped) {
    const drop = async (oids: string[]): Promise<void> => {
      await eachLimit(oids, run.netJobs, async (oid) => {
        try {
          await remote.delete(run.key(oid));
          removed.push(run.key(oid));
        } catch (e) {
          run.fail(oid, e);
        }
      });
    };
    const all = [...corrupt, ...incomplete].filter((o) => !corruptPacked.has(o));
    // Chunk lists go with the manifests, before any chunk.
    const first = (o: string): boolean => isTreeOid(o) || o.endsWith(CHUNKS_SUFFIX);
    await drop(all.filter(first));
    await drop(all.filter((o) => !first(o)));
    // A damaged pack is replaced by the caller (`damagedPacks`), after the manifests went.
  }
  ticker?.finish();
  const { failed, failedCount, failedByCode } = run.finish();
  return { failed, failedCount, failedByCode, checked, corrupt: [...corrupt], incomplete: [...incomplete], missing, removed, damagedPacks: [...damagedPacks].sort() };
}

/**
 * Push of files the cache holds as chunks: the remote has such a file when it has it whole or
 * has its chunk list, and a list is uploaded only after every chunk it names is there (the same
 * invariant as a manifest's), so finding the list ends the search. Of the others, the chunks the
 * remote lacks join `missing` in place of the file (uploaded like files, but not counted as
 * transferred objects); their lists are returned to be uploaded after them. `mayBeChunked(i)`
 * says whether missing[i] may be one.
 */
async function expandChunkedPush(
  run: Run, store: LocalObjectStore, missing: string[], mayBeChunked: (i: number) => boolean = () => true,
): Promise<{ chunks: Set<string>; lists: Map<string, ChunkEntry[]> }> {
  const lists = new Map<string, ChunkEntry[]>();
  const chunks = new Set<string>();
  if (!store.chunksOf || run.stopped) return { chunks, lists };
  for (let i = 0; i < missing.length; i++) {
    const f = missing[i]!;
    if (!mayBeChunked(i)) continue;
    let c: ChunkEntry[] | undefined;
    try {
      c = store.chunksOf(f);
    } catch (e) {
      run.fail(f, e);
      lists.set(f, []);
      continue;
    }
    if (c) lists.set(f, c);
  }
  if (lists.size === 0) return { chunks, lists };
  const files = [...lists.keys()];
  const listed = await run.query(files.map((f) => run.key(f) + CHUNKS_SUFFIX));
  for (const f of files) {
    if (listed.has(run.key(f) + CHUNKS_SUFFIX)) {
      run.skipped++;
      lists.delete(f);
    }
  }
  const wanted = new Set<string>();
  for (const c of lists.values()) for (const e of c) wanted.add(e.oid);
  const list = [...wanted];
  // Chunks may be loose or packed (lists never are).
  const there = await run.present(store, list);
  const rest = missing.filter((f) => !lists.has(f) && !listed.has(run.key(f) + CHUNKS_SUFFIX));
  for (const o of list) if (!there.has(o)) chunks.add(o);
  missing.length = 0;
  missing.push(...rest, ...chunks);
  return { chunks, lists };
}

/** Uploads each chunk list whose chunks all made it; a file with a failed chunk joins `failedFiles`. */
async function uploadChunkLists(
  run: Run,
  store: LocalObjectStore,
  lists: Map<string, ChunkEntry[]>,
  failedFiles: Set<string>,
  upload: (oid: string, part?: { key: string; file: string; counted: boolean }) => Promise<boolean>,
): Promise<void> {
  await eachLimit([...lists], run.netJobs, async ([f, chunks]) => {
    const bad = chunks.length === 0 ? 1 : chunks.filter((c) => failedFiles.has(c.oid)).length;
    if (bad > 0 || run.stopped) {
      failedFiles.add(f);
      if (!run.stopped && chunks.length > 0) {
        run.fail(f, new RvcError('REMOTE_TRANSFER_FAILED', `file ${f} was not uploaded because ${bad} of its ${chunks.length} chunks failed`, {
          hint: 'fix the failures listed for its chunks and push again; only what is missing is sent',
        }));
      }
      return;
    }
    if (!(await upload(f, { key: run.key(f) + CHUNKS_SUFFIX, file: store.chunkListPath!(f), counted: true }))) failedFiles.add(f);
  });
}

/**
 * Fetch of a file the remote holds as chunks: its chunk list into a temp file, then each chunk
 * the cache lacks, verified by its own hash as it enters the cache (a damaged one is refused and
 * named); the list enters the cache only once its chunks hash together to the file's oid.
 */
async function fetchChunked(run: Run, store: LocalObjectStore, oid: string, ticker?: ProgressTicker): Promise<boolean> {
  const remote = run.remote;
  const key = chunkListKey(store.algo, oid);
  const tmp = tempPathFor(path.join(store.tmpDir(), `fetch-${oid.slice(0, 16)}`));
  try {
    await mkdir(store.tmpDir(), { recursive: true });
    const got = await run.net(async () => {
      if (run.stopped) return false;
      try {
        await remote.download(key, tmp, { signal: run.controller.signal });
        return true;
      } catch (e) {
        if (isRvcError(e) && e.code === 'OBJECT_MISSING') {
          run.fail(oid, new RvcError('OBJECT_MISSING', `'${run.key(oid)}' is not on remote ${remote.url}, whole or as chunks`, {
            hint: 'push it from a clone that has it, or check that this is the right remote', details: { url: remote.url, key: run.key(oid) },
          }));
        } else run.fail(oid, e);
        return false;
      }
    });
    if (!got) return false;
    let chunks: ChunkEntry[];
    try {
      chunks = store.parseChunkListFile!(tmp);
    } catch (e) {
      if (!(isRvcError(e) && e.code === 'OBJECT_CORRUPT')) throw e;
      run.fail(oid, corruptOnRemote(remote, key));
      return false;
    }
    const lacking = await absentLocally(run, store, [...new Set(chunks.map((c) => c.oid))]);
    let bad = 0;
    const chunkDone = (c: string, r: Outcome): void => {
      if (r.r === 'ok') run.succeeded();
      else {
        bad++;
        if (r.r === 'corrupt') run.fail(c, r.error);
      }
    };
    // Packed chunks are read together, by pack: a pack most of whose bytes this file needs comes
    // whole (and is kept whole in the cache), the others as coalesced ranges; one ranged request
    // per chunk made a 1 GiB file a thousand requests and a thousand cache files. A chunk is part
    // of its file: only its bytes count in the progress, not an object.
    let loose = lacking;
    if (lacking.length > 1 && store.hashBytes) {
      const packs = await remotePacks(store, remote);
      const packed: PackedObject[] = [];
      loose = [];
      for (const c of lacking) {
        const at = packs.find(c);
        if (at) packed.push(at);
        else loose.push(c);
      }
      if (packed.length) {
        const bytesOnly = ticker ? { tick: (_n: number, bytes = 0) => ticker.tick(0, bytes) } : undefined;
        const vanished = await readPacked(run, store, packs, packed, 'import', chunkDone, bytesOnly);
        for (const v of vanished) loose.push(v.oid); // looked up again one by one below
      }
    }
    await Promise.all(loose.map(async (c) => chunkDone(c, await downloadVerified(run, store, c, 'import', ticker, { uncounted: true }))));
    if (bad > 0) {
      if (!run.stopped) {
        run.fail(oid, new RvcError('REMOTE_TRANSFER_FAILED', `file ${oid} was not fetched because ${bad} of its ${chunks.length} chunks failed`, {
          hint: 'the failures of its chunks are listed; fetch again once the remote is repaired',
        }));
      }
      return false;
    }
    const verdict = await run.local(() => store.importChunkList!(tmp, oid));
    if (verdict === 'ok') {
      run.succeeded(oid);
      return true;
    }
    run.fail(oid, verdict === 'corrupt'
      ? corruptOnRemote(remote, key)
      : new RvcError('OBJECT_MISSING', `chunks of ${oid} left the cache while it was fetched`, { hint: 'fetch again' }));
    return false;
  } catch (e) {
    run.fail(oid, e);
    return false;
  } finally {
    await dropTemp(tmp);
  }
}

/**
 * fsck --cloud of files the remote holds as chunks (`notWhole`: those it lacks whole). Each chunk
 * list there is downloaded and parsed, and each chunk it names checked like a file. `listed`: the
 * files that have a list there; `good`: those whose list parses and whose chunks are all there
 * and sound. A list that does not parse is corrupt, one naming a chunk the remote lacks or holds
 * damaged incomplete; both are reported as `<oid>.chunks` (their key is the object key of that
 * name), so repair removes them and push sends them again. A list whose chunks are all sound is
 * then checked to make up its file (`chunksMakeFile`): one naming another existing chunk is
 * corrupt too.
 */
async function verifyChunked(
  run: Run,
  store: LocalObjectStore,
  notWhole: string[],
  note: (oid: string, r: Outcome) => void,
  ticker?: ProgressTicker,
): Promise<{ listed: Set<string>; good: Set<string>; corrupt: string[]; incomplete: string[] }> {
  const out = { listed: new Set<string>(), good: new Set<string>(), corrupt: [] as string[], incomplete: [] as string[] };
  if (!store.parseChunkListFile || notWhole.length === 0 || run.stopped) return out;
  const there = await run.query(notWhole.map((f) => run.key(f) + CHUNKS_SUFFIX));
  const lists = new Map<string, ChunkEntry[]>();
  await eachLimit(notWhole.filter((f) => there.has(run.key(f) + CHUNKS_SUFFIX)), run.netJobs, async (f) => {
    out.listed.add(f);
    const tmp = tempPathFor(path.join(store.tmpDir(), `check-${f.slice(0, 16)}`));
    try {
      await mkdir(store.tmpDir(), { recursive: true });
      await run.net(() => run.remote.download(run.key(f) + CHUNKS_SUFFIX, tmp, { signal: run.controller.signal }));
      lists.set(f, store.parseChunkListFile!(tmp));
    } catch (e) {
      if (isRvcError(e) && e.code === 'OBJECT_CORRUPT') out.corrupt.push(f + CHUNKS_SUFFIX);
      else run.fail(f, e);
    } finally {
      await dropTemp(tmp);
    }
  });
  const chunks = [...new Set([...lists.values()].flatMap((l) => l.map((c) => c.oid)))];
  const chunksThere = run.stopped ? new Set<string>() : await run.present(store, chunks);
  const bad = new Set<string>();
  await eachLimit(chunks, run.netJobs, async (c) => {
    if (run.stopped) return;
    if (!chunksThere.has(c)) {
      bad.add(c);
      return;
    }
    const r = await downloadVerified(run, store, c, 'check', ticker, { uncounted: true });
    note(c, r);
    if (r.r === 'corrupt') {
      out.corrupt.push(c);
      bad.add(c);
    }
  });
  const sound = [...lists].filter(([, l]) => !l.some((c) => bad.has(c.oid)));
  for (const [f, l] of lists) if (l.some((c) => bad.has(c.oid))) out.incomplete.push(f + CHUNKS_SUFFIX);
  await eachLimit(sound, run.netJobs, async ([f, l]) => {
    const verdict = await chunksMakeFile(run, store, f, l);
    if (verdict === 'ok') out.good.add(f);
    else if (verdict === 'corrupt') out.corrupt.push(f + CHUNKS_SUFFIX);
    else note(f, { r: 'failed' }); // not checked: a manifest listing it is not judged by it
  });
  return out;
}

/**
 * Whether `chunks`, as the remote holds them, hash together (in list order) to the file `oid`;
 * 'failed' when a chunk could not be read (reported to the run). A chunk the cache holds intact
 * is read there (the same oid, so the same bytes as the remote's sound copy); the others are
 * downloaded again, one at a time, so memory holds one chunk. A store without `hasher` is taken
 * at its word ('ok').
 */
function tryRead(read: () => Buffer): Buffer | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

async function chunksMakeFile(run: Run, store: LocalObjectStore, oid: string, chunks: readonly ChunkEntry[]): Promise<'ok' | 'corrupt' | 'failed'> {
  if (!store.hasher || !store.hashBytes) return 'ok';
  const h = store.hasher();
  const matches = (b: Buffer, c: string): boolean => store.hashBytes!(b) === c;
  for (const c of chunks) {
    if (run.stopped) return 'failed';
    let b: Buffer | undefined;
    if (await run.local(() => store.has(c.oid))) {
      // Loose or in a pack the cache keeps.
      b = store.readObject ? tryRead(() => store.readObject!(c.oid)) : await readFile(store.objectPath(c.oid)).catch(() => undefined);
    }
    if (!b || !matches(b, c.oid)) {
      const tmp = await downloadTemp(store, `concat-${c.oid.slice(0, 16)}`);
      try {
        const at = (await remotePacks(store, run.remote)).find(c.oid);
        const opts = { signal: run.controller.signal };
        await run.net(async () => {
          if (at) await run.remote.downloadRange(packKey(store.algo, at.id), tmp, { offset: at.offset, length: at.length }, opts);
          else await run.remote.download(objectKey(store.algo, c.oid), tmp, opts);
        });
        b = await readFile(tmp);
      } catch (e) {
        run.fail(oid, e);
        return 'failed';
      } finally {
        await dropTemp(tmp);
      }
      // Found sound a moment ago: a copy that changed since is damage, named as such.
      if (!matches(b, c.oid)) {
        run.fail(oid, corruptOnRemote(run.remote, objectKey(store.algo, c.oid)));
        return 'failed';
      }
    }
    h.update(b);
  }
  return h.digest() === oid ? 'ok' : 'corrupt';
}
