import fs from 'node:fs';
import path from 'node:path';
import { RvcError, isRvcError } from '../errors.js';
import type { Output, OutputSelection } from '../model/output.js';
import type { Stage } from '../model/pipeline.js';
import { isPipelineFile, lockFileOf, splitStageId } from '../model/names.js';
import { allOutputs, stagesNamed } from '../model/pipeline/types.js';
import { POINTER_EXT, type PointerOut } from '../model/pointer.js';
import { isInside } from '../model/paths.js';
import { isTreeOid } from '../model/oid.js';
import { gitShowFile } from '../scm/git.js';
import type { LockFileEntry } from '../model/lock.js';
import type { History } from './history.js';
import { scopeHasRevs, type RevScope } from './rev-scope.js';
import { subpathNotFound, type Repo, type TrackedOut } from './repo.js';

/*
 * The pipeline's parsers, the run-cache and git history are loaded only when a project has a
 * pipeline or a command names revisions: `rvc status` of pointers alone pays for none of them.
 */
const project = () => import('./project.js');
const pipelineModel = () => import('../model/pipeline.js');
const history = () => import('./history.js');

function hasPipelineFiles(repo: Repo): boolean {
  const f = repo.pipelineFiles();
  return f.pipelines.length > 0 || f.locks.length > 0;
}

/**
 * The one index of what a project records: every output of every pointer file, every output
 * rvc.lock records for a stage, and (when asked) the outputs of run-cache entries — in the
 * workspace, or at any git revision (read from git objects, nothing checked out). gc, push,
 * fetch, pull, status, checkout, commit, diff and the git hooks all take their outputs, and
 * resolve their targets, here, so they cannot disagree about what a scope contains.
 */

export type { Output, OutputSelection };

export interface ListOptions {
  /** Also the outputs of the run-cache's entries (earlier runs of stages). */
  runCache?: boolean;
  /** Leave out pointer files that do not parse (for removing one, which is how it is repaired). */
  skipDamagedPointers?: boolean;
}

/** A pointer output of the workspace as an Output. */
export function pointerOutput(t: TrackedOut): Output {
  return {
    kind: 'pointer', rel: t.rel, file: t.pointerFile, out: t.out, where: t.rel, pointer: t.pointer, index: t.index,
    ...(t.pointer.import ? { imported: true } : {}),
  };
}

/** What rvc.yaml says of one output: `cache:`, `push: false` and `remote:`. */
interface OutFlags {
  cached: boolean;
  push?: false;
  remote?: string;
}

/** The flags of `f` an Output carries beside `cached`. */
function syncFlags(f: OutFlags | undefined): Pick<Output, 'push' | 'remote'> {
  return { ...(f?.push === false ? { push: false as const } : {}), ...(f?.remote !== undefined ? { remote: f.remote } : {}) };
}

function stageOutput(o: LockFileEntry, stage: string, file: string, where: string, flags: OutFlags | undefined, commit?: string): Output {
  // rvc.lock names each output by its repository path, and so does the output here.
  const out: PointerOut = { ...o };
  return {
    kind: 'stage', rel: o.path, file, out, where, stage, ...(flags ? { cached: flags.cached } : {}),
    ...syncFlags(flags), ...(commit ? { commit } : {}),
  };
}

/** `cache:`, `push:` and `remote:` of every output rvc.yaml declares, by path; undefined when there is no rvc.yaml. */
async function cacheFlags(pipeline: { stages: readonly Stage[] } | undefined): Promise<Map<string, OutFlags> | undefined> {
  if (!pipeline) return undefined;
  const m = new Map<string, OutFlags>();
  for (const s of pipeline.stages) {
    for (const o of allOutputs(s)) m.set(o.repoPath, { cached: o.cache, ...syncFlags({ cached: o.cache, ...o }) });
  }
  return m;
}

/**
 * The stage outputs the workspace's rvc.lock records, with what rvc.yaml says of each
 * (`cache: false`). rvc.yaml is read through the parse cache; one that does not parse leaves
 * `cached` unknown rather than hiding the outputs.
 */
