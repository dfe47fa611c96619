import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { RvcError } from '../../errors.js';
import { readTextIfExists } from '../../fsutil/atomic.js';
import { processRunning } from '../../fsutil/lockfile.js';
import { expandSweeps } from '../../pipeline/param-overrides.js';
import { Repo, RVC_DIR, type CommonOptions } from '../../repo/repo.js';
import { runGit } from '../../scm/exec.js';
import { gitHead, gitPrefix } from '../../scm/git.js';
import { assertNameFree, listExperimentRefs, workTreeSnapshot } from '../../scm/experiments.js';
import { removeCopy, removePooledCopies } from './queue-run.js';
import {
  addClaimPid, claimHolds, claimLive, copyDir, findEntry, hasClaim, liveWorkers, logFile, newQueueId, queueDir, queueRef,
  readEntry, readQueue, recoverOrphans, registerWorker, releaseClaim, tryClaim, updateEntry, writeEntry,
  entryFile, type QueueEntry, type QueueState, type WorkerInfo,
} from './queue-store.js';

export type { QueueEntry, QueueState, WorkerInfo };
export { readQueue };

/** The entry script of workers and runners: processes of their own, started with this Node. */
const WORKER_SCRIPT = fileURLToPath(new URL('./queue-worker.js', import.meta.url));

export interface QueueAddOptions extends CommonOptions {
  /** -S texts; a comma list sweeps (one entry per combination). */
  setParams?: string[];
  targets?: string[];
  /** Experiment name; with several combinations each gets `-<n>` appended. */
  name?: string;
  message?: string;
  force?: boolean;
}

/**
 * Adds runs to the queue, one per combination of the -S sweep. The workspace as it is now
 * (uncommitted changes to code and params included) is recorded as a commit whose parent is
 * HEAD, kept under `refs/rvc-queue/<id>` so git keeps it; each run starts from it.
 */
export async function queueAdd(opts: QueueAddOptions = {}): Promise<QueueEntry[]> {
  const repo = Repo.open(opts.cwd);
  return createEntries(repo, opts, false);
}

async function createEntries(repo: Repo, opts: QueueAddOptions, claimed: boolean): Promise<QueueEntry[]> {
  const baseline = gitHead(repo.root);
  if (!baseline) {
    throw new RvcError('REV_NOT_FOUND', 'experiments need a commit to start from, and this repository has none', {
      hint: 'commit the project first: `git add -A && git commit -m "baseline"`',
    });
  }
  const runs = expandSweeps(opts.setParams ?? []);
  const names = runs.map((_, i) => (opts.name === undefined ? null : runs.length > 1 ? `${opts.name}-${i + 1}` : opts.name));
  const taken = new Set(listExperimentRefs(repo.root, baseline).map((e) => e.name));
  for (const n of names) if (n !== null) assertNameFree(repo.root, baseline, n, opts.force, taken);
  const tree = workTreeSnapshot(repo.root);
  const snapshot = runGit(['commit-tree', tree, '-p', baseline, '-m', 'rvc queue: workspace at queue time'], repo.root).trim();
  const entries: QueueEntry[] = [];
  for (let i = 0; i < runs.length; i++) {
    const id = newQueueId();
    runGit(['update-ref', queueRef(id), snapshot, ''], repo.root);
    const e: QueueEntry = {
      id, name: names[i]!, baseline, params: runs[i]!.map((o) => o.text), targets: opts.targets ?? [],
      state: 'queued', created: new Date().toISOString(), snapshot,
      ...(opts.force ? { force: true } : {}), ...(opts.message !== undefined ? { message: opts.message } : {}),
    };
    // A run of `--temp` holds its entries from the start, so no background worker takes them.
    if (claimed && !tryClaim(repo, id)) throw new RvcError('INTERNAL', `queue entry ${id} was claimed before it existed`);
    writeEntry(repo, e);
    entries.push(e);
  }
  return entries;
}

export interface QueueRunOptions extends CommonOptions {
  /** How many runs at once. */
  jobs?: number;
  /** Told when a run starts and when it ends. */
  onRunStart?: (e: QueueEntry) => void;
  onRunEnd?: (e: QueueEntry) => void;
  /** Stops taking new entries, and stops the running ones (their process groups are signalled). */
  signal?: AbortSignal;
}

