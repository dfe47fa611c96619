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

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoCode(e) === 'EPERM';
  }
}

/** A lock whose holder was on this host and whose process is gone. */
function isStale(h: LockHolder | undefined): boolean {
  return h !== undefined && h.host === os.hostname() && h.pid !== process.pid && !pidAlive(h.pid);
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
