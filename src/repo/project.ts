import fs from 'node:fs';
import path from 'node:path';
import { RvcError, errnoCode, fromFsError } from '../errors.js';
import { parsePipeline, stagesNamed, PIPELINE_FILE, type Pipeline, type Stage } from '../model/pipeline.js';
import { parseLock, emptyLock, LOCK_FILE, type Lock } from '../model/lock.js';
import { parseParamsFile } from '../model/params.js';
import { deepEqual } from '../model/values.js';
import { buildGraph, missingDeps, type Graph } from '../model/dag.js';
import { writeFileAtomic } from '../fsutil/atomic.js';
import { hashBuffer } from '../hashing/hash.js';
import { isInside } from '../model/paths.js';
import { outStatus } from './out-status.js';
import type { Repo } from './repo.js';

/** The pipeline file and its lock, both at the repository root (their names are the model's). */
export { PIPELINE_FILE, LOCK_FILE };

/**
 * Parsed forms of rvc.yaml and rvc.lock, kept in `.rvc/tmp` keyed by a hash of the texts they
 * came from (and of every vars file rvc.yaml read). Parsing 200 stages with the YAML library
 * costs ~100 ms on a cold process, more than everything else a no-op `repro` does; hashing the
 * texts and reading one JSON file costs under a millisecond. A stale or damaged cache only
 * costs a parse.
 */
const PARSE_CACHE = 'pipeline-parsed.json';
const PARSE_CACHE_VERSION = 1;

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
  pipeline?: { key: string; vars: Record<string, string | null>; value: Pipeline };
  lock?: { key: string; value: Lock };
}

/** The identity of the rvc.lock file as last read or written, to notice another process's writes. */
export interface FileStamp {
  ino: number;
  mtimeMs: number;
  size: number;
}

export interface Project {
  repo: Repo;
  pipeline: Pipeline;
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
  if (c.pipeline && !survivesJson(c.pipeline.value)) delete c.pipeline;
  if (c.lock && !survivesJson(c.lock.value)) delete c.lock;
  try {
    fs.mkdirSync(repo.tmpDir, { recursive: true });
    writeFileAtomic(path.join(repo.tmpDir, PARSE_CACHE), JSON.stringify(c), { fsync: false });
  } catch {
    // an optimisation only
  }
}