export async function workspaceStageOutputs(repo: Repo): Promise<Output[]> {
  if (!repo.pipelineFiles().locks.length) return [];
  const { readLockCached, readPipelineCached } = await project();
  const { lock } = readLockCached(repo);
  const stages = Object.entries(lock.stages);
  if (!stages.length) return [];
  let flags: Map<string, OutFlags> | undefined;
  try {
    flags = await cacheFlags(readPipelineCached(repo));
  } catch (e) {
    if (!isRvcError(e)) throw e;
  }
  const res: Output[] = [];
  for (const [name, st] of stages) {
    const file = lockFileOf(splitStageId(name).file);
    for (const o of st.outs) res.push(stageOutput(o, name, file, o.path, flags ? flags.get(o.path) : undefined));
  }
  return res;
}

/** An output rvc.yaml declares for a stage, whether or not the stage has run. */
export interface DeclaredOutput {
  rel: string;
  stage: string;
  cached: boolean;
  /** `push: false` in rvc.yaml. */
  push?: false;
  /** `remote:` in rvc.yaml. */
  remote?: string;
}

/** Every output the workspace's rvc.yaml declares (none without one); read through the parse cache. */
export async function declaredStageOutputs(repo: Repo): Promise<DeclaredOutput[]> {
  if (!repo.pipelineFiles().pipelines.length) return [];
  const pipeline = (await project()).readPipelineCached(repo);
  if (!pipeline) return [];
  return pipeline.stages.flatMap((s) => allOutputs(s).map((o) => ({
    rel: o.repoPath, stage: s.name, cached: o.cache, ...syncFlags({ cached: o.cache, ...o }),
  })));
}

/**
 * The outputs of the local run-cache's entries (damaged entries are skipped: they record
 * nothing). An entry does not name its stage, so what rvc.yaml declares of a path (`push:
 * false`, `remote:`) holds for the run-cache's copies of it too.
 */
export async function runCacheOutputs(repo: Repo): Promise<Output[]> {
  const { listRunEntries, parseRunEntry } = await import('./run-cache.js');
  let declared = new Map<string, DeclaredOutput>();
  try {
    declared = new Map((await declaredStageOutputs(repo)).map((d) => [d.rel, d]));
  } catch (e) {
    if (!isRvcError(e)) throw e;
  }
  const res: Output[] = [];
  for (const e of listRunEntries(repo)) {
    const file = path.relative(repo.root, e.file).split(path.sep).join('/');
    let st;
    try {
      st = parseRunEntry(fs.readFileSync(e.file, 'utf8'), e.algo, e.key, file);
    } catch {
      continue;
    }
    for (const o of st.outs) {
      res.push({
        kind: 'run', rel: o.path, file, out: { ...o }, where: `run-cache:${o.path}`, cached: true,
        ...syncFlags(declared.get(o.path)),
      });
    }
  }
  return res;
}

/** The pointer outputs of the workspace (as on disk now); damaged pointer files are errors unless skipped. */
export function workspacePointerOutputs(repo: Repo, opts: Pick<ListOptions, 'skipDamagedPointers'> = {}): Output[] {
  if (!opts.skipDamagedPointers) return repo.allOuts().map(pointerOutput);
  const res: Output[] = [];
  for (const f of repo.pointerFiles()) {
    let outs: TrackedOut[];
    try {
      outs = repo.outsOf(f);
    } catch {
      continue; // a damaged pointer is reported by the commands that read it
    }
    for (const t of outs) res.push(pointerOutput(t));
  }
  return res;
}

/** Every output the workspace records: pointers (as on disk now), rvc.lock, and with `runCache` the run-cache. */
export async function workspaceOutputs(repo: Repo, opts: ListOptions = {}): Promise<Output[]> {
  const res = workspacePointerOutputs(repo, opts);
  for (const o of await workspaceStageOutputs(repo)) res.push(o);
  if (opts.runCache) for (const o of await runCacheOutputs(repo)) res.push(o);
  return res;
}

