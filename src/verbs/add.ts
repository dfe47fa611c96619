import fs from 'node:fs';
import path from 'node:path';
import { RvcError, fromFsError } from '../errors.js';
import { POINTER_EXT, type Pointer } from '../model/pointer.js';
import { pruneEmptyDirs, readTextIfExists, tempPathFor, writeFileAtomic } from '../fsutil/atomic.js';
import { compareStrings } from '../model/values.js';
import { statCacheLink } from '../fsutil/link.js';
import { buildOut } from '../odb/build.js';
import { addGitignoreEntry, gitTrackedUnder } from '../scm/git.js';
import { RVC_DIR, Repo, assertTrackableRel, type CommonOptions, type TrackedOut } from '../repo/repo.js';
import { outFromBuilt, relinkFromCache, type AddedOut } from '../repo/record.js';
import { refuseNewPointers } from '../repo/overlaps.js';
import { notePlaced } from '../repo/placed.js';

export interface AddOptions extends CommonOptions {
  /** Write the pointer only; do not store the data in the cache (`rvc commit` does later). */
  noCommit?: boolean;
  desc?: string;
  /**
   * The paths are glob patterns, expanded in the workspace (never outside the repository, nor
   * into .git or .rvc; what .rvcignore ignores and pointer files left out); each match is added
   * as its own target.
   */
  glob?: boolean;
  /**
   * Copy the one path given (a file or folder, typically outside the repository) to this
   * destination in the workspace and track it there; into it, when it is an existing folder.
   */
  out?: string;
}

export interface AddResult {
  added: AddedOut[];
  /**
   * The files whose change git should record (`git add`); empty when the repository is used
   * without git (`core.no_scm`).
   */
  toGit: string[];
}

interface Candidate {
  userPath: string;
  abs: string;
  rel: string;
  pointerFile: string;
  isDir: boolean;
}

/**
 * Tracks files and folders: hash, store each content once in the cache, write `<path>.rvc`
 * beside the data and git-ignore the data. Every target is checked before anything is written.
 */
export async function add(paths: string[], opts: AddOptions = {}): Promise<AddResult> {
  if (paths.length === 0) throw new RvcError('USAGE', 'nothing to add', { hint: 'name the files or folders to track: `rvc add data/`' });
  if (opts.out !== undefined && (paths.length !== 1 || opts.glob)) {
    throw new RvcError('USAGE', '--out takes exactly one source path (and no --glob)', { hint: 'add each source with its own `rvc add <source> -o <destination>`' });
  }
  const repo = Repo.open(opts.cwd);
  const cwd = opts.cwd ?? process.cwd();
  return repo.withLock(`rvc add ${paths.join(' ')}`, opts, async () => {
    if (opts.out !== undefined) {
      const { added } = await addFromOutside(repo, paths[0]!, opts.out, cwd, opts);
      return { added, toGit: toGitOf(repo, added) };
    }
    const targets = opts.glob ? await expandGlobs(repo, paths, cwd) : paths;
    const cands = targets.map((p) => checkCandidate(repo, p, cwd));
    await refuseNewPointers(repo, cands.map((c) => ({ rel: c.rel, shown: c.userPath, kind: 'pointer', file: c.pointerFile, isDir: c.isDir })));
    const added: AddedOut[] = [];
    for (const c of cands) added.push(addOne(repo, c, opts));
    notePlaced(repo, added.map((a) => ({ path: a.path, hash: repo.odb.algo, oid: a.oid })));
    return { added, toGit: toGitOf(repo, added) };
  });
}

/**
 * Each pattern replaced by the workspace paths it matches (tinyglobby; `*` does not match a
 * leading dot, as in a shell), as paths from `cwd`; a path without glob characters stays as it
 * is. A pattern is placed like any user path (inside the repository, not through .git or
 * .rvc); symlinked folders are not followed; pointer files and paths .rvcignore ignores are
 * left out. A pattern matching nothing is PATH_NOT_FOUND.
 */
