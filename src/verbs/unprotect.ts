import fs from 'node:fs';
import path from 'node:path';
import { fromFsError } from '../errors.js';
import { copyToNewFileSync, tempPathFor } from '../fsutil/atomic.js';
import { walkFiles } from '../fsutil/walk.js';
import { Repo, type CommonOptions } from '../repo/repo.js';
import { selectOutputs, workspaceOutputs } from '../repo/outputs.js';

export interface UnprotectResult {
  unprotected: string[];
}

/**
 * Turns linked workspace files (hard links or symlinks to read-only cache objects) into private
 * writable copies, so they can be edited without touching the cache: pointer and stage outputs
 * alike.
 */
export async function unprotect(targets: string[], opts: CommonOptions = {}): Promise<UnprotectResult> {
  const repo = Repo.open(opts.cwd);
  return repo.withLock('rvc unprotect', opts, async () => {
    const done: string[] = [];
    const selected = await selectOutputs(repo, await workspaceOutputs(repo), targets, { ...(opts.cwd ? { cwd: opts.cwd } : {}), checkSubpaths: true });
    for (const { output, subpath } of selected) {
      const abs = path.join(repo.root, output.rel);
      const base = subpath ? path.join(abs, subpath) : abs;
      if (!fs.existsSync(base)) continue;
      const files = fs.statSync(base).isDirectory()
        ? (() => {
            const list = walkFiles(base, { repoRoot: repo.root, ignore: repo.ignore, cacheRoot: repo.cacheDir });
            return list.rel.map((_, i) => list.abs(i));
          })()
        : [base];
      for (const f of files) {
        unprotectFile(f);
        done.push(path.relative(repo.root, f).split(path.sep).join('/'));
      }
    }
    return { unprotected: done };
  });
}

function unprotectFile(file: string): void {
  try {
    const lst = fs.lstatSync(file);
    if (lst.isSymbolicLink() || lst.nlink > 1) {
      const tmp = tempPathFor(file);
      copyToNewFileSync(file, tmp, 0);
      fs.chmodSync(tmp, (fs.statSync(file).mode & 0o111) ? 0o755 : 0o644);
      fs.renameSync(tmp, file);
    } else if ((lst.mode & 0o200) === 0) {
      fs.chmodSync(file, lst.mode | 0o200);
    }
  } catch (e) {
    throw fromFsError(e, file, 'unprotect');
  }
}
