import { Repo } from '../repo/repo.js';
import { emptySyncResult, objectsInScope, openSyncRemote, pushWanted, type SyncOptions, type SyncResult } from '../repo/sync.js';
import { pushRunEntries } from '../repo/run-cache-transfer.js';

/**
 * Uploads the cache objects of the outputs in scope that the remote lacks: pointer and stage
 * outputs of the workspace (narrowed by targets: paths, stage outputs, stages) and of the
 * revisions the scope names; with `runCache`, the run-cache's entries after their outputs.
 * Imported data is not pushed (as in DVC): it lives in, and is restored from, its source.
 */
export async function push(opts: SyncOptions = {}): Promise<SyncResult> {
  const repo = Repo.open(opts.cwd);
  const w = await objectsInScope(repo, opts, { forPush: true });
  if (w.set.empty && w.set.imports.length && !opts.runCache) return emptySyncResult(repo, opts, w.revisions);
  const to = await openSyncRemote(repo, opts);
  try {
    const res = await pushWanted(repo, w, to, opts);
    if (opts.runCache) res.runs = await pushRunEntries(repo, to.remote, opts);
    return res;
  } finally {
    await to.remote.close();
  }
}
