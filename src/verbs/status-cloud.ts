import { Repo } from '../repo/repo.js';
import { cloudStatusOf, objectsByRemote, openSyncRemote, type CloudStatusResult, type SyncOptions } from '../repo/sync.js';

/**
 * `status --cloud`: for the objects of the outputs in scope (the set push uploads: fetch's less
 * the `push: false` outputs, which never go to the remote), whether the cache, the remote, both
 * or neither holds each. An output whose rvc.yaml entry names a `remote:` is compared with that
 * remote.
 */
export async function statusCloud(opts: SyncOptions = {}): Promise<CloudStatusResult> {
  const repo = Repo.open(opts.cwd);
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
