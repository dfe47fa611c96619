import { allOutputs } from '../model/pipeline.js';
import { selectStages } from '../model/dag.js';
import { sweepStaleTemps } from '../fsutil/atomic.js';
import { Repo } from '../repo/repo.js';
import { checkMissingDeps, loadProject, stageRoots, withFileLock, type LoadedProject } from '../repo/project.js';
import { pruneLockFiles } from './lock-io.js';
import { refuseForeignOutputs } from './outs-guard.js';
import { MissingPuller, type PullMissingResult } from './pull-missing.js';
import { Runner, type ReproResult, type RunnerOptions, type StageConfirmEvent, type StageRunResult, type StageRunStatus, type StageStartEvent } from './runner.js';

export type { ReproResult, StageRunResult, StageRunStatus, StageStartEvent, StageConfirmEvent, PullMissingResult };

/** Whether a pointer records this path (or a folder holding it). */
export interface ReproOptions extends RunnerOptions {
  /**
   * Before running, download missing data from the remote (`--pull`): see pullMissing. Not with `dry`.
   */
  pull?: boolean;
  /** The remote `pull` downloads from; default core.remote. */
  remote?: string;
  /** Stage names, foreach groups, or output paths; default: every stage. */
  targets?: string[];
  /** Only the targets, not what they depend on (`-s`). */
  single?: boolean;
  /** The targets and everything that depends on them (`--downstream`). */
  downstream?: boolean;
  /** Without targets, every pipeline of the project, not only those at or below `cwd` (`-P`). */
  allPipelines?: boolean;
  /** A folder target means the pipeline files at or below it (`-R`). */
  recursive?: boolean;
}

/**
 * `rvc repro`: brings the selected stages up to date, upstream first. A stage runs when
 * checkStage finds it stale; a stage whose inputs were seen before has its outputs restored
 * from the run-cache instead. After a run its outputs are stored in the cache, git-ignored and
 * recorded in rvc.lock (only that stage's entry is rewritten).
 *
 * Concurrency: the repository lock is taken only for the moment an entry is written, never
 * while a command runs; each running stage holds locks on its outputs instead. Aborting
 * `opts.signal` signals the running commands' process groups and writes nothing for them.
 * `repo`: the caller's handle on the repository at `opts.cwd`, when it has one.
 */
export async function reproduce(opts: ReproOptions = {}, repo: Repo = Repo.open(opts.cwd)): Promise<ReproResult> {
  const project = loadProject(repo);
  const roots = stageRoots(project, opts.targets ?? [], opts.cwd ?? process.cwd(), {
    ...(opts.allPipelines ? { allPipelines: true } : {}), ...(opts.recursive ? { recursive: true } : {}),
  });
  const selected = selectStages(project.graph, roots, {
    ...(opts.single ? { single: true } : {}), ...(opts.downstream ? { downstream: true } : {}),
  });
  const puller = opts.pull && !opts.dry ? new MissingPuller(project, { ...opts, runCache: !opts.noRunCache && !opts.force }) : undefined;
  try {
    await puller?.prepare(selected);
    return await reproSelected(repo, project, selected, puller ? { ...opts, fetchOutputs: puller.fetchOutputs } : opts, puller);
  } finally {
    await puller?.close();
  }
}

async function reproSelected(repo: Repo, project: LoadedProject, selected: string[], opts: ReproOptions, puller: MissingPuller | undefined): Promise<ReproResult> {
  checkMissingDeps(project, selected, opts.allowMissing ? { allowMissing: true } : {});
  // Entries of stages their pipeline file no longer declares go (the file was edited since).
  const pruned = opts.dry ? [] : await pruneLockFiles(repo, project.pipeline.stages, project.pipeline.files, project.lock, opts);
  for (const w of pruned) project.lock = withFileLock(project.lock, w.lockFile, w.lock);
  if (pruned.length) project.stamp = { ...project.stamp, ...Object.fromEntries(pruned.map((w) => [w.lockFile, w.stamp])) };
  // Pins a killed run left (its PID is gone) protect nothing; gc would remove them too.
  sweepStaleTemps(repo.pinDir);
  // Before any stage runs: no selected stage may own rvc's files, git-tracked or pointer-tracked data.
  await refuseForeignOutputs(repo, selected.map((n) => project.graph.stages.get(n)!).filter((s) => !s.frozen)
    .map((s) => ({ name: s.name, outs: allOutputs(s) })));
  const runner = new Runner(project, opts);
  const res = await runner.run(selected);
  if (pruned.length) {
    res.lockChanged = true;
    res.pruned = pruned.map((w) => w.lockFile);
    res.lockFiles = [...new Set([...res.lockFiles, ...res.pruned])].sort();
  }
  return puller ? { ...res, pulled: puller.result() } : res;
}
