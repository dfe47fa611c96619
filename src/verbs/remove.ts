import fs from 'node:fs';
import path from 'node:path';
import { RvcError } from '../errors.js';
import { removeTree } from '../fsutil/remove.js';
import { lockFileOf, splitStageId, stageId } from '../model/names.js';
import { writeFileAtomic } from '../fsutil/atomic.js';
import { POINTER_EXT } from '../model/pointer.js';
import { removeGitignoreEntry, gitTrackedUnder } from '../scm/git.js';
import { Repo, type CommonOptions } from '../repo/repo.js';
import { gitignoreStillNeeded, recordedForGitignore } from '../repo/overlaps.js';
import { forgetPlaced } from '../repo/placed.js';

export interface RemoveOptions extends CommonOptions {
  /** Also delete the tracked data from the workspace. */
  outs?: boolean;
}

export interface RemoveResult {
  /** For a stage: `pointerFile` is rvc.yaml and `stage` its name; `paths` are its outputs. */
  removed: { pointerFile: string; paths: string[]; dataDeleted: boolean; stage?: string }[];
  /**
   * Repository-relative files whose change git should record (`git add` stages a deletion too):
   * the deleted pointers git knew and the edited `.gitignore` files. rvc does not touch git's index.
   */
  toGit: string[];
}

/**
 * Stops tracking: deletes pointer files and their .gitignore lines (the cache is untouched).
 * The deletions are left for the user to commit; until then git's index still lists the
 * pointers, but rvc works on the workspace and no longer sees them.
 *
 * A target that is not a pointer but a stage of rvc.yaml (`train`, `rvc.yaml:train`, a foreach
 * group as a whole) removes the stage from rvc.yaml (the rest of the file kept) and its entry
 * from rvc.lock, and the .gitignore lines of its outputs; with `outs`, the outputs themselves.
 */
export async function remove(targets: string[], opts: RemoveOptions = {}): Promise<RemoveResult> {
  if (targets.length === 0) throw new RvcError('USAGE', 'nothing to remove', { hint: 'name the pointer files: `rvc remove data.rvc`' });
  const repo = Repo.open(opts.cwd);
  return repo.withLock('rvc remove', opts, async () => {
    const removed: RemoveResult['removed'] = [];
    const files: string[] = [];
    const stageTargets: string[] = [];
    const hasPipeline = repo.pipelineFiles().pipelines.length > 0;
    for (const t of targets) {
      let rel: string | undefined;
      try {
        rel = repo.resolve(t, opts.cwd).rel;
      } catch (e) {
        if (!hasPipeline) throw e; // `rvc.yaml:stage` does not name a path
      }
      const ptr = rel === undefined ? undefined : rel.endsWith(POINTER_EXT) ? rel : `${rel}${POINTER_EXT}`;
      if (ptr !== undefined && fs.existsSync(path.join(repo.root, ptr))) files.push(ptr);
      else if (hasPipeline && !t.endsWith(POINTER_EXT)) stageTargets.push(t);
      else throw new RvcError('NOT_TRACKED', `'${t}' is not a pointer file and no '${ptr ?? `${t}${POINTER_EXT}`}' exists`, { path: t, hint: 'name the .rvc file of the data' });
    }
    const stages = stageTargets.length ? await removeStages(repo, stageTargets, opts) : undefined;
    const touched = new Set<string>(stages?.touched ?? []);
    // A .gitignore line another output still needs (a stage's, another pointer's) stays.
    const leaving = new Set(files);
    const recordedAll = repo.scm ? (stages ? stages.recorded : await recordedForGitignore(repo)) : [];
    const recorded = recordedAll?.filter((r) => !(r.kind === 'stage' && r.stage !== undefined && stages?.names.has(r.stage)));
    const needed = (rel: string): boolean => gitignoreStillNeeded(rel, leaving, recorded);
    for (const st of stages?.removed ?? []) {
      for (const o of st.outs) {
        const abs = path.join(repo.root, o.repoPath);
        if (repo.scm && o.cache && !needed(o.repoPath) && removeGitignoreEntry(path.dirname(abs), path.basename(abs))) {
          touched.add(path.posix.join(path.posix.dirname(o.repoPath), '.gitignore'));
        }
        if (opts.outs) removeTree(abs, o.repoPath);
      }
      removed.push({ pointerFile: splitStageId(st.name).file, stage: st.name, paths: st.outs.map((o) => o.repoPath), dataDeleted: !!opts.outs });
    }
    for (const ptr of files) {
      const outs = repo.outsOf(ptr);
      touched.add(ptr);
      for (const o of outs) {
        if (repo.scm && !needed(o.rel) && removeGitignoreEntry(path.dirname(o.abs), path.basename(o.abs))) touched.add(path.posix.join(path.posix.dirname(o.rel), '.gitignore'));
        if (opts.outs) fs.rmSync(o.abs, { recursive: true, force: true });
      }
      fs.rmSync(path.join(repo.root, ptr), { force: true });
      removed.push({ pointerFile: ptr, paths: outs.map((o) => o.rel), dataDeleted: !!opts.outs });
    }
    // The data stays (or was deleted on request): a later checkout must not delete it as unrecorded.
    forgetPlaced(repo, removed.flatMap((r) => r.paths));
    let toGit: string[] = [];
    if (repo.scm && touched.size) {
      // Only what git can stage: a file that still exists, or a deleted one git has in its index.
      const gone = [...touched].filter((f) => !fs.existsSync(path.join(repo.root, f)));
      let known: Set<string>;
      try {
        known = new Set(gone.length ? gitTrackedUnder(repo.root, gone) : []);
      } catch {
        known = new Set();
      }
      toGit = [...touched].filter((f) => known.has(f) || fs.existsSync(path.join(repo.root, f))).sort();
    }
    return { removed, toGit };
  });
}