async function expandGlobs(repo: Repo, patterns: readonly string[], cwd: string): Promise<string[]> {
  const { glob, isDynamicPattern } = await import('tinyglobby');
  const res: string[] = [];
  const seen = new Set<string>();
  for (const p of patterns) {
    if (!isDynamicPattern(p)) {
      res.push(p);
      continue;
    }
    const { rel } = repo.resolve(p, cwd);
    const found = await glob(rel, {
      cwd: repo.root, onlyFiles: false, expandDirectories: false, followSymbolicLinks: false,
      ignore: [`**/${RVC_DIR}`, `**/${RVC_DIR}/**`, '**/.git', '**/.git/**', `**/*${POINTER_EXT}`],
    });
    const matches = found.map((m) => (m.endsWith('/') ? { rel: m.slice(0, -1), isDir: true } : { rel: m, isDir: false }))
      .filter((m) => !ignoredHere(repo, m.rel, m.isDir))
      .map((m) => m.rel)
      .sort(compareStrings);
    if (!matches.length) {
      throw new RvcError('PATH_NOT_FOUND', `nothing in the workspace matches the pattern '${p}'`, {
        path: p, hint: 'check the pattern (quote it so that the shell does not expand it)',
      });
    }
    for (const m of matches) {
      if (seen.has(m)) continue;
      seen.add(m);
      res.push(path.relative(cwd, path.join(repo.root, m)) || '.');
    }
  }
  return res;
}

/** Whether .rvcignore ignores `rel` or a folder above it. */
function ignoredHere(repo: Repo, rel: string, isDir: boolean): boolean {
  const ig = repo.ignore;
  ig.loadAncestors(path.posix.dirname(rel) === '.' ? '' : path.posix.dirname(rel));
  if (ig.empty) return false;
  const parts = rel.split('/');
  for (let i = 1; i < parts.length; i++) if (ig.ignores(parts.slice(0, i).join('/'), true)) return true;
  return ig.ignores(rel, isDir);
}

/**
 * `add <source> -o <dest>`: copies a file or folder from anywhere readable (typically outside
 * the repository) to `dest` in the workspace — into it when it is an existing folder — and
 * tracks it there as `add` does. The destination is checked first like every path add takes
 * (inside the repository, not .git/.rvc, not tracked or overlapping, not ignored) and must not
 * exist; the copy is made beside it under a temp name and renamed into place, and removed again
 * if tracking it fails, so a failed add leaves nothing behind.
 */
/** What git should record after adding: a pointer rewritten with the same content needs no git add, its .gitignore line was there. */
function toGitOf(repo: Repo, added: readonly AddedOut[]): string[] {
  const changed = added.filter((a) => a.changed);
  return repo.scm ? [...new Set([...changed.map((a) => a.pointerFile), ...changed.map((a) => path.posix.join(path.posix.dirname(a.path), '.gitignore'))])] : [];
}

