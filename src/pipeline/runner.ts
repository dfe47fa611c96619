import fs from 'node:fs';
import path from 'node:path';
import { RvcError, isRvcError, failureOf, fromFsError, type Failure } from '../errors.js';
import { lockCmd, lockedStage, type Lock, type LockFileEntry, type LockStage } from '../model/lock.js';
import { allOutputs, stageFingerprint, type Stage } from '../model/pipeline.js';
import { Scheduler } from './scheduler.js';
import { checkoutOut } from '../odb/checkout.js';
import type { CommonOptions, Repo } from '../repo/repo.js';
import { checkDeletable, clearRegenerating, markRegenerating, regenerating } from './outs-guard.js';
import { noteLinkUse } from '../repo/links.js';
import { checkStage, type StageCheck, type StageInputs, type StaleReason } from './check.js';
import { workspacePointerOutputs } from '../repo/outputs.js';
import type { SyncResult } from '../repo/sync.js';
import { ChildGroup, runShell, type OutputStream } from './exec.js';
import { lockOutputs, pinObjects, type OutputLocks } from './lock-io.js';
import type { PinEntry } from '../odb/pins.js';
import { isTreeOid } from '../model/oid.js';
import { recordStage, relinkOutputs, storeOutputs } from './record.js';
import { lockStamp, readLocks, sameStamp, withFileLock, type LockStamps, type LoadedProject } from '../repo/project.js';
import { readRunEntry, runKey, saveRunEntry } from '../repo/run-cache.js';
import { Workspace } from './workspace.js';
import { removeTree } from '../fsutil/remove.js';
import { isDir } from '../fsutil/stat.js';
import { captureEnvironment } from './environment.js';
import { isStrictKey } from '../model/pipeline.js';
import { environmentDrift, type EnvironmentRecord } from '../model/environment.js';

export type StageRunStatus =
  | 'ran' | 'restored' | 'up to date' | 'frozen' | 'failed' | 'skipped' | 'interrupted' | 'would run' | 'declined';

export interface StageRunResult {
  name: string;
  status: StageRunStatus;
  /** Why the stage ran (or would run); empty when it did not need to. */
  reasons: StaleReason[];
  /** For a failed command: its exit code (null when a signal ended it) and the signal. */
  exitCode?: number | null;
  signal?: string;
  /** The command that failed (one of the stage's commands). */
  failedCmd?: string;
  /** The last lines the failed command wrote to stderr. */
  stderrTail?: string;
  /** A failure that was not the command's exit status (missing dep, output not created…). */
  error?: Failure;
  /** For a skipped stage: the upstream stage that failed (or that `confirm` declined). */
  blockedBy?: string;
  /**
   * With `allowMissing`, an 'up to date' stage whose only changes were missing data: the
   * outputs and dependencies whose recorded data is not in the workspace or the cache.
   */
  missingData?: string[];
  durationMs?: number;
}

export interface ReproResult {
  stages: StageRunResult[];
  /** True when a lock file was rewritten. */
  lockChanged: boolean;
  /** The lock files rewritten (repository paths, sorted). */
  lockFiles: string[];
  /** Lock files from which entries of stages no longer declared were dropped. */
  pruned?: string[];
  /** .gitignore files that gained an entry (repository paths). */
  gitignores: string[];
  /**
   * The files whose change git should record (`git add`); empty when the repository is used
   * without git (`core.no_scm`).
   */
  toGit: string[];
  interrupted: boolean;
  failed: number;
  /** With `pull`: what was downloaded (see MissingPuller in pull-missing.ts). */
  pulled?: SyncResult & { checkedOut: string[] };
}

