import { Repo } from '../repo/repo.js';
import { pushData } from '../repo/push-data.js';
import type { SyncOptions, SyncResult } from '../repo/sync.js';

/**
 * Uploads the cache objects of the outputs in scope that the remote lacks: pointer and stage
 * outputs of the workspace (narrowed by targets) and of the revisions the scope names; with
 * `runCache`, the run-cache's entries after their outputs. See pushData.
 */
export async function push(opts: SyncOptions = {}): Promise<SyncResult> {
  return pushData(Repo.open(opts.cwd), opts);
}
