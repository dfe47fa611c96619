import fs from 'node:fs';
import path from 'node:path';
import { RvcError, errnoCode, fromFsError } from '../errors.js';
import { isTreeOid, type HashAlgo } from '../model/oid.js';
import type { LockFileEntry } from '../model/lock.js';
import type { StageOut } from '../model/pipeline.js';
import { POINTER_EXT } from '../model/pointer.js';
import { isInside, reservedNameOf } from '../model/paths.js';
import { isTempName, writeFileAtomic } from '../fsutil/atomic.js';
import { hashBuffer } from '../hashing/hash.js';
import { IGNORE_FILE } from '../fsutil/walk.js';
import { buildOut } from '../odb/build.js';
import { gitTrackedUnder } from '../scm/git.js';
import type { Repo } from '../repo/repo.js';
import { isLockFile, isPipelineFile, lockFileOf, splitStageId } from '../model/names.js';
import { refuseNewStageOutputs } from '../repo/overlaps.js';

/**
 * What a stage's output may be, and what repro may delete. One owner for both `stage add`
 * (which refuses to declare such an output) and `repro` (which refuses to run a stage declaring
 * one, and checks the content it is about to delete).
 */

/** Why a path is one of rvc's or git's own files that no stage may write, or undefined. */
export function reservedReason(rel: string): string | undefined {
  const base = rel.slice(rel.lastIndexOf('/') + 1);
  if (isPipelineFile(rel) || isLockFile(rel)) return `rvc's own ${rel}`;
  if (base === '.gitignore' || base === IGNORE_FILE) return `a ${base} file`;
  const reserved = reservedNameOf(base);
  if (reserved) return `the ${reserved} folder`;
  if (base.endsWith(POINTER_EXT) && base !== POINTER_EXT) return 'a pointer file';
  return undefined;
}

/**
 * Refuses outputs that a stage must never own, before anything is run or written:
 * - rvc.yaml, rvc.lock, a `.gitignore`, `.rvcignore` or `*.rvc` pointer (PATH_OVERLAPS);
 * - a path overlapping data a pointer tracks (PATH_OVERLAPS), or one `.rvcignore` ignores
 *   (PATH_IGNORED): the checks `add` makes, in `src/repo/overlaps.ts`;
 * - a cached output git tracks any file under (PATH_TRACKED_BY_GIT), as DVC refuses; a
 *   `cache: false` output may be in git (metrics committed beside the code are the usual
 *   case) unless what git tracks under it is one of the files above.
 */
export async function refuseForeignOutputs(repo: Repo, stages: readonly { name: string; outs: readonly StageOut[] }[]): Promise<void> {
  const all = stages.flatMap((s) => s.outs.map((o) => ({ stage: s.name, o })));
  if (all.length === 0) return;
  for (const { stage, o } of all) {
    const why = reservedReason(o.repoPath);
    if (why) {
      throw new RvcError('PATH_OVERLAPS', `output '${o.repoPath}' of stage '${stage}' is ${why}, which no stage may write`, {
        path: o.repoPath, details: { stage, paths: [o.repoPath] }, hint: `fix the path in the outs of stage '${stage}' in ${splitStageId(stage).file}`,
      });
    }
  }
  await refuseNewStageOutputs(repo, stages);
  if (!repo.scm) return;
  const inGit = gitTrackedUnder(repo.root, [...new Set(all.map((x) => x.o.repoPath))]);
  for (const f of inGit) {
    const hit = all.find((x) => x.o.repoPath === f || isInside(f, x.o.repoPath));
    if (!hit) continue;
    const { stage, o } = hit;
    const why = reservedReason(f);
    if (o.cache || why) {
      throw new RvcError(why ? 'PATH_OVERLAPS' : 'PATH_TRACKED_BY_GIT', `output '${o.repoPath}' of stage '${stage}' ${why ? `holds ${why} ('${f}')` : `is tracked by git ('${f}')`}`, {
        path: f, details: { stage, paths: [o.repoPath, f] },
        hint: why
          ? `fix the path in ${splitStageId(stage).file}`
          : `fix the path in ${splitStageId(stage).file} if it is a mistake; otherwise stop tracking it in git (\`git rm -r --cached ${f}\`) or declare the output with cache: false`,
      });
    }
  }
}

export interface DeleteCheck {
  repo: Repo;
  stage: string;
  /** The stage's outputs as rvc.lock records them now: content equal to these will be regenerated. */
  recorded: readonly LockFileEntry[];
  /** The hash cache of a path (so outputs rvc wrote are not re-read). */
  state: (rel: string, algo: HashAlgo) => import('../hashing/state.js').HashState;
  /** Delete content saved nowhere (`repro --force`). */
  force: boolean;
  /**
   * Outputs an earlier run of this stage deleted and then let its command (or a restore) write,
   * without recording the result (it failed or was killed): what is there now is the command's
   * leftover, which the stage regenerates. See markRegenerating.
   */
  regenerating?: ReadonlySet<string>;
}

/**
 * Called just before repro deletes outputs: refuses (PATH_OVERLAPS, whatever `force` says) a
 * folder that holds a pointer, an rvc.yaml or rvc.lock, a `.git` or `.rvc` folder;
 * and unless `force`, refuses (CHECKOUT_WOULD_LOSE_DATA, naming the files) to delete a file
 * whose content is neither in the cache nor what rvc.lock records for the output (which the
 * stage is about to regenerate). Files the walk does not hash (ignored by `.rvcignore`) count
 * as unsaved. Hashes come through the hash cache: free for outputs rvc wrote itself.
 */
