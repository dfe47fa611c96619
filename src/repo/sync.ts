import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pLimit from 'p-limit';
import { RvcError, isRvcError } from '../errors.js';
import { isTreeOid, objectKey, type HashAlgo } from '../model/oid.js';
import type { Odb } from '../odb/odb.js';
import { isInside } from '../model/paths.js';
import { push as pushObjects, fetch as fetchObjects, type Remote, type TransferResult } from '../remote/index.js';
import { ProgressTicker } from '../progress.js';
import { checkout, type CheckoutResult } from './checkout.js';
import { referencedOids } from './gc.js';
import { openRepoRemote } from './remotes.js';
import { Repo, type CommonOptions, type TrackedOut } from './repo.js';

export interface SyncOptions extends CommonOptions {
  /** Remote name; default: core.remote. */
  remote?: string;
  jobs?: number;
  /** Pointer files, tracked paths, or files/folders inside a tracked folder. Default: everything. */
  targets?: string[];
}

export interface SyncFailure {
  oid: string;
  /** Workspace paths that use this object, for the message. */
  paths: string[];
  code: string;
  message: string;
}

export interface SyncResult {
  remote: string;
  /** Objects moved. */
  transferred: number;
  /** Objects already at the destination. */
  skipped: number;
  failed: SyncFailure[];
}

interface Wanted {
  /** Whole outputs: file oids and tree oids (the transfer engine expands trees). */
  whole: string[];
  /** The hash algorithm of each wanted oid (pointers record their own). */
  algoOf: Map<string, HashAlgo>;
  /** Parts of folders: the folder's tree oid and the sub-paths wanted. */
  partial: { tracked: TrackedOut; subpaths: string[] }[];
  /** oid → workspace paths, for messages. */
  paths: Map<string, string[]>;
}

function wanted(repo: Repo, targets: string[] | undefined, cwd?: string): Wanted {
  const w: Wanted = { whole: [], algoOf: new Map(), partial: [], paths: new Map() };
  const partial = new Map<string, { tracked: TrackedOut; subpaths: string[] }>();
  const seen = new Set<string>();
  for (const { tracked, subpath } of repo.resolveTargets(targets ?? [], cwd)) {
    const note = (oid: string, p: string): void => {
      const list = w.paths.get(oid) ?? [];
      if (list.length < 3) list.push(p);
      w.paths.set(oid, list);
    };
    if (subpath !== undefined) {
      const key = `${tracked.pointerFile}\0${tracked.index}`;
      const e = partial.get(key) ?? { tracked, subpaths: [] };
      e.subpaths.push(subpath);
      partial.set(key, e);
      continue;
    }
    if (seen.has(tracked.out.oid)) continue;
    seen.add(tracked.out.oid);
    w.whole.push(tracked.out.oid);
    w.algoOf.set(tracked.out.oid, tracked.out.hash);
    note(tracked.out.oid, tracked.rel);
  }
  w.partial = [...partial.values()];
  return w;
}

function toSyncResult(name: string, r: TransferResult, paths: Map<string, string[]>): SyncResult {
  return {
    remote: name,
    transferred: r.transferred.length,
    skipped: r.skipped,
    failed: r.failed.map((f) => ({ oid: f.oid, paths: paths.get(f.oid) ?? [], code: f.error.code, message: f.error.message })),
  };
}

/** Children of a folder's manifest under the wanted sub-paths. */
function childrenUnder(repo: Repo, tracked: TrackedOut, subpaths: string[], paths: Map<string, string[]>): string[] {
  const out = new Set<string>();
  for (const e of repo.odbFor(tracked.out.hash).readTree(tracked.out.oid)) {
    if (subpaths.some((s) => isInside(e.path, s))) {
      out.add(e.oid);
      if (!paths.has(e.oid)) paths.set(e.oid, [`${tracked.rel}/${e.path}`]);
    }
  }
  return [...out];
}

