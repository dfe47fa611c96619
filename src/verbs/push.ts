import { emptyFailures, isRvcError } from '../errors.js';
import type { HashAlgo } from '../model/oid.js';
import { push as pushObjects } from '../remote/index.js';
import { Repo } from '../repo/repo.js';
import { openRepoRemote } from '../repo/remotes.js';
import { childrenUnder, earlyFailure, group, perAlgo, toSyncResult, transferOptions, wanted, withEarly, type SyncFailure, type SyncOptions, type SyncResult } from '../repo/sync.js';

export type { SyncOptions, SyncResult, SyncFailure };

/**
 * Uploads the cache objects of the outputs in scope that the remote lacks; trees go after their
 * files. An object in neither the cache nor the remote is reported as a failure with the paths
 * (and revisions) that use it; the rest is still uploaded.
 */
export async function push(opts: SyncOptions = {}): Promise<SyncResult> {
  const repo = Repo.open(opts.cwd);
  const w = await wanted(repo, opts);
  // Imported data is not pushed (as in DVC): it lives in, and is restored from, its source.
  if (w.imports.length && !w.groups.size && !w.partial.length) {
    return { remote: opts.remote ?? repo.config.core.remote ?? '', transferred: 0, skipped: 0, ...emptyFailures<SyncFailure>(), ...(w.revisions.length ? { revisions: w.revisions } : {}) };
  }
  const groups = new Map<HashAlgo, Set<string>>();
  for (const [algo, oids] of w.groups) {
    // An rvc.lock output never produced here is not an error (as for the workspace's pipeline).
    group(groups, algo, [...oids].filter((o) => !w.optional.has(o) || repo.odbFor(algo).hasSync(o)));
  }
  const early = emptyFailures<SyncFailure>();
  for (const p of w.partial) {
    try {
      group(groups, p.out.hash, childrenUnder(repo, p, w.paths));
    } catch (e) {
      // Part of a folder whose manifest is not in the cache: reported, the rest still goes.
      if (!isRvcError(e)) throw e;
      earlyFailure(early, p.out.oid, p.where, e);
    }
  }
  const { name, remote } = await openRepoRemote(repo, opts.remote, opts.jobs !== undefined ? { jobs: opts.jobs } : {});
  try {
    const r = await perAlgo(repo, groups, (odb, oids) => pushObjects(odb, remote, oids, transferOptions(opts, w.optional)));
    const res = toSyncResult(repo, name, r, w);
    return withEarly(res, early);
  } finally {
    await remote.close();
  }
}
