import { RvcError } from '../errors.js';
import { buildOut } from '../odb/build.js';
import { outFromBuilt, relinkFromCache, type AddedOut } from './add.js';
import { Repo, type CommonOptions } from './repo.js';
import { notePlaced } from './placed.js';

export interface CommitOptions extends CommonOptions {
  targets?: string[];
}

export interface CommitResult {
  committed: AddedOut[];
}

/** Stores the current workspace content of tracked outputs and updates their pointers. */
export async function commit(opts: CommitOptions = {}): Promise<CommitResult> {
  const repo = Repo.open(opts.cwd);
  return repo.withLock('rvc commit', opts, () => {
    const targets = repo.resolveTargets(opts.targets ?? [], opts.cwd);
    const done = new Set<string>();
    const committed: AddedOut[] = [];
    for (const { tracked: t, subpath } of targets) {
      if (subpath !== undefined) {
        throw new RvcError('USAGE', `'${t.rel}/${subpath}' is inside a tracked folder`, { path: `${t.rel}/${subpath}`, hint: `commit the whole folder: \`rvc commit ${t.rel}\`` });
      }
      const key = `${t.pointerFile}\0${t.index}`;
      if (done.has(key)) continue;
      done.add(key);
      const state = repo.stateFor(t.rel);
      const built = buildOut(t.abs, t.rel, {
        odb: repo.odb, state, ignore: repo.ignore, repoRoot: repo.root, store: true,
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}), ...(opts.onWarning ? { onWarning: opts.onWarning } : {}),
      });
      const out = outFromBuilt(t.out.path, repo.odb.algo, built);
      // Re-read: an earlier out of the same pointer may have been rewritten in this loop.
      const pointer = repo.readPointer(t.pointerFile);
      const changed = pointer.outs[t.index]?.oid !== out.oid || pointer.outs[t.index]?.exec !== out.exec;
      pointer.outs[t.index] = out;
      if (changed) repo.writePointer(t.pointerFile, pointer);
      relinkFromCache(repo, t, out, state, opts);
      committed.push({ path: t.rel, pointerFile: t.pointerFile, oid: out.oid, size: out.size, ...(out.nfiles !== undefined ? { nfiles: out.nfiles } : {}), changed });
    }
    notePlaced(repo, committed.map((c) => ({ path: c.path, hash: repo.odb.algo, oid: c.oid })));
    return { committed };
  });
}