/** How the runner runs the stages it is given (the options of `rvc repro` but target selection). */
export interface RunnerOptions extends CommonOptions {
  /** Run the selected stages even when nothing changed, and delete output content saved nowhere (`-f`). */
  force?: boolean;
  /** Report what would run; run nothing, write nothing (`--dry`). */
  dry?: boolean;
  /** After a failure, go on with stages that do not depend on it (`-k`). */
  keepGoing?: boolean;
  /** Stages run at once when independent (`-j N`); default 1. */
  jobs?: number;
  /** Never restore outputs from the run-cache; always run the command. */
  noRunCache?: boolean;
  /** Environment for the commands and `env:` values; default process.env. */
  environ?: NodeJS.ProcessEnv;
  /**
   * Aborting it stops the run (what Ctrl-C asks for): the running commands' process groups get
   * the abort reason when it is a signal name (else SIGTERM), nothing is recorded for them, no
   * other stage starts, and the result says `interrupted`. Stages that finished stay recorded.
   */
  signal?: AbortSignal;
  /**
   * Once a stage ran (or was restored), run every stage downstream of it too, even when its own
   * inputs did not change (`--force-downstream`).
   */
  forceDownstream?: boolean;
  /**
   * Skip a stage whose only changes are missing data: outputs missing from the workspace or the
   * cache, and dependencies missing whose recorded data is what rvc.lock or a pointer still
   * records for them (`--allow-missing`).
   */
  allowMissing?: boolean;
  /**
   * Run the stages and record them in rvc.lock, but store no output in the cache and save no
   * run-cache entry (`--no-commit`); `rvc commit` stores them later.
   */
  noCommit?: boolean;
  /**
   * Asked before a stage's commands run (or its outputs are restored); false declines it: the
   * stage is 'declined' and the stages that depend on it are skipped. Calls never overlap.
   */
  confirm?: (e: StageConfirmEvent) => Promise<boolean>;
  /**
   * Called when outputs the runner could restore instead of running (rvc.lock's record of a
   * stage that only lacks its outputs, or a run-cache entry of its inputs) are not all in the
   * cache: may download them (`repro --pull`); the runner then looks again.
   */
  fetchOutputs?: (stage: string, outs: LockFileEntry[]) => Promise<void>;
  /** Aborted after `signal` (a second Ctrl-C): the running commands are killed at once. */
  killSignal?: AbortSignal;
  /** A stage's commands are about to run (not called for outputs restored from the cache). */
  onStageStart?: (e: StageStartEvent) => void;
  onCommand?: (stage: string, cmd: string) => void;
  onStageOutput?: (stage: string, chunk: Buffer, stream: OutputStream) => void;
  onStageEnd?: (r: StageRunResult) => void;
  /** Another process holds a lock on this stage's outputs; the run waits for it. */
  onStageWait?: (stage: string, holder: string) => void;
}

export interface StageConfirmEvent {
  stage: string;
  cmd: string[];
  reasons: StaleReason[];
}

export interface StageStartEvent {
  stage: string;
  cmd: string[];
  reasons: StaleReason[];
}


/**
 * Runs selected stages upstream first (see `repro`). A stage runs when checkStage finds it
 * stale; a stage whose inputs were seen before has its outputs restored from the run-cache
 * instead. After a run its outputs are stored in the cache, git-ignored and recorded in rvc.lock
 * (only that stage's entry is rewritten). The repository lock is taken only for the moment an
 * entry is written, never while a command runs; each running stage holds locks on its outputs.
 */
export class Runner {
  private readonly repo: Repo;
  private readonly ws: Workspace;
  private lock: Lock;
  private stamp: LockStamps;
  private readonly environ: NodeJS.ProcessEnv;
  private readonly children = new ChildGroup();
  private interrupted = false;
  private lockChanged = false;
  private readonly lockFiles = new Set<string>();
  private readonly gitignores = new Set<string>();
  private readonly wouldRun = new Set<string>();
  /** Stages of this run that ran or were restored (for forceDownstream). */
  private readonly changed = new Set<string>();
  private asking: Promise<unknown> = Promise.resolve();
  private pointerOids: Map<string, string> | undefined;
  /** The environment of this run, captured once, when first needed. */
  private captured: Promise<EnvironmentRecord> | undefined;
  /** Captured before any check when the project makes environment differences stale. */
  private environmentNow: EnvironmentRecord | undefined;

