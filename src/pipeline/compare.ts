import fs from 'node:fs';
import path from 'node:path';
import { RvcError, isRvcError, type Failure } from '../errors.js';
import { isTreeOid } from '../model/oid.js';
import { parseLock, type Lock } from '../model/lock.js';
import {
  diffMetrics, flattenValues, getByDotPath, parseMetricsFile, parseParamsFile, type MetricChange, type ParamsByFile,
} from '../model/params.js';
import { compareStrings, deepEqual, setOwn } from '../model/values.js';
import { DEFAULT_PARAMS_FILE } from '../model/pipeline/types.js';
import { mergePipelines, parsePipeline, type Pipeline, type ProjectPipeline } from '../model/pipeline.js';
import { isLockFile, isPipelineFile } from '../model/names.js';
import { gitShowBytes, gitShowFile, gitTreeFiles } from '../scm/git.js';
import type { HashAlgo } from '../model/oid.js';
import { Repo, type CommonOptions } from '../repo/repo.js';
import { PIPELINE_FILE, readRepoText, varsLoader } from '../repo/project.js';

/**
 * Params and metrics of the workspace and of git revisions, for `rvc params diff`,
 * `rvc metrics show` and `rvc metrics diff`. A file is read from git at a revision; a file git
 * does not have there (a cached output, git-ignored) is read from the cache through that
 * revision's rvc.lock, so metrics written by a stage can be compared with past commits.
 */
export interface Source {
  /** 'workspace' or the revision as given. */
  label: string;
  read(rel: string): string | undefined;
  /** The bytes of a file (images), read the same way as `read`. */
  readBytes(rel: string): Buffer | undefined;
  /**
   * The object a stage output is recorded as at this revision when git does not have the file
   * and the cache does not have the object either (a remote may): undefined otherwise.
   */
  missingObject(rel: string): { hash: HashAlgo; oid: string } | undefined;
  /** The pipeline files and lock files there, repository paths. */
  pipelineFiles(): { pipelines: string[]; locks: string[] };
}

export function workspaceSource(repo: Repo): Source {
  return {
    label: 'workspace', read: (rel) => readRepoText(repo, rel), pipelineFiles: () => repo.pipelineFiles(),
    readBytes: (rel) => {
      try {
        return fs.readFileSync(path.join(repo.root, rel));
      } catch {
        return undefined;
      }
    },
    missingObject: () => undefined,
  };
}

export function revisionSource(repo: Repo, rev: string, emptyIfMissing: boolean): Source {
  let lock: Lock | undefined | null = null;
  let absent = false;
  const memo = new Map<string, string | undefined>();
  const show = (rel: string): string | undefined => {
    if (absent) return undefined;
    if (memo.has(rel)) return memo.get(rel);
    try {
      const t = gitShowFile(repo.root, rev, rel);
      memo.set(rel, t);
      return t;
    } catch (e) {
      // `HEAD` of a repository without commits: everything is new.
      if (emptyIfMissing && isRvcError(e, 'REV_NOT_FOUND')) {
        absent = true;
        return undefined;
      }
      throw e;
    }
  };
  let files: { pipelines: string[]; locks: string[] } | undefined;
  /** Every file git has there, listed once for the pipeline files and for missingObject. */
  let gitFiles: Set<string> | undefined;
  const pipelineFiles = (): { pipelines: string[]; locks: string[] } => {
    if (!files) {
      let all: string[] = [];
      try {
        if (!absent) all = gitTreeFiles(repo.root, rev);
      } catch (e) {
        if (!(emptyIfMissing && isRvcError(e, 'REV_NOT_FOUND'))) throw e;
      }
      files = { pipelines: all.filter(isPipelineFile).sort(compareStrings), locks: all.filter(isLockFile).sort(compareStrings) };
      gitFiles ??= new Set(all);
    }
    return files;
  };
  /** The cached (file, not folder) output `rel` as a lock file there records it. */
  const lockEntry = (rel: string): { hash: HashAlgo; oid: string } | undefined => {
    if (lock === null) {
      // Outputs of every lock file there, in one list (stage names do not matter here).
      const outs: Lock = { schema: '1.0', stages: {} };
      for (const f of pipelineFiles().locks) {
        const t = show(f);
        try {
          if (t !== undefined) for (const [n, st] of Object.entries(parseLock(t, `${f} at ${rev}`).stages)) setOwn(outs.stages, `${f}:${n}`, st);
        } catch {
          // a damaged lock file there names nothing to read
        }
      }
      lock = outs;
    }
    if (!lock) return undefined;
    for (const st of Object.values(lock.stages)) {
      const e = st.outs.find((o) => o.path === rel);
      if (e && !isTreeOid(e.oid)) return { hash: e.hash, oid: e.oid };
    }
    return undefined;
  };
  const cachedBytes = (rel: string): Buffer | undefined => {
    const e = lockEntry(rel);
    if (!e) return undefined;
    try {
      return fs.readFileSync(repo.odbFor(e.hash).objectPath(e.oid));
    } catch {
      return undefined;
    }
  };
  const fromCache = (rel: string): string | undefined => cachedBytes(rel)?.toString('utf8');
  const inGit = (rel: string): boolean => {
    const files = gitFilesAt();
    return files.has(rel);
  };
  const gitFilesAt = (): Set<string> => {
    if (!gitFiles) pipelineFiles();
    return gitFiles ?? new Set();
  };
  show(PIPELINE_FILE); // fails early on an unknown revision
  return {
    label: rev, read: (rel) => show(rel) ?? fromCache(rel), pipelineFiles,
    readBytes: (rel) => (absent ? undefined : gitShowBytes(repo.root, rev, rel)) ?? cachedBytes(rel),
    missingObject: (rel) => {
      if (inGit(rel)) return undefined;
      const e = lockEntry(rel);
      return e && !repo.odbFor(e.hash).hasSync(e.oid) ? e : undefined;
    },
  };
}

