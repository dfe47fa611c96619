import { Document, parseDocument, isMap } from 'yaml';
import { RvcError, type ErrorCode } from '../errors.js';
import { guardYamlOutput, nearestLine, type ParsedYaml } from './yaml.js';
import { isAbsoluteLike, isStrictlyInside, joinRepoPath, normalizePath, pathsOverlap, reservedComponentOf } from './paths.js';
import { parseYamlLocated, isSupportedParamsFile, PARAMS_EXTENSIONS, type ParamsByFile } from './params.js';
import { canonicalJson, compareStrings, deepEqual, describe, isPlainObject, setOwn, sortKeysDeep } from './values.js';
import {
  Budget, buildContext, defaultContext, foreachExpansions, matrixExpansions, resolveValue, MAX_GENERATED_STAGES,
  type Context, type LoadVarsFile, type TemplateWhere,
} from './template.js';
import { PIPELINE_FILE } from './names.js';
export { PIPELINE_FILE };

/**
 * rvc.yaml: the stages of a pipeline. Parsing expands foreach/matrix, resolves `${…}`, checks
 * every field and every path, and returns stages in file order. Checks that need all stages at
 * once (shared outputs, cycles) belong to the graph (dag.ts).
 */

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
  params: StageParams[];
  env: StageEnv[];
  frozen: boolean;
  alwaysChanged: boolean;
  desc?: string;
  /** For a stage a foreach or matrix generated: the stage written in the file and its key. */
  generatedFrom?: { name: string; key: string };
}

export interface Pipeline {
  file: string;
  stages: Stage[];
}

export interface ParseOptions {
  /**
   * Reads a vars file (a path relative to the repository root) and returns its parsed content,
   * or undefined when it does not exist. Without it, `vars:` may only hold mappings and
   * params.yaml is not loaded into the context.
   */
  loadVarsFile?: LoadVarsFile;
}

/** Fields a stage may have; anything else is a typo worth stopping for. */
export const STAGE_FIELDS: readonly string[] = [
  'cmd', 'wdir', 'deps', 'outs', 'params', 'metrics', 'env', 'frozen', 'always_changed', 'desc', 'vars',
];
const TOP_FIELDS: readonly string[] = ['stages', 'vars'];
const OUT_OPTIONS: readonly string[] = ['cache', 'persist', 'desc'];

/** Names written in rvc.yaml; `@` is kept for the names foreach/matrix generate. */
export const STAGE_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
/** Any stage name, including generated ones (`train@us`, `train@cnn-0.1`). */
export const ANY_STAGE_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*(@[A-Za-z0-9_.-]+)?$/;
export const MAX_STAGE_NAME = 256;
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_PATH = 4096;

/** The default params file of a stage (`params: [lr]` means lr in this file). */
export const DEFAULT_PARAMS_FILE = 'params.yaml';

// ---------------------------------------------------------------------------------------------
// parsing

/** Error context for one stage definition. */
class StageScope {
  constructor(
    readonly file: string,
    readonly stage: string,
    readonly base: (string | number)[],
    private readonly yaml: ParsedYaml,
  ) {}
  line(sub: (string | number)[] = []): number {
    return nearestLine(this.yaml, [...this.base, ...sub]);
  }
  /** The line is looked up only if an error needs it: lookups walk the YAML tree. */
  where(sub: (string | number)[] = []): TemplateWhere {
    const line = () => this.line(sub);
    return {
      file: this.file,
      stage: this.stage,
      get line() {
        return line();
      },
    };
  }
  error(code: ErrorCode, sub: (string | number)[], msg: string, hint?: string): RvcError {
    const line = this.line(sub);
    return new RvcError(code, `${this.file}${line ? `:${line}` : ''}: stage '${this.stage}': ${msg}`, {
      path: this.file, ...(line ? { line } : {}), ...(hint ? { hint } : {}),
    });
  }
}

/**
 * Parses rvc.yaml text into resolved stages (foreach/matrix expanded, templates filled in).
 * Every error is an RvcError naming the file and, where known, the line and the stage.
 */
