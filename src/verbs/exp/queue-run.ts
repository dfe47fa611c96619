import fs from 'node:fs';
import path from 'node:path';
import { isRvcError } from '../../errors.js';
import { writeFileAtomic, readTextIfExists } from '../../fsutil/atomic.js';
import { removeTree } from '../../fsutil/remove.js';
import { serializeConfigLayer, setConfigKey, setConfigKeyInText } from '../../model/config.js';
import { parseOverride } from '../../pipeline/param-overrides.js';
import { Repo, LOCAL_CONFIG_FILE, RVC_DIR } from '../../repo/repo.js';
import { runGit } from '../../scm/exec.js';
import { gitPrefix, gitResolveCommit } from '../../scm/git.js';
import { workspaceOutputs } from '../../repo/outputs.js';
import { openHistory } from '../../repo/history.js';
import { restoreOutputs, restoreWorkspace } from '../../repo/restore.js';
import type { Output } from '../../model/output.js';
import { runExperiment } from './run.js';
import type { ReproResult } from '../repro.js';
import { copyDir, expsTmpDir, logFile, queueRef, readEntry, releaseClaim, updateEntry, type QueueEntry } from './queue-store.js';

/** Link types a copy's checkout tries: the data comes from the shared cache without copying when it can. */
const COPY_LINK_TYPES = ['reflink', 'hardlink', 'copy'];

/**
 * Runs queue entry `id` of the repository at `root` in this process (a runner, started by a
 * worker, which runs one entry after another): an isolated copy of the entry's snapshot commit
 * is made as a git worktree under `.rvc/tmp/exps/<id>/`, sharing the repository's cache (its
 * `.rvc/config.local.yaml` points `cache.dir` at it) and filled from it by links; the overrides
 * are applied there and the experiment saved as one of the entry's baseline. The entry's state
 * and what the run printed (in `<id>.log`) are kept; a successful run's copy is parked for the
 * next run (below), a failed one's is kept for inspection until `rvc queue remove`.
 * The caller must hold the entry's claim; it is released here when the run ends. `prefix`: the
 * project's folder inside its git work tree (`gitPrefix(root)`), when the caller knows it.
 */
