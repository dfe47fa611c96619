import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pLimit from 'p-limit';
import { emptyFailures, isRvcError, mergeFailures, type FailureSummary } from '../errors.js';
import { HASH_ALGOS, objectKey, type HashAlgo } from '../model/oid.js';
import type { LockFileEntry } from '../model/lock.js';
import { allOutputs } from '../model/pipeline.js';
import { push as pushObjects, fetch as fetchObjects, type Remote, type TransferResult } from '../remote/index.js';
import { checkoutOut } from '../odb/checkout.js';
import { openRepoRemote } from '../repo/remotes.js';
import { Repo, type CommonOptions } from '../repo/repo.js';
import { toSyncFailure, type SyncFailure } from '../repo/sync.js';
import { noteLinkUse } from '../repo/links.js';
import { notePlaced, removeUnrecorded, type PlacedOut } from '../repo/placed.js';
import { loadProjectIfAny, readLock } from '../repo/project.js';
import { RUNS_DIR, listRunEntries, parseRunEntry, runEntryPath, runObjectKey, writeRunEntryFile } from './run-cache.js';
import { Workspace } from './workspace.js';

export interface PipelineSyncOptions extends CommonOptions {
  remote?: string;
  jobs?: number;
  /** Also transfer run-cache entries and the outputs they record. */
  runCache?: boolean;
}

/** `failed` is a bounded sample; `failedCount` and `failedByCode` count every failure. */
export interface PipelineSyncResult extends FailureSummary<SyncFailure> {
  remote: string;
  /** Objects of rvc.lock outputs (and run-cache outputs) moved / already there / failed. */
  transferred: number;
  skipped: number;
  /** Run-cache entries moved and already there (with runCache). */
  runs: { transferred: number; skipped: number; invalid: number };
}

/** Objects to transfer, by algorithm, with the paths that use them (for messages). */
class Wanted {
  readonly oids = new Map<HashAlgo, Set<string>>();
  readonly paths = new Map<string, string[]>();
  add(e: Pick<LockFileEntry, 'hash' | 'oid' | 'path'>): void {
    let s = this.oids.get(e.hash);
    if (!s) this.oids.set(e.hash, (s = new Set()));
    s.add(e.oid);
    const l = this.paths.get(e.oid) ?? [];
    if (l.length < 3 && !l.includes(e.path)) l.push(e.path);
    this.paths.set(e.oid, l);
  }
}

/** Nothing to transfer: no remote is opened (a repository without a pipeline pays nothing). */
function emptyResult(repo: Repo, opts: PipelineSyncOptions, invalid: number): PipelineSyncResult {
  return { remote: opts.remote ?? repo.config.core.remote ?? '', transferred: 0, skipped: 0, ...emptyFailures<SyncFailure>(), runs: { transferred: 0, skipped: 0, invalid } };
}

/** Cached outputs recorded in rvc.lock (cache: false outputs are not in the cache). */
function lockOuts(repo: Repo): LockFileEntry[] {
  const project = loadProjectIfAny(repo);
  const lock = project ? project.lock : readLock(repo).lock;
  const uncached = new Set<string>();
  for (const s of project?.pipeline.stages ?? []) for (const o of allOutputs(s)) if (!o.cache) uncached.add(o.repoPath);
  return Object.values(lock.stages).flatMap((s) => s.outs).filter((o) => !uncached.has(o.path));
}

async function transfer(
  repo: Repo, remote: Remote, w: Wanted, dir: 'push' | 'fetch', opts: PipelineSyncOptions, into: PipelineSyncResult,
): Promise<void> {
  for (const [algo, set] of w.oids) {
    const odb = repo.odbFor(algo);
    const topts = { ...(opts.jobs !== undefined ? { jobs: opts.jobs } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) };
    // Push only what the cache has: an output that was never produced here is not an error.
    const oids = dir === 'push' ? [...set].filter((o) => odb.hasSync(o)) : [...set];
    const r: TransferResult = dir === 'push' ? await pushObjects(odb, remote, oids, topts) : await fetchObjects(odb, remote, oids, topts);
    into.transferred += r.transferred.length;
    into.skipped += r.skipped;
    mergeFailures(into, { ...r, failed: r.failed.map((f) => toSyncFailure(f, w.paths.get(f.oid) ?? [])) }, (f) => f.code);
  }
}

