import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { probeLinkTypes } from '../fsutil/link.js';
import type { LinkType } from '../model/config.js';
import { Repo } from '../repo/repo.js';
import { workingLinkTypes } from '../repo/links.js';

export interface VersionInfo {
  rvc: string;
  node: string;
  platform: string;
  /** Link types that work between the cache and the workspace here (or in a temp folder outside a repository). */
  linkTypes: LinkType[];
  repo?: { root: string; hash: string; cacheType: string[] };
}

export function rvcVersion(): string {
  const require = createRequire(import.meta.url);
  return (require('../../package.json') as { version: string }).version;
}

export function version(opts: { cwd?: string } = {}): VersionInfo {
  let repo: Repo | undefined;
  try {
    repo = Repo.open(opts.cwd);
  } catch {
    repo = undefined;
  }
  let linkTypes: LinkType[];
  if (repo) {
    linkTypes = workingLinkTypes(repo);
  } else {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rvc-probe-'));
    try {
      linkTypes = probeLinkTypes(dir, dir);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return {
    rvc: rvcVersion(),
    node: process.version,
    platform: `${os.platform()}-${os.arch()} (${os.release()})`,
    linkTypes,
    ...(repo ? { repo: { root: repo.root, hash: repo.config.core.hash, cacheType: repo.linkTypes } } : {}),
  };
}