/** Downloads one object (a manifest) without its children, verified like every download. */
async function fetchOne(repo: Repo, remote: Remote, oid: string, algo: HashAlgo = repo.odb.algo): Promise<boolean> {
  const odb = repo.odbFor(algo);
  if (odb.hasSync(oid)) return false;
  const tmp = path.join(odb.tmpDir(), `dl-${randomBytes(6).toString('hex')}`);
  try {
    await remote.download(objectKey(algo, oid), tmp);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  if (!(await odb.importVerified(tmp, oid))) {
    throw new RvcError('OBJECT_CORRUPT', `the remote copy of ${oid} does not match its hash`, {
      hint: 'the remote object is damaged; push it again from a machine that has the data',
    });
  }
  return true;
}

/**
 * One transfer per hash algorithm, each against that algorithm's object database (pointers
 * written before `core.hash` changed keep their own), merged into one result.
 */
async function perAlgo(repo: Repo, groups: Map<HashAlgo, string[]>, run: (odb: Odb, oids: string[]) => Promise<TransferResult>): Promise<TransferResult> {
  const all: TransferResult = { transferred: [], skipped: 0, failed: [] };
  for (const [algo, oids] of groups) {
    if (!oids.length) continue;
    const r = await run(repo.odbFor(algo), oids);
    // A loop, not push(...list): spreading a million oids as arguments overflows the stack.
    for (const o of r.transferred) all.transferred.push(o);
    all.skipped += r.skipped;
    for (const f of r.failed) all.failed.push(f);
  }
  return all;
}

function group(groups: Map<HashAlgo, string[]>, algo: HashAlgo, oids: string[]): void {
  const list = groups.get(algo) ?? [];
  for (const o of oids) list.push(o);
  groups.set(algo, list);
}

/** Uploads the cache objects of the targets that the remote lacks. Trees go after their files. */
export async function push(opts: SyncOptions = {}): Promise<SyncResult> {
  const repo = Repo.open(opts.cwd);
  const w = wanted(repo, opts.targets, opts.cwd);
  const groups = new Map<HashAlgo, string[]>();
  for (const oid of w.whole) group(groups, w.algoOf.get(oid)!, [oid]);
  for (const p of w.partial) group(groups, p.tracked.out.hash, childrenUnder(repo, p.tracked, p.subpaths, w.paths));
  const { name, remote } = await openRepoRemote(repo, opts.remote, opts.jobs !== undefined ? { jobs: opts.jobs } : {});
  try {
    const r = await perAlgo(repo, groups, (odb, oids) => pushObjects(odb, remote, oids, {
      ...(opts.jobs !== undefined ? { jobs: opts.jobs } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    }));
    return toSyncResult(name, r, w.paths);
  } finally {
    await remote.close();
  }
}

/** Downloads the objects of the targets that the cache lacks, verifying each by hash. */
export async function fetch(opts: SyncOptions = {}): Promise<SyncResult> {
  const repo = Repo.open(opts.cwd);
  const w = wanted(repo, opts.targets, opts.cwd);
  const { name, remote } = await openRepoRemote(repo, opts.remote, opts.jobs !== undefined ? { jobs: opts.jobs } : {});
  try {
    const groups = new Map<HashAlgo, string[]>();
    for (const oid of w.whole) group(groups, w.algoOf.get(oid)!, [oid]);
    const early: SyncResult['failed'] = [];
    let manifests = 0;
    for (const p of w.partial) {
      try {
        if (await fetchOne(repo, remote, p.tracked.out.oid, p.tracked.out.hash)) manifests++;
        group(groups, p.tracked.out.hash, childrenUnder(repo, p.tracked, p.subpaths, w.paths));
      } catch (e) {
        if (!isRvcError(e)) throw e;
        early.push({ oid: p.tracked.out.oid, paths: [p.tracked.rel], code: e.code, message: e.message });
      }
    }
    const r = await perAlgo(repo, groups, (odb, oids) => fetchObjects(odb, remote, oids, {
      ...(opts.jobs !== undefined ? { jobs: opts.jobs } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    }));
    const res = toSyncResult(name, r, w.paths);
    res.transferred += manifests;
    res.failed.unshift(...early);
    return res;
  } finally {
    await remote.close();
  }
}

export interface PullResult extends SyncResult {
  checkout: CheckoutResult;
}

/** fetch, then checkout of the same targets (what could be fetched is checked out even if some failed). */
export async function pull(opts: SyncOptions & { force?: boolean } = {}): Promise<PullResult> {
  const f = await fetch(opts);
  const co = await checkout({ ...opts, ...(opts.targets ? { targets: opts.targets } : {}), ...(opts.force ? { force: true } : {}) }).catch((e) => {
    if (f.failed.length && isRvcError(e)) return { outs: [], failed: 1 } as CheckoutResult;
    throw e;
  });
  return { ...f, checkout: co };
}

export type CloudState = 'new' | 'deleted' | 'missing' | 'in sync';

export interface CloudStatusResult {
  remote: string;
  objects: { oid: string; state: CloudState; paths: string[] }[];
  counts: Record<CloudState, number>;
}

/**
 * Compares the cache with the remote for the targets' objects: `new` (only in the cache, push
 * would upload it), `deleted` (only on the remote, fetch would download it), `missing` (in
 * neither), `in sync`. Manifests missing locally are fetched first, so their files can be listed.
 */
export async function statusCloud(opts: SyncOptions = {}): Promise<CloudStatusResult> {
  const repo = Repo.open(opts.cwd);
  const w = wanted(repo, opts.targets, opts.cwd);
  const { name, remote } = await openRepoRemote(repo, opts.remote, opts.jobs !== undefined ? { jobs: opts.jobs } : {});
  try {
    const all = new Set<string>();
    const paths = w.paths;
    const expand = async (tracked: TrackedOut | undefined, oid: string, subpaths?: string[]): Promise<void> => {
      all.add(oid);
      if (!isTreeOid(oid)) return;
      try {
        await fetchOne(repo, remote, oid);
      } catch (e) {
        if (isRvcError(e) && (e.code === 'OBJECT_MISSING' || e.code === 'OBJECT_CORRUPT')) return;
        throw e;
      }
      for (const e of repo.odb.readTree(oid)) {
        if (subpaths && !subpaths.some((s) => isInside(e.path, s))) continue;
        all.add(e.oid);
        if (!paths.has(e.oid)) paths.set(e.oid, [tracked ? `${tracked.rel}/${e.path}` : e.path]);
      }
    };
    const outs = repo.resolveTargets(opts.targets ?? [], opts.cwd);
    for (const oid of w.whole) await expand(outs.find((o) => o.tracked.out.oid === oid)?.tracked, oid);
    for (const p of w.partial) await expand(p.tracked, p.tracked.out.oid, p.subpaths);
    const list = [...all];
    const tick = new ProgressTicker(opts.onProgress ?? (() => {}), 'query', list.length);
    const keys = list.map((o) => objectKey(repo.odb.algo, o));
    const onRemote = await remote.existing(keys, (n) => tick.tick(n));
    tick.finish();
    const counts: Record<CloudState, number> = { new: 0, deleted: 0, missing: 0, 'in sync': 0 };
    const objects = list.map((oid, i) => {
      const local = repo.odb.hasSync(oid);
      const there = onRemote.has(keys[i]!);
      const state: CloudState = local && there ? 'in sync' : local ? 'new' : there ? 'deleted' : 'missing';
      counts[state]++;
      return { oid, state, paths: paths.get(oid) ?? [] };
    });
    return { remote: name, objects, counts };
  } finally {
    await remote.close();
  }
}

export interface CloudGcResult {
  remote: string;
  removed: string[];
  kept: number;
  dryRun: boolean;
}

/**
 * Deletes remote objects that nothing in the scope references. Manifests go first, so that a
 * manifest on the remote still implies all its files are there if this is interrupted.
 */
export async function gcCloud(repo: Repo, opts: { remote?: string; dryRun?: boolean; jobs?: number } & CommonOptions): Promise<CloudGcResult> {
  const keep = referencedOids(repo);
  const { name, remote } = await openRepoRemote(repo, opts.remote, opts.jobs !== undefined ? { jobs: opts.jobs } : {});
  try {
    const prefix = `${repo.odb.algo}/`;
    const trees: string[] = [];
    const files: string[] = [];
    let kept = 0;
    for await (const key of remote.list(prefix)) {
      const rest = key.slice(prefix.length);
      const oid = rest.replace('/', '');
      if (!/^[0-9a-f]{2}\//.test(rest)) continue; // not an object key
      if (keep.has(oid)) kept++;
      else (isTreeOid(oid) ? trees : files).push(key);
    }
    if (!opts.dryRun) {
      const limit = pLimit(opts.jobs ?? remote.jobs);
      await Promise.all(trees.map((k) => limit(() => remote.delete(k))));
      await Promise.all(files.map((k) => limit(() => remote.delete(k))));
    }
    return { remote: name, removed: [...trees, ...files], kept, dryRun: !!opts.dryRun };
  } finally {
    await remote.close();
  }
}
