import { RvcError, type ErrorCode } from '../../errors.js';
import { nearestLine, parseYamlLocated, type ParsedYaml } from '../yaml.js';
import { isAbsoluteLike, isStrictlyInside, joinRepoPath, normalizePath, pathsOverlap, reservedComponentOf } from '../paths.js';
import { isSupportedParamsFile, PARAMS_EXTENSIONS } from '../params.js';
import { compareStrings, describe, isPlainObject, setOwn } from '../values.js';
import { pipelineDirOf, stageId } from '../names.js';
import {
  Budget, buildContext, defaultContext, foreachExpansions, matrixExpansions, resolveValue, MAX_GENERATED_STAGES,
  type Context, type LoadVarsFile, type TemplateWhere,
} from '../template.js';
import {
  allOutputs, ANY_STAGE_NAME_RE, DEFAULT_PARAMS_FILE, MAX_STAGE_NAME, STAGE_NAME_RE,
  DEFAULT_PROBE_TIMEOUT,
  type EnvironmentSpec, type PathRef, type Pipeline, type PipelineArtifact, type PipelinePlot, type PlotOptions, type Stage, type StageEnv,
  type StageOut, type StageParams,
} from './types.js';

/**
 * Parsing rvc.yaml: expands foreach/matrix, resolves `${…}`, checks every field and every path,
 * and returns stages in file order. Checks that need all stages at once (shared outputs, cycles)
 * belong to the graph (dag.ts).
 */

export interface ParseOptions {
  /**
   * Reads a vars file (a path relative to the repository root) and returns its parsed content,
   * or undefined when it does not exist. Without it, `vars:` may only hold mappings and
   * params.yaml is not loaded into the context.
   */
  loadVarsFile?: LoadVarsFile;
  /**
   * How errors name the file (`HEAD:sub/rvc.yaml`); by default the file's repository path.
   * The path itself decides the folder the file's paths are relative to and its stages' ids.
   */
  label?: string;
}

/** Fields a stage may have; anything else is a typo worth stopping for. */
export const STAGE_FIELDS: readonly string[] = [
  'cmd', 'wdir', 'deps', 'outs', 'params', 'metrics', 'plots', 'env', 'frozen', 'always_changed', 'desc', 'meta', 'vars',
];
/** Top-level sections; `params`, `metrics`, `plots` and `artifacts` are DVC's (DVCLive writes them). */
export const TOP_FIELDS: readonly string[] = ['stages', 'vars', 'params', 'metrics', 'plots', 'artifacts', 'environment'];
/** Options of an output, a metrics file or a plots file (DVC's names). */
export const OUT_OPTIONS: readonly string[] = ['cache', 'persist', 'desc', 'remote', 'push', 'type', 'labels', 'meta'];
/** Options only a stage's plots file takes, beside OUT_OPTIONS. */
export const PLOT_OPTIONS: readonly string[] = ['x', 'y', 'template', 'title', 'x_label', 'y_label', 'header'];
/** Options of a top-level plot definition. */
const TOP_PLOT_OPTIONS: readonly string[] = ['x', 'y', 'template', 'title', 'x_label', 'y_label'];
const ARTIFACT_FIELDS: readonly string[] = ['path', 'type', 'desc', 'labels', 'meta'];
/** DVC's rule for artifact names. */
const ARTIFACT_NAME_RE = /^[a-z0-9]([a-z0-9-/]*[a-z0-9])?$/;
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_PATH = 4096;

/** Error context for one stage definition. */
/** The pipeline file being parsed: its repository path and its folder. */
interface FileWhere {
  repoFile: string;
  dir: string;
}

class StageScope {
  constructor(
    readonly file: string,
    /** '' for a top-level section: messages then name no stage. */
    readonly stage: string,
    readonly base: (string | number)[],
    private readonly yaml: ParsedYaml,
    readonly at: FileWhere,
    /** The code of a malformed value here. */
    readonly invalid: ErrorCode = 'STAGE_INVALID',
  ) {}
  line(sub: (string | number)[] = []): number {
    return nearestLine(this.yaml, [...this.base, ...sub]);
  }
  /** The line is looked up only if an error needs it: lookups walk the YAML tree. */
  where(sub: (string | number)[] = []): TemplateWhere {
    const line = () => this.line(sub);
    return {
      file: this.file,
      ...(this.stage ? { stage: this.stage } : {}),
      get line() {
        return line();
      },
    };
  }
  error(code: ErrorCode, sub: (string | number)[], msg: string, hint?: string): RvcError {
    const line = this.line(sub);
    return new RvcError(code, `${this.file}${line ? `:${line}` : ''}: ${this.stage ? `stage '${this.stage}': ` : ''}${msg}`, {
      path: this.file, ...(line ? { line } : {}), ...(hint ? { hint } : {}),
    });
  }
}

/**
 * Parses rvc.yaml text into resolved stages (foreach/matrix expanded, templates filled in).
 * Every error is an RvcError naming the file and, where known, the line and the stage.
 */