  constructor(private readonly project: LoadedProject, private readonly opts: RunnerOptions) {
    this.repo = project.repo;
    this.ws = new Workspace(project.repo);
    this.lock = project.lock;
    this.stamp = project.stamp;
    this.environ = opts.environ ?? process.env;
  }

  async run(selected: string[]): Promise<ReproResult> {
    const { signal, killSignal } = this.opts;
    const stop = (): void => {
      this.interrupted = true;
      this.children.stop(stopSignal(signal?.reason));
    };
    const kill = (): void => {
      this.interrupted = true;
      this.children.stop('SIGKILL');
    };
    if (signal?.aborted) this.interrupted = true;
    if (this.strict() !== false) this.environmentNow = await this.environment();
    signal?.addEventListener('abort', stop);
    killSignal?.addEventListener('abort', kill);
    try {
      return await this.schedule(selected);
    } finally {
      signal?.removeEventListener('abort', stop);
      killSignal?.removeEventListener('abort', kill);
    }
  }

  private async schedule(selected: string[]): Promise<ReproResult> {
    const jobs = Math.max(1, Math.floor(this.opts.jobs ?? 1));
    const sched = new Scheduler(this.project.graph, selected);
    const results = new Map<string, StageRunResult>();
    const running = new Map<string, Promise<void>>();
    let failedAny = false;
    const end = (r: StageRunResult) => {
      results.set(r.name, r);
      this.opts.onStageEnd?.(r);
    };
    for (;;) {
      if (!this.interrupted && (this.opts.keepGoing || !failedAny)) {
        for (const name of sched.ready()) {
          if (running.size >= jobs) break;
          sched.start(name);
          const p = this.runOne(name).catch((e: unknown) => failure(name, e)).then((r) => {
            running.delete(name);
            end(r);
            const ok = r.status !== 'failed' && r.status !== 'interrupted' && r.status !== 'declined';
            if (!ok && r.status !== 'declined') failedAny = true;
            if (r.status === 'ran' || r.status === 'restored') this.changed.add(name);
            for (const s of sched.finish(name, ok)) {
              end({ name: s, status: 'skipped', reasons: [], blockedBy: name });
            }
          });
          running.set(name, p);
        }
      }
      if (running.size === 0) break;
      await Promise.race(running.values());
    }
    // Stages never started: the run was stopped by a failure (without -k) or interrupted.
    for (const name of selected) {
      if (!results.has(name)) end({ name, status: 'skipped', reasons: [] });
    }
    const stages = selected.map((n) => results.get(n)!);
    return {
      stages,
      lockChanged: this.lockChanged,
      lockFiles: [...this.lockFiles].sort(),
      gitignores: [...this.gitignores].sort(),
      toGit: this.repo.scm ? [...[...this.lockFiles].sort(), ...[...this.gitignores].sort()] : [],
      interrupted: this.interrupted,
      failed: stages.filter((s) => s.status === 'failed').length,
    };
  }

  /** Re-reads the lock files when another process rewrote one since we last read or wrote it. */
  private refreshLock(): boolean {
    // The project's lock files and those beside its pipeline files, known since it was loaded:
    // stat calls only, once per stage.
    const files = Object.keys(this.stamp);
    const now = lockStamp(this.repo, files);
    if (sameStamp(now, this.stamp)) return false;
    const l = readLocks(this.repo, files);
    this.lock = l.lock;
    this.stamp = l.stamp;
    // That process may also have rewritten outputs we hashed.
    this.ws.invalidate(['.']);
    return true;
  }

  private check(stage: Stage): StageCheck {
    return checkStage(this.ws, stage, lockedStage(this.lock, stage.name), {
      environ: this.environ, ...(this.environmentNow ? { environment: this.environmentNow, strict: this.strict() } : {}),
    });
  }

  /** The project's `environment: {strict}`: false, true, or the keys whose difference makes a stage stale. */
  private strict(): boolean | readonly string[] {
    const s = this.project.pipeline.environment?.strict ?? false;
    return Array.isArray(s) && s.length === 0 ? false : s;
  }