export function parsePipeline(text: string, file: string, opts: ParseOptions = {}): Pipeline {
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
    ({ ctx, loaded } = defaultContext({ file, ...(opts.loadVarsFile ? { loadVarsFile: opts.loadVarsFile } : {}) }));
    const line = yaml.lineOf(['vars']);
    ctx = buildContext(top['vars'], ctx, {
      file, loaded, ...(line ? { line } : {}),
      ...(opts.loadVarsFile ? { loadVarsFile: opts.loadVarsFile } : {}),
      mapPath: (p) => varsPath(p, '.', { file, ...(line ? { line } : {}) }),
    });
  }

  const budget = new Budget();
  const stages: Stage[] = [];
  const seen = new Set<string>();
  const add = (s: Stage) => {
    if (seen.has(s.name)) {
      throw new RvcError('STAGE_INVALID', `${file}${s.line ? `:${s.line}` : ''}: stage '${s.name}' is defined twice`, {
        path: file, ...(s.line ? { line: s.line } : {}), hint: 'give each foreach/matrix element a distinct key',
      });
    }
    if (stages.length >= MAX_GENERATED_STAGES) {
      throw new RvcError('PIPELINE_INVALID', `${file}: more than ${MAX_GENERATED_STAGES} stages`, { path: file, hint: 'split the pipeline' });
    }
    seen.add(s.name);
    stages.push(s);
  };

  for (const [name, def] of Object.entries(stagesRaw)) {
    const scope = new StageScope(file, name, ['stages', name], yaml);
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
  return { file, stages };
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
  for (const k of Object.keys(def)) {
    if (k !== kind && k !== 'do') {
      throw scope.error('STAGE_INVALID', [k], `field '${k}' is not allowed next to ${kind}`, `put the stage fields under 'do:' (allowed here: ${kind}, do)`);
    }
  }
  const body = def['do'];
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
    const sub = new StageScope(scope.file, full, ['stages', name, 'do'], yaml);
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
  const wdir = checkWdir(wdirRaw, scope);
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
    name,
    file: scope.file,
    cmd: checkCmd(field('cmd'), scope),
    wdir,
    deps: checkDeps(field('deps'), wdir, scope),
    outs: checkOuts(field('outs'), 'outs', wdir, scope),
    metrics: checkOuts(field('metrics'), 'metrics', wdir, scope),
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

function checkWdir(v: unknown, scope: StageScope): string {
  if (typeof v !== 'string' || v === '') throw scope.error('STAGE_INVALID', ['wdir'], `'wdir' must be a relative directory, not ${describe(v)}`);
  const unsafe = (msg: string) => scope.error('PATH_UNSAFE', ['wdir'], `wdir '${v}' ${msg}`, 'use a directory inside the repository, relative to it');
  if (isAbsoluteLike(v) || v.includes('\0')) throw unsafe('must be relative');
  const r = joinRepoPath('.', v);
  if (r === undefined) throw unsafe('is outside the repository');
  // Directories rvc and git own: a stage writing there could rewrite hooks or the cache.
  const reserved = reservedComponentOf(r);
  if (reserved !== undefined) throw unsafe(`is inside .git or .rvc ('${reserved}')`);
  return r;
}

/** Validates one path of a stage and returns it as written and from the repository root. */
function checkPath(v: unknown, wdir: string, scope: StageScope, sub: (string | number)[], what: string): PathRef {
  if (typeof v !== 'string' || v === '') {
    throw scope.error('STAGE_INVALID', sub, `${what} must be a path, not ${describe(v)}`);
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
  if (!Array.isArray(v)) throw scope.error('STAGE_INVALID', [key], `'${key}' must be a list, not ${describe(v)}`, `write each entry on its own '- ' line`);
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

function checkOuts(v: unknown, key: 'outs' | 'metrics', wdir: string, scope: StageScope): StageOut[] {
  const what = key === 'outs' ? 'output' : 'metrics file';
  return checkList(v, key, scope).map((o, i) => {
    let written: unknown = o;
    let optsRaw: unknown = null;
    if (isPlainObject(o)) {
      const keys = Object.keys(o);
      if (keys.length !== 1) {
        throw scope.error('STAGE_INVALID', [key, i], `${key}[${i}] must be a path or a one-key mapping '<path>: {options}', not a mapping with ${keys.length} keys`, `options are: ${OUT_OPTIONS.join(', ')}`);
      }
      written = keys[0];
      optsRaw = o[keys[0]!];
    }
    const ref = checkPath(written, wdir, scope, [key, i], what);
    const out: StageOut = { ...ref, cache: true, persist: false, metric: key === 'metrics' };
    if (optsRaw !== null && optsRaw !== undefined) {
      if (!isPlainObject(optsRaw)) throw scope.error('STAGE_INVALID', [key, i], `options of ${what} '${ref.path}' must be a mapping, not ${describe(optsRaw)}`, `options are: ${OUT_OPTIONS.join(', ')}`);
      for (const [ok, ov] of Object.entries(optsRaw)) {
        if (!OUT_OPTIONS.includes(ok)) throw scope.error('STAGE_INVALID', [key, i], `unknown option '${ok}' of ${what} '${ref.path}'`, `options are: ${OUT_OPTIONS.join(', ')}`);
        if (ok === 'desc') {
          if (typeof ov !== 'string') throw scope.error('STAGE_INVALID', [key, i], `'desc' of ${what} '${ref.path}' must be text`);
          out.desc = ov;
        } else {
          if (typeof ov !== 'boolean') throw scope.error('STAGE_INVALID', [key, i], `'${ok}' of ${what} '${ref.path}' must be true or false, not ${describe(ov)}`);
          if (ok === 'cache') out.cache = ov;
          else out.persist = ov;
        }
      }
    }
    return out;
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

// ---------------------------------------------------------------------------------------------
// stage helpers

/** Outputs and metrics files: everything the stage writes. */
export function allOutputs(stage: Stage): StageOut[] {
  return [...stage.outs, ...stage.metrics];
}

/** Repository paths the stage reads: its deps and its params files. */
export function stageInputs(stage: Stage): string[] {
  return [...new Set([...stage.deps.map((d) => d.repoPath), ...stage.params.map((p) => p.repoPath)])];
}

export function findStage(pipeline: Pipeline, name: string): Stage | undefined {
  return pipeline.stages.find((s) => s.name === name);
}

/**
 * The values of a stage's env variables as recorded in the lock: the environment's value, else
 * the default, else null (unset).
 */
export function resolveEnv(stage: Stage, environ: Readonly<Record<string, string | undefined>>): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const e of stage.env) {
    const v = Object.hasOwn(environ, e.name) ? environ[e.name] : undefined;
    setOwn(out, e.name, v ?? e.default ?? null);
  }
  return out;
}

export interface FingerprintInputs {
  /** repoPath of each dep → its oid. */
  deps: Readonly<Record<string, string>>;
  /** params file repoPath → dot path → value. */
  params: ParamsByFile;
  /** env variable → value (null when unset). */
  env: Readonly<Record<string, string | null>>;
}

export interface Fingerprint {
  value: Record<string, unknown>;
  /** Canonical JSON of value: sorted keys, no whitespace; what a run-cache hashes. */
  text: string;
}

/**
 * Everything that decides what a stage produces, in canonical form: two runs with equal
 * fingerprints should produce equal outputs, so a run-cache keyed by its hash can restore
 * outputs instead of running the command. Frozen and always_changed are not inputs; the caller
 * should not use a run-cache for always_changed stages.
 */
export function stageFingerprint(stage: Stage, inputs: FingerprintInputs): Fingerprint {
  const deps = stage.deps.map((d) => {
    const oid = Object.hasOwn(inputs.deps, d.repoPath) ? inputs.deps[d.repoPath] : undefined;
    if (typeof oid !== 'string') {
      throw new RvcError('INTERNAL', `no oid given for dependency '${d.repoPath}' of stage '${stage.name}'`);
    }
    return { path: d.repoPath, oid };
  }).sort((a, b) => compareStrings(a.path, b.path));
  const params: Record<string, unknown> = {};
  for (const p of [...stage.params].sort((a, b) => compareStrings(a.repoPath, b.repoPath))) {
    const vals = Object.hasOwn(inputs.params, p.repoPath) ? inputs.params[p.repoPath] : undefined;
    setOwn(params, p.repoPath, sortKeysDeep(vals ?? {}));
  }
  const env: Record<string, string | null> = {};
  for (const e of stage.env) {
    setOwn(env, e.name, Object.hasOwn(inputs.env, e.name) ? inputs.env[e.name] ?? null : null);
  }
  const outs = allOutputs(stage)
    .map((o) => ({ path: o.repoPath, cache: o.cache, persist: o.persist, metric: o.metric }))
    .sort((a, b) => compareStrings(a.path, b.path));
  const value = { v: 1, cmd: stage.cmd, wdir: stage.wdir, deps, params, env, outs };
  return { value, text: canonicalJson(value) };
}

// ---------------------------------------------------------------------------------------------
// writing

export interface OutOptions {
  cache?: boolean;
  persist?: boolean;
  desc?: string;
}

/** A stage as written in rvc.yaml (the input of `rvc stage add`). */
export interface StageDef {
  desc?: string;
  cmd: string | string[];
  wdir?: string;
  deps?: string[];
  params?: (string | Record<string, string[] | null>)[];
  env?: string[] | Record<string, string | number | boolean | null>;
  outs?: (string | Record<string, OutOptions | null>)[];
  metrics?: (string | Record<string, OutOptions | null>)[];
  frozen?: boolean;
  always_changed?: boolean;
}

const DEF_ORDER: readonly (keyof StageDef)[] = ['desc', 'cmd', 'wdir', 'deps', 'params', 'env', 'outs', 'metrics', 'frozen', 'always_changed'];

/** A def with its fields in the order rvc writes them, empty lists and false flags left out. */
export function normalizeDef(def: StageDef): StageDef {
  const out: Record<string, unknown> = {};
  for (const k of DEF_ORDER) {
    const v = def[k];
    if (v === undefined || v === false) continue;
    if (Array.isArray(v) && v.length === 0 && k !== 'cmd') continue;
    if (k === 'wdir' && v === '.') continue;
    if (k === 'env' && isPlainObject(v) && Object.keys(v).length === 0) continue;
    out[k] = v;
  }
  return out as unknown as StageDef;
}

/** The written form of a resolved stage (templates are not recovered). */
export function stageToDef(stage: Stage): StageDef {
  const outDef = (o: StageOut): string | Record<string, OutOptions | null> => {
    const opts: OutOptions = {};
    if (!o.cache) opts.cache = false;
    if (o.persist) opts.persist = true;
    if (o.desc !== undefined) opts.desc = o.desc;
    return Object.keys(opts).length === 0 ? o.path : { [o.path]: opts };
  };
  const def: StageDef = { cmd: stage.cmd.length === 1 ? stage.cmd[0]! : [...stage.cmd] };
  if (stage.desc !== undefined) def.desc = stage.desc;
  if (stage.wdir !== '.') def.wdir = stage.wdir;
  if (stage.deps.length) def.deps = stage.deps.map((d) => d.path);
  if (stage.params.length) {
    def.params = stage.params.map((p) => (p.file === DEFAULT_PARAMS_FILE && p.keys !== null
      ? p.keys
      : [{ [p.file]: p.keys }])).flat() as StageDef['params'];
  }
  if (stage.env.length) {
    def.env = stage.env.some((e) => e.default !== undefined)
      ? Object.fromEntries(stage.env.map((e) => [e.name, e.default ?? null]))
      : stage.env.map((e) => e.name);
  }
  if (stage.outs.length) def.outs = stage.outs.map(outDef);
  if (stage.metrics.length) def.metrics = stage.metrics.map(outDef);
  if (stage.frozen) def.frozen = true;
  if (stage.alwaysChanged) def.always_changed = true;
  return normalizeDef(def);
}

/** rvc.yaml text for the given stages (in the order given), with fields in canonical order. */
export function serializePipeline(stages: Record<string, StageDef> | readonly Stage[], opts: { vars?: unknown[] } = {}): string {
  const entries: [string, StageDef][] = Array.isArray(stages)
    ? (stages as readonly Stage[]).map((s) => [s.name, stageToDef(s)])
    : Object.entries(stages as Record<string, StageDef>).map(([n, d]) => [n, normalizeDef(d)]);
  const top: Record<string, unknown> = {};
  if (opts.vars && opts.vars.length) top['vars'] = opts.vars;
  const st: Record<string, unknown> = {};
  for (const [n, d] of entries) setOwn(st, n, d);
  top['stages'] = st;
  return guardYamlOutput(new Document(top).toString({ lineWidth: 0, indent: 2 }), PIPELINE_FILE);
}

export interface EditOptions extends ParseOptions {
  /** Replace a stage of the same name instead of refusing. */
  force?: boolean;
}

/**
 * Adds a stage to rvc.yaml text and returns the new text. Comments and formatting of the rest
 * of the file are kept, so the git diff shows only the new stage. Refuses a name in use and
 * outputs that overlap another stage's outputs; the caller should still build the graph of the
 * result to refuse cycles.
 */
export function addStage(text: string, name: string, def: StageDef, file: string, opts: EditOptions = {}): string {
  const before = parsePipeline(text, file, opts);
  const rawNames = rawStageNames(text, file);
  if (!STAGE_NAME_RE.test(name) || name.length > MAX_STAGE_NAME) {
    throw new RvcError('STAGE_INVALID', `invalid stage name '${name}'`, {
      path: file, hint: `a stage name holds only letters, digits and '_', '.', '-' (at most ${MAX_STAGE_NAME} characters)`,
    });
  }
  const taken = rawNames.has(name) || before.stages.some((s) => s.name === name);
  if (taken && (!opts.force || !rawNames.has(name))) {
    throw new RvcError('STAGE_INVALID', `stage '${name}' already exists in ${file}`, {
      path: file, hint: opts.force ? `'${name}' is generated by a foreach; edit that stage instead` : 'choose another name, or use --force to replace it',
    });
  }

  const clean = normalizeDef(def);
  const out = guardYamlOutput((!taken && appendStageText(text, name, clean, file)) || editWithDocument(text, name, clean), file);

  const after = parsePipeline(out, file, opts);
  const mine = after.stages.filter((s) => s.name === name || s.generatedFrom?.name === name);
  const others = after.stages.filter((s) => !(s.name === name || s.generatedFrom?.name === name));
  for (const s of mine) {
    for (const o of allOutputs(s)) {
      for (const t of others) {
        const hit = allOutputs(t).find((x) => pathsOverlap(x.repoPath, o.repoPath));
        if (hit) {
          throw new RvcError('PATH_OVERLAPS', `output '${o.repoPath}' of stage '${s.name}' overlaps output '${hit.repoPath}' of stage '${t.name}'`, {
            path: file, details: { stages: [s.name, t.name], paths: [o.repoPath, hit.repoPath] },
            hint: `an output belongs to one stage; use '${hit.repoPath}' as a dependency of '${s.name}' instead, or remove it from '${t.name}'`,
          });
        }
      }
    }
  }
  return out;
}

/** Removes a stage (as written, e.g. a whole foreach) from rvc.yaml text, keeping comments. */
export function removeStage(text: string, name: string, file: string): string {
  parseYamlLocated(text, file);
  if (!rawStageNames(text, file).has(name)) {
    throw new RvcError('STAGE_NOT_FOUND', `stage '${name}' is not defined in ${file}`, { path: file });
  }
  const doc = parseDocument(text);
  doc.deleteIn(['stages', name]);
  return guardYamlOutput(doc.toString({ lineWidth: 0, indent: 2 }), file);
}

function rawStageNames(text: string, file: string): Set<string> {
  const v = parseYamlLocated(text, file).value;
  const st = isPlainObject(v) ? v['stages'] : undefined;
  return new Set(isPlainObject(st) ? Object.keys(st) : []);
}

/**
 * Appends the stage as text after the last stage, leaving every existing byte as it was (the
 * Document API re-prints the whole file and normalises spacing). Returns undefined when the
 * layout is unusual (flow style, no stages yet) or the result does not read back as intended;
 * the caller then falls back to editing through the Document API.
 */
function appendStageText(text: string, name: string, def: StageDef, file: string): string | undefined {
  const doc = parseDocument(text);
  if (doc.errors.length > 0 || !isMap(doc.contents)) return undefined;
  const stages = doc.get('stages', true);
  if (!isMap(stages) || stages.flow || stages.items.length === 0 || !stages.range) return undefined;
  const keyStart = (stages.items[0]!.key as { range?: [number, number, number] } | null)?.range?.[0];
  if (keyStart === undefined) return undefined;
  const col = keyStart - (text.lastIndexOf('\n', keyStart - 1) + 1);
  // The user's nesting width, taken from the first stage's first field when it is a block map.
  let step = 2;
  const firstVal = stages.items[0]!.value;
  if (isMap(firstVal) && !firstVal.flow && firstVal.items.length > 0) {
    const k = (firstVal.items[0]!.key as { range?: [number, number, number] } | null)?.range?.[0];
    if (k !== undefined) {
      const c = k - (text.lastIndexOf('\n', k - 1) + 1);
      if (c > col && c - col <= 8) step = c - col;
    }
  }
  const spaced = stages.items.slice(1).some((item, i) => {
    const prevEnd = (stages.items[i]!.value as { range?: [number, number, number] } | null)?.range?.[1];
    const start = (item.key as { range?: [number, number, number] } | null)?.range?.[0];
    return prevEnd !== undefined && start !== undefined && /\n[ \t]*\n/.test(text.slice(Math.max(0, prevEnd - 1), start));
  });
  const one: Record<string, unknown> = {};
  setOwn(one, name, def);
  const body = new Document(one).toString({ lineWidth: 0, indent: step })
    .split('\n').map((l) => (l === '' ? l : ' '.repeat(col) + l)).join('\n');
  const at = stages.range[2];
  let before = text.slice(0, at);
  if (before !== '' && !before.endsWith('\n')) before += '\n';
  if (spaced && !before.endsWith('\n\n')) before += '\n';
  const out = before + body + text.slice(at);
  try {
    const v = parseYamlLocated(out, file).value;
    const st = isPlainObject(v) ? v['stages'] : undefined;
    const before2 = isPlainObject(doc.toJS()) ? (doc.toJS() as Record<string, unknown>) : {};
    if (!isPlainObject(st) || !deepEqual(st[name], JSON.parse(JSON.stringify(def)))) return undefined;
    // Everything else must read back unchanged.
    const rest = { ...v as Record<string, unknown>, stages: Object.fromEntries(Object.entries(st).filter(([k]) => k !== name)) };
    if (!deepEqual(rest, before2)) return undefined;
  } catch {
    return undefined;
  }
  return out;
}

function editWithDocument(text: string, name: string, def: StageDef): string {
  const doc = parseDocument(text);
  setStageNode(doc, name, def);
  return doc.toString({ lineWidth: 0, indent: 2 });
}

function setStageNode(doc: Document, name: string, def: StageDef): void {
  const node = doc.createNode(def);
  if (!isMap(doc.contents)) {
    doc.contents = doc.createNode({ stages: {} }) as typeof doc.contents;
  }
  let stages = doc.get('stages', true);
  if (!isMap(stages)) {
    doc.set('stages', doc.createNode({}));
    stages = doc.get('stages', true);
  }
  // An empty flow mapping (`stages: {}`) would keep the new stage on one line.
  if (isMap(stages) && stages.items.length === 0) stages.flow = false;
  doc.setIn(['stages', name], node);
}
