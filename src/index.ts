/** rvc's public library API. The CLI (src/cli) uses only what is exported here. */
export { RvcError, isRvcError, mergeFailures, FAILURE_SAMPLE, type ErrorCode, type FailureSummary } from './errors.js';
export type { ProgressEvent, ProgressFn } from './progress.js';
import { Repo } from './repo/repo.js';
export { Repo };
export type { CommonOptions, TrackedOut } from './repo/repo.js';
export { init, type InitOptions, type InitResult } from './verbs/init.js';
export type { AddOptions, AddResult, AddedOut } from './verbs/add.js';
export type { StatusOptions, StatusResult, OutStatus } from './verbs/status.js';
export type { CommitOptions, CommitResult, CommittedOut } from './verbs/commit.js';
export type { CheckoutOptions, CheckoutResult, OutCheckout } from './verbs/checkout.js';
export type { Output, OutputKind, OutputSelection } from './model/output.js';
export type { GcOptions, GcResult, RemovedRunEntry } from './verbs/gc.js';
export type { RevScope } from './repo/history.js';
export type { FsckOptions, FsckResult } from './verbs/fsck.js';
export type { RemoveOptions, RemoveResult } from './verbs/remove.js';
export type { MoveResult } from './verbs/move.js';
export type { UnprotectResult } from './verbs/unprotect.js';
export { configGet, configSet, configList, assertKeyGiven, type ConfigOptions } from './verbs/config.js';
export { version, rvcVersion, type VersionInfo } from './verbs/version.js';
export { parsePointer, serializePointer, type Pointer, type PointerOut } from './model/pointer.js';
export { parseTree, serializeTree, type TreeEntry } from './model/tree.js';
export { parseConfigLayer, type Config } from './model/config.js';
export type { RemoteInfo, RemoteEditOptions } from './verbs/remote.js';
export type { SyncOptions, SyncResult, SyncFailure, CloudStatusResult, CloudState, CloudFsckOptions, CloudFsckResult, CloudFsckObject } from './repo/sync.js';
export type { TargetFlags } from './repo/outputs.js';
export type { PullResult } from './verbs/pull.js';
export type { VerifyOptions, VerifyResult, VerifyStageResult, VerifyVerdict, VerifyDiagnosis, VerifyOutputDifference } from './verbs/verify.js';
export type { ReproOptions, ReproResult, StageRunResult, StageRunStatus, StageStartEvent, StageConfirmEvent, PullMissingResult } from './verbs/repro.js';
export type { PipelineStatusResult, PipelineStatusOptions, StageStatus, StageState } from './pipeline/status.js';
export type { StageAddOptions, StageAddResult, StageInfo } from './verbs/stage.js';
export type { DagOptions, DagResult } from './verbs/dag.js';
export type { FreezeResult } from './verbs/freeze.js';
export type { CompareOptions, ParamRow, ParamsDiffOptions, ParamsDiffResult } from './verbs/params.js';
export type { MetricsShowOptions, MetricsShowResult, MetricsDiffResult } from './verbs/metrics.js';
export type { GetOptions, GetResult } from './verbs/get.js';
export type { PlotsShowOptions, PlotsDiffOptions, PlotsHistoryOptions, PlotsResult, PlotResult, PlotRow, PlotsTemplatesOptions, PlotsTemplatesResult, PlotsModifyOptions, PlotsModifyResult } from './verbs/plots.js';
export type { ObjectSource, MaterialiseOptions, MaterialiseResult } from './repo/materialise.js';
export type { DiffOptions, DiffResult, DiffFile, DiffModified, DiffRenamed } from './verbs/diff.js';
export type { LsOptions, LsResult, LsEntry } from './verbs/ls.js';
export type { GetExternalOptions, GetExternalResult } from './verbs/get-external.js';
export type { ImportOptions, ImportResult } from './verbs/import.js';
export type { UpdateOptions, UpdatedImport } from './verbs/update.js';
export type { PointerImport } from './model/pointer.js';
export type { LineageOptions, LineageResult, LineageStage, LineageInput, UsesResult, UsesCommit, CommitInfo } from './verbs/lineage.js';

/*
 * Verbs are loaded on first use (the synchronous ones above excepted): a command pays only for
 * the verb it runs, and `rvc status` or `rvc checkout` in a repository without a pipeline loads
 * no remote or pipeline code.
 */
