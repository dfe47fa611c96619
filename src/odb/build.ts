import fs from 'node:fs';
import { RvcError, fromFsError } from '../errors.js';
import type { TreeEntry } from '../model/tree.js';
import { walkFiles, statToFileStat, type IgnoreRules, type WalkEntry } from '../fsutil/walk.js';
import { hashFile, hashBuffer } from '../hashing/hash.js';
import { RACY_MS, type HashState } from '../hashing/state.js';
import { ProgressTicker, type ProgressFn } from '../progress.js';
import type { Odb } from './odb.js';

export interface BuiltOut {
  kind: 'file' | 'dir';
  oid: string;
  size: number;
  nfiles?: number;
  exec?: boolean;
  /** The manifest entries, for directories. */
  entries?: TreeEntry[];
}

export interface BuildOptions {
  odb: Odb;
  state: HashState;
  ignore: IgnoreRules;
  repoRoot: string;
  /** Store file contents and the manifest in the cache (add/commit) or only hash (status). */
  store: boolean;
  onProgress?: ProgressFn;
}

function isExec(mode: number): boolean {
  return (mode & 0o100) !== 0;
}

/**
 * Computes the oid of a workspace file or folder — re-reading only files the hash cache cannot
 * vouch for — and, with `store`, puts every content in the cache.
 */
export function buildOut(abs: string, repoRel: string, opts: BuildOptions): BuiltOut {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(abs);
  } catch (e) {
    throw fromFsError(e, repoRel, 'read');
  }
  if (st.isSymbolicLink()) {
    throw new RvcError('PATH_IS_SYMLINK', `'${repoRel}' is a symbolic link`, { path: repoRel, hint: 'track the file or folder it points to instead' });
  }
  const started = Date.now();
  if (st.isFile()) {
    const fst = statToFileStat(st);
    const oid = hashOne(opts, '', abs, fst, started);
    opts.state.save({ prune: true });
    const out: BuiltOut = { kind: 'file', oid, size: st.size };
    if (isExec(st.mode)) out.exec = true;
    return out;
  }
  if (!st.isDirectory()) {
    throw new RvcError('PATH_NOT_FOUND', `'${repoRel}' is neither a file nor a folder`, { path: repoRel });
  }
  const files = walkFiles(abs, { repoRoot: opts.repoRoot, ignore: opts.ignore });
  const totalBytes = files.reduce((s, f) => s + f.size, 0);
  const tick = new ProgressTicker(opts.onProgress ?? (() => {}), opts.store ? 'add' : 'hash', files.length, totalBytes);
  const entries: TreeEntry[] = new Array(files.length);
  /** Files the hash cache vouched for: their objects are checked once the tree is known. */
  const vouched: number[] = [];
  let size = 0;
  for (let i = 0; i < files.length; i++) {
    const f: WalkEntry = files[i]!;
    let oid = opts.state.get(f.rel, f);
    if (oid !== undefined) {
      if (opts.store) vouched.push(i);
    } else {
      oid = opts.store ? opts.odb.addFile(f.abs, f.size) : hashFile(opts.odb.algo, f.abs);
    }
    opts.state.set(f.rel, f, oid, started);
    entries[i] = isExec(f.mode) ? { path: f.rel, oid, size: f.size, exec: true } : { path: f.rel, oid, size: f.size };
    size += f.size;
    tick.tick(1, f.size);
  }
  tick.finish();
  let oid = opts.odb.treeOid(entries);
  // A manifest marked complete vouches for every object it lists, which spares re-adding an
  // unchanged folder of 50,000 files one existence check per file. Otherwise each object the
  // hash cache vouched for is checked, and stored if missing.
  if (opts.store && vouched.length && !opts.odb.isMarkedComplete(oid)) {
    let changed = false;
    for (const i of vouched) {
      const e = entries[i]!;
      if (opts.odb.hasSync(e.oid)) continue;
      const stored = opts.odb.addFile(files[i]!.abs, e.size);
      if (stored !== e.oid) {
        // The file changed after it was stat'ed: the tree lists what was actually stored, and
        // the hash-cache entry is made unmatchable (mtime -1) so the file is re-read next time.
        e.oid = stored;
        opts.state.set(e.path, { ...files[i]!, mtimeMs: -1 }, stored, started);
        changed = true;
      }
    }
    if (changed) oid = opts.odb.treeOid(entries);
  }
  opts.state.save({ prune: true });
  if (opts.store) {
    opts.odb.writeTree(entries);
    opts.odb.markComplete(oid);
  }
  return { kind: 'dir', oid, size, nfiles: entries.length, entries };
}

function hashOne(opts: BuildOptions, rel: string, abs: string, st: { ino: number; mtimeMs: number; size: number; mode: number }, started: number): string {
  let oid = opts.state.get(rel, st);
  if (oid !== undefined) {
    // The hash cache vouches for the content; when storing, the object must also exist.
    if (opts.store && !opts.odb.hasSync(oid)) oid = opts.odb.addFile(abs, st.size);
  } else {
    oid = opts.store ? opts.odb.addFile(abs, st.size) : hashFile(opts.odb.algo, abs);
  }
  opts.state.set(rel, st, oid, started);
  return oid;
}

/** Hashes a file's content without storing it (used by checkout to judge workspace files). */
export function hashWorkspaceFile(abs: string, rel: string, st: { ino: number; mtimeMs: number; size: number; mode: number }, odb: Odb, state: HashState): string {
  const started = Date.now();
  let oid = state.get(rel, st);
  if (oid === undefined) {
    oid = st.size === 0 ? hashBuffer(odb.algo, '') : hashFile(odb.algo, abs);
    state.set(rel, st, oid, started);
  }
  return oid;
}

/** Waits until files written up to now have timestamps the hash cache can trust (see RACY_MS). */
export function settleAfterWrites(lastWriteMs: number): number {
  const until = lastWriteMs + RACY_MS + 5;
  const wait = until - Date.now();
  if (wait > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, wait);
  return Date.now();
}
