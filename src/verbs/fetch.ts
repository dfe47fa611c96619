import { fetchData } from '../repo/fetch-data.js';
import { Repo } from '../repo/repo.js';
import type { SyncOptions, SyncResult } from '../repo/sync.js';

/**
 * Downloads the objects of the outputs in scope that the cache lacks; the workspace is not
 * changed. Targets: pointer files, tracked paths, paths inside tracked folders, stage outputs,
 * stages. See fetchData.
 */
export async function fetch(opts: SyncOptions = {}): Promise<SyncResult> {
  return fetchData(Repo.open(opts.cwd), opts);
}
