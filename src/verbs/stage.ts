import path from 'node:path';
import { RvcError } from '../errors.js';
import { addStage, allOutputs, parsePipeline, type StageDef, type OutOptions, type Stage } from '../model/pipeline.js';
import { buildGraph } from '../model/dag.js';
import { toPosix } from '../model/paths.js';
import { setOwn } from '../model/values.js';
import { writeFileAtomic } from '../fsutil/atomic.js';
import { Repo, type CommonOptions } from '../repo/repo.js';
import { refuseForeignOutputs } from '../pipeline/outs-guard.js';
import { PIPELINE_FILE, readRepoText, varsLoader } from '../repo/project.js';

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
}

export interface StageAddResult {
  name: string;
  file: string;
  /** True when rvc.yaml did not exist before. */
  created: boolean;
  replaced: boolean;
  stage: Stage;
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
  const outsOf = (list: string[] | undefined, o: OutOptions) => (list ?? []).map((p) => (Object.keys(o).length ? { [p]: o } : p));
  const def: StageDef = {
    cmd: opts.cmd,
    ...(opts.desc !== undefined ? { desc: opts.desc } : {}),
    ...(wdirRel !== '' ? { wdir: toPosix(wdirRel) } : {}),
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

  return repo.withLock(`rvc stage add ${opts.name}`, opts, async () => {
    const before = readRepoText(repo, PIPELINE_FILE);
    const load = varsLoader((rel) => readRepoText(repo, rel));
    const replaced = before !== undefined && parsePipeline(before, PIPELINE_FILE, { loadVarsFile: load }).stages.some((s) => s.name === opts.name);
    const text = addStage(before ?? '', opts.name, def, PIPELINE_FILE, { loadVarsFile: load, ...(opts.force ? { force: true } : {}) });
    const after = parsePipeline(text, PIPELINE_FILE, { loadVarsFile: load });
    buildGraph(after.stages, { file: PIPELINE_FILE });
    const stage = after.stages.find((s) => s.name === opts.name)!;
    await refuseForeignOutputs(repo, [{ name: opts.name, outs: allOutputs(stage) }]);
    writeFileAtomic(path.join(repo.root, PIPELINE_FILE), text);
    return { name: opts.name, file: PIPELINE_FILE, created: before === undefined, replaced, stage, toGit: repo.scm ? [PIPELINE_FILE] : [] };
  });
}

export interface StageInfo {
  name: string;
  desc?: string;
  cmd: string[];
  wdir: string;
  deps: string[];
  outs: string[];
  metrics: string[];
  params: { file: string; keys: string[] | null }[];
  env: string[];
  frozen: boolean;
  alwaysChanged: boolean;
  generatedFrom?: string;
}

/** `rvc stage list`: the stages of rvc.yaml, in file order, with templates resolved. */
export function stageList(opts: CommonOptions = {}): StageInfo[] {
  const repo = Repo.open(opts.cwd);
  const text = readRepoText(repo, PIPELINE_FILE);
  if (text === undefined) return [];
  const p = parsePipeline(text, PIPELINE_FILE, { loadVarsFile: varsLoader((rel) => readRepoText(repo, rel)) });
  return p.stages.map((s) => ({
    name: s.name,
    ...(s.desc !== undefined ? { desc: s.desc } : {}),
    cmd: s.cmd,
    wdir: s.wdir,
    deps: s.deps.map((d) => d.repoPath),
    outs: s.outs.map((o) => o.repoPath),
    metrics: s.metrics.map((o) => o.repoPath),
    params: s.params.map((x) => ({ file: x.repoPath, keys: x.keys })),
    env: s.env.map((e) => e.name),
    frozen: s.frozen,
    alwaysChanged: s.alwaysChanged,
    ...(s.generatedFrom ? { generatedFrom: s.generatedFrom.name } : {}),
  }));
}
