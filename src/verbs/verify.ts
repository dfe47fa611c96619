import fs from 'node:fs';
import path from 'node:path';
import { RvcError, failureOf, isRvcError, type Failure } from '../errors.js';
import { isTreeOid } from '../model/oid.js';
import { lockedStage, type LockFileEntry, type LockStage } from '../model/lock.js';
import { isLockFile } from '../model/names.js';
import { isInside } from '../model/paths.js';
import { allOutputs, type Stage } from '../model/pipeline.js';
import { parseMetricsFile, flattenValues } from '../model/params.js';
import { environmentDrift, type EnvironmentChange, type EnvironmentRecord } from '../model/environment.js';
import { compareStrings } from '../model/values.js';
import { metricDifferences, parseTolerance, type MetricDifference, type Tolerance } from '../model/tolerance.js';
import { toYaml } from '../model/yaml.js';
import { writeFileAtomic } from '../fsutil/atomic.js';
import { removeTree } from '../fsutil/remove.js';
import { gitResolveCommit, gitRun, gitToplevel, gitTreeFiles } from '../scm/git.js';
import type { Odb } from '../odb/odb.js';
import { LOCAL_CONFIG_FILE, RVC_DIR, Repo, type CommonOptions } from '../repo/repo.js';
import { loadProject, readLocks, resolveStageTargets, type LoadedProject } from '../repo/project.js';
import { restoreOutputs } from '../repo/restore.js';
import { VERIFY_COPY_RE } from '../repo/copies.js';
import type { Output } from '../model/output.js';
import { Runner } from '../pipeline/runner.js';
import { fetchWanted, openSyncRemote } from '../repo/sync.js';
import { ObjectSet } from '../repo/object-set.js';

export type VerifyVerdict = 'bit-exact' | 'within-tolerance' | 'not-reproduced' | 'error';

export interface VerifyOptions extends CommonOptions {
  /** Stage names, `file:stage`, pipeline files or output paths; default every stage rvc.lock records. */
  targets?: string[];
  /** Runs of each stage (default 1); with 2 or more, runs that differ from each other show nondeterminism. */
  runs?: number;
  /** The commit whose record is verified (default HEAD). */
  rev?: string;
  /** `metric=abs` or `metric=rel%` (see parseTolerance). */
  tolerance?: string[];
  /** Stages verified at once, each in its own copy (default 1). */
  jobs?: number;
  /** Download dependencies the cache lacks from the remote first (they stay in the cache). */
  pull?: boolean;
  /** With `pull`: the remote (default core.remote). */
  remote?: string;
  /**
   * Aborting it stops the running commands (see RunnerOptions.signal): no further stage starts,
   * the copies are removed and verify fails with INTERRUPTED.
   */
  signal?: AbortSignal;
  /** Aborted after `signal`: the running commands are killed at once. */
  killSignal?: AbortSignal;
  /** Environment of the commands; default process.env. */
  environ?: NodeJS.ProcessEnv;
  /** A stage's verification is about to start / has ended. */
  onStageStart?: (stage: string) => void;
  onStageEnd?: (r: VerifyStageResult) => void;
}

/** One output of a stage whose rerun did not produce what rvc.lock records. */
export interface VerifyOutputDifference {
  path: string;
  /** The recorded oid (absent when rvc.lock does not list the output). */
  recorded?: string;
  /** The oid each run produced (absent when a run did not produce it). */
  runs: (string | undefined)[];
  /** A metrics file: the metrics beyond their tolerance in any run (empty: all within). */
  metrics?: MetricDifference[];
}

export type VerifyDiagnosis =
  /** Runs in the same environment produced different outputs: the stage itself is not deterministic. */
  | { kind: 'nondeterministic'; outputs: string[] }
  /** The environment recorded with the stage differs from the one of the verify run. */
  | { kind: 'environment-drift'; changes: EnvironmentChange[] };

export interface VerifyStageResult {
  stage: string;
  verdict: VerifyVerdict;
  /** Outputs that differ from the record (for within-tolerance: metrics files only). */
  differences: VerifyOutputDifference[];
  diagnosis?: VerifyDiagnosis;
  /**
   * Files the first rerun created or changed in the copy that are not the stage's outputs
   * (paths relative to the project root; a new folder is one entry ending in `/`). Such a stage
   * does not run in isolation: what it writes there is not recorded, so a result depending on it
   * cannot be verified. Writes outside the copy are not seen.
   */
  undeclaredWrites?: string[];
  /** Why the stage could not be verified (verdict `error`). */
  error?: Failure;
}

