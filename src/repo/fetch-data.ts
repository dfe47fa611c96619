import type { SyncOptions, SyncResult } from './sync.js';
import { addSyncResult, emptySyncResult, fetchWanted, objectsByRemote, openSyncRemote, type OpenedRemote } from './sync.js';
import { fetchRunEntries } from './run-cache-transfer.js';
import { trackedOf } from './outputs.js';
import type { Repo } from './repo.js';

/**
 * What `fetch` does, for the verbs built on it (fetch, pull): downloads the objects of the
 * outputs in scope that the cache lacks, each verified by hash — pointer and stage outputs
 * alike, narrowed by targets; imported data from its source repository (this project's remote
 * is not needed when only imports are wanted); with `runCache`, first the remote's run-cache
 * entries (verified), then their outputs with the rest. An output whose rvc.yaml entry names a
 * `remote:` comes from that remote.
 */
export async function fetchData(repo: Repo, opts: SyncOptions): Promise<SyncResult> {
  // This project's remote is opened once, and only when something is wanted from it.
  let from: OpenedRemote | undefined;
  const remote = async (): Promise<OpenedRemote> => (from ??= await openSyncRemote(repo, opts));
  try {
    const runs = opts.runCache ? await fetchRunEntries(repo, (await remote()).remote, opts) : undefined;
    const [main, ...named] = await objectsByRemote(repo, opts);
    const w = main!.w;
    const elsewhere = named.some((p) => !p.w.set.empty);
    let res = !w.set.empty || (!w.set.imports.length && !elsewhere) ? await fetchWanted(repo, w, await remote(), opts) : undefined;
    for (const part of named) {
      if (part.w.set.empty) continue;
      const at = await openSyncRemote(repo, { ...opts, remote: part.remote! });
      try {
        const r = await fetchWanted(repo, part.w, at, opts);
        res = res ? addSyncResult(res, r) : r;
      } finally {
        await at.remote.close();
      }
    }
    if (w.set.imports.length) {
      const { fetchImports } = await import('./imports.js');
      const imp = await fetchImports(repo, w.set.imports.map((o) => trackedOf(repo, o)), opts);
      res = res ? addSyncResult(res, imp) : { ...imp, ...(w.revisions.length ? { revisions: w.revisions } : {}) };
    }
    res ??= emptySyncResult(repo, opts, w.revisions);
    if (runs) res.runs = runs;
    return res;
  } finally {
    await from?.remote.close();
  }
}
