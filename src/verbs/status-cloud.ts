import { Repo } from '../repo/repo.js';
import { cloudStatusOf, objectsInScope, openSyncRemote, type CloudStatusResult, type SyncOptions } from '../repo/sync.js';

/**
 * `status --cloud`: for the objects of the outputs in scope (the set push uploads: fetch's less
 * the `push: false` outputs, which never go to the remote), whether the cache, the remote, both
 * or neither holds each.
 */
export async function statusCloud(opts: SyncOptions = {}): Promise<CloudStatusResult> {
  const repo = Repo.open(opts.cwd);
  const w = await objectsInScope(repo, opts, { forPush: true });
  const at = await openSyncRemote(repo, opts);
  try {
    return await cloudStatusOf(repo, w, at, opts);
  } finally {
    await at.remote.close();
  }
}
