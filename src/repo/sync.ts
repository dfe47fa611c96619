import pLimit from 'p-limit';
import { RvcError, addFailure, emptyFailures, isRvcError, mergeFailures, type FailureSummary } from '../errors.js';
import { CHUNKS_SUFFIX } from '../model/chunks.js';
import { isTreeOid, objectKey, type HashAlgo } from '../model/oid.js';
import { packKey } from '../model/pack.js';
import type { Odb } from '../odb/odb.js';
import { isInside } from '../model/paths.js';
import { existingObjects, fetchObject, push as pushObjects, fetch as fetchObjects, verify as verifyObjects, type Remote, type TransferFailure, type TransferOptions, type TransferResult } from '../remote/index.js';
import { ProgressTicker } from '../progress.js';
import type { RevScope } from './history.js';
import { openRepoRemote } from './remotes.js';
import { subpathNotFound, type CommonOptions, type Repo } from './repo.js';
import { ObjectSet, type PartialFolder } from './object-set.js';
import { repairPacks } from './pack-repair.js';
import { scopedOutputs, targetFlagsOf, type OutputSelection, type TargetFlags } from './outputs.js';

export interface SyncOptions extends CommonOptions, Omit<RevScope, 'workspace'>, TargetFlags {
  /** Remote name; default: core.remote. */
  remote?: string;
  jobs?: number;
  /**
   * Pointer files, tracked paths, or files/folders inside a tracked folder. Default: everything.
   * With revisions in the scope, they narrow the outputs at every revision the same way.
   */
  targets?: string[];
  /** Also the run-cache: earlier runs of pipeline stages (their entries and the outputs they record). */
  runCache?: boolean;
  /** Only the outputs recorded at the scope's revisions, not the workspace's (see scopedOutputs). */
  revisionsOnly?: boolean;
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
  /** With `runCache`: run-cache entries moved, already there, and skipped as invalid. */
  runs?: { transferred: number; skipped: number; invalid: number };
}

/** What a command moves: the objects of the outputs in scope, and the revisions the scope covered. */
export interface Wanted {
  set: ObjectSet;
  revisions: string[];
}

/**
 * The objects of the outputs in scope: the workspace's pointers and stage outputs (and with
 * `runCache` the run-cache's), narrowed by the targets, and with revisions the outputs recorded
 * there, from the one output index (repo/outputs.ts), whatever remote they go to (push, fetch
 * and status --cloud split them by remote: `objectsByRemote`).
 */
export async function objectsInScope(repo: Repo, opts: SyncOptions): Promise<Wanted> {
  const { outs, revisions } = await outputsInScope(repo, opts);
  return { set: ObjectSet.of(outs), revisions };
}

/** The outputs a sync command covers: its scope, targets and target flags, read once from the output index. */
function outputsInScope(repo: Repo, opts: SyncOptions): Promise<{ outs: OutputSelection[]; revisions: string[] }> {
  return scopedOutputs(repo, opts, {
    ...(opts.targets ? { targets: opts.targets } : {}), ...(opts.cwd ? { cwd: opts.cwd } : {}), ...(opts.runCache ? { runCache: true } : {}),
    ...(opts.revisionsOnly ? { revisionsOnly: true } : {}), ...targetFlagsOf(opts),
  });
}

/** The objects of a scope that go to one remote: `remote` undefined for the command's remote. */
export interface WantedAt {
  remote?: string;
  w: Wanted;
}

/**
 * The objects in scope split by remote, as DVC splits them: outputs whose rvc.yaml entry names a
 * `remote:` go to that remote, the rest to the command's (`-r`, else the default), which is
 * always the first part, even when empty. Given `-r`, an output naming another remote is left
 * out, and one naming the same remote joins the first part. `forPush` (push, status --cloud)
 * leaves out `push: false` outputs, which never go to a remote.
 */
export async function objectsByRemote(repo: Repo, opts: SyncOptions, how: { forPush?: boolean } = {}): Promise<WantedAt[]> {
  const { outs, revisions } = await outputsInScope(repo, opts);
  const parts = new Map<string | undefined, OutputSelection[]>([[undefined, []]]);
  for (const s of outs) {
    const named = s.output.remote;
    const key = named === undefined || named === opts.remote ? undefined : named;
    if (key !== undefined && opts.remote !== undefined) continue;
    let list = parts.get(key);
    if (!list) parts.set(key, (list = []));
    list.push(s);
  }
  return [...parts].map(([remote, sel]) => ({ ...(remote !== undefined ? { remote } : {}), w: { set: ObjectSet.of(sel, how), revisions } }));
}

