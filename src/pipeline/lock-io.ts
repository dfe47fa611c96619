import fs from 'node:fs';
import path from 'node:path';
import { parseLock, serializeLock, withStage, withoutStage, emptyLock, type Lock, type LockFileEntry, type LockStage } from '../model/lock.js';
import { lockFileOf, pipelineFileOf, splitStageId } from '../model/names.js';
import type { Stage } from '../model/pipeline/types.js';
import { writeFileAtomic } from '../fsutil/atomic.js';
import { RvcError, isRvcError } from '../errors.js';
import { acquireLock, recordLockGroup, type LockHolder } from '../fsutil/lockfile.js';
import { hashBuffer } from '../hashing/hash.js';
import type { CommonOptions, Repo } from '../repo/repo.js';
import type { PinEntry } from '../odb/pins.js';
import { lockFileStamp, type FileStamp } from '../repo/project.js';
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
 * Rewrites the entry of one stage in its lock file (the one beside its pipeline file): read,
 * replace that entry, write the canonical text atomically — under the repository lock, held
 * only for this, so parallel stages and other rvc processes never lose each other's entries.
 * `alsoUnderLock` runs in the same critical section (for .gitignore edits). `placed` (the
 * entry's cached outputs, by default all) are noted as outputs rvc placed in this workspace
 * (repo/placed.ts). Returns the lock file as written (stages by the names written there), its
 * path and its new stamp.
 */
export async function writeLockEntry(
  repo: Repo, id: string, entry: LockStage, opts: CommonOptions, alsoUnderLock?: () => void, placed: readonly LockFileEntry[] = entry.outs,
): Promise<LockFileWrite> {
  const { file, local } = splitStageId(id);
  const lockFile = lockFileOf(file);
  return lockWrites.run(() => repo.withLock(`rvc repro (writing ${lockFile})`, opts, () => {
    const r = rewriteLockFile(repo, lockFile, (lock) => withStage(lock, local, entry));
    alsoUnderLock?.();
    notePlaced(repo, placed.map((o) => ({ path: o.path, hash: o.hash, oid: o.oid })));
    return r;
  }));
}

export interface LockFileWrite {
  lockFile: string;
  /** The lock file's stages after the write, by the names written there. */
  lock: Lock;
  stamp: FileStamp | undefined;
  changed: boolean;
}

/** Read, change and write one lock file; call under the repository lock. An unchanged text is left alone (and its mtime). */
function rewriteLockFile(repo: Repo, lockFile: string, change: (lock: Lock) => Lock): LockFileWrite {
  const abs = path.join(repo.root, lockFile);
  let text = '';
  try {
    text = fs.readFileSync(abs, 'utf8');
  } catch {
    // no lock yet
  }
  const lock = text.trim() === '' ? emptyLock() : parseLock(text, lockFile);
  const next = change(lock);
  const out = serializeLock(next, lockFile);
  // A restored stage usually gets back the very entry it had: leave the file (and its mtime) alone.
  const changed = out !== text && !(text === '' && Object.keys(next.stages).length === 0);
  if (changed) {
    writeFileAtomic(abs, out);
    if (text === '') repo.forgetPipelineFiles();
  }
  return { lockFile, lock: next, stamp: lockFileStamp(repo, lockFile), changed };
}

/**
 * Drops from each lock file the entries of stages its pipeline file no longer declares (a stage
 * renamed or deleted), so a lock file records only what its pipeline can reproduce. Only the
 * pipeline files in `declared` are considered (those that parsed); their outputs stay in the
 * workspace. Returns the lock files it rewrote, as written.
 */
export async function pruneLockFiles(repo: Repo, declared: readonly Stage[], files: readonly string[], recorded: Lock, opts: CommonOptions): Promise<LockFileWrite[]> {
  const byFile = new Map<string, Set<string>>();
  for (const f of files) byFile.set(f, new Set());
  for (const s of declared) byFile.get(s.file)?.add(s.local);
  const stale = new Set<string>();
  for (const id of Object.keys(recorded.stages)) {
    const { file, local } = splitStageId(id);
    const names = byFile.get(file);
    if (names && !names.has(local)) stale.add(lockFileOf(file));
  }
  if (!stale.size) return [];
  return lockWrites.run(() => repo.withLock('rvc repro (pruning lock files)', opts, () => {
    const res: LockFileWrite[] = [];
    for (const lockFile of [...stale].sort()) {
      const names = byFile.get(pipelineFileOf(lockFile))!;
      res.push(rewriteLockFile(repo, lockFile, (lock) => {
        let next = lock;
        for (const local of Object.keys(lock.stages)) if (!names.has(local)) next = withoutStage(next, local);
        return next;
      }));
    }
    return res;
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
