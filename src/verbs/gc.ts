import { liveCopyRuns } from '../repo/copies.js';
import fs from 'node:fs';
import path from 'node:path';
import { RvcError } from '../errors.js';
import { isTreeOid, type HashAlgo } from '../model/oid.js';
import { CHUNKS_SUFFIX } from '../model/chunks.js';
import type { Odb } from '../odb/odb.js';
import { ProgressTicker } from '../progress.js';
import { Repo, type CommonOptions } from '../repo/repo.js';
import { scopeHasRevs, type RevScope } from '../repo/history.js';
import { judgeRunEntries, keepFor, referencedOids } from '../repo/keep.js';
import { listRunEntries, removeRunEntryIf } from '../repo/run-cache.js';
import type { CloudPackGc } from '../repo/gc-remote.js';
import type { PackIndex } from '../model/pack.js';

/** A local pack stays whole while its kept objects fill at least this share of its bytes. */
const PACK_KEEP_FRACTION = 0.5;

export type { CloudPackGc, PackAction } from '../repo/gc-remote.js';

export interface GcOptions extends CommonOptions, RevScope {
  dryRun?: boolean;
  /**
   * Keep every run-cache entry and the objects it records. By default an entry is kept only
   * when the scope keeps every output it records (see judgeRunEntries); the others go, and with
   * them the objects only they held.
   */
  keepRunCache?: boolean;
  /** Also delete unreferenced objects from a remote (and repack its sparse packs). */
  cloud?: boolean;
  /** With `cloud`: also move the remote's small loose objects that the scope keeps into packs. */
  repack?: boolean;
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
  /**
   * Run-cache entries removed (or, with dryRun, that would be) — each its key under the cache
   * folder and the output paths it recorded — and the number kept.
   */
  runs: { removed: RemovedRunEntry[]; kept: number };
  /** Temp files of interrupted writes that were cleaned. */
  leftovers: number;
  dryRun: boolean;
  /** The revisions the scope covered (labels), besides the workspace. */
  revisions: string[];
  /** Manifests referenced in the scope that were fetched from the remote to see their files. */
  fetchedManifests: number;
  /** With `cloud`: what was (or would be) removed from the remote. */
  cloud?: { remote: string; removed: string[]; kept: number; runs: { removed: string[]; kept: number }; leftovers: number; packs: CloudPackGc };
}

/** A run-cache entry gc removed: `runs/<algo>/<ab>/<rest>` and the outputs it recorded. */
export interface RemovedRunEntry {
  entry: string;
  outs: string[];
  /** It did not parse: it recorded nothing usable. */
  damaged?: true;
}

/** Whether the options name any scope at all. */
function hasScope(s: RevScope): boolean {
  return !!s.workspace || scopeHasRevs(s);
}

/**
 * Deletes cache objects nothing in the scope references, and the run-cache entries whose
 * outputs the scope does not keep (unless keepRunCache). Without a scope it refuses. Any scope
 * with revisions keeps the workspace too (as DVC does): data checked out now is never garbage.
 */