export function parsePipeline(text: string, repoFile: string, opts: ParseOptions = {}): Pipeline {
  const file = opts.label ?? repoFile;
  // Paths in a pipeline file are relative to its folder, as its default wdir.
  const dir = pipelineDirOf(repoFile);
  const yaml = memoizeLines(parseYamlLocated(text, file));
  const top = yaml.value ?? {};
  if (!isPlainObject(top)) {
    throw new RvcError('PIPELINE_INVALID', `${file}:1: the top level must be a mapping with 'stages:', not ${describe(top)}`, {
      path: file, line: 1, hint: 'start the file with `stages:`',
    });
  }
  for (const k of Object.keys(top)) {
    if (!TOP_FIELDS.includes(k)) {
      const line = nearestLine(yaml, [k]);
      throw new RvcError('PIPELINE_INVALID', `${file}${line ? `:${line}` : ''}: unknown top-level field '${k}'`, {
        path: file, ...(line ? { line } : {}), hint: `allowed top-level fields: ${TOP_FIELDS.join(', ')}`,
      });
    }
  }
  const stagesRaw = top['stages'] ?? {};
  if (!isPlainObject(stagesRaw)) {
    const line = nearestLine(yaml, ['stages']);
    throw new RvcError('PIPELINE_INVALID', `${file}${line ? `:${line}` : ''}: 'stages' must be a mapping of stage names to definitions, not ${describe(stagesRaw)}`, {
      path: file, ...(line ? { line } : {}),
    });
  }

  // The context is built only when something can use it, so a pipeline without templates does
  // not depend on params.yaml parsing as vars.
  let ctx: Context = {};
  let loaded = new Set<string>();
  if (top['vars'] !== undefined || text.includes('${')) {
    ({ ctx, loaded } = defaultContext({ file, dir, ...(opts.loadVarsFile ? { loadVarsFile: opts.loadVarsFile } : {}) }));
    const line = yaml.lineOf(['vars']);
    ctx = buildContext(top['vars'], ctx, {
      file, loaded, ...(line ? { line } : {}),
      ...(opts.loadVarsFile ? { loadVarsFile: opts.loadVarsFile } : {}),
      mapPath: (p) => varsPath(p, dir, { file, ...(line ? { line } : {}) }),
    });
  }

  const budget = new Budget();
  const stages: Stage[] = [];
  const seen = new Set<string>();
  const add = (s: Stage) => {
    if (seen.has(s.name)) {
      throw new RvcError('STAGE_INVALID', `${file}${s.line ? `:${s.line}` : ''}: stage '${s.local}' is defined twice`, {
        path: file, ...(s.line ? { line: s.line } : {}), hint: 'give each foreach/matrix element a distinct key',
      });
    }
    if (stages.length >= MAX_GENERATED_STAGES) {
      throw new RvcError('PIPELINE_INVALID', `${file}: more than ${MAX_GENERATED_STAGES} stages`, { path: file, hint: 'split the pipeline' });
    }
    seen.add(s.name);
    stages.push(s);
  };

  const where: FileWhere = { repoFile, dir };
  for (const [name, def] of Object.entries(stagesRaw)) {
    const scope = new StageScope(file, name, ['stages', name], yaml, where);
    checkStageName(name, scope);
    if (!isPlainObject(def)) {
      throw scope.error('STAGE_INVALID', [], `the definition must be a mapping of fields, not ${describe(def)}`, `allowed fields: ${STAGE_FIELDS.join(', ')}`);
    }
    if ('foreach' in def || 'matrix' in def) {
      for (const s of expandGenerated(name, def, scope, ctx, loaded, budget, opts, yaml)) add(s);
    } else {
      add(buildStage(name, def, scope, ctx, loaded, budget, opts));
    }
  }
  const pipeline: Pipeline = { file: repoFile, stages };
  const section = (k: string): { value: unknown; scope: StageScope } | undefined => {
    if (top[k] === undefined || top[k] === null) return undefined;
    const scope = new StageScope(file, '', [k], yaml, where, 'PIPELINE_INVALID');
    return { value: resolveValue(top[k], ctx, scope.where(), budget), scope };
  };
  const params = section('params');
  if (params) pipeline.params = checkTopPaths(params.value, 'params', params.scope, true);
  const metrics = section('metrics');
  if (metrics) pipeline.metrics = checkTopPaths(metrics.value, 'metrics', metrics.scope, false);
  const plots = section('plots');
  if (plots) pipeline.plots = checkTopPlots(plots.value, plots.scope);
  const artifacts = section('artifacts');
  if (artifacts) pipeline.artifacts = checkArtifacts(artifacts.value, artifacts.scope);
  const environment = section('environment');
  if (environment) pipeline.environment = checkEnvironment(environment.value, environment.scope);
  return pipeline;
}

const ENVIRONMENT_FIELDS: readonly string[] = ['commands', 'files', 'strict', 'timeout'];
const PROBE_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;
const MAX_PROBES = 64;
const MAX_PROBE_TIMEOUT = 60;

/**
 * Top-level `environment:`: `commands` (probe name → shell command, run in the file's folder),
 * `files` (paths relative to the file), `strict` (true, or a list of dot paths) and `timeout`
 * (seconds per probe).
 */