export interface VerifyResult {
  rev: string;
  commit: string;
  runs: number;
  stages: VerifyStageResult[];
  /** Every stage bit-exact or within tolerance. */
  reproduced: boolean;
}

/** The folder of `.rvc/tmp/` holding the copies and `last.json`, the last result (read by `rvc report`). */
export const VERIFY_DIR = 'verify';

/**
 * `rvc verify`: reruns stages of a commit in an isolated copy of it and compares their outputs
 * with what its rvc.lock records. The copy is a detached git worktree under
 * `.rvc/tmp/verify/<id>/`, configured to read the project's cache (link type copy, so nothing
 * in the cache can be written through a link) and removed afterwards, also after a failure.
 * Each stage runs alone: the dependencies rvc.lock records are placed from the cache, the
 * command runs `runs` times, outputs are hashed but never stored, and no run-cache entry is
 * saved. The workspace, its rvc.lock and the cache are not changed; the only file written
 * outside the copy is `.rvc/tmp/verify/last.json`.
 */
export async function verify(opts: VerifyOptions = {}): Promise<VerifyResult> {
  const repo = Repo.open(opts.cwd);
  const runs = opts.runs ?? 1;
  if (!Number.isInteger(runs) || runs < 1) throw new RvcError('USAGE', `--runs must be a whole number of at least 1, not '${runs}'`, { hint: 'rvc verify --runs 2' });
  const jobs = Math.max(1, Math.floor(opts.jobs ?? 1));
  const tols = (opts.tolerance ?? []).map(parseTolerance);
  const top = repo.scm ? gitToplevel(repo.root) : undefined;
  if (!top) {
    throw new RvcError('NOT_A_GIT_REPO', 'rvc verify reruns stages in a copy of a git commit, and this repository does not use git', {
      path: '.', hint: 'run `git init` and commit the project, then `rvc verify`',
    });
  }
  const rev = opts.rev ?? 'HEAD';
  const commit = gitResolveCommit(repo.root, rev);
  const files = gitTreeFiles(repo.root, commit);
  if (!files.some(isLockFile)) {
    throw new RvcError('STAGE_NOT_FOUND', `there is no rvc.lock at ${rev}: no stage run is recorded to verify`, {
      path: 'rvc.lock', hint: 'run `rvc repro` and commit rvc.lock, then `rvc verify`',
    });
  }
  const inGit = gitPaths(files);
  const base = path.join(repo.tmpDir, VERIFY_DIR);
  sweepDeadCopies(top, base);
  const copies: Copy[] = [];
  try {
    const first = makeCopy(repo, top, base, commit);
    copies.push(first);
    const project = loadProject(first.repo);
    const recorded = project.lock;
    const cwdRel = path.relative(repo.root, path.resolve(opts.cwd ?? process.cwd()));
    const names = opts.targets?.length
      ? resolveStageTargets(project, opts.targets, path.join(first.repo.root, cwdRel.startsWith('..') ? '' : cwdRel))
      : project.graph.names.filter((n) => lockedStage(recorded, n));
    if (names.length === 0) {
      throw new RvcError('STAGE_NOT_FOUND', `rvc.lock at ${rev} records no stage to verify`, {
        path: 'rvc.lock', hint: 'run `rvc repro` and commit rvc.lock, then `rvc verify`',
      });
    }
    const entryOf = (n: string): LockStage | undefined => lockedStage(recorded, n);
    let missing = missingDeps(repo, names, entryOf, inGit);
    if (opts.pull && missing.length) {
      await pullMissing(repo, missing, opts);
      missing = missingDeps(repo, names, entryOf, inGit);
      refuseMissing(missing, rev, true);
    }
    refuseMissing(missing, rev, false);
    const queue = [...names];
    const results = new Map<string, VerifyStageResult>();
    const worker = async (copy: Copy): Promise<void> => {
      for (let name = queue.shift(); name !== undefined && !opts.signal?.aborted; name = queue.shift()) {
        opts.onStageStart?.(name);
        let r: VerifyStageResult;
        try {
          r = await verifyStage(copy, project, name, lockedStage(recorded, name), inGit, runs, tols, opts);
        } catch (e) {
          if (!isRvcError(e)) throw e;
          r = { stage: name, verdict: 'error', differences: [], error: failureOf(e) };
        }
        results.set(name, r);
        opts.onStageEnd?.(r);
      }
    };
    while (copies.length < Math.min(jobs, names.length)) copies.push(makeCopy(repo, top, base, commit));
    // Every worker ends before the copies go, even when one of them failed.
    const settled = await Promise.allSettled(copies.map(worker));
    for (const o of settled) if (o.status === 'rejected') throw o.reason;
    if (opts.signal?.aborted) {
      throw new RvcError('INTERRUPTED', 'rvc verify was interrupted: nothing was recorded, and its copies were removed', { hint: 'run `rvc verify` again' });
    }
    const stages = names.map((n) => results.get(n)!);
    const res: VerifyResult = { rev, commit, runs, stages, reproduced: stages.every((s) => s.verdict === 'bit-exact' || s.verdict === 'within-tolerance') };
    writeFileAtomic(path.join(base, 'last.json'), `${JSON.stringify({
      date: new Date().toISOString(), rev, commit, stages: stages.map((s) => ({ stage: s.stage, verdict: s.verdict })),
    }, null, 2)}\n`);
    return res;
  } finally {
    for (const c of copies) removeCopy(top, c);
  }
}