/**
 * What the pipeline files at `commit` say of each output's `cache:`; undefined when there are
 * none. A file that does not parse there tells nothing (vars files are read at the same commit).
 */
async function cacheFlagsAt(history: History, commit: string): Promise<Map<string, OutFlags> | undefined> {
  const files = (await history.filesAt(commit)).filter((f) => isPipelineFile(f.rel));
  if (!files.length) return undefined;
  const { parsePipeline } = await pipelineModel();
  const { varsLoader } = await project();
  // The parser reads vars files synchronously; they are few and small.
  const read = (rel: string): string | undefined => gitShowFile(history.root, commit, rel);
  const stages: Stage[] = [];
  for (const f of files) {
    const text = await history.readFile(commit, f.rel);
    if (text === undefined) continue;
    try {
      for (const s of parsePipeline(text.toString('utf8'), f.rel, { label: `${commit.slice(0, 8)}:${f.rel}`, loadVarsFile: varsLoader(read) }).stages) stages.push(s);
    } catch (e) {
      if (!isRvcError(e)) throw e;
    }
  }
  return cacheFlags({ stages });
}

/**
 * The outputs recorded at `commit` (pointers and rvc.lock), labelled `label:path`. With
 * `cacheFlags`, rvc.yaml at that commit is read to tell `cache: false` stage outputs apart.
 */
export async function outputsAt(history: History, commit: string, label: string, opts: { cacheFlags?: boolean; onlyFiles?: (rel: string) => boolean } = {}): Promise<Output[]> {
  const outs = await history.outsAt(commit, label, opts.onlyFiles);
  if (!opts.cacheFlags || !outs.some((o) => o.kind === 'stage')) return outs;
  const flags = await cacheFlagsAt(history, commit);
  if (!flags) return outs;
  return outs.map((o) => {
    const f = o.kind === 'stage' ? flags.get(o.rel) : undefined;
    return f ? { ...o, cached: f.cached, ...syncFlags(f) } : o;
  });
}

/** The outputs of one side of a comparison: the workspace (no commit) or a git revision. */
export interface Side {
  /** 'workspace', or the revision as the user named it. */
  label: string;
  /** The resolved commit; undefined for the workspace (and for HEAD of a repository without commits). */
  commit?: string;
  outs: Output[];
}

/**
 * The outputs at `rev` (read from git objects), or in the workspace when `rev` is undefined.
 * `emptyIfNoCommits`: HEAD of a repository without commits is an empty side rather than an error.
 */
export async function sideAt(repo: Repo, history: History | undefined, rev: string | undefined, opts: { emptyIfNoCommits?: boolean; cacheFlags?: boolean } = {}): Promise<Side> {
  if (rev === undefined) return { label: 'workspace', outs: await workspaceOutputs(repo) };
  if (!history) throw new RvcError('GIT_FAILED', `cannot read revision '${rev}' without git`, { hint: 'revisions need a git repository' });
  if (opts.emptyIfNoCommits && rev === 'HEAD' && history.head() === undefined) return { label: rev, outs: [] };
  const commit = history.resolve(rev);
  return { label: rev, commit, outs: await outputsAt(history, commit, rev, { ...(opts.cacheFlags ? { cacheFlags: true } : {}) }) };
}

/**
 * The output holding repository-relative `rel` on a side: the output itself (no subpath), a
 * path inside a tracked folder (with its subpath), or the output of a pointer file named
 * directly (when it has exactly one).
 */
export function findOutput(outs: readonly Output[], rel: string): OutputSelection | undefined {
  for (const o of outs) if (o.rel === rel) return { output: o };
  for (const o of outs) if (rel !== '' && isInside(rel, o.rel)) return { output: o, subpath: rel.slice(o.rel.length + 1) };
  if (rel.endsWith(POINTER_EXT)) {
    const of = outs.filter((o) => o.kind === 'pointer' && o.file === rel);
    if (of.length === 1) return { output: of[0]! };
  }
  return undefined;
}