function checkEnvironment(v: unknown, scope: StageScope): EnvironmentSpec {
  if (!isPlainObject(v)) throw scope.error('PIPELINE_INVALID', [], `'environment' must be a mapping, not ${describe(v)}`, `allowed fields: ${ENVIRONMENT_FIELDS.join(', ')}`);
  for (const k of Object.keys(v)) {
    if (!ENVIRONMENT_FIELDS.includes(k)) throw scope.error('PIPELINE_INVALID', [k], `unknown field '${k}' in 'environment'`, `allowed fields: ${ENVIRONMENT_FIELDS.join(', ')}`);
  }
  const spec: EnvironmentSpec = { commands: {}, files: [], strict: false, timeout: DEFAULT_PROBE_TIMEOUT };
  const cmds = v['commands'] ?? {};
  if (!isPlainObject(cmds)) throw scope.error('PIPELINE_INVALID', ['commands'], `'commands' must be a mapping of probe names to shell commands, not ${describe(cmds)}`);
  if (Object.keys(cmds).length > MAX_PROBES) throw scope.error('PIPELINE_INVALID', ['commands'], `more than ${MAX_PROBES} probe commands`);
  for (const [name, cmd] of Object.entries(cmds)) {
    if (!PROBE_NAME_RE.test(name) || name.length > MAX_STAGE_NAME) throw scope.error('PIPELINE_INVALID', ['commands', name], `invalid probe name '${name}'`, 'a probe name holds only letters, digits, \'_\' and \'-\'');
    if (typeof cmd !== 'string' || cmd.trim() === '') throw scope.error('PIPELINE_INVALID', ['commands', name], `probe '${name}' must be a shell command, not ${describe(cmd)}`);
    setOwn(spec.commands, name, { cmd, wdir: scope.at.dir });
  }
  if (v['files'] !== undefined && v['files'] !== null) {
    const seen = new Set<string>();
    checkList(v['files'], 'files', scope).forEach((p, i) => {
      const ref = checkPath(p, scope.at.dir, scope, ['files', i], 'environment file');
      if (!seen.has(ref.repoPath)) spec.files.push(ref.repoPath);
      seen.add(ref.repoPath);
    });
  }
  const strict = v['strict'];
  if (strict !== undefined && strict !== null) {
    if (typeof strict === 'boolean') spec.strict = strict;
    else if (Array.isArray(strict) && strict.every((k) => typeof k === 'string' && k !== '')) spec.strict = [...new Set(strict as string[])].sort(compareStrings);
    else throw scope.error('PIPELINE_INVALID', ['strict'], `'strict' must be true, false or a list of environment keys (\`probes.torch\`, \`cpu.cores\`), not ${describe(strict)}`);
  }
  const t = v['timeout'];
  if (t !== undefined && t !== null) {
    if (typeof t !== 'number' || !(t > 0) || t > MAX_PROBE_TIMEOUT) throw scope.error('PIPELINE_INVALID', ['timeout'], `'timeout' must be a number of seconds above 0 and at most ${MAX_PROBE_TIMEOUT}, not ${describe(t)}`);
    spec.timeout = t;
  }
  return spec;
}

/**
 * The project's environment section from every pipeline file's: probes and files together (one
 * probe name must mean one command), strict when any file says so (keys listed by several are
 * joined), the longest timeout. Undefined when no file has one.
 */
export function mergeEnvironmentSpecs(specs: readonly { file: string; spec: EnvironmentSpec }[]): EnvironmentSpec | undefined {
  if (!specs.length) return undefined;
  const res: EnvironmentSpec = { commands: {}, files: [], strict: false, timeout: 0 };
  const owner = new Map<string, string>();
  const files = new Set<string>();
  let all = false;
  const keys = new Set<string>();
  for (const { file, spec } of specs) {
    for (const [name, probe] of Object.entries(spec.commands)) {
      const prev = owner.get(name);
      if (prev !== undefined && (res.commands[name]!.cmd !== probe.cmd || res.commands[name]!.wdir !== probe.wdir)) {
        throw new RvcError('PIPELINE_INVALID', `${file}: environment probe '${name}' is also defined, differently, in ${prev}`, {
          path: file, hint: 'give the probe another name in one of the files, or define it in one file only',
        });
      }
      owner.set(name, file);
      setOwn(res.commands, name, probe);
    }
    for (const f of spec.files) files.add(f);
    if (spec.strict === true) all = true;
    else if (Array.isArray(spec.strict)) for (const k of spec.strict) keys.add(k);
    res.timeout = Math.max(res.timeout, spec.timeout);
  }
  res.files = [...files].sort(compareStrings);
  res.strict = all ? true : keys.size ? [...keys].sort(compareStrings) : false;
  return res;
}

/** Stages generated from one definition share its lines; each is looked up once. */
function memoizeLines(y: ParsedYaml): ParsedYaml {
  const memo = new Map<string, number | undefined>();
  return {
    value: y.value,
    lineOf(path) {
      const k = JSON.stringify(path);
      if (!memo.has(k)) memo.set(k, y.lineOf(path));
      return memo.get(k);
    },
  };
}

