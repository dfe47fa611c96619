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
import { listExperimentRefs } from '../scm/experiments.js';
import { gitRefCommits, gitShowBytes, gitShowFile, gitTreeFiles } from '../scm/git.js';
import type { HashAlgo } from '../model/oid.js';
import type { TreeEntry } from '../model/tree.js';
import { Repo, type CommonOptions } from '../repo/repo.js';
import type { History } from '../repo/history.js';
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
  /**
   * Parsed files by name and text, shared by the sources of many revisions (readRevisions): a
   * text several revisions hold is parsed once. Parsed values are never modified.
   */
  parsed?: Map<string, unknown>;
  /** The pipeline files and lock files there, repository paths. */
  pipelineFiles(): { pipelines: string[]; locks: string[] };
  /** Reads these files ahead in one go (revisionSources: through their shared git process); optional. */
  prefetch?(rels: readonly string[]): Promise<void>;
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
  const lockEntry = lockedOutputs(repo, rev, () => pipelineFiles().locks, show);
  const cachedBytes = (rel: string): Buffer | undefined => readCached(repo, lockEntry(rel));
  const fromCache = (rel: string): string | undefined => cachedBytes(rel)?.toString('utf8');
  const inGit = (rel: string): boolean => {
    if (!gitFiles) pipelineFiles();
    return (gitFiles ?? new Set<string>()).has(rel);
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

/**
 * Sources of git revisions (labelled as given) all read through History's one `git cat-file
 * --batch`: every revision resolved, its pipeline and lock files found by walking its tree and
 * read, before they are returned; `prefetch` reads more files of every revision through the
 * same process. A file not read ahead is read when asked for (a git process of its own).
 * `emptyIfMissing`: a revision git does not have (HEAD without commits) has no files.
 */
export async function revisionSources(repo: Repo, history: History, revs: readonly string[], emptyIfMissing: boolean): Promise<Source[]> {
  const parsed = new Map<string, unknown>();
  return Promise.all(revs.map(async (rev) => {
    let commit: string | undefined;
    try {
      commit = await history.commitOf(rev);
    } catch (e) {
      if (!(emptyIfMissing && isRvcError(e, 'REV_NOT_FOUND'))) throw e;
    }
    const bytes = new Map<string, Buffer | undefined>();
    const texts = new Map<string, string | undefined>();
    const readAll = async (rels: readonly string[]): Promise<void> => {
      if (commit === undefined) return;
      await Promise.all([...new Set(rels)].filter((r) => !bytes.has(r)).map(async (r) => bytes.set(r, await history.readFile(commit, r))));
    };
    const gitBytes = (rel: string): Buffer | undefined => {
      if (commit === undefined) return undefined;
      if (!bytes.has(rel)) bytes.set(rel, gitShowBytes(repo.root, commit, rel));
      return bytes.get(rel);
    };
    const show = (rel: string): string | undefined => {
      if (!texts.has(rel)) texts.set(rel, gitBytes(rel)?.toString('utf8'));
      return texts.get(rel);
    };
    const files = { pipelines: [] as string[], locks: [] as string[] };
    if (commit !== undefined) {
      const all = (await history.filesAt(commit)).map((f) => f.rel);
      files.pipelines = all.filter(isPipelineFile).sort(compareStrings);
      files.locks = all.filter(isLockFile).sort(compareStrings);
      await readAll([...files.pipelines, ...files.locks]);
    }
    const lockEntry = lockedOutputs(repo, rev, () => files.locks, show);
    const cachedBytes = (rel: string): Buffer | undefined => readCached(repo, lockEntry(rel));
    const src: Source = {
      label: rev, parsed, pipelineFiles: () => files,
      read: (rel) => show(rel) ?? cachedBytes(rel)?.toString('utf8'),
      readBytes: (rel) => gitBytes(rel) ?? cachedBytes(rel),
      prefetch: readAll,
      missingObject: (rel) => {
        if (gitBytes(rel) !== undefined) return undefined;
        const e = lockEntry(rel);
        return e && !repo.odbFor(e.hash).hasSync(e.oid) ? e : undefined;
      },
    };
    return src;
  }));
}

/** The bytes of a cached object, or undefined when there is no entry or the cache lacks it. */
function readCached(repo: Repo, e: { hash: HashAlgo; oid: string } | undefined): Buffer | undefined {
  if (!e) return undefined;
  try {
    return repo.odbFor(e.hash).readObject(e.oid);
  } catch {
    return undefined;
  }
}

/**
 * The object of file `rel` as the lock files of a revision record it — a cached file output, or
 * a file inside a cached folder output (found in the folder's manifest when the cache has it): how
 * a file git does not hold there (a metrics or plots file a stage writes and rvc caches) is read
 * from the cache. `show` reads a file at the revision.
 */
function lockedOutputs(repo: Repo, label: string, locks: () => string[], show: (rel: string) => string | undefined): (rel: string) => { hash: HashAlgo; oid: string } | undefined {
  let lock: Lock | undefined;
  return (rel) => {
    if (!lock) {
      // Outputs of every lock file there, in one list (stage names do not matter here).
      const outs: Lock = { schema: '1.0', stages: {} };
      for (const f of locks()) {
        const t = show(f);
        try {
          if (t !== undefined) for (const [n, st] of Object.entries(parseLock(t, `${f} at ${label}`).stages)) setOwn(outs.stages, `${f}:${n}`, st);
        } catch {
          // a damaged lock file there names nothing to read
        }
      }
      lock = outs;
    }
    for (const st of Object.values(lock.stages)) {
      const e = st.outs.find((o) => o.path === rel);
      if (e && !isTreeOid(e.oid)) return { hash: e.hash, oid: e.oid };
      const dir = st.outs.find((o) => isTreeOid(o.oid) && rel.startsWith(`${o.path}/`));
      if (dir) {
        const odb = repo.odbFor(dir.hash);
        if (!odb.hasSync(dir.oid)) continue;
        let entries: TreeEntry[];
        try {
          entries = odb.readTree(dir.oid);
        } catch {
          continue; // a damaged manifest names nothing to read
        }
        const inner = entries.find((x) => x.path === rel.slice(dir.path.length + 1));
        if (inner) return { hash: dir.hash, oid: inner.oid };
      }
    }
    return undefined;
  };
}

/**
 * Sources for many revisions at once, all read through one `git cat-file --batch` (History's),
 * for `exp show` and `metrics show -A`. `compute` is run on every revision's source (it must be
 * a pure function of the files it reads: the readers below are); each file it asked for that
 * was not fetched yet is fetched for every revision in one pipelined stream, and it is run
 * again, until it asks for nothing new (pipeline files, then their vars files, params and
 * metrics files: a few rounds whatever the number of revisions). An error it throws while files
 * are still missing is taken as a consequence of their absence; one it throws with everything
 * read is its answer for that revision.
 */
export async function readRevisions<T>(repo: Repo, history: History, revs: readonly { commit: string; label: string }[],
  compute: (src: Source) => T): Promise<Map<string, { value?: T; error?: unknown }>> {
  const memo = new Map<string, string | undefined>();
  const parsed = new Map<string, unknown>();
  const key = (commit: string, rel: string): string => `${commit}\0${rel}`;
  const listed = new Map<string, { pipelines: string[]; locks: string[] }>();
  // Round 0: each revision's pipeline and lock files, found by walking its tree (shared subtrees once).
  await Promise.all(revs.map(async ({ commit }) => {
    if (listed.has(commit)) return;
    const files = await history.filesAt(commit);
    const pipelines = files.filter((f) => isPipelineFile(f.rel)).map((f) => f.rel).sort(compareStrings);
    const locks = files.filter((f) => isLockFile(f.rel)).map((f) => f.rel).sort(compareStrings);
    listed.set(commit, { pipelines, locks });
    await Promise.all([...pipelines, ...locks].map(async (rel) => memo.set(key(commit, rel), (await history.readFile(commit, rel))?.toString('utf8'))));
  }));
  const out = new Map<string, { value?: T; error?: unknown }>();
  let pending = [...new Map(revs.map((r) => [r.commit, r])).values()];
  for (let round = 0; pending.length; round++) {
    const wanted: [string, string][] = [];
    const again: typeof pending = [];
    for (const r of pending) {
      const missing: string[] = [];
      const show = (rel: string): string | undefined => {
        const k = key(r.commit, rel);
        if (!memo.has(k)) missing.push(rel);
        return memo.get(k);
      };
      const lockEntry = lockedOutputs(repo, r.label, () => listed.get(r.commit)!.locks, show);
      const fromCache = (rel: string): string | undefined => readCached(repo, lockEntry(rel))?.toString('utf8');
      const src: Source = {
        label: r.label, read: (rel) => show(rel) ?? fromCache(rel), pipelineFiles: () => listed.get(r.commit)!, parsed,
        // Tables read text only; bytes come from git through the same stream or from the cache.
        readBytes: (rel) => { const t = show(rel); return t !== undefined ? Buffer.from(t, 'utf8') : readCached(repo, lockEntry(rel)); },
        missingObject: () => undefined,
      };
      let res: { value?: T; error?: unknown };
      try {
        res = { value: compute(src) };
      } catch (e) {
        res = { error: e };
      }
      if (missing.length && round < 20) {
        again.push(r);
        for (const rel of missing) wanted.push([r.commit, rel]);
      } else out.set(r.commit, res);
    }
    await Promise.all(wanted.map(async ([commit, rel]) => {
      const k = key(commit, rel);
      if (!memo.has(k)) memo.set(k, (await history.readFile(commit, rel))?.toString('utf8'));
    }));
    pending = again;
  }
  return out;
}

/** The stages and top-level files of every pipeline file of a side; undefined when it has none. */
export function pipelineAt(src: Source): ProjectPipeline | undefined {
  const found: Pipeline[] = [];
  for (const f of src.pipelineFiles().pipelines) {
    const text = src.read(f);
    if (text === undefined) continue;
    // A pipeline that reads no vars file is a function of its text alone: parsed once per text.
    const key = `pipeline\0${f}\0${text}`;
    const hit = src.parsed?.get(key) as Pipeline | undefined;
    if (hit) {
      found.push(hit);
      continue;
    }
    const seen = new Map<string, string | null>();
    const p = atRevision(src, () => parsePipeline(text, f, { loadVarsFile: varsLoader(src.read, seen) }));
    if (!seen.size) src.parsed?.set(key, p);
    found.push(p);
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

/** `parse()` of a file's text, remembered in the source's shared memo when it has one. */
function parsedOnce<T>(src: Source, kind: string, file: string, text: string, parse: () => T): T {
  if (!src.parsed) return parse();
  const key = `${kind}\0${file}\0${text}`;
  if (src.parsed.has(key)) return src.parsed.get(key) as T;
  const v = parse();
  src.parsed.set(key, v);
  return v;
}

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
    const obj = parsedOnce(src, 'params', file, text, () => atRevision(src, () => parseParamsFile(text, file)));
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
      setOwn(values, f, parsedOnce(src, 'metrics', f, text, () => flattenValues(atRevision(src, () => parseMetricsFile(text, f)))));
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

/** The params and metrics of one side, each read through the pipeline files that side declares. */
export interface SideValues {
  params: ParamsByFile;
  metrics: ParamsByFile;
  errors: MetricsRead['errors'];
}

/** What `exp show` and `metrics show -A` read of every revision (and the workspace). */
export function sideValues(src: Source): SideValues {
  const pipe = pipelineAt(src);
  const m = metricValues(src, metricsFiles([pipe]), false);
  return { params: paramValues(src, trackedParams([pipe])), metrics: m.values, errors: m.errors };
}

export interface ScopeRevision {
  commit: string;
  /** A branch or tag naming the commit when one does, else the revision as given, else its short id. */
  label: string;
  /** For the last `num` commits of HEAD: how many commits before HEAD it is (0 for HEAD). */
  line?: number;
}

/**
 * The commits a table over revisions shows (`exp show`, `metrics show`): HEAD by default, or
 * the tips of every branch (`allBranches`), every tag (`allTags`), every commit (`allCommits`),
 * the last `num` commits of HEAD; HEAD's commit first, each once. Experiment commits are not
 * revisions of the scope.
 */
export function scopeRevisions(history: History, opts: { allBranches?: boolean; allTags?: boolean; allCommits?: boolean; num?: number }): ScopeRevision[] {
  const head = history.head();
  const scope = { ...(opts.allBranches ? { allBranches: true } : {}), ...(opts.allTags ? { allTags: true } : {}), ...(opts.allCommits ? { allCommits: true } : {}) };
  const commits: string[] = [];
  if (head) {
    commits.push(head);
    if (opts.num !== undefined) for (const c of history.revList(head).slice(0, opts.num)) commits.push(c);
  }
  // Experiments are rows of their baseline, never baselines themselves (`--all-commits` reaches them through refs/exps/).
  const exps = opts.allCommits ? new Set(listExperimentRefs(history.root).map((e) => e.commit)) : undefined;
  for (const c of history.resolveScope(scope).keys()) if (!exps?.has(c)) commits.push(c);
  const names = new Map<string, string>();
  for (const kind of ['tags', 'heads'] as const) for (const r of gitRefCommits(history.root, kind)) names.set(r.commit, r.name);
  const line = new Map(opts.num !== undefined ? commits.slice(1, 1 + opts.num).map((c, i) => [c, i] as const) : []);
  return [...new Set(commits)].map((commit) => {
    const at = line.get(commit);
    return { commit, label: names.get(commit) ?? commit.slice(0, 7), ...(at !== undefined ? { line: at } : {}) };
  });
}

export interface MetricsAtRevision extends MetricsRead {
  /** `workspace` or the commit (full oid). */
  rev: string;
  /** `workspace`, a branch or tag naming the commit, or its short id. */
  label: string;
}

/**
 * The metrics of many revisions, all read through History's one git process (readRevisions):
 * each revision's own metrics files, or `files` when given (the files a user named). What
 * `metrics show -A/-a/-T/-n` and `plots show --history` show.
 */
export async function metricsAtRevisions(repo: Repo, history: History, revs: readonly ScopeRevision[], files?: readonly string[]): Promise<MetricsAtRevision[]> {
  const at = (s: Source): MetricsRead => metricValues(s, files ? [...files] : metricsFiles([pipelineAt(s)]), false);
  const read = await readRevisions(repo, history, revs, at);
  return revs.map((r) => {
    const v = read.get(r.commit);
    const e = v?.error;
    return {
      rev: r.commit, label: r.label, values: v?.value?.values ?? {},
      errors: v?.value?.errors ?? (e === undefined ? [] : [{ path: e instanceof RvcError ? e.path ?? '' : '', code: e instanceof RvcError ? e.code : 'INTERNAL', message: e instanceof Error ? e.message : String(e) }]),
    };
  });
}
