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
  const at = await openSyncRemote(repo, opts);
  let res: CloudStatusResult;
  try {
    res = await cloudStatusOf(repo, main!.w, at, opts);
  } finally {
    await at.remote.close();
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