/** The stages of every pipeline file of a side, in one list; undefined when it has none. */
/** The stages and top-level files of every pipeline file of a side; undefined when it has none. */
export function pipelineAt(src: Source): ProjectPipeline | undefined {
  const found: Pipeline[] = [];
  for (const f of src.pipelineFiles().pipelines) {
    const text = src.read(f);
    if (text !== undefined) found.push(atRevision(src, () => parsePipeline(text, f, { loadVarsFile: varsLoader(src.read) })));
  }
  return mergePipelines(found);
}

/** Errors about a file at a revision say which revision (parsers name the file only). */
function atRevision<T>(src: Source, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof RvcError) || src.label === 'workspace') throw e;
    throw new RvcError(e.code, `${e.message} (at revision ${src.label})`, {
      ...(e.path !== undefined ? { path: e.path } : {}), ...(e.line !== undefined ? { line: e.line } : {}),
      ...(e.hint !== undefined ? { hint: e.hint } : {}), cause: e,
    });
  }
}

export interface CompareOptions extends CommonOptions {
  /** The old side: a git revision; default HEAD. */
  a?: string;
  /** The new side: a git revision; default the workspace. */
  b?: string;
  /** List unchanged values too. */
  all?: boolean;
}

export function sources(repo: Repo, opts: CompareOptions): [Source, Source] {
  const a = revisionSource(repo, opts.a ?? 'HEAD', opts.a === undefined);
  const b = opts.b === undefined ? workspaceSource(repo) : revisionSource(repo, opts.b, false);
  return [a, b];
}

// ---------------------------------------------------------------------------------------------
// params

/**
 * The params files of the project: params file → keys read (null: every top-level key), over
 * the stages of both sides and the top-level `params:` files (every key, as in DVC).
 */
export function trackedParams(pipes: (ProjectPipeline | undefined)[]): Map<string, Set<string> | null> {
  const m = new Map<string, Set<string> | null>();
  for (const p of pipes) {
    for (const f of p?.params ?? []) m.set(f.repoPath, null);
    for (const s of p?.stages ?? []) {
      for (const x of s.params) {
        const cur = m.get(x.repoPath);
        if (x.keys === null || cur === null) m.set(x.repoPath, null);
        else m.set(x.repoPath, new Set([...(cur ?? []), ...x.keys]));
      }
    }
  }
  return m;
}

export function paramValues(src: Source, tracked: Map<string, Set<string> | null>): ParamsByFile {
  const out: ParamsByFile = {};
  for (const [file, keys] of tracked) {
    const text = src.read(file);
    if (text === undefined) continue;
    const obj = atRevision(src, () => parseParamsFile(text, file));
    const picked: Record<string, unknown> = {};
    if (keys === null) {
      for (const k of Object.keys(obj)) setOwn(picked, k, obj[k]);
    } else {
      for (const k of keys) {
        const v = getByDotPath(obj, k);
        if (v !== undefined) setOwn(picked, k, v);
      }
    }
    setOwn(out, file, flattenValues(picked));
  }
  return out;
}

/** The metrics files of the project: every stage's and the top-level `metrics:` files. */
export function metricsFiles(pipes: (ProjectPipeline | undefined)[]): string[] {
  const s = new Set<string>();
  for (const p of pipes) {
    for (const st of p?.stages ?? []) for (const m of st.metrics) s.add(m.repoPath);
    for (const m of p?.metrics ?? []) s.add(m.repoPath);
  }
  return [...s].sort(compareStrings);
}

export interface MetricsRead {
  values: ParamsByFile;
  /** Files listed in rvc.yaml that could not be read or parsed. */
  errors: (Failure & { path: string })[];
}

/**
 * The metrics files `rvc metrics show <targets…>` names: a target is a metrics file (declared in
 * rvc.yaml or not, as in DVC) or a folder, which stands for the declared metrics files inside it.
 * A folder with none declared is refused rather than walked (it may hold the project's data).
 */
