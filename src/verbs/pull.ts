import { isRvcError } from '../errors.js';
import { Repo } from '../repo/repo.js';
import { checkoutTargets, type CheckoutResult } from '../repo/checkout.js';
import { fetchScope } from '../repo/fetch.js';
import type { SyncOptions, SyncResult } from '../repo/sync.js';

export interface PullResult extends SyncResult {
  checkout: CheckoutResult;
}

/**
 * fetch over the scope, then checkout of the same targets in the workspace only (what could be
 * fetched is checked out even if some failed). Revisions in the scope only fill the cache.
 */
export async function pull(opts: SyncOptions & { force?: boolean } = {}): Promise<PullResult> {
  const f = await fetchScope(Repo.open(opts.cwd), opts);
  const co = await checkoutTargets(Repo.open(opts.cwd), { ...opts, ...(opts.targets ? { targets: opts.targets } : {}), ...(opts.force ? { force: true } : {}) }).catch((e) => {
    if (f.failed.length && isRvcError(e)) return { outs: [], failed: 1 } as CheckoutResult;
    throw e;
  });
  return { ...f, checkout: co };
}
