import fs from 'node:fs';
import path from 'node:path';
import { RvcError, errnoCode, fromFsError } from '../errors.js';
import { mergeEnvironmentSpecs, mergePipelines, parsePipeline, stagesNamed, PIPELINE_FILE, type Pipeline, type ProjectPipeline, type Stage } from '../model/pipeline.js';
export type { ProjectPipeline };
import { parseLock, emptyLock, LOCK_FILE, type Lock, type LockStage } from '../model/lock.js';
import { parseParamsFile } from '../model/params.js';
import { compareStrings, deepEqual, setOwn } from '../model/values.js';
import { lockFileOf, pipelineDirOf, pipelineFileIn, pipelineFileOf, splitStageId, stageId } from '../model/names.js';
import { isInside } from '../model/paths.js';
import { buildGraph, missingDeps, type Graph } from '../model/dag.js';
import { writeFileAtomic } from '../fsutil/atomic.js';
import { isDir } from '../fsutil/stat.js';
import { hashBuffer } from '../hashing/hash.js';
import { outStatus } from './out-status.js';
import type { Repo } from './repo.js';

/** The pipeline file and its lock (their names are the model's). */
export { PIPELINE_FILE, LOCK_FILE };

/**
 * Parsed forms of rvc.yaml and rvc.lock, kept in `.rvc/tmp` keyed by a hash of the texts they
 * came from (and of every vars file rvc.yaml read). Parsing 200 stages with the YAML library
 * costs ~100 ms on a cold process, more than everything else a no-op `repro` does; hashing the
 * texts and reading one JSON file costs under a millisecond. A stale or damaged cache only
 * costs a parse.
 */
const PARSE_CACHE = 'pipeline-parsed.json';
const PARSE_CACHE_VERSION = 2;

/**
 * The parsers' own files (compiled), by size and mtime: an upgraded or rebuilt rvc may parse
 * the same text into a different shape, so its cache entries must not be taken for ours.
 */
const PARSER_MODULES = ['pipeline', 'template', 'lock', 'params', 'yaml'];
let codeStampMemo: string | undefined;
function codeStamp(): string {
  if (codeStampMemo === undefined) {
    codeStampMemo = PARSER_MODULES.map((m) => {
      try {
        const st = fs.statSync(new URL(`../model/${m}.js`, import.meta.url));
        return `${st.size}:${st.mtimeMs}`;
      } catch {
        return '?';
      }
    }).join(',');
  }
  return codeStampMemo;
}

interface ParseCache {
  v: number;
  /** codeStamp() of the rvc that wrote it. */
  code?: string;
  /** By pipeline file. */
  pipelines?: Record<string, { key: string; vars: Record<string, string | null>; value: Pipeline }>;
  /** By lock file; the value is the file's own lock (its stages by the names written there). */
  locks?: Record<string, { key: string; value: Lock }>;
}

/** The identity of each lock file as last read or written (undefined: it did not exist), to notice another process's writes. */
export interface FileStamp {
  ino: number;
  mtimeMs: number;
  size: number;
}
export type LockStamps = Record<string, FileStamp | undefined>;

export interface Project {
  repo: Repo;
  pipeline: ProjectPipeline;
  graph: Graph;
}

function textKey(algoText: string): string {
  return hashBuffer('blake3', algoText);
}

function readParseCache(repo: Repo): ParseCache {
  try {
    const c = JSON.parse(fs.readFileSync(path.join(repo.tmpDir, PARSE_CACHE), 'utf8')) as ParseCache;
    if (c && c.v === PARSE_CACHE_VERSION && c.code === codeStamp()) return c;
  } catch {
    // missing or damaged: parse again
  }
  return { v: PARSE_CACHE_VERSION, code: codeStamp() };
}

/**
 * Values JSON cannot carry (YAML's .inf and .nan in params) would come back changed; a part
 * that does not survive the round trip is left out of the cache and parsed every time.
 */
function survivesJson(v: unknown): boolean {
  return deepEqual(JSON.parse(JSON.stringify(v)) as unknown, v);
}

