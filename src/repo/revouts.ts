import path from 'node:path';
import { RvcError } from '../errors.js';
import { parseLock, LOCK_FILE } from '../model/lock.js';
import { POINTER_EXT } from '../model/pointer.js';
import { isInside } from '../model/paths.js';
import { readTextIfExists } from '../fsutil/atomic.js';
import type { History } from './history.js';
import type { Output } from '../model/output.js';
import type { Repo } from './repo.js';

/** An output as one side of a comparison sees it: from the workspace's pointers or a commit's. */
export type SideOut = Pick<Output, 'file' | 'rel' | 'out'> & { fromLock: boolean };

/** The outputs of one side: the workspace (no commit) or a git revision. */
export interface Side {
  /** 'workspace', or the revision as the user named it. */
  label: string;
  /** The resolved commit; undefined for the workspace (and for HEAD of a repository without commits). */
  commit?: string;
  outs: SideOut[];
}


/**
 * The outputs the workspace records: every pointer file as it is on disk now (whether or not
 * it is committed) and the stage outputs of the root rvc.lock. The data itself is not read.
 */
export function workspaceOuts(repo: Repo): SideOut[] {
  const outs: SideOut[] = repo.allOuts().map((t) => ({ file: t.pointerFile, rel: t.rel, out: t.out, fromLock: false }));
  const text = readTextIfExists(path.join(repo.root, LOCK_FILE));
  if (text !== undefined && text.trim() !== '') {
    for (const st of Object.values(parseLock(text, LOCK_FILE).stages)) {
      for (const o of st.outs) outs.push({ file: LOCK_FILE, rel: o.path, out: { ...o }, fromLock: true });
    }
  }
  return outs;
}

/**
 * The outputs at `rev` (read from git objects), or in the workspace when `rev` is undefined.
 * `emptyIfNoCommits`: HEAD of a repository without commits is an empty side rather than an error.
 */
export async function sideAt(repo: Repo, history: History | undefined, rev: string | undefined, opts: { emptyIfNoCommits?: boolean } = {}): Promise<Side> {
  if (rev === undefined) return { label: 'workspace', outs: workspaceOuts(repo) };
  if (!history) throw new RvcError('GIT_FAILED', `cannot read revision '${rev}' without git`, { hint: 'revisions need a git repository' });
  if (opts.emptyIfNoCommits && rev === 'HEAD' && history.head() === undefined) return { label: rev, outs: [] };
  const commit = history.resolve(rev);
  return { label: rev, commit, outs: (await history.outsAt(commit, rev)).map((o) => ({ file: o.file, rel: o.rel, out: o.out, fromLock: o.kind !== 'pointer' })) };
}

/**
 * The output holding repository-relative `rel` on a side: the output itself (no subpath), a
 * path inside a tracked folder (with its subpath), or the output of a pointer file named
 * directly (when it has exactly one).
 */
export function findOut(outs: readonly SideOut[], rel: string): { out: SideOut; subpath?: string } | undefined {
  for (const o of outs) if (o.rel === rel) return { out: o };
  for (const o of outs) if (rel !== '' && isInside(rel, o.rel)) return { out: o, subpath: rel.slice(o.rel.length + 1) };
  if (rel.endsWith(POINTER_EXT)) {
    const of = outs.filter((o) => !o.fromLock && o.file === rel);
    if (of.length === 1) return { out: of[0]! };
  }
  return undefined;
}
