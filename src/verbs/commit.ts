import { RvcError, isRvcError } from '../errors.js';
import { lockFileOf } from '../model/names.js';
import type { Stage } from '../model/pipeline.js';
import { buildOut } from '../odb/build.js';
import { outFromBuilt, relinkFromCache, type AddedOut } from '../repo/record.js';
import { expandTargets, selectOutputs, targetFlagsOf, trackedOf, workspaceOutputs, type TargetFlags } from '../repo/outputs.js';
import { Repo, type CommonOptions } from '../repo/repo.js';
import { notePlaced } from '../repo/placed.js';

export interface CommitOptions extends CommonOptions, TargetFlags {
  /** Pointer files, tracked paths, folders, stage outputs or stages. Default: everything. */
  targets?: string[];
  /** Process environment the stages' `env:` values are read from (default: process.env). */
  environ?: NodeJS.ProcessEnv;
}

/** One output committed: a pointer's, or a stage's (then `pointerFile` is rvc.lock). */
export interface CommittedOut extends AddedOut {
  /** The stage whose rvc.lock entry recorded it. */
  stage?: string;
  /** False for a `cache: false` stage output: recorded by hash, not stored. */
  cached?: boolean;
  /** A stage output rvc.lock already recorded that was not in the cache (`repro --no-commit`), stored now. */
  stored?: boolean;
}

export interface CommitResult {
  committed: CommittedOut[];
  /** Stages that could not be recorded as they are (an output or dependency missing); only without targets. */
  skipped?: string[];
  /** .gitignore files changed to ignore stage outputs (to `git add`). */
  gitignores?: string[];
  /** A lock file was rewritten. */
  lockChanged?: boolean;
  /** The lock files rewritten (to `git add`). */
  lockFiles?: string[];
  /** Stages whose rvc.lock entry was rewritten (with or without outputs). */
  stages?: string[];
  /**
   * The files whose change git should record (`git add`): rewritten pointers, rvc.lock and
   * `.gitignore` files. Empty when the repository is used without git (`core.no_scm`).
   */
  toGit: string[];
}

/**
 * Records the workspace's current content of tracked outputs: each pointer output is stored and
 * its pointer updated; each selected stage is recorded in rvc.lock with its dependencies,
 * params and outputs as they are now (outputs edited by hand become the stage's result, as
 * `dvc commit` does; nothing runs).
 */
export async function commit(opts: CommitOptions = {}): Promise<CommitResult> {
  const repo = Repo.open(opts.cwd);
  const cwd = opts.cwd ?? process.cwd();
  const all = await workspaceOutputs(repo);
  const flags = targetFlagsOf(opts);
  // Glob patterns are expanded once, so that the stages they name are committed below too.
  const targets = await expandTargets(repo, all, opts.targets ?? [], { cwd, ...flags });
  const stageNames = new Set<string>();
  // A stage of rvc.yaml that never ran selects no output here, and is committed below.
  const selected = await selectOutputs(repo, all, targets, { cwd, checkSubpaths: true, ...flags, glob: false });
  const committed: CommittedOut[] = [];
  await repo.withLock('rvc commit', opts, () => {
    const done = new Set<string>();
    for (const { output, subpath } of selected) {
      if (output.kind !== 'pointer') {
        if (output.stage !== undefined) stageNames.add(output.stage);
        continue;
      }
      const t = trackedOf(repo, output);
      if (subpath !== undefined) {
        throw new RvcError('USAGE', `'${t.rel}/${subpath}' is inside a tracked folder`, { path: `${t.rel}/${subpath}`, hint: `commit the whole folder: \`rvc commit ${t.rel}\`` });
      }
      const key = `${t.pointerFile}\0${t.index}`;
      if (done.has(key)) continue;
      done.add(key);
      const state = repo.stateFor(t.rel);
      const built = buildOut(t.abs, t.rel, {
        odb: repo.odb, state, ignore: repo.ignore, repoRoot: repo.root, store: true, jobs: repo.cacheJobs,
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}), ...(opts.onWarning ? { onWarning: opts.onWarning } : {}),
      });
      const out = outFromBuilt(t.out.path, repo.odb.algo, built);
      // Re-read: an earlier out of the same pointer may have been rewritten in this loop.
      const pointer = repo.readPointer(t.pointerFile);
      const changed = pointer.outs[t.index]?.oid !== out.oid || pointer.outs[t.index]?.exec !== out.exec;
      pointer.outs[t.index] = out;
      if (changed) repo.writePointer(t.pointerFile, pointer);
      relinkFromCache(repo, t, out, state, opts);
      committed.push({ path: t.rel, pointerFile: t.pointerFile, oid: out.oid, size: out.size, ...(out.nfiles !== undefined ? { nfiles: out.nfiles } : {}), changed });
    }
    notePlaced(repo, committed.map((c) => ({ path: c.path, hash: repo.odb.algo, oid: c.oid })));
  });
  const res: CommitResult = { committed, toGit: [] };
  if (repo.pipelineFiles().pipelines.length) await commitPipeline(repo, targets, stageNames, opts, res);
  if (repo.scm) {
    res.toGit = [...new Set([
      ...committed.filter((c) => c.changed).map((c) => c.pointerFile),
      ...(res.lockFiles ?? []),
      ...(res.gitignores ?? []),
    ])];
  }
  return res;
}

/**
 * The stages to record: every stage of rvc.yaml without targets (frozen ones and those whose
 * outputs or dependencies are missing are left as they are), else the stages the targets name or
 * whose outputs they name.
 */
async function commitPipeline(repo: Repo, targets: string[], fromOutputs: Set<string>, opts: CommitOptions, res: CommitResult): Promise<void> {
  const { loadProject, resolveStageTargets } = await import('../repo/project.js');
  const { commitStages } = await import('../pipeline/record.js');
  const { ancestors } = await import('../model/dag.js');
  const { Workspace } = await import('../pipeline/workspace.js');
  const project = loadProject(repo);
  let stages: Stage[];
  if (!targets.length) {
    stages = project.graph.names.map((n) => project.graph.stages.get(n)!).filter((s) => !s.frozen);
  } else {
    const names = new Set([...fromOutputs].filter((n) => project.graph.stages.has(n)));
    for (const t of targets) {
      try {
        for (const n of resolveStageTargets(project, [t], opts.cwd ?? process.cwd())) names.add(n);
      } catch (e) {
        if (!isRvcError(e)) throw e;
      }
    }
    // With deps, the stages upstream of those named too, whether or not they have run.
    if (opts.withDeps) for (const n of [...names]) for (const a of ancestors(project.graph, n)) names.add(a);
    stages = [...names].sort().map((n) => project.graph.stages.get(n)!);
  }
  if (!stages.length) return;
  const r = await commitStages(repo, new Workspace(repo), project.lock, stages, { ...opts, ...(targets.length ? { required: true } : {}) });
  for (const o of r.outs) {
    res.committed.push({
      path: o.path, pointerFile: lockFileOf(project.graph.stages.get(o.stage)!.file), oid: o.entry.oid, size: o.entry.size,
      ...(o.entry.nfiles !== undefined ? { nfiles: o.entry.nfiles } : {}), changed: o.changed, stage: o.stage, cached: o.cached,
      ...(o.stored ? { stored: true } : {}),
    });
  }
  if (r.skipped.length) res.skipped = r.skipped.map((s) => s.stage);
  if (r.gitignores.length) res.gitignores = r.gitignores;
  if (r.lockChanged) res.lockChanged = true;
  if (r.lockFiles.length) res.lockFiles = r.lockFiles;
  if (r.recorded.length) res.stages = r.recorded;
}