/**
 * Removes the named stages from rvc.yaml and their entries from rvc.lock (under the caller's
 * repository lock); returns what they declared, and the recorded outputs as they were before
 * (for the .gitignore decisions).
 */
async function removeStages(repo: Repo, targets: string[], opts: RemoveOptions): Promise<{
  removed: { name: string; outs: { repoPath: string; cache: boolean }[] }[]; names: Set<string>; touched: string[]; recorded: Awaited<ReturnType<typeof recordedForGitignore>>;
}> {
  const { removeStage, allOutputs, writtenStageOf } = await import('../model/pipeline.js');
  const { parseLock, serializeLock, withoutStage, lockedStage } = await import('../model/lock.js');
  const { readPipelineCached, readRepoText } = await import('../repo/project.js');
  const recorded = repo.scm ? await recordedForGitignore(repo) : [];
  const declared = readPipelineCached(repo)?.stages ?? [];
  const here = repo.dirOf(opts.cwd ?? process.cwd());
  const removed: { name: string; outs: { repoPath: string; cache: boolean }[] }[] = [];
  const names = new Set<string>();
  // Each pipeline file is read once, cut for each of its stages, and written once.
  const texts = new Map<string, string>();
  for (const t of targets) {
    const w = writtenStageOf(t, declared, here);
    if (!w || w.partial) {
      const gen = w ? stageId(w.file, w.written) : undefined;
      throw new RvcError(gen !== undefined ? 'STAGE_NOT_FOUND' : 'NOT_TRACKED', gen !== undefined
        ? `stage '${t}' is generated by '${gen}'; only the whole group can be removed`
        : `'${t}' is neither a pointer file nor a stage of a pipeline file`, {
        path: t, hint: gen !== undefined ? `remove '${gen}', or edit its foreach list` : 'name the .rvc file of the data, or a stage (`rvc stage list -P`)',
      });
    }
    texts.set(w.file, removeStage(texts.get(w.file) ?? readRepoText(repo, w.file) ?? '', w.written, w.file));
    for (const s of w.stages) {
      names.add(s.name);
      removed.push({ name: s.name, outs: allOutputs(s).map((o) => ({ repoPath: o.repoPath, cache: o.cache })) });
    }
  }
  const touched: string[] = [];
  for (const [file, text] of texts) {
    writeFileAtomic(path.join(repo.root, file), text);
    touched.push(file);
    const lockFile = lockFileOf(file);
    const lockText = readRepoText(repo, lockFile);
    if (lockText === undefined || lockText.trim() === '') continue;
    let lock = parseLock(lockText, lockFile);
    let changed = false;
    for (const id of names) {
      const { file: f, local } = splitStageId(id);
      if (f !== file || !lockedStage(lock, local)) continue;
      lock = withoutStage(lock, local);
      changed = true;
    }
    if (changed) {
      writeFileAtomic(path.join(repo.root, lockFile), serializeLock(lock, lockFile));
      touched.push(lockFile);
    }
  }
  // The outputs stay (or are deleted on request): a later checkout must not delete them as unrecorded.
  forgetPlaced(repo, removed.flatMap((r) => r.outs.map((o) => o.repoPath)));
  return { removed, names, touched, recorded };
}
