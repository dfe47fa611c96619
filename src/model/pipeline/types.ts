/**
 * The stages of rvc.yaml as the parser returns them (resolved: foreach/matrix expanded, `${…}`
 * filled in, every path checked), the rules for stage names, and what a stage reads and writes.
 */
import { PIPELINE_FILE } from '../names.js';

/** A path as written in the stage (relative to its wdir) and relative to the repository root. */
export interface PathRef {
  /** Normalised, POSIX separators, relative to the stage's wdir (may start with `../`). */
  path: string;
  /** Normalised, relative to the repository root; never escapes it. */
  repoPath: string;
}

export interface StageOut extends PathRef {
  /** False: the file is produced and tracked by hash but not stored in the cache. */
  cache: boolean;
  /** True: not removed before the command runs (for outputs the command updates in place). */
  persist: boolean;
  desc?: string;
  /** Declared under metrics: rather than outs:. */
  metric: boolean;
  /** Declared under plots:, with the plot options written there (kept for plots; not acted on). */
  plot?: PlotOptions;
  /** `push: false`: `rvc push` does not upload it, and fetch/pull/status --cloud do not expect it on the remote. */
  push?: false;
  /** The remote it is meant to be pushed to and fetched from (kept; not acted on yet). */
  remote?: string;
  /** DVC's descriptive options, kept as written. */
  type?: string;
  labels?: string[];
  meta?: unknown;
}

/** Options of a stage's plots output (DVC's names), kept for a plots command. */
export interface PlotOptions {
  x?: string;
  y?: string;
  template?: string;
  title?: string;
  x_label?: string;
  y_label?: string;
  header?: boolean;
}

export interface StageParams {
  /** The params file as written (relative to wdir). */
  file: string;
  repoPath: string;
  /** Dot paths the stage reads, sorted; null means every top-level key of the file. */
  keys: string[] | null;
}

export interface StageEnv {
  name: string;
  /** Value used when the variable is not set; absent means "unset" is itself the value. */
  default?: string;
}

export interface Stage {
  name: string;
  /** The pipeline file the stage comes from, and the line of its definition. */
  file: string;
  line?: number;
  /** Commands run in order by the shell; a single `cmd: string` is a one-element list. */
  cmd: string[];
  /** Working directory relative to the repository root ('.' for the root). */
  wdir: string;
  deps: PathRef[];
  outs: StageOut[];
  metrics: StageOut[];
  plots: StageOut[];
  params: StageParams[];
  env: StageEnv[];
  frozen: boolean;
  alwaysChanged: boolean;
  desc?: string;
  /** `meta:` as written (any value): kept, never acted on. */
  meta?: unknown;
  /** For a stage a foreach or matrix generated: the stage written in the file and its key. */
  generatedFrom?: { name: string; key: string };
}

/** A path of a top-level section (`params:`, `metrics:`), as written and from the repository root. */
export type TopPath = PathRef;

/**
 * One entry of the top-level `plots:` section: an id (a data file, or a name when `y` maps
 * files to columns) and its options. `x`/`y` may map data files to columns, as in DVC.
 */
export interface PipelinePlot {
  id: string;
  x?: string | Record<string, string>;
  y?: string | string[] | Record<string, string | string[]>;
  template?: string;
  title?: string;
  x_label?: string;
  y_label?: string;
}

/** One entry of the top-level `artifacts:` section (a model registry entry in DVC). */
export interface PipelineArtifact extends PathRef {
  name: string;
  type?: string;
  desc?: string;
  labels?: string[];
  meta?: unknown;
}

export interface Pipeline {
  file: string;
  stages: Stage[];
  /** Top-level `params:`: params files of the project no stage names (DVCLive writes them); absent when not written. */
  params?: TopPath[];
  /** Top-level `metrics:`: metrics files of the project, shown by `metrics show`/`diff` like stage metrics. */
  metrics?: TopPath[];
  /** Top-level `plots:` definitions, kept for a plots command. */
  plots?: PipelinePlot[];
  /** Top-level `artifacts:`, kept. */
  artifacts?: PipelineArtifact[];
}

/** Names written in rvc.yaml; `@` is kept for the names foreach/matrix generate. */
export const STAGE_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
/** Any stage name, including generated ones (`train@us`, `train@cnn-0.1`). */
export const ANY_STAGE_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*(@[A-Za-z0-9_.-]+)?$/;
export const MAX_STAGE_NAME = 256;

/** The default params file of a stage (`params: [lr]` means lr in this file). */
export const DEFAULT_PARAMS_FILE = 'params.yaml';

/** Outputs, metrics and plots files: everything the stage writes. */
export function allOutputs(stage: Stage): StageOut[] {
  return [...stage.outs, ...stage.metrics, ...stage.plots];
}

/**
 * A callback stage (DVC's term): a command with no dependencies, no params and no outputs.
 * Nothing could tell that it is up to date, so it runs on every `repro` and is always stale.
 */
export function isCallbackStage(stage: Stage): boolean {
  return stage.deps.length === 0 && stage.params.length === 0 && allOutputs(stage).length === 0;
}

/** Repository paths the stage reads: its deps and its params files. */
export function stageInputs(stage: Stage): string[] {
  return [...new Set([...stage.deps.map((d) => d.repoPath), ...stage.params.map((p) => p.repoPath)])];
}

export function findStage(pipeline: Pipeline, name: string): Stage | undefined {
  return pipeline.stages.find((s) => s.name === name);
}

/**
 * The stages a target names, or undefined when it names none: a stage (`train`, `train@small`),
 * a foreach/matrix group (`train`: every `train@…`), `rvc.yaml` (every stage), `rvc.yaml:train`.
 * `recorded` adds names only rvc.lock still knows (a stage since removed from rvc.yaml). The one
 * reading of stage names as targets, for the pipeline verbs and the data verbs alike.
 */
export function stagesNamed(target: string, declared: readonly Stage[], recorded: readonly string[] = []): string[] | undefined {
  const file = PIPELINE_FILE;
  const bare = target.replace(/^\.\//, '');
  const colon = bare.lastIndexOf(':');
  const all = [...new Set([...declared.map((s) => s.name), ...recorded])];
  if (bare === file) return all;
  const name = colon > 0 && bare.slice(0, colon) === file ? bare.slice(colon + 1) : target;
  if (all.includes(name)) return [name];
  const group = new Set([
    ...declared.filter((s) => s.generatedFrom?.name === name).map((s) => s.name),
    ...recorded.filter((n) => n.startsWith(`${name}@`)),
  ]);
  return group.size ? [...group] : undefined;
}