interface Copy {
  /** The worktree's folder. */
  dir: string;
  /** The repository inside it (the project may sit in a folder of the git work tree). */
  repo: Repo;
}

let copySeq = 0;

/** A detached worktree of `commit` under `.rvc/tmp/verify/`, reading the project's cache. */
function makeCopy(repo: Repo, top: string, base: string, commit: string): Copy {
  fs.mkdirSync(base, { recursive: true });
  const dir = path.join(base, `${process.pid}-${copySeq++}`);
  removeTree(dir, dir);
  // No hooks: the project's post-checkout hook (`rvc install`) would check data out into the copy.
  let copyRepo: Repo | undefined;
  const root = path.join(dir, path.relative(top, repo.root));
  try {
    gitRun(top, ['-c', `core.hooksPath=${path.join(base, 'no-hooks')}`, 'worktree', 'add', '--detach', '--quiet', dir, commit]);
    const rvcDir = path.join(root, RVC_DIR);
    fs.mkdirSync(rvcDir, { recursive: true });
    // Outputs are copied out of the cache, never linked: a command writing to a linked file would change the cache.
    writeFileAtomic(path.join(rvcDir, LOCAL_CONFIG_FILE), toYaml({ cache: { dir: repo.cacheDir, type: 'copy' } }));
    copyRepo = Repo.open(root);
  } catch (e) {
    removeCopy(top, { dir });
    if (!isRvcError(e, 'NOT_A_REPO')) throw e;
  }
  if (!copyRepo || copyRepo.root !== root) {
    removeCopy(top, { dir });
    throw new RvcError('NOT_A_REPO', `the commit ${commit.slice(0, 12)} has no rvc project at '${path.relative(top, repo.root) || '.'}' (.rvc/config.yaml is not committed)`, {
      path: '.rvc/config.yaml', hint: 'commit .rvc/config.yaml, then `rvc verify`',
    });
  }
  return { dir, repo: copyRepo };
}

function removeCopy(top: string, c: Pick<Copy, 'dir'>): void {
  try {
    gitRun(top, ['worktree', 'remove', '--force', '--force', c.dir]);
  } catch {
    // removed below
  }
  try {
    removeTree(c.dir, c.dir);
    gitRun(top, ['worktree', 'prune']);
  } catch {
    // best effort: the next verify sweeps what is left (sweepDeadCopies)
  }
}