/**
 * Uploads the cached outputs rvc.lock records and, with runCache, every run-cache entry with
 * the outputs it records. Entries go after their objects, so an entry on a remote implies its
 * outputs are there.
 */
export async function pushPipeline(opts: PipelineSyncOptions = {}): Promise<PipelineSyncResult> {
  const repo = Repo.open(opts.cwd);
  const w = new Wanted();
  for (const o of lockOuts(repo)) w.add(o);
  const entries = opts.runCache ? listRunEntries(repo) : [];
  const valid: typeof entries = [];
  let invalid = 0;
  for (const e of entries) {
    try {
      const st = parseRunEntry(fs.readFileSync(e.file, 'utf8'), e.algo, e.key, path.relative(repo.root, e.file));
      const complete = st.outs.every((o) => repo.odbFor(o.hash).hasSync(o.oid));
      if (!complete) continue;
      for (const o of st.outs) w.add(o);
      valid.push(e);
    } catch {
      invalid++;
    }
  }
  if (w.oids.size === 0 && valid.length === 0) return emptyResult(repo, opts, invalid);
  const { name, remote } = await openRepoRemote(repo, opts.remote, opts.jobs !== undefined ? { jobs: opts.jobs } : {});
  const res: PipelineSyncResult = { remote: name, transferred: 0, skipped: 0, ...emptyFailures<SyncFailure>(), runs: { transferred: 0, skipped: 0, invalid } };
  try {
    await transfer(repo, remote, w, 'push', opts, res);
    if (valid.length) {
      const keys = valid.map((e) => runObjectKey(e.algo, e.key));
      const there = await remote.existing(keys);
      // An entry goes up only when the remote has every output it records (failures are only
      // sampled, so the remote is asked rather than the list of failures).
      const outKeys = new Set<string>();
      for (const e of valid) {
        const st = parseRunEntry(fs.readFileSync(e.file, 'utf8'), e.algo, e.key, e.file);
        for (const o of st.outs) outKeys.add(objectKey(o.hash, o.oid));
      }
      const outsThere = res.failedCount ? await remote.existing([...outKeys]) : outKeys;
      const limit = pLimit(opts.jobs ?? remote.jobs);
      await Promise.all(valid.map((e, i) => limit(async () => {
        const key = keys[i]!;
        if (there.has(key)) {
          res.runs.skipped++;
          return;
        }
        const st = parseRunEntry(fs.readFileSync(e.file, 'utf8'), e.algo, e.key, e.file);
        if (st.outs.some((o) => !outsThere.has(objectKey(o.hash, o.oid)))) return;
        await remote.upload(key, e.file);
        res.runs.transferred++;
      })));
    }
  } finally {
    await remote.close();
  }
  return res;
}

/**
 * Downloads the cached outputs rvc.lock records that the cache lacks and, with runCache, the
 * remote's run-cache entries with their outputs. Every entry is verified against its name.
 */