function checkStageName(name: string, scope: StageScope): void {
  if (!STAGE_NAME_RE.test(name) || name.length > MAX_STAGE_NAME) {
    throw scope.error('STAGE_INVALID', [], `invalid stage name`, `a stage name starts with a letter, digit or '_' and holds only letters, digits and '_', '.', '-' (at most ${MAX_STAGE_NAME} characters; '@' is reserved for foreach)`);
  }
}

function expandGenerated(
  name: string, def: Record<string, unknown>, scope: StageScope, ctx: Context, loaded: Set<string>,
  budget: Budget, opts: ParseOptions, yaml: ParsedYaml,
): Stage[] {
  const kind = 'foreach' in def ? 'foreach' : 'matrix';
  if ('foreach' in def && 'matrix' in def) throw scope.error('STAGE_INVALID', ['matrix'], `use either foreach or matrix, not both`);
  // DVC writes a matrix's stage fields beside it; rvc also takes them under 'do:' like foreach.
  const inline = kind === 'matrix' && !('do' in def);
  if (!inline) {
    for (const k of Object.keys(def)) {
      if (k !== kind && k !== 'do') {
        throw scope.error('STAGE_INVALID', [k], `field '${k}' is not allowed next to ${kind} and 'do:'`, kind === 'foreach'
          ? `put the stage fields under 'do:' (allowed here: ${kind}, do)`
          : `put the stage fields either under 'do:' or beside 'matrix:', not both`);
      }
    }
  }
  const body = inline ? Object.fromEntries(Object.entries(def).filter(([k]) => k !== 'matrix')) : def['do'];
  if (!isPlainObject(body)) {
    throw scope.error('STAGE_INVALID', ['do'], `${kind} needs a 'do:' mapping with the stage fields, not ${describe(body)}`);
  }
  const iterable = resolveValue(def[kind], ctx, scope.where([kind]), budget);
  const expansions = kind === 'foreach'
    ? foreachExpansions(iterable, ctx, scope.where([kind]))
    : matrixExpansions(iterable, ctx, scope.where([kind]));
  return expansions.map(({ key, vars }) => {
    const full = `${name}@${key}`;
    if (!ANY_STAGE_NAME_RE.test(full) || full.length > MAX_STAGE_NAME) {
      throw scope.error('STAGE_INVALID', [kind], `${kind} key '${key}' cannot be part of a stage name ('${full}')`, `keys may hold only letters, digits and '_', '.', '-'; iterate over a mapping to choose the keys`);
    }
    const stageCtx: Context = { ...ctx, ...vars };
    const sub = new StageScope(scope.file, full, inline ? ['stages', name] : ['stages', name, 'do'], yaml, scope.at);
    const st = buildStage(full, body, sub, stageCtx, loaded, budget, opts);
    st.generatedFrom = { name, key };
    return st;
  });
}

function buildStage(
  name: string, def: Record<string, unknown>, scope: StageScope, ctx: Context, loaded: Set<string>,
  budget: Budget, opts: ParseOptions,
): Stage {
  for (const k of Object.keys(def)) {
    if (!STAGE_FIELDS.includes(k)) {
      throw scope.error('STAGE_INVALID', [k], `unknown field '${k}'`, `allowed fields: ${STAGE_FIELDS.join(', ')}`);
    }
  }
  if (def['cmd'] === undefined) throw scope.error('STAGE_INVALID', [], `'cmd' is missing`, 'every stage needs the command that produces its outputs');

  // wdir is resolved first because stage-level vars files are relative to it.
  const wdirRaw = def['wdir'] === undefined ? '.' : resolveValue(def['wdir'], ctx, scope.where(['wdir']), budget);
  const wdir = checkWdir(wdirRaw, scope.at.dir, scope);
  let sctx = ctx;
  if (def['vars'] !== undefined) {
    const w = scope.where(['vars']);
    sctx = buildContext(def['vars'], ctx, {
      file: scope.file, stage: name, loaded: new Set(loaded), ...(w.line ? { line: w.line } : {}),
      ...(opts.loadVarsFile ? { loadVarsFile: opts.loadVarsFile } : {}),
      mapPath: (p) => varsPath(p, wdir, w),
    });
  }
  const field = (k: string): unknown => (def[k] === undefined ? undefined : resolveValue(def[k], sctx, scope.where([k]), budget));

  const stage: Stage = {
    name: stageId(scope.at.repoFile, name),
    local: name,
    file: scope.at.repoFile,
    cmd: checkCmd(field('cmd'), scope),
    wdir,
    deps: checkDeps(field('deps'), wdir, scope),
    outs: checkOuts(field('outs'), 'outs', wdir, scope),
    metrics: checkOuts(field('metrics'), 'metrics', wdir, scope),
    plots: checkOuts(field('plots'), 'plots', wdir, scope),
    params: checkParams(field('params'), wdir, scope),
    env: checkEnv(field('env'), scope),
    frozen: checkBool(field('frozen'), 'frozen', scope),
    alwaysChanged: checkBool(field('always_changed'), 'always_changed', scope),
  };
  const line = scope.line();
  if (line) stage.line = line;
  const desc = field('desc');
  if (desc !== undefined) {
    if (typeof desc !== 'string') throw scope.error('STAGE_INVALID', ['desc'], `'desc' must be text, not ${describe(desc)}`);
    stage.desc = desc;
  }
  // Any value, as in DVC; templates in it are resolved like every other field.
  const meta = field('meta');
  if (meta !== undefined) stage.meta = meta;
  checkOwnOverlaps(stage, scope);
  return stage;
}