/** Copies a killed verify left behind (their process is gone). */
function sweepDeadCopies(top: string, base: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(base);
  } catch {
    return;
  }
  for (const n of names) {
    const m = VERIFY_COPY_RE.exec(n);
    if (m && !alive(Number(m[1]))) removeCopy(top, { dir: path.join(base, n) });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Paths git has at the commit: its files and every folder holding one. */
function gitPaths(files: readonly string[]): Set<string> {
  const s = new Set<string>();
  for (const f of files) {
    s.add(f);
    for (let i = f.indexOf('/'); i >= 0; i = f.indexOf('/', i + 1)) s.add(f.slice(0, i));
  }
  return s;
}

/** Recorded dependencies the copy has to take from the cache (those git does not have). */
function cachedDeps(entry: LockStage, inGit: ReadonlySet<string>): LockFileEntry[] {
  return entry.deps.filter((d) => !inGit.has(d.path));
}

/** The recorded dependencies of the chosen stages whose data (a file, a folder's manifest or files) the cache lacks. */
function missingDeps(repo: Repo, names: readonly string[], entryOf: (n: string) => LockStage | undefined, inGit: ReadonlySet<string>): { stage: string; dep: LockFileEntry }[] {
  const missing: { stage: string; dep: LockFileEntry }[] = [];
  for (const n of names) {
    const e = entryOf(n);
    if (!e) continue;
    for (const d of cachedDeps(e, inGit)) {
      const odb = repo.odbFor(d.hash);
      let ok = odb.hasSync(d.oid);
      if (ok && isTreeOid(d.oid)) {
        try {
          ok = odb.readTree(d.oid).every((f) => odb.hasSync(f.oid));
        } catch {
          ok = false;
        }
      }
      if (!ok) missing.push({ stage: n, dep: d });
    }
  }
  return missing;
}

/** A recorded dependency as an output of the index (what restore and fetch take). */
function depOutput(d: LockFileEntry, stage: string): Output {
  return {
    kind: 'stage', rel: d.path, file: 'rvc.lock', where: d.path, cached: true, stage,
    out: { path: d.path, hash: d.hash, oid: d.oid, size: d.size, ...(d.nfiles !== undefined ? { nfiles: d.nfiles } : {}), ...(d.exec ? { exec: true } : {}) },
  };
}

/** With `pull`: downloads the missing dependencies from the remote (verified by hash, into the cache). */
async function pullMissing(repo: Repo, missing: readonly { stage: string; dep: LockFileEntry }[], opts: VerifyOptions): Promise<number> {
  if (!opts.pull || missing.length === 0) return 0;
  const syncOpts = { ...(opts.remote !== undefined ? { remote: opts.remote } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}), ...(opts.onWarning ? { onWarning: opts.onWarning } : {}) };
  const from = await openSyncRemote(repo, syncOpts);
  try {
    const r = await fetchWanted(repo, { set: ObjectSet.of(missing.map((m) => ({ output: depOutput(m.dep, m.stage) }))), revisions: [] }, from, syncOpts);
    return r.transferred;
  } finally {
    await from.remote.close();
  }
}

/** Fails naming every dependency whose data the cache lacks. */
function refuseMissing(missing: readonly { stage: string; dep: LockFileEntry }[], rev: string, pulled: boolean): void {
  if (!missing.length) return;
  const named = missing.map((m) => `${m.dep.path} (${m.dep.oid.slice(0, 12)}, a dependency of ${m.stage})`);
  throw new RvcError('OBJECT_MISSING', `the cache lacks data rvc.lock at ${rev} records as dependencies${pulled ? ', and the remote does not have it either' : ''}: ${named.join(', ')}`, {
    path: missing.length === 1 ? missing[0]!.dep.path : 'rvc.lock',
    hint: pulled ? 'push it from a clone that has it (`rvc push`), then `rvc verify --pull`' : `run \`rvc verify --pull\` (or \`rvc fetch --rev ${rev}\`) to download it`,
    details: { missing: missing.map((m) => ({ stage: m.stage, path: m.dep.path, oid: m.dep.oid })) },
  });
}

const STALE_KINDS = new Set(['cmd-changed', 'dep-changed', 'dep-added', 'dep-removed', 'dep-missing', 'param-changed', 'params-unreadable', 'env-changed']);