export async function gc(opts: GcOptions = {}): Promise<GcResult> {
  if (!hasScope(opts)) {
    throw new RvcError('USAGE', 'gc needs a scope: which references to keep', {
      hint: 'use `rvc gc --workspace` to keep only what the current pointers use, or add --all-branches, --all-tags, --all-commits or --rev <rev> (try --dry-run first)',
    });
  }
  if (opts.repack && !opts.cloud) {
    throw new RvcError('USAGE', '--repack works on a remote: it needs --cloud', {
      hint: 'run `rvc gc --cloud --repack` with a scope, e.g. `rvc gc -w --cloud --repack`',
    });
  }
  const repo = Repo.open(opts.cwd);
  return repo.withLock('rvc gc', opts, async () => {
    // A run in a copy (verify, a queued experiment) stores objects its references do not name
    // yet, and pins them in its own folder under its own lock: gc waits for it to end.
    const live = opts.dryRun ? [] : liveCopyRuns(repo);
    if (live.length) {
      throw new RvcError('LOCKED', `${live[0]!.what} is running (pid ${live[0]!.pid})${live.length > 1 ? ` and ${live.length - 1} more run(s)` : ''}: gc could delete what it is storing`, {
        hint: 'run `rvc gc` again once it has finished (`rvc queue status` shows the queue; `rvc queue stop` ends it)',
      });
    }
    const keepRunCache = !!opts.keepRunCache;
    // Experiments are kept whatever the scope: their data goes only once `rvc exp remove` drops them.
    const { keep, revisions, fetched } = await referencedOids(repo, repo.scm ? { ...opts, allExperiments: true } : opts, { ...opts, runCache: keepRunCache, ...(opts.cloud ? { cloud: true } : {}) });
    // Objects a running command stored (or found) and relies on before its reference is written.
    for (const [algo, oids] of repo.pinnedObjects()) for (const oid of oids) keepFor(keep, algo).add(oid);
    // Run-cache entries go before any object, so a crash in between leaves unreferenced objects
    // (the next gc collects them), never an entry naming a missing object. repro writes an
    // entry only after rvc.lock names its outputs, and rvc.lock is written under the lock gc
    // holds now: an entry written for a run in progress is either unseen here or live.
    const runs: GcResult['runs'] = { removed: [], kept: 0 };
    if (keepRunCache) runs.kept = listRunEntries(repo).length;
    else {
      const { live, dead } = judgeRunEntries(repo, keep);
      runs.kept = live.length;
      for (const e of dead) {
        if (!opts.dryRun && !removeRunEntryIf(e.file, e.text, path.relative(repo.root, e.file))) {
          runs.kept++;
          continue;
        }
        runs.removed.push({ entry: e.entry, outs: e.outs, ...(e.damaged ? { damaged: true as const } : {}) });
      }
    }
    const removed: GcResult['removed'] = [];
    let kept = 0;
    let leftovers = 0;
    const trees: [Odb, string][] = [];
    const files: [Odb, string][] = [];
    for (const odb of repo.allOdbs()) {
      const k = keepFor(keep, odb.algo);
      for (const item of odb.list()) {
        if ('leftover' in item) {
          leftovers++;
          if (!opts.dryRun) fs.rmSync(item.leftover, { force: true });
          continue;
        }
        if (item.pack !== undefined) continue; // judged per pack below
        if (item.oid.endsWith(CHUNKS_SUFFIX)) {
          // A chunk list lives as long as its file; its chunks as long as a kept list names them.
          if (k.has(item.oid.slice(0, -CHUNKS_SUFFIX.length))) {
            kept++;
            const chunks = odb.chunksListed(item.oid.slice(0, -CHUNKS_SUFFIX.length));
            // Marked read only when it parsed: gc --cloud then reads the remote's list instead.
            if (chunks.length) k.add(item.oid);
            for (const c of chunks) k.add(c.oid);
          } else trees.push([odb, item.oid]);
        } else if (k.has(item.oid)) kept++;
        else (isTreeOid(item.oid) ? trees : files).push([odb, item.oid]);
      }
    }
    // Chunks listed after the chunk list that keeps them: judged again now that every list was read.
    for (let i = files.length - 1; i >= 0; i--) {
      const [odb, oid] = files[i]!;
      if (keep.get(odb.algo)?.has(oid)) {
        files.splice(i, 1);
        kept++;
      }
    }
    // Local packs are judged whole (see docs/architecture.md): rewriting a pack per dead object
    // would cost more than the objects. A pack with nothing kept goes; one whose kept objects are
    // under half its bytes has them written loose, then goes; any other stays whole, and its dead
    // objects count as kept (the space is not freed).
    const packPlan: { odb: Odb; id: string; index: PackIndex; live: Set<string> | undefined }[] = [];
    for (const odb of repo.allOdbs()) {
      const k = keepFor(keep, odb.algo);
      for (const p of odb.localPacks()) {
        if (!p.index) continue; // listed as a leftover above
        const live = new Set<string>();
        let liveBytes = 0;
        for (const e of p.index.entries) {
          if (k.has(e.oid)) {
            live.add(e.oid);
            liveBytes += e.length;
          }
        }
        if (live.size === p.index.entries.length || (live.size > 0 && liveBytes >= p.index.packSize * PACK_KEEP_FRACTION)) {
          kept += p.index.entries.length;
          continue;
        }
        kept += live.size;
        packPlan.push({ odb, id: p.id, index: p.index, live: live.size ? live : undefined });
      }
    }
    const deleting = trees.length + files.length + packPlan.length > 0;
    if (!opts.dryRun && deleting) for (const odb of repo.allOdbs()) odb.clearCompleteMarks();
    // Trees go before their files, so a crash midway never leaves a tree whose files are gone.
    const tick = new ProgressTicker(opts.onProgress ?? (() => {}), 'gc', trees.length + files.length);
    for (const [odb, oid] of [...trees, ...files]) {
      const size = odb.sizeOf(oid);
      if (!opts.dryRun) odb.remove(oid);
      removed.push({ oid, algo: odb.algo, size });
      tick.tick();
    }
    // An object removed loose above and also in a dropped pack is listed once.
    const listed = new Set(packPlan.length ? removed.map((r) => `${r.algo}:${r.oid}`) : []);
    for (const p of packPlan) {
      const live = p.live;
      if (!opts.dryRun) p.odb.dropPack(p.id, p.index, (oid) => !!live?.has(oid));
      for (const e of p.index.entries) {
        if (live?.has(e.oid) || listed.has(`${p.odb.algo}:${e.oid}`)) continue;
        listed.add(`${p.odb.algo}:${e.oid}`);
        removed.push({ oid: e.oid, algo: p.odb.algo, size: e.length });
      }
    }
    if (!opts.dryRun && packPlan.length) for (const odb of repo.allOdbs()) odb.reloadPacks();
    tick.finish();
    // Again after deleting: a status that checked a manifest's files while they were being
    // deleted wrote its mark into the generation this ends (see Odb.markComplete).
    if (!opts.dryRun && deleting) for (const odb of repo.allOdbs()) odb.clearCompleteMarks();
    const res: GcResult = {
      removed, bytes: removed.reduce((s, r) => s + r.size, 0), kept, runs, leftovers, dryRun: !!opts.dryRun, revisions, fetchedManifests: fetched,
    };
    if (opts.cloud) {
      const { gcCloud } = await import('../repo/gc-remote.js');
      const c = await gcCloud(repo, keep, opts);
      res.cloud = { remote: c.remote, removed: c.removed, kept: c.kept, runs: c.runs, leftovers: c.leftovers, packs: c.packs };
    }
    return res;
  });
}
