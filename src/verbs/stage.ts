import path from 'node:path';
import { RvcError } from '../errors.js';
import { addStage, allOutputs, parsePipeline, type StageDef, type OutOptions, type Stage } from '../model/pipeline.js';
import { buildGraph } from '../model/dag.js';
import { isInside, toPosix } from '../model/paths.js';
import { pipelineDirOf, pipelineFileIn } from '../model/names.js';
import { setOwn } from '../model/values.js';
import { writeFileAtomic } from '../fsutil/atomic.js';
import { Repo, type CommonOptions } from '../repo/repo.js';
import { refuseForeignOutputs } from '../pipeline/outs-guard.js';
import { checkMissingDeps, loadProject, readPipelineCached, readRepoText, varsLoader } from '../repo/project.js';
import { Runner, type ReproResult, type RunnerOptions } from '../pipeline/runner.js';

export interface StageAddOptions extends CommonOptions {
  name: string;
  /** One command, or several run in order. */
  cmd: string | string[];
  deps?: string[];
  outs?: string[];
  outsNoCache?: string[];
  outsPersist?: string[];
  outsPersistNoCache?: string[];
  metrics?: string[];
  metricsNoCache?: string[];
  /** `-p` specs: `lr,epochs` (params.yaml), `conf.json:lr,epochs`, `conf.json:` (every key). */
  params?: string[];
  /** `NAME` or `NAME=default`. */
  env?: string[];
  /** Working directory (relative to cwd); default: the folder the command is given in. */
  wdir?: string;
  desc?: string;
  alwaysChanged?: boolean;
  /** Replace a stage of the same name. */
  force?: boolean;
  /**
   * Then run the new stage (`--run`), as `repro -s <name>` would (its upstream stages are not
   * run), with these runner options.
   */
  run?: boolean | RunnerOptions;
}

export interface StageAddResult {
  name: string;
  file: string;
  /** True when rvc.yaml did not exist before. */
  created: boolean;
  replaced: boolean;
  stage: Stage;
  /** With `run`: the run of the stage. */
  run?: ReproResult;
  /**
   * The files whose change git should record (`git add`); empty when the repository is used
   * without git (`core.no_scm`).
   */
  toGit: string[];
}

/** Parses one `-p` spec into the rvc.yaml form. */
export function parseParamsSpec(spec: string): (string | Record<string, string[] | null>)[] {
  const colon = spec.indexOf(':');
  const keys = (s: string) => s.split(',').map((k) => k.trim()).filter((k) => k !== '');
  if (colon < 0) {
    const ks = keys(spec);
    if (ks.length === 0) throw new RvcError('USAGE', `-p '${spec}' names no parameter`, { hint: 'write `-p lr,epochs` or `-p params.json:lr`' });
    return ks;
  }
  const file = spec.slice(0, colon).trim();
  if (file === '') throw new RvcError('USAGE', `-p '${spec}' names no params file`, { hint: 'write `-p file.yaml:key` or `-p key`' });
  const ks = keys(spec.slice(colon + 1));
  return [{ [file]: ks.length ? ks : null }];
}

function envSpec(list: string[]): StageDef['env'] {
  const parsed = list.map((s) => {
    const eq = s.indexOf('=');
    return eq < 0 ? { name: s, value: undefined } : { name: s.slice(0, eq), value: s.slice(eq + 1) };
  });
  if (parsed.every((p) => p.value === undefined)) return parsed.map((p) => p.name);
  const m: Record<string, string | null> = {};
  for (const p of parsed) setOwn(m, p.name, p.value ?? null);
  return m;
}

/**
 * `rvc stage add`: writes a stage into rvc.yaml (keeping the rest of the file as it is).
 * Refuses a name in use (unless force), outputs that overlap another stage's outputs or data
 * tracked by a pointer or by git, and a stage that would close a cycle.
 */