/**
 * Whether the repository-relative target `rel` selects the output at `outRel` recorded in
 * `file`: the pointer file or the data itself (or the repository root) select it whole, a path
 * inside a tracked folder selects part of it (`subpath`), a folder holding both the pointer and
 * the data selects it whole. Pure, so outputs read at git revisions match the same way.
 */
function matchTarget(rel: string, file: string, outRel: string): { subpath?: string } | undefined {
  if (file === rel || outRel === rel || rel === '') return {};
  if (isInside(rel, outRel)) return { subpath: rel.slice(outRel.length + 1) };
  if (isInside(outRel, rel) && isInside(file, rel)) return {};
  return undefined;
}

/**
 * Whether target `rel` selects output `o`: a pointer output by its pointer file, its data, a
 * path inside it, or a folder holding both pointer and data; a stage output by its data, a path
 * inside it, or a folder holding it. Pure, so outputs read at revisions match the same way.
 */
export function matchOutput(rel: string, o: Output): { subpath?: string } | undefined {
  return matchTarget(rel, o.kind === 'pointer' ? o.file : o.rel, o.rel);
}

/**
 * How targets are read besides as paths and stage names: the `--glob`, `-R/--recursive` and
 * `-d/--with-deps` flags of the data verbs. Every verb passes them to selectOutputs (and
 * scopedOutputs), so they mean the same thing to each.
 */
export interface TargetFlags {
  /** Targets are glob patterns (picomatch), matched against tracked data paths, pointer files and stage names. */
  glob?: boolean;
  /**
   * A folder target selects every output recorded by a file below it, or whose data is below
   * it; a folder with nothing tracked below it selects nothing rather than failing.
   */
  recursive?: boolean;
  /** Also the outputs of every stage upstream of a selected stage (named, or through one of its outputs). */
  withDeps?: boolean;
}

/** The target flags set in `o` (for passing a verb's options on). */
export function targetFlagsOf(o: TargetFlags): TargetFlags {
  return { ...(o.glob ? { glob: true } : {}), ...(o.recursive ? { recursive: true } : {}), ...(o.withDeps ? { withDeps: true } : {}) };
}

export interface SelectOptions extends TargetFlags {
  /** Folder relative targets are resolved against. */
  cwd?: string;
  /**
   * What to say when a target matches nothing; default NOT_TRACKED naming `rvc add`. Callers
   * whose outputs are not the workspace's (revisions only) pass their own.
   */
  notFound?: (target: string) => RvcError;
  /** Check that a path inside a tracked folder names something there (workspace outputs). */
  checkSubpaths?: boolean;
}

/**
 * Maps user targets to the outputs they select among `outs`. A target may be a pointer file,
 * a tracked path, a path inside a tracked folder (giving a `subpath`), a folder holding tracked
 * data, a stage output, or a stage (`train`, `train@small`, a foreach group, `rvc.yaml`,
 * `rvc.yaml:train`). No targets select every output. Each selection appears once.
 */
