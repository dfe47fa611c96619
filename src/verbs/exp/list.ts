import { RvcError } from '../../errors.js';
import { compareStrings } from '../../model/values.js';
import { Repo, type CommonOptions } from '../../repo/repo.js';
import { gitHead, gitRefCommits, gitResolveCommit } from '../../scm/git.js';
import { listExperimentRefs, type ExperimentRef } from '../../scm/experiments.js';

export interface ExpListOptions extends CommonOptions {
  /** Every baseline's experiments (`-A`), not only HEAD's. */
  all?: boolean;
  /** The experiments of this revision instead of HEAD's. */
  rev?: string;
}

export interface ExpBaseline {
  /** The baseline commit (full oid). */
  baseline: string;
  /** Branches and tags pointing at it, and `HEAD` when it is HEAD. */
  names: string[];
  /** Its experiments, newest first. */
  experiments: ExperimentRef[];
}

export interface ExpListResult {
  baselines: ExpBaseline[];
}

/**
 * `rvc exp list`: the experiments of HEAD (or of `rev`), or with `all` of every baseline,
 * grouped by baseline with the branch and tag names that point at it. One `git for-each-ref`
 * for the experiments and one per ref kind for the names.
 */
export function listExperiments(opts: ExpListOptions = {}): ExpListResult {
  const repo = Repo.open(opts.cwd);
  const head = gitHead(repo.root);
  let only: string | undefined;
  if (!opts.all) {
    only = opts.rev !== undefined ? gitResolveCommit(repo.root, opts.rev) : head;
    if (!only) {
      throw new RvcError('REV_NOT_FOUND', 'this repository has no commit yet, so no experiment', { hint: 'commit the project first, then `rvc exp run`' });
    }
  }
  const exps = listExperimentRefs(repo.root, only);
  const names = new Map<string, string[]>();
  const nameOf = (commit: string, n: string): void => {
    names.set(commit, [...(names.get(commit) ?? []), n]);
  };
  if (head) nameOf(head, 'HEAD');
  for (const r of [...gitRefCommits(repo.root, 'heads'), ...gitRefCommits(repo.root, 'tags')]) nameOf(r.commit, r.name);
  const groups = new Map<string, ExperimentRef[]>();
  if (only) groups.set(only, []);
  for (const e of exps) groups.set(e.baseline, [...(groups.get(e.baseline) ?? []), e]);
  const baselines = [...groups].map(([baseline, experiments]) => ({ baseline, names: names.get(baseline) ?? [], experiments }));
  // HEAD's first, then named baselines, then by oid: a stable order for scripts.
  baselines.sort((a, b) => Number(b.baseline === head) - Number(a.baseline === head)
    || Number(b.names.length > 0) - Number(a.names.length > 0) || compareStrings(a.baseline, b.baseline));
  return { baselines };
}
