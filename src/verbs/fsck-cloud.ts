import { Repo } from '../repo/repo.js';
import { objectsInScope, openSyncRemote, verifyCloud, type CloudFsckOptions, type CloudFsckResult } from '../repo/sync.js';

/**
 * `fsck --cloud`: downloads and re-hashes every remote object the scope uses (the workspace's
 * pointer and stage outputs, and those of the revisions named); see verifyCloud.
 */
export async function fsckCloud(opts: CloudFsckOptions = {}): Promise<CloudFsckResult> {
  const repo = Repo.open(opts.cwd);
  const w = await objectsInScope(repo, { ...opts, targets: [] });
  const at = await openSyncRemote(repo, opts);
  try {
    return await verifyCloud(repo, w, at, opts);
  } finally {
    await at.remote.close();
  }
}