type Fn = (...args: never[]) => unknown;
function lazy<M, K extends keyof M>(load: () => Promise<M>, name: K): M[K] extends Fn ? (...a: Parameters<M[K]>) => Promise<Awaited<ReturnType<M[K]>>> : never {
  return (async (...a: unknown[]) => ((await load())[name] as unknown as (...x: unknown[]) => unknown)(...a)) as never;
}
export const add = lazy(() => import('./verbs/add.js'), 'add');
export const status = lazy(() => import('./verbs/status.js'), 'status');
export const commit = lazy(() => import('./verbs/commit.js'), 'commit');
export const checkout = lazy(() => import('./verbs/checkout.js'), 'checkout');
export const gc = lazy(() => import('./verbs/gc.js'), 'gc');
export const fsck = lazy(() => import('./verbs/fsck.js'), 'fsck');
export const remove = lazy(() => import('./verbs/remove.js'), 'remove');
export const move = lazy(() => import('./verbs/move.js'), 'move');
export const unprotect = lazy(() => import('./verbs/unprotect.js'), 'unprotect');
const remotes = () => import('./verbs/remote.js');
const pipelineStage = () => import('./verbs/stage.js');
const pipelineMetrics = () => import('./verbs/metrics.js');
const revGet = () => import('./verbs/get.js');
const revDiff = () => import('./verbs/diff.js');
const extLs = () => import('./verbs/ls.js');
const extGet = () => import('./verbs/get-external.js');

export const remoteAdd = lazy(remotes, 'remoteAdd');
export const remoteList = lazy(remotes, 'remoteList');
export const remoteDefault = lazy(remotes, 'remoteDefault');
export const remoteModify = lazy(remotes, 'remoteModify');
export const remoteRemove = lazy(remotes, 'remoteRemove');
export const remoteRename = lazy(remotes, 'remoteRename');
export const push = lazy(() => import('./verbs/push.js'), 'push');
export const fetch = lazy(() => import('./verbs/fetch.js'), 'fetch');
export const pull = lazy(() => import('./verbs/pull.js'), 'pull');
export const statusCloud = lazy(() => import('./verbs/status-cloud.js'), 'statusCloud');
export const fsckCloud = lazy(() => import('./verbs/fsck-cloud.js'), 'fsckCloud');
export const repro = lazy(() => import('./verbs/repro.js'), 'repro');
export const verify = lazy(() => import('./verbs/verify.js'), 'verify');
export const stageAdd = lazy(pipelineStage, 'stageAdd');
export const stageList = lazy(pipelineStage, 'stageList');
export const dag = lazy(() => import('./verbs/dag.js'), 'dag');
export const freeze = lazy(() => import('./verbs/freeze.js'), 'freeze');
export const unfreeze = lazy(() => import('./verbs/freeze.js'), 'unfreeze');
export const parseParamsSpec = lazy(pipelineStage, 'parseParamsSpec');
export const paramsDiff = lazy(() => import('./verbs/params.js'), 'paramsDiff');
export const metricsShow = lazy(pipelineMetrics, 'metricsShow');
export const metricsDiff = lazy(pipelineMetrics, 'metricsDiff');
const plotVerbs = () => import('./verbs/plots.js');
export const plotsShow = lazy(plotVerbs, 'plotsShow');
export const plotsDiff = lazy(plotVerbs, 'plotsDiff');
export const plotsHistory = lazy(plotVerbs, 'plotsHistory');
export const plotsTemplates = lazy(plotVerbs, 'plotsTemplates');
export const plotsModify = lazy(plotVerbs, 'plotsModify');
export const get = lazy(revGet, 'get');
export const materialise = lazy(() => import('./repo/materialise.js'), 'materialise');
export const diff = lazy(revDiff, 'diff');
export const ls = lazy(extLs, 'ls');
export const getExternal = lazy(extGet, 'getExternal');
export const importData = lazy(() => import('./verbs/import.js'), 'importData');
export const update = lazy(() => import('./verbs/update.js'), 'update');
const lineageVerbs = () => import('./verbs/lineage.js');
export const lineage = lazy(lineageVerbs, 'lineage');
export const lineageUses = lazy(lineageVerbs, 'lineageUses');
export type { ReportOptions, ReportResult, ReportCriterion, CriterionStatus, ChecklistAnswer } from './verbs/report.js';
export type { ExpRunOptions, ExpRunResult, ExperimentRef } from './verbs/exp/run.js';
export type { ParamOverride } from './pipeline/param-overrides.js';
export const runExperiment = lazy(() => import('./verbs/exp/run.js'), 'runExperiment');
export const expandSweeps = lazy(() => import('./pipeline/param-overrides.js'), 'expandSweeps');
export const parseOverride = lazy(() => import('./pipeline/param-overrides.js'), 'parseOverride');
// Experiments (core): save, list, remove, rename, branch, clean, apply, diff.
export type { ExpSaveOptions, ExpSaveResult } from './verbs/exp/save.js';
export type { ExpListOptions, ExpListResult, ExpBaseline } from './verbs/exp/list.js';
export type { ExpRemoveOptions, ExpRemoveResult, ExpRenameResult, ExpBranchResult } from './verbs/exp/manage.js';
export type { ExpCleanResult } from './verbs/exp/clean.js';
export type { ExpApplyOptions, ExpApplyResult } from './verbs/exp/apply.js';
export type { ExpDiffOptions, ExpDiffResult } from './verbs/exp/diff.js';
const expManage = () => import('./verbs/exp/manage.js');
export const saveExperiment = lazy(() => import('./verbs/exp/save.js'), 'saveExperiment');
export const listExperiments = lazy(() => import('./verbs/exp/list.js'), 'listExperiments');
export const removeExperiments = lazy(expManage, 'removeExperiments');
export const renameExperiment = lazy(expManage, 'renameExperiment');
export const branchExperiment = lazy(expManage, 'branchExperiment');
export const cleanExperiments = lazy(() => import('./verbs/exp/clean.js'), 'cleanExperiments');
export const applyExperiment = lazy(() => import('./verbs/exp/apply.js'), 'applyExperiment');
export const expDiff = lazy(() => import('./verbs/exp/diff.js'), 'expDiff');
// The experiment queue.
export type { QueueEntry, QueueState, WorkerInfo, QueueAddOptions, QueueRunOptions, QueueRunResult, ExpTempOptions, QueueStartOptions, QueueStartResult, QueueStatusResult, QueueLogsOptions, QueueLogsResult, QueueKillOptions, QueueStopOptions, QueueStopResult, QueueRemoveOptions } from './verbs/exp/queue.js';
const expQueue = () => import('./verbs/exp/queue.js');
export const queueAdd = lazy(expQueue, 'queueAdd');
export const runQueue = lazy(expQueue, 'runQueue');
export const runTemp = lazy(expQueue, 'runTemp');
export const queueStart = lazy(expQueue, 'queueStart');
export const queueStatus = lazy(expQueue, 'queueStatus');
export const queueLogs = lazy(expQueue, 'queueLogs');
export const queueKill = lazy(expQueue, 'queueKill');
export const queueStop = lazy(expQueue, 'queueStop');
export const queueRemove = lazy(expQueue, 'queueRemove');
export const readQueue = lazy(expQueue, 'readQueue');
export const report = lazy(() => import('./verbs/report.js'), 'report');
export const renderReportMarkdown = lazy(() => import('./verbs/report.js'), 'renderReportMarkdown');

