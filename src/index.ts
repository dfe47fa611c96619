import fs from 'node:fs';
import path from 'node:path';
/** rvc's public library API. The CLI (src/cli) uses only what is exported here. */
export { RvcError, isRvcError, mergeFailures, FAILURE_SAMPLE, type ErrorCode, type FailureSummary } from './errors.js';
export type { ProgressEvent, ProgressFn } from './progress.js';
import { Repo } from './repo/repo.js';
import { LOCK_FILE, PIPELINE_FILE } from './model/names.js';
export { Repo };
export type { CommonOptions, TrackedOut } from './repo/repo.js';
export { init, type InitOptions, type InitResult } from './repo/init.js';
export { add, type AddOptions, type AddResult, type AddedOut } from './repo/add.js';
export { status, type StatusOptions, type StatusResult, type OutStatus } from './repo/status.js';
export { commit, type CommitOptions, type CommitResult } from './repo/commit.js';
export { checkout, type CheckoutOptions, type CheckoutResult, type OutCheckout } from './repo/checkout.js';
export { gc, type GcOptions, type GcResult } from './repo/gc.js';
export type { RevScope } from './repo/history.js';
export { fsck, type FsckOptions, type FsckResult } from './repo/fsck.js';
export { remove, type RemoveOptions, type RemoveResult } from './repo/remove.js';
export { move, type MoveResult } from './repo/move.js';
export { unprotect, type UnprotectResult } from './repo/unprotect.js';
export { configGet, configSet, configList, assertKeyGiven, type ConfigOptions } from './repo/config.js';
export { version, rvcVersion, type VersionInfo } from './repo/version.js';
export { parsePointer, serializePointer, type Pointer, type PointerOut } from './model/pointer.js';
export { parseTree, serializeTree, type TreeEntry } from './model/tree.js';
export { parseConfigLayer, type Config } from './model/config.js';
export type { RemoteInfo, RemoteEditOptions } from './repo/remotes.js';
export type { SyncOptions, SyncResult, SyncFailure, PullResult, CloudStatusResult, CloudState, CloudFsckOptions, CloudFsckResult, CloudFsckObject } from './repo/sync.js';
export type { ReproOptions, ReproResult, StageRunResult, StageRunStatus, StageStartEvent } from './pipeline/repro.js';
export type { PipelineStatusResult, PipelineStatusOptions, StageStatus, StageState } from './pipeline/status.js';
export type { StageAddOptions, StageAddResult, StageInfo, DagOptions, DagResult } from './pipeline/stage.js';
export type { CompareOptions, ParamRow, ParamsDiffResult, MetricsShowResult, MetricsDiffResult } from './pipeline/compare.js';
export type { PipelineSyncOptions, PipelineSyncResult, PipelineCheckoutResult } from './pipeline/sync.js';
export type { GetOptions, GetResult, ObjectSource, MaterialiseOptions, MaterialiseResult } from './repo/get.js';
export type { DiffOptions, DiffResult, DiffFile, DiffModified, DiffRenamed } from './repo/diff.js';
export type { LsOptions, LsResult, LsEntry } from './repo/ls.js';
export type { GetExternalOptions, GetExternalResult } from './repo/get-external.js';
export type { ImportOptions, ImportResult, UpdateOptions, UpdatedImport } from './repo/imports.js';
export type { PointerImport } from './model/pointer.js';

/*
 * Remote and pipeline verbs are loaded on first use: together with their dependencies they are
 * a large part of start-up, and `rvc status` or `rvc checkout` in a repository without a
 * pipeline needs none of them.
 */
