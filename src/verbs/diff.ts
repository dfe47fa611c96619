import fs from 'node:fs';
import { RvcError, isRvcError } from '../errors.js';
import { isTreeOid } from '../model/oid.js';
import { isInside } from '../model/paths.js';
import type { TreeEntry } from '../model/tree.js';
import { compareStrings } from '../model/values.js';
import type { Remote } from '../remote/remote.js';
import { remoteFetcher } from '../repo/materialise.js';
import { openHistory, type History } from '../repo/history.js';
import { Repo, type CommonOptions } from '../repo/repo.js';
import { sideAt, type Output, type Side } from '../repo/outputs.js';

export interface DiffOptions extends CommonOptions {
  /** The old side (default HEAD). */
  a?: string;
  /** The new side (default: the workspace's pointers). */
  b?: string;
  /** Tracked paths, paths inside tracked folders, or folders holding tracked data, relative to cwd. */
  targets?: string[];
  /**
   * Positional words as typed (`rvc diff [a_rev] [b_rev] [targets…]`): the leading ones that
   * name git revisions (at most two) become `a`/`b`, the rest targets.
   */
  args?: string[];
  /** Remote to fetch missing manifests from; default: core.remote (if set). */
  remote?: string;
}

export interface DiffFile {
  path: string;
  size: number;
}

export interface DiffModified {
  path: string;
  old_size: number;
  new_size: number;
  old_oid: string;
  new_oid: string;
}

export interface DiffRenamed {
  from: string;
  to: string;
  size: number;
}

export interface DiffResult {
  /** The old side: the revision as given. */
  a: string;
  /** The new side: the revision as given, or 'workspace'. */
  b: string;
  added: DiffFile[];
  modified: DiffModified[];
  deleted: DiffFile[];
  renamed: DiffRenamed[];
}

/** Where the file of one path comes from on one side. */
interface FileAt {
  oid: string;
  size: number;
  exec: boolean;
}

/**
 * `rvc diff`: the files inside tracked data that differ between two revisions (or a revision
 * and the workspace's pointers), read from git objects without checking anything out. Only
 * outputs whose oid differs are expanded, so an unchanged folder of a million files costs
 * nothing. Manifests missing from the cache are fetched from the remote when one is set.
 */
