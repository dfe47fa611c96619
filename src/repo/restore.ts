import fs from 'node:fs';
import path from 'node:path';
import { RvcError, failureOf, isRvcError, type Failure } from '../errors.js';
import type { OutputKind, OutputSelection } from '../model/output.js';
import { checkoutOut } from '../odb/checkout.js';
import type { CommonOptions, Repo } from './repo.js';
import { noteLinkUse } from './links.js';
import { notePlaced, removeUnrecorded, type PlacedOut } from './placed.js';
import type { Output } from '../model/output.js';

export interface RestoreOptions extends CommonOptions {
  /** Overwrite or delete workspace changes that are not in the cache. */
  force?: boolean;
  /** Re-create every file with the configured link type. */
  relink?: boolean;
  /**
   * (pull) A `push: false` output whose data is not in the cache is left as it is and listed in
   * `unpushed` instead of failing: the remote was never meant to hold it.
   */
  skipUnpushed?: boolean;
}

/** What checkout did to one output (or the part of a folder a target named). */
export interface OutCheckout {
  /** The file that records it: the pointer file, or rvc.lock for a stage output. */
  pointerFile: string;
  path: string;
  kind: OutputKind;
  /** The stage that produces it, for a stage output. */
  stage?: string;
  added: number;
  modified: number;
  deleted: number;
  unchanged: number;
  /** A folder output's folder was missing (or a file stood there) and was created. */
  created?: boolean;
  error?: Failure;
}

export interface CheckoutResult {
  outs: OutCheckout[];
  failed: number;
  /** Without targets: outputs rvc had placed that nothing records any more, deleted. */
  removed: string[];
  /** Such outputs left in place because they hold changes that are not in the cache (warned). */
  kept: string[];
  /** With `skipUnpushed`: `push: false` outputs whose data this cache lacks, left as they are. */
  unpushed?: string[];
}

/**
 * Makes the workspace match the selected outputs, pointer and stage outputs alike (a `cache:
 * false` output has nothing to restore and is skipped). One output failing (its data not in
 * the cache, unsaved edits in the way) does not stop the others; the result lists it. A single
 * output that fails throws its error, as does unsaved work in the way of the one output a
 * target named. Call under the repository lock.
 */
export function restoreOutputs(repo: Repo, selections: readonly OutputSelection[], opts: RestoreOptions = {}): CheckoutResult {
  const outs: OutCheckout[] = [];
  const placed: PlacedOut[] = [];
  const chosen = selections.filter((s) => s.output.cached !== false && s.output.commit === undefined);
  const unpushed: string[] = [];
  for (const { output: o, subpath } of chosen) {
    if (opts.skipUnpushed && o.push === false && !repo.odbFor(o.out.hash).hasSync(o.out.oid)) {
      unpushed.push(subpath ? `${o.rel}/${subpath}` : o.rel);
      continue;
    }
    const row: OutCheckout = {
      pointerFile: o.file, path: subpath ? `${o.rel}/${subpath}` : o.rel, kind: o.kind, ...(o.stage !== undefined ? { stage: o.stage } : {}),
      added: 0, modified: 0, deleted: 0, unchanged: 0,
    };
    const abs = path.join(repo.root, o.rel);
    try {
      // A stage output may sit in a folder no pointer and no git checkout made.
      if (o.kind !== 'pointer') fs.mkdirSync(path.dirname(abs), { recursive: true });
      const r = checkoutOut({ abs, repoRel: o.rel, oid: o.out.oid, ...(o.out.exec ? { exec: true } : {}) }, {
        odb: repo.odbFor(o.out.hash), state: repo.stateFor(o.rel, o.out.hash), ignore: repo.ignore, repoRoot: repo.root, linkTypes: repo.linkTypes, jobs: repo.cacheJobs,
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
      placed.push({ path: o.rel, hash: o.out.hash, oid: o.out.oid });
    } catch (e) {
      if (!isRvcError(e) || e.code === 'CHECKOUT_WOULD_LOSE_DATA' && chosen.length === 1) throw e;
      row.error = failureOf(e);
    }
    outs.push(row);
  }
  notePlaced(repo, placed);
  const failed = outs.filter((o) => o.error).length;
  if (failed === outs.length && failed === 1) {
    const err = outs[0]!.error!;
    throw new RvcError(err.code, err.message, err.hint ? { hint: err.hint } : {});
  }
  return { outs, failed, removed: [], kept: [], ...(unpushed.length ? { unpushed } : {}) };
}

/**
 * `checkout` (and `pull`) of everything: restores every output the workspace records
 * (`recorded`, from the output index), then removes the data of outputs rvc placed that nothing
 * records any more (see removeUnrecorded). Call under the repository lock.
 */
export function restoreWorkspace(repo: Repo, recorded: readonly Output[], opts: RestoreOptions = {}): CheckoutResult {
  const res = restoreOutputs(repo, recorded.map((output) => ({ output })), opts);
  Object.assign(res, removeUnrecorded(repo, recorded, opts));
  return res;
}