  /** The environment this run's stages run in: captured once per run (see captureEnvironment). */
  private environment(): Promise<EnvironmentRecord> {
    this.captured ??= captureEnvironment(this.repo, this.project.pipeline.environment, {
      environ: this.environ, pipelineFiles: this.project.pipeline.files,
    });
    return this.captured;
  }

  /** Whether a recorded environment differs from this run's in a key the project made strict. */
  private async strictDrift(recorded: EnvironmentRecord | undefined): Promise<boolean> {
    const strict = this.strict();
    if (strict === false) return false;
    const now = await this.environment();
    return environmentDrift(recorded, now).some((c) => isStrictKey(c.key, strict));
  }

  /** One stage: decide, then restore it from the run-cache or execute it, then record the result. */
  private async runOne(name: string): Promise<StageRunResult> {
    const stage = this.project.graph.stages.get(name)!;
    if (stage.frozen) return { name, status: 'frozen', reasons: [] };
    this.refreshLock();
    const check = this.check(stage);
    const forced = this.forcedReason(stage);
    const missing = !forced ? this.onlyMissingData(stage, check) : undefined;
    if (missing) return { name, status: 'up to date', reasons: [], missingData: missing };
    if (this.opts.dry) return this.dryResult(stage, check, forced);
    if (!forced && check.reasons.length === 0) return { name, status: 'up to date', reasons: [] };
    if (this.opts.confirm && !(await this.ask(stage, forced ? [forced, ...check.reasons] : check.reasons))) {
      return { name, status: 'declined', reasons: forced ? [forced, ...check.reasons] : check.reasons };
    }

    let release: OutputLocks;
    try {
      release = await lockOutputs(this.repo, name, allOutputs(stage).map((o) => o.repoPath), {
        onWait: (h) => this.opts.onStageWait?.(name, h), stopped: () => this.interrupted,
      });
    } catch (e) {
      if (isRvcError(e, 'INTERRUPTED')) return { name, status: 'interrupted', reasons: check.reasons };
      throw e;
    }
    const started = Date.now();
    try {
      const plan = this.decide(stage, check, forced);
      if (!('key' in plan)) return plan;
      const restored = !forced && await this.restoreFromRunCache(stage, plan);
      if (restored) return { name, status: 'restored', reasons: plan.reasons, durationMs: Date.now() - started };
      const failed = await this.execute(stage, plan, release, started);
      if (failed) return failed;
      await this.recordRun(stage, plan);
      return { name, status: 'ran', reasons: plan.reasons, durationMs: Date.now() - started };
    } finally {
      release();
    }
  }

  /**
   * With the stage's outputs locked: whether it still has to run (another process may have run
   * it while we waited), and if so what it runs on — its inputs, their fingerprint (the
   * run-cache key) and whether its outputs may come from the run-cache. A result when it ends here.
   */
  private decide(stage: Stage, first: StageCheck, forced: StaleReason | undefined): StageRunResult | RunPlan {
    const name = stage.name;
    let check = first;
    if (this.interrupted) return { name, status: 'interrupted', reasons: check.reasons };
    if (this.refreshLock()) {
      // Another process wrote rvc.lock while we waited: it may have run this very stage.
      check = this.check(stage);
      if (!forced && check.reasons.length === 0) return { name, status: 'up to date', reasons: [] };
    }
    const reasons: StaleReason[] = forced ? [forced, ...check.reasons] : check.reasons;
    if (check.blocker || !check.inputs) {
      const e = check.blocker ?? new RvcError('INTERNAL', `stage '${name}' has no inputs`);
      return { name, status: 'failed', reasons, error: errorInfo(e) };
    }
    const inputs = check.inputs;
    const fp = runFingerprint(this.repo, stage, inputs);
    return {
      reasons,
      key: fp.key,
      fingerprint: fp.text,
      cacheable: runCacheable(stage),
      entryBase: { cmd: lockCmd(stage.cmd), deps: inputs.deps, params: inputs.params, env: inputs.env },
    };
  }

