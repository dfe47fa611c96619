import type { TreeEntry } from './tree.js';
import { foldedPath } from './paths.js';
import { isTreeOid } from './oid.js';
import type { Pointer, PointerOut } from './pointer.js';
import { canonicalStage, emptyLock, LOCK_SCHEMA, type Lock, type LockStage } from './lock.js';
import { canonicalJson, compareStrings, setOwn } from './values.js';

/**
 * Three-way merges of rvc's versioned files, as a git merge driver needs them. Everything here is
 * pure: the repo layer reads the manifests and writes the results.
 *
 * The rule is git's own, applied per item (a file in a manifest, an out in a pointer, a stage in
 * rvc.lock): when both sides agree, or only one side changed the item since the base, that side
 * wins; when both changed it differently (including one deleting what the other changed) it is a
 * conflict.
 */

export type ConflictKind =
  /** Changed on both sides, differently. */
  | 'both-modified'
  /** Absent in the base, added on both sides with different content. */
  | 'both-added'
  /** Ours changed it, theirs deleted it. */
  | 'modified-deleted'
  /** Ours deleted it, theirs changed it. */
  | 'deleted-modified'
  /** The merged tree would hold a path as both a file and a folder, or two paths equal after case-folding. */
  | 'path-clash';

export interface Conflict {
  path: string;
  kind: ConflictKind;
}

type Pick<T> = { value: T | undefined } | { conflict: ConflictKind };

/** git's per-item rule; `undefined` means "absent on that side". */
export function pick3<T>(base: T | undefined, ours: T | undefined, theirs: T | undefined, eq: (a: T, b: T) => boolean): Pick<T> {
  const same = (a: T | undefined, b: T | undefined): boolean => (a === undefined || b === undefined ? a === b : eq(a, b));
  if (same(ours, theirs)) return { value: ours };
  if (same(base, ours)) return { value: theirs };
  if (same(base, theirs)) return { value: ours };
  if (base === undefined) return { conflict: 'both-added' };
  if (theirs === undefined) return { conflict: 'modified-deleted' };
  if (ours === undefined) return { conflict: 'deleted-modified' };
  return { conflict: 'both-modified' };
}

export function sameTreeEntry(a: TreeEntry, b: TreeEntry): boolean {
  return a.oid === b.oid && a.size === b.size && !!a.exec === !!b.exec;
}

export interface TreeMerge {
  /** Sorted, canonical entries; meaningful only when `conflicts` is empty. */
  entries: TreeEntry[];
  conflicts: Conflict[];
}

/** Merges three directory manifests file by file. */
export function mergeTrees(base: readonly TreeEntry[], ours: readonly TreeEntry[], theirs: readonly TreeEntry[]): TreeMerge {
  const b = new Map(base.map((e) => [e.path, e]));
  const o = new Map(ours.map((e) => [e.path, e]));
  const t = new Map(theirs.map((e) => [e.path, e]));
  const paths = [...new Set([...b.keys(), ...o.keys(), ...t.keys()])].sort(compareStrings);
  const entries: TreeEntry[] = [];
  const conflicts: Conflict[] = [];
  for (const p of paths) {
    const r = pick3(b.get(p), o.get(p), t.get(p), sameTreeEntry);
    if ('conflict' in r) conflicts.push({ path: p, kind: r.conflict });
    else if (r.value) entries.push(r.value);
  }
  for (const c of pathClashes(entries)) conflicts.push(c); // a loop: a manifest can clash in a million places
  conflicts.sort((x, y) => compareStrings(x.path, y.path));
  return { entries, conflicts };
}

/**
 * Clean per-file merges can still combine into a tree no checkout could write: `a` added as a
 * file on one side and `a/b` on the other, or `Data.csv` beside `data.csv`.
 */
function pathClashes(entries: readonly TreeEntry[]): Conflict[] {
  const out: Conflict[] = [];
  const paths = new Set(entries.map((e) => e.path));
  const folded = new Map<string, string>();
  for (const e of entries) {
    for (let i = e.path.indexOf('/'); i !== -1; i = e.path.indexOf('/', i + 1)) {
      const dir = e.path.slice(0, i);
      if (paths.has(dir)) out.push({ path: dir, kind: 'path-clash' }, { path: e.path, kind: 'path-clash' });
    }
    const f = foldedPath(e.path);
    const other = folded.get(f);
    if (other !== undefined) out.push({ path: other, kind: 'path-clash' }, { path: e.path, kind: 'path-clash' });
    else folded.set(f, e.path);
  }
  const seen = new Set<string>();
  return out.filter((c) => (seen.has(c.path) ? false : (seen.add(c.path), true)));
}

