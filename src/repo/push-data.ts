import { addSyncResult, emptySyncResult, objectsByRemote, openSyncRemote, pushWanted, type SyncOptions, type SyncResult } from './sync.js';
import { pushRunEntries } from './run-cache-transfer.js';
import type { Repo } from './repo.js';

/**
 * What `push` does, for the verbs built on it (push, exp push): uploads the cache objects of
 * the outputs in scope that the remote lacks: pointer and stage outputs of the workspace
 * (narrowed by targets: paths, stage outputs, stages) and of the revisions the scope names;
 * with `runCache`, the run-cache's entries after their outputs. Imported data is not pushed (as
 * in DVC): it lives in, and is restored from, its source; neither are `push: false` outputs. An
 * output whose rvc.yaml entry names a `remote:` goes there instead (the run-cache's entries go
 * to the command's remote).
 */
export async function pushData(repo: Repo, opts: SyncOptions): Promise<SyncResult> {
  const [main, ...named] = await objectsByRemote(repo, opts, { forPush: true });
  const w = main!.w;
  let res: SyncResult;
  // The command's remote is opened when something goes to it, or to say that nothing does.
  const elsewhere = named.some((p) => !p.w.set.empty);
  if (w.set.empty && (w.set.imports.length || elsewhere) && !opts.runCache) res = emptySyncResult(repo, opts, w.revisions);
  else {
    const to = await openSyncRemote(repo, opts);
    try {
      res = await pushWanted(repo, w, to, opts);
      if (opts.runCache) res.runs = await pushRunEntries(repo, to.remote, opts);
    } finally {
      await to.remote.close();
    }
  }
  for (const part of named) {
    if (part.w.set.empty) continue;
    const to = await openSyncRemote(repo, { ...opts, remote: part.remote! });
    try {
      addSyncResult(res, await pushWanted(repo, part.w, to, opts));
    } finally {
      await to.remote.close();
    }
  }
  return res;
}
