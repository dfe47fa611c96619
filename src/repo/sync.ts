import fs from 'node:fs';
import path from 'node:path';
import pLimit from 'p-limit';
import { RvcError, addFailure, emptyFailures, isRvcError, mergeFailures, type FailureSummary } from '../errors.js';
import { HASH_ALGOS, isTreeOid, isValidOid, objectKey, type HashAlgo } from '../model/oid.js';
import type { PointerOut } from '../model/pointer.js';
import type { Odb } from '../odb/odb.js';
import { isInside } from '../model/paths.js';
import { corruptOnRemote, push as pushObjects, fetch as fetchObjects, verify as verifyObjects, type Remote, type TransferFailure, type TransferOptions, type TransferResult } from '../remote/index.js';
import { ProgressTicker } from '../progress.js';
import { tempPathFor } from '../fsutil/atomic.js';
import { checkout, type CheckoutResult } from './checkout.js';
import type { KeepSet } from './gc.js';
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

export interface SyncFailure {
  oid: string;
  /** Paths that use this object (`rev:path` for one recorded at a revision), for the message. */
  paths: string[];
  code: string;
  message: string;
  /** What helps, when the error says (e.g. for an object damaged on the remote). */
  hint?: string;
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
interface Wanted {
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

function note(paths: Map<string, string[]>, oid: string, p: string): void {
  const list = paths.get(oid) ?? [];
  if (list.length < 3 && !list.includes(p)) list.push(p);
  paths.set(oid, list);
}

function group(groups: Map<HashAlgo, Set<string>>, algo: HashAlgo, oids: Iterable<string>): void {
  let set = groups.get(algo);
  if (!set) groups.set(algo, (set = new Set()));
  for (const o of oids) set.add(o);
}

/** The outputs in scope (workspace targets and, with revisions, the outputs recorded there). */
async function wanted(repo: Repo, opts: SyncOptions): Promise<Wanted> {
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
function toSyncResult(repo: Repo, name: string, r: TransferResult, w: Wanted): SyncResult {
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
function nameInFolders(repo: Repo, w: Wanted, oids: string[]): void {
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
  return { oid: f.oid, paths, code: f.error.code, message: f.error.message, ...(f.error.hint !== undefined ? { hint: f.error.hint } : {}) };
}

/** Counts a failure that happened outside the transfer engine. */
function earlyFailure(into: FailureSummary<SyncFailure>, oid: string, where: string, e: RvcError): void {
  addFailure(into, e.code, { oid, paths: [where], code: e.code, message: e.message, ...(e.hint !== undefined ? { hint: e.hint } : {}) });
}

/**
 * Children of a folder's manifest under the wanted sub-paths. A workspace target that matches
 * nothing in the manifest is PATH_NOT_FOUND (target resolution accepted it only because the
 * manifest was not in the cache yet).
 */
function childrenUnder(repo: Repo, p: Wanted['partial'][number], paths: Map<string, string[]>): string[] {
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
): Promise<{ remote?: string; fetched: number; failed: { algo: HashAlgo; oid: string; message: string }[] }> {
  let opened: Awaited<ReturnType<typeof openRepoRemote>>;
  try {
    opened = await openRepoRemote(repo, opts.remote, opts.jobs !== undefined ? { jobs: opts.jobs } : {});
  } catch (e) {
    if (!isRvcError(e)) throw e;
    return { fetched: 0, failed: manifests.map((m) => ({ ...m, message: e.message })) };
  }
  const { name, remote } = opened;
  try {
    let fetched = 0;
    const failed: { algo: HashAlgo; oid: string; message: string }[] = [];
    const limit = pLimit(opts.jobs ?? remote.jobs);
    await Promise.all(manifests.map((m) => limit(async () => {
      try {
        if (await fetchOne(repo, remote, m.oid, m.algo)) fetched++;
        repo.odbFor(m.algo).readTree(m.oid); // it must also parse
      } catch (e) {
        if (!isRvcError(e)) throw e;
        failed.push({ ...m, message: e.message });
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
async function perAlgo(repo: Repo, groups: Map<HashAlgo, Set<string>>, run: (odb: Odb, oids: string[]) => Promise<TransferResult>): Promise<TransferResult> {
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

function transferOptions(opts: SyncOptions, optional?: ReadonlySet<string>): TransferOptions {
  return {
    ...(opts.jobs !== undefined ? { jobs: opts.jobs } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    ...(optional?.size ? { optional } : {}),
  };
}

/**
 * Uploads the cache objects of the outputs in scope that the remote lacks; trees go after their
 * files. An object in neither the cache nor the remote is reported as a failure with the paths
 * (and revisions) that use it; the rest is still uploaded.
 */
export async function push(opts: SyncOptions = {}): Promise<SyncResult> {
  const repo = Repo.open(opts.cwd);
  const w = await wanted(repo, opts);
  // Imported data is not pushed (as in DVC): it lives in, and is restored from, its source.
  if (w.imports.length && !w.groups.size && !w.partial.length) {
    return { remote: opts.remote ?? repo.config.core.remote ?? '', transferred: 0, skipped: 0, ...emptyFailures<SyncFailure>(), ...(w.revisions.length ? { revisions: w.revisions } : {}) };
  }
  const groups = new Map<HashAlgo, Set<string>>();
  for (const [algo, oids] of w.groups) {
    // An rvc.lock output never produced here is not an error (as for the workspace's pipeline).
    group(groups, algo, [...oids].filter((o) => !w.optional.has(o) || repo.odbFor(algo).hasSync(o)));
  }
  const early = emptyFailures<SyncFailure>();
  for (const p of w.partial) {
    try {
      group(groups, p.out.hash, childrenUnder(repo, p, w.paths));
    } catch (e) {
      // Part of a folder whose manifest is not in the cache: reported, the rest still goes.
      if (!isRvcError(e)) throw e;
      earlyFailure(early, p.out.oid, p.where, e);
    }
  }
  const { name, remote } = await openRepoRemote(repo, opts.remote, opts.jobs !== undefined ? { jobs: opts.jobs } : {});
  try {
    const r = await perAlgo(repo, groups, (odb, oids) => pushObjects(odb, remote, oids, transferOptions(opts, w.optional)));
    const res = toSyncResult(repo, name, r, w);
    return withEarly(res, early);
  } finally {
    await remote.close();
  }
}

/** Downloads the objects of the outputs in scope that the cache lacks, manifests first, each verified by hash. */
export async function fetch(opts: SyncOptions = {}): Promise<SyncResult> {
  const repo = Repo.open(opts.cwd);
  const w = await wanted(repo, opts);
  if (w.imports.length) return withImports(repo, w, opts);
  return fetchWanted(repo, w, opts);
}

async function fetchWanted(repo: Repo, w: Wanted, opts: SyncOptions): Promise<SyncResult> {
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

/**
 * Imported outputs are fetched from their source repositories (see imports.ts); the rest from
 * this project's remote, which is not needed at all when only imports are wanted.
 */
async function withImports(repo: Repo, w: Wanted, opts: SyncOptions): Promise<SyncResult> {
  const { fetchImports } = await import('./imports.js');
  const imp = await fetchImports(repo, w.imports, opts);
  if (!w.groups.size && !w.partial.length) return imp;
  const own = await fetchWanted(repo, w, opts);
  const res = { ...own, transferred: own.transferred + imp.transferred, skipped: own.skipped + imp.skipped };
  mergeFailures(res, imp, (f) => f.code);
  return res;
}

/** The result with the failures found before the transfer listed first. */
function withEarly(res: SyncResult, early: FailureSummary<SyncFailure>): SyncResult {
  if (!early.failedCount) return res;
  const { failed, failedCount, failedByCode } = res;
  Object.assign(res, early);
  mergeFailures(res, { failed, failedCount, failedByCode }, (f) => f.code);
  return res;
}

export interface PullResult extends SyncResult {
  checkout: CheckoutResult;
}

/**
 * fetch over the scope, then checkout of the same targets in the workspace only (what could be
 * fetched is checked out even if some failed). Revisions in the scope only fill the cache.
 */
export async function pull(opts: SyncOptions & { force?: boolean } = {}): Promise<PullResult> {
  const f = await fetch(opts);
  const co = await checkout({ ...opts, ...(opts.targets ? { targets: opts.targets } : {}), ...(opts.force ? { force: true } : {}) }).catch((e) => {
    if (f.failed.length && isRvcError(e)) return { outs: [], failed: 1, removed: [], kept: [] } as CheckoutResult;
    throw e;
  });
  return { ...f, checkout: co };
}

export type CloudState = 'new' | 'deleted' | 'missing' | 'in sync';

export interface CloudStatusResult {
  remote: string;
  objects: { oid: string; state: CloudState; paths: string[] }[];
  counts: Record<CloudState, number>;
  /** The revisions the scope covered (labels), besides the workspace. */
  revisions?: string[];
}

/**
 * Compares the cache with the remote for the targets' objects: `new` (only in the cache, push
 * would upload it), `deleted` (only on the remote, fetch would download it), `missing` (in
 * neither), `in sync`. Manifests missing locally are fetched first, so their files can be listed.
 */
export async function statusCloud(opts: SyncOptions = {}): Promise<CloudStatusResult> {
  const repo = Repo.open(opts.cwd);
  const w = await wanted(repo, opts);
  const { name, remote } = await openRepoRemote(repo, opts.remote, opts.jobs !== undefined ? { jobs: opts.jobs } : {});
  try {
    const all = new Map<HashAlgo, Set<string>>();
    const paths = w.paths;
    const expand = async (algo: HashAlgo, oid: string, where: string, subpaths?: string[]): Promise<void> => {
      group(all, algo, [oid]);
      if (!isTreeOid(oid)) return;
      try {
        await fetchOne(repo, remote, oid, algo);
      } catch (e) {
        if (isRvcError(e) && (e.code === 'OBJECT_MISSING' || e.code === 'OBJECT_CORRUPT')) return;
        throw e;
      }
      const entries = repo.odbFor(algo).readTree(oid).filter((e) => !subpaths || subpaths.some((s) => isInside(e.path, s)));
      group(all, algo, entries.map((e) => e.oid));
      for (const e of entries) if (!paths.has(e.oid)) paths.set(e.oid, [`${where}/${e.path}`]);
    };
    const limit = pLimit(opts.jobs ?? remote.jobs);
    const jobs: Promise<void>[] = [];
    for (const [algo, oids] of w.groups) for (const oid of oids) jobs.push(limit(() => expand(algo, oid, paths.get(oid)?.[0] ?? oid)));
    for (const p of w.partial) jobs.push(limit(() => expand(p.out.hash, p.out.oid, p.where, p.subpaths)));
    await Promise.all(jobs);
    const list = [...all].flatMap(([algo, oids]) => [...oids].map((oid) => ({ algo, oid, key: objectKey(algo, oid) })));
    const tick = new ProgressTicker(opts.onProgress ?? (() => {}), 'query', list.length);
    const onRemote = await remote.existing(list.map((x) => x.key), (n) => tick.tick(n));
    tick.finish();
    const counts: Record<CloudState, number> = { new: 0, deleted: 0, missing: 0, 'in sync': 0 };
    const objects: CloudStatusResult['objects'] = [];
    for (const { algo, oid, key } of list) {
      const local = repo.odbFor(algo).hasSync(oid);
      const there = onRemote.has(key);
      const state: CloudState = local && there ? 'in sync' : local ? 'new' : there ? 'deleted' : 'missing';
      if (state === 'missing' && w.optional.has(oid)) continue;
      counts[state]++;
      objects.push({ oid, state, paths: paths.get(oid) ?? [] });
    }
    return { remote: name, objects, counts, ...(w.revisions.length ? { revisions: w.revisions } : {}) };
  } finally {
    await remote.close();
  }
}

export interface CloudGcResult {
  remote: string;
  removed: string[];
  kept: number;
  dryRun: boolean;
  /** Temp files of interrupted pushes removed from the remote (not with dryRun). */
  leftovers: number;
}

/**
 * Deletes remote objects that nothing in the scope references (`keep`, from the same scope as
 * the local gc). Manifests go first, so that a manifest on the remote still implies all its
 * files are there if this is interrupted. Each algorithm the scope uses (and the repository's
 * own) is listed under its prefix.
 */
export async function gcCloud(repo: Repo, keep: KeepSet, opts: { remote?: string; dryRun?: boolean; jobs?: number } & CommonOptions): Promise<CloudGcResult> {
  const { name, remote } = await openRepoRemote(repo, opts.remote, opts.jobs !== undefined ? { jobs: opts.jobs } : {});
  try {
    const trees: string[] = [];
    const files: string[] = [];
    let kept = 0;
    for (const algo of HASH_ALGOS.filter((a) => a === repo.odb.algo || keep.has(a))) {
      const k = keep.get(algo) ?? new Set<string>();
      const prefix = `${algo}/`;
      for await (const key of remote.list(prefix)) {
        const rest = key.slice(prefix.length);
        if (!/^[0-9a-f]{2}\/[^/]+$/.test(rest)) continue; // not an object key
        const oid = rest.replace('/', '');
        if (!isValidOid(oid, algo)) continue;
        if (k.has(oid)) kept++;
        else (isTreeOid(oid) ? trees : files).push(key);
      }
    }
    let leftovers = 0;
    if (!opts.dryRun) {
      const limit = pLimit(opts.jobs ?? remote.jobs);
      await Promise.all(trees.map((k) => limit(() => remote.delete(k))));
      await Promise.all(files.map((k) => limit(() => remote.delete(k))));
      leftovers = (await remote.sweepLeftovers?.({ everywhere: true })) ?? 0;
    }
    return { remote: name, removed: [...trees, ...files], kept, dryRun: !!opts.dryRun, leftovers };
  } finally {
    await remote.close();
  }
}

export interface CloudFsckOptions extends CommonOptions, Omit<RevScope, 'workspace'> {
  remote?: string;
  jobs?: number;
  /** Delete corrupt remote copies and the manifests that list missing or corrupt objects. */
  repair?: boolean;
}

export interface CloudFsckObject {
  oid: string;
  /** The remote key. */
  key: string;
  /** Paths that use it (`rev:path` at a revision), for messages. */
  paths: string[];
}

/** `failed` (bounded) lists objects that could not be checked (transfer errors). */
export interface CloudFsckResult extends FailureSummary<SyncFailure> {
  remote: string;
  /** Remote objects downloaded and found intact. */
  checked: number;
  corrupt: CloudFsckObject[];
  /** Intact manifests listing an object the remote lacks or holds damaged. */
  incomplete: CloudFsckObject[];
  /** Objects of the scope the remote does not have (`rvc push` uploads them). */
  missing: number;
  /** With repair: remote keys deleted (manifests first). */
  removed: string[];
  repaired: boolean;
  revisions?: string[];
}

/**
 * `rvc fsck --cloud`: downloads every remote object the scope uses (the workspace, and the
 * revisions the scope names) and re-hashes it, through the transfer engine's verified download.
 * push and status --cloud trust what the remote holds, so a damaged copy there would stay
 * forever; `repair` deletes it (and every manifest listing it, which push would otherwise take
 * as proof its files are there), after which `rvc push` from a cache holding good copies uploads
 * them again.
 */
export async function fsckCloud(opts: CloudFsckOptions = {}): Promise<CloudFsckResult> {
  const repo = Repo.open(opts.cwd);
  const w = await wanted(repo, { ...opts, targets: [] });
  // The workspace's pipeline outputs too (push sends them along): rvc.lock records them. One
  // may be `cache: false` (only rvc.yaml says), so its absence from the remote is no failure.
  for (const o of repo.workspaceLockOuts()) {
    if (w.groups.get(o.hash)?.has(o.oid)) continue;
    group(w.groups, o.hash, [o.oid]);
    note(w.paths, o.oid, o.path);
    w.optional.add(o.oid);
  }
  const { name, remote } = await openRepoRemote(repo, opts.remote, opts.jobs !== undefined ? { jobs: opts.jobs } : {});
  try {
    const res: CloudFsckResult = {
      remote: name, checked: 0, corrupt: [], incomplete: [], missing: 0, removed: [], repaired: !!opts.repair,
      ...emptyFailures<SyncFailure>(), ...(w.revisions.length ? { revisions: w.revisions } : {}),
    };
    for (const [algo, oids] of w.groups) {
      if (!oids.size) continue;
      const r = await verifyObjects(repo.odbFor(algo), remote, [...oids], {
        ...transferOptions(opts, w.optional), ...(opts.repair ? { repair: true } : {}),
      });
      nameInFolders(repo, w, [...r.corrupt, ...r.incomplete, ...r.failed.map((f) => f.oid)]);
      const named = (oid: string): CloudFsckObject => ({ oid, key: objectKey(algo, oid), paths: w.paths.get(oid) ?? [] });
      res.checked += r.checked;
      res.missing += r.missing;
      for (const o of r.corrupt) res.corrupt.push(named(o));
      for (const o of r.incomplete) res.incomplete.push(named(o));
      for (const k of r.removed) res.removed.push(k);
      mergeFailures(res, { ...r, failed: r.failed.map((f) => toSyncFailure(f, w.paths.get(f.oid) ?? [])) }, (f) => f.code);
    }
    return res;
  } finally {
    await remote.close();
  }
}