export interface QueueRunResult {
  /** The entries this call ran, as they ended. */
  ran: QueueEntry[];
  succeeded: number;
  failed: number;
}

/**
 * Runs the queue from this process until no entry is left queued (`exp run --run-all`, and a
 * background worker): up to `jobs` runs at once, each in an isolated copy, in one of up to
 * `jobs` runner processes.
 * Entries orphaned by a killed worker are recovered first. Several processes may do this at
 * once: each entry is claimed atomically, so none runs twice.
 */
export async function runQueue(opts: QueueRunOptions = {}): Promise<QueueRunResult> {
  const repo = Repo.open(opts.cwd);
  return runClaimed(repo, opts, () => {
    recoverOrphans(repo);
    for (const e of readQueue(repo)) {
      if (e.state !== 'queued' || hasClaim(repo, e.id)) continue;
      if (!tryClaim(repo, e.id)) continue;
      // Between reading and claiming, another worker may have run it to the end.
      if (readEntry(repo, e.id)?.state === 'queued') return e.id;
      releaseClaim(repo, e.id);
    }
    return undefined;
  });
}

export interface ExpTempOptions extends QueueAddOptions, QueueRunOptions {}

/** `exp run --temp`: the runs start now, each in an isolated copy, and this call waits for them. */
export async function runTemp(opts: ExpTempOptions = {}): Promise<QueueRunResult> {
  const repo = Repo.open(opts.cwd);
  const ids = (await createEntries(repo, opts, true)).map((e) => e.id);
  return runClaimed(repo, opts, () => ids.shift());
}

/**
 * A long-lived process that runs claimed entries one after another (`queue-worker.js serve`):
 * leader of its own process group, so `queue kill` of its run stops it and its stage commands
 * and nothing else; the worker then starts a new one for the next entry.
 */
interface Runner {
  child: ChildProcess;
  /** The entry it is running. */
  current?: string;
  /** Called once when the current run ends: `exit` when the process ended instead of answering. */
  finish?: (exit?: { code: number | null; sig: NodeJS.Signals | null }) => void;
  gone: boolean;
}

function startRunner(repo: Repo): Runner {
  const child = spawn(process.execPath, [WORKER_SCRIPT, 'serve', repo.root], {
    cwd: repo.root, detached: true, stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
  });
  const r: Runner = { child, gone: false };
  // Only a crash prints: it belongs in the log of the run it ended.
  const toLog = (b: Buffer): void => {
    try {
      if (r.current) fs.appendFileSync(logFile(repo, r.current), b);
    } catch {
      // a log that cannot be written must not end the worker; the run's entry records its end
    }
  };
  child.stdout!.on('data', toLog);
  child.stderr!.on('data', toLog);
  child.stdin!.on('error', () => {
    // the runner ended: its close event reports it
  });
  readline.createInterface({ input: child.stdio[3] as Readable, crlfDelay: Infinity }).on('line', (line) => {
    if (line === r.current) r.finish?.();
  });
  let ended = false;
  const end = (code: number | null, sig: NodeJS.Signals | null): void => {
    if (ended) return;
    ended = true;
    r.gone = true;
    r.finish?.({ code, sig });
  };
  child.on('error', () => end(null, null));
  child.on('close', end);
  return r;
}

/**
 * Runs the entries `next` hands out (each already claimed by this process), `jobs` at a time,
 * in up to `jobs` runner processes that each run one entry after another.
 */
