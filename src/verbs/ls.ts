import path from 'node:path';
import { RvcError } from '../errors.js';
import { isTreeOid } from '../model/oid.js';
import { isInside } from '../model/paths.js';
import type { TreeEntry } from '../model/tree.js';
import { compareStrings } from '../model/values.js';
import { ExternalRepo, normaliseSourcePath, tempOdb } from '../repo/external.js';
import type { Output } from '../model/output.js';

export interface LsOptions {
  /** Folder a relative repository path is resolved against. */
  cwd?: string;
  /** Path inside the repository (default: its root). */
  path?: string;
  /** Branch, tag or commit (default: the repository's HEAD). */
  rev?: string;
  /** Every file below the path, inside tracked folders too. */
  recursive?: boolean;
}

export interface LsEntry {
  /** Relative to the listed path, POSIX. */
  path: string;
  isdir: boolean;
  isexec: boolean;
  /** Tracked by rvc: an output, or a file inside a tracked folder. */
  isout: boolean;
  /** Stored in git. */
  isgit: boolean;
  size?: number;
  /** Number of files, for a tracked folder. */
  nfiles?: number;
}

export interface LsResult {
  repo: string;
  rev: string;
  path: string;
  entries: LsEntry[];
}

/**
 * Lists what another repository holds at a path and revision, like `dvc ls`: the files git
 * stores and the data rvc tracks (marked `isout`); inside a tracked folder, its files from the
 * folder's manifest (fetched from the source's cache or remote into a temporary store).
 */
export async function ls(repo: string, opts: LsOptions = {}): Promise<LsResult> {
  const rel = normaliseSourcePath(opts.path ?? '');
  const src = ExternalRepo.open(repo, { baseDir: opts.cwd ?? process.cwd() });
  const objects: { close(): Promise<void> }[] = [];
  const stores: (() => void)[] = [];
  try {
    const commit = src.resolve(opts.rev);
    const outs = await src.outsNear(commit, rel);
    const manifest = async (o: Output): Promise<TreeEntry[]> => {
      const t = tempOdb(o.out.hash);
      stores.push(t.remove);
      const obj = src.objects(commit);
      objects.push(obj);
      await obj.fetchOne(t.odb, o.out.oid);
      return t.odb.readTree(o.out.oid);
    };
    const entries = new Map<string, LsEntry>();
    const put = (e: LsEntry): void => {
      const had = entries.get(e.path);
      entries.set(e.path, had ? { ...had, ...e, isgit: had.isgit || e.isgit, isout: had.isout || e.isout } : e);
    };

    // Inside (or exactly) a tracked output: list from its manifest.
    const owner = outs.find((o) => isInside(rel, o.rel));
    if (owner && rel !== '') {
      if (!isTreeOid(owner.out.oid)) {
        if (owner.rel !== rel) throw notFound(rel, src, commit);
        put({ path: path.posix.basename(rel), isdir: false, isexec: !!owner.out.exec, isout: true, isgit: false, size: owner.out.size });
      } else {
        const sub = rel === owner.rel ? '' : rel.slice(owner.rel.length + 1);
        listManifest(await manifest(owner), sub, !!opts.recursive, '', put);
        if (!entries.size) throw notFound(rel, src, commit);
      }
      return { repo: src.label, rev: commit, path: rel, entries: sorted(entries) };
    }

    const gitEntry = rel === '' ? { type: 'tree', mode: '040000' } : src.gitEntry(commit, rel);
    if (gitEntry?.type === 'blob') {
      const [e] = src.gitList(commit, path.posix.dirname(rel) === '.' ? '' : path.posix.dirname(rel), false).filter((x) => x.path === path.posix.basename(rel));
      put({ path: path.posix.basename(rel), isdir: false, isexec: gitEntry.mode === '100755', isout: false, isgit: true, ...(e?.size !== undefined ? { size: e.size } : {}) });
      return { repo: src.label, rev: commit, path: rel, entries: sorted(entries) };
    }
    for (const g of src.gitList(commit, rel, !!opts.recursive)) {
      put({ path: g.path, isdir: g.type === 'tree', isexec: g.mode === '100755', isout: false, isgit: true, ...(g.size !== undefined ? { size: g.size } : {}) });
    }
    for (const o of outs) {
      if (!isInside(o.rel, rel) || o.rel === rel) continue;
      const rest = rel === '' ? o.rel : o.rel.slice(rel.length + 1);
      const isDir = isTreeOid(o.out.oid);
      if (!opts.recursive) {
        const slash = rest.indexOf('/');
        if (slash < 0) {
          put({ path: rest, isdir: isDir, isexec: !!o.out.exec, isout: true, isgit: false, size: o.out.size, ...(o.out.nfiles !== undefined ? { nfiles: o.out.nfiles } : {}) });
        } else if (!entries.has(rest.slice(0, slash))) {
          put({ path: rest.slice(0, slash), isdir: true, isexec: false, isout: false, isgit: false });
        }
      } else if (isDir) {
        listManifest(await manifest(o), '', true, `${rest}/`, put);
      } else {
        put({ path: rest, isdir: false, isexec: !!o.out.exec, isout: true, isgit: false, size: o.out.size });
      }
    }
    if (!entries.size && rel !== '' && !gitEntry) throw notFound(rel, src, commit);
    return { repo: src.label, rev: commit, path: rel, entries: sorted(entries) };
  } finally {
    for (const o of objects) await o.close();
    for (const r of stores) r();
    src.close();
  }
}

function listManifest(tree: TreeEntry[], sub: string, recursive: boolean, prefix: string, put: (e: LsEntry) => void): void {
  for (const e of tree) {
    if (sub !== '' && !isInside(e.path, sub)) continue;
    const rest = sub === '' ? e.path : e.path === sub ? path.posix.basename(sub) : e.path.slice(sub.length + 1);
    const slash = rest.indexOf('/');
    if (recursive || slash < 0) {
      put({ path: `${prefix}${rest}`, isdir: false, isexec: !!e.exec, isout: true, isgit: false, size: e.size });
    } else {
      put({ path: `${prefix}${rest.slice(0, slash)}`, isdir: true, isexec: false, isout: true, isgit: false });
    }
  }
}

function sorted(m: Map<string, LsEntry>): LsEntry[] {
  return [...m.values()].sort((a, b) => compareStrings(a.path, b.path));
}

function notFound(rel: string, src: ExternalRepo, commit: string): RvcError {
  return new RvcError('PATH_NOT_FOUND', `'${rel}' does not exist in '${src.label}' at ${commit.slice(0, 8)}`, {
    path: rel, hint: `list the repository's root with \`rvc ls ${src.label}\``,
  });
}