export async function selectOutputs(repo: Repo, outs: readonly Output[], targets: readonly string[], opts: SelectOptions = {}): Promise<OutputSelection[]> {
  if (targets.length === 0) return outs.map((output) => ({ output }));
  if (opts.glob || opts.recursive || opts.withDeps) return selectWithFlags(repo, outs, targets, opts);
  const cwd = opts.cwd ?? process.cwd();
  const { res, push } = selections();
  let pipeline: { stages: readonly Stage[] } | undefined | null = null;
  const lockStages = (): string[] => [...new Set(outs.filter((o) => o.stage !== undefined).map((o) => o.stage!))];
  for (const t of targets) {
    const { rel } = repo.resolve(t, cwd);
    let found = false;
    for (const o of outs) {
      const m = matchOutput(rel, o);
      if (!m) continue;
      if (m.subpath !== undefined && opts.checkSubpaths && o.commit === undefined && o.kind === 'pointer') assertSubpathExists(repo, o, m.subpath, t);
      push(m.subpath !== undefined ? { output: o, subpath: m.subpath } : { output: o });
      found = true;
    }
    if (found) continue;
    if (pipeline === null) {
      try {
        pipeline = hasPipelineFiles(repo) ? (await project()).readPipelineCached(repo) : undefined;
      } catch (e) {
        if (!isRvcError(e)) throw e;
        pipeline = undefined;
      }
    }
    const named = stagesNamed(t, pipeline?.stages ?? [], lockStages(), repo.dirOf(cwd));
    if (named) {
      const set = new Set(named);
      for (const o of outs) if (o.stage !== undefined && set.has(o.stage)) push({ output: o });
      continue;
    }
    if (rel.endsWith(POINTER_EXT) || fs.existsSync(path.join(repo.root, `${rel}${POINTER_EXT}`))) {
      // A pointer git ignores (so not listed) but named explicitly.
      const ptr = rel.endsWith(POINTER_EXT) ? rel : `${rel}${POINTER_EXT}`;
      if (fs.existsSync(path.join(repo.root, ptr))) {
        for (const tr of repo.outsOf(ptr)) push({ output: pointerOutput(tr) });
        continue;
      }
    }
    if (!opts.notFound) {
      const owner = pipeline?.stages.find((s) => allOutputs(s).some((o) => o.repoPath === rel || isInside(rel, o.repoPath)));
      if (owner) throw notRecordedYet(t, owner.name);
    }
    throw (opts.notFound ?? notTracked)(t);
  }
  return res;
}

/** A list of selections that keeps each one once (by selectionKey). */
function selections(): { res: OutputSelection[]; push: (s: OutputSelection) => void } {
  const res: OutputSelection[] = [];
  const seen = new Set<string>();
  return {
    res,
    push: (s) => {
      const k = selectionKey(s);
      if (seen.has(k)) return;
      seen.add(k);
      res.push(s);
    },
  };
}

function selectionKey(s: OutputSelection): string {
  return `${s.output.kind}\0${s.output.file}\0${s.output.rel}\0${s.output.commit ?? ''}\0${s.output.out.oid}\0${s.subpath ?? ''}`;
}

/**
 * selectOutputs with target flags: glob patterns expanded first (expandTargets), each folder
 * target read recursively, then the outputs of the stages upstream of those selected.
 */
async function selectWithFlags(repo: Repo, outs: readonly Output[], targets: readonly string[], opts: SelectOptions): Promise<OutputSelection[]> {
  const { glob, recursive, withDeps, ...plain } = opts;
  const cwd = plain.cwd ?? process.cwd();
  const concrete = glob ? await expandTargets(repo, outs, targets, opts) : targets;
  const { res, push } = selections();
  for (const t of concrete) {
    const below = recursive ? outputsBelow(repo, outs, t, cwd) : undefined;
    if (below) {
      for (const o of below) push({ output: o });
      continue;
    }
    for (const s of await selectOutputs(repo, outs, [t], plain)) push(s);
  }
  if (withDeps) {
    for (const o of await upstreamOutputs(repo, outs, concrete, res.map((s) => s.output))) push({ output: o });
  }
  return res;
}

/**
 * With `-R`: the outputs below folder target `t` (recorded by a file below it, or with their
 * data below it) — possibly none — or undefined when `t` is not a workspace folder, or lies
 * inside a tracked folder (then it is an ordinary target: part of that folder).
 */
function outputsBelow(repo: Repo, outs: readonly Output[], t: string, cwd: string): Output[] | undefined {
  const { abs, rel } = repo.resolve(t, cwd);
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(abs);
  } catch {
    return undefined;
  }
  if (!st.isDirectory()) return undefined;
  const below = outs.filter((o) => isInside(o.rel, rel) || isInside(o.file, rel));
  if (!below.length && outs.some((o) => isInside(rel, o.rel))) return undefined;
  return below;
}