async function addFromOutside(repo: Repo, source: string, out: string, cwd: string, opts: AddOptions): Promise<{ added: AddedOut[] }> {
  const srcAbs = path.resolve(cwd, source);
  let src: fs.Stats;
  try {
    src = fs.statSync(srcAbs);
  } catch (e) {
    throw fromFsError(e, source, 'read');
  }
  if (!src.isFile() && !src.isDirectory()) throw new RvcError('USAGE', `'${source}' is not a regular file or folder`, { path: source });
  let dest = repo.resolve(out, cwd);
  let shown = out;
  // An existing folder, or a path written as a folder (`imported/`), receives the source by its name.
  if (statIfAny(dest.abs, out, fs.statSync)?.isDirectory() || /[\\/]$/.test(out)) {
    shown = path.join(out, path.basename(srcAbs));
    dest = repo.resolve(shown, cwd);
  }
  if (dest.rel === '') throw new RvcError('PATH_OVERLAPS', 'cannot track the whole repository', { path: out, hint: 'name a destination inside it, e.g. `-o data/`' });
  if (statIfAny(dest.abs, shown, fs.lstatSync)) {
    throw new RvcError('PATH_OVERLAPS', `'${shown}' already exists`, { path: shown, hint: 'choose another destination with -o, or remove it first' });
  }
  assertTrackableRel(shown, dest.rel);
  // The nearest existing folder above the destination must be a folder, reached without a symlink.
  let parent = path.dirname(dest.abs);
  while (!fs.existsSync(parent)) parent = path.dirname(parent);
  if (!fs.statSync(parent).isDirectory()) {
    const p = path.relative(cwd, parent);
    throw new RvcError('PATH_OVERLAPS', `'${p}' is a file, so '${shown}' cannot be created`, { path: p, hint: 'choose another destination with -o' });
  }
  const rootReal = fs.realpathSync(repo.root);
  const parentReal = fs.realpathSync(parent);
  if (parentReal !== path.join(rootReal, path.relative(repo.root, parent))) {
    throw new RvcError('PATH_IS_SYMLINK', `a folder above '${shown}' is a symbolic link`, { path: shown, hint: 'choose a destination through real folders' });
  }
  const destReal = path.join(parentReal, path.relative(parent, dest.abs));
  const srcReal = fs.realpathSync(srcAbs);
  if (destReal === srcReal || destReal.startsWith(srcReal + path.sep)) {
    throw new RvcError('USAGE', `cannot copy '${source}' into itself ('${shown}')`, { path: shown, hint: 'choose a destination outside the source' });
  }
  const pointerFile = `${dest.rel}${POINTER_EXT}`;
  await refuseNewPointers(repo, [{ rel: dest.rel, shown, kind: 'pointer', file: pointerFile, isDir: src.isDirectory() }]);
  // Folders made here are removed again if the add fails; folders that existed are kept.
  const made = fs.mkdirSync(path.dirname(dest.abs), { recursive: true });
  const unmake = (): void => {
    if (made !== undefined) pruneEmptyDirs(path.dirname(dest.abs), path.dirname(made));
  };
  const tmp = tempPathFor(dest.abs);
  try {
    if (src.isDirectory()) {
      fs.cpSync(srcAbs, tmp, {
        recursive: true, errorOnExist: true, force: false, verbatimSymlinks: true, mode: fs.constants.COPYFILE_FICLONE,
        // git's and rvc's own folders are never data (add skips them too).
        filter: (from) => from === srcAbs || !NEVER_COPIED.has(path.basename(from)),
      });
    } else {
      fs.copyFileSync(srcAbs, tmp, fs.constants.COPYFILE_FICLONE | fs.constants.COPYFILE_EXCL);
    }
    fs.renameSync(tmp, dest.abs);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    unmake();
    throw fromFsError(e, source, 'copy');
  }
  const pointerAbs = path.join(repo.root, pointerFile);
  const hadPointer = fs.existsSync(pointerAbs);
  try {
    const c = checkCandidate(repo, shown, cwd);
    const added = [addOne(repo, c, opts)];
    notePlaced(repo, added.map((a) => ({ path: a.path, hash: repo.odb.algo, oid: a.oid })));
    return { added };
  } catch (e) {
    // The copy is ours alone (the destination did not exist): leave nothing behind.
    fs.rmSync(dest.abs, { recursive: true, force: true });
    if (!hadPointer) fs.rmSync(pointerAbs, { force: true });
    unmake();
    throw e;
  }
}

const NEVER_COPIED = new Set(['.git', RVC_DIR]);

