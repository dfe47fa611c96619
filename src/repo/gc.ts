import fs from 'node:fs';
import path from 'node:path';
import { RvcError } from '../errors.js';
import { isTreeOid, type HashAlgo } from '../model/oid.js';
import { parseLock, type LockFileEntry } from '../model/lock.js';
import { readTextIfExists } from '../fsutil/atomic.js';
import type { Odb } from '../odb/odb.js';
import { ProgressTicker } from '../progress.js';
import { Repo, type CommonOptions } from './repo.js';

export interface GcOptions extends CommonOptions {
  workspace?: boolean;
  dryRun?: boolean;
  /** Also delete unreferenced objects from a remote. */
  cloud?: boolean;
  remote?: string;
  jobs?: number;
}

export interface GcResult {
  /** Objects removed (or, with dryRun, that would be). */
  removed: { oid: string; size: number }[];
  bytes: number;
  kept: number;
  /** Temp files of interrupted writes that were cleaned. */
  leftovers: number;
  dryRun: boolean;
  /** With `cloud`: what was (or would be) removed from the remote. */
  cloud?: { remote: string; removed: string[]; kept: number };
}

/**
 * Collects every oid the chosen scope references (folders expand to their files). Refuses if a
 * referenced manifest is missing: its files could not be told apart from garbage.
 */
export function referencedOids(repo: Repo, algo: HashAlgo = repo.odb.algo): Set<string> {
  const keep = new Set<string>();
  const odb = repo.odbFor(algo);
  for (const t of repo.allOuts()) {
    if (t.out.hash !== algo) continue;
    keep.add(t.out.oid);
    if (isTreeOid(t.out.oid)) {
      if (!odb.hasSync(t.out.oid)) {
        throw new RvcError('OBJECT_MISSING', `the manifest of '${t.rel}' (${t.pointerFile}) is not in the cache, so gc cannot tell which files it needs`, {
          path: t.pointerFile, hint: 'fetch it first (`rvc fetch`), or remove the pointer if the data is gone for good',
        });
      }
      for (const e of odb.readTree(t.out.oid)) keep.add(e.oid);
    }
  }
  keepPipelineOids(repo, algo, keep);
  return keep;
}

/**
 * Pipeline outputs are referenced by rvc.lock (no pointer files) and by run-cache entries
 * (`.rvc/cache/runs/<algo>/ab/…`, JSON with a lock entry under `stage`). A folder output keeps
 * its files. An output whose manifest is not in the cache (a `cache: false` output, or one
 * never fetched) keeps nothing below it: without the manifest it cannot be checked out anyway,
 * and fetching it again brings its files too.
 */
function keepPipelineOids(repo: Repo, algo: HashAlgo, keep: Set<string>): void {
  const odb = repo.odbFor(algo);
  const keepOut = (o: LockFileEntry): void => {
    if (o.hash !== algo) return;
    keep.add(o.oid);
    if (isTreeOid(o.oid) && odb.hasSync(o.oid)) for (const e of odb.readTree(o.oid)) keep.add(e.oid);
  };
  const lockText = readTextIfExists(path.join(repo.root, 'rvc.lock'));
  if (lockText !== undefined && lockText.trim() !== '') {
    for (const st of Object.values(parseLock(lockText, 'rvc.lock').stages)) for (const o of st.outs) keepOut(o);
  }
  const runs = path.join(repo.cacheDir, 'runs', algo);
  let shards: string[] = [];
  try {
    shards = fs.readdirSync(runs);
  } catch {
    // no run-cache
  }
  for (const shard of shards) {
    let names: string[] = [];
    try {
      names = fs.readdirSync(path.join(runs, shard));
    } catch {
      continue;
    }
    for (const n of names) {
      const file = path.join(runs, shard, n);
      try {
        const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as { stage?: unknown };
        const st = parseLock(JSON.stringify({ schema: '1.0', stages: { run: raw.stage } }), file).stages['run'];
        for (const o of st?.outs ?? []) keepOut(o);
      } catch {
        // a damaged entry references nothing
      }
    }
  }
}

/** Deletes cache objects nothing in the scope references. Without a scope it refuses. */
export async function gc(opts: GcOptions = {}): Promise<GcResult> {
  if (!opts.workspace) {
    throw new RvcError('USAGE', 'gc needs a scope: which references to keep', {
      hint: 'use `rvc gc --workspace` to keep only what the current pointers use (add --dry-run to see first)',
    });
  }
  const repo = Repo.open(opts.cwd);
  return repo.withLock('rvc gc', opts, async () => {
    const removed: { oid: string; size: number }[] = [];
    let kept = 0;
    let leftovers = 0;
    const trees: [Odb, string][] = [];
    const files: [Odb, string][] = [];
    for (const odb of repo.allOdbs()) {
      const keep = referencedOids(repo, odb.algo);
      for (const item of odb.list()) {
        if ('leftover' in item) {
          leftovers++;
          if (!opts.dryRun) fs.rmSync(item.leftover, { force: true });
          continue;
        }
        if (keep.has(item.oid)) kept++;
        else (isTreeOid(item.oid) ? trees : files).push([odb, item.oid]);
      }
    }
    if (!opts.dryRun && trees.length + files.length) for (const odb of repo.allOdbs()) odb.clearCompleteMarks();
    // Trees go before their files, so a crash midway never leaves a tree whose files are gone.
    const tick = new ProgressTicker(opts.onProgress ?? (() => {}), 'gc', trees.length + files.length);
    for (const [odb, oid] of [...trees, ...files]) {
      const size = odb.sizeOf(oid);
      if (!opts.dryRun) odb.remove(oid);
      removed.push({ oid, size });
      tick.tick();
    }
    tick.finish();
    const res: GcResult = { removed, bytes: removed.reduce((s, r) => s + r.size, 0), kept, leftovers, dryRun: !!opts.dryRun };
    if (opts.cloud) {
      const { gcCloud } = await import('./sync.js');
      const c = await gcCloud(repo, opts);
      res.cloud = { remote: c.remote, removed: c.removed, kept: c.kept };
    }
    return res;
  });
}