/** The outputs of the stages upstream of those `selected` outputs belong to or `targets` name (the workspace's graph). */
async function upstreamOutputs(repo: Repo, outs: readonly Output[], targets: readonly string[], selected: readonly Output[]): Promise<Output[]> {
  const p = (await project()).loadProjectIfAny(repo);
  if (!p) return [];
  const { ancestors } = await import('../model/dag.js');
  const stages = new Set<string>();
  for (const o of selected) if (o.stage !== undefined) stages.add(o.stage);
  for (const t of targets) for (const n of stagesNamed(t, p.pipeline.stages) ?? []) stages.add(n);
  const up = new Set<string>();
  for (const s of stages) if (p.graph.stages.has(s)) for (const a of ancestors(p.graph, s)) up.add(a);
  return outs.filter((o) => o.kind === 'stage' && o.stage !== undefined && up.has(o.stage));
}

/**
 * With `glob`, each target that holds a glob pattern replaced by what it matches (picomatch):
 * the tracked data paths and pointer files among `outs` (the pattern read from `cwd`, like any
 * target; as absolute paths) and the stage names (the pattern as written). A pattern matching
 * nothing is refused like a target naming nothing. Without `glob`, the targets as they are.
 */
export async function expandTargets(repo: Repo, outs: readonly Output[], targets: readonly string[], opts: SelectOptions = {}): Promise<string[]> {
  if (!opts.glob) return [...targets];
  const picomatch = (await import('picomatch')).default;
  const cwd = opts.cwd ?? process.cwd();
  const res = new Set<string>();
  let names: string[] | undefined;
  for (const t of targets) {
    if (!picomatch.scan(t).isGlob) {
      res.add(t);
      continue;
    }
    // Validates the pattern's place like any user path: inside the repository, not in .git or .rvc.
    const { rel } = repo.resolve(t, cwd);
    const isMatch = picomatch(rel);
    let any = false;
    for (const o of outs) {
      for (const p of o.kind === 'pointer' ? [o.rel, o.file] : [o.rel]) {
        if (!isMatch(p)) continue;
        res.add(path.join(repo.root, p));
        any = true;
      }
    }
    names ??= await stageNames(repo, outs);
    const nameMatch = picomatch(t);
    for (const n of names) {
      if (!nameMatch(n)) continue;
      res.add(n);
      any = true;
    }
    if (!any) throw (opts.notFound ?? globMatchesNothing)(t);
  }
  return [...res];
}

/** The stage names rvc.yaml declares and `outs` record (rvc.yaml that does not parse adds none). */
async function stageNames(repo: Repo, outs: readonly Output[]): Promise<string[]> {
  const names = new Set<string>();
  for (const o of outs) if (o.stage !== undefined) names.add(o.stage);
  if (hasPipelineFiles(repo)) {
    try {
      for (const s of (await project()).readPipelineCached(repo)?.stages ?? []) names.add(s.name);
    } catch (e) {
      if (!isRvcError(e)) throw e;
    }
  }
  return [...names];
}

function globMatchesNothing(t: string): RvcError {
  return new RvcError('NOT_TRACKED', `no tracked path, pointer file or stage matches the pattern '${t}'`, {
    path: t, hint: 'check the pattern (quote it so that the shell does not expand it); `rvc status` lists what is tracked',
  });
}

/** A target an rvc.yaml stage declares as output, which rvc.lock has no entry for yet. */
function notRecordedYet(t: string, stage: string): RvcError {
  return new RvcError('NOT_TRACKED', `'${t}' is an output of stage '${stage}', which has not recorded it yet (rvc.lock has no entry for it)`, {
    path: t, hint: `run the stage: \`rvc repro ${stage}\`, or record the output as it is: \`rvc commit ${stage}\``,
  });
}

function notTracked(t: string): RvcError {
  return new RvcError('NOT_TRACKED', `'${t}' is not tracked by rvc: no pointer, stage output or stage has that name`, {
    path: t, hint: `track it with \`rvc add ${t}\`, or name a stage (\`rvc stage list\`)`,
  });
}

