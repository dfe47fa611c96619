import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { Ignore } from 'ignore';
import { isUtf8 } from 'node:buffer';
import { RvcError, fromFsError } from '../errors.js';
import { foldedPath, reservedNameOf } from '../model/paths.js';
import { compareStrings } from '../model/values.js';
import { isTempName } from './atomic.js';
import { isCacheObjectPath } from './link.js';

export const IGNORE_FILE = '.rvcignore';

/**
 * The gitignore matcher, loaded the first time a `.rvcignore` has rules: most repositories have
 * none (the file `rvc init` writes is comments only), and every command would pay for loading it.
 */
let ignoreFactory: typeof import('ignore') | undefined;
function newMatcher(): Ignore {
  ignoreFactory ??= createRequire(import.meta.url)('ignore') as typeof import('ignore');
  return ignoreFactory();
}
/** Names never treated as data: version-control and rvc's own folders. */
const ALWAYS_SKIPPED = new Set(['.git', '.rvc', IGNORE_FILE]);

export interface FileStat {
  ino: number;
  mtimeMs: number;
  size: number;
  mode: number;
}

/**
 * The files below a folder, sorted by POSIX path, one row per file in columns: a walk of a
 * million files is held for a whole `add` or `status`, and an object per file (with its
 * absolute path and boxed numbers) cost several times what these arrays do.
 */
export class WalkList {
  /** POSIX paths relative to the walked folder. */
  readonly rel: string[] = [];
  readonly ino: number[] = [];
  readonly mtimeMs: number[] = [];
  readonly size: number[] = [];
  readonly mode: number[] = [];

  /** `root` is the walked folder, absolute and normalised. */
  constructor(readonly root: string) {}

  get length(): number {
    return this.rel.length;
  }

  /** The stat fields of row `i`. */
  stat(i: number): FileStat {
    return { ino: this.ino[i]!, mtimeMs: this.mtimeMs[i]!, size: this.size[i]!, mode: this.mode[i]! };
  }

  /** The absolute path of row `i`, derived when needed rather than stored per file. */
  abs(i: number): string {
    return walkAbs(this.root, this.rel[i]!);
  }

  push(rel: string, st: FileStat): void {
    this.rel.push(rel);
    this.ino.push(st.ino);
    this.mtimeMs.push(st.mtimeMs);
    this.size.push(st.size);
    this.mode.push(st.mode);
  }
}

/** The absolute path of `rel` (POSIX, relative to the absolute folder `root`). */
export function walkAbs(root: string, rel: string): string {
  return root + path.sep + (path.sep === '/' ? rel : rel.split('/').join(path.sep));
}

interface Matcher {
  /** Repository-relative folder the rules apply to ('' for the root). */
  base: string;
  ig: Ignore;
}

/**
 * The `.rvcignore` rules of a repository: the root file and nested ones, each applying below
 * its own folder, in gitignore syntax. Ignored paths are invisible to every command.
 */
export class IgnoreRules {
  private matchers: Matcher[] = [];
  private loadedDirs = new Set<string>();

  constructor(private readonly root: string) {}

  /** Loads `<dir>/.rvcignore` once (dir repository-relative, '' for the root). */
  load(dir: string): void {
    if (this.loadedDirs.has(dir)) return;
    this.loadedDirs.add(dir);
    const file = path.join(this.root, dir, IGNORE_FILE);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return;
      throw fromFsError(e, file, 'read');
    }
    // The template rvc init writes is comments only; matching 50,000 paths against no rules
    // is measurable, so such a file counts as absent.
    if (!text.split('\n').some((l) => l.trim() !== '' && !l.startsWith('#'))) return;
    this.matchers.push({ base: dir, ig: newMatcher().add(text) });
  }

  /** Loads every ignore file on the way from the root down to `dir`. */
  loadAncestors(dir: string): void {
    this.load('');
    if (dir === '' || dir === '.') return;
    const parts = dir.split('/');
    for (let i = 1; i <= parts.length; i++) this.load(parts.slice(0, i).join('/'));
  }

  get empty(): boolean {
    return this.matchers.length === 0;
  }

  /** `rel` is repository-relative; `isDir` makes folder-only patterns (`foo/`) apply. */
  ignores(rel: string, isDir: boolean): boolean {
    return this.ignoredBy(rel, isDir) !== undefined;
  }

  /** The `.rvcignore` file (repository-relative) whose rules ignore `rel`, or undefined. */
  ignoredBy(rel: string, isDir: boolean): string | undefined {
    for (const m of this.matchers) {
      let sub: string;
      if (m.base === '') sub = rel;
      else if (rel.startsWith(m.base + '/')) sub = rel.slice(m.base.length + 1);
      else continue;
      if (m.ig.ignores(isDir ? sub + '/' : sub)) return m.base === '' ? IGNORE_FILE : `${m.base}/${IGNORE_FILE}`;
    }
    return undefined;
  }
}

