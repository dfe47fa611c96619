import fs from 'node:fs';
import type { LinkType } from '../model/config.js';
import { probeLinkTypes } from '../fsutil/link.js';
import type { Repo } from './repo.js';

const memo = new Map<string, LinkType[]>();

/** Link types that work between this repository's cache and workspace, probed once per process. */
export function workingLinkTypes(repo: Repo): LinkType[] {
  let w = memo.get(repo.root);
  if (!w) {
    fs.mkdirSync(repo.tmpDir, { recursive: true });
    fs.mkdirSync(repo.cacheDir, { recursive: true });
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