function writeParseCache(repo: Repo, c: ParseCache): void {
  for (const part of [c.pipelines, c.locks]) {
    for (const [f, e] of Object.entries(part ?? {})) if (!survivesJson(e.value)) delete part![f];
  }
  try {
    fs.mkdirSync(repo.tmpDir, { recursive: true });
    writeFileAtomic(path.join(repo.tmpDir, PARSE_CACHE), JSON.stringify(c), { fsync: false });
  } catch {
    // an optimisation only
  }
}

/**
 * Reads a repository file as text, or undefined when it does not exist. A symbolic link out of
 * the repository is refused (PATH_IS_SYMLINK): see Repo.linkOutside.
 */
export function readRepoText(repo: Repo, rel: string): string | undefined {
  refuseLinkOutside(repo, rel);
  try {
    return fs.readFileSync(path.join(repo.root, rel), 'utf8');
  } catch (e) {
    const c = errnoCode(e);
    if (c === 'ENOENT' || c === 'ENOTDIR') return undefined;
    throw fromFsError(e, rel, 'read');
  }
}

/** Throws PATH_IS_SYMLINK when `rel` is a link that leads out of the repository and the cache. */
export function refuseLinkOutside(repo: Repo, rel: string): void {
  const real = repo.linkOutside(rel);
  if (real !== undefined) {
    throw new RvcError('PATH_IS_SYMLINK', `'${rel}' is a symbolic link to '${real}', outside the repository: rvc does not read it`, {
      path: rel, hint: `copy the file into the repository instead of linking it (\`cp --remove-destination '${real}' '${rel}'\`)`,
    });
  }
}

/** A vars file reader for parsePipeline over some source of file texts. */
export function varsLoader(read: (rel: string) => string | undefined, seen?: Map<string, string | null>): (rel: string) => unknown {
  return (rel: string) => {
    const text = read(rel);
    seen?.set(rel, text === undefined ? null : textKey(text));
    return text === undefined ? undefined : parseParamsFile(text, rel);
  };
}

/** Pipeline file `file` of the workspace, or undefined when it does not exist. Parsed through the parse cache. */
function readPipelineFile(repo: Repo, file: string, cache: ParseCache): { pipeline: Pipeline | undefined; dirty: boolean } {
  const text = readRepoText(repo, file);
  if (text === undefined) return { pipeline: undefined, dirty: false };
  const key = textKey(text);
  const hit = cache.pipelines?.[file];
  if (hit && hit.key === key && Object.entries(hit.vars).every(([rel, h]) => {
    const t = readRepoText(repo, rel);
    return (t === undefined ? null : textKey(t)) === h;
  })) {
    return { pipeline: hit.value, dirty: false };
  }
  const seen = new Map<string, string | null>();
  const pipeline = parsePipeline(text, file, { loadVarsFile: varsLoader((rel) => readRepoText(repo, rel), seen) });
  cache.pipelines ??= {};
  setOwn(cache.pipelines, file, { key, vars: Object.fromEntries(seen), value: pipeline });
  return { pipeline, dirty: true };
}

/** Every pipeline file of the workspace, parsed, as one project pipeline (undefined when there is none). */
export function readPipelines(repo: Repo, files: readonly string[], cache: ParseCache = readParseCache(repo)): { pipeline: ProjectPipeline | undefined; dirty: boolean } {
  const found: Pipeline[] = [];
  let dirty = false;
  for (const f of files) {
    const p = readPipelineFile(repo, f, cache);
    dirty ||= p.dirty;
    if (p.pipeline) found.push(p.pipeline);
  }
  const pipeline = mergePipelines(found);
  const environment = mergeEnvironmentSpecs(found.flatMap((p) => (p.environment ? [{ file: p.file, spec: p.environment }] : [])));
  if (pipeline && environment) pipeline.environment = environment;
  return { pipeline, dirty };
}

export interface LockRead {
  /** Every lock file's stages, by stage id. */
  lock: Lock;
  stamp: LockStamps;
}

function stampOf(st: fs.Stats): FileStamp {
  return { ino: st.ino, mtimeMs: st.mtimeMs, size: st.size };
}

function sameFileStamp(a: FileStamp | undefined, b: FileStamp | undefined): boolean {
  if (!a || !b) return a === b;
  return a.ino === b.ino && a.mtimeMs === b.mtimeMs && a.size === b.size;
}

export function sameStamp(a: LockStamps, b: LockStamps): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if (!sameFileStamp(a[k], b[k])) return false;
  return true;
}