  /** Restores the outputs without running the command, when a previous run with these inputs is in the cache. */
  private async restoreFromRunCache(stage: Stage, plan: RunPlan): Promise<boolean> {
    if (!plan.cacheable || this.opts.noRunCache) return false;
    // Only outputs are missing and rvc.lock's record of them is in the cache: the inputs are
    // exactly those recorded, so the recorded outputs are what a run would produce.
    // With fetchOutputs (repro --pull), outputs recorded but not in the cache are fetched too.
    const locked = lockedStage(this.lock, stage.name);
    const onlyData = plan.reasons.every((r) => r.kind === 'out-missing' || (this.opts.fetchOutputs && r.kind === 'out-not-cached'));
    if (locked && onlyData && await this.restorableOrFetched(stage, locked)) {
      await this.restore(stage, locked, { ...plan.entryBase, outs: locked.outs, ...envOf(locked) });
      return true;
    }
    const cached = readRunEntry(this.repo, this.repo.odb.algo, plan.key);
    // The environment is not part of the key (a run elsewhere is as good), unless the project is strict about it.
    if (!cached || await this.strictDrift(cached.environment) || !(await this.restorableOrFetched(stage, cached))) return false;
    // Nothing but this entry may name these objects, and gc removes an entry whose outputs its
    // scope does not keep, with those objects: pin them until rvc.lock names them. A gc that
    // ran before the pin may have removed some; then the command runs instead.
    const pin = await this.pinEntryObjects(cached);
    try {
      if (!pin || pin.missing.length || !this.restorable(stage, cached)) return false;
      await this.restore(stage, cached, { ...plan.entryBase, outs: cached.outs, ...envOf(cached) });
      return true;
    } finally {
      pin?.release();
    }
  }

  /** Pins the objects of a run-cache entry's outputs (a folder's manifest and its files); undefined when a manifest is gone. */
  private async pinEntryObjects(entry: LockStage): Promise<{ missing: PinEntry[]; release: () => void } | undefined> {
    const objs: PinEntry[] = [];
    try {
      for (const o of entry.outs) {
        objs.push({ hash: o.hash, oid: o.oid });
        if (isTreeOid(o.oid)) for (const e of this.repo.odbFor(o.hash).readTree(o.oid)) objs.push({ hash: o.hash, oid: e.oid });
      }
    } catch {
      return undefined;
    }
    return pinObjects(this.repo, objs, this.opts);
  }

  /** Runs the stage's commands on prepared outputs; a result when it failed or was interrupted. */
  private async execute(stage: Stage, plan: RunPlan, release: OutputLocks, started: number): Promise<StageRunResult | undefined> {
    const { name } = stage;
    const { reasons } = plan;
    this.opts.onStageStart?.({ stage: name, cmd: [...stage.cmd], reasons });
    const wdir = path.join(this.repo.root, stage.wdir);
    if (!isDir(wdir)) {
      return {
        name, status: 'failed', reasons,
        error: { code: 'PATH_NOT_FOUND', message: `working directory '${stage.wdir}' of stage '${name}' does not exist`, hint: 'create it or fix wdir in rvc.yaml' },
      };
    }
    // Captured while the command runs, not after it (its probes see the environment it ran in).
    void this.environment();
    this.prepareOutputs(stage);
    const env: NodeJS.ProcessEnv = { ...this.environ };
    for (const e of stage.env) if (env[e.name] === undefined && e.default !== undefined) env[e.name] = e.default;
    env['RVC_ROOT'] = this.repo.root;
    env['RVC_STAGE'] = name;
    for (const cmd of stage.cmd) {
      this.opts.onCommand?.(name, cmd);
      const r = await runShell(cmd, {
        cwd: wdir, env, children: this.children, onSpawn: (pgid) => release.recordGroup(pgid),
        ...(this.opts.onStageOutput ? { onOutput: (chunk: Buffer, stream: OutputStream) => this.opts.onStageOutput!(name, chunk, stream) } : {}),
      });
      if (this.interrupted) {
        return { name, status: 'interrupted', reasons, exitCode: r.code, ...(r.signal ? { signal: r.signal } : {}), failedCmd: cmd, durationMs: Date.now() - started };
      }
      if (r.code !== 0) {
        return {
          name, status: 'failed', reasons, exitCode: r.code, ...(r.signal ? { signal: r.signal } : {}),
          failedCmd: cmd, stderrTail: r.stderrTail, durationMs: Date.now() - started,
        };
      }
    }
    const missing = allOutputs(stage).filter((o) => !exists(path.join(this.repo.root, o.repoPath)));
    if (missing.length) {
      return {
        name, status: 'failed', reasons, durationMs: Date.now() - started,
        error: {
          code: 'STAGE_FAILED',
          message: `stage '${name}' did not create ${missing.length > 1 ? 'its outputs' : 'its output'} ${missing.map((o) => `'${o.repoPath}'`).join(', ')}`,
          hint: 'the command succeeded but did not write every path listed in outs/metrics; fix the command or the paths in rvc.yaml',
        },
      };
    }
    return undefined;
  }

