import fs from 'node:fs';
import path from 'node:path';
import { RvcError } from '../errors.js';
import { POINTER_EXT } from '../model/pointer.js';
import { removeGitignoreEntry } from '../scm/git.js';
import { Repo, type CommonOptions } from './repo.js';

export interface RemoveOptions extends CommonOptions {
  /** Also delete the tracked data from the workspace. */
  outs?: boolean;
}

export interface RemoveResult {
  removed: { pointerFile: string; paths: string[]; dataDeleted: boolean }[];
}

/** Stops tracking: deletes pointer files and their .gitignore lines (the cache is untouched). */
export async function remove(targets: string[], opts: RemoveOptions = {}): Promise<RemoveResult> {
  if (targets.length === 0) throw new RvcError('USAGE', 'nothing to remove', { hint: 'name the pointer files: `rvc remove data.rvc`' });
  const repo = Repo.open(opts.cwd);
  return repo.withLock('rvc remove', opts, () => {
    const removed: RemoveResult['removed'] = [];
    const files = targets.map((t) => {
      const { rel } = repo.resolve(t, opts.cwd);
      const ptr = rel.endsWith(POINTER_EXT) ? rel : `${rel}${POINTER_EXT}`;
      if (!fs.existsSync(path.join(repo.root, ptr))) {
        throw new RvcError('NOT_TRACKED', `'${t}' is not a pointer file and no '${ptr}' exists`, { path: t, hint: 'name the .rvc file of the data' });
      }
      return ptr;
    });
    for (const ptr of files) {
      const outs = repo.outsOf(ptr);
      for (const o of outs) {
        if (repo.scm) removeGitignoreEntry(path.dirname(o.abs), path.basename(o.abs));
        if (opts.outs) fs.rmSync(o.abs, { recursive: true, force: true });
      }
      fs.rmSync(path.join(repo.root, ptr), { force: true });
      removed.push({ pointerFile: ptr, paths: outs.map((o) => o.rel), dataDeleted: !!opts.outs });
    }
    return { removed };
  });
}