async function runClaimed(repo: Repo, opts: QueueRunOptions, next: () => string | undefined): Promise<QueueRunResult> {
  const jobs = Math.max(1, opts.jobs ?? 1);
  const running = new Map<string, Promise<void>>();
  const runners: Runner[] = [];
  const ran: QueueEntry[] = [];
  const stop = (): void => {
    for (const r of runners) if (r.current) signalRun(repo, r.current, 'SIGTERM');
  };
  opts.signal?.addEventListener('abort', stop);
  try {
    for (;;) {
      while (!opts.signal?.aborted && running.size < jobs) {
        const id = next();
        if (id === undefined) break;
        let runner = runners.find((r) => !r.current && !r.gone);
        if (!runner) {
          runner = startRunner(repo);
          runners.push(runner);
        }
        const r = runner;
        const pid = r.gone ? undefined : r.child.pid;
        // The runner's PID is recorded at once, in the claim first (`queue kill` signals it only
        // while the claim names it): `queue kill` needs it even before the run starts.
        if (pid !== undefined) addClaimPid(repo, id, pid);
        const entry = updateEntry(repo, id, (e) => ({ ...e, state: 'running', started: new Date().toISOString(), ...(pid !== undefined ? { pid } : {}) }));
        if (!entry) {
          releaseClaim(repo, id);
          continue;
        }
        opts.onRunStart?.(entry);
        r.current = id;
        running.set(id, new Promise<void>((resolve) => {
          r.finish = (exit) => {
            r.current = undefined;
            r.finish = undefined;
            if (r.gone) runners.splice(runners.indexOf(r), 1);
            running.delete(id);
            // A run that ended without recording its end (killed, crashed) is failed here.
            let end = readEntry(repo, id);
            if (end && end.state === 'running') {
              end = updateEntry(repo, id, (e) => {
                const { pid: _pid, ...rest } = e;
                const why = !exit ? 'the run ended without recording its result'
                  : exit.sig ? `the run was killed (${exit.sig})` : `the run's process exited with code ${exit.code}`;
                return { ...rest, state: 'failed', finished: new Date().toISOString(), error: why };
              });
            }
            releaseClaim(repo, id);
            if (end) {
              ran.push(end);
              opts.onRunEnd?.(end);
            }
            resolve();
          };
        }));
        if (pid === undefined) {
          r.finish?.({ code: null, sig: null });
          continue;
        }
        r.child.stdin!.write(`${id}\n`);
      }
      if (running.size === 0) break;
      await Promise.race(running.values());
    }
  } finally {
    opts.signal?.removeEventListener('abort', stop);
    // Idle runners end when their input closes; this call returns once they have.
    await Promise.all(runners.map((r) => new Promise<void>((resolve) => {
      if (r.gone) return resolve();
      r.child.once('close', () => resolve());
      r.child.stdin!.end();
    })));
    removePooledCopies(repo);
  }
  return { ran, succeeded: ran.filter((e) => e.state === 'success').length, failed: ran.filter((e) => e.state !== 'success').length };
}

export interface QueueStartOptions extends CommonOptions {
  jobs?: number;
}

export interface QueueStartResult {
  /** The background worker's PID. */
  pid: number;
  jobs: number;
  /** Entries waiting when it started. */
  queued: number;
  log: string;
}

/**
 * Starts a background worker that runs the queue with `jobs` runs at once and ends when nothing
 * is left queued. It is detached in a session of its own with its output in
 * `.rvc/tmp/exps/queue/worker.log`, so it survives the terminal closing. Several workers may run.
 */
export async function queueStart(opts: QueueStartOptions = {}): Promise<QueueStartResult> {
  const repo = Repo.open(opts.cwd);
  const jobs = Math.max(1, opts.jobs ?? 1);
  fs.mkdirSync(queueDir(repo), { recursive: true });
  const log = path.join(queueDir(repo), 'worker.log');
  const fd = fs.openSync(log, 'a');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [WORKER_SCRIPT, 'worker', repo.root, String(jobs)], {
      cwd: repo.root, detached: true, stdio: ['ignore', fd, fd],
    });
  } finally {
    fs.closeSync(fd);
  }
  if (child.pid === undefined) {
    throw new RvcError('INTERNAL', 'could not start a queue worker', { hint: `see ${path.relative(repo.root, log)}` });
  }
  child.unref();
  return { pid: child.pid, jobs, queued: readQueue(repo).filter((e) => e.state === 'queued').length, log };
}

/** The body of a background worker (the worker script calls this in its own process). */
export async function workerMain(root: string, jobs: number): Promise<QueueRunResult> {
  const repo = Repo.open(root);
  const unregister = registerWorker(repo, { pid: process.pid, jobs, started: new Date().toISOString() });
  try {
    return await runQueue({ cwd: root, jobs });
  } finally {
    unregister();
  }
}

export interface QueueStatusResult {
  entries: QueueEntry[];
  workers: WorkerInfo[];
}