async function verifyStage(copy: Copy, project: LoadedProject, name: string, entry: LockStage | undefined, inGit: ReadonlySet<string>, runs: number, tols: readonly Tolerance[], opts: VerifyOptions): Promise<VerifyStageResult> {
  const fail = (e: Failure): VerifyStageResult => ({ stage: name, verdict: 'error', differences: [], error: e });
  if (!entry) {
    return fail({ code: 'STAGE_NOT_FOUND', message: `rvc.lock does not record a run of stage '${name}': there is nothing to compare with`, hint: `run \`rvc repro ${name}\` and commit rvc.lock` });
  }
  const stage = project.graph.stages.get(name)!;
  if (stage.frozen) {
    return fail({ code: 'STAGE_INVALID', message: `stage '${name}' is frozen: its outputs are not made by its command`, hint: `\`rvc unfreeze ${name}\` and commit, to verify it` });
  }
  const metricsPaths = new Set(stage.metrics.map((m) => m.repoPath));
  const produced: Map<string, string>[] = [];
  const metricsNow: Map<string, string | undefined>[] = [];
  let environmentNow: LockStage['environment'];
  let undeclared: string[] = [];
  const repo = copy.repo;
  for (let i = 0; i < runs; i++) {
    // The recorded dependencies, from the cache (also over what an earlier run in this copy made).
    const deps: Output[] = cachedDeps(entry, inGit).map((d) => depOutput(d, name));
    if (deps.length) {
      const r = restoreOutputs(repo, deps.map((output) => ({ output })), { force: true });
      const bad = r.outs.find((o) => o.error);
      if (bad) return fail(bad.error!);
    }
    const runner = new Runner(loadProject(repo), {
      force: true, noCommit: true, noRunCache: true, jobs: 1, ...(opts.environ ? { environ: opts.environ } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.killSignal ? { killSignal: opts.killSignal } : {}),
    });
    const before = i === 0 ? copyStatus(copy) : undefined;
    const res = await runner.run([name]);
    if (before) undeclared = undeclaredWrites(copy, before, stage);
    const sr = res.stages[0]!;
    if (sr.status !== 'ran') {
      const why = sr.error ?? {
        code: 'STAGE_FAILED' as const,
        message: sr.failedCmd !== undefined
          ? `stage '${name}' failed: '${sr.failedCmd}' ${sr.exitCode === null ? `was killed by ${sr.signal}` : `exited with ${sr.exitCode}`}${sr.stderrTail ? `: ${sr.stderrTail.trim().split('\n').slice(-1)[0]}` : ''}`
          : `stage '${name}' was not run (${sr.status})`,
        hint: `run \`rvc repro -f -s ${name}\` to see the whole output`,
      };
      return fail(why);
    }
    const stale = sr.reasons.filter((r) => STALE_KINDS.has(r.kind));
    if (stale.length) {
      return fail({
        code: 'STAGE_INVALID',
        message: `the inputs of stage '${name}' in the copy differ from those rvc.lock records (${stale.map((r) => r.kind + ('path' in r ? ` '${r.path}'` : 'key' in r ? ` '${r.key}'` : 'name' in r ? ` '${r.name}'` : '')).join(', ')}): a rerun cannot be compared with it`,
        hint: `run \`rvc repro ${name}\` and commit rvc.lock, then \`rvc verify\``,
      });
    }
    const now = lockedStage(readLocks(repo).lock, name);
    produced.push(new Map((now?.outs ?? []).map((o) => [o.path, o.oid])));
    metricsNow.push(new Map([...metricsPaths].map((p) => [p, readText(path.join(repo.root, p))])));
    environmentNow = now?.environment;
  }

  const paths = [...new Set([...entry.outs.map((o) => o.path), ...produced.flatMap((m) => [...m.keys()])])].sort(compareStrings);
  const differences: VerifyOutputDifference[] = [];
  for (const p of paths) {
    const rec = entry.outs.find((o) => o.path === p);
    const got = produced.map((m) => m.get(p));
    if (got.every((g) => g !== undefined && g === rec?.oid)) continue;
    const d: VerifyOutputDifference = { path: p, ...(rec ? { recorded: rec.oid } : {}), runs: got };
    if (metricsPaths.has(p) && rec && !isTreeOid(rec.oid)) {
      const recText = cachedText(repo.odbFor(rec.hash), rec.oid);
      const diffs = recText === undefined ? undefined : compareMetrics(p, recText, metricsNow.map((m) => m.get(p)), tols);
      if (diffs) d.metrics = diffs;
    }
    differences.push(d);
  }
  const tolerated = differences.every((d) => d.metrics !== undefined && d.metrics.length === 0);
  const verdict: VerifyVerdict = differences.length === 0 ? 'bit-exact' : tolerated ? 'within-tolerance' : 'not-reproduced';
  const res: VerifyStageResult = { stage: name, verdict, differences, ...(undeclared.length ? { undeclaredWrites: undeclared } : {}) };
  if (verdict === 'bit-exact') return res;
  const diagnosis = diagnose(produced, entry.environment, environmentNow);
  return diagnosis ? { ...res, diagnosis } : res;
}