export function sameOut(a: PointerOut, b: PointerOut): boolean {
  return a.path === b.path && a.hash === b.hash && a.oid === b.oid && a.size === b.size
    && a.nfiles === b.nfiles && !!a.exec === !!b.exec;
}

/** One out of a merged pointer: settled, or two directory versions whose manifests must be merged. */
export type OutMerge =
  | { kind: 'take'; out: PointerOut }
  | { kind: 'trees'; base?: PointerOut; ours: PointerOut; theirs: PointerOut };

export interface PointerMerge {
  outs: OutMerge[];
  desc?: string;
  /** Outs (by path) that conflict as a whole. */
  conflicts: Conflict[];
  /** Set when the description changed differently on both sides. */
  descConflict?: ConflictKind;
}

/**
 * Merges three pointers out by out (matched by path). An out changed on both sides is left for a
 * manifest merge when both versions are directories of the same hash algorithm; any other double
 * change is a conflict. `base` is undefined when the pointer did not exist in the merge base.
 */
export function mergePointers(base: Pointer | undefined, ours: Pointer, theirs: Pointer): PointerMerge {
  const b = new Map((base?.outs ?? []).map((o) => [o.path, o]));
  const o = new Map(ours.outs.map((x) => [x.path, x]));
  const t = new Map(theirs.outs.map((x) => [x.path, x]));
  const order = [...ours.outs.map((x) => x.path), ...theirs.outs.map((x) => x.path).filter((p) => !o.has(p))];
  const outs: OutMerge[] = [];
  const conflicts: Conflict[] = [];
  for (const p of order) {
    const bo = b.get(p);
    const oo = o.get(p);
    const to = t.get(p);
    const r = pick3(bo, oo, to, sameOut);
    if (!('conflict' in r)) {
      if (r.value) outs.push({ kind: 'take', out: r.value });
      continue;
    }
    if (oo && to && isTreeOid(oo.oid) && isTreeOid(to.oid) && oo.hash === to.hash) {
      const sameAlgoBase = bo && isTreeOid(bo.oid) && bo.hash === oo.hash ? bo : undefined;
      outs.push({ kind: 'trees', ...(sameAlgoBase ? { base: sameAlgoBase } : {}), ours: oo, theirs: to });
    } else {
      conflicts.push({ path: p, kind: r.conflict });
    }
  }
  const res: PointerMerge = { outs, conflicts };
  const d = pick3(base?.desc, ours.desc, theirs.desc, (x, y) => x === y);
  if ('conflict' in d) res.descConflict = d.conflict;
  else if (d.value !== undefined) res.desc = d.value;
  return res;
}

export interface LockMerge {
  lock: Lock;
  /** Stage names changed differently on both sides. */
  conflicts: Conflict[];
}

/**
 * Two records of a stage are the same run when everything but the environment is: the same
 * inputs gave the same outputs on two machines, and either record is true (ours is kept).
 */
function sameStage(a: LockStage, b: LockStage): boolean {
  return canonicalJson(canonicalStage(withoutEnvironment(a))) === canonicalJson(canonicalStage(withoutEnvironment(b)));
}

function withoutEnvironment(s: LockStage): LockStage {
  if (s.environment === undefined) return s;
  const { environment: _, ...rest } = s;
  return rest;
}

/** Merges rvc.lock stage by stage. A stage's record is one unit: its outputs are not merged. */
export function mergeLocks(base: Lock | undefined, ours: Lock, theirs: Lock): LockMerge {
  const b = base ?? emptyLock();
  const get = (l: Lock, n: string): LockStage | undefined => (Object.hasOwn(l.stages, n) ? l.stages[n] : undefined);
  const names = [...new Set([...Object.keys(b.stages), ...Object.keys(ours.stages), ...Object.keys(theirs.stages)])].sort(compareStrings);
  const stages: Record<string, LockStage> = {};
  const conflicts: Conflict[] = [];
  for (const n of names) {
    const r = pick3(get(b, n), get(ours, n), get(theirs, n), sameStage);
    if ('conflict' in r) conflicts.push({ path: n, kind: r.conflict });
    else if (r.value) setOwn(stages, n, r.value);
  }
  return { lock: { schema: LOCK_SCHEMA, stages }, conflicts };
}