function hasPipeline(opts: { cwd?: string }): boolean {
  const f = Repo.open(opts.cwd).pipelineFiles();
  return f.pipelines.length > 0 || f.locks.length > 0;
}

/** Stale stages and why; undefined when the repository has no pipeline. */
export async function pipelineStatus(opts: import('./pipeline/status.js').PipelineStatusOptions = {}): Promise<import('./pipeline/status.js').PipelineStatusResult | undefined> {
  if (!hasPipeline(opts)) return undefined;
  return (await import('./pipeline/status.js')).pipelineStatus(opts);
}

export type { StaleReason } from './pipeline/check.js';

// git integration: hooks, merge driver (loaded on first use).
export type { InstallOptions, InstallResult, InstallAction, RvcCommand, RvcHookName } from './verbs/install.js';
export type { MergeDriverOptions, MergeDriverResult, MergeDriverConflict, MergedTree } from './verbs/merge-driver.js';
const gitInstall = () => import('./verbs/install.js');
export const install = lazy(gitInstall, 'install');
export const uninstall = lazy(gitInstall, 'uninstall');
export const mergeDriver = lazy(() => import('./verbs/merge-driver.js'), 'mergeDriver');
export type { MetricChange } from './model/params.js';
// Experiments: comparing and sharing.
export type { ExpShowOptions, ExpShowResult, ExpRow, ExpState, ReplicateGroup } from './verbs/exp/show.js';
export type { Summary } from './model/stats.js';
export const expShow = lazy(() => import('./verbs/exp/show.js'), 'expShow');
export type { ExpShareOptions, ExpShareResult, RemoteExperiment } from './verbs/exp/share.js';
const expShare = () => import('./verbs/exp/share.js');
export const expPush = lazy(expShare, 'expPush');
export const expPull = lazy(expShare, 'expPull');
export const expListRemote = lazy(expShare, 'expListRemote');
export const expRemoveRemote = lazy(expShare, 'expRemoveRemote');