export function checkDeletable(outs: readonly { repoPath: string }[], c: DeleteCheck): void {
  const unsaved: string[] = [];
  for (const o of outs) {
    const abs = path.join(c.repo.root, o.repoPath);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(abs);
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      throw fromFsError(e, o.repoPath, 'read');
    }
    if (st.isSymbolicLink()) continue; // removing a link loses no content
    const all = st.isDirectory() ? listAll(abs, o.repoPath, c.stage) : undefined;
    if (c.force || c.regenerating?.has(o.repoPath)) continue;
    const rec = c.recorded.find((r) => r.path === o.repoPath);
    const algo = rec?.hash ?? c.repo.odb.algo;
    const odb = c.repo.odbFor(algo);
    const b = buildOut(abs, o.repoPath, {
      odb, state: c.state(o.repoPath, algo), ignore: c.repo.ignore, repoRoot: c.repo.root, store: false,
    });
    if (rec && rec.oid === b.oid) continue;
    if (b.kind === 'file') {
      if (!odb.hasSync(b.oid)) unsaved.push(o.repoPath);
      continue;
    }
    // Per file: in the cache, or as the recorded manifest lists it (when that is in the cache).
    let before: Map<string, string> | undefined;
    if (rec && isTreeOid(rec.oid) && odb.hasSync(rec.oid)) {
      try {
        before = new Map(odb.readTree(rec.oid).map((e) => [e.path, e.oid]));
      } catch {
        before = undefined;
      }
    }
    const hashed = new Set<string>();
    for (const e of b.entries ?? []) {
      hashed.add(e.path);
      if (before?.get(e.path) === e.oid || odb.hasSync(e.oid)) continue;
      unsaved.push(`${o.repoPath}/${e.path}`);
    }
    for (const f of all ?? []) if (!hashed.has(f)) unsaved.push(`${o.repoPath}/${f}`);
  }
  if (unsaved.length === 0) return;
  const shown = unsaved.slice(0, 10).map((p) => `'${p}'`).join(', ') + (unsaved.length > 10 ? ` and ${unsaved.length - 10} more` : '');
  throw new RvcError('CHECKOUT_WOULD_LOSE_DATA', `stage '${c.stage}' would delete ${unsaved.length} file${unsaved.length > 1 ? 's' : ''} of its outputs whose content is not in the cache nor recorded in ${lockFileOf(splitStageId(c.stage).file)}: ${shown}`, {
    path: unsaved[0],
    hint: 'move them away (or save them with `rvc add` elsewhere) and run again, or delete them with `rvc repro --force`',
    details: { stage: c.stage, paths: unsaved, count: unsaved.length },
  });
}

/**
 * Every file under a folder output (relative to it), without stats, except rvc's temp files;
 * refuses a folder holding rvc's or git's own files or folders.
 */
function listAll(absDir: string, repoRel: string, stage: string): string[] {
  const out: string[] = [];
  const rec = (abs: string, rel: string): void => {
    let ents: fs.Dirent[];
    try {
      ents = fs.readdirSync(abs, { withFileTypes: true });
    } catch (e) {
      throw fromFsError(e, rel ? `${repoRel}/${rel}` : repoRel, 'list');
    }
    for (const d of ents) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      // A .gitignore or .rvcignore a command writes into its output folder (a virtualenv does) is
      // content like any other; these never are.
      const why = isPipelineFile(d.name) || isLockFile(d.name) ? `an ${d.name} file`
        : reservedNameOf(d.name) ? `a ${reservedNameOf(d.name)} folder`
          : d.name.endsWith(POINTER_EXT) && d.name !== POINTER_EXT ? 'a pointer file' : undefined;
      if (why) {
        throw new RvcError('PATH_OVERLAPS', `output '${repoRel}' of stage '${stage}' holds ${why} ('${repoRel}/${r}'), so repro will not delete it`, {
          path: `${repoRel}/${r}`, details: { stage, paths: [repoRel, `${repoRel}/${r}`] }, hint: `move '${repoRel}/${r}' out of the output, or fix the path in ${splitStageId(stage).file}`,
        });
      }
      if (d.isDirectory()) rec(path.join(abs, d.name), r);
      else if (!(d.name.startsWith('.') && d.name.endsWith('.tmp') && isTempName(d.name))) out.push(r);
    }
  };
  rec(absDir, '');
  return out;
}

/**
 * A stage's outputs between the moment repro deletes them and the moment the new result is
 * recorded in rvc.lock are the command's to write: `.rvc/tmp/regen/<key>` lists them, written
 * before the first deletion and removed once the rvc.lock entry is written. A run that failed
 * or was killed leaves it, so the next run replaces the leftovers without asking.
 */
function regenFile(repo: Repo, stage: string): string {
  return path.join(repo.tmpDir, 'regen', hashBuffer('blake3', stage).slice(0, 32));
}

export function markRegenerating(repo: Repo, stage: string, outs: readonly string[]): void {
  const f = regenFile(repo, stage);
  try {
    fs.mkdirSync(path.dirname(f), { recursive: true });
  } catch (e) {
    throw fromFsError(e, path.dirname(f), 'create folder');
  }
  writeFileAtomic(f, JSON.stringify({ stage, outs: [...outs] }), { fsync: false });
}

export function clearRegenerating(repo: Repo, stage: string): void {
  try {
    fs.rmSync(regenFile(repo, stage), { force: true });
  } catch {
    // a leftover mark only spares the next run of this stage the content check
  }
}

/** The outputs a failed or killed run of `stage` left to be regenerated (see markRegenerating). */
export function regenerating(repo: Repo, stage: string): Set<string> {
  try {
    const v = JSON.parse(fs.readFileSync(regenFile(repo, stage), 'utf8')) as { stage?: unknown; outs?: unknown };
    if (v.stage !== stage || !Array.isArray(v.outs)) return new Set();
    return new Set(v.outs.filter((x): x is string => typeof x === 'string'));
  } catch {
    return new Set();
  }
}