export async function diff(opts: DiffOptions = {}): Promise<DiffResult> {
  const cwd = opts.cwd ?? process.cwd();
  const repo = Repo.open(cwd);
  const history = openHistory(repo.root);
  let remote: { name: string; remote: Remote } | undefined;
  try {
    const { a, b, targets, fromArgs } = splitArgs(history, opts, repo, cwd);
    // A `cache: false` output (rvc.yaml at each side says) has no manifest in any cache: left out.
    const sideA = await sideAt(repo, history, a, { emptyIfNoCommits: opts.a === undefined && a === 'HEAD', cacheFlags: true });
    const sideB = await sideAt(repo, history, b, { cacheFlags: true });
    const filter = targetFilter(repo, cwd, targets, fromArgs, [sideA, sideB]);

    const remoteName = opts.remote ?? repo.config.core.remote;
    const manifests = new Map<string, TreeEntry[]>();
    const readManifest = async (o: Output, side: Side): Promise<TreeEntry[]> => {
      const hit = manifests.get(o.out.oid);
      if (hit) return hit;
      const odb = repo.odbFor(o.out.hash);
      if (!odb.hasSync(o.out.oid) && remoteName) {
        if (!remote) {
          const { openRepoRemote } = await import('../repo/remotes.js');
          remote = await openRepoRemote(repo, remoteName);
        }
        await remoteFetcher(odb, remote.remote)([o.out.oid]);
      }
      if (!odb.hasSync(o.out.oid)) {
        throw new RvcError('OBJECT_MISSING', `the manifest of '${o.rel}' at ${side.label} (${o.out.oid.slice(0, 12)}…, recorded in ${o.file}) is not in the cache${remoteName ? ` nor on remote '${remoteName}'` : ''}`, {
          path: o.rel,
          hint: remoteName
            ? 'push it from a machine that has that version (`rvc push`), or name another remote with -r'
            : 'configure the remote it was pushed to (`rvc remote add -d <name> <url>`), or name one with -r',
        });
      }
      const entries = odb.readTree(o.out.oid);
      manifests.set(o.out.oid, entries);
      return entries;
    };

    // Outputs recorded identically on both sides contribute nothing; skip them unread.
    const key = (o: Output): string => `${o.out.hash}:${o.out.oid}:${o.out.exec ? 1 : 0}`;
    const byRel = (s: Side): Map<string, Output> => {
      const m = new Map<string, Output>();
      for (const o of s.outs) if (o.cached !== false && filter.out(o.rel) && !m.has(o.rel)) m.set(o.rel, o);
      return m;
    };
    const outsA = byRel(sideA);
    const outsB = byRel(sideB);
    const expand = async (outs: Map<string, Output>, other: Map<string, Output>, side: Side): Promise<Map<string, FileAt>> => {
      const files = new Map<string, FileAt>();
      for (const [rel, o] of outs) {
        const twin = other.get(rel);
        if (twin && key(twin) === key(o)) continue;
        if (isTreeOid(o.out.oid)) {
          for (const e of await readManifest(o, side)) {
            files.set(`${rel}/${e.path}`, { oid: e.oid, size: e.size, exec: !!e.exec });
          }
        } else {
          files.set(rel, { oid: o.out.oid, size: o.out.size, exec: !!o.out.exec });
        }
      }
      return files;
    };
    const filesA = await expand(outsA, outsB, sideA);
    const filesB = await expand(outsB, outsA, sideB);
    const d = compareFiles(filesA, filesB);
    // Filtered after pairing, so a rename into or out of a target is still shown as one.
    return {
      a: sideA.label, b: sideB.label,
      added: d.added.filter((f) => filter.file(f.path)),
      modified: d.modified.filter((f) => filter.file(f.path)),
      deleted: d.deleted.filter((f) => filter.file(f.path)),
      renamed: d.renamed.filter((f) => filter.file(f.from) || filter.file(f.to)),
    };
  } finally {
    history.close();
    await remote?.remote.close();
  }
}

/**
 * Added, modified, deleted and renamed between two path → file maps. A rename is a deleted and
 * an added path with the same content oid; when several share an oid they are paired in path
 * order. Empty files are never paired: every empty file has the same oid.
 */
export function compareFiles(a: Map<string, FileAt>, b: Map<string, FileAt>): Omit<DiffResult, 'a' | 'b'> {
  const added: DiffFile[] = [];
  const deleted: DiffFile[] = [];
  const modified: DiffModified[] = [];
  const deletedAt = new Map<string, FileAt>();
  const addedAt = new Map<string, FileAt>();
  for (const [p, f] of a) {
    const g = b.get(p);
    if (!g) deletedAt.set(p, f);
    else if (g.oid !== f.oid || g.exec !== f.exec) modified.push({ path: p, old_size: f.size, new_size: g.size, old_oid: f.oid, new_oid: g.oid });
  }
  for (const [p, g] of b) if (!a.has(p)) addedAt.set(p, g);

  const sorted = (m: Map<string, FileAt>): string[] => [...m.keys()].sort(compareStrings);
  const addedByOid = new Map<string, string[]>();
  for (const p of sorted(addedAt)) {
    const f = addedAt.get(p)!;
    if (f.size === 0) continue;
    const list = addedByOid.get(f.oid) ?? [];
    list.push(p);
    addedByOid.set(f.oid, list);
  }
  const renamed: DiffRenamed[] = [];
  for (const p of sorted(deletedAt)) {
    const f = deletedAt.get(p)!;
    const to = f.size === 0 ? undefined : addedByOid.get(f.oid)?.shift();
    if (to !== undefined) {
      renamed.push({ from: p, to, size: f.size });
      addedAt.delete(to);
    } else {
      deleted.push({ path: p, size: f.size });
    }
  }
  for (const p of sorted(addedAt)) added.push({ path: p, size: addedAt.get(p)!.size });
  modified.sort((x, y) => compareStrings(x.path, y.path));
  return { added, modified, deleted, renamed };
}