function varsPath(p: string, wdir: string, where: TemplateWhere): string {
  const bad = (msg: string) => new RvcError('PATH_UNSAFE', `${where.file}${where.line ? `:${where.line}` : ''}: ${where.stage ? `stage '${where.stage}': ` : ''}vars file '${p}' ${msg}`, {
    path: where.file, ...(where.line ? { line: where.line } : {}), hint: 'name vars files by paths inside the repository',
  });
  if (p === '' || isAbsoluteLike(p) || p.includes('\0')) throw bad('must be a relative path');
  const r = joinRepoPath(wdir, p);
  if (r === undefined) throw bad('is outside the repository');
  return r;
}

function checkCmd(v: unknown, scope: StageScope): string[] {
  const hint = 'write `cmd: python train.py` or a list of commands run in order';
  if (typeof v === 'string') {
    if (v.trim() === '') throw scope.error('STAGE_INVALID', ['cmd'], `'cmd' is empty`, hint);
    return [v];
  }
  if (Array.isArray(v)) {
    if (v.length === 0) throw scope.error('STAGE_INVALID', ['cmd'], `'cmd' is an empty list`, hint);
    return v.map((c, i) => {
      if (typeof c !== 'string' || c.trim() === '') {
        throw scope.error('STAGE_INVALID', ['cmd', i], `cmd[${i}] must be a non-empty command, not ${describe(c)}`, hint);
      }
      return c;
    });
  }
  throw scope.error('STAGE_INVALID', ['cmd'], `'cmd' must be a string or a list of strings, not ${describe(v)}`, hint);
}

function checkBool(v: unknown, key: string, scope: StageScope): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw scope.error('STAGE_INVALID', [key], `'${key}' must be true or false, not ${describe(v)}`);
  return v;
}

function checkWdir(v: unknown, dir: string, scope: StageScope): string {
  if (typeof v !== 'string' || v === '') throw scope.error('STAGE_INVALID', ['wdir'], `'wdir' must be a relative directory, not ${describe(v)}`);
  const unsafe = (msg: string) => scope.error('PATH_UNSAFE', ['wdir'], `wdir '${v}' ${msg}`, 'use a directory inside the repository, relative to it');
  if (isAbsoluteLike(v) || v.includes('\0')) throw unsafe('must be relative');
  const r = joinRepoPath(dir, v);
  if (r === undefined) throw unsafe('is outside the repository');
  // Directories rvc and git own: a stage writing there could rewrite hooks or the cache.
  const reserved = reservedComponentOf(r);
  if (reserved !== undefined) throw unsafe(`is inside .git or .rvc ('${reserved}')`);
  return r;
}

/** Validates one path of a stage and returns it as written and from the repository root. */
function checkPath(v: unknown, wdir: string, scope: StageScope, sub: (string | number)[], what: string): PathRef {
  if (typeof v !== 'string' || v === '') {
    throw scope.error(scope.invalid, sub, `${what} must be a path, not ${describe(v)}`);
  }
  const unsafe = (msg: string, hint: string) => scope.error('PATH_UNSAFE', sub, `${what} '${v.length > 200 ? `${v.slice(0, 200)}…` : v}' ${msg}`, hint);
  if (v.length > MAX_PATH || v.includes('\0')) throw unsafe('is not a usable path', 'use a shorter path without NUL characters');
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(v)) throw unsafe('is a URL', 'rvc stages read and write files inside the repository; import remote data first');
  if (isAbsoluteLike(v)) throw unsafe('is absolute', 'write paths relative to the stage wdir');
  const path = normalizePath(v);
  const repoPath = joinRepoPath(wdir, path);
  if (repoPath === undefined) throw unsafe(`is outside the repository (wdir '${wdir}')`, "paths may use '..' only within the repository");
  if (repoPath === '.') throw unsafe('is the whole repository', 'name a file or directory inside it');
  const reserved = reservedComponentOf(repoPath);
  if (reserved !== undefined) throw unsafe(`is inside .git or .rvc ('${reserved}')`, 'those directories belong to git and rvc');
  return { path, repoPath };
}

function checkList(v: unknown, key: string, scope: StageScope): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw scope.error(scope.invalid, scope.stage ? [key] : [], `'${key}' must be a list, not ${describe(v)}`, `write each entry on its own '- ' line`);
  return v;
}

function checkDeps(v: unknown, wdir: string, scope: StageScope): PathRef[] {
  const seen = new Set<string>();
  return checkList(v, 'deps', scope).map((d, i) => {
    const ref = checkPath(d, wdir, scope, ['deps', i], 'dependency');
    if (seen.has(ref.repoPath)) throw scope.error('STAGE_INVALID', ['deps', i], `dependency '${ref.path}' is listed twice`);
    seen.add(ref.repoPath);
    return ref;
  });
}

