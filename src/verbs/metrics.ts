import { Repo, type CommonOptions } from '../repo/repo.js';
import { diffMetricsOf, metricValues, metricsFiles, metricsTargets, pipelineAt, revisionSource, workspaceSource, type CompareOptions, type MetricsDiffResult, type MetricsRead } from '../pipeline/compare.js';

export type { MetricsDiffResult };

export interface MetricsShowResult extends MetricsRead {
  files: string[];
}

export interface MetricsShowOptions extends CommonOptions {
  /** Metrics files or folders (relative to `cwd`); default: every metrics file rvc.yaml lists. */
  targets?: string[];
  /** Show them as of this git revision instead of the workspace. */
  rev?: string;
}

/** `rvc metrics show [targets…] [--rev REV]`: metrics files and their values. */
export function metricsShow(opts: MetricsShowOptions = {}): MetricsShowResult {
  const repo = Repo.open(opts.cwd);
  const src = opts.rev ? revisionSource(repo, opts.rev, false) : workspaceSource(repo);
  const declared = metricsFiles([pipelineAt(src)]);
  if (!opts.targets?.length) return { files: declared, ...metricValues(src, declared) };
  const files = metricsTargets(repo, src, declared, opts.targets, opts.cwd);
  return { files, ...metricValues(src, files, true) };
}

/** `rvc metrics diff [a] [b]`: see diffMetricsOf. */
export function metricsDiff(opts: CompareOptions = {}): MetricsDiffResult {
  return diffMetricsOf(Repo.open(opts.cwd), opts);
}
