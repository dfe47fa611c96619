import fs from 'node:fs';
import path from 'node:path';
import { isRvcError, fromFsError } from '../errors.js';
import { writeFileAtomic } from '../fsutil/atomic.js';
import { mergeLocks, mergePointers, mergeTrees, type ConflictKind } from '../model/merge.js';
import { parseLock, serializeLock, type Lock } from '../model/lock.js';
import { parsePointer, serializePointer, type Pointer, type PointerOut } from '../model/pointer.js';
import { toPosix } from '../model/paths.js';
import { treeSize, type TreeEntry } from '../model/tree.js';
import type { Remote } from '../remote/index.js';
import { Repo, type CommonOptions } from '../repo/repo.js';
import { LOCK_FILE } from '../model/lock.js';


export interface MergeDriverOptions extends CommonOptions {
  /** The merge base's version (git's %O; an empty file when the path is new on both sides). */
  base: string;
  /** Our version (%A): replaced by the merge result when the merge is clean. */
  ours: string;
  /** Their version (%B). */
  theirs: string;
  /** The path in the repository being merged (%P), for messages and to tell pointers from rvc.lock. */
  path: string;
}

export interface MergeDriverConflict {
  /** A file inside tracked data (`data/a.csv`), a tracked path, a stage name, or the merged file. */
  path: string;
  kind: ConflictKind | 'unreadable' | 'manifest-missing' | 'empty';
  message: string;
}

export interface MergedTree {
  /** Repository-relative path of the tracked folder. */
  path: string;
  oid: string;
  nfiles: number;
}

export interface MergeDriverResult {
  file: string;
  kind: 'pointer' | 'lock';
  /** True when `ours` now holds the merge result; false on conflict (`ours` is untouched). */
  merged: boolean;
  /** Folders whose manifests were merged (written to the cache). */
  trees: MergedTree[];
  conflicts: MergeDriverConflict[];
}

const KIND_TEXT: Record<ConflictKind, string> = {
  'both-modified': 'changed differently on both sides',
  'both-added': 'added on both sides with different content',
  'modified-deleted': 'changed on our side, deleted on theirs',
  'deleted-modified': 'deleted on our side, changed on theirs',
  'path-clash': 'clashes with a path from the other side (a file and a folder of one name, or names equal after case-folding)',
};

function readSide(cwd: string, file: string): string {
  const abs = path.resolve(cwd, file);
  try {
    return fs.readFileSync(abs, 'utf8');
  } catch (e) {
    throw fromFsError(e, file, 'read');
  }
}

/**
 * git's merge driver for `.rvc` pointers and `rvc.lock` (`merge.rvc.driver = rvc merge-driver %O
 * %A %B %P`). Pointers merge out by out; a folder changed on both sides merges file by file, the
 * merged manifest is written to the cache and the pointer names it. rvc.lock merges stage by
 * stage. On any conflict nothing is written: `ours` keeps our version and the result lists what
 * conflicts, so git reports the path as conflicted. The workspace data is not touched.
 */
export async function mergeDriver(opts: MergeDriverOptions): Promise<MergeDriverResult> {
  const cwd = opts.cwd ?? process.cwd();
  const file = toPosix(opts.path);
  const kind = path.posix.basename(file) === LOCK_FILE ? 'lock' : 'pointer';
  const res: MergeDriverResult = { file, kind, merged: false, trees: [], conflicts: [] };
  const texts = { base: readSide(cwd, opts.base), ours: readSide(cwd, opts.ours), theirs: readSide(cwd, opts.theirs) };

  const parse = <T>(fn: (text: string, label: string) => T, side: keyof typeof texts): T | undefined => {
    try {
      return fn(texts[side], `${file} (${side})`);
    } catch (e) {
      if (!isRvcError(e)) throw e;
      res.conflicts.push({ path: file, kind: 'unreadable', message: `the ${side} version of ${file} cannot be read: ${e.message}` });
      return undefined;
    }
  };

  let output: string | undefined;
  if (kind === 'lock') {
    const base = texts.base.trim() === '' ? undefined : parse(parseLock, 'base');
    const ours = parse(parseLock, 'ours');
    const theirs = parse(parseLock, 'theirs');
    if (res.conflicts.length || !ours || !theirs) return res;
    const m = mergeLocks(base as Lock | undefined, ours, theirs);
    for (const c of m.conflicts) res.conflicts.push({ path: c.path, kind: c.kind, message: `stage '${c.path}' ${KIND_TEXT[c.kind]}` });
    output = serializeLock(m.lock);
  } else {
    const base = texts.base.trim() === '' ? undefined : parse(parsePointer, 'base');
    const ours = parse(parsePointer, 'ours');
    const theirs = parse(parsePointer, 'theirs');
    if (res.conflicts.length || !ours || !theirs) return res;
    output = await mergePointerFiles(opts, file, base, ours, theirs, res);
  }
  if (res.conflicts.length || output === undefined) return res;
  writeFileAtomic(path.resolve(cwd, opts.ours), output);
  res.merged = true;
  return res;
}

