import fs from 'node:fs';
import type { LinkType } from '../model/config.js';
import { probeLinkTypes, isSharedLink } from '../fsutil/link.js';
import { makeDirs } from '../fsutil/atomic.js';
import type { Repo, CommonOptions } from './repo.js';

const memo = new Map<string, LinkType[]>();

/** Link types that work between this repository's cache and workspace, probed once per process. */
export function workingLinkTypes(repo: Repo): LinkType[] {
  let w = memo.get(repo.root);
  if (!w) {
    fs.mkdirSync(repo.tmpDir, { recursive: true });
    makeDirs(repo.cacheDir, repo.cacheShared);
    w = probeLinkTypes(repo.cacheDir, repo.tmpDir);
    memo.set(repo.root, w);
  }
  return w;
}

/** The first configured link type that works here. */
export function effectiveLinkType(repo: Repo): LinkType | undefined {
  const works = workingLinkTypes(repo);
  return repo.linkTypes.find((t) => works.includes(t));
}

/** Repositories (one object per command) already warned about below. */
const warnedRoot = new WeakSet<Repo>();

/**
 * Warns once per command when a workspace file was just made a hard link or symlink to a cache
 * object while running as root: the object's read-only mode does not stop root, so writing to
 * the workspace file in place would change the cache object too.
 */
export function noteLinkUse(repo: Repo, used: LinkType | undefined, opts: Pick<CommonOptions, 'onWarning'>): void {
  if (!used || !isSharedLink(used) || process.getuid?.() !== 0 || warnedRoot.has(repo)) return;
  warnedRoot.add(repo);
  opts.onWarning?.(
    `running as root with cache.type ${used}: workspace files are links to the cache objects, whose read-only mode does not stop root, ` +
    'so editing one in place would corrupt the cache; run `rvc unprotect <path>` before editing, or use `rvc config cache.type reflink,copy`',
  );
}
