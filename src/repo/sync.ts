/**
 * Planning and running transfers for a scope (push, fetch, pull, status --cloud, fsck --cloud,
 * and the manifests gc needs): which objects the outputs in scope want, how failures are named.
 */
import fs from 'node:fs';
import path from 'node:path';
import pLimit from 'p-limit';
import { RvcError, addFailure, emptyFailures, failureOf, isRvcError, mergeFailures, type Failure, type FailureSummary } from '../errors.js';
import { isTreeOid, objectKey, type HashAlgo } from '../model/oid.js';
import type { PointerOut } from '../model/pointer.js';
import type { Odb } from '../odb/odb.js';
import { isInside } from '../model/paths.js';
import { corruptOnRemote, fetch as fetchObjects, type Remote, type TransferFailure, type TransferOptions, type TransferResult } from '../remote/index.js';
import { tempPathFor } from '../fsutil/atomic.js';
import type { RevScope } from './history.js';
import { openRepoRemote } from './remotes.js';
import { Repo, subpathNotFound, type CommonOptions, type TrackedOut } from './repo.js';
import { scopedOuts } from './scope.js';

export interface SyncOptions extends CommonOptions, Omit<RevScope, 'workspace'> {
  /** Remote name; default: core.remote. */
  remote?: string;
  jobs?: number;
  /**
   * Pointer files, tracked paths, or files/folders inside a tracked folder. Default: everything.
   * With revisions in the scope, they narrow the outputs at every revision the same way.
   */
  targets?: string[];
}

/** A failure about one object; its hint, when the error gives one, says what helps (e.g. for an object damaged on the remote). */
export interface SyncFailure extends Failure {
  oid: string;
  /** Paths that use this object (`rev:path` for one recorded at a revision), for the message. */
  paths: string[];
}

/**
 * `failed` is a bounded sample (the first FAILURE_SAMPLE failures of each error code);
 * `failedCount` and `failedByCode` count every failure.
 */
export interface SyncResult extends FailureSummary<SyncFailure> {
  remote: string;
  /** Objects moved. */
  transferred: number;
  /** Objects already at the destination. */
  skipped: number;
  /** The revisions the scope covered (labels), besides the workspace. */
  revisions?: string[];
}

/** What a command moves: built once from the outputs in scope, whatever recorded them. */
export interface Wanted {
  /** Whole outputs by algorithm: file and tree oids (the transfer engine expands trees). */
  groups: Map<HashAlgo, Set<string>>;
  /** Parts of folders: the folder's output and the sub-paths wanted. */
  partial: { out: PointerOut; where: string; subpaths: string[]; file: string; workspace: boolean }[];
  /** oid → paths that use it, for messages (at most three). */
  paths: Map<string, string[]>;
  /**
   * oids only rvc.lock outputs at revisions ask for: such an output may be `cache: false` (only
   * rvc.yaml at that revision says), so its absence from cache and remote is not a failure.
   */
  optional: Set<string>;
  revisions: string[];
  /**
   * Workspace outputs of `rvc import` pointers: their data belongs to, and is restored from,
   * their source repository, never this project's remote. Imports recorded only at other
   * revisions are left out of every transfer.
   */
  imports: TrackedOut[];
}

export function note(paths: Map<string, string[]>, oid: string, p: string): void {
  const list = paths.get(oid) ?? [];
  if (list.length < 3 && !list.includes(p)) list.push(p);
  paths.set(oid, list);
}

export function group(groups: Map<HashAlgo, Set<string>>, algo: HashAlgo, oids: Iterable<string>): void {
  let set = groups.get(algo);
  if (!set) groups.set(algo, (set = new Set()));
  for (const o of oids) set.add(o);
}