export async function fetchPipeline(opts: PipelineSyncOptions = {}): Promise<PipelineSyncResult> {
  const repo = Repo.open(opts.cwd);
  const w = new Wanted();
  for (const o of lockOuts(repo)) w.add(o);
  if (w.oids.size === 0 && !opts.runCache) return emptyResult(repo, opts, 0);
  const { name, remote } = await openRepoRemote(repo, opts.remote, opts.jobs !== undefined ? { jobs: opts.jobs } : {});
  const res: PipelineSyncResult = { remote: name, transferred: 0, skipped: 0, ...emptyFailures<SyncFailure>(), runs: { transferred: 0, skipped: 0, invalid: 0 } };
  try {
    if (opts.runCache) {
      const limit = pLimit(opts.jobs ?? remote.jobs);
      const jobs: Promise<void>[] = [];
      for await (const key of remote.list(`${RUNS_DIR}/`)) {
        const m = /^runs\/([a-z0-9]+)\/([0-9a-f]{2})\/([0-9a-f]{62})$/.exec(key);
        const algo = m?.[1] as HashAlgo | undefined;
        if (!m || !algo || !HASH_ALGOS.includes(algo)) continue;
        const digest = m[2]! + m[3]!;
        const dest = runEntryPath(repo, algo, digest);
        if (fs.existsSync(dest)) {
          res.runs.skipped++;
          continue;
        }
        jobs.push(limit(async () => {
          const tmp = path.join(repo.odb.tmpDir(), `run-${randomBytes(6).toString('hex')}`);
          try {
            await remote.download(key, tmp);
            const text = fs.readFileSync(tmp, 'utf8');
            const st = parseRunEntry(text, algo, digest, key);
            for (const o of st.outs) w.add(o);
            writeRunEntryFile(repo, dest, text);
            res.runs.transferred++;
          } catch (e) {
            if (!isRvcError(e)) throw e;
            res.runs.invalid++;
          } finally {
            fs.rmSync(tmp, { force: true });
          }
        }));
      }
      await Promise.all(jobs);
    }
    await transfer(repo, remote, w, 'fetch', opts, res);
  } finally {
    await remote.close();
  }
  return res;
}

export interface PipelineCheckoutResult {
  /** Outputs put back in the workspace. */
  restored: string[];
  /** Outputs that could not be (content not in the cache, or unsaved changes in the way). */
  failed: { path: string; code: string; message: string }[];
  /** Outputs rvc had placed that nothing records any more, deleted (see removeUnrecorded). */
  removed: string[];
  /** Such outputs kept because they hold changes that are not in the cache (warned). */
  kept: string[];
}

export interface PipelineCheckoutOptions extends CommonOptions {
  force?: boolean;
  /** Leave outputs nothing records alone: the caller's `checkout()` without targets handled them. */
  skipUnrecorded?: boolean;
}

/**
 * Makes the cached outputs rvc.lock records match the workspace — after a clone and a fetch, or
 * after `git checkout <commit>` brought an older rvc.lock. Files that already match are left
 * alone; an output with unsaved changes (content not in the cache) is reported, not overwritten,
 * unless `force`.
 */
export async function checkoutPipeline(opts: PipelineCheckoutOptions = {}): Promise<PipelineCheckoutResult> {
  const repo = Repo.open(opts.cwd);
  return repo.withLock('rvc checkout (pipeline outputs)', opts, () => {
    const ws = new Workspace(repo);
    const res: PipelineCheckoutResult = { restored: [], failed: [], removed: [], kept: [] };
    const placed: PlacedOut[] = [];
    for (const o of lockOuts(repo)) {
      const abs = path.join(repo.root, o.path);
      try {
        fs.mkdirSync(path.dirname(abs), { recursive: true });
        const r = checkoutOut({ abs, repoRel: o.path, oid: o.oid, ...(o.exec ? { exec: true } : {}) }, {
          odb: repo.odbFor(o.hash), state: ws.state(o.path, o.hash), ignore: repo.ignore, repoRoot: repo.root, linkTypes: repo.linkTypes,
          ...(opts.force ? { force: true } : {}), ...(repo.recoveredFromCrash ? { sweepTemps: true } : {}),
        });
        noteLinkUse(repo, r.linkType, opts);
        if (r.added.length + r.modified.length + r.deleted.length || r.createdFolder) res.restored.push(o.path);
        placed.push({ path: o.path, hash: o.hash, oid: o.oid });
      } catch (e) {
        if (!isRvcError(e)) throw e;
        res.failed.push({ path: o.path, code: e.code, message: e.message });
      }
    }
    notePlaced(repo, placed);
    if (!opts.skipUnrecorded) Object.assign(res, removeUnrecorded(repo, opts));
    return res;
  });
}