export async function stageAdd(opts: StageAddOptions): Promise<StageAddResult> {
  const repo = Repo.open(opts.cwd);
  const cwd = path.resolve(opts.cwd ?? process.cwd());
  const wdirAbs = path.resolve(cwd, opts.wdir ?? '.');
  const wdirRel = repo.resolve(wdirAbs, cwd).rel;
  // The pipeline file of the folder the command runs in: paths given are relative to it, and
  // wdir is written relative to it.
  const file = pipelineFileIn(repo.dirOf(cwd));
  const wdirInFile = toPosix(path.relative(path.join(repo.root, pipelineDirOf(file)), path.join(repo.root, wdirRel)));
  const outsOf = (list: string[] | undefined, o: OutOptions) => (list ?? []).map((p) => (Object.keys(o).length ? { [p]: o } : p));
  const def: StageDef = {
    cmd: opts.cmd,
    ...(opts.desc !== undefined ? { desc: opts.desc } : {}),
    ...(wdirInFile !== '' ? { wdir: wdirInFile } : {}),
    deps: opts.deps ?? [],
    params: (opts.params ?? []).flatMap(parseParamsSpec),
    outs: [
      ...outsOf(opts.outs, {}), ...outsOf(opts.outsNoCache, { cache: false }),
      ...outsOf(opts.outsPersist, { persist: true }), ...outsOf(opts.outsPersistNoCache, { cache: false, persist: true }),
    ],
    metrics: [...outsOf(opts.metrics, {}), ...outsOf(opts.metricsNoCache, { cache: false })],
    ...(opts.env?.length ? { env: envSpec(opts.env) } : {}),
    ...(opts.alwaysChanged ? { always_changed: true } : {}),
  };
  if ((Array.isArray(def.cmd) ? def.cmd : [def.cmd]).every((c) => c.trim() === '')) {
    throw new RvcError('USAGE', 'the stage has no command', { hint: 'write the command after the options: `rvc stage add -n train -d data python train.py`' });
  }

  const added = await repo.withLock(`rvc stage add ${opts.name}`, opts, async (): Promise<StageAddResult> => {
    const before = readRepoText(repo, file);
    const load = varsLoader((rel) => readRepoText(repo, rel));
    const replaced = before !== undefined && parsePipeline(before, file, { loadVarsFile: load }).stages.some((s) => s.local === opts.name);
    const text = addStage(before ?? '', opts.name, def, file, { loadVarsFile: load, ...(opts.force ? { force: true } : {}) });
    const after = parsePipeline(text, file, { loadVarsFile: load });
    // One graph across every pipeline file: overlaps and cycles with other files are refused too.
    const others = (readPipelineCached(repo)?.stages ?? []).filter((s) => s.file !== file);
    buildGraph([...others, ...after.stages], others.length ? {} : { file });
    const stage = after.stages.find((s) => s.local === opts.name)!;
    await refuseForeignOutputs(repo, [{ name: stage.name, outs: allOutputs(stage) }]);
    writeFileAtomic(path.join(repo.root, file), text);
    if (before === undefined) repo.forgetPipelineFiles();
    return { name: stage.name, file, created: before === undefined, replaced, stage, toGit: repo.scm ? [file] : [] };
  });
  if (!opts.run) return added;
  const project = loadProject(repo);
  checkMissingDeps(project, [added.name]);
  const runOpts: RunnerOptions = { ...(typeof opts.run === 'object' ? opts.run : {}), ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}) };
  return { ...added, run: await new Runner(project, runOpts).run([added.name]) };
}

export interface StageInfo {
  /** The stage's id (names.ts): its name in the root file, `sub/rvc.yaml:name` elsewhere. */
  name: string;
  /** Its pipeline file. */
  file: string;
  desc?: string;
  cmd: string[];
  wdir: string;
  deps: string[];
  outs: string[];
  metrics: string[];
  plots: string[];
  params: { file: string; keys: string[] | null }[];
  env: string[];
  frozen: boolean;
  alwaysChanged: boolean;
  generatedFrom?: string;
}

export interface StageListOptions extends CommonOptions {
  /** Every pipeline file of the project, not only those at or below `cwd` (`-P`). */
  allPipelines?: boolean;
}

/**
 * `rvc stage list`: the stages of the pipeline files at or below `cwd` (every file from the
 * root, or with `allPipelines`), file by file in file order, with templates resolved.
 */
export function stageList(opts: StageListOptions = {}): StageInfo[] {
  const repo = Repo.open(opts.cwd);
  const here = opts.allPipelines ? '.' : repo.dirOf(opts.cwd ?? process.cwd());
  const load = varsLoader((rel) => readRepoText(repo, rel));
  const stages: Stage[] = [];
  for (const file of repo.pipelineFiles().pipelines) {
    if (!isInside(pipelineDirOf(file), here)) continue;
    const text = readRepoText(repo, file);
    if (text === undefined) continue;
    for (const s of parsePipeline(text, file, { loadVarsFile: load }).stages) stages.push(s);
  }
  return stages.map((s) => ({
    name: s.name,
    file: s.file,
    ...(s.desc !== undefined ? { desc: s.desc } : {}),
    cmd: s.cmd,
    wdir: s.wdir,
    deps: s.deps.map((d) => d.repoPath),
    outs: s.outs.map((o) => o.repoPath),
    metrics: s.metrics.map((o) => o.repoPath),
    plots: s.plots.map((o) => o.repoPath),
    params: s.params.map((x) => ({ file: x.repoPath, keys: x.keys })),
    env: s.env.map((e) => e.name),
    frozen: s.frozen,
    alwaysChanged: s.alwaysChanged,
    ...(s.generatedFrom ? { generatedFrom: s.generatedFrom.name } : {}),
  }));
}
