import fs from 'node:fs';
import path from 'node:path';
import { RvcError, errnoCode, fromFsError } from '../errors.js';
import type { LinkType } from '../model/config.js';
import { isTreeOid } from '../model/oid.js';
import { isInside } from '../model/paths.js';
import type { TreeEntry } from '../model/tree.js';
import { placeFile, isSharedLink, statCacheLink } from '../fsutil/link.js';
import { copyManySmall, MANY_MAX_SIZE } from '../fsutil/copy-many.js';
import { pruneEmptyDirs, isStaleTempName, sweepStaleTemps, tempPathFor } from '../fsutil/atomic.js';
import { walkFiles, statToFileStat, type IgnoreRules, type FileStat, type WalkList } from '../fsutil/walk.js';
import type { HashState } from '../hashing/state.js';
import { ProgressTicker, type ProgressFn } from '../progress.js';
import { hashWorkspaceFile, settleAfterWrites } from './build.js';
import type { Odb } from './odb.js';

/**
 * Below both of these, what a checkout placed is not recorded in the hash cache: recording
 * must wait until the files' timestamps can be trusted (up to RACY_MS), which costs more than
 * hashing a few small files again.
 */
const SETTLE_MIN_FILES = 64;
const SETTLE_MIN_BYTES = 32 * 1024 * 1024;

function fileSize(abs: string): number {
  try {
    return fs.statSync(abs).size;
  } catch {
    return 0;
  }
}

export interface CheckoutTarget {
  /** Absolute workspace path of the output. */
  abs: string;
  /** Repository-relative path, for messages. */
  repoRel: string;
  oid: string;
  exec?: boolean;
}

export interface CheckoutOptions {
  odb: Odb;
  state: HashState;
  ignore: IgnoreRules;
  repoRoot: string;
  linkTypes: readonly LinkType[];
  /** How many threads copy small files at once (`cache.jobs`); default: one per core, at most 4. */
  jobs?: number;
  /** Overwrite or delete workspace files whose content is not in the cache. */
  force?: boolean;
  /** Re-place unchanged files too (after changing cache.type). */
  relink?: boolean;
  /**
   * Touch only files whose content is the one the target lists (add and commit replacing what
   * they just stored by links): anything written, created or deleted since is left as it is and
   * reported in `kept`, never refused.
   */
  onlyMatching?: boolean;
  /**
   * Also remove temp files a killed process left beside the output (a partial copy of a large
   * file). Costs a listing of the output's parent folder, so callers ask for it after a crash;
   * leftovers inside a folder output are removed on every checkout (the walk meets them).
   */
  sweepTemps?: boolean;
  /** Only this part of a directory output (POSIX, relative to the output). */
  subpath?: string;
  onProgress?: ProgressFn;
}

export interface CheckoutResult {
  added: string[];
  modified: string[];
  deleted: string[];
  unchanged: number;
  linkType?: LinkType;
  /** With onlyMatching: paths (relative to the output) left as they were. */
  kept?: string[];
  /** The output is a folder that was missing (or a file stood there) and was created. */
  createdFolder?: boolean;
}

/** The workspace place of an output, without what it should hold (for a removal). */
export type OutputPlace = Pick<CheckoutTarget, 'abs' | 'repoRel'>;

/**
 * What a checkout would do to one output, found by reading only (the hash cache may learn the
 * hashes it computed; `CheckoutOptions.state.save()` is left to the caller or to apply).
 *
 * In the workspace's terms (what `status` says): an entry of `place` with `placeIsNew` 1 is
 * deleted in the workspace, one with 0 is modified, and a path of `remove` was added (or, for a
 * removal plan, is a file of the output about to go).
 */
export interface CheckoutPlan {
  target: OutputPlace & { oid?: string; exec?: boolean };
  /** A removal plan: nothing should be at the output's place (planRemoval). */
  removal: boolean;
  /** The output is (for a removal: the workspace holds) a folder. */
  isDir: boolean;
  place: TreeEntry[];
  /** Per entry of `place`: 1 if nothing is there yet (one byte each, for a million files). */
  placeIsNew: Uint8Array;
  /** Workspace files (relative to the output; '' is the output itself) to delete. */
  remove: string[];
  /** A file where a folder should be, or the reverse: the whole path is replaced. */
  removeWholePath: boolean;
  /** A folder output whose folder is missing: created even when its manifest lists no file. */
  makeRoot: boolean;
  unchanged: number;
  /**
   * Repository-relative paths whose workspace content is not in the cache and that applying
   * would overwrite or delete (never filled with `force`). applyCheckout refuses such a plan.
   */
  unsafe: string[];
  /** With onlyMatching: paths (relative to the output) to leave as they are. */
  kept: string[];
  onlyMatching: boolean;
  /** rvc temp files met inside the output; apply removes those whose writer is gone. */
  temps: string[];
}