/** The outputs in scope (workspace targets and, with revisions, the outputs recorded there). */
export async function wanted(repo: Repo, opts: SyncOptions): Promise<Wanted> {
  const { outs, revisions } = await scopedOuts(repo, opts.targets, opts.cwd, opts);
  const w: Wanted = { groups: new Map(), partial: [], paths: new Map(), optional: new Set(), revisions, imports: [] };
  const partial = new Map<string, Wanted['partial'][number]>();
  const required = new Set<string>();
  const importSeen = new Set<TrackedOut>();
  for (const o of outs) {
    if (o.imported) {
      if (o.tracked && !importSeen.has(o.tracked)) w.imports.push(o.tracked);
      if (o.tracked) importSeen.add(o.tracked);
      continue;
    }
    if (o.subpath !== undefined) {
      const key = `${o.out.hash}\0${o.out.oid}\0${o.where}`;
      const e = partial.get(key) ?? { out: o.out, where: o.where, subpaths: [], file: o.file, workspace: o.tracked !== undefined };
      e.subpaths.push(o.subpath);
      partial.set(key, e);
      continue;
    }
    group(w.groups, o.out.hash, [o.out.oid]);
    note(w.paths, o.out.oid, o.where);
    (o.fromLock ? w.optional : required).add(o.out.oid);
  }
  for (const oid of required) w.optional.delete(oid);
  w.partial = [...partial.values()];
  return w;
}

/**
 * The result, with failures named by path. A file inside a folder has no path of its own in
 * `paths`; only when such a failure exists are the folders' manifests read to name it. An
 * optional object absent everywhere is dropped (see Wanted.optional).
 */
export function toSyncResult(repo: Repo, name: string, r: TransferResult, w: Wanted): SyncResult {
  const failed = r.failed;
  nameInFolders(repo, w, failed.map((f) => f.oid));
  return {
    remote: name,
    transferred: r.transferred.length,
    skipped: r.skipped,
    failed: failed.map((f) => toSyncFailure(f, w.paths.get(f.oid) ?? [])),
    failedCount: r.failedCount,
    failedByCode: r.failedByCode,
    ...(w.revisions.length ? { revisions: w.revisions } : {}),
  };
}

/** Adds to `w.paths` a name for each of `oids` that is a file inside a folder in scope. */
export function nameInFolders(repo: Repo, w: Wanted, oids: string[]): void {
  if (oids.some((o) => !w.paths.has(o))) {
    const unnamed = new Set(oids.filter((o) => !w.paths.has(o)));
    for (const [algo, oids] of w.groups) {
      for (const t of oids) {
        if (!isTreeOid(t) || !repo.odbFor(algo).hasSync(t)) continue;
        let entries: { path: string; oid: string }[];
        try {
          entries = repo.odbFor(algo).readTree(t);
        } catch {
          continue; // a damaged manifest only costs the name here; fsck reports it
        }
        for (const e of entries) if (unnamed.has(e.oid)) note(w.paths, e.oid, `${w.paths.get(t)?.[0] ?? t}/${e.path}`);
      }
    }
  }
}

export function toSyncFailure(f: TransferFailure, paths: string[]): SyncFailure {
  return { oid: f.oid, paths, ...failureOf(f.error) };
}

/** Counts a failure that happened outside the transfer engine. */
export function earlyFailure(into: FailureSummary<SyncFailure>, oid: string, where: string, e: RvcError): void {
  addFailure(into, e.code, { oid, paths: [where], ...failureOf(e) });
}

/**
 * Children of a folder's manifest under the wanted sub-paths. A workspace target that matches
 * nothing in the manifest is PATH_NOT_FOUND (target resolution accepted it only because the
 * manifest was not in the cache yet).
 */
export function childrenUnder(repo: Repo, p: Wanted['partial'][number], paths: Map<string, string[]>): string[] {
  const out = new Set<string>();
  const matched = new Set<string>();
  for (const e of repo.odbFor(p.out.hash).readTree(p.out.oid)) {
    for (const s of p.subpaths) {
      if (!isInside(e.path, s)) continue;
      matched.add(s);
      out.add(e.oid);
      if (!paths.has(e.oid)) paths.set(e.oid, [`${p.where}/${e.path}`]);
    }
  }
  const missing = p.workspace ? p.subpaths.find((s) => !matched.has(s)) : undefined;
  if (missing !== undefined) throw subpathNotFound(`${p.where}/${missing}`, { rel: p.where, pointerFile: p.file }, true);
  return [...out];
}

