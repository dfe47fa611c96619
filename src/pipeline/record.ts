import path from 'node:path';
import { RvcError } from '../errors.js';
import { lockCmd, lockedStage, type Lock, type LockFileEntry, type LockStage } from '../model/lock.js';
import { allOutputs, type Stage } from '../model/pipeline.js';
import { buildOut } from '../odb/build.js';
import { addGitignoreEntry } from '../scm/git.js';
import type { CommonOptions, Repo } from '../repo/repo.js';
import { relinkFromCache } from '../repo/record.js';
import { checkStage, type StaleReason } from './check.js';
import { pinObjects, writeLockEntry, type LockFileWrite } from './lock-io.js';
import { entryFromBuilt, type Workspace } from './workspace.js';

/**
 * Recording what a stage produced: hashing and storing its outputs, writing its rvc.lock entry
 * and the .gitignore lines of its cached outputs, and relinking them from the cache. `repro`
 * does this after a command ran; `commit` does it for outputs changed by hand (as `dvc
 * commit`), without running anything.
 */

/**
 * Hashes the stage's outputs as they are in the workspace, stores the cached ones, and pins
 * their objects (see Repo.pinObjects) until the caller has written the rvc.lock entry naming
 * them and calls `release`. A gc that ended between storing and pinning may have deleted some:
 * they are stored again, now under the pin. With `noStore` (repro --no-commit) the outputs are
 * only hashed: nothing is stored or pinned.
 */
export async function storeOutputs(repo: Repo, ws: Workspace, stage: Stage, opts: CommonOptions & { noStore?: boolean }): Promise<{ outs: LockFileEntry[]; release: () => void }> {
  const algo = repo.odb.algo;
  const releases: (() => void)[] = [];
  const release = (): void => {
    for (const r of releases.splice(0)) r();
  };
  try {
    for (let attempt = 1; ; attempt++) {
      const entries: LockFileEntry[] = [];
      const pins = new Set<string>();
      for (const o of allOutputs(stage)) {
        const abs = path.join(repo.root, o.repoPath);
        const b = buildOut(abs, o.repoPath, {
          odb: repo.odb, state: ws.state(o.repoPath, algo), ignore: repo.ignore, repoRoot: repo.root, store: o.cache && !opts.noStore, jobs: repo.cacheJobs,
          ...(opts.onProgress ? { onProgress: opts.onProgress } : {}), ...(opts.onWarning ? { onWarning: opts.onWarning } : {}),
        });
        ws.remember(o.repoPath, algo, b);
        entries.push(entryFromBuilt(o.repoPath, algo, b));
        if (!o.cache || opts.noStore) continue;
        pins.add(b.oid);
        for (const e of b.entries ?? []) pins.add(e.oid);
      }
      const p = await pinObjects(repo, [...pins].map((oid) => ({ hash: algo, oid })), opts);
      releases.push(p.release);
      if (p.missing.length === 0) return { outs: entries, release };
      if (attempt >= 3) {
        throw new RvcError('OBJECT_MISSING', `the outputs of stage '${stage.name}' kept disappearing from the cache while being stored (${p.missing.length} object${p.missing.length > 1 ? 's' : ''}, e.g. ${p.missing[0]!.oid})`, {
          hint: 'another process is deleting cache objects (a gc, or something outside rvc); run the command again once it has finished',
        });
      }
    }
  } catch (e) {
    release();
    throw e;
  }
}

/**
 * Writes the stage's rvc.lock entry and git-ignores its cached outputs, under the repository
 * lock; the .gitignore files it changed are added to `gitignores`.
 */
export async function recordStage(
  repo: Repo, stage: Stage, entry: LockStage, opts: CommonOptions, gitignores: Set<string>,
): Promise<LockFileWrite> {
  const cached = allOutputs(stage).filter((o) => o.cache);
  const ignoreOuts = repo.scm ? cached : [];
  // Cached outputs are in the workspace as recorded: checkout may remove them once nothing records them.
  const placed = entry.outs.filter((e) => cached.some((o) => o.repoPath === e.path));
  return writeLockEntry(repo, stage.name, entry, opts, () => {
    for (const o of ignoreOuts) {
      const abs = path.join(repo.root, o.repoPath);
      if (addGitignoreEntry(path.dirname(abs), path.basename(abs))) {
        const dir = path.posix.dirname(o.repoPath);
        gitignores.add(dir === '.' ? '.gitignore' : `${dir}/.gitignore`);
      }
    }
  }, placed);
}

/** With a link type other than copy, cached outputs become links to the cache, as after `rvc add`. */
export function relinkOutputs(repo: Repo, ws: Workspace, stage: Stage, entry: LockStage, opts: CommonOptions): void {
  for (const o of allOutputs(stage)) {
    if (!o.cache || o.persist) continue;
    const e = entry.outs.find((x) => x.path === o.repoPath);
    if (!e) continue;
    relinkFromCache(repo, { abs: path.join(repo.root, o.repoPath), rel: o.repoPath },
      { path: path.posix.basename(o.repoPath), hash: e.hash, oid: e.oid, size: e.size, ...(e.nfiles !== undefined ? { nfiles: e.nfiles } : {}), ...(e.exec ? { exec: true } : {}) },
      ws.state(o.repoPath, e.hash), opts);
  }
}