/** The queue's entries (oldest first) and the background workers running. */
export function queueStatus(opts: CommonOptions = {}): QueueStatusResult {
  const repo = Repo.open(opts.cwd);
  const entries = readQueue(repo).map((e) => (e.state === 'running' && !claimLive(repo, e.id)
    ? { ...e, error: e.error ?? 'its processes are gone: `rvc queue start` runs it again' } : e));
  return { entries, workers: liveWorkers(repo) };
}

export interface QueueLogsOptions extends CommonOptions {
  /** The entry: its id (or prefix), its -n name, or the experiment it saved. */
  exp: string;
  /** Read from this byte offset (to follow a log). */
  offset?: number;
}

export interface QueueLogsResult {
  entry: QueueEntry;
  text: string;
  /** Where the next read starts. */
  offset: number;
  /** The run has ended: nothing more will be written. */
  finished: boolean;
}

/** What a queued run has printed (from `offset` on). */
export function queueLogs(opts: QueueLogsOptions): QueueLogsResult {
  const repo = Repo.open(opts.cwd);
  const entry = entryNamed(repo, opts.exp);
  const offset = opts.offset ?? 0;
  let text = '';
  let end = offset;
  try {
    const fd = fs.openSync(logFile(repo, entry.id), 'r');
    try {
      const size = fs.fstatSync(fd).size;
      if (size > offset) {
        const buf = Buffer.alloc(size - offset);
        fs.readSync(fd, buf, 0, buf.length, offset);
        // Stop at the last complete UTF-8 character; the rest comes with the next read.
        let cut = buf.length;
        while (cut > 0 && cut > buf.length - 4 && (buf[cut - 1]! & 0xc0) === 0x80) cut--;
        if (cut > 0 && buf[cut - 1]! >= 0xc0) cut--;
        else cut = buf.length;
        text = buf.subarray(0, cut).toString('utf8');
        end = offset + cut;
      }
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // no log yet
  }
  const finished = entry.state === 'success' || entry.state === 'failed' || (entry.state === 'running' && !claimLive(repo, entry.id));
  return { entry, text, offset: end, finished };
}

function entryNamed(repo: Repo, spec: string, entries = readQueue(repo)): QueueEntry {
  const e = findEntry(entries, spec);
  if (!e) {
    throw new RvcError('EXP_NOT_FOUND', `no queued experiment '${spec}'`, { hint: 'see `rvc queue status` for the ids and names' });
  }
  return e;
}

/**
 * Sends `sig` to a run's process group and to the groups of the stage commands it started (each
 * command runs in a group of its own, recorded in the copy's output locks).
 */
function signalRun(repo: Repo, id: string, sig: NodeJS.Signals, pid = readEntry(repo, id)?.pid): boolean {
  const groups = new Set<number>();
  if (pid && processRunning(pid)) groups.add(pid);
  const tmp = path.join(copyDir(repo, id), gitPrefix(repo.root), RVC_DIR, 'tmp');
  let lockFiles: string[] = [];
  try {
    lockFiles = fs.readdirSync(path.join(tmp, 'locks')).map((n) => path.join(tmp, 'locks', n));
  } catch {
    // no stage has run yet
  }
  for (const f of [path.join(tmp, 'lock'), ...lockFiles]) {
    try {
      for (const g of (JSON.parse(readTextIfExists(f) ?? '{}') as { groups?: number[] }).groups ?? []) if (Number.isSafeInteger(g) && g > 1) groups.add(g);
    } catch {
      // a lock being replaced: the run's own group is still signalled
    }
  }
  let any = false;
  // The run's own group first: once it is gone it can no longer record its stage's end as its own failure.
  for (const g of groups) {
    try {
      process.kill(-g, sig);
      any = true;
    } catch {
      // gone already
    }
  }
  return any;
}

export interface QueueKillOptions extends CommonOptions {
  exps: string[];
}

/** Kills running runs (their process groups and their stage commands); each is marked failed. */
export function queueKill(opts: QueueKillOptions): QueueEntry[] {
  const repo = Repo.open(opts.cwd);
  const entries = readQueue(repo);
  const targets = opts.exps.map((s) => entryNamed(repo, s, entries));
  const res: QueueEntry[] = [];
  for (const t of targets) {
    if (t.state !== 'running') {
      throw new RvcError('USAGE', `queued experiment '${opts.exps[targets.indexOf(t)]}' is not running (it is ${t.state})`, {
        hint: t.state === 'queued' ? `remove it from the queue with \`rvc queue remove ${t.id}\`` : 'see `rvc queue status`',
      });
    }
  }
  for (const t of targets) {
    // Recorded first, so the run's worker does not take the kill for a crash; the run's process
    // (its runner, which ends with it) is the one the entry named until then.
    let pid: number | undefined;
    let marked = false;
    const e = updateEntry(repo, t.id, (x) => {
      if (x.state !== 'running') return x; // ended meanwhile
      const { pid: was, ...rest } = x;
      pid = was;
      marked = true;
      return { ...rest, state: 'failed', finished: new Date().toISOString(), error: 'killed by `rvc queue kill`' };
    });
    if (!marked) continue;
    // A runner goes on to other entries: its group is signalled only while it still holds this one.
    signalRun(repo, t.id, 'SIGKILL', pid !== undefined && claimHolds(repo, t.id, pid) ? pid : undefined);
    if (e) res.push(e);
  }
  return res;
}

export interface QueueStopOptions extends CommonOptions {
  /** Also kill the runs in progress (else they finish). */
  kill?: boolean;
}

export interface QueueStopResult {
  workers: number[];
  killed: QueueEntry[];
}

/**
 * Stops the background workers: they take no new entry; runs in progress finish (their
 * runners are processes of their own) unless `kill`. Queued entries stay queued for the next `queue start`.
 */
export function queueStop(opts: QueueStopOptions = {}): QueueStopResult {
  const repo = Repo.open(opts.cwd);
  const workers = liveWorkers(repo).map((w) => w.pid);
  for (const pid of workers) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // ended meanwhile
    }
  }
  const killed = opts.kill
    ? queueKill({ ...opts, exps: readQueue(repo).filter((e) => e.state === 'running' && claimLive(repo, e.id)).map((e) => e.id) })
    : [];
  return { workers, killed };
}

