import fs from 'node:fs';
import { RvcError } from '../errors.js';
import { isTreeOid, type HashAlgo } from '../model/oid.js';
import type { Odb } from '../odb/odb.js';
import { ProgressTicker } from '../progress.js';
import { Repo, type CommonOptions } from './repo.js';
import { scopeHasRevs, type RevScope } from './history.js';
import { scopedOutputs } from './outputs.js';

export interface GcOptions extends CommonOptions, RevScope {
  dryRun?: boolean;
  /** Also delete unreferenced objects from a remote. */
  cloud?: boolean;
  /**
   * The remote for `cloud`, and the one a referenced manifest missing from the cache is fetched
   * from (default: core.remote).
   */
  remote?: string;
  jobs?: number;
}

export interface GcResult {
  /** Objects removed (or, with dryRun, that would be). */
  removed: { oid: string; algo: HashAlgo; size: number }[];
  bytes: number;
  kept: number;
  /** Temp files of interrupted writes that were cleaned. */
  leftovers: number;
  dryRun: boolean;
  /** The revisions the scope covered (labels), besides the workspace. */
  revisions: string[];
  /** Manifests referenced in the scope that were fetched from the remote to see their files. */
  fetchedManifests: number;
  /** With `cloud`: what was (or would be) removed from the remote. */
  cloud?: { remote: string; removed: string[]; kept: number; leftovers: number };
}

/** The oids a scope keeps, per hash algorithm. */
export type KeepSet = Map<HashAlgo, Set<string>>;

function keepFor(keep: KeepSet, algo: HashAlgo): Set<string> {
  let s = keep.get(algo);
  if (!s) keep.set(algo, (s = new Set()));
  return s;
}

/**
 * Every oid the scope references, per algorithm, from the output index: the pointer outputs of
 * the workspace and of each revision in the scope, the rvc.lock outputs of the workspace and of
 * those revisions, and the run-cache. Folders expand to their files. A pointer's manifest
 * missing from the cache is fetched (alone, verified) from the remote; if that fails gc
 * refuses, naming the revision and path: without the manifest its files could not be told
 * apart from garbage. A stage or run-cache output whose manifest is not in the cache (a `cache:
 * false` output, or one never fetched) keeps nothing below it: without the manifest it cannot
 * be checked out anyway, and fetching it again brings its files too.
 */
export async function referencedOids(repo: Repo, scope: RevScope, opts: { remote?: string; jobs?: number } = {}): Promise<{ keep: KeepSet; revisions: string[]; fetched: number }> {
  const keep: KeepSet = new Map();
  keepFor(keep, repo.odb.algo);
  const { outs, revisions } = await scopedOutputs(repo, scope, { runCache: true });
  const expanded = new Set<string>();
  const expand = (algo: HashAlgo, oid: string): void => {
    if (expanded.has(`${algo}:${oid}`)) return;
    expanded.add(`${algo}:${oid}`);
    const k = keepFor(keep, algo);
    for (const e of repo.odbFor(algo).readTree(oid)) k.add(e.oid);
  };
  const missing = new Map<string, { algo: HashAlgo; oid: string; where: string[] }>();
  for (const { output: o } of outs) {
    const { hash: algo, oid } = o.out;
    keepFor(keep, algo).add(oid);
    if (!isTreeOid(oid)) continue;
    if (repo.odbFor(algo).hasSync(oid)) expand(algo, oid);
    else if (o.kind === 'pointer') {
      const m = missing.get(`${algo}:${oid}`) ?? { algo, oid, where: [] };
      m.where.push(`${o.where} (${o.file})`);
      missing.set(`${algo}:${oid}`, m);
    }
  }
  let fetched = 0;
  if (missing.size) {
    const { fetchManifests } = await import('./sync.js');
    const r = await fetchManifests(repo, [...missing.values()], opts);
    const first = r.failed[0];
    if (first) {
      const m = missing.get(`${first.algo}:${first.oid}`)!;
      const more = r.failed.length > 1 ? ` (and ${r.failed.length - 1} more)` : '';
      throw new RvcError('OBJECT_MISSING', `the manifest of ${m.where[0]}${more} is not in the cache and could not be fetched${r.remote ? ` from remote '${r.remote}'` : ''}: ${first.message}; gc cannot tell which files it needs, so it removed nothing`, {
        hint: 'fetch it (`rvc fetch` with the same scope), or narrow the scope; a pointer whose data is gone for good must be removed from that revision',
      });
    }
    fetched = r.fetched;
    for (const m of missing.values()) expand(m.algo, m.oid);
  }
  return { keep, revisions, fetched };
}

/** Whether the options name any scope at all. */
function hasScope(s: RevScope): boolean {
  return !!s.workspace || scopeHasRevs(s);
}

/**
 * Deletes cache objects nothing in the scope references. Without a scope it refuses. Any scope
 * with revisions keeps the workspace too (as DVC does): data checked out now is never garbage.
 */
export async function gc(opts: GcOptions = {}): Promise<GcResult> {
  if (!hasScope(opts)) {
    throw new RvcError('USAGE', 'gc needs a scope: which references to keep', {
      hint: 'use `rvc gc --workspace` to keep only what the current pointers use, or add --all-branches, --all-tags, --all-commits or --rev <rev> (try --dry-run first)',
    });
  }
  const repo = Repo.open(opts.cwd);
  return repo.withLock('rvc gc', opts, async () => {
    const { keep, revisions, fetched } = await referencedOids(repo, opts, opts);
    // Objects a running command stored (or found) and relies on before its reference is written.
    for (const [algo, oids] of repo.pinnedObjects()) for (const oid of oids) keepFor(keep, algo).add(oid);
    const removed: GcResult['removed'] = [];
    let kept = 0;
    let leftovers = 0;
    const trees: [Odb, string][] = [];
    const files: [Odb, string][] = [];
    for (const odb of repo.allOdbs()) {
      const k = keep.get(odb.algo) ?? new Set<string>();
      for (const item of odb.list()) {
        if ('leftover' in item) {
          leftovers++;
          if (!opts.dryRun) fs.rmSync(item.leftover, { force: true });
          continue;
        }
        if (k.has(item.oid)) kept++;
        else (isTreeOid(item.oid) ? trees : files).push([odb, item.oid]);
      }
    }
    if (!opts.dryRun && trees.length + files.length) for (const odb of repo.allOdbs()) odb.clearCompleteMarks();
    // Trees go before their files, so a crash midway never leaves a tree whose files are gone.
    const tick = new ProgressTicker(opts.onProgress ?? (() => {}), 'gc', trees.length + files.length);
    for (const [odb, oid] of [...trees, ...files]) {
      const size = odb.sizeOf(oid);
      if (!opts.dryRun) odb.remove(oid);
      removed.push({ oid, algo: odb.algo, size });
      tick.tick();
    }
    tick.finish();
    // Again after deleting: a status that checked a manifest's files while they were being
    // deleted wrote its mark into the generation this ends (see Odb.markComplete).
    if (!opts.dryRun && trees.length + files.length) for (const odb of repo.allOdbs()) odb.clearCompleteMarks();
    const res: GcResult = {
      removed, bytes: removed.reduce((s, r) => s + r.size, 0), kept, leftovers, dryRun: !!opts.dryRun, revisions, fetchedManifests: fetched,
    };
    if (opts.cloud) {
      const { gcCloud } = await import('./sync.js');
      const c = await gcCloud(repo, keep, opts);
      res.cloud = { remote: c.remote, removed: c.removed, kept: c.kept, leftovers: c.leftovers };
    }
    return res;
  });
}
