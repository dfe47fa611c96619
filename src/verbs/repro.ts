import { allOutputs } from '../model/pipeline.js';
import { selectStages } from '../model/dag.js';
import { sweepStaleTemps } from '../fsutil/atomic.js';
import { Repo } from '../repo/repo.js';
import { checkMissingDeps, loadProject, resolveStageTargets, type LoadedProject } from '../repo/project.js';
import { refuseForeignOutputs } from '../pipeline/outs-guard.js';
import { MissingPuller, type PullMissingResult } from '../pipeline/pull-missing.js';
import { workspacePointerOutputs } from '../repo/outputs.js';
import { Runner, type ReproResult, type RunnerOptions, type StageConfirmEvent, type StageRunResult, type StageRunStatus, type StageStartEvent } from '../pipeline/runner.js';

export type { ReproResult, StageRunResult, StageRunStatus, StageStartEvent, StageConfirmEvent, PullMissingResult };

/** Whether a pointer records this path (or a folder holding it). */
function pointerRecorded(repo: Repo): (rel: string) => boolean {
  const rels = workspacePointerOutputs(repo, { skipDamagedPointers: true }).map((o) => o.rel);
  return (rel) => rels.some((r) => r === rel || rel.startsWith(`${r}/`));
}

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
 */
export async function repro(opts: ReproOptions = {}): Promise<ReproResult> {
  const repo = Repo.open(opts.cwd);
  const project = loadProject(repo);
  const selected = selectStages(project.graph, resolveStageTargets(project, opts.targets ?? [], opts.cwd ?? process.cwd()), {
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
  // With allowMissing, a dependency a pointer records may be missing: the runner skips the stage
  // when that is its only change, and says it is missing otherwise.
  checkMissingDeps(project, selected, opts.allowMissing ? pointerRecorded(repo) : undefined);
  // Pins a killed run left (its PID is gone) protect nothing; gc would remove them too.
  sweepStaleTemps(repo.pinDir);
  // Before any stage runs: no selected stage may own rvc's files, git-tracked or pointer-tracked data.
  await refuseForeignOutputs(repo, selected.map((n) => project.graph.stages.get(n)!).filter((s) => !s.frozen)
    .map((s) => ({ name: s.name, outs: allOutputs(s) })));
  const runner = new Runner(project, opts);
  const r = await runner.run(selected);
  return puller ? { ...r, pulled: puller.result() } : r;
}
