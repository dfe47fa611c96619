import pLimit from 'p-limit';
import { isRvcError } from '../errors.js';
import { isTreeOid, objectKey, type HashAlgo } from '../model/oid.js';
import { isInside } from '../model/paths.js';
import { ProgressTicker } from '../progress.js';
import { Repo } from '../repo/repo.js';
import { openRepoRemote } from '../repo/remotes.js';
import { fetchOne, group, wanted, type SyncOptions } from '../repo/sync.js';

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
