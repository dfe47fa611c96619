import fs from 'node:fs';
import path from 'node:path';
import { RvcError, fromFsError } from '../errors.js';
import { POINTER_EXT, type Pointer } from '../model/pointer.js';
import { readTextIfExists, writeFileAtomic } from '../fsutil/atomic.js';
import { statCacheLink } from '../fsutil/link.js';
import { buildOut } from '../odb/build.js';
import { addGitignoreEntry, gitTrackedUnder } from '../scm/git.js';
import { Repo, assertTrackableRel, type CommonOptions, type TrackedOut } from '../repo/repo.js';
import { outFromBuilt, relinkFromCache, type AddedOut } from '../repo/record.js';
import { refuseNewPointers } from '../repo/overlaps.js';
import { notePlaced } from '../repo/placed.js';

export interface AddOptions extends CommonOptions {
  /** Write the pointer only; do not store the data in the cache (`rvc commit` does later). */
  noCommit?: boolean;
  desc?: string;
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
  const repo = Repo.open(opts.cwd);
  return repo.withLock(`rvc add ${paths.join(' ')}`, opts, async () => {
    const cands = paths.map((p) => checkCandidate(repo, p, opts.cwd ?? process.cwd()));
    await refuseNewPointers(repo, cands.map((c) => ({ rel: c.rel, shown: c.userPath, kind: 'pointer', file: c.pointerFile, isDir: c.isDir })));
    const added: AddedOut[] = [];
    for (const c of cands) added.push(addOne(repo, c, opts));
    notePlaced(repo, added.map((a) => ({ path: a.path, hash: repo.odb.algo, oid: a.oid })));
    // A pointer rewritten with the same content needs no git add; its .gitignore line was there.
    const changed = added.filter((a) => a.changed);
    const toGit = repo.scm ? [...new Set([...changed.map((a) => a.pointerFile), ...changed.map((a) => path.posix.join(path.posix.dirname(a.path), '.gitignore'))])] : [];
    return { added, toGit };
  });
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
    odb: repo.odb, state, ignore: repo.ignore, repoRoot: repo.root, store: !opts.noCommit,
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
