/** Fetching a scope: this project's remote for its own outputs, the source repositories for imports. */
import { mergeFailures } from '../errors.js';
import type { Repo } from './repo.js';
import { fetchWanted, wanted, type SyncOptions, type SyncResult, type Wanted } from './sync.js';

/**
 * Downloads the objects of the outputs in scope that the cache lacks, manifests first, each
 * verified by hash (`fetch`, and the first half of `pull`).
 */
export async function fetchScope(repo: Repo, opts: SyncOptions): Promise<SyncResult> {
  const w = await wanted(repo, opts);
  if (w.imports.length) return withImports(repo, w, opts);
  return fetchWanted(repo, w, opts);
}

/**
 * Imported outputs are fetched from their source repositories (see imports.ts); the rest from
 * this project's remote, which is not needed at all when only imports are wanted.
 */
async function withImports(repo: Repo, w: Wanted, opts: SyncOptions): Promise<SyncResult> {
  const { fetchImports } = await import('./imports.js');
  const imp = await fetchImports(repo, w.imports, opts);
  if (!w.groups.size && !w.partial.length) return imp;
  const own = await fetchWanted(repo, w, opts);
  const res = { ...own, transferred: own.transferred + imp.transferred, skipped: own.skipped + imp.skipped };
  mergeFailures(res, imp, (f) => f.code);
  return res;
}
