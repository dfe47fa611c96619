import fs from 'node:fs';
import { errnoCode, fromFsError } from '../errors.js';
import { isTreeOid } from '../model/oid.js';
import { diffTrees, type TreeEntry } from '../model/tree.js';
import { buildOut } from '../odb/build.js';
import type { CommonOptions, Repo, TrackedOut } from './repo.js';

export type WorkspaceState = 'unchanged' | 'modified' | 'deleted';

export interface OutStatus {
  pointerFile: string;
  path: string;
  workspace: WorkspaceState;
  /** False when the recorded content (or, for a folder, its manifest or any file) is missing from the cache. */
  inCache: boolean;
  /** For folders that changed: which files, relative to the folder. */
  changes?: { added: string[]; modified: string[]; deleted: string[] };
}

/** One tracked output against the workspace and the cache (read-only but for the hash cache). */
export function outStatus(repo: Repo, t: TrackedOut, opts: CommonOptions = {}): OutStatus {
  const { out } = t;
  const odb = repo.odbFor(out.hash);
  const isDir = isTreeOid(out.oid);
  let cached: TreeEntry[] | undefined;
  let inCache = odb.hasSync(out.oid);
  if (inCache && isDir && !odb.isMarkedComplete(out.oid)) {
    // Read before looking at the objects: a gc overlapping this check voids the mark.
    const gen = odb.markGeneration();
    try {
      cached = odb.readTree(out.oid);
      inCache = cached.every((e) => odb.hasSync(e.oid));
      if (inCache) odb.markComplete(out.oid, gen);
    } catch {
      inCache = false;
    }
  }
  const res: OutStatus = { pointerFile: t.pointerFile, path: t.rel, workspace: 'unchanged', inCache };
  try {
    fs.lstatSync(t.abs);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') {
      res.workspace = 'deleted';
      return res;
    }
    throw fromFsError(e, t.rel, 'read');
  }
  const built = buildOut(t.abs, t.rel, {
    odb, state: repo.stateFor(t.rel, out.hash), ignore: repo.ignore, repoRoot: repo.root, store: false,
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });
  if (built.oid === out.oid && !!built.exec === !!out.exec) return res;
  res.workspace = 'modified';
  if (isDir && !cached && inCache) {
    try {
      cached = odb.readTree(out.oid);
    } catch {
      cached = undefined;
    }
  }
  if (isDir && built.entries) {
    const d = diffTrees(cached ?? [], built.entries);
    if (cached || built.kind === 'dir') {
      res.changes = {
        added: d.added.map((e) => e.path),
        modified: d.modified.map((m) => m.new.path),
        deleted: d.deleted.map((e) => e.path),
      };
    }
  }
  return res;
}
