import { RvcError, isRvcError } from '../errors.js';
import { checkoutOut } from '../odb/checkout.js';
import { Repo, type CommonOptions } from './repo.js';
import { noteLinkUse } from './links.js';
import { notePlaced, removeUnrecorded, type PlacedOut } from './placed.js';

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
  /** A folder output's folder was missing (or a file stood there) and was created. */
  created?: boolean;
  error?: { code: string; message: string; hint?: string };
}

export interface CheckoutResult {
  outs: OutCheckout[];
  failed: number;
  /** Without targets: outputs rvc had placed that nothing records any more, deleted. */
  removed: string[];
  /** Such outputs left in place because they hold changes that are not in the cache (warned). */
  kept: string[];
}

/**
 * Makes the workspace match the pointers (after `git checkout`, or to undo edits). One output
 * failing (e.g. its data not in the cache) does not stop the others; the result lists it.
 */
export async function checkout(opts: CheckoutOptions = {}): Promise<CheckoutResult> {
  const repo = Repo.open(opts.cwd);
  return repo.withLock('rvc checkout', opts, () => {
    const targets = repo.resolveTargets(opts.targets ?? [], opts.cwd);
    const outs: OutCheckout[] = [];
    const placed: PlacedOut[] = [];
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
        if (r.createdFolder) row.created = true;
        placed.push({ path: t.rel, hash: t.out.hash, oid: t.out.oid });
      } catch (e) {
        if (!isRvcError(e) || e.code === 'CHECKOUT_WOULD_LOSE_DATA' && targets.length === 1) throw e;
        row.error = { code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) };
      }
      outs.push(row);
    }
    notePlaced(repo, placed);
    const failed = outs.filter((o) => o.error).length;
    if (failed === outs.length && failed === 1) {
      const err = outs[0]!.error!;
      throw new RvcError(err.code as never, err.message, err.hint ? { hint: err.hint } : {});
    }
    const gone = opts.targets?.length ? { removed: [], kept: [] } : removeUnrecorded(repo, opts, targets.map((t) => t.tracked));
    return { outs, failed, ...gone };
  });
}