  /** After a run: stores the outputs, records them in rvc.lock, saves the run-cache entry, relinks. */
  private async recordRun(stage: Stage, plan: RunPlan): Promise<void> {
    const environment = await this.environment();
    const committed = await this.commitOutputs(stage);
    try {
      const entry: LockStage = { ...plan.entryBase, outs: committed.outs, environment };
      await this.record(stage, entry);
      // rvc.lock names the objects now.
      committed.release();
      // With noCommit the outputs are not in the cache: no run-cache entry can name them.
      if (plan.cacheable && !this.opts.noCommit) {
        try {
          saveRunEntry(this.repo, this.repo.odb.algo, plan.key, plan.fingerprint, entry);
        } catch {
          // the run-cache is an optimisation; the run itself succeeded
        }
      }
      if (!this.opts.noCommit) this.relink(stage, entry);
    } finally {
      committed.release();
    }
  }

  /** Why the stage runs whatever its inputs: `force`, or an upstream stage of this run changed (forceDownstream). */
  private forcedReason(stage: Stage): StaleReason | undefined {
    if (this.opts.force) return { kind: 'forced' };
    if (!this.opts.forceDownstream) return undefined;
    const up = this.project.graph.parents.get(stage.name)!.find((p) => this.changed.has(p) || (this.opts.dry && this.wouldRun.has(p)));
    return up !== undefined ? { kind: 'forced-downstream', stage: up } : undefined;
  }

  /**
   * With allowMissing: the paths whose data is missing, when that is the stage's only change
   * (see RunnerOptions.allowMissing); undefined otherwise.
   */
  private onlyMissingData(stage: Stage, check: StageCheck): string[] | undefined {
    if (!this.opts.allowMissing || check.reasons.length === 0) return undefined;
    const locked = lockedStage(this.lock, stage.name);
    if (!locked) return undefined;
    const paths: string[] = [];
    for (const r of check.reasons) {
      if (r.kind === 'out-missing' || r.kind === 'out-not-cached') {
        paths.push(r.path);
        continue;
      }
      if (r.kind !== 'dep-missing') return undefined;
      const was = locked.deps.find((d) => d.path === r.path)?.oid;
      if (was === undefined || was !== this.recordedOid(r.path)) return undefined;
      paths.push(r.path);
    }
    return paths;
  }

  /** The oid rvc.lock (another stage's output) or a pointer records for a path; undefined when none does. */
  private recordedOid(rel: string): string | undefined {
    const producer = this.project.graph.producers.get(rel);
    if (producer !== undefined) return lockedStage(this.lock, producer)?.outs.find((o) => o.path === rel)?.oid;
    this.pointerOids ??= new Map(workspacePointerOutputs(this.repo, { skipDamagedPointers: true }).map((o) => [o.rel, o.out.oid]));
    return this.pointerOids.get(rel);
  }