/**
 * The result, with failures named by path. A file inside a folder has no path of its own in
 * `paths`; only when such a failure exists are the folders' manifests read to name it.
 */
function toSyncResult(repo: Repo, name: string, r: TransferResult, w: Wanted): SyncResult {
  nameInFolders(repo, w.set, r.failed.map((f) => f.oid));
  return {
    remote: name,
    transferred: r.transferred.length,
    skipped: r.skipped,
    failed: r.failed.map((f) => toSyncFailure(f, w.set.paths.get(f.oid) ?? [])),
    failedCount: r.failedCount,
    failedByCode: r.failedByCode,
    ...(w.revisions.length ? { revisions: w.revisions } : {}),
  };
}

/** Adds to `set.paths` a name for each of `oids` that is a file inside a folder in the set. */
function nameInFolders(repo: Repo, set: ObjectSet, oids: string[]): void {
  if (!oids.some((o) => !set.paths.has(o))) return;
  const unnamed = new Set(oids.filter((o) => !set.paths.has(o)));
  for (const [algo, trees] of set.groups) {
    for (const t of trees) {
      if (!isTreeOid(t) || !repo.odbFor(algo).hasSync(t)) continue;
      let entries: { path: string; oid: string }[];
      try {
        entries = repo.odbFor(algo).readTree(t);
      } catch {
        continue; // a damaged manifest only costs the name here; fsck reports it
      }
      for (const e of entries) if (unnamed.has(e.oid)) set.note(e.oid, `${set.paths.get(t)?.[0] ?? t}/${e.path}`);
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
function childrenUnder(repo: Repo, p: PartialFolder, set: ObjectSet): string[] {
  const out = new Set<string>();
  const matched = new Set<string>();
  for (const e of repo.odbFor(p.out.hash).readTree(p.out.oid)) {
    for (const s of p.subpaths) {
      if (!isInside(e.path, s)) continue;
      matched.add(s);
      out.add(e.oid);
      if (!set.paths.has(e.oid)) set.paths.set(e.oid, [`${p.where}/${e.path}`]);
    }
  }
  const missing = p.workspace ? p.subpaths.find((s) => !matched.has(s)) : undefined;
  if (missing !== undefined) throw subpathNotFound(`${p.where}/${missing}`, { rel: p.where, pointerFile: p.file }, true);
  return [...out];
}

/**
 * Fetches manifests (each alone, verified) from the remote `opts.remote` or the default one.
 * Failures, including having no remote to ask, are returned rather than thrown, for the caller
 * to name the outputs concerned.
 */
export async function fetchManifests(
  repo: Repo, manifests: { algo: HashAlgo; oid: string }[], opts: { remote?: string; jobs?: number } = {},
): Promise<{ remote?: string; fetched: number; failed: { algo: HashAlgo; oid: string; message: string; code: string }[] }> {
  let opened: Awaited<ReturnType<typeof openRepoRemote>>;
  try {
    opened = await openRepoRemote(repo, opts.remote, opts.jobs !== undefined ? { jobs: opts.jobs } : {});
  } catch (e) {
    if (!isRvcError(e)) throw e;
    return { fetched: 0, failed: manifests.map((m) => ({ ...m, message: e.message, code: e.code })) };
  }
  const { name, remote } = opened;
  try {
    let fetched = 0;
    const failed: { algo: HashAlgo; oid: string; message: string; code: string }[] = [];
    const limit = pLimit(opts.jobs ?? remote.jobs);
    await Promise.all(manifests.map((m) => limit(async () => {
      try {
        if (await fetchObject(repo.odbFor(m.algo), remote, m.oid)) fetched++;
        repo.odbFor(m.algo).readTree(m.oid); // it must also parse
      } catch (e) {
        if (!isRvcError(e)) throw e;
        failed.push({ ...m, message: e.message, code: e.code });
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

function transferOptions(opts: { jobs?: number } & CommonOptions, optional?: ReadonlySet<string>): TransferOptions {
  return {
    ...(opts.jobs !== undefined ? { jobs: opts.jobs } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    ...(optional?.size ? { optional } : {}),
  };
}

/** A remote opened for one command: its name and handle. */
export interface OpenedRemote {
  name: string;
  remote: Remote;
}

/** Opens `opts.remote` (default core.remote) for a command; the caller closes it. */
export function openSyncRemote(repo: Repo, opts: { remote?: string; jobs?: number }): Promise<OpenedRemote> {
  return openRepoRemote(repo, opts.remote, opts.jobs !== undefined ? { jobs: opts.jobs } : {});
}

/** A result that moved nothing. */
export function emptySyncResult(repo: Repo, opts: { remote?: string }, revisions: string[] = []): SyncResult {
  return { remote: opts.remote ?? repo.config.core.remote ?? '', transferred: 0, skipped: 0, ...emptyFailures<SyncFailure>(), ...(revisions.length ? { revisions } : {}) };
}

/**
 * Uploads the objects of `w` the remote lacks; trees go after their files. An object in neither
 * the cache nor the remote is reported as a failure with the paths (and revisions) that use it;
 * the rest is still uploaded. Optional objects the cache lacks are left out.
 */
export async function pushWanted(repo: Repo, w: Wanted, to: OpenedRemote, opts: SyncOptions): Promise<SyncResult> {
  const groups = new ObjectSet();
  for (const [algo, oids] of w.set.groups) {
    groups.add(algo, [...oids].filter((o) => !w.set.optional.has(o) || repo.odbFor(algo).hasSync(o)));
  }
  const early = emptyFailures<SyncFailure>();
  for (const p of w.set.partial) {
    try {
      groups.add(p.out.hash, childrenUnder(repo, p, w.set));
    } catch (e) {
      // Part of a folder whose manifest is not in the cache: reported, the rest still goes.
      if (!isRvcError(e)) throw e;
      earlyFailure(early, p.out.oid, p.where, e);
    }
  }
  // `remote.<name>.packs: false` keeps every object loose, for rvc versions that do not read packs.
  const packs = repo.config.remote[to.name]?.packs !== false;
  const r = await perAlgo(repo, groups.groups, (odb, oids) => pushObjects(odb, to.remote, oids, { ...transferOptions(opts, w.set.optional), packs }));
  return withEarly(toSyncResult(repo, to.name, r, w), early);
}

/** Downloads the objects of `w` the cache lacks, manifests of folder parts first, each verified by hash. */
export async function fetchWanted(repo: Repo, w: Wanted, from: OpenedRemote, opts: SyncOptions): Promise<SyncResult> {
  const groups = new ObjectSet();
  for (const [algo, oids] of w.set.groups) groups.add(algo, oids);
  const early = emptyFailures<SyncFailure>();
  let manifests = 0;
  for (const p of w.set.partial) {
    try {
      if (await fetchObject(repo.odbFor(p.out.hash), from.remote, p.out.oid)) manifests++;
      groups.add(p.out.hash, childrenUnder(repo, p, w.set));
    } catch (e) {
      if (!isRvcError(e)) throw e;
      earlyFailure(early, p.out.oid, p.where, e);
    }
  }
  const r = await perAlgo(repo, groups.groups, (odb, oids) => fetchObjects(odb, from.remote, oids, transferOptions(opts, w.set.optional)));
  const res = toSyncResult(repo, from.name, r, w);
  res.transferred += manifests;
  return withEarly(res, early);
}

/** The result with the failures found before the transfer listed first. */
function withEarly(res: SyncResult, early: FailureSummary<SyncFailure>): SyncResult {
  if (!early.failedCount) return res;
  const { failed, failedCount, failedByCode } = res;
  Object.assign(res, early);
  mergeFailures(res, { failed, failedCount, failedByCode }, (f) => f.code);
  return res;
}

/** Adds `more`'s counts and failures to `into`. */
export function addSyncResult(into: SyncResult, more: SyncResult): SyncResult {
  into.transferred += more.transferred;
  into.skipped += more.skipped;
  mergeFailures(into, more, (f) => f.code);
  return into;
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
 * Compares the cache with the remote for the objects of `w`: `new` (only in the cache, push
 * would upload it), `deleted` (only on the remote, fetch would download it), `missing` (in
 * neither), `in sync`. Manifests missing locally are fetched first, so their files can be listed.
 */
export async function cloudStatusOf(repo: Repo, w: Wanted, at: OpenedRemote, opts: SyncOptions): Promise<CloudStatusResult> {
  const { remote } = at;
  const all = new ObjectSet();
  const paths = w.set.paths;
  const knownLocal = new Set<string>();
  const expand = async (algo: HashAlgo, oid: string, where: string, subpaths?: string[]): Promise<void> => {
    all.add(algo, [oid]);
    if (!isTreeOid(oid)) return;
    try {
      await fetchObject(repo.odbFor(algo), remote, oid);
    } catch (e) {
      if (isRvcError(e) && (e.code === 'OBJECT_MISSING' || e.code === 'OBJECT_CORRUPT')) return;
      throw e;
    }
    const odb = repo.odbFor(algo);
    const entries = odb.readTree(oid).filter((e) => !subpaths || subpaths.some((s) => isInside(e.path, s)));
    all.add(algo, entries.map((e) => e.oid));
    // A folder the cache marked complete has every file: no existence check per file below.
    if (odb.isMarkedComplete(oid)) for (const e of entries) knownLocal.add(e.oid);
    for (const e of entries) if (!paths.has(e.oid)) paths.set(e.oid, [`${where}/${e.path}`]);
  };
  const limit = pLimit(opts.jobs ?? remote.jobs);
  const jobs: Promise<void>[] = [];
  for (const [algo, oids] of w.set.groups) for (const oid of oids) jobs.push(limit(() => expand(algo, oid, paths.get(oid)?.[0] ?? oid)));
  for (const p of w.set.partial) jobs.push(limit(() => expand(p.out.hash, p.out.oid, p.where, p.subpaths)));
  await Promise.all(jobs);
  const list = [...all.groups].flatMap(([algo, oids]) => [...oids].map((oid) => ({ algo, oid })));
  const tick = new ProgressTicker(opts.onProgress ?? (() => {}), 'query', list.length);
  // Loose or in a pack the remote lists with its index (the packs listed once per algorithm).
  const onRemote = new Map<HashAlgo, Set<string>>();
  for (const [algo, oids] of all.groups) {
    let last = 0;
    onRemote.set(algo, await existingObjects(repo.odbFor(algo), remote, [...oids], (n) => {
      tick.tick(n - last);
      last = n;
    }));
  }
  tick.finish();
  // A file the remote lacks whole may be there as chunks: its chunk list stands for it (a list
  // is pushed only after all its chunks). Asked only for those, so a synced remote costs one query.
  const notWhole = list.filter((x) => !isTreeOid(x.oid) && !onRemote.get(x.algo)!.has(x.oid));
  if (notWhole.length) {
    const lists = await remote.existing(notWhole.map((x) => objectKey(x.algo, x.oid) + CHUNKS_SUFFIX));
    for (const x of notWhole) if (lists.has(objectKey(x.algo, x.oid) + CHUNKS_SUFFIX)) onRemote.get(x.algo)!.add(x.oid);
  }
  const counts: Record<CloudState, number> = { new: 0, deleted: 0, missing: 0, 'in sync': 0 };
  const objects: CloudStatusResult['objects'] = [];
  for (const { algo, oid } of list) {
    const local = knownLocal.has(oid) || repo.odbFor(algo).hasSync(oid);
    const there = onRemote.get(algo)!.has(oid);
    const state: CloudState = local && there ? 'in sync' : local ? 'new' : there ? 'deleted' : 'missing';
    if (state === 'missing' && w.set.optional.has(oid)) continue;
    counts[state]++;
    objects.push({ oid, state, paths: paths.get(oid) ?? [] });
  }
  return { remote: at.name, objects, counts, ...(w.revisions.length ? { revisions: w.revisions } : {}) };
}

/**
 * `status --cloud` of a scope: each output's objects compared with its remote (the default one,
 * or the `remote:` its rvc.yaml entry names). Shared by `status --cloud` and `report`.
 */
export async function cloudStatusAll(repo: Repo, opts: SyncOptions = {}): Promise<CloudStatusResult> {
  const [main, ...named] = await objectsByRemote(repo, opts, { forPush: true });
  const w = main!.w;
  let res: CloudStatusResult;
  if (w.set.empty && named.some((p) => !p.w.set.empty)) {
    // Everything in scope names its own remote: the command's need not exist.
    res = { remote: opts.remote ?? repo.config.core.remote ?? '', objects: [], counts: { new: 0, deleted: 0, missing: 0, 'in sync': 0 }, ...(w.revisions.length ? { revisions: w.revisions } : {}) };
  } else {
    const at = await openSyncRemote(repo, opts);
    try {
      res = await cloudStatusOf(repo, w, at, opts);
    } finally {
      await at.remote.close();
    }
  }
  for (const part of named) {
    if (part.w.set.empty) continue;
    const other = await openSyncRemote(repo, { ...opts, remote: part.remote! });
    try {
      const r = await cloudStatusOf(repo, part.w, other, opts);
      for (const o of r.objects) res.objects.push(o);
      for (const k of Object.keys(r.counts) as (keyof typeof r.counts)[]) res.counts[k] += r.counts[k];
    } finally {
      await other.remote.close();
    }
  }
  return res;
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
  /** Keys of the remote packs holding a corrupt copy (altered bytes, or cut short). */
  damagedPacks: string[];
  /**
   * With repair: each damaged pack replaced (repo/pack-repair.ts): the objects it held that it or
   * the cache still had intact, written into new packs; and those `lost`, of which no good copy
   * is left on the remote or in this cache (paths where the scope names them).
   */
  replacedPacks: { key: string; rewritten: number; lost: CloudFsckObject[] }[];
  repaired: boolean;
  revisions?: string[];
}

/**
 * `rvc fsck --cloud`: downloads every remote object of `w` (the workspace's outputs, pointers
 * and stages, and those of the revisions the scope names) and re-hashes it, through the
 * transfer engine's verified download. push and status --cloud trust what the remote holds, so
 * a damaged copy there would stay forever; `repair` deletes it (and every manifest listing it,
 * which push would otherwise take as proof its files are there), after which `rvc push` from a
 * cache holding good copies uploads them again. A damaged pack is replaced instead
 * (`repairPacks`), once those manifests are gone.
 */
export async function verifyCloud(repo: Repo, w: Wanted, at: OpenedRemote, opts: CloudFsckOptions): Promise<CloudFsckResult> {
  const res: CloudFsckResult = {
    remote: at.name, checked: 0, corrupt: [], incomplete: [], missing: 0, removed: [], damagedPacks: [], replacedPacks: [], repaired: !!opts.repair,
    ...emptyFailures<SyncFailure>(), ...(w.revisions.length ? { revisions: w.revisions } : {}),
  };
  for (const [algo, oids] of w.set.groups) {
    if (!oids.size) continue;
    const r = await verifyObjects(repo.odbFor(algo), at.remote, [...oids], {
      ...transferOptions(opts, w.set.optional), ...(opts.repair ? { repair: true } : {}),
    });
    nameInFolders(repo, w.set, [...r.corrupt, ...r.incomplete, ...r.failed.map((f) => f.oid)]);
    const named = (oid: string): CloudFsckObject => ({ oid, key: objectKey(algo, oid), paths: w.set.paths.get(oid) ?? [] });
    res.checked += r.checked;
    res.missing += r.missing;
    for (const o of r.corrupt) res.corrupt.push(named(o));
    for (const o of r.incomplete) res.incomplete.push(named(o));
    for (const k of r.removed) res.removed.push(k);
    for (const id of r.damagedPacks) res.damagedPacks.push(packKey(algo, id));
    // After the manifests listing their damaged objects went (verifyObjects' repair).
    if (opts.repair && r.damagedPacks.length) {
      for (const p of await repairPacks(repo.odbFor(algo), at.remote, r.damagedPacks)) {
        nameInFolders(repo, w.set, p.lost);
        res.replacedPacks.push({ key: p.key, rewritten: p.rewritten, lost: p.lost.map(named) });
      }
    }
    mergeFailures(res, { ...r, failed: r.failed.map((f) => toSyncFailure(f, w.set.paths.get(f.oid) ?? [])) }, (f) => f.code);
  }
  return res;
}
