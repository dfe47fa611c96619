import { Repo } from '../repo/repo.js';
import { fetchScope } from '../repo/fetch.js';
import type { SyncOptions, SyncResult } from '../repo/sync.js';

/** Downloads the objects of the outputs in scope that the cache lacks, manifests first, each verified by hash. */
export async function fetch(opts: SyncOptions = {}): Promise<SyncResult> {
  return fetchScope(Repo.open(opts.cwd), opts);
}