/**
 * What `git status` shows in the copy (ignored paths included, new folders collapsed): one
 * string per entry, its status letters and path.
 */
function copyStatus(copy: Copy): Set<string> {
  try {
    return new Set(gitRun(copy.repo.root, ['status', '--porcelain=v1', '-z', '--untracked-files=normal', '--ignored=matching', '--', '.']).split('\0').filter(Boolean));
  } catch {
    return new Set();
  }
}

/** Entries new in the copy's status since `before`, less the stage's outputs and rvc's own files. */
function undeclaredWrites(copy: Copy, before: ReadonlySet<string>, stage: Stage): string[] {
  const top = copy.dir;
  const outs = allOutputs(stage).map((o) => o.repoPath);
  const res: string[] = [];
  for (const e of copyStatus(copy)) {
    if (before.has(e)) continue;
    // Porcelain paths are relative to the work tree's top; the project may sit in a folder of it.
    const rel = path.relative(copy.repo.root, path.join(top, e.slice(3))).split(path.sep).join('/') + (e.endsWith('/') ? '/' : '');
    const bare = rel.replace(/\/$/, '');
    if (rel.startsWith('../') || bare === RVC_DIR || bare.startsWith(`${RVC_DIR}/`) || isLockFile(bare) || path.posix.basename(bare) === '.gitignore') continue;
    if (outs.some((o) => o === bare || isInside(bare, o) || isInside(o, bare))) continue;
    res.push(rel);
  }
  return res.sort(compareStrings);
}

/**
 * Why reruns differ from the record, where it shows: outputs that differ between runs in the
 * same copy (one environment) mean the stage is nondeterministic; otherwise the recorded
 * environment (when the entry and the rerun both have one) against the rerun's. `runs` maps output paths to oids.
 */
export function diagnose(runs: readonly ReadonlyMap<string, string>[], recorded: EnvironmentRecord | undefined, now: EnvironmentRecord | undefined): VerifyDiagnosis | undefined {
  const paths = [...new Set(runs.flatMap((m) => [...m.keys()]))].sort(compareStrings);
  const varying = paths.filter((p) => new Set(runs.map((m) => m.get(p))).size > 1);
  if (varying.length) return { kind: 'nondeterministic', outputs: varying };
  // Both sides are needed: a rerun that recorded nothing has not changed every key.
  if (!recorded || !now) return undefined;
  const changes = environmentDrift(recorded, now);
  return changes.length ? { kind: 'environment-drift', changes } : undefined;
}

/** The metrics beyond tolerance over all runs; undefined when a side cannot be parsed (then the file simply differs). */
function compareMetrics(file: string, recordedText: string, runTexts: (string | undefined)[], tols: readonly Tolerance[]): MetricDifference[] | undefined {
  try {
    const rec = flattenValues(parseMetricsFile(recordedText, file));
    const out: MetricDifference[] = [];
    for (const t of runTexts) {
      if (t === undefined) return undefined;
      for (const d of metricDifferences(file, rec, flattenValues(parseMetricsFile(t, file)), tols)) {
        if (!out.some((o) => o.key === d.key)) out.push(d);
      }
    }
    return out;
  } catch (e) {
    if (e instanceof RvcError) return undefined;
    throw e;
  }
}

/** A cached object's text (whole or chunked), or undefined when the cache lacks it. */
function cachedText(odb: Odb, oid: string): string | undefined {
  try {
    return odb.readObject(oid).toString('utf8');
  } catch {
    return undefined;
  }
}

function readText(abs: string): string | undefined {
  try {
    return fs.readFileSync(abs, 'utf8');
  } catch {
    return undefined;
  }
}