export interface QueueRemoveOptions extends CommonOptions {
  exps?: string[];
  all?: boolean;
  queued?: boolean;
  failed?: boolean;
  success?: boolean;
}

/**
 * Removes entries: their file, log, snapshot ref and (for a failed run) the copy kept for
 * inspection. A running entry is refused (`rvc queue kill` first); a queued one is claimed
 * before it is removed, so a worker cannot start it meanwhile.
 */
export function queueRemove(opts: QueueRemoveOptions): QueueEntry[] {
  const repo = Repo.open(opts.cwd);
  const entries = readQueue(repo);
  const chosen = new Map<string, QueueEntry>();
  for (const s of opts.exps ?? []) {
    const e = entryNamed(repo, s, entries);
    if (e.state === 'running' && claimLive(repo, e.id)) {
      throw new RvcError('USAGE', `queued experiment '${s}' is running`, { hint: `stop it first with \`rvc queue kill ${e.id}\`` });
    }
    chosen.set(e.id, e);
  }
  for (const e of entries) {
    const pick = opts.all ? e.state !== 'running' : (opts.queued && e.state === 'queued') || (opts.failed && e.state === 'failed') || (opts.success && e.state === 'success');
    if (pick) chosen.set(e.id, e);
  }
  const removed: QueueEntry[] = [];
  for (const e of chosen.values()) {
    if (!tryClaim(repo, e.id)) {
      if (claimLive(repo, e.id)) continue; // a worker took it meanwhile
      recoverOrphans(repo);
      if (!tryClaim(repo, e.id)) continue;
    }
    try {
      const now = readEntry(repo, e.id);
      if (!now) continue;
      removeCopy(repo, copyDir(repo, e.id));
      try {
        runGit(['update-ref', '-d', queueRef(e.id)], repo.root);
      } catch {
        // already gone
      }
      fs.rmSync(logFile(repo, e.id), { force: true });
      fs.rmSync(entryFile(repo, e.id), { force: true });
      removed.push(now);
    } finally {
      releaseClaim(repo, e.id);
    }
  }
  // Copies parked by a worker that was stopped or killed (a copy in use is never in the pool).
  removePooledCopies(repo);
  return removed;
}
