/**
 * The stages of rvc.yaml as the parser returns them (resolved: foreach/matrix expanded, `${…}`
 * filled in, every path checked), the rules for stage names, and what a stage reads and writes.
 */
import { RvcError } from '../../errors.js';
import { PIPELINE_FILE, isPipelineFile, pipelineFileIn, splitStageId } from '../names.js';
import { joinRepoPath } from '../paths.js';

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
  /** Declared under plots:, with the plot options written there (read by `rvc plots`, src/plots/defs.ts). */
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

/** Options of a stage's plots output (DVC's names), read by `rvc plots`. */
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
  /**
   * The stage's id across the project: its name for the root pipeline file, `sub/rvc.yaml:train`
   * for others (names.ts). The key of the graph, the merged lock and every message.
   */
  name: string;
  /** The name written in its pipeline file (the key in that file's lock). */
  local: string;
  /** The pipeline file the stage comes from (repository path), and the line of its definition. */
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

/**
 * A project's `environment:` section: what is recorded, beside the machine and tools rvc probes
 * itself, in the environment block of each stage run, and how a difference counts.
 */
export interface EnvironmentSpec {
  /** Probe name → shell command; its trimmed output is recorded as `probes.<name>`. */
  commands: Record<string, EnvironmentProbe>;
  /** Repository paths of files whose hash is recorded as `files.<path>`. */
  files: string[];
  /** true: any drift makes a stage stale; a list: drift of these dot paths (or below them) does. */
  strict: boolean | string[];
  /** Seconds each probe may take before it is stopped and recorded as timed out. */
  timeout: number;
}

export interface EnvironmentProbe {
  cmd: string;
  /** Folder the command runs in (the pipeline file's), a repository path. */
  wdir: string;
}

export const DEFAULT_PROBE_TIMEOUT = 2;

/** Whether drift at dot path `key` makes a stage stale under `strict`. */
export function isStrictKey(key: string, strict: boolean | readonly string[]): boolean {
  if (typeof strict === 'boolean') return strict;
  return strict.some((k) => key === k || key.startsWith(`${k}.`));
}

export interface Pipeline {
  file: string;
  /** Top-level `environment:`; absent when not written. */
  environment?: EnvironmentSpec;
  stages: Stage[];
  /** Top-level `params:`: params files of the project no stage names (DVCLive writes them); absent when not written. */
  params?: TopPath[];
  /** Top-level `metrics:`: metrics files of the project, shown by `metrics show`/`diff` like stage metrics. */
  metrics?: TopPath[];
  /** Top-level `plots:` definitions, read by `rvc plots`. */
  plots?: PipelinePlot[];
  /** Top-level `artifacts:`, kept. */
  artifacts?: PipelineArtifact[];
}

/**
 * A project's pipelines as one: every pipeline file's stages in one list (ids from names.ts) and
 * the top-level `params:`/`metrics:` files of every file, so an output of one file can be a
 * dependency of another and the params and metrics commands see every file's.
 */
export interface ProjectPipeline {
  /** The pipeline files read, repository paths, in the order given. */
  files: string[];
  stages: Stage[];
  params: TopPath[];
  metrics: TopPath[];
  /** Top-level `plots:` definitions of every file, each with the pipeline file that defines it. */
  plots: (PipelinePlot & { file: string })[];
  /** The pipeline files' `environment:` sections as one (see mergeEnvironmentSpecs); absent when none has one. */
  environment?: EnvironmentSpec;
}

/**
 * The pipeline files `pipelines` (parsed each alone) as one project pipeline, undefined for none;
 * their `environment:` sections are combined by the caller that needs them (mergeEnvironmentSpecs).
 */
