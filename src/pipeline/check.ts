import { RvcError, type Failure } from '../errors.js';
import { cmdEquals, type LockFileEntry, type LockStage } from '../model/lock.js';
import { diffParams, selectParams, type ParamsByFile } from '../model/params.js';
import { compareStrings, setOwn } from '../model/values.js';
import { allOutputs, isCallbackStage, isStrictKey, resolveEnv, type Stage } from '../model/pipeline.js';
import { environmentDrift, type EnvironmentChange, type EnvironmentRecord } from '../model/environment.js';
import { entryFromBuilt, type Workspace } from './workspace.js';

/**
 * Why a stage is stale, one entry per difference between rvc.lock and the workspace, in the
 * order `rvc status` prints them. Structured, so the CLI can say "changed params: lr 0.1 → 0.01"
 * and scripts can read `--json`.
 */
export type StaleReason =
  | { kind: 'not-in-lock' }
  | { kind: 'always-changed' }
  | { kind: 'forced' }
  /** `forceDownstream`: an upstream stage of this run ran or was restored. */
  | { kind: 'forced-downstream'; stage: string }
  | { kind: 'cmd-changed'; old: string[]; new: string[] }
  | { kind: 'dep-changed'; path: string }
  | { kind: 'dep-missing'; path: string }
  | { kind: 'dep-added'; path: string }
  | { kind: 'dep-removed'; path: string }
  | { kind: 'param-changed'; file: string; key: string; change: 'added' | 'removed' | 'modified'; old?: unknown; new?: unknown }
  | ({ kind: 'params-unreadable'; file: string } & Pick<Failure, 'code' | 'message'>)
  | { kind: 'env-changed'; name: string; old?: string | null; new?: string | null }
  /** A difference of the recorded environment the project made strict (`environment: {strict: …}`). */
  | { kind: 'environment-changed'; key: string; old?: unknown; new?: unknown }
  | { kind: 'out-missing'; path: string }
  | { kind: 'out-modified'; path: string }
  | { kind: 'out-not-cached'; path: string }
  | { kind: 'out-added'; path: string }
  | { kind: 'out-removed'; path: string }
  /** Only in a dry run: an upstream stage would run first, so this one may run too. */
  | { kind: 'upstream'; stage: string };

/** The inputs of a stage as they are now: what a run records and what the run-cache is keyed by. */
export interface StageInputs {
  deps: LockFileEntry[];
  params: ParamsByFile;
  env: Record<string, string | null>;
}

export interface StageCheck {
  reasons: StaleReason[];
  /** Undefined when an input is missing or unreadable (the stage cannot run). */
  inputs?: StageInputs;
  /** Why the stage cannot run as things are. */
  blocker?: RvcError;
  /** Differences from the recorded environment (informational; strict ones are also reasons). */
  drift?: EnvironmentChange[];
}

export interface CheckOptions {
  /** Process environment the stage's `env:` values are read from. */
  environ: Readonly<Record<string, string | undefined>>;
  /** Skip the outputs (a stage about to run removes them anyway). */
  skipOuts?: boolean;
  /** The environment now; without it the recorded one is not compared. */
  environment?: EnvironmentRecord;
  /** Which environment differences make the stage stale (the project's `environment: {strict}`). */
  strict?: boolean | readonly string[];
}

/** Differences between a recorded environment and `now`; none when nothing was recorded. */
export function stageDrift(locked: LockStage | undefined, now: EnvironmentRecord | undefined): EnvironmentChange[] {
  return locked?.environment && now ? environmentDrift(locked.environment, now) : [];
}

/** The current values of a stage's params, by params file (repository path). */
export function currentParams(ws: Workspace, stage: Stage): ParamsByFile {
  const out: ParamsByFile = {};
  for (const p of stage.params) {
    const obj = ws.paramsFile(p.repoPath);
    const vals = selectParams(obj, p.keys, p.repoPath);
    setOwn(out, p.repoPath, vals);
  }
  return out;
}

/**
 * Compares a stage with its rvc.lock entry. Staleness, exactly: no entry; always_changed, or a
 * callback stage (no deps, params or outputs); the command text; the set of deps or a dep's oid
 * (or a dep missing); a param value or the set of params; an env value; the set of outputs, or
 * an output missing, modified or not in the cache.
 * Frozen stages are the caller's business.
 */