/** A plan's changes as the workspace differs from the target (what `status` reports per file). */
export function workspaceChanges(plan: CheckoutPlan): { added: string[]; modified: string[]; deleted: string[] } {
  const d = { added: [...plan.remove], modified: [] as string[], deleted: [] as string[] };
  for (let i = 0; i < plan.place.length; i++) (plan.placeIsNew[i] ? d.deleted : d.modified).push(plan.place[i]!.path);
  return d;
}

/**
 * Makes the workspace copy of one output match `target.oid`: planCheckout, then applyCheckout.
 *
 * It first plans every change, then refuses (before touching anything) if a change would destroy
 * a workspace file whose content is not in the cache — unless `force`. Files that already match
 * are not touched (same inode), files are replaced atomically, and files a directory's manifest
 * no longer lists are removed.
 */
export function checkoutOut(target: CheckoutTarget, opts: CheckoutOptions): CheckoutResult {
  return applyCheckout(planCheckout(target, opts), opts);
}

/**
 * Plans the checkout of one output: walks its workspace copy once (one lstat per file, hashes
 * from the hash cache) and compares it with the manifest. Changes nothing in the workspace.
 */
export function planCheckout(target: CheckoutTarget, opts: CheckoutOptions): CheckoutPlan {
  const { odb } = opts;
  assertNoSymlinkAbove(target, opts.repoRoot);
  const isDir = isTreeOid(target.oid);
  const wanted: TreeEntry[] = isDir
    ? odb.readTree(target.oid)
    : [{ path: '', oid: target.oid, size: 0, ...(target.exec ? { exec: true } : {}) }];
  if (!isDir && !odb.hasSync(target.oid)) throw missingObject(target.repoRel, target.oid);
  return planAgainst(target, wanted, isDir, opts);
}

/**
 * Plans deleting an output nothing records any more: every file of its workspace copy goes, and
 * those whose content is not in the cache are listed in `unsafe` (unless `force`). Something
 * other than a file, a folder or rvc's link into the cache at that place is left alone.
 */
export function planRemoval(place: OutputPlace, opts: CheckoutOptions): CheckoutPlan {
  assertNoSymlinkAbove(place, opts.repoRoot);
  return planAgainst(place, undefined, false, opts);
}