export function mergePipelines(pipelines: readonly Pipeline[]): ProjectPipeline | undefined {
  if (!pipelines.length) return undefined;
  const res: ProjectPipeline = { files: [], stages: [], params: [], metrics: [], plots: [] };
  for (const p of pipelines) {
    res.files.push(p.file);
    // Loops, not push(...): a file can generate more stages than a call takes arguments.
    for (const s of p.stages) res.stages.push(s);
    for (const x of p.params ?? []) res.params.push(x);
    for (const x of p.metrics ?? []) res.metrics.push(x);
    for (const x of p.plots ?? []) res.plots.push({ ...x, file: p.file });
  }
  return res;
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
 * The stages a target names, or undefined when it names none. The one reading of stage names as
 * targets, for the pipeline verbs and the data verbs alike. `cwd` is the folder the user is in,
 * relative to the repository root. A target may be:
 * - a stage (`train`, `train@small`) or a foreach/matrix group (`train`: every `train@…`): the one
 *   in the pipeline file of `cwd` when it has one by that name, otherwise the only pipeline file
 *   that has one (several: STAGE_NOT_FOUND listing their ids);
 * - a pipeline file (`rvc.yaml`, `sub/rvc.yaml`, relative to `cwd`): every stage of it;
 * - `file:stage` or `folder:stage` (`sub/rvc.yaml:train`, `sub:train`), relative to `cwd` or, as
 *   ids are printed, to the root.
 * `recorded` adds ids only a lock file still knows (a stage since removed from its pipeline file).
 */
export function stagesNamed(target: string, declared: readonly Stage[], recorded: readonly string[] = [], cwd = '.'): string[] | undefined {
  const bare = target.replace(/^(\.\/)+/, '');
  const all = new Map<string, { file: string; local: string; group?: string }>();
  for (const s of declared) all.set(s.name, { file: s.file, local: s.local, ...(s.generatedFrom ? { group: s.generatedFrom.name } : {}) });
  for (const id of recorded) {
    if (all.has(id)) continue;
    const { file, local } = splitStageId(id);
    const at = local.indexOf('@');
    all.set(id, { file, local, ...(at > 0 ? { group: local.slice(0, at) } : {}) });
  }
  const files = new Set([...all.values()].map((v) => v.file));
  const fileOf = (written: string): string | undefined => {
    const asFile = isPipelineFile(written) || written === PIPELINE_FILE ? written : pipelineFileIn(written);
    for (const base of [cwd, '.']) {
      const f = joinRepoPath(base, asFile);
      if (f !== undefined && files.has(f)) return f;
    }
    return undefined;
  };
  const inFile = (file: string, name: string | undefined): string[] => {
    const res: string[] = [];
    for (const [id, v] of all) if (v.file === file && (name === undefined || v.local === name || v.group === name)) res.push(id);
    return res;
  };

  const colon = bare.lastIndexOf(':');
  if (colon > 0) {
    const file = fileOf(bare.slice(0, colon));
    if (file !== undefined) {
      const named = inFile(file, bare.slice(colon + 1));
      return named.length ? named : undefined;
    }
  }
  if (isPipelineFile(bare)) {
    const file = fileOf(bare);
    return file === undefined ? undefined : inFile(file, undefined);
  }
  const here = inFile(pipelineFileIn(cwd), target);
  if (here.length) return here;
  const anywhere = [...all.entries()].filter(([, v]) => v.local === target || v.group === target);
  const inFiles = new Set(anywhere.map(([, v]) => v.file));
  if (inFiles.size > 1) {
    const ids = anywhere.map(([id]) => id);
    throw new RvcError('STAGE_NOT_FOUND', `'${target}' names stages of several pipeline files: ${ids.slice(0, 6).join(', ')}${ids.length > 6 ? ', …' : ''}`, {
      details: { stages: ids }, hint: `name the one you mean with its file, e.g. \`${ids[0]}\``,
    });
  }
  return anywhere.length ? anywhere.map(([id]) => id) : undefined;
}

/** A stage definition as written in its pipeline file (a foreach/matrix group is one definition). */
export interface WrittenStage {
  /** Its pipeline file. */
  file: string;
  /** The key it is written under in that file. */
  written: string;
  /** The stages it defines that the target named. */
  stages: Stage[];
  /** True when the target named some of the stages a foreach/matrix definition generates, not all. */
  partial: boolean;
}

/**
 * The stage definition a target names (see stagesNamed), for commands that edit pipeline files
 * (freeze, unfreeze, remove); undefined when it names no stage. A target naming definitions of
 * several files or keys (`rvc.yaml`, a whole file) is refused: such edits take one stage at a time.
 */
export function writtenStageOf(target: string, declared: readonly Stage[], cwd = '.'): WrittenStage | undefined {
  const ids = stagesNamed(target, declared, [], cwd);
  if (!ids) return undefined;
  const set = new Set(ids);
  const stages = declared.filter((s) => set.has(s.name));
  const keys = new Set(stages.map((s) => `${s.file}\0${s.generatedFrom?.name ?? s.local}`));
  if (keys.size !== 1) {
    throw new RvcError('STAGE_NOT_FOUND', `'${target}' names ${stages.length} stages; name one stage`, {
      details: { stages: ids }, hint: `name a stage, e.g. \`${ids[0]}\` (\`rvc stage list\` lists them)`,
    });
  }
  const first = stages[0]!;
  const written = first.generatedFrom?.name ?? first.local;
  const all = declared.filter((s) => s.file === first.file && (s.generatedFrom?.name ?? s.local) === written);
  return { file: first.file, written, stages, partial: stages.length < all.length };
}
