import { RvcError } from '../../errors.js';
import { Repo, type CommonOptions } from '../../repo/repo.js';
import { runGit } from '../../scm/exec.js';
import { gitResolveCommit } from '../../scm/git.js';
import {
  assertExperimentName, deleteExperimentRef, expRefName, listExperimentRefs, refCommit, requireExperiment, type ExperimentRef,
} from '../../scm/experiments.js';

export interface ExpRemoveOptions extends CommonOptions {
  /** Experiments by name, ref or commit id. */
  experiments?: string[];
  /** Every experiment of every baseline (`-A`, as DVC's `--all`). */
  all?: boolean;
  /** Every experiment of these baselines (`--rev`). */
  revs?: string[];
}

export interface ExpRemoveResult {
  removed: ExperimentRef[];
}

/**
 * `rvc exp remove`: deletes experiment refs. Every name is resolved before anything is deleted,
 * so a typo removes nothing. The data the experiments recorded stays in the cache until `rvc gc`
 * (which keeps every remaining experiment's data).
 */
export function removeExperiments(opts: ExpRemoveOptions): ExpRemoveResult {
  const repo = Repo.open(opts.cwd);
  const all = listExperimentRefs(repo.root);
  const chosen = new Map<string, ExperimentRef>();
  if (opts.all) for (const e of all) chosen.set(e.ref, e);
  for (const rev of opts.revs ?? []) {
    const base = gitResolveCommit(repo.root, rev);
    for (const e of all) if (e.baseline === base) chosen.set(e.ref, e);
  }
  for (const spec of opts.experiments ?? []) {
    const e = requireExperiment(repo.root, spec, all);
    chosen.set(e.ref, e);
  }
  if (!opts.all && !opts.revs?.length && !opts.experiments?.length) {
    throw new RvcError('USAGE', 'exp remove needs experiments to remove', { hint: 'name them (`rvc exp remove swift-heron`), or use -A for all, --rev <commit> for a baseline\'s' });
  }
  for (const e of chosen.values()) deleteExperimentRef(repo.root, e.ref, e.commit);
  return { removed: [...chosen.values()] };
}

export interface ExpRenameResult {
  from: ExperimentRef;
  to: ExperimentRef;
}

/**
 * `rvc exp rename <exp> <new>`: moves the experiment to a new name of the same baseline.
 * Refuses a name that baseline already has (EXP_EXISTS). The commit is unchanged (its
 * `Rvc-Exp-Name` trailer keeps the name it was saved under; the ref is the experiment's name).
 */
export function renameExperiment(opts: CommonOptions & { experiment: string; name: string }): ExpRenameResult {
  const repo = Repo.open(opts.cwd);
  assertExperimentName(opts.name);
  const from = requireExperiment(repo.root, opts.experiment);
  const ref = expRefName(from.baseline, opts.name);
  if (refCommit(repo.root, ref)) {
    throw new RvcError('EXP_EXISTS', `experiment '${opts.name}' already exists for baseline ${from.baseline.slice(0, 7)}`, {
      hint: `choose another name, or remove that one first: \`rvc exp remove ${opts.name}\``,
    });
  }
  // Create the new ref only if absent, then delete the old only if unchanged: a concurrent
  // writer makes this fail rather than lose an experiment.
  runGit(['update-ref', '-m', `rvc exp rename: ${from.name} -> ${opts.name}`, ref, from.commit, ''], repo.root);
  deleteExperimentRef(repo.root, from.ref, from.commit);
  return { from, to: { ...from, name: opts.name, ref } };
}

export interface ExpBranchResult {
  experiment: ExperimentRef;
  branch: string;
}

/**
 * `rvc exp branch <exp> <branch>`: a git branch at the experiment's commit (its parent is the
 * baseline). Refuses a branch that exists. HEAD and the workspace are not touched.
 */
export function branchExperiment(opts: CommonOptions & { experiment: string; branch: string }): ExpBranchResult {
  const repo = Repo.open(opts.cwd);
  const experiment = requireExperiment(repo.root, opts.experiment);
  try {
    runGit(['check-ref-format', '--branch', opts.branch], repo.root);
  } catch {
    throw new RvcError('USAGE', `'${opts.branch}' is not a valid branch name`, { hint: 'use a name git accepts, e.g. `rvc exp branch ' + experiment.name + ' exp/' + experiment.name + '`' });
  }
  if (refCommit(repo.root, `refs/heads/${opts.branch}`)) {
    throw new RvcError('EXP_EXISTS', `branch '${opts.branch}' already exists`, { hint: `choose another branch name (\`git branch\` lists them)` });
  }
  runGit(['update-ref', '-m', `rvc exp branch: ${experiment.name}`, `refs/heads/${opts.branch}`, experiment.commit, ''], repo.root);
  return { experiment, branch: opts.branch };
}
