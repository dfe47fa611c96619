import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RvcError, errnoCode, fromFsError } from '../errors.js';
import { tempPathFor, sweepStaleTemps } from './atomic.js';

export interface LockHolder {
  pid: number;
  host: string;
  command: string;
  started: string;
  /**
   * Process groups the holder started while holding the lock (a stage's command). The lock
   * stays live while any of them runs, even after the holder itself was killed: an orphaned
   * command still writing the outputs must not race a re-run.
   */
  groups?: number[];
}

export interface LockOptions {
  /** What the holder is doing, shown to whoever waits. */
  command: string;
  /** How long to wait for a live holder before failing. */
  waitMs: number;
  /** Called once when we start waiting, so the CLI can say so. */
  onWait?: (holder: LockHolder | undefined) => void;
  pollMs?: number;
  /**
   * Called after a lock left by a dead process was removed: that process may have left
   * half-finished temp files, which the caller can now sweep.
   */
  onStale?: (holder: LockHolder) => void;
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const h = JSON.parse(fs.readFileSync(file, 'utf8')) as LockHolder;
    return typeof h.pid === 'number' ? h : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether process `pid` runs on this host. A zombie (killed, not yet reaped: common for orphans
 * in containers whose init does not reap) answers signal 0 but runs nothing, so where /proc
 * exists its state is checked too.
 */
export function processRunning(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if (errnoCode(e) !== 'EPERM') return false;
  }
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch (e) {
    return errnoCode(e) !== 'ENOENT' || !fs.existsSync('/proc/self');
  }
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

const pidAlive = processRunning;

/**
 * Whether any live process is still in group `pgid`. Signal 0 also succeeds for zombies (exited,
 * not yet reaped — common for orphans in containers whose init does not reap), so where /proc
 * exists its members are checked for one that is not a zombie.
 */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (e) {
    if (errnoCode(e) !== 'EPERM') return false;
  }
  let pids: string[];
  try {
    pids = fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return true; // no /proc: trust the signal
  }
  for (const p of pids) {
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${p}/stat`, 'latin1');
    } catch {
      continue; // gone meanwhile
    }
    // `pid (comm) state ppid pgrp …`; comm may hold spaces and parentheses.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(rest[2]) === pgid && rest[0] !== 'Z' && rest[0] !== 'X') return true;
  }
  return false;
}

/** A lock whose holder was on this host and whose process, and every group it started, is gone. */
function isStale(h: LockHolder | undefined): boolean {
  return h !== undefined && h.host === os.hostname() && h.pid !== process.pid && !pidAlive(h.pid)
    && !(h.groups ?? []).some((g) => Number.isSafeInteger(g) && g > 1 && groupAlive(g));
}

/**
 * Records in a lock this process holds that it started process group `pgid`, so the lock is not
 * judged stale while that group runs (see LockHolder.groups). The lock file is replaced whole
 * (temp + rename), so readers see the old or the new holder. A lock not ours is left alone.
 */
export function recordLockGroup(file: string, pgid: number): void {
  const h = readHolder(file);
  if (!h || h.pid !== process.pid) return;
  const next: LockHolder = { ...h, groups: [...new Set([...(h.groups ?? []), pgid])] };
  const tmp = tempPathFor(file);
  try {
    fs.writeFileSync(tmp, JSON.stringify(next));
    fs.renameSync(tmp, file);
  } catch {
    fs.rmSync(tmp, { force: true });
    // without the record, only a crash of this process while the command runs is less safe
  }
}

/**
 * Exclusive lock on a file path. The lock file is created complete (written to a temp file,
 * then hard-linked into place, which fails if it exists), so a reader never sees a half-written
 * holder. A lock left by a killed process on this host is detected by its PID and removed.
 */
export async function acquireLock(file: string, opts: LockOptions): Promise<() => void> {
  const me: LockHolder = { pid: process.pid, host: os.hostname(), command: opts.command, started: new Date().toISOString() };
  const tmp = tempPathFor(file);
  try {
    fs.writeFileSync(tmp, JSON.stringify(me));
  } catch (e) {
    throw fromFsError(e, file, 'create lock');
  }
  const deadline = Date.now() + opts.waitMs;
  let told = false;
  try {
    for (;;) {
      try {
        fs.linkSync(tmp, file);
        // A process killed between writing its temp lock file and linking it left that file
        // with no lock to point at it: swept here, now that we hold the lock.
        sweepStaleTemps(path.dirname(file), path.basename(file));
        break;
      } catch (e) {
        if (errnoCode(e) !== 'EEXIST') throw fromFsError(e, file, 'create lock');
      }
      const holder = readHolder(file);
      if (isStale(holder)) {
        breakStale(file, holder!);
        // The dead holder's own temp lock file, beside the lock.
        sweepStaleTemps(path.dirname(file), path.basename(file));
        opts.onStale?.(holder!);
        continue;
      }
      if (Date.now() >= deadline) {
        throw new RvcError('LOCKED', holder
          ? `the repository is locked by '${holder.command}' (pid ${holder.pid} on ${holder.host}, since ${holder.started})`
          : `the repository is locked (${file})`, {
          path: file,
          hint: 'wait for that command to finish; if no rvc process is running, delete the lock file',
          details: holder,
        });
      }
      if (!told) {
        told = true;
        opts.onWait?.(holder);
      }
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 50));
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    // Only remove the lock if it is still ours (a stale-lock breaker may have taken it over).
    const h = readHolder(file);
    if (h && h.pid === me.pid && h.started === me.started) fs.rmSync(file, { force: true });
  };
}

/**
 * Removes a stale lock without racing another breaker: move it aside under a unique name, then
 * check that what we moved is the stale lock we judged; if a live process re-took the lock in
 * between, put it back.
 */
function breakStale(file: string, judged: LockHolder): void {
  const aside = tempPathFor(file);
  try {
    fs.renameSync(file, aside);
  } catch {
    return; // someone else moved it first
  }
  const moved = readHolder(aside);
  if (moved && (moved.pid !== judged.pid || moved.started !== judged.started)) {
    try {
      fs.linkSync(aside, file);
    } catch {
      // the lock was taken again meanwhile; the live holder keeps it
    }
  }
  fs.rmSync(aside, { force: true });
}