/** Reads a repository file as text, or undefined when it does not exist. */
export function readRepoText(repo: Repo, rel: string): string | undefined {
  try {
    return fs.readFileSync(path.join(repo.root, rel), 'utf8');
  } catch (e) {
    const c = errnoCode(e);
    if (c === 'ENOENT' || c === 'ENOTDIR') return undefined;
    throw fromFsError(e, rel, 'read');
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

/** rvc.yaml of the workspace, or undefined when there is none. Parsed through the parse cache. */
export function readPipeline(repo: Repo, cache: ParseCache = readParseCache(repo)): { pipeline: Pipeline | undefined; dirty: boolean } {
  const text = readRepoText(repo, PIPELINE_FILE);
  if (text === undefined) return { pipeline: undefined, dirty: false };
  const key = textKey(text);
  const hit = cache.pipeline;
  if (hit && hit.key === key && Object.entries(hit.vars).every(([rel, h]) => {
    const t = readRepoText(repo, rel);
    return (t === undefined ? null : textKey(t)) === h;
  })) {
    return { pipeline: hit.value, dirty: false };
  }
  const seen = new Map<string, string | null>();
  const pipeline = parsePipeline(text, PIPELINE_FILE, { loadVarsFile: varsLoader((rel) => readRepoText(repo, rel), seen) });
  cache.pipeline = { key, vars: Object.fromEntries(seen), value: pipeline };
  return { pipeline, dirty: true };
}

export interface LockRead {
  lock: Lock;
  stamp: FileStamp | undefined;
}

function stampOf(st: fs.Stats): FileStamp {
  return { ino: st.ino, mtimeMs: st.mtimeMs, size: st.size };
}

export function sameStamp(a: FileStamp | undefined, b: FileStamp | undefined): boolean {
  if (!a || !b) return a === b;
  return a.ino === b.ino && a.mtimeMs === b.mtimeMs && a.size === b.size;
}

/** The current identity of rvc.lock (undefined when it does not exist). */
export function lockStamp(repo: Repo): FileStamp | undefined {
  try {
    return stampOf(fs.statSync(path.join(repo.root, LOCK_FILE)));
  } catch {
    return undefined;
  }
}

/** Parses rvc.lock text, through the parse cache when `cache` is given. */
export function parseLockCached(text: string, cache?: ParseCache): { lock: Lock; dirty: boolean } {
  if (text.trim() === '') return { lock: emptyLock(), dirty: false };
  const key = textKey(text);
  if (cache?.lock && cache.lock.key === key) return { lock: cache.lock.value, dirty: false };
  const lock = parseLock(text, LOCK_FILE);
  if (cache) cache.lock = { key, value: lock };
  return { lock, dirty: true };
}

/** Reads rvc.lock of the workspace (an empty lock when there is none). */
export function readLock(repo: Repo, cache?: ParseCache): LockRead & { dirty: boolean } {
  const abs = path.join(repo.root, LOCK_FILE);
  let fd: number;
  try {
    fd = fs.openSync(abs, 'r');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return { lock: emptyLock(), stamp: undefined, dirty: false };
    throw fromFsError(e, LOCK_FILE, 'read');
  }
  try {
    // Stat and read through one descriptor, so the stamp describes the text we parsed.
    const st = fs.fstatSync(fd);
    const text = fs.readFileSync(fd, 'utf8');
    return { ...parseLockCached(text, cache), stamp: stampOf(st) };
  } finally {
    fs.closeSync(fd);
  }
}

/** rvc.lock of the workspace through the parse cache (saved again when it changed). */
export function readLockCached(repo: Repo): LockRead {
  const cache = readParseCache(repo);
  const l = readLock(repo, cache);
  if (l.dirty) writeParseCache(repo, cache);
  return { lock: l.lock, stamp: l.stamp };
}

/** rvc.yaml of the workspace (undefined without one) through the parse cache (saved again when it changed). */
export function readPipelineCached(repo: Repo): Pipeline | undefined {
  const cache = readParseCache(repo);
  const p = readPipeline(repo, cache);
  if (p.dirty) writeParseCache(repo, cache);
  return p.pipeline;
}

export interface LoadedProject extends Project, LockRead {}

/**
 * Loads rvc.yaml, builds and checks its graph (shared or nested outputs, cycles), and reads
 * rvc.lock. Throws PIPELINE_INVALID when there is no rvc.yaml.
 */
export function loadProject(repo: Repo): LoadedProject {
  const cache = readParseCache(repo);
  const p = readPipeline(repo, cache);
  if (!p.pipeline) {
    throw new RvcError('PIPELINE_INVALID', `there is no ${PIPELINE_FILE} in '${repo.root}'`, {
      path: PIPELINE_FILE, hint: 'add a stage first: `rvc stage add -n <name> -d <dep> -o <out> <command>`',
    });
  }
  const l = readLock(repo, cache);
  if (p.dirty || l.dirty) writeParseCache(repo, cache);
  const graph = buildGraph(p.pipeline.stages, { file: PIPELINE_FILE });
  return { repo, pipeline: p.pipeline, graph, lock: l.lock, stamp: l.stamp };
}

/** Like loadProject, but undefined when the repository has no rvc.yaml. */
export function loadProjectIfAny(repo: Repo): LoadedProject | undefined {
  if (!fs.existsSync(path.join(repo.root, PIPELINE_FILE))) return undefined;
  return loadProject(repo);
}

/**
 * Refuses, before anything runs, dependencies that no stage produces and that do not exist.
 * Only `names` are checked, so a broken stage elsewhere does not block unrelated work.
 */
export function checkMissingDeps(project: Project, names: readonly string[]): void {
  const only = new Set(names);
  const missing = missingDeps(project.graph, (rel) => fs.existsSync(path.join(project.repo.root, rel)))
    .filter((m) => only.has(m.stage));
  if (missing.length === 0) return;
  const unpulled = trackedButAbsent(project.repo, missing.map((m) => m.path));
  if (unpulled.paths.length === missing.length) {
    // Data a pointer file tracks that is not in the workspace (a fresh clone): pull or check it out.
    const shown = missing.slice(0, 10).map((m) => `'${m.path}' (stage '${m.stage}')`).join(', ');
    const args = unpulled.paths.slice(0, 10).join(' ');
    throw new RvcError('PATH_NOT_FOUND', `${missing.length > 1 ? 'dependencies are' : 'a dependency is'} tracked by rvc but not in the workspace: ${shown}${missing.length > 10 ? ` and ${missing.length - 10} more` : ''}`, {
      path: missing[0]!.path, details: { missing },
      hint: unpulled.inCache ? `restore ${missing.length > 1 ? 'them' : 'it'} from the cache: \`rvc checkout ${args}\`` : `get ${missing.length > 1 ? 'them' : 'it'} from the remote: \`rvc pull ${args}\``,
    });
  }
  const shown = missing.slice(0, 10).map((m) => `'${m.path}' (stage '${m.stage}')`).join(', ');
  throw new RvcError('PIPELINE_INVALID', `${missing.length > 1 ? 'dependencies do' : 'a dependency does'} not exist and no stage produces ${missing.length > 1 ? 'them' : 'it'}: ${shown}${missing.length > 10 ? ` and ${missing.length - 10} more` : ''}`, {
    path: PIPELINE_FILE, details: { missing },
    hint: 'create the file, fix the path in rvc.yaml, or add the stage that writes it'
      + (unpulled.paths.length ? `; \`rvc pull ${unpulled.paths.slice(0, 10).join(' ')}\` gets those a pointer file tracks` : ''),
  });
}

/**
 * Which of `paths` (absent from the workspace) a pointer file tracks, itself or a folder holding
 * it, and whether all of those are in the cache (then checkout restores them; else pull).
 */
function trackedButAbsent(repo: Repo, paths: readonly string[]): { paths: string[]; inCache: boolean } {
  let outs: ReturnType<Repo['allOuts']>;
  try {
    outs = repo.allOuts();
  } catch {
    return { paths: [], inCache: false }; // a damaged pointer: the plain message below stands
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

/** Stage names for user targets: a stage name, a foreach/matrix group, or an output path. */
export function resolveStageTargets(project: Project, targets: readonly string[], cwd: string): string[] {
  const out: string[] = [];
  const { graph, repo } = project;
  for (const t of targets) {
    const named = stagesNamed(t, project.pipeline.stages);
    if (named) {
      for (const n of named) out.push(n);
      continue;
    }
    if (path.resolve(cwd, t) === path.join(repo.root, PIPELINE_FILE)) {
      for (const n of graph.names) out.push(n);
      continue;
    }
    let rel: string | undefined;
    try {
      rel = repo.resolve(t, cwd).rel;
    } catch {
      rel = undefined;
    }
    const producer = rel ? producerOfPath(project, rel) : undefined;
    if (producer) {
      out.push(producer);
      continue;
    }
    const names = graph.names;
    throw new RvcError('STAGE_NOT_FOUND', `'${t}' is neither a stage of ${PIPELINE_FILE} nor an output of one`, {
      path: PIPELINE_FILE,
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
