import { selectOutputs, workspaceOutputs } from '../repo/outputs.js';
import { Repo, type CommonOptions } from '../repo/repo.js';
import { restoreOutputs, type CheckoutResult } from '../repo/restore.js';

export type { CheckoutResult, OutCheckout } from '../repo/restore.js';

export interface CheckoutOptions extends CommonOptions {
  /** Pointer files, tracked paths, paths inside tracked folders, folders, stage outputs or stages. Default: everything. */
  targets?: string[];
  /** Overwrite or delete workspace changes that are not in the cache. */
  force?: boolean;
  /** Re-create every file with the configured link type. */
  relink?: boolean;
}

/**
 * Makes the workspace match what the project records — pointers and the stage outputs of
 * rvc.lock alike (after `git checkout`, a clone and fetch, or to undo edits).
 */
export async function checkout(opts: CheckoutOptions = {}): Promise<CheckoutResult> {
  const repo = Repo.open(opts.cwd);
  return repo.withLock('rvc checkout', opts, async () => {
    const selected = await selectOutputs(repo, await workspaceOutputs(repo), opts.targets ?? [], { ...(opts.cwd ? { cwd: opts.cwd } : {}), checkSubpaths: true });
    return restoreOutputs(repo, selected, opts);
  });
}
