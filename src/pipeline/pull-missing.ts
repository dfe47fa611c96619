import path from 'node:path';
import { isRvcError } from '../errors.js';
import { lockedStage } from '../model/lock.js';
import { producerOf } from '../model/dag.js';
import type { OutputSelection } from '../model/output.js';
import type { Repo } from '../repo/repo.js';
import type { LoadedProject } from '../repo/project.js';
import { runCacheOutputs, selectOutputs, workspaceOutputs } from '../repo/outputs.js';
import { restoreOutputs } from '../repo/restore.js';
import { readRunEntry, runEntryPath } from '../repo/run-cache.js';
import { fetchRunEntries } from '../repo/run-cache-transfer.js';
import { ObjectSet } from '../repo/object-set.js';
import { addSyncResult, emptySyncResult, fetchWanted, openSyncRemote, type OpenedRemote, type SyncOptions, type SyncResult } from '../repo/sync.js';
import { checkStage, type StaleReason } from './check.js';
import { runCacheable, runFingerprint, type RunnerOptions } from './runner.js';
import { Workspace } from './workspace.js';

export interface PullMissingOptions extends RunnerOptions {
  /** Remote name; default: core.remote. */
  remote?: string;
}

/** What `repro --pull` downloaded before running. */
export interface PullMissingResult extends SyncResult {
  /** Dependencies tracked by pointers that were missing, checked out after the download. */
  checkedOut: string[];
}

const MISSING_DATA = new Set<StaleReason['kind']>(['out-missing', 'out-not-cached', 'dep-missing']);

/**
 * `repro --pull`: before any stage runs, downloads through the sync verbs' fetch (one remote
 * opened once, every object verified by hash):
 * 1. the remote's run-cache entries the local run-cache lacks (unless `noRunCache`);
 * 2. dependencies of the selected stages that are missing and tracked by a pointer (no stage
 *    writes them), which are then checked out;
 * 3. the recorded outputs of stages whose only changes are missing data (the runner then
 *    restores them from the cache instead of running the command), and, for stages that will
 *    run on inputs known now, the outputs of the run-cache entry of those inputs (the runner then
 *    restores that run).
 * Failures to download are listed in the result; the stages concerned then simply run.
 */
export async function pullMissing(project: LoadedProject, selected: readonly string[], opts: PullMissingOptions): Promise<PullMissingResult> {
  const repo = project.repo;
  const environ = opts.environ ?? process.env;
  // `jobs` of repro counts stages; transfers use the remote's own default.
  const syncOpts: SyncOptions = {
    ...(opts.remote !== undefined ? { remote: opts.remote } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    ...(opts.onWarning ? { onWarning: opts.onWarning } : {}),
  };
  let from: OpenedRemote | undefined;
  const remote = async (): Promise<OpenedRemote> => (from ??= await openSyncRemote(repo, opts));
  const stages = selected.map((n) => project.graph.stages.get(n)!).filter((s) => !s.frozen);
  try {
    const useRunCache = !opts.noRunCache && !opts.force;
    if (useRunCache) await fetchRunEntries(repo, (await remote()).remote);
    let res: SyncResult | undefined;
    const fetchSel = async (sel: OutputSelection[]): Promise<void> => {
      if (sel.length === 0) return;
      const r = await fetchWanted(repo, { set: ObjectSet.of(sel), revisions: [] }, await remote(), syncOpts);
      res = res ? addSyncResult(res, r) : r;
    };

    // Dependencies no stage writes, missing and tracked by a pointer: fetched and checked out first.
    const recorded = await workspaceOutputs(repo, { skipDamagedPointers: true });
    const pointers = recorded.filter((o) => o.kind === 'pointer');
    const depSel: OutputSelection[] = [];
    let ws = new Workspace(repo);
    for (const stage of stages) {
      for (const d of stage.deps) {
        if (producerOf(project.graph, d.repoPath) !== undefined || ws.hash(d.repoPath, repo.odb.algo)) continue;
        try {
          for (const s of await selectOutputs(repo, pointers, [d.repoPath], { cwd: repo.root, checkSubpaths: false })) depSel.push(s);
        } catch (e) {
          if (!isRvcError(e)) throw e; // not tracked: repro reports it as a missing dependency
        }
      }
    }
    await fetchSel(depSel);
    const checkedOut: string[] = [];
    if (depSel.length) {
      const co = await repo.withLock('rvc repro --pull (checkout)', opts, async () => {
        try {
          return restoreOutputs(repo, depSel, opts);
        } catch (e) {
          if (!isRvcError(e)) throw e;
          return undefined;
        }
      });
      for (const o of co?.outs ?? []) if (!o.error) checkedOut.push(o.path);
      ws = new Workspace(repo);
    }

    // Outputs: of stages that only miss data, and of run-cache entries of the inputs as they are.
    const outSel: OutputSelection[] = [];
    const runOuts = useRunCache ? await runCacheOutputs(repo) : [];
    for (const stage of stages) {
      const locked = lockedStage(project.lock, stage.name);
      const check = checkStage(ws, stage, locked, { environ });
      if (check.reasons.length === 0 && !opts.force) continue;
      if (locked && !opts.force && check.reasons.every((r) => MISSING_DATA.has(r.kind))) {
        for (const o of recorded) if (o.kind === 'stage' && o.stage === stage.name && o.cached !== false) outSel.push({ output: o });
        continue;
      }
      if (!useRunCache || !check.inputs || !runCacheable(stage)) continue;
      const { key } = runFingerprint(repo, stage, check.inputs);
      if (!readRunEntry(repo, repo.odb.algo, key)) continue;
      const file = path.relative(repo.root, runEntryPath(repo, repo.odb.algo, key)).split(path.sep).join('/');
      for (const o of runOuts) if (o.file === file) outSel.push({ output: o });
    }
    await fetchSel(outSel);
    return { ...(res ?? emptySyncResult(repo, opts)), checkedOut };
  } finally {
    await from?.remote.close();
  }
}