type Fn = (...args: never[]) => unknown;
function lazy<M, K extends keyof M>(load: () => Promise<M>, name: K): M[K] extends Fn ? (...a: Parameters<M[K]>) => Promise<Awaited<ReturnType<M[K]>>> : never {
  return (async (...a: unknown[]) => ((await load())[name] as unknown as (...x: unknown[]) => unknown)(...a)) as never;
}
const remotes = () => import('./repo/remotes.js');
const sync = () => import('./repo/sync.js');
const pipelineRepro = () => import('./pipeline/repro.js');
const pipelineStage = () => import('./pipeline/stage.js');
const pipelineCompare = () => import('./pipeline/compare.js');
const pipelineSync = () => import('./pipeline/sync.js');
const revGet = () => import('./repo/get.js');
const revDiff = () => import('./repo/diff.js');
const extLs = () => import('./repo/ls.js');
const extGet = () => import('./repo/get-external.js');
const extImports = () => import('./repo/imports.js');

export const remoteAdd = lazy(remotes, 'remoteAdd');
export const remoteList = lazy(remotes, 'remoteList');
export const remoteDefault = lazy(remotes, 'remoteDefault');
export const remoteModify = lazy(remotes, 'remoteModify');
export const remoteRemove = lazy(remotes, 'remoteRemove');
export const remoteRename = lazy(remotes, 'remoteRename');
export const push = lazy(sync, 'push');
export const fetch = lazy(sync, 'fetch');
export const pull = lazy(sync, 'pull');
export const statusCloud = lazy(sync, 'statusCloud');
export const fsckCloud = lazy(sync, 'fsckCloud');
export const repro = lazy(pipelineRepro, 'repro');
export const stageAdd = lazy(pipelineStage, 'stageAdd');
export const stageList = lazy(pipelineStage, 'stageList');
export const dag = lazy(pipelineStage, 'dag');
export const parseParamsSpec = lazy(pipelineStage, 'parseParamsSpec');
export const paramsDiff = lazy(pipelineCompare, 'paramsDiff');
export const metricsShow = lazy(pipelineCompare, 'metricsShow');
export const metricsDiff = lazy(pipelineCompare, 'metricsDiff');
export const pushPipeline = lazy(pipelineSync, 'pushPipeline');
export const fetchPipeline = lazy(pipelineSync, 'fetchPipeline');
export const get = lazy(revGet, 'get');
export const materialise = lazy(revGet, 'materialise');
export const diff = lazy(revDiff, 'diff');
export const ls = lazy(extLs, 'ls');
export const getExternal = lazy(extGet, 'getExternal');
export const importData = lazy(extImports, 'importData');
export const update = lazy(extImports, 'update');

function hasPipeline(opts: { cwd?: string }): boolean {
  const root = Repo.open(opts.cwd).root;
  return fs.existsSync(path.join(root, PIPELINE_FILE)) || fs.existsSync(path.join(root, LOCK_FILE));
}

/** Stale stages and why; undefined when the repository has no pipeline. */
export async function pipelineStatus(opts: import('./pipeline/status.js').PipelineStatusOptions = {}): Promise<import('./pipeline/status.js').PipelineStatusResult | undefined> {
  if (!hasPipeline(opts)) return undefined;
  return (await import('./pipeline/status.js')).pipelineStatus(opts);
}

/** Restores the outputs rvc.lock records (see pipeline/sync.ts); nothing to do without a pipeline. */
export async function checkoutPipeline(opts: Parameters<typeof import('./pipeline/sync.js').checkoutPipeline>[0] = {}): Promise<import('./pipeline/sync.js').PipelineCheckoutResult> {
  if (!hasPipeline(opts ?? {})) return { restored: [], failed: [], removed: [], kept: [] };
  return (await pipelineSync()).checkoutPipeline(opts);
}

export type { StaleReason } from './pipeline/check.js';

// git integration: hooks, merge driver (loaded on first use).
export type { InstallOptions, InstallResult, InstallAction, RvcCommand, RvcHookName } from './repo/install.js';
export type { MergeDriverOptions, MergeDriverResult, MergeDriverConflict, MergedTree } from './repo/merge.js';
const gitInstall = () => import('./repo/install.js');
export const install = lazy(gitInstall, 'install');
export const uninstall = lazy(gitInstall, 'uninstall');
export const mergeDriver = lazy(() => import('./repo/merge.js'), 'mergeDriver');
export type { MetricChange } from './model/params.js';