/**
 * Refuses a target inside a tracked folder that names nothing: not in the workspace, and not
 * in the recorded manifest. When the manifest is not in the cache it cannot be told yet, and
 * the target is accepted (fetch checks it once the manifest is there).
 */
function assertSubpathExists(repo: Repo, o: Output, subpath: string, userPath: string): void {
  try {
    fs.lstatSync(path.join(repo.root, o.rel, subpath));
    return;
  } catch {
    // not in the workspace: is it recorded?
  }
  const odb = repo.odbFor(o.out.hash);
  const isDir = isTreeOid(o.out.oid);
  if (isDir) {
    if (!odb.hasSync(o.out.oid)) return;
    let entries: { path: string }[];
    try {
      entries = odb.readTree(o.out.oid);
    } catch {
      return; // a damaged manifest is reported by the command that reads it
    }
    if (entries.some((e) => isInside(e.path, subpath))) return;
  }
  throw subpathNotFound(userPath, { rel: o.rel, pointerFile: o.file }, isDir);
}

/**
 * The outputs recorded at the revisions `scope` names, read from git objects without a
 * checkout. Each distinct (file, path, oid) appears once, labelled by the first revision that
 * records it, so 500 commits sharing most pointers cost little more than one.
 */
export async function revisionOutputs(repo: Repo, scope: RevScope): Promise<{ outs: Output[]; revisions: string[] }> {
  if (!scopeHasRevs(scope)) return { outs: [], revisions: [] };
  const h = (await history()).openHistory(repo.root);
  try {
    const seen = new Set<string>();
    const res: Output[] = [];
    const revs = h.resolveScope(scope);
    const parsed = new Map<string, Map<string, OutFlags> | undefined>();
    for (const [commit, label] of revs) {
      let flags: Map<string, OutFlags> | undefined | null = null; // null: not read yet
      for (const o of await h.outsAt(commit, label)) {
        const key = `${o.file}\0${o.rel}\0${o.out.hash}\0${o.out.oid}`;
        if (seen.has(key)) continue;
        seen.add(key);
        if (o.kind === 'stage') {
          // `cache:`, `push: false` and `remote:` as that revision's rvc.yaml says them.
          if (flags === null) flags = await flagsAtRevision(h, commit, parsed);
          const f = flags?.get(o.rel);
          if (f) Object.assign(o, { cached: f.cached }, syncFlags(f));
        }
        res.push(o);
      }
    }
    return { outs: res, revisions: [...revs.values()] };
  } finally {
    h.close();
  }
}

/**
 * The output flags the pipeline files at `commit` declare; undefined when it has none or they
 * do not parse (the outputs then count as of unknown kind, as in the workspace). A pipeline that
 * reads no vars file is parsed once per set of blobs (`parsed`); vars files are read at the
 * same revision.
 */
async function flagsAtRevision(h: History, commit: string, parsed: Map<string, Map<string, OutFlags> | undefined>): Promise<Map<string, OutFlags> | undefined> {
  const files = (await h.filesAt(commit)).filter((f) => isPipelineFile(f.rel));
  if (!files.length) return undefined;
  const key = files.map((f) => `${f.rel}\0${f.oid}`).join('\0');
  if (parsed.has(key)) return parsed.get(key);
  const { parsePipeline } = await pipelineModel();
  const { varsLoader } = await project();
  const texts = new Map<string, string | undefined>();
  const read = async (rel: string): Promise<void> => {
    if (!texts.has(rel)) texts.set(rel, (await h.readFile(commit, rel))?.toString('utf8'));
  };
  const stages: Stage[] = [];
  let usesVars = false;
  try {
    for (const f of files) {
      await read(f.rel);
      const text = texts.get(f.rel);
      if (text === undefined) continue;
      // Vars files are read at the revision as the parser asks for them: a name not read yet
      // stops the parse, is read, and the parse starts again.
      for (;;) {
        const missing: string[] = [];
        const load = varsLoader((rel) => {
          usesVars = true;
          if (!texts.has(rel)) {
            missing.push(rel);
            throw new Error('not read yet');
          }
          return texts.get(rel);
        });
        try {
          stages.push(...parsePipeline(text, f.rel, { loadVarsFile: load }).stages);
          break;
        } catch (e) {
          if (!missing.length) throw e;
          for (const rel of missing) await read(rel);
        }
      }
    }
  } catch (e) {
    if (!isRvcError(e)) throw e;
    if (!usesVars) parsed.set(key, undefined);
    return undefined;
  }
  const flags = await cacheFlags({ stages });
  if (!usesVars) parsed.set(key, flags);
  return flags;
}