/** The current identity of one lock file (undefined when it does not exist). */
export function lockFileStamp(repo: Repo, lockFile: string): FileStamp | undefined {
  try {
    return stampOf(fs.statSync(path.join(repo.root, lockFile)));
  } catch {
    return undefined;
  }
}

/** The current identity of every lock file the project has (see pipelineFiles). */
export function lockStamp(repo: Repo, lockFiles: readonly string[] = repo.pipelineFiles().locks): LockStamps {
  const res: LockStamps = {};
  for (const f of lockFiles) res[f] = lockFileStamp(repo, f);
  return res;
}

/** Parses one lock file's text (its stages by the names written there), through the parse cache when `cache` is given. */
export function parseLockCached(text: string, file: string = LOCK_FILE, cache?: ParseCache): { lock: Lock; dirty: boolean } {
  if (text.trim() === '') return { lock: emptyLock(), dirty: false };
  const key = textKey(text);
  const hit = cache?.locks?.[file];
  if (hit && hit.key === key) return { lock: hit.value, dirty: false };
  const lock = parseLock(text, file);
  if (cache) {
    cache.locks ??= {};
    setOwn(cache.locks, file, { key, value: lock });
  }
  return { lock, dirty: true };
}

/** Reads one lock file (an empty lock when there is none), its stages by the names written there. */
export function readLockFile(repo: Repo, lockFile: string, cache?: ParseCache): { lock: Lock; stamp: FileStamp | undefined; dirty: boolean } {
  const abs = path.join(repo.root, lockFile);
  let fd: number;
  try {
    fd = fs.openSync(abs, 'r');
  } catch (e) {
    const c = errnoCode(e);
    if (c === 'ENOENT' || c === 'ENOTDIR') return { lock: emptyLock(), stamp: undefined, dirty: false };
    throw fromFsError(e, lockFile, 'read');
  }
  try {
    // Stat and read through one descriptor, so the stamp describes the text we parsed.
    const st = fs.fstatSync(fd);
    const text = fs.readFileSync(fd, 'utf8');
    return { ...parseLockCached(text, lockFile, cache), stamp: stampOf(st) };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * `merged` with the stages of lock file `lockFile` replaced by those of `fileLock` (the file's
 * own lock, stages by the names written there): the project lock after one file was re-read.
 */
export function withFileLock(merged: Lock, lockFile: string, fileLock: Lock): Lock {
  const pfile = pipelineFileOf(lockFile);
  const stages: Record<string, LockStage> = {};
  for (const [id, st] of Object.entries(merged.stages)) if (splitStageId(id).file !== pfile) setOwn(stages, id, st);
  for (const [local, st] of Object.entries(fileLock.stages)) setOwn(stages, stageId(pfile, local), st);
  return { schema: merged.schema, stages };
}

/** Reads every lock file of the workspace into one lock whose stages are keyed by id. */
export function readLocks(repo: Repo, lockFiles: readonly string[] = repo.pipelineFiles().locks, cache?: ParseCache): LockRead & { dirty: boolean } {
  let lock = emptyLock();
  const stamp: LockStamps = {};
  let dirty = false;
  for (const f of lockFiles) {
    const l = readLockFile(repo, f, cache);
    dirty ||= l.dirty;
    stamp[f] = l.stamp;
    lock = withFileLock(lock, f, l.lock);
  }
  return { lock, stamp, dirty };
}

/** Every lock file of the workspace through the parse cache (saved again when it changed). */
export function readLockCached(repo: Repo): LockRead {
  const cache = readParseCache(repo);
  const l = readLocks(repo, repo.pipelineFiles().locks, cache);
  if (l.dirty) writeParseCache(repo, cache);
  return { lock: l.lock, stamp: l.stamp };
}

/** Every pipeline file of the workspace as one (undefined without one), through the parse cache. */
export function readPipelineCached(repo: Repo): ProjectPipeline | undefined {
  const cache = readParseCache(repo);
  const p = readPipelines(repo, repo.pipelineFiles().pipelines, cache);
  if (p.dirty) writeParseCache(repo, cache);
  return p.pipeline;
}

export interface LoadedProject extends Project, LockRead {}

/**
 * Loads every pipeline file, builds and checks the one graph across them (shared or nested
 * outputs, cycles), and reads every lock file. Throws PIPELINE_INVALID when there is no
 * pipeline file.
 */
export function loadProject(repo: Repo): LoadedProject {
  const files = repo.pipelineFiles();
  const cache = readParseCache(repo);
  const p = readPipelines(repo, files.pipelines, cache);
  if (!p.pipeline) {
    throw new RvcError('PIPELINE_INVALID', `there is no ${PIPELINE_FILE} in '${repo.root}' or its folders`, {
      path: PIPELINE_FILE, hint: 'add a stage first: `rvc stage add -n <name> -d <dep> -o <out> <command>`',
    });
  }
  // Lock files beside every pipeline file too, even those not written yet, so a runner
  // notices one another process creates.
  const locks = [...new Set([...files.locks, ...p.pipeline.files.map(lockFileOf)])].sort(compareStrings);
  const l = readLocks(repo, locks, cache);
  if (p.dirty || l.dirty) writeParseCache(repo, cache);
  const graph = buildGraph(p.pipeline.stages, p.pipeline.files.length === 1 ? { file: p.pipeline.files[0]! } : {});
  return { repo, pipeline: p.pipeline, graph, lock: l.lock, stamp: l.stamp };
}

/** Like loadProject, but undefined when the repository has no pipeline file. */
export function loadProjectIfAny(repo: Repo): LoadedProject | undefined {
  if (!repo.pipelineFiles().pipelines.length) return undefined;
  return loadProject(repo);
}

/**
 * Refuses, before anything runs, dependencies that no stage produces and that do not exist.
 * Only `names` are checked, so a broken stage elsewhere does not block unrelated work. Paths
 * `recorded` accepts count as present (repro --allow-missing: data a pointer records).
 */
export function checkMissingDeps(project: Project, names: readonly string[], opts: { allowMissing?: boolean } = {}): void {
  const only = new Set(names);
  const absent = missingDeps(project.graph, (rel) => fs.existsSync(path.join(project.repo.root, rel)))
    .filter((m) => only.has(m.stage));
  if (absent.length === 0) return;
  // With allowMissing, data a pointer records may be missing: the runner skips the stage when
  // that is its only change, and says it is missing otherwise.
  const inPointers = trackedButAbsent(project.repo, absent.map((m) => m.path));
  const missing = opts.allowMissing ? absent.filter((m) => !inPointers.paths.includes(m.path)) : absent;
  if (missing.length === 0) return;
  const tracked = opts.allowMissing ? { paths: [], inCache: true } : inPointers;
  if (tracked.paths.length && tracked.paths.length === missing.length) {
    // Data a pointer file tracks that is not in the workspace (a fresh clone): pull or check it out.
    const shown = missing.slice(0, 10).map((m) => `'${m.path}' (stage '${m.stage}')`).join(', ');
    const args = tracked.paths.slice(0, 10).join(' ');
    throw new RvcError('PATH_NOT_FOUND', `${missing.length > 1 ? 'dependencies are' : 'a dependency is'} tracked by rvc but not in the workspace: ${shown}${missing.length > 10 ? ` and ${missing.length - 10} more` : ''}`, {
      path: missing[0]!.path, details: { missing },
      hint: tracked.inCache ? `restore ${missing.length > 1 ? 'them' : 'it'} from the cache: \`rvc checkout ${args}\`` : `get ${missing.length > 1 ? 'them' : 'it'} from the remote: \`rvc pull ${args}\``,
    });
  }
  const shown = missing.slice(0, 10).map((m) => `'${m.path}' (stage '${m.stage}')`).join(', ');
  throw new RvcError('PIPELINE_INVALID', `${missing.length > 1 ? 'dependencies do' : 'a dependency does'} not exist and no stage produces ${missing.length > 1 ? 'them' : 'it'}: ${shown}${missing.length > 10 ? ` and ${missing.length - 10} more` : ''}`, {
    path: PIPELINE_FILE, details: { missing },
    hint: 'create the file, fix the path in rvc.yaml, or add the stage that writes it'
      + (tracked.paths.length ? `; \`rvc pull ${tracked.paths.slice(0, 10).join(' ')}\` gets those a pointer file tracks` : ''),
  });
}

/**
 * Which of `paths` (absent from the workspace) a pointer file tracks, itself or a folder holding
 * it, and whether all of those are in the cache (then checkout restores them; else pull). A
 * pointer file that does not parse tracks nothing here (the commands that read it report it).
 */
function trackedButAbsent(repo: Repo, paths: readonly string[]): { paths: string[]; inCache: boolean } {
  const outs: ReturnType<Repo['outsOf']> = [];
  for (const f of repo.pointerFiles()) {
    try {
      for (const t of repo.outsOf(f)) outs.push(t);
    } catch {
      // damaged: skipped
    }
  }
  const found: string[] = [];
  let inCache = true;
  for (const p of paths) {
    const t = outs.find((o) => o.rel === p || isInside(p, o.rel));
    if (!t) continue;
    found.push(p);
    if (inCache && !outStatus(repo, t).inCache) inCache = false;
  }
  return { paths: found, inCache };
}


/** The stages of the pipeline files at or below folder `dir` (repository-relative; '.' for all). */
export function stagesUnder(project: Project, dir: string): string[] {
  return project.pipeline.stages.filter((s) => isInside(pipelineDirOf(s.file), dir)).map((s) => s.name);
}

export interface StageTargetOptions {
  /** A folder target means every stage of the pipeline files at or below it (`-R`). */
  recursive?: boolean;
  /** Without targets: every pipeline of the project, wherever `cwd` is (`-P`). */
  allPipelines?: boolean;
}

/**
 * The stages a pipeline command (repro, status, dag) starts from: the targets' stages; without
 * targets, those of the pipeline files at or below `cwd` (every stage from the root, or with
 * `allPipelines`). An empty list means every stage (selectStages), so a folder without
 * pipeline files is an error rather than everything.
 */
export function stageRoots(project: Project, targets: readonly string[], cwd: string, opts: StageTargetOptions = {}): string[] {
  if (targets.length) return resolveStageTargets(project, targets, cwd, opts);
  const here = project.repo.dirOf(cwd);
  if (opts.allPipelines || here === '.') return [];
  const under = stagesUnder(project, here);
  if (!under.length) {
    throw new RvcError('STAGE_NOT_FOUND', `there is no ${PIPELINE_FILE} in '${here}' or below it`, {
      path: here, hint: `run from a folder with a ${PIPELINE_FILE}, name stages, or use -P for every pipeline of the project (\`rvc stage list -P\` lists them)`,
    });
  }
  return under;
}

/**
 * Stage ids for user targets: a stage (short name, `file:stage`, `folder:stage`), a
 * foreach/matrix group, a pipeline file, an output path, or with `recursive` a folder. Short
 * names are looked up first in the pipeline file of `cwd` (see stagesNamed).
 */
export function resolveStageTargets(project: Project, targets: readonly string[], cwd: string, opts: StageTargetOptions = {}): string[] {
  const out: string[] = [];
  const { graph, repo } = project;
  const here = repo.dirOf(cwd);
  for (const t of targets) {
    let rel: string | undefined;
    try {
      rel = repo.resolve(t, cwd).rel;
    } catch {
      rel = undefined;
    }
    if (opts.recursive && rel !== undefined && isDir(path.join(repo.root, rel))) {
      for (const n of stagesUnder(project, rel === '' ? '.' : rel)) out.push(n);
      continue;
    }
    const named = stagesNamed(t, project.pipeline.stages, [], here);
    if (named) {
      for (const n of named) out.push(n);
      continue;
    }
    const producer = rel ? producerOfPath(project, rel) : undefined;
    if (producer) {
      out.push(producer);
      continue;
    }
    const names = graph.names;
    throw new RvcError('STAGE_NOT_FOUND', `'${t}' is neither a stage of a pipeline file nor an output of one`, {
      path: pipelineFileIn(here),
      hint: names.length ? `stages: ${names.slice(0, 10).join(', ')}${names.length > 10 ? ', …' : ''} (\`rvc stage list\` lists them all)` : `${PIPELINE_FILE} has no stages yet`,
    });
  }
  return [...new Set(out)];
}

function producerOfPath(project: Project, rel: string): string | undefined {
  for (let p = rel; p !== '' && p !== '.'; p = p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '') {
    const s = project.graph.producers.get(p);
    if (s !== undefined) return s;
  }
  return undefined;
}

export type { Stage, Pipeline, Lock };