export interface WalkOptions {
  /** Repository root, to resolve ignore rules and to keep symlinks inside it. */
  repoRoot: string;
  ignore: IgnoreRules;
  /** Called with each rvc temp file met on the way (they are never listed as data). */
  onTemp?: (abs: string) => void;
  /**
   * Refuse (PATH_UNSAFE, naming the file) a name that a manifest could not carry back to the
   * same file on checkout: see `assertStorableName` and `assertNoFoldedTwins`. Set by add,
   * commit and status, which build manifests; checkout's own walk of the workspace only looks.
   */
  storable?: boolean;
  /**
   * The cache folder: a symlink to a file inside it (what `cache.type symlink` makes) is
   * followed even when the cache lies outside the repository.
   */
  cacheRoot?: string;
}

/**
 * Lists every regular file below `dir` with the stat fields the hash cache needs, sorted by
 * POSIX path (code-unit order). Synchronous on purpose: for many small files the per-call cost of async fs
 * dominates, and a single stat loop is what git does too.
 *
 * Symlinks: a link to a file inside the repository is followed (its content is tracked); a link
 * that leaves the repository, a dangling link, or a link to a folder is refused, because
 * following it could read (and later write) data outside the workspace.
 */
export function walkFiles(dir: string, opts: WalkOptions): WalkList {
  const out = new WalkList(path.resolve(dir));
  const dirRel = path.relative(opts.repoRoot, dir).split(path.sep).join('/');
  opts.ignore.loadAncestors(dirRel);
  const rec = (absDir: string, relDir: string, repoRelDir: string): void => {
    if (repoRelDir) opts.ignore.load(repoRelDir);
    let ents: fs.Dirent[];
    try {
      ents = fs.readdirSync(absDir, { withFileTypes: true });
    } catch (e) {
      throw fromFsError(e, absDir, 'list');
    }
    // Sorting each folder's names, a folder's as `name/`, lists the whole tree in path order
    // without a global sort: everything below folder `a` starts with `a/`, so it sorts where
    // `a/` does among its siblings (after `a-b` and `a.txt`, whose next code unit is lower).
    const key = (d: fs.Dirent): string => (d.isDirectory() ? d.name + '/' : d.name);
    if (ents.length > 1) {
      const keys = ents.map(key);
      const order = keys.map((_, i) => i).sort((a, b) => compareStrings(keys[a]!, keys[b]!));
      ents = order.map((i) => ents[i]!);
    }
    if (opts.storable && ents.length > 1) assertNoFoldedTwins(ents, repoRelDir, opts.ignore);
    for (const d of ents) {
      const name = d.name;
      if (ALWAYS_SKIPPED.has(name)) continue;
      // rvc's own temp files (a killed checkout can leave one beside its target) are not data.
      if (name.charCodeAt(0) === 46 /* . */ && name.endsWith('.tmp') && isTempName(name)) {
        opts.onTemp?.(absDir + path.sep + name);
        continue;
      }
      // join() makes one flat string; `${relDir}/${name}` would keep a rope of three strings
      // (about 24 bytes more per file, for as long as the walk is held).
      const rel = relDir ? [relDir, name].join('/') : name;
      const repoRel = repoRelDir ? `${repoRelDir}/${name}` : name;
      // absDir is already absolute and normalised: concatenation avoids path.join's re-parsing,
      // which cost as much as the stat itself over 50,000 files.
      const abs = absDir + path.sep + name;
      const isDir = d.isDirectory();
      if (!opts.ignore.empty && opts.ignore.ignores(repoRel, isDir)) continue;
      if (opts.storable) assertStorableName(name, absDir, repoRelDir);
      if (isDir) {
        rec(abs, rel, repoRel);
        continue;
      }
      let st: fs.Stats | undefined;
      try {
        st = d.isSymbolicLink() ? statSymlinkInside(abs, opts.repoRoot, repoRel, opts.cacheRoot) : fs.lstatSync(abs, { throwIfNoEntry: false });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw fromFsError(e, abs, 'stat');
      }
      if (!st) continue; // removed while we walked
      if (!st.isFile()) continue; // sockets, fifos, devices are not data
      out.push(rel, st);
    }
  };
  rec(out.root, '', dirRel === '' ? '' : dirRel);
  return out;
}

/**
 * Refuses a name found in a folder that could not be stored in a manifest and restored as the
 * same file (PATH_UNSAFE, naming it; `.rvcignore` can exclude it):
 * - a backslash: a folder separator on Windows, refused in manifests;
 * - a spelling of `.git` or `.rvc` other than the exact one (`.GIT`, `.git.`, `git~1`, …), which
 *   checkout must refuse since on some filesystem it opens git's or rvc's own folder (the exact
 *   names are never data: a nested repository's `.git` is skipped);
 * - bytes that are not UTF-8: manifests are UTF-8 text, and the name would come back different.
 * Siblings equal after folding are refused by assertNoFoldedTwins.
 */