/** The stat of `abs`, undefined when nothing is there (a path through a file included). */
function statIfAny(abs: string, shown: string, stat: (p: string) => fs.Stats): fs.Stats | undefined {
  try {
    return stat(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw fromFsError(e, shown, 'stat');
  }
}

function checkCandidate(repo: Repo, userPath: string, cwd: string): Candidate {
  const { abs, rel } = repo.resolve(userPath, cwd);
  if (rel === '') throw new RvcError('PATH_OVERLAPS', 'cannot track the whole repository', { path: userPath, hint: 'track a data folder inside it, e.g. `rvc add data`' });
  if (rel.endsWith(POINTER_EXT)) throw new RvcError('USAGE', `'${userPath}' is a pointer file`, { path: userPath, hint: 'name the data it tracks instead' });
  let st: fs.Stats;
  try {
    st = fs.lstatSync(abs);
  } catch (e) {
    throw fromFsError(e, userPath, 'add');
  }
  // A link into the cache is what `cache.type symlink` made of a tracked file: re-adding it is fine.
  if (st.isSymbolicLink() && !statCacheLink(abs, repo.cacheDir)) {
    throw new RvcError('PATH_IS_SYMLINK', `'${userPath}' is a symbolic link`, { path: userPath, hint: 'track the file or folder it points to (inside the repository) instead' });
  }
  if (!st.isFile() && !st.isDirectory() && !st.isSymbolicLink()) throw new RvcError('USAGE', `'${userPath}' is not a regular file or folder`, { path: userPath });
  assertTrackableRel(userPath, rel);
  // A parent folder that is a symlink would make the pointer and the data live elsewhere.
  const realParent = fs.realpathSync(path.dirname(abs));
  if (realParent !== path.join(fs.realpathSync(repo.root), path.relative(repo.root, path.dirname(abs)))) {
    throw new RvcError('PATH_IS_SYMLINK', `a folder above '${userPath}' is a symbolic link`, { path: userPath, hint: 'add the data through its real path' });
  }
  if (repo.scm) {
    const tracked = gitTrackedUnder(repo.root, [rel]);
    if (tracked.length) {
      throw new RvcError('PATH_TRACKED_BY_GIT', `'${userPath}' is tracked by git (${tracked.length} file${tracked.length > 1 ? 's' : ''}, e.g. '${tracked[0]}')`, {
        path: userPath, hint: `stop tracking it in git first: \`git rm -r --cached '${rel}'\` and commit`,
      });
    }
  }
  return { userPath, abs, rel, pointerFile: `${rel}${POINTER_EXT}`, isDir: st.isDirectory() };
}

function addOne(repo: Repo, c: Candidate, opts: AddOptions): AddedOut {
  const state = repo.stateFor(c.rel);
  const built = buildOut(c.abs, c.rel, {
    odb: repo.odb, state, ignore: repo.ignore, repoRoot: repo.root, store: !opts.noCommit, jobs: repo.cacheJobs,
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}), ...(opts.onWarning ? { onWarning: opts.onWarning } : {}),
  });
  const out = outFromBuilt(path.posix.basename(c.rel), repo.odb.algo, built);
  const pointerAbs = path.join(repo.root, c.pointerFile);
  const previousText = readTextIfExists(pointerAbs);
  let previous: Pointer | undefined;
  if (previousText !== undefined) {
    try {
      previous = repo.readPointer(c.pointerFile);
    } catch {
      previous = undefined; // a damaged pointer is replaced
    }
  }
  const pointer: Pointer = { outs: [out] };
  const desc = opts.desc ?? previous?.desc;
  if (desc !== undefined) pointer.desc = desc;
  const changed = !previous || previous.outs[0]?.oid !== out.oid || previous.outs[0]?.exec !== out.exec;
  repo.writePointer(c.pointerFile, pointer);
  try {
    if (repo.scm) addGitignoreEntry(path.dirname(c.abs), path.basename(c.abs));
  } catch (e) {
    // Leave no pointer behind for data git would now commit by accident.
    if (previousText === undefined) fs.rmSync(pointerAbs, { force: true });
    else writeFileAtomic(pointerAbs, previousText);
    throw e;
  }
  if (!opts.noCommit) relinkFromCache(repo, c, out, state, opts);
  return { path: c.rel, pointerFile: c.pointerFile, oid: out.oid, size: out.size, ...(out.nfiles !== undefined ? { nfiles: out.nfiles } : {}), changed };
}

export type { AddedOut, TrackedOut };
