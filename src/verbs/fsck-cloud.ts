import { emptyFailures, mergeFailures, type FailureSummary } from '../errors.js';
import { objectKey } from '../model/oid.js';
import { verify as verifyObjects } from '../remote/index.js';
import { Repo, type CommonOptions } from '../repo/repo.js';
import type { RevScope } from '../repo/history.js';
import { openRepoRemote } from '../repo/remotes.js';
import { group, nameInFolders, note, toSyncFailure, transferOptions, wanted, type SyncFailure } from '../repo/sync.js';

export interface CloudFsckOptions extends CommonOptions, Omit<RevScope, 'workspace'> {
  remote?: string;
  jobs?: number;
  /** Delete corrupt remote copies and the manifests that list missing or corrupt objects. */
  repair?: boolean;
}

export interface CloudFsckObject {
  oid: string;
  /** The remote key. */
  key: string;
  /** Paths that use it (`rev:path` at a revision), for messages. */
  paths: string[];
}

/** `failed` (bounded) lists objects that could not be checked (transfer errors). */
export interface CloudFsckResult extends FailureSummary<SyncFailure> {
  remote: string;
  /** Remote objects downloaded and found intact. */
  checked: number;
  corrupt: CloudFsckObject[];
  /** Intact manifests listing an object the remote lacks or holds damaged. */
  incomplete: CloudFsckObject[];
  /** Objects of the scope the remote does not have (`rvc push` uploads them). */
  missing: number;
  /** With repair: remote keys deleted (manifests first). */
  removed: string[];
  repaired: boolean;
  revisions?: string[];
}

/**
 * `rvc fsck --cloud`: downloads every remote object the scope uses (the workspace, and the
 * revisions the scope names) and re-hashes it, through the transfer engine's verified download.
 * push and status --cloud trust what the remote holds, so a damaged copy there would stay
 * forever; `repair` deletes it (and every manifest listing it, which push would otherwise take
 * as proof its files are there), after which `rvc push` from a cache holding good copies uploads
 * them again.
 */
export async function fsckCloud(opts: CloudFsckOptions = {}): Promise<CloudFsckResult> {
  const repo = Repo.open(opts.cwd);
  const w = await wanted(repo, { ...opts, targets: [] });
  // The workspace's pipeline outputs too (push sends them along): rvc.lock records them. One
  // may be `cache: false` (only rvc.yaml says), so its absence from the remote is no failure.
  for (const o of repo.workspaceLockOuts()) {
    if (w.groups.get(o.hash)?.has(o.oid)) continue;
    group(w.groups, o.hash, [o.oid]);
    note(w.paths, o.oid, o.path);
    w.optional.add(o.oid);
  }
  const { name, remote } = await openRepoRemote(repo, opts.remote, opts.jobs !== undefined ? { jobs: opts.jobs } : {});
  try {
    const res: CloudFsckResult = {
      remote: name, checked: 0, corrupt: [], incomplete: [], missing: 0, removed: [], repaired: !!opts.repair,
      ...emptyFailures<SyncFailure>(), ...(w.revisions.length ? { revisions: w.revisions } : {}),
    };
    for (const [algo, oids] of w.groups) {
      if (!oids.size) continue;
      const r = await verifyObjects(repo.odbFor(algo), remote, [...oids], {
        ...transferOptions(opts, w.optional), ...(opts.repair ? { repair: true } : {}),
      });
      nameInFolders(repo, w, [...r.corrupt, ...r.incomplete, ...r.failed.map((f) => f.oid)]);
      const named = (oid: string): CloudFsckObject => ({ oid, key: objectKey(algo, oid), paths: w.paths.get(oid) ?? [] });
      res.checked += r.checked;
      res.missing += r.missing;
      for (const o of r.corrupt) res.corrupt.push(named(o));
      for (const o of r.incomplete) res.incomplete.push(named(o));
      for (const k of r.removed) res.removed.push(k);
      mergeFailures(res, { ...r, failed: r.failed.map((f) => toSyncFailure(f, w.paths.get(f.oid) ?? [])) }, (f) => f.code);
    }
    return res;
  } finally {
    await remote.close();
  }
}
