/** gc on the remote: deleting the remote objects a scope does not keep. */
import pLimit from 'p-limit';
import { HASH_ALGOS, isTreeOid, isValidOid } from '../model/oid.js';
import type { CommonOptions, Repo } from './repo.js';
import type { KeepSet } from './keep.js';
import { openRepoRemote } from './remotes.js';

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