/** Downloads one object (a manifest) without its children, verified like every download. */
export async function fetchOne(repo: Repo, remote: Remote, oid: string, algo: HashAlgo = repo.odb.algo): Promise<boolean> {
  const odb = repo.odbFor(algo);
  if (odb.hasSync(oid)) return false;
  const tmp = tempPathFor(path.join(odb.tmpDir(), `fetch-${oid.slice(0, 16)}`));
  try {
    fs.mkdirSync(odb.tmpDir(), { recursive: true });
    await remote.download(objectKey(algo, oid), tmp);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  if (!(await odb.importVerified(tmp, oid))) throw corruptOnRemote(remote, objectKey(algo, oid));
  return true;
}

/**
 * Fetches manifests (each alone, verified) from the remote `opts.remote` or the default one.
 * Failures, including having no remote to ask, are returned rather than thrown, for the caller
 * to name the outputs concerned.
 */
export async function fetchManifests(
  repo: Repo, manifests: { algo: HashAlgo; oid: string }[], opts: { remote?: string; jobs?: number } = {},
): Promise<{ remote?: string; fetched: number; failed: (Failure & { algo: HashAlgo; oid: string })[] }> {
  let opened: Awaited<ReturnType<typeof openRepoRemote>>;
  try {
    opened = await openRepoRemote(repo, opts.remote, opts.jobs !== undefined ? { jobs: opts.jobs } : {});
  } catch (e) {
    if (!isRvcError(e)) throw e;
    return { fetched: 0, failed: manifests.map((m) => ({ ...m, ...failureOf(e) })) };
  }
  const { name, remote } = opened;
  try {
    let fetched = 0;
    const failed: (Failure & { algo: HashAlgo; oid: string })[] = [];
    const limit = pLimit(opts.jobs ?? remote.jobs);
    await Promise.all(manifests.map((m) => limit(async () => {
      try {
        if (await fetchOne(repo, remote, m.oid, m.algo)) fetched++;
        repo.odbFor(m.algo).readTree(m.oid); // it must also parse
      } catch (e) {
        if (!isRvcError(e)) throw e;
        failed.push({ ...m, ...failureOf(e) });
      }
    })));
    return { remote: name, fetched, failed };
  } finally {
    await remote.close();
  }
}

/**
 * One transfer per hash algorithm, each against that algorithm's object database (pointers
 * written before `core.hash` changed keep their own), merged into one result.
 */
export async function perAlgo(repo: Repo, groups: Map<HashAlgo, Set<string>>, run: (odb: Odb, oids: string[]) => Promise<TransferResult>): Promise<TransferResult> {
  const all: TransferResult = { transferred: [], skipped: 0, ...emptyFailures<TransferFailure>() };
  for (const [algo, oids] of groups) {
    if (!oids.size) continue;
    const r = await run(repo.odbFor(algo), [...oids]);
    // A loop, not push(...list): spreading a million oids as arguments overflows the stack.
    for (const o of r.transferred) all.transferred.push(o);
    all.skipped += r.skipped;
    mergeFailures(all, r, (f) => f.error.code);
  }
  return all;
}

export function transferOptions(opts: SyncOptions, optional?: ReadonlySet<string>): TransferOptions {
  return {
    ...(opts.jobs !== undefined ? { jobs: opts.jobs } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    ...(optional?.size ? { optional } : {}),
  };
}

/** Downloads what `w` wants from the project's remote (`opts.remote` or the default). */
export async function fetchWanted(repo: Repo, w: Wanted, opts: SyncOptions): Promise<SyncResult> {
  const { name, remote } = await openRepoRemote(repo, opts.remote, opts.jobs !== undefined ? { jobs: opts.jobs } : {});
  try {
    const groups = new Map<HashAlgo, Set<string>>();
    for (const [algo, oids] of w.groups) group(groups, algo, oids);
    const early = emptyFailures<SyncFailure>();
    let manifests = 0;
    for (const p of w.partial) {
      try {
        if (await fetchOne(repo, remote, p.out.oid, p.out.hash)) manifests++;
        group(groups, p.out.hash, childrenUnder(repo, p, w.paths));
      } catch (e) {
        if (!isRvcError(e)) throw e;
        earlyFailure(early, p.out.oid, p.where, e);
      }
    }
    const r = await perAlgo(repo, groups, (odb, oids) => fetchObjects(odb, remote, oids, transferOptions(opts, w.optional)));
    const res = toSyncResult(repo, name, r, w);
    res.transferred += manifests;
    return withEarly(res, early);
  } finally {
    await remote.close();
  }
}

/** The result with the failures found before the transfer listed first. */
export function withEarly(res: SyncResult, early: FailureSummary<SyncFailure>): SyncResult {
  if (!early.failedCount) return res;
  const { failed, failedCount, failedByCode } = res;
  Object.assign(res, early);
  mergeFailures(res, { failed, failedCount, failedByCode }, (f) => f.code);
  return res;
}