/** `wanted` undefined: a removal (the kind of output is what the workspace holds). */
function planAgainst(target: CheckoutPlan['target'], wanted: TreeEntry[] | undefined, isDirOut: boolean, opts: CheckoutOptions): CheckoutPlan {
  const { odb } = opts;
  const removal = wanted === undefined;
  const want = wanted ?? [];
  let isDir = isDirOut;
  const sub = removal ? undefined : opts.subpath;
  const whole = sub === undefined || sub === '';
  const inScope = (p: string): boolean => whole || isInside(p, sub!);
  const only = !removal && !!opts.onlyMatching;
  const plan: CheckoutPlan = {
    target, removal, isDir, place: [], placeIsNew: new Uint8Array(want.length), remove: [], removeWholePath: false, makeRoot: false,
    unchanged: 0, unsafe: [], kept: [], onlyMatching: only, temps: [],
  };

  let st: fs.Stats | undefined;
  try {
    st = fs.lstatSync(target.abs);
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw fromFsError(e, target.repoRel, 'read');
  }

  // Workspace files by path: a row of the walk (a million of them for a big folder), or -1
  // for a single file.
  const present = new Map<string, number>();
  let walked: WalkList | undefined;
  let single: FileStat | undefined;
  let linked: fs.Stats | undefined;
  if (st) {
    if (removal) isDir = plan.isDir = st.isDirectory();
    if (isDir && st.isDirectory()) {
      walked = walkFiles(target.abs, { repoRoot: opts.repoRoot, ignore: opts.ignore, onTemp: (abs) => plan.temps.push(abs), cacheRoot: odb.root });
      for (let i = 0; i < walked.length; i++) present.set(walked.rel[i]!, i);
    } else if (!isDir && (st.isFile() || (st.isSymbolicLink() && (linked = statCacheLink(target.abs, odb.root))))) {
      // A link into the cache is what `cache.type symlink` made: judged by the file it names.
      single = statToFileStat(linked ?? st);
      present.set('', -1);
    } else if (removal) {
      // Not rvc's kind of output (a link of the user's, a device): not ours to delete.
      return plan;
    } else if (only) {
      plan.kept.push('');
      return plan;
    } else {
      // A file where a folder should be, or the reverse: the whole path is replaced.
      plan.removeWholePath = true;
      if (!opts.force && !wholePathIsSafe(target.abs, opts)) plan.unsafe.push(target.repoRel);
    }
  }
  // An empty folder has no file to place: the folder itself is what is missing.
  plan.makeRoot = isDir && !removal && !only && whole && (!st || plan.removeWholePath);
  const statOf = (row: number): FileStat => (row < 0 ? single! : walked!.stat(row));

  for (const e of want) {
    if (!inScope(e.path)) continue;
    const row = present.get(e.path);
    if (row === undefined) {
      if (only) {
        plan.kept.push(e.path);
        continue;
      }
      plan.placeIsNew[plan.place.length] = 1;
      plan.place.push(e);
      continue;
    }
    // What is left in `present` afterwards is what the target does not list.
    present.delete(e.path);
    const cur = statOf(row);
    const abs = e.path ? path.join(target.abs, e.path) : target.abs;
    const curOid = hashWorkspaceFile(abs, e.path, cur, odb, opts.state);
    const sameExec = !!e.exec === ((cur.mode & 0o100) !== 0);
    // Relinking cannot link a file the cache holds as chunks: the right copy stays as it is.
    if (curOid === e.oid && (sameExec || isSharedLinkMode(cur)) && (!opts.relink || (sameExec && odb.chunksOf(e.oid)))) {
      plan.unchanged++;
      continue;
    }
    if (curOid !== e.oid && only) {
      plan.kept.push(e.path);
      continue;
    }
    if (curOid !== e.oid && !opts.force && !odb.hasSync(curOid)) plan.unsafe.push(displayPath(target.repoRel, e.path));
    plan.place.push(e);
  }
  for (const [p, row] of present) {
    if (!inScope(p) || (!isDir && p === '' && !removal)) continue;
    if (only) {
      plan.kept.push(p);
      continue;
    }
    const abs = p ? path.join(target.abs, p) : target.abs;
    const curOid = hashWorkspaceFile(abs, p, statOf(row), odb, opts.state);
    if (!opts.force && !odb.hasSync(curOid)) plan.unsafe.push(displayPath(target.repoRel, p));
    plan.remove.push(p);
  }
  return plan;
}

/**
 * Carries out a plan: refuses it (CHECKOUT_WOULD_LOSE_DATA, nothing touched) if it lists unsafe
 * paths; else removes, then places each file atomically with the first link type that works.
 */