/** Splits positional words into revisions and targets (see DiffOptions.args). */
function splitArgs(history: History, opts: DiffOptions, repo: Repo, cwd: string): { a: string; b: string | undefined; targets: string[]; fromArgs: Set<string> } {
  const revs: string[] = [];
  const targets = [...(opts.targets ?? [])];
  const fromArgs = new Set<string>();
  let seenTarget = false;
  for (const w of opts.args ?? []) {
    if (!seenTarget && revs.length + (opts.a !== undefined ? 1 : 0) + (opts.b !== undefined ? 1 : 0) < 2 && isRevision(history, w)) {
      if (fs.existsSync(repo.resolve(w, cwd).abs)) {
        throw new RvcError('USAGE', `'${w}' is both a git revision and a path`, { hint: `name paths with --targets, e.g. \`rvc diff --targets ${w}\`` });
      }
      revs.push(w);
    } else {
      seenTarget = true;
      targets.push(w);
      fromArgs.add(w);
    }
  }
  const a = opts.a ?? revs.shift() ?? 'HEAD';
  const b = opts.b ?? revs.shift();
  return { a, b, targets, fromArgs };
}

function isRevision(history: History, w: string): boolean {
  try {
    history.resolve(w);
    return true;
  } catch (e) {
    if (isRvcError(e, 'REV_NOT_FOUND')) return false;
    throw e;
  }
}

/**
 * Which outputs and files the targets select. A target may be a tracked path, a path inside a
 * tracked folder, a pointer file, or a folder holding tracked data; one that matches nothing on
 * either side is an error (a mistyped revision reads as REV_NOT_FOUND).
 */
function targetFilter(repo: Repo, cwd: string, targets: string[], fromArgs: Set<string>, sides: Side[]): { out: (rel: string) => boolean; file: (p: string) => boolean } {
  if (!targets.length) return { out: () => true, file: () => true };
  const rels: string[] = [];
  for (const t of targets) {
    let { rel } = repo.resolve(t, cwd);
    rel = rel.replace(/\/+$/, '');
    const outs = sides.flatMap((s) => s.outs);
    const ptr = outs.filter((o) => o.kind === 'pointer' && o.file === rel);
    if (ptr.length) {
      for (const o of ptr) rels.push(o.rel);
      continue;
    }
    // A stage name (or foreach group) selects the outputs its rvc.lock entries record on either side.
    const ofStage = outs.filter((o) => o.stage !== undefined && (o.stage === t || o.stage.startsWith(`${t}@`)));
    if (ofStage.length && !outs.some((o) => o.rel === rel)) {
      for (const o of ofStage) rels.push(o.rel);
      continue;
    }
    if (!outs.some((o) => rel === '' || isInside(rel, o.rel) || isInside(o.rel, rel))) {
      const looksLikeRev = fromArgs.has(t) && !fs.existsSync(repo.resolve(t, cwd).abs);
      if (looksLikeRev) {
        throw new RvcError('REV_NOT_FOUND', `'${t}' is neither a git revision nor a path rvc tracks at ${sides.map((s) => s.label).join(' or ')}`, {
          path: t, hint: 'name a commit, branch or tag (`git log --oneline`), or a tracked path',
        });
      }
      throw new RvcError('NOT_TRACKED', `'${t}' is not tracked by rvc at ${sides.map((s) => s.label).join(' or ')}`, {
        path: t, hint: 'name a tracked path, a file inside a tracked folder, a folder holding tracked data, or a stage',
      });
    }
    rels.push(rel);
  }
  return {
    out: (r) => rels.some((t) => isInside(r, t) || isInside(t, r)),
    file: (p) => rels.some((t) => isInside(p, t)),
  };
}
