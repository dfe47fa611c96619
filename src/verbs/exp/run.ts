import path from 'node:path';
import { RvcError } from '../../errors.js';
import { applyOverrides, type ParamOverride } from '../../pipeline/param-overrides.js';
import { Repo } from '../../repo/repo.js';
import { gitHead } from '../../scm/git.js';
import { allOutputs } from '../../model/pipeline.js';
import { isLockFile, pipelineFileIn } from '../../model/names.js';
import { readPipelineCached } from '../../repo/project.js';
import { assertNameFree, generateExperimentName, listExperimentRefs, runInputsDigest, saveExperimentCommit, workTreeSnapshotAt, type ExperimentRef } from '../../scm/experiments.js';
import { reproduce as repro, type ReproOptions, type ReproResult } from '../../pipeline/reproduce.js';

export type { ExperimentRef };

export interface ExpRunOptions extends ReproOptions {
  /** Parameter overrides of this one run (a sweep is expanded by the caller: expandSweeps). */
  overrides?: ParamOverride[];
  /** The experiment's name; default a generated one (`swift-heron`). */
  name?: string;
  /** First line of the experiment commit's message. */
  message?: string;
  /**
   * The commit the experiment is an experiment of (its commit's parent), when the work tree's
   * HEAD is not it: a queued run's copy is checked out at a snapshot of the workspace whose
   * parent is the baseline. Default: HEAD of the work tree.
   */
  baseline?: string;
}

export interface ExpRunResult {
  /** The experiment saved; undefined when an identical one existed (see identicalTo). */
  experiment?: ExperimentRef;
  /** An experiment of the same baseline with the same inputs: nothing was run (without `force`). */
  identicalTo?: ExperimentRef;
  /** The pipeline run; undefined when nothing was run. */
  repro?: ReproResult;
  /** Params files the overrides changed. */
  paramsChanged: string[];
}

/**
 * One experiment run in the work tree at `opts.cwd` (the workspace, or an isolated copy of a
 * commit): writes the overrides into the params files, runs the pipeline as `rvc repro` does,
 * and records the result as an experiment commit of the baseline (HEAD of that work tree) under
 * `refs/exps/` — never on a branch, HEAD and the user's index untouched. The work tree keeps the
 * result, as DVC's `exp run` does.
 *
 * Identical runs: the tree of the work tree before running (params, code, pointers, rvc.lock) is
 * the run's inputs; an experiment of the same baseline with the same inputs is returned as
 * `identicalTo` and nothing runs, unless `force`.
 */
export async function runExperiment(opts: ExpRunOptions = {}): Promise<ExpRunResult> {
  const repo = Repo.open(opts.cwd);
  const baseline = opts.baseline ?? gitHead(repo.root);
  if (!baseline) {
    throw new RvcError('REV_NOT_FOUND', 'experiments need a commit to start from, and this repository has none', {
      hint: 'commit the project first: `git add -A && git commit -m "baseline"`',
    });
  }
  const overrides = opts.overrides ?? [];
  // A name git cannot hold is refused before anything runs, not after the pipeline.
  if (opts.name !== undefined) assertNameFree(repo.root, baseline, opts.name, opts.force);
  const paramsDir = pipelineDirAt(repo, opts.cwd ?? process.cwd());
  const paramsChanged = overrides.length
    ? applyOverrides(path.join(repo.root, paramsDir), overrides).map((f) => (paramsDir === '.' ? f : path.posix.join(paramsDir, f)))
    : [];
  const inputs = runInputs(repo);
  const siblings = listExperimentRefs(repo.root, baseline);
  if (!opts.force) {
    const same = siblings.find((e) => e.trailers['Rvc-Exp-Inputs'] === inputs);
    if (same) return { identicalTo: same, paramsChanged };
  }
  const result = await repro(opts, repo);
  if (result.failed > 0 || result.interrupted) {
    const bad = result.stages.find((st) => st.status === 'failed');
    const why = bad ? `: stage '${bad.name}' ${bad.error ? bad.error.message : `exited ${bad.exitCode ?? bad.signal ?? ''}${bad.stderrTail ? ` (${bad.stderrTail.trim().split('\n').slice(-1)[0]})` : ''}`}` : '';
    throw new RvcError(result.interrupted ? 'INTERRUPTED' : 'STAGE_FAILED', `the experiment's pipeline ${result.interrupted ? 'was interrupted' : 'failed'}${why}; nothing was saved`, {
      hint: 'fix the stage and run `rvc exp run` again (the workspace holds the overrides)',
      details: { repro: result },
    });
  }
  const name = opts.name ?? generateExperimentName(inputs, new Set(siblings.map((e) => e.name)));
  const trailers: Record<string, string> = { 'Rvc-Exp-Inputs': inputs };
  if (overrides.length) trailers['Rvc-Exp-Params'] = JSON.stringify(overrides.map((o) => o.text));
  const experiment = saveExperimentCommit(repo.root, {
    workdir: repo.root, baseline, name, trailers,
    ...(opts.message !== undefined ? { message: opts.message } : {}), ...(opts.force ? { force: true } : {}),
  });
  return { experiment, repro: result, paramsChanged };
}

/**
 * The digest of the work tree's state before a run, leaving out what the run itself writes
 * (lock files, stage outputs git tracks): see runInputsDigest.
 */
export function runInputs(repo: Repo): string {
  const { tree, prefix } = workTreeSnapshotAt(repo.root);
  const outs = (readPipelineCached(repo)?.stages ?? []).flatMap((s) => allOutputs(s).map((o) => prefix + o.repoPath));
  const isResult = (topRel: string): boolean => isLockFile(topRel)
    || outs.some((o) => topRel === o || topRel.startsWith(`${o}/`));
  return runInputsDigest(repo.root, tree, isResult);
}

/**
 * The folder (relative to the root) of the pipeline the user is in: the nearest folder at or
 * above `cwd` holding a pipeline file, else the root. `-S file:key=value` names files from there,
 * and the default params file is that folder's `params.yaml`, as for the stages of that file.
 */
export function pipelineDirAt(repo: Repo, cwd: string): string {
  const files = new Set(repo.pipelineFiles().pipelines);
  for (let dir = repo.dirOf(cwd); dir !== '.'; dir = path.posix.dirname(dir)) {
    if (files.has(pipelineFileIn(dir))) return dir;
  }
  return '.';
}