export function applyCheckout(plan: CheckoutPlan, opts: CheckoutOptions): CheckoutResult {
  const { odb } = opts;
  const target = plan.target;
  if (plan.unsafe.length) {
    opts.state.save();
    const shown = plan.unsafe.slice(0, 10).join(', ') + (plan.unsafe.length > 10 ? ` and ${plan.unsafe.length - 10} more` : '');
    throw new RvcError('CHECKOUT_WOULD_LOSE_DATA', `checkout would overwrite or delete changes that are not in the cache: ${shown}`, {
      path: plan.unsafe[0],
      hint: 'save them first with `rvc commit` (or `rvc add`), or discard them with `rvc checkout --force`',
      details: { paths: plan.unsafe },
    });
  }
  if (opts.sweepTemps) sweepStaleTemps(path.dirname(target.abs), path.basename(target.abs));
  for (const abs of plan.temps) {
    try {
      if (isStaleTempName(path.basename(abs))) fs.rmSync(abs, { force: true });
    } catch {
      // a leftover that cannot be removed is still never data
    }
  }

  const res: CheckoutResult = { added: [], modified: [], deleted: [], unchanged: plan.unchanged, ...(plan.onlyMatching ? { kept: plan.kept } : {}) };
  if (plan.removeWholePath) {
    fs.rmSync(target.abs, { recursive: true, force: true });
  }
  for (const p of plan.remove) {
    const abs = p ? path.join(target.abs, p) : target.abs;
    try {
      fs.rmSync(abs, { force: true });
    } catch (e) {
      throw fromFsError(e, displayPath(target.repoRel, p), 'remove');
    }
    if (!plan.removal) pruneEmptyDirs(path.dirname(abs), target.abs);
    res.deleted.push(p);
  }
  // A removed folder output goes with its (now empty) folders; what the walk did not list
  // (ignored files, a nested repository) stays, and so do the folders holding it.
  if (plan.removal && plan.isDir) removeEmptyFolders(target.abs);
  if (plan.makeRoot) {
    try {
      fs.mkdirSync(target.abs, { recursive: true });
    } catch (err) {
      throw fromFsError(err, target.repoRel, 'create folder');
    }
    res.createdFolder = true;
  }
  const tick = new ProgressTicker(opts.onProgress ?? (() => {}), 'checkout', plan.place.length, plan.place.reduce((s, e) => s + e.size, 0));
  const madeDirs = new Set<string>();
  let lastDir: string | undefined;
  let lastWrite = 0;
  const makeDirOf = (abs: string, rel: string): void => {
    const dir = abs.slice(0, abs.lastIndexOf(path.sep)) || path.sep;
    if (dir !== lastDir && !madeDirs.has(dir)) {
      try {
        fs.mkdirSync(dir, { recursive: true });
      } catch (err) {
        throw fromFsError(err, displayPath(target.repoRel, path.dirname(rel)), 'create folder');
      }
      madeDirs.add(dir);
    }
    lastDir = dir;
  };
  // The stat of each placed file, where placing it read one anyway (a small copy); the others
  // are stat'ed after. Kept as four numbers in columns: an fs.Stats object kept per file took
  // checkout of a million files over 1 GiB.
  const placedStats = new PlacedStats(plan.place.length);
  let placed: fs.Stats | undefined;
  const placeOpts = { size: 0, stat: (st: fs.Stats): void => { placed = st; } };
  const execOpts = { ...placeOpts, exec: true, stat: placeOpts.stat };
  // Set once placing is known to copy (the first file placed says so): the small files after it
  // are then copied together, on every core (copyManySmall); 1 per entry it placed.
  let copiedAhead: Uint8Array | undefined;
  for (let i = 0; i < plan.place.length; i++) {
    const e = plan.place[i]!;
    if (copiedAhead?.[i]) {
      (plan.placeIsNew[i] ? res.added : res.modified).push(e.path);
      tick.tick(0, e.size);
      continue;
    }
    const abs = e.path ? joinRel(target.abs, e.path) : target.abs;
    makeDirOf(abs, e.path);
    let used: LinkType;
    const po = e.exec ? execOpts : placeOpts;
    po.size = e.size;
    placed = undefined;
    try {
      if (odb.chunksOf(e.oid)) used = placeChunked(odb, e.oid, abs, !!e.exec);
      else if (!odb.packedRange(e.oid)) used = placeFile(odb.objectPath(e.oid), abs, opts.linkTypes, po);
      // A packed object is copied out of its pack when a copy is what the link types allow first
      // (a reflink needs a file of its own, and reflink,copy copies where reflinks fail anyway);
      // a link needs a file to link to, so the object is written loose first.
      else if (copiesFirst(opts.linkTypes)) used = placeChunked(odb, e.oid, abs, !!e.exec);
      else used = placeFile(odb.ensureLoose(e.oid), abs, opts.linkTypes, po);
    } catch (err) {
      if (err instanceof RvcError && err.code === 'PATH_NOT_FOUND' && !odb.hasSync(e.oid)) throw missingObject(displayPath(target.repoRel, e.path), e.oid);
      throw err;
    }
    if (placed) placedStats.set(i, placed);
    res.linkType = used;
    lastWrite = Date.now();
    (plan.placeIsNew[i] ? res.added : res.modified).push(e.path);
    tick.tick(1, e.size);
    if (!copiedAhead && used === 'copy' && copiesFirst(opts.linkTypes) && plan.place.length - i > COPY_AHEAD_MIN) {
      copiedAhead = copySmallAhead(plan, i + 1, odb, makeDirOf, placedStats, tick, opts.jobs);
      if (copiedAhead.some((x) => x === 1)) lastWrite = Date.now();
    }
  }
  tick.finish();
  // Every entry of plan.place was placed (a failure throws above).
  // A single-file output's plan does not know its size: the placed file says it.
  const placedBytes = (e: { path: string; size: number }): number => (e.path === '' ? fileSize(target.abs) : e.size);
  if (plan.place.length >= SETTLE_MIN_FILES || plan.place.reduce((n, e) => n + placedBytes(e), 0) >= SETTLE_MIN_BYTES) {
    // Record what we just wrote, once its timestamps can be trusted, so the next status does
    // not re-read every restored file. A few small files are not worth the wait: the next
    // command that needs their hash reads them again.
    const recordedAt = settleAfterWrites(lastWrite);
    for (let i = 0; i < plan.place.length; i++) {
      const e = plan.place[i]!;
      try {
        const st = placedStats.get(i) ?? statToFileStat(fs.statSync(e.path ? joinRel(target.abs, e.path) : target.abs));
        opts.state.set(e.path, st, e.oid, recordedAt);
      } catch {
        // a file removed meanwhile is simply not recorded
      }
    }
  }
  opts.state.save();
  return res;
}