export function metricsTargets(repo: Repo, src: Source, declared: readonly string[], targets: readonly string[], cwd?: string): string[] {
  const out = new Set<string>();
  for (const t of targets) {
    const { rel } = repo.resolve(t, cwd);
    if (declared.includes(rel)) {
      out.add(rel);
      continue;
    }
    const inside = declared.filter((f) => rel === '' || f.startsWith(`${rel}/`));
    if (inside.length > 0) {
      for (const f of inside) out.add(f);
      continue;
    }
    let isDir = false;
    try {
      isDir = src.label === 'workspace' && fs.statSync(path.join(repo.root, rel)).isDirectory();
    } catch {
      // not there: reported as a missing metrics file
    }
    if (isDir) {
      throw new RvcError('PATH_NOT_FOUND', `no metrics files are declared in rvc.yaml under '${t}'`, {
        path: t, hint: `name the metrics files themselves (\`rvc metrics show ${t.replace(/\/$/, '')}/metrics.json\`)`,
      });
    }
    out.add(rel);
  }
  return [...out].sort(compareStrings);
}

/**
 * Values of the metrics files. A file that is missing is an error in the workspace, or anywhere
 * when `mustExist` (the user named it); a declared file missing at a revision is left out.
 */
export function metricValues(src: Source, files: string[], mustExist = src.label === 'workspace'): MetricsRead {
  const values: ParamsByFile = {};
  const errors: MetricsRead['errors'] = [];
  for (const f of files) {
    const text = src.read(f);
    if (text === undefined) {
      if (mustExist) {
        errors.push(src.label === 'workspace'
          ? { path: f, code: 'PATH_NOT_FOUND', message: `metrics file '${f}' does not exist`, hint: 'name a metrics file (to show the metrics of a revision, use `--rev <rev>`)' }
          : { path: f, code: 'PATH_NOT_FOUND', message: `metrics file '${f}' does not exist at revision ${src.label}` });
      }
      continue;
    }
    try {
      setOwn(values, f, flattenValues(atRevision(src, () => parseMetricsFile(text, f))));
    } catch (e) {
      if (!(e instanceof RvcError)) throw e;
      errors.push({ path: f, code: e.code, message: e.message });
    }
  }
  return { values, errors };
}

// ---------------------------------------------------------------------------------------------
// diffs (params diff, metrics diff, exp diff)

export interface ParamRow {
  file: string;
  key: string;
  change: 'added' | 'removed' | 'modified' | 'unchanged';
  old?: unknown;
  new?: unknown;
}

export interface ParamsDiffResult {
  a: string;
  b: string;
  changes: ParamRow[];
}

export interface ParamsDiffOptions extends CompareOptions {
  /** Only the params stages depend on, not every param of their params files. */
  deps?: boolean;
}

/**
 * `rvc params diff [a] [b]` and `rvc exp diff`: params compared between two revisions. As in DVC, every param of
 * every params file a stage reads is shown, and `params.yaml` whenever it exists; with `deps`,
 * only the keys the stages list.
 */
export function diffParams(repo: Repo, opts: ParamsDiffOptions = {}): ParamsDiffResult {
  const [a, b] = sources(repo, opts);
  const tracked = trackedParams([pipelineAt(a), pipelineAt(b)]);
  if (!opts.deps) {
    for (const f of tracked.keys()) tracked.set(f, null);
    if (a.read(DEFAULT_PARAMS_FILE) !== undefined || b.read(DEFAULT_PARAMS_FILE) !== undefined) tracked.set(DEFAULT_PARAMS_FILE, null);
  }
  const va = paramValues(a, tracked);
  const vb = paramValues(b, tracked);
  const changes: ParamRow[] = [];
  const files = [...new Set([...Object.keys(va), ...Object.keys(vb)])].sort(compareStrings);
  for (const file of files) {
    const x = Object.hasOwn(va, file) ? va[file]! : {};
    const y = Object.hasOwn(vb, file) ? vb[file]! : {};
    for (const key of [...new Set([...Object.keys(x), ...Object.keys(y)])].sort(compareStrings)) {
      const inA = Object.hasOwn(x, key);
      const inB = Object.hasOwn(y, key);
      const change = !inA ? 'added' : !inB ? 'removed' : deepEqual(x[key], y[key]) ? 'unchanged' : 'modified';
      if (change === 'unchanged' && !opts.all) continue;
      const row: ParamRow = { file, key, change };
      if (inA) row.old = x[key];
      if (inB) row.new = y[key];
      changes.push(row);
    }
  }
  return { a: a.label, b: b.label, changes };
}

export interface MetricsDiffResult {
  a: string;
  b: string;
  changes: MetricChange[];
  errors: MetricsRead['errors'];
}

/** `rvc metrics diff [a] [b]` and `rvc exp diff`: metrics compared between two revisions (default HEAD and the workspace). */
export function diffMetricsOf(repo: Repo, opts: CompareOptions = {}): MetricsDiffResult {
  const [a, b] = sources(repo, opts);
  const files = metricsFiles([pipelineAt(a), pipelineAt(b)]);
  const ma = metricValues(a, files);
  const mb = metricValues(b, files);
  return { a: a.label, b: b.label, changes: diffMetrics(ma.values, mb.values, opts.all ? { all: true } : {}), errors: [...ma.errors, ...mb.errors] };
}