function assertStorableName(name: string, absDir: string, repoRelDir: string): void {
  if (name.includes('\\')) throw unstorable(repoRelDir, name, 'its name holds a backslash, a folder separator on Windows');
  if (name.includes('\ufffd')) {
    const raw = nonUtf8Name(absDir, name);
    if (raw) throw unstorable(repoRelDir, raw, 'its name is not valid UTF-8');
  }
  const reserved = reservedNameOf(name);
  if (reserved) throw unstorable(repoRelDir, name, `its name is a spelling of '${reserved}', which some filesystems open as ${reserved === '.git' ? "git's" : "rvc's"} own folder`);
}

function unstorable(repoRelDir: string, name: string, why: string): RvcError {
  const shown = repoRelDir ? `${repoRelDir}/${name}` : name;
  return new RvcError('PATH_UNSAFE', `'${shown}' cannot be stored: ${why}`, { path: shown, hint: `rename it, or list it in ${IGNORE_FILE} to leave it out` });
}

/** A name whose case-folded, NFC form may differ from itself: upper-case ASCII or not ASCII. */
const MAY_FOLD = /[A-Z\u0080-\uffff]/;

/**
 * Refuses two names of one folder that are equal after case-folding and Unicode (NFC)
 * normalisation: a manifest holding both is refused at checkout, since one would overwrite the
 * other on macOS and Windows. Two paths collide exactly when two siblings do, so checking each
 * folder's names suffices; and a folder whose names are all lower-case ASCII (most) has no such
 * pair, so it costs one regular-expression test per name.
 */
function assertNoFoldedTwins(ents: fs.Dirent[], repoRelDir: string, ignore: IgnoreRules): void {
  if (!ents.some((d) => MAY_FOLD.test(d.name))) return;
  const seen = new Map<string, string>();
  for (const d of ents) {
    const name = d.name;
    if (ALWAYS_SKIPPED.has(name) || isTempName(name)) continue;
    if (!ignore.empty && ignore.ignores(repoRelDir ? `${repoRelDir}/${name}` : name, d.isDirectory())) continue;
    const f = foldedPath(name);
    const other = seen.get(f);
    if (other !== undefined) {
      throw unstorable(repoRelDir, name, `its name differs from '${repoRelDir ? `${repoRelDir}/${other}` : other}' only by case or Unicode normalisation; one would overwrite the other on macOS and Windows`);
    }
    seen.set(f, name);
  }
}

/**
 * `name` came from a string listing and holds U+FFFD: if that stands for bytes that are not
 * UTF-8, the name with those bytes written as `\xNN`; undefined if it is a real U+FFFD.
 */
function nonUtf8Name(absDir: string, name: string): string | undefined {
  let raw: Buffer[];
  try {
    raw = fs.readdirSync(absDir, { encoding: 'buffer' });
  } catch {
    return undefined;
  }
  const bad = raw.filter((b) => !isUtf8(b));
  // The decoder of a string listing and Buffer's may replace bad bytes differently: prefer the
  // exact match, else any name of this folder that is not UTF-8.
  const b = bad.find((x) => x.toString('utf8') === name) ?? bad[0];
  if (!b) return undefined;
  let out = '';
  for (const byte of b) out += byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
  return out;
}

function statSymlinkInside(abs: string, repoRoot: string, repoRel: string, cacheRoot?: string): fs.Stats {
  let real: string;
  try {
    real = fs.realpathSync(abs);
  } catch {
    throw new RvcError('PATH_IS_SYMLINK', `'${repoRel}' is a dangling symbolic link`, { path: repoRel, hint: 'remove the link or add it to .rvcignore' });
  }
  if (cacheRoot !== undefined && isCacheObjectPath(real, cacheRoot)) {
    const st = fs.statSync(real);
    if (st.isFile()) return st;
  }
  const rootReal = fs.realpathSync(repoRoot);
  if (real !== rootReal && !real.startsWith(rootReal + path.sep)) {
    throw new RvcError('PATH_IS_SYMLINK', `'${repoRel}' is a symbolic link to '${real}', outside the repository`, {
      path: repoRel, hint: 'copy the data into the repository, or add the link to .rvcignore',
    });
  }
  const st = fs.statSync(abs);
  if (st.isDirectory()) {
    throw new RvcError('PATH_IS_SYMLINK', `'${repoRel}' is a symbolic link to a folder`, { path: repoRel, hint: 'track the folder it points to instead, or add the link to .rvcignore' });
  }
  return st;
}

export function statToFileStat(st: fs.Stats): FileStat {
  return { ino: st.ino, mtimeMs: st.mtimeMs, size: st.size, mode: st.mode };
}