/** Fewer files than this left to place are placed one by one. */
const COPY_AHEAD_MIN = 32;

/**
 * Copies the small files of `plan.place` from `from` on, together (copyManySmall: on every core,
 * the loose object or else its local pack read). Returns 1 per entry placed; the others (larger,
 * chunked, missing, or anything unusual) are left to the one-by-one placement.
 */
function copySmallAhead(plan: CheckoutPlan, from: number, odb: Odb, makeDirOf: (abs: string, rel: string) => void, stats: PlacedStats, tick: ProgressTicker, jobs: number | undefined): Uint8Array {
  const done = new Uint8Array(plan.place.length);
  const which: number[] = [];
  for (let i = from; i < plan.place.length; i++) {
    const e = plan.place[i]!;
    if (e.path === '' || e.size > MANY_MAX_SIZE) continue;
    makeDirOf(joinRel(plan.target.abs, e.path), e.path);
    which.push(i);
  }
  let reported = 0;
  const { done: placedNow } = copyManySmall(
    which.length,
    (k) => {
      const e = plan.place[which[k]!]!;
      const at = odb.packedAt(e.oid);
      return {
        src: odb.objectPath(e.oid),
        dest: joinRel(plan.target.abs, e.path),
        size: e.size,
        mode: e.exec ? 0o755 : 0o644,
        ...(at ? { pack: { file: at.file, offset: at.offset, length: at.length } } : {}),
      };
    },
    (k, st) => stats.set(which[k]!, st),
    {
      ...(jobs !== undefined ? { workers: jobs - 1 } : {}),
      onProgress: (n) => {
        tick.tick(n - reported, 0);
        reported = n;
      },
    },
  );
  for (let k = 0; k < which.length; k++) if (placedNow[k]) done[which[k]!] = 1;
  return done;
}

/**
 * The FileStat of each of `n` placed files, by index, in four number columns (unboxed): the
 * objects of a million files would be held until the hash cache records them.
 */
export class PlacedStats {
  private readonly ino: Float64Array;
  private readonly mtimeMs: Float64Array;
  private readonly size: Float64Array;
  private readonly mode: Float64Array;
  constructor(n: number) {
    this.ino = new Float64Array(n);
    this.mtimeMs = new Float64Array(n).fill(NaN); // NaN: no stat kept for that file
    this.size = new Float64Array(n);
    this.mode = new Float64Array(n);
  }
  set(i: number, st: FileStat): void {
    this.ino[i] = st.ino;
    this.mtimeMs[i] = st.mtimeMs;
    this.size[i] = st.size;
    this.mode[i] = st.mode;
  }
  get(i: number): FileStat | undefined {
    const mtimeMs = this.mtimeMs[i]!;
    if (Number.isNaN(mtimeMs)) return undefined;
    return { ino: this.ino[i]!, mtimeMs, size: this.size[i]!, mode: this.mode[i]! };
  }
}