function checkOuts(v: unknown, key: 'outs' | 'metrics' | 'plots', wdir: string, scope: StageScope): StageOut[] {
  const what = key === 'outs' ? 'output' : key === 'metrics' ? 'metrics file' : 'plots file';
  const allowed = key === 'plots' ? [...OUT_OPTIONS, ...PLOT_OPTIONS] : OUT_OPTIONS;
  return checkList(v, key, scope).map((o, i) => {
    let written: unknown = o;
    let optsRaw: unknown = null;
    if (isPlainObject(o)) {
      const keys = Object.keys(o);
      if (keys.length !== 1) {
        throw scope.error('STAGE_INVALID', [key, i], `${key}[${i}] must be a path or a one-key mapping '<path>: {options}', not a mapping with ${keys.length} keys`, `options are: ${allowed.join(', ')}`);
      }
      written = keys[0];
      optsRaw = o[keys[0]!];
    }
    const ref = checkPath(written, wdir, scope, [key, i], what);
    const out: StageOut = { ...ref, cache: true, persist: false, metric: key === 'metrics' };
    const plot: PlotOptions = {};
    if (optsRaw !== null && optsRaw !== undefined) {
      if (!isPlainObject(optsRaw)) throw scope.error('STAGE_INVALID', [key, i], `options of ${what} '${ref.path}' must be a mapping, not ${describe(optsRaw)}`, `options are: ${allowed.join(', ')}`);
      const bad = (ok: string, want: string, ov: unknown) => scope.error('STAGE_INVALID', [key, i], `'${ok}' of ${what} '${ref.path}' must be ${want}, not ${describe(ov)}`);
      for (const [ok, ov] of Object.entries(optsRaw)) {
        if (!allowed.includes(ok)) throw scope.error('STAGE_INVALID', [key, i], `unknown option '${ok}' of ${what} '${ref.path}'`, `options are: ${allowed.join(', ')}`);
        switch (ok) {
          case 'cache': case 'persist': case 'push': case 'header':
            if (typeof ov !== 'boolean') throw bad(ok, 'true or false', ov);
            if (ok === 'cache') out.cache = ov;
            else if (ok === 'persist') out.persist = ov;
            else if (ok === 'push') { if (!ov) out.push = false; } else plot.header = ov;
            break;
          case 'labels':
            if (!Array.isArray(ov) || !ov.every((l) => typeof l === 'string')) throw bad(ok, 'a list of text labels', ov);
            out.labels = [...ov as string[]];
            break;
          case 'meta':
            out.meta = ov;
            break;
          case 'remote':
            if (typeof ov !== 'string' || ov === '') throw bad(ok, 'the name of a remote', ov);
            out.remote = ov;
            break;
          default: // desc, type and the plot options are text
            if (typeof ov !== 'string') throw bad(ok, 'text', ov);
            if (ok === 'desc') out.desc = ov;
            else if (ok === 'type') out.type = ov;
            else plot[ok as Exclude<keyof PlotOptions, 'header'>] = ov;
        }
      }
    }
    if (key === 'plots') out.plot = plot;
    return out;
  });
}

/** Top-level `params:` and `metrics:`: lists of files, relative to the pipeline file's folder. */
function checkTopPaths(v: unknown, key: 'params' | 'metrics', scope: StageScope, params: boolean): PathRef[] {
  const seen = new Set<string>();
  const res: PathRef[] = [];
  checkList(v, key, scope).forEach((p, i) => {
    const ref = checkPath(p, scope.at.dir, scope, [i], params ? 'params file' : 'metrics file');
    if (params && !isSupportedParamsFile(ref.repoPath)) {
      throw scope.error('PARAMS_INVALID', [i], `params file '${ref.path}' has an unsupported type`, `use one of: ${PARAMS_EXTENSIONS.join(', ')}`);
    }
    if (seen.has(ref.repoPath)) return;
    seen.add(ref.repoPath);
    res.push(ref);
  });
  return res;
}

/**
 * Top-level `plots:`: a mapping of plot ids to options (or null), or a list of ids and one-key
 * mappings of an id to options, as DVC and DVCLive write them. Data files named by `x`/`y`
 * mappings are checked like every path of the file.
 */
