import fs from 'node:fs';
import { RvcError, fromFsError } from '../errors.js';
import type { TreeEntry } from '../model/tree.js';
import { walkFiles, statToFileStat, type IgnoreRules, type WalkList } from '../fsutil/walk.js';
import { statCacheLink } from '../fsutil/link.js';
import { hashFileSized, hashBuffer, SMALL_FILE } from '../hashing/hash.js';
import { MANY_MIN_FOR_WORKERS } from '../fsutil/copy-many.js';
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
  /** Told (once per output) when files changed while they were being stored. */
  onWarning?: (message: string) => void;
  /** How many threads store small files at once (`cache.jobs`); default: one per core, at most 4. */
  jobs?: number;
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
    // A link into the cache is what `cache.type symlink` makes of a single-file output.
    const target = statCacheLink(abs, opts.odb.root);
    if (!target) throw new RvcError('PATH_IS_SYMLINK', `'${repoRel}' is a symbolic link`, { path: repoRel, hint: 'track the file or folder it points to instead' });
    st = target;
  }
  const started = Date.now();
  if (st.isFile()) {
    const fst = statToFileStat(st);
    const { oid, size } = hashOne(opts, '', abs, fst, started);
    opts.state.save({ prune: true });
    if (size !== fst.size) warnChanged(opts, repoRel, [''], size);
    const out: BuiltOut = { kind: 'file', oid, size };
    if (isExec(st.mode)) out.exec = true;
    return out;
  }
  if (!st.isDirectory()) {
    throw new RvcError('PATH_NOT_FOUND', `'${repoRel}' is neither a file nor a folder`, { path: repoRel });
  }
  // Read before any object is stored or checked: a gc deleting meanwhile moves to a later
  // generation, so the mark written below is void unless every check came after the deletion.
  const gen = opts.store ? opts.odb.markGeneration() : 0;
  let files: WalkList | undefined = walkFiles(abs, { repoRoot: opts.repoRoot, ignore: opts.ignore, storable: true, cacheRoot: opts.odb.root });
  const n = files.length;
  let totalBytes = 0;
  for (let i = 0; i < n; i++) totalBytes += files.size[i]!;
  const tick = new ProgressTicker(opts.onProgress ?? (() => {}), opts.store ? 'add' : 'hash', n, totalBytes);
  const entries: TreeEntry[] = new Array(n);
  /** Files the hash cache vouched for: their objects are checked once the tree is known. */
  const vouched: number[] = [];
  /** Files whose size while read differed from their stat: written to meanwhile. */
  const moving: string[] = [];
  let size = 0;
  const ahead = opts.store ? storeAhead(files, opts, tick) : undefined;
  for (let i = 0; i < n; i++) {
    const rel = files.rel[i]!;
    const fst = files.stat(i);
    let oid = opts.state.get(rel, fst);
    let fsize = fst.size;
    if (oid !== undefined) {
      if (opts.store) vouched.push(i);
      opts.state.set(rel, fst, oid, started);
    } else if (ahead?.[i] !== undefined) {
      // Stored on every core above, read at the size the walk saw (counted there already).
      oid = ahead[i]!;
      opts.state.set(rel, fst, oid, started);
      entries[i] = isExec(fst.mode) ? { path: rel, oid, size: fsize, exec: true } : { path: rel, oid, size: fsize };
      size += fsize;
      tick.tick(0, fsize);
      continue;
    } else {
      ({ oid, size: fsize } = opts.store ? opts.odb.addFile(files.abs(i), fst.size) : hashFileSized(opts.odb.algo, files.abs(i)));
      // The stat does not describe the bytes read: nothing is recorded for this file.
      if (fsize === fst.size) opts.state.set(rel, fst, oid, started);
      else moving.push(rel);
    }
    entries[i] = isExec(fst.mode) ? { path: rel, oid, size: fsize, exec: true } : { path: rel, oid, size: fsize };
    size += fsize;
    tick.tick(1, fsize);
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
      if (stored.oid !== e.oid) {
        // The file changed after it was stat'ed: the tree lists what was actually stored, and
        // the hash-cache entry is made unmatchable (mtime -1) so the file is re-read next time.
        size += stored.size - e.size;
        e.oid = stored.oid;
        e.size = stored.size;
        opts.state.set(e.path, { ...files!.stat(i), mtimeMs: -1 }, stored.oid, started);
        changed = true;
      }
    }
    if (changed) oid = opts.odb.treeOid(entries);
  }
  files = undefined;
  opts.state.save({ prune: true });
  if (moving.length) warnChanged(opts, repoRel, moving);
  if (opts.store) {
    opts.odb.writeTree(entries);
    opts.odb.markComplete(oid, gen);
  }
  return { kind: 'dir', oid, size, nfiles: entries.length, entries };
}