/** Removes the empty folders below `dir` and `dir` itself if it ends up empty. */
function removeEmptyFolders(dir: string): boolean {
  let ents: fs.Dirent[];
  try {
    ents = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  let empty = true;
  for (const d of ents) {
    if (d.isDirectory() && removeEmptyFolders(path.join(dir, d.name))) continue;
    empty = false;
  }
  if (!empty) return false;
  try {
    fs.rmdirSync(dir);
    return true;
  } catch {
    return false;
  }
}

/**
 * Refuses an output whose parent folders include a symbolic link (as git checks out a committed
 * link): writing the output would write wherever the link points, possibly outside the
 * workspace. Folders that do not exist yet are created by checkout itself, as real folders.
 */
function assertNoSymlinkAbove(target: OutputPlace, repoRoot: string): void {
  const rel = path.relative(repoRoot, path.dirname(target.abs));
  if (rel === '') return;
  if (rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new RvcError('PATH_OUTSIDE_REPO', `'${target.repoRel}' is outside the repository`, { path: target.repoRel });
  }
  let cur = repoRoot;
  const segs = rel.split(path.sep);
  for (let i = 0; i < segs.length; i++) {
    cur = path.join(cur, segs[i]!);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(cur);
    } catch {
      return;
    }
    if (st.isSymbolicLink()) {
      const link = segs.slice(0, i + 1).join('/');
      throw new RvcError('PATH_IS_SYMLINK', `'${link}' is a symbolic link; rvc will not write '${target.repoRel}' through it`, {
        path: target.repoRel, hint: `replace the link '${link}' with a real folder, or remove it, and run the command again`,
      });
    }
    if (!st.isDirectory()) return;
  }
}

/**
 * `abs` joined with a manifest path (POSIX, checked by the manifest parser: no `.`, `..` or empty
 * part), without path.join's normalising, which cost more than the copy of a small file.
 */
function joinRel(abs: string, rel: string): string {
  return path.sep === '/' ? `${abs}/${rel}` : path.join(abs, rel);
}

function isSharedLinkMode(st: FileStat): boolean {
  // A hard link to a read-only cache object carries the object's mode, not the recorded one.
  return (st.mode & 0o222) === 0;
}

function displayPath(repoRel: string, p: string): string {
  return p ? `${repoRel}/${p}` : repoRel;
}

function missingObject(what: string, oid: string): RvcError {
  return new RvcError('OBJECT_MISSING', `the content of '${what}' (${oid.slice(0, 12)}…) is not in the cache`, {
    path: what, hint: 'fetch it with `rvc pull` (or `rvc fetch`) from the remote it was pushed to',
  });
}

/** A path about to be replaced whole is safe if every file in it is in the cache. */
function wholePathIsSafe(abs: string, opts: CheckoutOptions): boolean {
  const st = fs.lstatSync(abs);
  if (st.isSymbolicLink()) return true;
  if (st.isFile()) {
    return opts.odb.hasSync(hashWorkspaceFile(abs, '', statToFileStat(st), opts.odb, opts.state));
  }
  const files = walkFiles(abs, { repoRoot: opts.repoRoot, ignore: opts.ignore, cacheRoot: opts.odb.root });
  for (let i = 0; i < files.length; i++) {
    if (!opts.odb.hasSync(hashWorkspaceFile(files.abs(i), files.rel[i]!, files.stat(i), opts.odb, opts.state))) return false;
  }
  return true;
}

export { isSharedLink };

/** Whether placing a packed object may copy it: copy comes first, or reflink with copy after it. */
function copiesFirst(types: readonly LinkType[]): boolean {
  return types[0] === 'copy' || (types[0] === 'reflink' && types.includes('copy'));
}

/**
 * A file the cache holds as chunks (or in a local pack) cannot be linked (no cache file has its content): it is
 * reassembled into a temp file beside `abs` and renamed over it, like a copy.
 */
function placeChunked(odb: Odb, oid: string, abs: string, exec: boolean): LinkType {
  const tmp = tempPathFor(abs);
  try {
    odb.copyObjectTo(oid, tmp, exec ? 0o755 : 0o644);
    fs.renameSync(tmp, abs);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e instanceof RvcError ? e : fromFsError(e, abs, 'write');
  }
  return 'copy';
}