  /** Asks `confirm` about one stage; one question at a time, even with parallel jobs. */
  private ask(stage: Stage, reasons: StaleReason[]): Promise<boolean> {
    const q = this.asking.then(() => this.interrupted ? false : this.opts.confirm!({ stage: stage.name, cmd: [...stage.cmd], reasons }));
    this.asking = q.catch(() => undefined);
    return q;
  }

  private dryResult(stage: Stage, check: StageCheck, forced: StaleReason | undefined): StageRunResult {
    let reasons = forced ? [forced, ...check.reasons] : check.reasons;
    if (reasons.length === 0) {
      const up = this.project.graph.parents.get(stage.name)!.find((p) => this.wouldRun.has(p));
      if (up) reasons = [{ kind: 'upstream', stage: up }];
    }
    if (reasons.length === 0) return { name: stage.name, status: 'up to date', reasons };
    this.wouldRun.add(stage.name);
    return { name: stage.name, status: 'would run', reasons };
  }

  /** restorable, after asking fetchOutputs for the objects the cache lacks (repro --pull). */
  private async restorableOrFetched(stage: Stage, entry: LockStage): Promise<boolean> {
    if (this.restorable(stage, entry)) return true;
    if (!this.opts.fetchOutputs || !this.listsOutputs(stage, entry)) return false;
    await this.opts.fetchOutputs(stage.name, entry.outs.filter((o) => !this.ws.inCache(o)));
    return this.restorable(stage, entry);
  }

  private listsOutputs(stage: Stage, entry: LockStage): boolean {
    const want = allOutputs(stage).map((o) => o.repoPath).sort();
    const have = entry.outs.map((o) => o.path).sort();
    return want.length === have.length && want.every((p, i) => p === have[i]);
  }

  /** A run-cache entry is used only when it lists exactly the stage's outputs, all in the cache. */
  private restorable(stage: Stage, entry: LockStage): boolean {
    return this.listsOutputs(stage, entry) && entry.outs.every((o) => this.ws.inCache(o));
  }

  private async restore(stage: Stage, cached: LockStage, entry: LockStage): Promise<void> {
    const outPaths = cached.outs.map((o) => o.path);
    this.checkDeletable(stage, outPaths.map((repoPath) => ({ repoPath })));
    this.ws.invalidate(outPaths);
    for (const o of cached.outs) {
      const abs = path.join(this.repo.root, o.path);
      removeTree(abs, o.path);
      fs.mkdirSync(path.dirname(abs), { recursive: true });
      const r = checkoutOut({ abs, repoRel: o.path, oid: o.oid, ...(o.exec ? { exec: true } : {}) }, {
        odb: this.repo.odbFor(o.hash), state: this.ws.state(o.path, o.hash), ignore: this.repo.ignore,
        repoRoot: this.repo.root, linkTypes: this.repo.linkTypes, jobs: this.repo.cacheJobs,
        ...(this.repo.recoveredFromCrash ? { sweepTemps: true } : {}),
      });
      noteLinkUse(this.repo, r.linkType, this.opts);
      this.ws.remember(o.path, o.hash, { kind: o.nfiles !== undefined ? 'dir' : 'file', oid: o.oid, size: o.size, ...(o.nfiles !== undefined ? { nfiles: o.nfiles } : {}), ...(o.exec ? { exec: true } : {}) });
    }
    await this.record(stage, entry);
  }

  /**
   * Before outputs are deleted: refuses content that is saved nowhere (neither in the cache nor
   * what rvc.lock records for the stage, which the run regenerates) unless `--force`.
   */
  private checkDeletable(stage: Stage, outs: readonly { repoPath: string }[]): void {
    checkDeletable(outs, {
      repo: this.repo, stage: stage.name, recorded: lockedStage(this.lock, stage.name)?.outs ?? [],
      state: (rel, algo) => this.ws.state(rel, algo), force: !!this.opts.force, regenerating: regenerating(this.repo, stage.name),
    });
    // From here until rvc.lock records the result, the outputs are the stage's to rewrite.
    markRegenerating(this.repo, stage.name, outs.map((o) => o.repoPath));
  }

