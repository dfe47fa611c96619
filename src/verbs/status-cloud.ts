import { Repo } from '../repo/repo.js';
import { cloudStatusAll, type CloudStatusResult, type SyncOptions } from '../repo/sync.js';

/**
 * `status --cloud`: for the objects of the outputs in scope (the set push uploads: fetch's less
 * the `push: false` outputs, which never go to the remote), whether the cache, the remote, both
 * or neither holds each. An output whose rvc.yaml entry names a `remote:` is compared with that
 * remote.
 */
export async function statusCloud(opts: SyncOptions = {}): Promise<CloudStatusResult> {
  return cloudStatusAll(Repo.open(opts.cwd), opts);
}