function checkTopPlots(v: unknown, scope: StageScope): PipelinePlot[] {
  const entries: [string, unknown, (string | number)[]][] = [];
  if (isPlainObject(v)) {
    for (const [id, o] of Object.entries(v)) entries.push([id, o, [id]]);
  } else if (Array.isArray(v)) {
    v.forEach((e, i) => {
      if (typeof e === 'string') entries.push([e, null, [i]]);
      else if (isPlainObject(e) && Object.keys(e).length === 1) {
        const id = Object.keys(e)[0]!;
        entries.push([id, e[id], [i, id]]);
      } else {
        throw scope.error('PIPELINE_INVALID', [i], `plots[${i}] must be a plot id or a one-key mapping '<id>: {options}', not ${describe(e)}`);
      }
    });
  } else {
    throw scope.error('PIPELINE_INVALID', [], `'plots' must be a list or a mapping of plot definitions, not ${describe(v)}`);
  }
  const hint = `options are: ${TOP_PLOT_OPTIONS.join(', ')}`;
  const seen = new Set<string>();
  return entries.map(([id, o, sub]) => {
    if (id === '') throw scope.error('PIPELINE_INVALID', sub, 'a plot id must not be empty');
    if (seen.has(id)) throw scope.error('PIPELINE_INVALID', sub, `plot '${id}' is defined twice`);
    seen.add(id);
    const plot: PipelinePlot = { id };
    // An id is the data file (or folder) unless `y` maps files to columns: then it passes the one path check.
    const idIsFile = !(isPlainObject(o) && isPlainObject(o['y']));
    if (idIsFile) checkPath(id, scope.at.dir, scope, sub, 'plot file');
    if (o === null || o === undefined) return plot;
    if (!isPlainObject(o)) throw scope.error('PIPELINE_INVALID', sub, `options of plot '${id}' must be a mapping, not ${describe(o)}`, hint);
    const bad = (k: string, want: string) => scope.error('PIPELINE_INVALID', [...sub, k], `'${k}' of plot '${id}' must be ${want}, not ${describe(o[k])}`);
    const dataFile = (f: string, k: string) => checkPath(f, scope.at.dir, scope, [...sub, k], `data file of plot '${id}'`);
    for (const [k, x] of Object.entries(o)) {
      if (!TOP_PLOT_OPTIONS.includes(k)) throw scope.error('PIPELINE_INVALID', [...sub, k], `unknown option '${k}' of plot '${id}'`, hint);
      if (k === 'x') {
        if (typeof x === 'string') plot.x = x;
        else if (isPlainObject(x) && Object.values(x).every((c) => typeof c === 'string')) {
          for (const f of Object.keys(x)) dataFile(f, k);
          plot.x = { ...x as Record<string, string> };
        } else throw bad(k, 'a column name or a mapping of data files to one column each');
      } else if (k === 'y') {
        const cols = (c: unknown): c is string | string[] => typeof c === 'string' || (Array.isArray(c) && c.every((s) => typeof s === 'string'));
        if (cols(x)) plot.y = Array.isArray(x) ? [...x] : x;
        else if (isPlainObject(x) && Object.values(x).every(cols)) {
          for (const f of Object.keys(x)) dataFile(f, k);
          plot.y = Object.fromEntries(Object.entries(x).map(([f, c]) => [f, Array.isArray(c) ? [...c] : c])) as Record<string, string | string[]>;
        } else throw bad(k, 'a column, a list of columns or a mapping of data files to columns');
      } else {
        if (typeof x !== 'string') throw bad(k, 'text');
        plot[k as 'template' | 'title' | 'x_label' | 'y_label'] = x;
      }
    }
    return plot;
  });
}

/** Top-level `artifacts:`: names (DVC's rule) mapped to `{path, type, desc, labels, meta}`. */
function checkArtifacts(v: unknown, scope: StageScope): PipelineArtifact[] {
  if (!isPlainObject(v)) throw scope.error('PIPELINE_INVALID', [], `'artifacts' must be a mapping of artifact names to {path, type, desc, labels, meta}, not ${describe(v)}`);
  const hint = `fields are: ${ARTIFACT_FIELDS.join(', ')} (path is required)`;
  return Object.entries(v).map(([name, a]) => {
    if (!ARTIFACT_NAME_RE.test(name) || name.includes('//')) {
      throw scope.error('PIPELINE_INVALID', [name], `invalid artifact name '${name}'`, "an artifact name holds lowercase letters, digits, '-' and '/', and starts and ends with a letter or digit");
    }
    if (!isPlainObject(a)) throw scope.error('PIPELINE_INVALID', [name], `artifact '${name}' must be a mapping, not ${describe(a)}`, hint);
    for (const k of Object.keys(a)) {
      if (!ARTIFACT_FIELDS.includes(k)) throw scope.error('PIPELINE_INVALID', [name, k], `unknown field '${k}' of artifact '${name}'`, hint);
    }
    if (a['path'] === undefined) throw scope.error('PIPELINE_INVALID', [name], `artifact '${name}' has no 'path'`, hint);
    const art: PipelineArtifact = { name, ...checkPath(a['path'], scope.at.dir, scope, [name, 'path'], `path of artifact '${name}'`) };
    for (const k of ['type', 'desc'] as const) {
      if (a[k] === undefined) continue;
      if (typeof a[k] !== 'string') throw scope.error('PIPELINE_INVALID', [name, k], `'${k}' of artifact '${name}' must be text, not ${describe(a[k])}`);
      art[k] = a[k];
    }
    if (a['labels'] !== undefined) {
      const l = a['labels'];
      if (!Array.isArray(l) || !l.every((x) => typeof x === 'string')) throw scope.error('PIPELINE_INVALID', [name, 'labels'], `'labels' of artifact '${name}' must be a list of text labels, not ${describe(l)}`);
      art.labels = [...l as string[]];
    }
    if (a['meta'] !== undefined) art.meta = a['meta'];
    return art;
  });
}

