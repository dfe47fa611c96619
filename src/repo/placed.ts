import fs from 'node:fs';
import path from 'node:path';
import { isRvcError } from '../errors.js';
import { HASH_ALGOS, isValidOid, type HashAlgo } from '../model/oid.js';
import { POINTER_EXT } from '../model/pointer.js';
import { isInside, unsafeRelPathReason } from '../model/paths.js';
import { readTextIfExists, writeFileAtomic } from '../fsutil/atomic.js';
import { HashState } from '../hashing/state.js';
import { gitTrackedUnder } from '../scm/git.js';
import { applyCheckout, planRemoval } from '../odb/checkout.js';
import type { CommonOptions, Repo } from './repo.js';

/**
 * The outputs rvc has placed or recorded in this workspace (`.rvc/tmp/placed.json`): what add,
 * commit, checkout, move, import/update and repro put there. It is what lets checkout tell data
 * it placed and nothing records any more (after `git checkout` of a commit without its pointer
 * or rvc.lock entry) from files rvc never touched, which it leaves alone. The file belongs to
 * this clone; every writer holds the repository lock.
 */

export const PLACED_FILE = 'placed.json';

export interface PlacedOut {
  /** Repository-relative POSIX path of the output. */
  path: string;
  hash: HashAlgo;
  oid: string;
}

function placedFile(repo: Repo): string {
  return path.join(repo.tmpDir, PLACED_FILE);
}

/**
 * The record, by path. A file that is missing, damaged or names a path rvc would refuse (outside
 * the workspace, inside .git or .rvc) counts as empty: it is never trusted, only replaced.
 */
function readPlaced(repo: Repo): Map<string, PlacedOut> {
  const map = new Map<string, PlacedOut>();
  let raw: unknown;
  try {
    const text = readTextIfExists(placedFile(repo));
    if (text === undefined) return map;
    raw = JSON.parse(text);
  } catch {
    return map;
  }
  const outs = (raw as { v?: unknown; outs?: unknown } | null)?.outs;
  if ((raw as { v?: unknown }).v !== 1 || !Array.isArray(outs)) return map;
  for (const o of outs as unknown[]) {
    const e = o as Partial<PlacedOut> | null;
    if (typeof e !== 'object' || e === null || typeof e.path !== 'string' || unsafeRelPathReason(e.path)
      || !HASH_ALGOS.includes(e.hash as HashAlgo) || !isValidOid(e.oid, e.hash as HashAlgo)) return new Map();
    map.set(e.path, { path: e.path, hash: e.hash as HashAlgo, oid: e.oid as string });
  }
  return map;
}

