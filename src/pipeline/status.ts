import { lockedStage } from '../model/lock.js';
import { selectStages } from '../model/dag.js';
import { Repo, type CommonOptions } from '../repo/repo.js';
import { checkStage, type StaleReason } from './check.js';
import { loadProject, loadProjectIfAny, stageRoots, type LoadedProject } from '../repo/project.js';
import { Workspace } from './workspace.js';
import { captureEnvironment } from './environment.js';
import type { EnvironmentChange } from '../model/environment.js';

export type StageState = 'up to date' | 'stale' | 'frozen';

export interface StageStatus {
  name: string;
  state: StageState;
  reasons: StaleReason[];
  /**
   * How the environment now differs from the one rvc.lock recorded for the stage's last run
   * (informational: only keys the project made strict are also reasons). Absent when none.
   */
  environment?: EnvironmentChange[];
}

export interface PipelineStatusResult {
  stages: StageStatus[];
  /** True when no stage is stale. */
  clean: boolean;
}

export interface PipelineStatusOptions extends CommonOptions {
  targets?: string[];
  environ?: NodeJS.ProcessEnv;
  /** Only the stages the targets name, not their upstream stages. */
  single?: boolean;
}

/**
 * Which stages are stale and why, comparing rvc.lock with the workspace as it is (a stage whose
 * upstream is stale is judged on its own inputs, as `repro` would find them if the upstream
 * produced the same outputs). Read-only and lock-free, like `status`; undefined when the
 * repository has no rvc.yaml.
 */
export async function pipelineStatus(opts: PipelineStatusOptions = {}): Promise<PipelineStatusResult | undefined> {
  const repo = Repo.open(opts.cwd);
  const project = opts.targets?.length ? loadProject(repo) : loadProjectIfAny(repo);
  if (!project) return undefined;
  return await statusOf(project, opts);
}

/**
 * `ids`: stage ids already resolved (by a verb that read the targets itself); otherwise
 * `targets` are read as the user wrote them, and no targets mean the pipelines at or below `cwd`.
 */
export async function statusOf(project: LoadedProject, opts: PipelineStatusOptions & { ids?: string[] } = {}): Promise<PipelineStatusResult> {
  const roots = opts.ids ?? stageRoots(project, opts.targets ?? [], opts.cwd ?? process.cwd());
  const names = selectStages(project.graph, roots, opts.single ? { single: true } : {});
  const ws = new Workspace(project.repo);
  const environ = opts.environ ?? process.env;
  // The environment is captured (once) only when a stage has one recorded to compare with.
  const spec = project.pipeline.environment;
  const environment = names.some((n) => lockedStage(project.lock, n)?.environment)
    ? await captureEnvironment(project.repo, spec, { environ, pipelineFiles: project.pipeline.files })
    : undefined;
  const stages: StageStatus[] = names.map((name) => {
    const stage = project.graph.stages.get(name)!;
    if (stage.frozen) return { name, state: 'frozen', reasons: [] };
    const { reasons, drift } = checkStage(ws, stage, lockedStage(project.lock, name), {
      environ, ...(environment ? { environment } : {}), ...(spec ? { strict: spec.strict } : {}),
    });
    return { name, state: reasons.length ? 'stale' : 'up to date', reasons, ...(drift ? { environment: drift } : {}) };
  });
  return { stages, clean: stages.every((s) => s.state !== 'stale') };
}