/** One stage output `commit` recorded. */
export interface CommittedStageOut {
  stage: string;
  path: string;
  entry: LockFileEntry;
  cached: boolean;
  /** The stage's rvc.lock entry changed. */
  changed: boolean;
  /** Recorded but not in the cache before (e.g. after `repro --no-commit`), stored now. */
  stored?: boolean;
}

/**
 * `commit` of stages: records each stage's dependencies, params and outputs as they are in the
 * workspace now (storing cached outputs), so outputs edited by hand become the recorded
 * result, as `dvc commit` does. Nothing runs. A stage whose entry already matches is left as it
 * is. `required`: the user named these stages, so one that cannot be recorded (a dependency or
 * output missing) is an error, and any difference is recorded. Otherwise (a commit of
 * everything) only stages whose outputs alone were edited are recorded: a stage whose command,
 * dependencies, params or environment changed needs `repro`, and recording it unasked would
 * hide that (DVC asks first; rvc never prompts) — it is returned in `skipped`, as is one that
 * cannot be recorded.
 */
export async function commitStages(
  repo: Repo, ws: Workspace, lock: Lock, stages: readonly Stage[], opts: CommonOptions & { environ?: NodeJS.ProcessEnv; required?: boolean },
): Promise<{ outs: CommittedStageOut[]; skipped: { stage: string; reasons: StaleReason[] }[]; gitignores: string[]; lockChanged: boolean; lockFiles: string[]; recorded: string[] }> {
  const outs: CommittedStageOut[] = [];
  /** Stages whose rvc.lock entry changed (a stage without outputs too). */
  const recorded: string[] = [];
  const skipped: { stage: string; reasons: StaleReason[] }[] = [];
  const gitignores = new Set<string>();
  let lockChanged = false;
  const lockFiles = new Set<string>();
  for (const stage of stages) {
    const locked = lockedStage(lock, stage.name);
    const check = checkStage(ws, stage, locked, { environ: opts.environ ?? process.env });
    const missing = check.reasons.filter((r) => r.kind === 'out-missing' || r.kind === 'dep-missing');
    if (check.blocker || !check.inputs || missing.length) {
      if (opts.required) {
        const first = missing[0];
        throw check.blocker ?? new RvcError('PATH_NOT_FOUND', `stage '${stage.name}' cannot be committed: ${first && 'path' in first ? `'${first.path}' does not exist` : 'its inputs cannot be read'}`, {
          ...(first && 'path' in first ? { path: first.path } : {}),
          hint: `run the stage (\`rvc repro ${stage.name}\`), or restore its outputs (\`rvc checkout ${stage.name}\`)`,
        });
      }
      skipped.push({ stage: stage.name, reasons: check.reasons });
      continue;
    }
    const outputEdits = check.reasons.every((r) => r.kind === 'out-modified' || r.kind === 'out-not-cached');
    if (!opts.required && !outputEdits) {
      skipped.push({ stage: stage.name, reasons: check.reasons });
      continue;
    }
    const decl = new Map(allOutputs(stage).map((o) => [o.repoPath, o.cache]));
    if (check.reasons.length === 0 && locked) {
      for (const e of locked.outs) outs.push({ stage: stage.name, path: e.path, entry: e, cached: decl.get(e.path) ?? true, changed: false });
      continue;
    }
    const stored = await storeOutputs(repo, ws, stage, opts);
    try {
      const entry: LockStage = { cmd: lockCmd(stage.cmd), deps: check.inputs.deps, params: check.inputs.params, env: check.inputs.env, outs: stored.outs };
      // Outputs a run recorded but did not store (repro --no-commit) are still that run's: its
      // environment stays. Anything else recorded here was not made by a run rvc saw.
      if (locked?.environment && check.reasons.every((r) => r.kind === 'out-not-cached')) entry.environment = locked.environment;
      const r = await recordStage(repo, stage, entry, opts, gitignores);
      if (r.changed) {
        lockChanged = true;
        lockFiles.add(r.lockFile);
        recorded.push(stage.name);
      }
      relinkOutputs(repo, ws, stage, entry, opts);
      const notCached = new Set(check.reasons.flatMap((x) => (x.kind === 'out-not-cached' ? [x.path] : [])));
      for (const e of stored.outs) {
        outs.push({ stage: stage.name, path: e.path, entry: e, cached: decl.get(e.path) ?? true, changed: r.changed, ...(notCached.has(e.path) ? { stored: true } : {}) });
      }
    } finally {
      stored.release();
    }
  }
  return { outs, skipped, gitignores: [...gitignores].sort(), lockChanged, lockFiles: [...lockFiles].sort(), recorded };
}
