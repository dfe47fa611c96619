import fs from 'node:fs';
import path from 'node:path';
import { RvcError } from '../errors.js';
import { POINTER_EXT } from '../model/pointer.js';
import { removeGitignoreEntry, gitTrackedUnder } from '../scm/git.js';
import { Repo, type CommonOptions } from '../repo/repo.js';
import { gitignoreStillNeeded, recordedForGitignore } from '../repo/overlaps.js';
import { forgetPlaced } from '../repo/placed.js';

export interface RemoveOptions extends CommonOptions {
  /** Also delete the tracked data from the workspace. */
  outs?: boolean;
}

export interface RemoveResult {
  removed: { pointerFile: string; paths: string[]; dataDeleted: boolean }[];
  /**
   * Repository-relative files whose change git should record (`git add` stages a deletion too):
   * the deleted pointers git knew and the edited `.gitignore` files. rvc does not touch git's index.
   */
  toGit: string[];
}

/**
 * Stops tracking: deletes pointer files and their .gitignore lines (the cache is untouched).
 * The deletions are left for the user to commit; until then git's index still lists the
 * pointers, but rvc works on the workspace and no longer sees them.
 */
export async function remove(targets: string[], opts: RemoveOptions = {}): Promise<RemoveResult> {
  if (targets.length === 0) throw new RvcError('USAGE', 'nothing to remove', { hint: 'name the pointer files: `rvc remove data.rvc`' });
  const repo = Repo.open(opts.cwd);
  return repo.withLock('rvc remove', opts, async () => {
    const removed: RemoveResult['removed'] = [];
    const files = targets.map((t) => {
      const { rel } = repo.resolve(t, opts.cwd);
      const ptr = rel.endsWith(POINTER_EXT) ? rel : `${rel}${POINTER_EXT}`;
      if (!fs.existsSync(path.join(repo.root, ptr))) {
        throw new RvcError('NOT_TRACKED', `'${t}' is not a pointer file and no '${ptr}' exists`, { path: t, hint: 'name the .rvc file of the data' });
      }
      return ptr;
    });
    const touched = new Set<string>();
    // A .gitignore line another output still needs (a stage's, another pointer's) stays.
    const leaving = new Set(files);
    const recorded = repo.scm ? await recordedForGitignore(repo) : [];
    const needed = (rel: string): boolean => gitignoreStillNeeded(rel, leaving, recorded);
    for (const ptr of files) {
      const outs = repo.outsOf(ptr);
      touched.add(ptr);
      for (const o of outs) {
        if (repo.scm && !needed(o.rel) && removeGitignoreEntry(path.dirname(o.abs), path.basename(o.abs))) touched.add(path.posix.join(path.posix.dirname(o.rel), '.gitignore'));
        if (opts.outs) fs.rmSync(o.abs, { recursive: true, force: true });
      }
      fs.rmSync(path.join(repo.root, ptr), { force: true });
      removed.push({ pointerFile: ptr, paths: outs.map((o) => o.rel), dataDeleted: !!opts.outs });
    }
    // The data stays (or was deleted on request): a later checkout must not delete it as unrecorded.
    forgetPlaced(repo, removed.flatMap((r) => r.paths));
    let toGit: string[] = [];
    if (repo.scm && touched.size) {
      // Only what git can stage: a file that still exists, or a deleted one git has in its index.
      const gone = [...touched].filter((f) => !fs.existsSync(path.join(repo.root, f)));
      let known: Set<string>;
      try {
        known = new Set(gone.length ? gitTrackedUnder(repo.root, gone) : []);
      } catch {
        known = new Set();
      }
      toGit = [...touched].filter((f) => known.has(f) || fs.existsSync(path.join(repo.root, f))).sort();
    }
    return { removed, toGit };
  });
}
