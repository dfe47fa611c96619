import { selectOutputs, targetFlagsOf, workspaceOutputs, type TargetFlags } from '../repo/outputs.js';
import { Repo, type CommonOptions } from '../repo/repo.js';
import { restoreOutputs, restoreWorkspace, type CheckoutResult } from '../repo/restore.js';

export type { CheckoutResult, OutCheckout } from '../repo/restore.js';

export interface CheckoutOptions extends CommonOptions, TargetFlags {
  /** Pointer files, tracked paths, paths inside tracked folders, folders, stage outputs or stages. Default: everything. */
  targets?: string[];
  /** Overwrite or delete workspace changes that are not in the cache. */
  force?: boolean;
  /** Re-create every file with the configured link type. */
  relink?: boolean;
}

/**
 * Makes the workspace match what the project records — pointers and the stage outputs of
 * rvc.lock alike (after `git checkout`, a clone and fetch, or to undo edits). Without targets it
 * also removes outputs it placed that nothing records any more, when their content is in the
 * cache (kept, with a warning, when it is not, unless `force`).
 */
export async function checkout(opts: CheckoutOptions = {}): Promise<CheckoutResult> {
  const repo = Repo.open(opts.cwd);
  return repo.withLock('rvc checkout', opts, async () => {
    const recorded = await workspaceOutputs(repo);
    // Without targets, data rvc placed that nothing records any more goes too (as in DVC).
    if (!opts.targets?.length) return restoreWorkspace(repo, recorded, opts);
    const selected = await selectOutputs(repo, recorded, opts.targets, { ...(opts.cwd ? { cwd: opts.cwd } : {}), checkSubpaths: true, ...targetFlagsOf(opts) });
    return restoreOutputs(repo, selected, opts);
  });
}