/**
 * With many files to store (MANY_MIN_FOR_WORKERS or more that the hash cache does not vouch
 * for), the small ones are stored first on every core (Odb.storeMany); returns each one's oid by
 * walk index, the others undefined (stored one by one after). A single thread spent most of an
 * add of a thousand 1 MiB files writing them, and of 50,000 small files creating them: kernel
 * time, in the thread that asks.
 */
function storeAhead(files: WalkList, opts: BuildOptions, tick: ProgressTicker): (string | undefined)[] | undefined {
  if (files.length < MANY_MIN_FOR_WORKERS || opts.jobs === 1) return undefined;
  const which: number[] = [];
  for (let i = 0; i < files.length; i++) {
    if (files.size[i]! <= SMALL_FILE && opts.state.get(files.rel[i]!, files.stat(i)) === undefined) which.push(i);
  }
  if (which.length < MANY_MIN_FOR_WORKERS) return undefined;
  const oids: (string | undefined)[] = new Array(files.length);
  let reported = 0;
  opts.odb.storeMany(which.length, (k) => ({ src: files.abs(which[k]!), size: files.size[which[k]!]! }), (k, oid) => {
    oids[which[k]!] = oid;
  }, {
    ...(opts.jobs !== undefined ? { jobs: opts.jobs } : {}),
    onProgress: (done) => {
      tick.tick(done - reported, 0);
      reported = done;
    },
  });
  return oids;
}

/**
 * The oid of one file and the size of the bytes it names. A file whose size while read is not
 * its stat's was written to meanwhile: what was read is what is recorded (oid and size agree),
 * and the hash cache is told nothing, so the next run reads it again.
 */
function hashOne(opts: BuildOptions, rel: string, abs: string, st: { ino: number; mtimeMs: number; size: number; mode: number }, started: number): { oid: string; size: number } {
  const known = opts.state.get(rel, st);
  let r: { oid: string; size: number };
  if (known !== undefined) {
    // The hash cache vouches for the content; when storing, the object must also exist.
    r = opts.store && !opts.odb.hasSync(known) ? opts.odb.addFile(abs, st.size) : { oid: known, size: st.size };
  } else {
    r = opts.store ? opts.odb.addFile(abs, st.size) : hashFileSized(opts.odb.algo, abs);
  }
  if (r.size === st.size) opts.state.set(rel, st, r.oid, started);
  return r;
}

/** Tells the caller (when storing) which files were written to while they were being read. */
function warnChanged(opts: BuildOptions, repoRel: string, rels: string[], size?: number): void {
  if (!opts.store || !opts.onWarning) return;
  const shown = rels.slice(0, 5).map((r) => (r ? `${repoRel}/${r}` : repoRel)).join(', ') + (rels.length > 5 ? ` and ${rels.length - 5} more` : '');
  const what = size !== undefined ? `the ${size} bytes read were stored` : 'the bytes read were stored';
  const shows = rels.length > 1 ? 'they now show' : 'it now shows';
  opts.onWarning(`${shown} changed while being stored: ${what}, so ${shows} as modified; run the command again once the writing has finished`);
}

/** Hashes a file's content without storing it (used by checkout to judge workspace files). */
export function hashWorkspaceFile(abs: string, rel: string, st: { ino: number; mtimeMs: number; size: number; mode: number }, odb: Odb, state: HashState): string {
  const started = Date.now();
  let oid = state.get(rel, st);
  if (oid === undefined) {
    if (st.size === 0) {
      oid = hashBuffer(odb.algo, '');
      state.set(rel, st, oid, started);
    } else {
      const r = hashFileSized(odb.algo, abs);
      oid = r.oid;
      // Written to while read: the stat does not describe what was hashed.
      if (r.size === st.size) state.set(rel, st, oid, started);
    }
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
