import { QUEUE_REF_ROOT } from '../../scm/experiments.js';
import { claimPids } from '../../repo/copies.js';
import fs from 'node:fs';
import path from 'node:path';
import { RvcError, errnoCode, fromFsError } from '../../errors.js';
import { writeFileAtomic, tempPathFor } from '../../fsutil/atomic.js';
import { processRunning } from '../../fsutil/lockfile.js';
import type { Repo } from '../../repo/repo.js';

/**
 * The experiment queue on disk, under `.rvc/tmp/exps/`:
 *
 *   queue/<id>.json    one entry (the contract below), replaced atomically on every change
 *   queue/<id>.claim   exists while a process owns the entry: created with O_EXCL, holding the
 *                      PIDs of the worker and of the runner running it; a claim whose PIDs are
 *                      all gone is stale and broken by the next worker
 *   queue/<id>.log     what the run printed
 *   queue/workers/<pid>  one file per background worker while it runs
 *   <id>/              the isolated copy (git worktree) the run executes in
 *
 * and the workspace state each entry runs from is a commit kept under `refs/rvc-queue/<id>`.
 */

export type QueueState = 'queued' | 'running' | 'success' | 'failed';

export interface QueueEntry {
  /** 12 hex digits; the first 11 are the creation time in ms, so ids sort by age. */
  id: string;
  /** The experiment's name given with -n; null for a generated one. */
  name: string | null;
  /** The commit the experiment is an experiment of (full oid). */
  baseline: string;
  /** The -S texts of this run. */
  params: string[];
  /** Stages or outputs to reproduce (empty: all). */
  targets: string[];
  state: QueueState;
  created: string;
  started?: string;
  finished?: string;
  error?: string;
  experiment?: { name: string; commit: string };
  /** The runner process running it (leader of its own process group) while it runs. */
  pid?: number;
  /** The commit holding the workspace state at queue time (parent: baseline); also at refs/rvc-queue/<id>. */
  snapshot?: string;
  /** Replace an experiment of the same name / run even when an identical one exists. */
  force?: boolean;
  /** First line of the experiment commit's message. */
  message?: string;
}


export function queueRef(id: string): string {
  return `${QUEUE_REF_ROOT}${id}`;
}

export function expsTmpDir(repo: Repo): string {
  return path.join(repo.tmpDir, 'exps');
}

export function queueDir(repo: Repo): string {
  return path.join(expsTmpDir(repo), 'queue');
}

export function workersDir(repo: Repo): string {
  return path.join(queueDir(repo), 'workers');
}

/** The isolated copy entry `id` runs in. */
export function copyDir(repo: Repo, id: string): string {
  return path.join(expsTmpDir(repo), id);
}

export const entryFile = (repo: Repo, id: string): string => path.join(queueDir(repo), `${id}.json`);
export const claimFile = (repo: Repo, id: string): string => path.join(queueDir(repo), `${id}.claim`);
export const logFile = (repo: Repo, id: string): string => path.join(queueDir(repo), `${id}.log`);

const ID_RE = /^[0-9a-f]{12}$/;
let lastMs = 0;

/** A new entry id: creation time in ms (11 hex digits, strictly increasing in this process) + 1 random digit. */
export function newQueueId(): string {
  lastMs = Math.max(Date.now(), lastMs + 1);
  return lastMs.toString(16).padStart(11, '0').slice(-11) + Math.floor(Math.random() * 16).toString(16);
}

function parseEntry(text: string): QueueEntry | undefined {
  try {
    const e = JSON.parse(text) as QueueEntry;
    return e && typeof e.id === 'string' && ID_RE.test(e.id) && typeof e.state === 'string' ? e : undefined;
  } catch {
    return undefined;
  }
}

/** Every entry of the queue, oldest first; none when the folder does not exist. */
export function readQueue(repo: Repo): QueueEntry[] {
  let names: string[];
  try {
    names = fs.readdirSync(queueDir(repo));
  } catch {
    return [];
  }
  const res: QueueEntry[] = [];
  for (const n of names.filter((x) => x.endsWith('.json') && ID_RE.test(x.slice(0, -5))).sort()) {
    const e = readEntry(repo, n.slice(0, -5));
    if (e) res.push(e);
  }
  return res;
}

export function readEntry(repo: Repo, id: string): QueueEntry | undefined {
  try {
    return parseEntry(fs.readFileSync(entryFile(repo, id), 'utf8'));
  } catch {
    return undefined;
  }
}

export function writeEntry(repo: Repo, e: QueueEntry): void {
  fs.mkdirSync(queueDir(repo), { recursive: true });
  writeFileAtomic(entryFile(repo, e.id), `${JSON.stringify(e, null, 2)}\n`);
}

/** Applies `change` to the entry as it is on disk now (undefined when it was removed). */
export function updateEntry(repo: Repo, id: string, change: (e: QueueEntry) => QueueEntry): QueueEntry | undefined {
  const e = readEntry(repo, id);
  if (!e) return undefined;
  const next = change(e);
  writeEntry(repo, next);
  return next;
}

// ---- claims ----------------------------------------------------------------------------------

function readClaimText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}


/**
 * Takes entry `id` for this process: the claim file is created with O_EXCL, so of two
 * processes trying at once exactly one succeeds. False when someone holds it.
 */
