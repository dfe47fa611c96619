import { isRvcError } from '../errors.js';
import { outStatus, type OutStatus } from '../repo/out-status.js';
import { expandTargets, selectOutputs, targetFlagsOf, trackedOf, workspaceOutputs, workspacePointerOutputs, type TargetFlags } from '../repo/outputs.js';
import { Repo, type CommonOptions } from '../repo/repo.js';
import type { PipelineStatusResult } from '../pipeline/status.js';

export type { OutStatus, WorkspaceState } from '../repo/out-status.js';

export interface StatusResult {
  /** The pointer outputs selected, each compared with the workspace and the cache. */
  outs: OutStatus[];
  /** True when every pointer output is unchanged and in the cache. */
  clean: boolean;
  /**
   * The stages of rvc.yaml (those the targets select, or all), stale or not and why — their
   * outputs are judged there (modified, missing, not in the cache). Absent without rvc.yaml.
   */
  pipeline?: PipelineStatusResult;
}

export interface StatusOptions extends CommonOptions, TargetFlags {
  /** Pointer files, tracked paths, paths inside tracked folders, folders, stage outputs or stages. */
  targets?: string[];
  /** Process environment the stages' `env:` values are read from (default: process.env). */
  environ?: NodeJS.ProcessEnv;
}

/**
 * What changed in the workspace: every pointer output compared with its data and the cache, and
 * every stage of the pipeline with the reasons it is stale. Read-only: it takes no lock (it
 * only refreshes the hash cache, whose writes are atomic), so it can run beside a long `add`.
 */
export async function status(opts: StatusOptions = {}): Promise<StatusResult> {
  const repo = Repo.open(opts.cwd);
  const given = opts.targets ?? [];
  // Without targets only the pointer outputs are listed here: stage outputs are judged with their stages.
  const all = given.length ? await workspaceOutputs(repo) : workspacePointerOutputs(repo);
  const flags = targetFlagsOf(opts);
  const cwd = opts.cwd ? { cwd: opts.cwd } : {};
  // Glob patterns are expanded once, so that the stages they name are judged below too.
  const targets = await expandTargets(repo, all, given, { ...cwd, ...flags });
  // A stage of rvc.yaml that never ran is a target too: it selects no output, and its status below.
  const selected = await selectOutputs(repo, all, targets, { ...cwd, checkSubpaths: true, ...flags, glob: false });
  const seen = new Set<string>();
  const outs: OutStatus[] = [];
  const stages = new Set<string>();
  for (const { output } of selected) {
    if (output.kind !== 'pointer') {
      if (output.stage !== undefined) stages.add(output.stage);
      continue;
    }
    const key = `${output.file}\0${output.index}`;
    if (seen.has(key)) continue;
    seen.add(key);
    outs.push(outStatus(repo, trackedOf(repo, output), opts));
  }
  const res: StatusResult = { outs, clean: outs.every((o) => o.workspace === 'unchanged' && o.inCache) };
  const pipeline = await pipelineStatusOf(repo, targets, stages, opts);
  if (pipeline) res.pipeline = pipeline;
  return res;
}

/**
 * The pipeline's part: every stage without targets; with targets, the stages they name or whose
 * outputs they name, alone (as `dvc status <stage>`; none when they name only pointer data).
 * The pipeline code is loaded only when the project has rvc.yaml.
 */
async function pipelineStatusOf(repo: Repo, targets: string[], fromOutputs: Set<string>, opts: StatusOptions): Promise<PipelineStatusResult | undefined> {
  if (!repo.pipelineFiles().pipelines.length) return undefined;
  const { loadProject, resolveStageTargets, stagesUnder } = await import('../repo/project.js');
  const project = loadProject(repo);
  const { statusOf } = await import('../pipeline/status.js');
  const environ = opts.environ ? { environ: opts.environ } : {};
  if (!targets.length) {
    // From a folder, the pipelines at or below it (as repro there would run them).
    const here = repo.dirOf(opts.cwd ?? process.cwd());
    if (here === '.') return statusOf(project, { ...environ, ids: [] });
    const under = stagesUnder(project, here);
    return under.length ? statusOf(project, { ...environ, ids: under }) : undefined;
  }
  const names = new Set<string>([...fromOutputs].filter((n) => project.graph.stages.has(n)));
  for (const t of targets) {
    try {
      for (const n of resolveStageTargets(project, [t], opts.cwd ?? process.cwd())) names.add(n);
    } catch (e) {
      if (!isRvcError(e)) throw e;
    }
  }
  if (!names.size) return undefined;
  // With deps, the stages upstream of the targets too (statusOf selects them unless `single`).
  return statusOf(project, { ...environ, ids: [...names], ...(opts.withDeps ? {} : { single: true }) });
}