export async function runQueuedEntry(root: string, id: string, prefix: string = gitPrefix(root)): Promise<QueueEntry | undefined> {
  const repo = Repo.open(root);
  const log = (line: string): void => fs.appendFileSync(logFile(repo, id), line.endsWith('\n') ? line : `${line}\n`);
  // Its worker has recorded it running in this process. An entry removed, or killed before it
  // started, is not run.
  const seen = readEntry(repo, id);
  const entry = !seen || seen.state === 'failed' || seen.state === 'success' ? undefined
    : seen.state === 'running' && seen.pid === process.pid ? seen
      : updateEntry(repo, id, (e) => ({ ...e, state: 'running', started: new Date().toISOString(), pid: process.pid }));
  if (!entry) {
    releaseClaim(repo, id);
    return seen;
  }
  const copy = copyDir(repo, id);
  try {
    log(`rvc queue: running ${id}${entry.params.length ? ` with ${entry.params.map((p) => `-S ${p}`).join(' ')}` : ''} (process ${process.pid})`);
    const t0 = Date.now();
    removeCopy(repo, copy);
    fs.mkdirSync(path.dirname(copy), { recursive: true });
    const snapshot = entry.snapshot ?? queueRef(id);
    // A snapshot recorded as a full commit id needs no git process to resolve.
    const snapshotCommit = (): string => (/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(snapshot) ? snapshot : gitResolveCommit(repo.root, snapshot));
    const work = path.join(copy, prefix);
    const reused = takePooledCopy(repo, copy);
    if (reused) runGit(['checkout', '--quiet', '--detach', '--force', snapshot], copy);
    else runGit(['worktree', 'add', '--detach', '--quiet', copy, snapshot], repo.root);
    writeCopyConfig(repo, work);
    // One handle on the copy for its preparation: its pointers and pipeline files listed once.
    const copyRepo = Repo.open(work);
    let recorded = await workspaceOutputs(copyRepo);
    // A reused copy holds the data of the commit its last run placed: only what differs is checked out.
    let targets: Set<string> | undefined;
    if (reused) {
      cleanCopy(copy, prefix, recorded);
      const differ = await outputsToPlace(repo, work, snapshotCommit());
      if (differ) targets = new Set(differ);
      // Listed again without what the clean removed.
      else recorded = await workspaceOutputs(Repo.open(work));
    }
    // Data the pipeline needs but the cache lacks is reported by the run itself (missing dependency).
    try {
      if (targets === undefined || targets.size) {
        const place = targets;
        const co = await copyRepo.withLock('rvc queue', {}, () => (place
          ? restoreOutputs(copyRepo, recorded.filter((o) => o.kind !== 'run' && place.has(o.rel)).map((output) => ({ output })), { force: true })
          : restoreWorkspace(copyRepo, recorded, { force: true })));
        if (co.failed) log(`rvc queue: checkout: ${co.failed} output(s) could not be placed from the cache`);
      }
    } catch (e) {
      log(`rvc queue: checkout: ${(e as Error).message}`);
    }
    const t1 = Date.now();
    log(`rvc queue: copy ${reused ? 'reused' : 'made'} in ${t1 - t0} ms`);
    const r = await runExperiment({
      cwd: work, baseline: entry.baseline, targets: entry.targets,
      overrides: entry.params.map(parseOverride),
      ...(entry.name !== null ? { name: entry.name } : {}),
      ...(entry.message !== undefined ? { message: entry.message } : {}),
      ...(entry.force ? { force: true } : {}),
      onStageStart: (e) => log(`Running stage '${e.stage}':\n> ${e.cmd.join('\n> ')}`),
      onStageOutput: (_stage, chunk) => fs.appendFileSync(logFile(repo, id), chunk),
      onWarning: (m) => log(`warning: ${m}`),
    });
    const exp = r.experiment ?? r.identicalTo!;
    log(r.experiment ? `rvc queue: saved experiment '${exp.name}' (${exp.commit.slice(0, 7)})`
      : `rvc queue: identical to experiment '${exp.name}' (${exp.commit.slice(0, 7)}): not run again`);
    const t2 = Date.now();
    // What the copy's outputs now are: the experiment's record (or the snapshot's, when nothing ran).
    writeFileAtomic(placedFromFile(work), `${r.experiment ? r.experiment.commit : snapshotCommit()}\n`);
    parkCopy(repo, copy, id);
    log(`rvc queue: run took ${t2 - t1} ms, parking the copy ${Date.now() - t2} ms`);
    const done = updateEntry(repo, id, (e) => {
      const { pid: _pid, ...rest } = e;
      return { ...rest, state: 'success', finished: new Date().toISOString(), experiment: { name: exp.name, commit: exp.commit } };
    });
    return done;
  } catch (e) {
    const message = failureText(e);
    log(`rvc queue: failed: ${message}`);
    // An entry `queue kill` already marked keeps its reason.
    return updateEntry(repo, id, (x) => {
      if (x.state !== 'running') return x;
      const { pid: _pid, ...rest } = x;
      return { ...rest, state: 'failed', finished: new Date().toISOString(), error: message };
    });
  } finally {
    releaseClaim(repo, id);
  }
}

/** Why a run failed, in one line: the failed stages and their exit codes for a pipeline failure. */
function failureText(e: unknown): string {
  if (!isRvcError(e)) return (e as Error).message;
  const repro = (e.details as { repro?: ReproResult } | undefined)?.repro;
  const failed = repro?.stages.filter((s) => s.status === 'failed') ?? [];
  if (failed.length) {
    return failed.map((s) => `stage '${s.name}' failed${s.error ? `: ${s.error.message}` : s.signal ? ` (killed by ${s.signal})` : s.exitCode !== undefined ? ` (exit code ${s.exitCode})` : ''}`).join('; ');
  }
  return e.message + (e.hint ? ` (${e.hint})` : '');
}

/** The copy's local configuration: the repository's own, with the shared cache and link types. */
function writeCopyConfig(repo: Repo, copy: string): void {
  const file = path.join(copy, RVC_DIR, LOCAL_CONFIG_FILE);
  const own = readTextIfExists(path.join(repo.rvcDir, LOCAL_CONFIG_FILE));
  let text = own ?? serializeConfigLayer(setConfigKey({}, 'cache.dir', repo.cacheDir, file, { allowSecrets: true }));
  text = setConfigKeyInText(text, file, 'cache.dir', repo.cacheDir, { allowSecrets: true }) ?? text;
  text = setConfigKeyInText(text, file, 'cache.type', COPY_LINK_TYPES.join(','), { allowSecrets: true }) ?? text;
  // A reused copy has it from its last run already.
  if (readTextIfExists(file) === text) return;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, text);
}