export function tryClaim(repo: Repo, id: string, pids: number[] = [process.pid]): boolean {
  fs.mkdirSync(queueDir(repo), { recursive: true });
  // Written whole to a temp file, then linked into place (fails if it exists): a reader never
  // sees a claim without its PIDs.
  const file = claimFile(repo, id);
  const tmp = tempPathFor(file);
  fs.writeFileSync(tmp, JSON.stringify({ pids }));
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (e) {
    if (errnoCode(e) === 'EEXIST') return false;
    throw fromFsError(e, file, 'claim queue entry');
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Adds the run's PID to a claim this process holds (replaced atomically: the claim never disappears). */
export function addClaimPid(repo: Repo, id: string, pid: number): void {
  const file = claimFile(repo, id);
  const pids = claimPids(readClaimText(file));
  writeFileAtomic(file, JSON.stringify({ pids: [...new Set([...pids, pid])] }));
}

export function releaseClaim(repo: Repo, id: string): void {
  fs.rmSync(claimFile(repo, id), { force: true });
}

/** True when entry `id` has a claim and a process it names still runs. */
export function claimLive(repo: Repo, id: string): boolean {
  const text = readClaimText(claimFile(repo, id));
  return text !== undefined && claimPids(text).some(processRunning);
}

/** True when entry `id`'s claim names process `pid`. */
export function claimHolds(repo: Repo, id: string, pid: number): boolean {
  return claimPids(readClaimText(claimFile(repo, id))).includes(pid);
}

export function hasClaim(repo: Repo, id: string): boolean {
  return fs.existsSync(claimFile(repo, id));
}

/**
 * Recovers entries whose processes are gone (a worker and its run killed, the machine
 * restarted): an entry left `running` goes back to `queued` and runs again (a run killed after
 * saving its experiment is then found identical and not saved twice), and its stale claim is
 * removed. A claim is broken the way the repository lock is (moved aside, checked, put back if
 * a live process had re-taken it), so two workers recovering at once cannot drop a live claim.
 * Returns the ids recovered.
 */
export function recoverOrphans(repo: Repo): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(queueDir(repo));
  } catch {
    return [];
  }
  const recovered: string[] = [];
  for (const n of names) {
    if (!n.endsWith('.claim') || !ID_RE.test(n.slice(0, -6))) continue;
    const id = n.slice(0, -6);
    const file = claimFile(repo, id);
    const judged = readClaimText(file);
    if (judged === undefined) continue;
    const pids = claimPids(judged);
    // A claim being written (no PIDs yet readable) is left alone, as is any with a live PID.
    if (pids.length === 0 || pids.some(processRunning)) continue;
    const e = readEntry(repo, id);
    if (e && e.state === 'running') {
      const { pid: _pid, started: _started, ...rest } = e;
      writeEntry(repo, { ...rest, state: 'queued' });
    }
    const aside = tempPathFor(file);
    try {
      fs.renameSync(file, aside);
    } catch {
      continue; // another worker broke it first
    }
    if (readClaimText(aside) !== judged) {
      try {
        fs.linkSync(aside, file);
      } catch {
        // re-taken meanwhile; the live holder keeps it
      }
    } else {
      recovered.push(id);
    }
    fs.rmSync(aside, { force: true });
  }
  return recovered;
}

// ---- workers ---------------------------------------------------------------------------------

export interface WorkerInfo {
  pid: number;
  jobs: number;
  started: string;
}

export function registerWorker(repo: Repo, info: WorkerInfo): () => void {
  fs.mkdirSync(workersDir(repo), { recursive: true });
  const file = path.join(workersDir(repo), String(info.pid));
  writeFileAtomic(file, JSON.stringify(info));
  return () => fs.rmSync(file, { force: true });
}

/** Background workers now running (files of dead ones are removed). */
export function liveWorkers(repo: Repo): WorkerInfo[] {
  let names: string[];
  try {
    names = fs.readdirSync(workersDir(repo));
  } catch {
    return [];
  }
  const res: WorkerInfo[] = [];
  for (const n of names.filter((x) => /^\d+$/.test(x))) {
    const file = path.join(workersDir(repo), n);
    let info: WorkerInfo;
    try {
      info = JSON.parse(fs.readFileSync(file, 'utf8')) as WorkerInfo;
    } catch {
      continue;
    }
    if (processRunning(info.pid)) res.push(info);
    else fs.rmSync(file, { force: true });
  }
  return res;
}

/**
 * The entry `spec` names: its id (or a prefix of at least 4 digits), its -n name, or the name
 * of the experiment it saved. Refuses an ambiguous spec.
 */
export function findEntry(entries: QueueEntry[], spec: string): QueueEntry | undefined {
  const exact = entries.filter((e) => e.id === spec || e.name === spec || e.experiment?.name === spec);
  const byPrefix = exact.length ? exact : /^[0-9a-f]{4,12}$/.test(spec) ? entries.filter((e) => e.id.startsWith(spec)) : [];
  if (byPrefix.length > 1) {
    throw new RvcError('EXP_AMBIGUOUS', `'${spec}' names ${byPrefix.length} queue entries`, {
      hint: `name one by its id: ${byPrefix.map((e) => e.id).join(', ')} (see \`rvc queue status\`)`,
    });
  }
  return byPrefix[0];
}