  /** Outputs are removed before the command runs (unless persist), and their folders made. */
  private prepareOutputs(stage: Stage): void {
    const outs = allOutputs(stage);
    this.checkDeletable(stage, outs.filter((o) => !o.persist));
    this.ws.invalidate(outs.map((o) => o.repoPath));
    for (const o of outs) {
      const abs = path.join(this.repo.root, o.repoPath);
      if (!o.persist) removeTree(abs, o.repoPath);
      try {
        fs.mkdirSync(path.dirname(abs), { recursive: true });
      } catch (e) {
        throw fromFsError(e, path.posix.dirname(o.repoPath), 'create folder');
      }
    }
  }

  /** Hashes and stores the outputs a command wrote, pinned until rvc.lock names them (see storeOutputs). */
  private commitOutputs(stage: Stage): Promise<{ outs: LockFileEntry[]; release: () => void }> {
    return storeOutputs(this.repo, this.ws, stage, { ...this.opts, ...(this.opts.noCommit ? { noStore: true } : {}) });
  }

  /** Writes the stage's rvc.lock entry and git-ignores its cached outputs (see recordStage). */
  private async record(stage: Stage, entry: LockStage): Promise<void> {
    const r = await recordStage(this.repo, stage, entry, this.opts, this.gitignores);
    this.lock = withFileLock(this.lock, r.lockFile, r.lock);
    this.stamp = { ...this.stamp, [r.lockFile]: r.stamp };
    if (r.changed) {
      this.lockChanged = true;
      this.lockFiles.add(r.lockFile);
    }
    clearRegenerating(this.repo, stage.name);
  }

  private relink(stage: Stage, entry: LockStage): void {
    relinkOutputs(this.repo, this.ws, stage, entry, this.opts);
  }
}

/** What `decide` found a stale stage runs on. */
interface RunPlan {
  reasons: StaleReason[];
  /** The run-cache key of the inputs, and the fingerprint text it hashes. */
  key: string;
  fingerprint: string;
  cacheable: boolean;
  entryBase: Omit<LockStage, 'outs'>;
}

/** The run-cache key of a stage's inputs, and the fingerprint text it hashes. */
export function runFingerprint(repo: Repo, stage: Stage, inputs: StageInputs): { key: string; text: string } {
  const fp = stageFingerprint(stage, {
    deps: Object.fromEntries(inputs.deps.map((d) => [d.path, d.oid])), params: inputs.params, env: inputs.env,
  });
  return { key: runKey(repo.odb.algo, fp.text), text: fp.text };
}

/**
 * Whether a run of the stage can be restored from the run-cache: outputs that are not cached,
 * or that the command updates in place, cannot; always_changed stages must run by definition;
 * a stage without outputs runs for its side effects, which no cache can replay.
 */
export function runCacheable(stage: Stage): boolean {
  const outs = allOutputs(stage);
  return !stage.alwaysChanged && outs.length > 0 && outs.every((o) => o.cache && !o.persist);
}

/** The recorded environment of an entry, to carry into the entry made from it. */
function envOf(entry: LockStage): { environment?: EnvironmentRecord } {
  return entry.environment ? { environment: entry.environment } : {};
}

/** The signal to stop the commands with: the abort reason when it names one. */
function stopSignal(reason: unknown): NodeJS.Signals {
  return reason === 'SIGINT' || reason === 'SIGTERM' || reason === 'SIGHUP' ? reason : 'SIGTERM';
}

function failure(name: string, e: unknown): StageRunResult {
  return { name, status: 'failed', reasons: [], error: errorInfo(e) };
}

function errorInfo(e: unknown): Failure {
  if (isRvcError(e)) return failureOf(e);
  return { code: 'INTERNAL', message: e instanceof Error ? (e.stack ?? e.message) : String(e) };
}

function exists(abs: string): boolean {
  try {
    fs.lstatSync(abs);
    return true;
  } catch {
    return false;
  }
}