/**
 * Removes an isolated copy and git's record of it (nothing when there is none). No `git worktree
 * prune`: it would drop the record of a copy another process is moving at that moment.
 */
export function removeCopy(repo: Repo, copy: string): void {
  if (!fs.existsSync(copy)) return;
  try {
    runGit(['worktree', 'remove', '--force', '--force', copy], repo.root);
  } catch {
    // not (or no longer) a registered worktree: removed as a plain folder below
  }
  if (fs.existsSync(copy)) removeTree(copy, path.relative(repo.root, copy));
}

/*
 * Copies of successful runs are parked in `.rvc/tmp/exps/pool/` for the next run, which resets
 * one to its own snapshot instead of placing the whole dataset again: the data files are already
 * there and the copy's hash cache knows them. A copy is taken with `git worktree move` (one
 * rename: of two takers, one fails and makes a new copy). Parked copies are removed when a
 * worker or `--run-all` ends (removePooledCopies).
 */
const poolDir = (repo: Repo): string => path.join(expsTmpDir(repo), 'pool');

/** Where a parked copy notes the commit whose recorded outputs are placed in it. */
function placedFromFile(work: string): string {
  return path.join(work, RVC_DIR, 'tmp', 'queue-placed-from');
}


/**
 * The outputs (pointers' and rvc.lock's) of the commit `snapshot` (full id) whose recorded
 * content differs from what the reused copy at `work` holds — the outputs of the commit its last
 * run recorded there — or undefined (check out everything) when that is not known. Unchanged
 * data stays as it is placed.
 */
async function outputsToPlace(repo: Repo, work: string, snapshot: string): Promise<string[] | undefined> {
  const from = readTextIfExists(placedFromFile(work))?.trim();
  fs.rmSync(placedFromFile(work), { force: true });
  if (!from || !/^[0-9a-f]{40,64}$/.test(from)) return undefined;
  const history = openHistory(repo.root);
  try {
    const placed = new Map((await history.outsAt(from)).map((o) => [o.rel, o.out.oid]));
    return (await history.outsAt(snapshot)).filter((o) => placed.get(o.rel) !== o.out.oid).map((o) => o.rel);
  } catch {
    return undefined;
  } finally {
    history.close();
  }
}

function parkCopy(repo: Repo, copy: string, id: string): void {
  try {
    fs.mkdirSync(poolDir(repo), { recursive: true });
    runGit(['worktree', 'move', copy, path.join(poolDir(repo), id)], repo.root);
  } catch {
    removeCopy(repo, copy);
  }
}

function pooledCopies(repo: Repo): string[] {
  try {
    return fs.readdirSync(poolDir(repo)).filter((n) => /^[0-9a-f]{12}$/.test(n)).map((n) => path.join(poolDir(repo), n));
  } catch {
    return [];
  }
}

function takePooledCopy(repo: Repo, copy: string): boolean {
  for (const p of pooledCopies(repo)) {
    try {
      runGit(['worktree', 'move', p, copy], repo.root);
      return true;
    } catch {
      // taken by another run meanwhile, or not a worktree any more
    }
  }
  return false;
}

/**
 * Makes a reused copy, just checked out at its snapshot, the snapshot's work tree: untracked
 * and ignored files removed except rvc's folder and the data the snapshot records (`recorded`,
 * listed after the checkout; rvc's checkout then makes those match, placing only what differs).
 */
function cleanCopy(copy: string, prefix: string, recorded: readonly Output[]): void {
  // The snapshot's cached data (pointers, rvc.lock): not run-cache entries, not `cache: false` outputs, which are git's.
  const keep = recorded.filter((o) => o.kind !== 'run' && o.cached !== false).map((o) => `/${prefix}${o.rel}`);
  runGit(['clean', '-q', '-d', '-f', '-f', '-x', '-e', `/${prefix}${RVC_DIR}/`, ...keep.flatMap((k) => ['-e', k])], copy);
}

/** Removes every parked copy (each moved aside first, so a run taking it at that moment gets it whole or not at all). */
export function removePooledCopies(repo: Repo): void {
  for (const p of pooledCopies(repo)) {
    const aside = path.join(expsTmpDir(repo), `trash-${path.basename(p)}-${process.pid}`);
    try {
      runGit(['worktree', 'move', p, aside], repo.root);
    } catch {
      continue;
    }
    removeCopy(repo, aside);
  }
}

/** Whether the entry is still on disk (a `queue remove` may have taken it meanwhile). */
export function entryExists(repo: Repo, id: string): boolean {
  return readEntry(repo, id) !== undefined;
}