async function mergePointerFiles(opts: MergeDriverOptions, file: string, base: Pointer | undefined, ours: Pointer, theirs: Pointer, res: MergeDriverResult): Promise<string | undefined> {
  const cwd = opts.cwd ?? process.cwd();
  const dir = path.posix.dirname(file);
  const relOf = (p: string): string => (dir === '.' ? p : `${dir}/${p}`);
  const m = mergePointers(base, ours, theirs);
  for (const c of m.conflicts) res.conflicts.push({ path: relOf(c.path), kind: c.kind, message: `${relOf(c.path)} ${KIND_TEXT[c.kind]}` });
  if (m.descConflict) res.conflicts.push({ path: file, kind: m.descConflict, message: `the description in ${file} ${KIND_TEXT[m.descConflict]}` });
  const needsTrees = m.outs.some((o) => o.kind === 'trees');
  // The pointer's own folder, so a repository nested below the git top level is found.
  const repo = needsTrees ? Repo.open(path.dirname(path.resolve(cwd, file))) : undefined;
  let remote: { remote: Remote } | undefined | null;
  const openRemote = async (): Promise<{ remote: Remote } | null> => {
    if (remote !== undefined) return remote;
    if (!repo!.config.core.remote) return (remote = null);
    const { openRepoRemote } = await import('../repo/remotes.js');
    return (remote = await openRepoRemote(repo!, undefined));
  };
  const manifest = async (out: PointerOut, side: string, rel: string): Promise<TreeEntry[] | undefined> => {
    const odb = repo!.odbFor(out.hash);
    if (!odb.hasSync(out.oid)) {
      let why = 'no default remote is set to fetch it from';
      try {
        const r = await openRemote();
        if (r) {
          const { fetchObject } = await import('../remote/transfer.js');
          await fetchObject(odb, r.remote, out.oid);
        }
      } catch (e) {
        if (!isRvcError(e)) throw e;
        why = `fetching it from the default remote failed: ${e.message}`;
      }
      if (!odb.hasSync(out.oid)) {
        res.conflicts.push({ path: rel, kind: 'manifest-missing', message: `the ${side} manifest of ${rel} (${out.oid}) is not in the cache and ${why}` });
        return undefined;
      }
    }
    return odb.readTree(out.oid);
  };

  const outs: PointerOut[] = [];
  try {
    for (const o of m.outs) {
      if (o.kind === 'take') {
        outs.push(o.out);
        continue;
      }
      const rel = relOf(o.ours.path);
      const b = o.base ? await manifest(o.base, 'base', rel) : [];
      const mo = await manifest(o.ours, 'ours', rel);
      const mt = await manifest(o.theirs, 'theirs', rel);
      if (!b || !mo || !mt) continue;
      const t = mergeTrees(b, mo, mt);
      if (t.conflicts.length) {
        for (const c of t.conflicts) res.conflicts.push({ path: `${rel}/${c.path}`, kind: c.kind, message: `${rel}/${c.path} ${KIND_TEXT[c.kind]}` });
        continue;
      }
      const oid = repo!.odbFor(o.ours.hash).writeTree(t.entries);
      outs.push({ path: o.ours.path, hash: o.ours.hash, oid, size: treeSize(t.entries), nfiles: t.entries.length });
      res.trees.push({ path: rel, oid, nfiles: t.entries.length });
    }
  } finally {
    if (remote) await remote.remote.close();
  }
  if (res.conflicts.length) return undefined;
  if (!outs.length) {
    res.conflicts.push({ path: file, kind: 'empty', message: `merging ${file} leaves no tracked outputs` });
    return undefined;
  }
  return serializePointer({ outs, ...(m.desc !== undefined ? { desc: m.desc } : {}) });
}
