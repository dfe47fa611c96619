import fs from 'node:fs';
import path from 'node:path';
import { parseLock, serializeLock, withStage, emptyLock, type Lock, type LockFileEntry, type LockStage } from '../model/lock.js';
import { writeFileAtomic } from '../fsutil/atomic.js';
import { RvcError, isRvcError } from '../errors.js';
import { acquireLock, recordLockGroup, type LockHolder } from '../fsutil/lockfile.js';
import { hashBuffer } from '../hashing/hash.js';
import type { CommonOptions, Repo } from '../repo/repo.js';
import type { PinEntry } from '../odb/pins.js';
import { LOCK_FILE, lockStamp, type FileStamp } from '../repo/project.js';
import { notePlaced } from '../repo/placed.js';

/** Serialises async sections within this process (the file lock does it across processes). */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

const lockWrites = new Mutex();

/**
 * Rewrites the entry of one stage in rvc.lock: read, replace that entry, write the canonical
 * text atomically — under the repository lock, held only for this, so parallel stages and
 * other rvc processes never lose each other's entries. `alsoUnderLock` runs in the same
 * critical section (for .gitignore edits). `placed` (the entry's cached outputs, by default all)
 * are noted as outputs rvc placed in this workspace (repo/placed.ts). Returns the lock as written
 * and its new stamp.
 */
export async function writeLockEntry(
  repo: Repo, name: string, entry: LockStage, opts: CommonOptions, alsoUnderLock?: () => void, placed: readonly LockFileEntry[] = entry.outs,
): Promise<{ lock: Lock; stamp: FileStamp | undefined; changed: boolean }> {
  return lockWrites.run(() => repo.withLock(`rvc repro (writing ${LOCK_FILE})`, opts, () => {
    const abs = path.join(repo.root, LOCK_FILE);
    let text = '';
    try {
      text = fs.readFileSync(abs, 'utf8');
    } catch {
      // no lock yet
    }
    const lock = text.trim() === '' ? emptyLock() : parseLock(text, LOCK_FILE);
    const next = withStage(lock, name, entry);
    alsoUnderLock?.();
    const out = serializeLock(next);
    // A restored stage usually gets back the very entry it had: leave the file (and its mtime) alone.
    const changed = out !== text;
    if (changed) writeFileAtomic(abs, out);
    notePlaced(repo, placed.map((o) => ({ path: o.path, hash: o.hash, oid: o.oid })));
    return { lock: next, stamp: lockStamp(repo), changed };
  }));
}

/**
 * Pins objects a stage stored until its rvc.lock entry is written (Repo.pinObjects), taking the
 * repository lock through the same in-process queue as writeLockEntry, so parallel stages of
 * this process never wait for each other's file lock.
 */
export function pinObjects(repo: Repo, entries: readonly PinEntry[], opts: CommonOptions): Promise<{ missing: PinEntry[]; release: () => void }> {
  return lockWrites.run(() => repo.pinObjects(entries, 'rvc repro (pinning outputs)', opts));
}

/**
 * Per-output locks (`.rvc/tmp/locks/…`), taken while a stage runs instead of the repository
 * lock: two `rvc repro` of independent stages run side by side, two of the same stage (or of
 * stages writing the same path) take turns. Keys are taken in sorted order, so two processes
 * cannot each hold one and wait for the other.
 */
export interface OutputLocks {
  (): void;
  /** Records a process group the stage started in every lock (see LockHolder.groups). */
  recordGroup(pgid: number): void;
}

export async function lockOutputs(
  repo: Repo, stage: string, outs: readonly string[], opts: { onWait?: (holder: string) => void; stopped?: () => boolean } = {},
): Promise<OutputLocks> {
  const dir = path.join(repo.tmpDir, 'locks');
  fs.mkdirSync(dir, { recursive: true });
  const keys = [...new Set([`stage:${stage}`, ...outs.map((o) => `out:${o}`)])].sort();
  const releases: (() => void)[] = [];
  const files: string[] = [];
  const releaseAll = Object.assign(() => {
    for (const r of releases.reverse()) r();
  }, { recordGroup: (pgid: number) => files.forEach((f) => recordLockGroup(f, pgid)) });
  let told = false;
  try {
    for (const k of keys) {
      const file = path.join(dir, hashBuffer('blake3', k).slice(0, 32));
      // A training run can take days: wait as long as the other process's stage runs, but
      // poll here rather than inside acquireLock, so a Ctrl-C while waiting is heard.
      for (;;) {
        try {
          releases.push(await acquireLock(file, { command: `rvc repro (stage '${stage}')`, waitMs: 0, onStale: () => repo.recoverAfterCrash() }));
          files.push(file);
          break;
        } catch (e) {
          if (!isRvcError(e, 'LOCKED')) throw e;
          if (opts.stopped?.()) throw new RvcError('INTERRUPTED', `interrupted while waiting for the outputs of stage '${stage}'`);
          if (!told) {
            told = true;
            const h = e.details as LockHolder | undefined;
            opts.onWait?.(h ? `${h.command}, pid ${h.pid}` : 'another rvc process');
          }
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    }
  } catch (e) {
    releaseAll();
    throw e;
  }
  return releaseAll;
}