export function checkStage(ws: Workspace, stage: Stage, locked: LockStage | undefined, opts: CheckOptions): StageCheck {
  const reasons: StaleReason[] = [];
  let blocker: RvcError | undefined;
  if (!locked) reasons.push({ kind: 'not-in-lock' });
  // A callback stage (no deps, params or outputs) is always changed, as in DVC.
  if (stage.alwaysChanged || isCallbackStage(stage)) reasons.push({ kind: 'always-changed' });
  if (locked && !cmdEquals(locked.cmd, stage.cmd)) {
    reasons.push({ kind: 'cmd-changed', old: typeof locked.cmd === 'string' ? [locked.cmd] : [...locked.cmd], new: [...stage.cmd] });
  }

  // deps
  const algo = ws.repo.odb.algo;
  const lockedDeps = new Map((locked?.deps ?? []).map((d) => [d.path, d]));
  const deps: LockFileEntry[] = [];
  for (const d of [...stage.deps].sort((a, b) => compareStrings(a.repoPath, b.repoPath))) {
    const prev = lockedDeps.get(d.repoPath);
    const b = ws.hash(d.repoPath, algo);
    if (!b) {
      reasons.push({ kind: 'dep-missing', path: d.repoPath });
      blocker ??= new RvcError('PATH_NOT_FOUND', `dependency '${d.repoPath}' of stage '${stage.name}' does not exist`, {
        path: d.repoPath, hint: 'create it, or run the stage that produces it first',
      });
      continue;
    }
    const e = entryFromBuilt(d.repoPath, algo, b);
    deps.push(e);
    if (locked && !prev) reasons.push({ kind: 'dep-added', path: d.repoPath });
    else if (prev && prev.oid !== e.oid) reasons.push({ kind: 'dep-changed', path: d.repoPath });
  }
  if (locked) {
    const now = new Set(stage.deps.map((d) => d.repoPath));
    for (const p of lockedDeps.keys()) if (!now.has(p)) reasons.push({ kind: 'dep-removed', path: p });
  }

  // params
  let params: ParamsByFile = {};
  try {
    params = currentParams(ws, stage);
    if (locked) {
      for (const c of diffParams(locked.params, params)) {
        const r: StaleReason = { kind: 'param-changed', file: c.file, key: c.key, change: c.kind };
        if ('old' in c) r.old = c.old;
        if ('new' in c) r.new = c.new;
        reasons.push(r);
      }
    }
  } catch (e) {
    if (!(e instanceof RvcError)) throw e;
    reasons.push({ kind: 'params-unreadable', file: e.path ?? stage.params[0]?.repoPath ?? 'params.yaml', code: e.code, message: e.message });
    blocker ??= e;
  }

  // env
  const env = resolveEnv(stage, opts.environ);
  if (locked) {
    const names = [...new Set([...Object.keys(env), ...Object.keys(locked.env)])].sort(compareStrings);
    for (const n of names) {
      const inNow = Object.hasOwn(env, n);
      const inLock = Object.hasOwn(locked.env, n);
      if (inNow && inLock && env[n] === locked.env[n]) continue;
      const r: StaleReason = { kind: 'env-changed', name: n };
      if (inLock) r.old = locked.env[n]!;
      if (inNow) r.new = env[n]!;
      reasons.push(r);
    }
  }

  // environment: informational, stale only where the project says so
  const drift = stageDrift(locked, opts.environment);
  for (const c of drift) {
    if (!isStrictKey(c.key, opts.strict ?? false)) continue;
    reasons.push({ kind: 'environment-changed', key: c.key, ...('from' in c ? { old: c.from } : {}), ...('to' in c ? { new: c.to } : {}) });
  }

  // outputs
  if (!opts.skipOuts && locked) {
    const lockedOuts = new Map(locked.outs.map((o) => [o.path, o]));
    const outs = allOutputs(stage);
    for (const o of [...outs].sort((a, b) => compareStrings(a.repoPath, b.repoPath))) {
      const prev = lockedOuts.get(o.repoPath);
      if (!prev) {
        reasons.push({ kind: 'out-added', path: o.repoPath });
        continue;
      }
      const b = ws.hash(o.repoPath, prev.hash);
      if (!b) reasons.push({ kind: 'out-missing', path: o.repoPath });
      else if (b.oid !== prev.oid) reasons.push({ kind: 'out-modified', path: o.repoPath });
      else if (o.cache && !ws.inCache(prev)) reasons.push({ kind: 'out-not-cached', path: o.repoPath });
    }
    const now = new Set(outs.map((o) => o.repoPath));
    for (const p of lockedOuts.keys()) if (!now.has(p)) reasons.push({ kind: 'out-removed', path: p });
  }

  const res: StageCheck = { reasons };
  if (drift.length) res.drift = drift;
  if (blocker) res.blocker = blocker;
  else res.inputs = { deps, params, env };
  return res;
}