export interface ScopeOptions extends ListOptions, TargetFlags {
  targets?: readonly string[];
  cwd?: string;
  /**
   * Only the outputs recorded at the scope's revisions (and the run-cache's with `runCache`),
   * not the workspace's: `exp push`/`exp pull` move the experiments' data alone.
   */
  revisionsOnly?: boolean;
}

/**
 * The outputs a command covers: the workspace's (pointers, rvc.lock, and with `runCache` the
 * run-cache) narrowed by `targets` and, when `scope` names revisions, the outputs recorded at
 * each of them, narrowed by the same targets. The workspace is always part of a scope with
 * revisions (as in DVC), so `push --all-tags` never leaves the current data behind. With
 * revisions, a target needs to be recorded in the workspace or at one of them; only one
 * recorded nowhere is an error. `revisionsOnly` (with revisions) leaves the workspace out.
 */
export async function scopedOutputs(repo: Repo, scope: RevScope, opts: ScopeOptions = {}): Promise<{ outs: OutputSelection[]; revisions: string[] }> {
  const targets = opts.targets ?? [];
  const cwd = opts.cwd ?? process.cwd();
  const ws = opts.revisionsOnly && scopeHasRevs(scope) ? (opts.runCache ? await runCacheOutputs(repo) : []) : await workspaceOutputs(repo, opts);
  const flags = targetFlagsOf(opts);
  if (!scopeHasRevs(scope)) return { outs: await selectOutputs(repo, ws, targets, { cwd, checkSubpaths: true, ...flags }), revisions: [] };
  const atRevs = await revisionOutputs(repo, scope);
  const res: OutputSelection[] = [];
  const unmatched: string[] = [];
  // Loops, not push(...): the workspace can hold more outputs than a call takes arguments.
  if (!targets.length) {
    for (const o of ws) res.push({ output: o });
    for (const o of atRevs.outs) res.push({ output: o });
    return { outs: res, revisions: atRevs.revisions };
  }
  for (const t of targets) {
    let any = false;
    for (const outs of [ws, atRevs.outs]) {
      try {
        for (const s of await selectOutputs(repo, outs, [t], { cwd, checkSubpaths: outs === ws, ...flags })) res.push(s);
        any = true;
      } catch (e) {
        if (!isRvcError(e, 'NOT_TRACKED')) throw e;
      }
    }
    if (!any) unmatched.push(t);
  }
  const t = unmatched[0];
  if (t !== undefined) {
    throw new RvcError('NOT_TRACKED', `'${t}' is not tracked by rvc in the workspace or at the chosen revisions`, {
      path: t, hint: 'check the path, or widen the revisions (--all-commits)',
    });
  }
  return { outs: res, revisions: atRevs.revisions };
}

/** The workspace pointer output `o` as the pointer writers know it (its pointer, index and place on disk). */
export function trackedOf(repo: Repo, o: Output): TrackedOut {
  if (o.kind !== 'pointer' || !o.pointer || o.index === undefined) {
    throw new RvcError('INTERNAL', `'${o.rel}' is not recorded by a pointer file`, { path: o.rel });
  }
  return { pointerFile: o.file, pointer: o.pointer, index: o.index, out: o.out, rel: o.rel, abs: path.join(repo.root, o.rel) };
}
