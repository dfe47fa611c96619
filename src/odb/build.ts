import fs from 'node:fs';
import { RvcError, fromFsError } from '../errors.js';
import type { TreeEntry } from '../model/tree.js';
import { walkFiles, statToFileStat, type IgnoreRules, type WalkList } from '../fsutil/walk.js';
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
  // Read before any object is stored or checked: a gc deleting meanwhile moves to a later
  // generation, so the mark written below is void unless every check came after the deletion.
  const gen = opts.store ? opts.odb.markGeneration() : 0;
  let files: WalkList | undefined = walkFiles(abs, { repoRoot: opts.repoRoot, ignore: opts.ignore, storable: true });
  const n = files.length;
  let totalBytes = 0;
  for (let i = 0; i < n; i++) totalBytes += files.size[i]!;
  const tick = new ProgressTicker(opts.onProgress ?? (() => {}), opts.store ? 'add' : 'hash', n, totalBytes);
  const entries: TreeEntry[] = new Array(n);
  /** Files the hash cache vouched for: their objects are checked once the tree is known. */
  const vouched: number[] = [];
  let size = 0;
  for (let i = 0; i < n; i++) {
    const rel = files.rel[i]!;
    const fst = files.stat(i);
    let oid = opts.state.get(rel, fst);
    if (oid !== undefined) {
      if (opts.store) vouched.push(i);
    } else {
      oid = opts.store ? opts.odb.addFile(files.abs(i), fst.size) : hashFile(opts.odb.algo, files.abs(i));
    }
    opts.state.set(rel, fst, oid, started);
    entries[i] = isExec(fst.mode) ? { path: rel, oid, size: fst.size, exec: true } : { path: rel, oid, size: fst.size };
    size += fst.size;
    tick.tick(1, fst.size);
  }
  tick.finish();
  // The walk is only needed again for files the hash cache vouched for; a million rows of it
  // are not kept alive through hashing and writing the manifest otherwise.
  if (!vouched.length) files = undefined;
  let oid = opts.odb.treeOid(entries);
  // A manifest marked complete vouches for every object it lists, which spares re-adding an
  // unchanged folder of 50,000 files one existence check per file. Otherwise each object the
  // hash cache vouched for is checked, and stored if missing.
  if (opts.store && vouched.length && !opts.odb.isMarkedComplete(oid)) {
    let changed = false;
    for (const i of vouched) {
      const e = entries[i]!;
      if (opts.odb.hasSync(e.oid)) continue;
      const stored = opts.odb.addFile(files!.abs(i), e.size);
      if (stored !== e.oid) {
        // The file changed after it was stat'ed: the tree lists what was actually stored, and
        // the hash-cache entry is made unmatchable (mtime -1) so the file is re-read next time.
        e.oid = stored;
        opts.state.set(e.path, { ...files!.stat(i), mtimeMs: -1 }, stored, started);
        changed = true;
      }
    }
    if (changed) oid = opts.odb.treeOid(entries);
  }
  files = undefined;
  opts.state.save({ prune: true });
  if (opts.store) {
    opts.odb.writeTree(entries);
    opts.odb.markComplete(oid, gen);
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
