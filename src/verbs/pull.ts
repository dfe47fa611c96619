import { isRvcError } from '../errors.js';
import { fetchData } from '../repo/fetch-data.js';
import { selectOutputs, targetFlagsOf, workspaceOutputs } from '../repo/outputs.js';
import { Repo } from '../repo/repo.js';
import { restoreOutputs, restoreWorkspace, type CheckoutResult } from '../repo/restore.js';
import type { SyncOptions, SyncResult } from '../repo/sync.js';

export interface PullResult extends SyncResult {
  checkout: CheckoutResult;
}

/**
 * fetch over the scope, then checkout of the same targets in the workspace (what could be
 * fetched is checked out even if some failed). Revisions in the scope only fill the cache. A
 * `push: false` output the cache lacks is left as it is (`checkout.unpushed`), not a failure.
 */
export async function pull(opts: SyncOptions & { force?: boolean } = {}): Promise<PullResult> {
  const repo = Repo.open(opts.cwd);
  const f = await fetchData(repo, opts);
  const co = await repo.withLock('rvc pull (checkout)', opts, async () => {
    const recorded = await workspaceOutputs(repo);
    const ro = { ...opts, skipUnpushed: true };
    if (!opts.targets?.length) return restoreWorkspace(repo, recorded, ro);
    const selected = await selectOutputs(repo, recorded, opts.targets, { ...(opts.cwd ? { cwd: opts.cwd } : {}), checkSubpaths: true, ...targetFlagsOf(opts) });
    return restoreOutputs(repo, selected, ro);
  }).catch((e: unknown) => {
    if (f.failed.length && isRvcError(e)) return { outs: [], failed: 1, removed: [], kept: [] } as CheckoutResult;
    throw e;
  });
  return { ...f, checkout: co };
}
