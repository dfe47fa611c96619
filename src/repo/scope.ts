import { RvcError, isRvcError } from '../errors.js';
import type { PointerOut } from '../model/pointer.js';
import { openHistory, scopeHasRevs, type RevScope } from './history.js';
import { matchTarget, type Repo, type TrackedOut } from './repo.js';

/** One output a command works on, recorded in the workspace or at a git revision. */
export interface ScopedOut {
  /** Repository-relative POSIX path of the data. */
  rel: string;
  /** Repository-relative path of the pointer file or rvc.lock that records it. */
  file: string;
  out: PointerOut;
  /** Where it is recorded, for messages: `data` in the workspace, `v1.0:data` at a revision. */
  where: string;
  /** Recorded by a stage in rvc.lock at a revision (possibly a `cache: false` output). */
  fromLock: boolean;
  /** Only this part of a tracked folder is wanted. */
  subpath?: string;
  /** Recorded by an `rvc import` pointer: the data belongs to another repository. */
  imported?: boolean;
  /** The workspace output, for outputs recorded in the workspace. */
  tracked?: TrackedOut;
}

/**
 * The outputs recorded (by pointers and rvc.lock) at the revisions `scope` names, read from git
 * objects without a checkout. Each distinct (file, path, oid) appears once, labelled by the first
 * revision that records it, so 500 commits sharing most pointers cost little more than one.
 */
export async function revisionOuts(repo: Repo, scope: RevScope): Promise<{ outs: ScopedOut[]; revisions: string[] }> {
  if (!scopeHasRevs(scope)) return { outs: [], revisions: [] };
  const history = openHistory(repo.root);
  try {
    const seen = new Set<string>();
    const res: ScopedOut[] = [];
    const revs = history.resolveScope(scope);
    for (const [commit, label] of revs) {
      for (const o of await history.outsAt(commit, label)) {
        const key = `${o.file}\0${o.rel}\0${o.out.hash}\0${o.out.oid}`;
        if (seen.has(key)) continue;
        seen.add(key);
        res.push({ rel: o.rel, file: o.file, out: o.out, where: `${label}:${o.rel}`, fromLock: o.kind !== 'pointer', ...(o.pointer?.import ? { imported: true } : {}) });
      }
    }
    return { outs: res, revisions: [...revs.values()] };
  } finally {
    history.close();
  }
}

/**
 * The outputs a command covers: the workspace's pointer outputs (narrowed by `targets`) and,
 * when `scope` names revisions, the outputs recorded at each of them, narrowed by the same
 * targets. The workspace is always part of a scope with revisions (as in DVC), so `push
 * --all-tags` never leaves the current data behind. With revisions, a target needs to be tracked
 * in the workspace or at one of them; only one tracked nowhere is an error.
 */
export async function scopedOuts(repo: Repo, targets: string[] = [], cwd: string | undefined, scope: RevScope = {}): Promise<{ outs: ScopedOut[]; revisions: string[] }> {
  const fromWorkspace = (t: string[]): ScopedOut[] => repo.resolveTargets(t, cwd).map(({ tracked, subpath }) => ({
    rel: tracked.rel, file: tracked.pointerFile, out: tracked.out, where: tracked.rel, fromLock: false, tracked,
    ...(tracked.pointer.import ? { imported: true } : {}),
    ...(subpath !== undefined ? { subpath } : {}),
  }));
  if (!scopeHasRevs(scope)) return { outs: fromWorkspace(targets), revisions: [] };
  const res: ScopedOut[] = [];
  const unmatched = new Set<string>();
  // Loops, not push(...): the workspace can hold more outputs than a call takes arguments.
  if (!targets.length) for (const o of fromWorkspace([])) res.push(o);
  for (const t of targets) {
    try {
      for (const o of fromWorkspace([t])) res.push(o);
    } catch (e) {
      if (!isRvcError(e) || e.code !== 'NOT_TRACKED') throw e;
      unmatched.add(t);
    }
  }
  const rels = targets.map((t) => ({ t, rel: repo.resolve(t, cwd).rel }));
  const atRevs = await revisionOuts(repo, scope);
  for (const o of atRevs.outs) {
    if (!rels.length) {
      res.push(o);
      continue;
    }
    for (const { t, rel } of rels) {
      // An rvc.lock output is selected by its own path, not by the lock file's folder.
      const m = matchTarget(rel, o.fromLock ? o.rel : o.file, o.rel);
      if (!m) continue;
      unmatched.delete(t);
      res.push(m.subpath !== undefined ? { ...o, subpath: m.subpath } : o);
    }
  }
  const t = [...unmatched][0];
  if (t !== undefined) {
    throw new RvcError('NOT_TRACKED', `'${t}' is not tracked by rvc in the workspace or at the chosen revisions`, {
      path: t, hint: 'check the path, or widen the revisions (--all-commits)',
    });
  }
  return { outs: res, revisions: atRevs.revisions };
}