function writePlaced(repo: Repo, map: Map<string, PlacedOut>): void {
  const outs = [...map.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  fs.mkdirSync(repo.tmpDir, { recursive: true });
  // Losing it costs only the removal of outputs nothing records: no fsync.
  writeFileAtomic(placedFile(repo), `${JSON.stringify({ v: 1, outs })}\n`, { fsync: false });
}

/** Records outputs a command put in the workspace or recorded (call under the repository lock). */
export function notePlaced(repo: Repo, outs: readonly PlacedOut[]): void {
  if (outs.length === 0) return;
  const map = readPlaced(repo);
  let changed = false;
  for (const o of outs) {
    const had = map.get(o.path);
    if (had && had.hash === o.hash && had.oid === o.oid) continue;
    map.set(o.path, { path: o.path, hash: o.hash, oid: o.oid });
    changed = true;
  }
  if (changed) writePlaced(repo, map);
}

/** Drops outputs from the record: checkout will not remove them (call under the repository lock). */
export function forgetPlaced(repo: Repo, rels: readonly string[]): void {
  if (rels.length === 0) return;
  const map = readPlaced(repo);
  let changed = false;
  for (const r of rels) changed = map.delete(r) || changed;
  if (changed) writePlaced(repo, map);
}

/** Outputs of the record that are not among `current` (the paths recorded now). */
export function unrecorded(repo: Repo, current: ReadonlySet<string>): PlacedOut[] {
  return [...readPlaced(repo).values()].filter((o) => !current.has(o.path));
}


export interface UnrecordedResult {
  /** Outputs deleted from the workspace. */
  removed: string[];
  /** Outputs left in place because they hold changes that are not in the cache. */
  kept: string[];
}

/**
 * `rvc checkout` without targets: deletes each output this workspace's record lists that no
 * pointer and no rvc.lock entry records any more, as DVC does — only when all its content is in
 * the cache (the checkout planner's "would lose data" check), unless `force`. One holding
 * unsaved changes is kept, reported in `kept` and through `onWarning`. Never touches a path
 * that overlaps an output recorded now, one under which git tracks files, one whose pointer file
 * exists (a pointer git ignores), or the cache. Call under the repository lock, with `recorded`
 * every output the workspace records now (the output index's list: the caller could read it, so
 * a damaged pointer or rvc.lock has already stopped the command).
 */
export function removeUnrecorded(repo: Repo, recorded: readonly { rel: string }[], opts: CommonOptions & { force?: boolean } = {}): UnrecordedResult {
  const res: UnrecordedResult = { removed: [], kept: [] };
  if (readPlaced(repo).size === 0) return res;
  const current = new Set(recorded.map((o) => o.rel));
  const gone = unrecorded(repo, current);
  if (gone.length === 0) return res;
  // Files git tracks there now (the older commit kept that data in git): git owns them.
  let inGit: string[] = [];
  if (repo.scm) {
    try {
      inGit = gitTrackedUnder(repo.root, gone.map((o) => o.path));
    } catch (e) {
      if (isRvcError(e)) return res;
      throw e;
    }
  }
  const forget: string[] = [];
  for (const o of gone) {
    const abs = path.join(repo.root, o.path);
    // Inside or around an output recorded now: that output owns the place.
    if ([...current].some((c) => isInside(o.path, c) || isInside(c, o.path)) || insideEither(abs, repo.cacheDir)
      || inGit.some((f) => isInside(f, o.path))) {
      forget.push(o.path);
      continue;
    }
    if (fs.existsSync(abs + POINTER_EXT)) continue;
    const state = repo.stateFor(o.path, o.hash);
    const copts = {
      odb: repo.odbFor(o.hash), state, ignore: repo.ignore, repoRoot: repo.root, linkTypes: repo.linkTypes, jobs: repo.cacheJobs,
      ...(opts.force ? { force: true } : {}),
    };
    let why: string | undefined;
    try {
      const plan = planRemoval({ abs, repoRel: o.path }, copts);
      if (plan.unsafe.length) {
        state.save();
        const shown = plan.unsafe.slice(0, 3).join(', ') + (plan.unsafe.length > 3 ? ` and ${plan.unsafe.length - 3} more` : '');
        why = `it holds changes that are not in the cache (${shown})`;
      } else {
        const existed = fs.existsSync(abs);
        const r = applyCheckout(plan, copts);
        if (r.deleted.length || (existed && !fs.existsSync(abs))) res.removed.push(o.path);
        forget.push(o.path);
        HashState.remove(path.join(repo.tmpDir, 'state'), o.hash, o.path);
      }
    } catch (e) {
      if (!isRvcError(e)) throw e;
      why = e.message;
    }
    if (why !== undefined) {
      res.kept.push(o.path);
      opts.onWarning?.(`'${o.path}' is no longer recorded by any pointer or rvc.lock, but was kept: ${why}; delete it by hand, `
        + `track it again with \`rvc add ${o.path}\`, or discard it with \`rvc checkout --force\``);
    }
  }
  forgetPlaced(repo, forget);
  return res;
}

function insideEither(a: string, b: string): boolean {
  const rel = path.relative(a, b);
  const back = path.relative(b, a);
  const under = (r: string): boolean => r === '' || (!r.startsWith('..') && !path.isAbsolute(r));
  return under(rel) || under(back);
}