function checkParams(v: unknown, wdir: string, scope: StageScope): StageParams[] {
  // Merged per file: `[lr, {params.yaml: [epochs]}]` is one entry with two keys.
  const byFile = new Map<string, { file: string; keys: Set<string> | null }>();
  const addKeys = (file: string, sub: (string | number)[], keys: string[] | null) => {
    const ref = checkPath(file, wdir, scope, sub, 'params file');
    if (!isSupportedParamsFile(ref.repoPath)) {
      throw scope.error('PARAMS_INVALID', sub, `params file '${ref.path}' has an unsupported type`, `use one of: ${PARAMS_EXTENSIONS.join(', ')}`);
    }
    const cur = byFile.get(ref.repoPath);
    if (!cur) byFile.set(ref.repoPath, { file: ref.path, keys: keys === null ? null : new Set(keys) });
    else if (keys === null || cur.keys === null) cur.keys = null;
    else for (const k of keys) cur.keys.add(k);
  };
  checkList(v, 'params', scope).forEach((p, i) => {
    if (typeof p === 'string') {
      checkParamKey(p, scope, ['params', i]);
      addKeys(DEFAULT_PARAMS_FILE, ['params', i], [p]);
    } else if (isPlainObject(p) && Object.keys(p).length === 1) {
      const file = Object.keys(p)[0]!;
      const keys = p[file];
      if (keys === null || (Array.isArray(keys) && keys.length === 0)) addKeys(file, ['params', i], null);
      else if (Array.isArray(keys)) {
        keys.forEach((k, j) => checkParamKey(k, scope, ['params', i, file, j]));
        addKeys(file, ['params', i], keys as string[]);
      } else {
        throw scope.error('STAGE_INVALID', ['params', i], `keys of params file '${file}' must be a list (or empty for all keys), not ${describe(keys)}`, `write '- ${file}: [key1, key2]'`);
      }
    } else {
      throw scope.error('STAGE_INVALID', ['params', i], `params[${i}] must be a key of ${DEFAULT_PARAMS_FILE} or a one-key mapping '<file>: [keys]', not ${describe(p)}`);
    }
  });
  return [...byFile.entries()]
    .sort(([a], [b]) => compareStrings(a, b))
    .map(([repoPath, { file, keys }]) => ({ file, repoPath, keys: keys === null ? null : [...keys].sort(compareStrings) }));
}

function checkParamKey(k: unknown, scope: StageScope, sub: (string | number)[]): asserts k is string {
  if (typeof k !== 'string' || !/^[^.[\]\s][^\s]*$/.test(k) || k.endsWith('.') || k.includes('..')) {
    throw scope.error('STAGE_INVALID', sub, `invalid parameter key ${typeof k === 'string' ? `'${k}'` : describe(k)}`, 'a key is a dot path such as train.lr');
  }
}

function checkEnv(v: unknown, scope: StageScope): StageEnv[] {
  if (v === undefined || v === null) return [];
  const checkName = (n: unknown, sub: (string | number)[]): string => {
    if (typeof n !== 'string' || !ENV_NAME_RE.test(n)) {
      throw scope.error('STAGE_INVALID', sub, `invalid environment variable name ${typeof n === 'string' ? `'${n}'` : describe(n)}`, 'names are letters, digits and _, not starting with a digit');
    }
    return n;
  };
  let out: StageEnv[];
  if (Array.isArray(v)) {
    out = v.map((n, i) => ({ name: checkName(n, ['env', i]) }));
  } else if (isPlainObject(v)) {
    out = Object.entries(v).map(([n, d]) => {
      const e: StageEnv = { name: checkName(n, ['env', n]) };
      if (typeof d === 'string') e.default = d;
      else if (typeof d === 'number' || typeof d === 'boolean') e.default = String(d);
      else if (d !== null) throw scope.error('STAGE_INVALID', ['env', n], `default of ${n} must be a scalar, not ${describe(d)}`);
      return e;
    });
  } else {
    throw scope.error('STAGE_INVALID', ['env'], `'env' must be a list of variable names or a mapping of names to defaults, not ${describe(v)}`);
  }
  const seen = new Set<string>();
  for (const e of out) {
    if (seen.has(e.name)) throw scope.error('STAGE_INVALID', ['env'], `environment variable ${e.name} is listed twice`);
    seen.add(e.name);
  }
  return out.sort((a, b) => compareStrings(a.name, b.name));
}

function checkOwnOverlaps(stage: Stage, scope: StageScope): void {
  const outs = allOutputs(stage);
  for (let i = 0; i < outs.length; i++) {
    for (let j = i + 1; j < outs.length; j++) {
      const a = outs[i]!.repoPath;
      const b = outs[j]!.repoPath;
      if (pathsOverlap(a, b)) {
        throw scope.error('PATH_OVERLAPS', [], a === b ? `output '${a}' is listed twice` : `output '${isStrictlyInside(a, b) ? a : b}' is inside output '${isStrictlyInside(a, b) ? b : a}'`, 'list the directory or the files in it, not both');
      }
    }
  }
}
