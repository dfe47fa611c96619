import { RvcError, failureOf, isRvcError, type Failure } from '../errors.js';
import { checkoutOut } from '../odb/checkout.js';
import type { CommonOptions, Repo } from './repo.js';
import { noteLinkUse } from './links.js';

export interface CheckoutOptions extends CommonOptions {
  targets?: string[];
  force?: boolean;
  relink?: boolean;
}

export interface OutCheckout {
  pointerFile: string;
  path: string;
  added: number;
  modified: number;
  deleted: number;
  unchanged: number;
  error?: Failure;
}

export interface CheckoutResult {
  outs: OutCheckout[];
  failed: number;
}

/**
 * Makes the workspace match the pointers of the targets (all by default), under the repository
 * lock. One output failing (e.g. its data not in the cache) does not stop the others; the
 * result lists it. Shared by `checkout` and `pull`.
 */
export async function checkoutTargets(repo: Repo, opts: CheckoutOptions = {}): Promise<CheckoutResult> {
  return repo.withLock('rvc checkout', opts, () => {
    const targets = repo.resolveTargets(opts.targets ?? [], opts.cwd);
    const outs: OutCheckout[] = [];
    for (const { tracked: t, subpath } of targets) {
      const row: OutCheckout = { pointerFile: t.pointerFile, path: subpath ? `${t.rel}/${subpath}` : t.rel, added: 0, modified: 0, deleted: 0, unchanged: 0 };
      try {
        const r = checkoutOut({ abs: t.abs, repoRel: t.rel, oid: t.out.oid, ...(t.out.exec ? { exec: true } : {}) }, {
          odb: repo.odbFor(t.out.hash), state: repo.stateFor(t.rel, t.out.hash), ignore: repo.ignore, repoRoot: repo.root, linkTypes: repo.linkTypes,
          ...(opts.force ? { force: true } : {}), ...(opts.relink ? { relink: true } : {}),
          ...(repo.recoveredFromCrash ? { sweepTemps: true } : {}),
          ...(subpath !== undefined ? { subpath } : {}),
          ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
        });
        noteLinkUse(repo, r.linkType, opts);
        row.added = r.added.length;
        row.modified = r.modified.length;
        row.deleted = r.deleted.length;
        row.unchanged = r.unchanged;
      } catch (e) {
        if (!isRvcError(e) || e.code === 'CHECKOUT_WOULD_LOSE_DATA' && targets.length === 1) throw e;
        row.error = failureOf(e);
      }
      outs.push(row);
    }
    const failed = outs.filter((o) => o.error).length;
    if (failed === outs.length && failed === 1) {
      const err = outs[0]!.error!;
      throw new RvcError(err.code, err.message, err.hint ? { hint: err.hint } : {});
    }
    return { outs, failed };
  });
}
