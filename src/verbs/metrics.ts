import { diffMetrics, type MetricChange } from '../model/params.js';
import { Repo, type CommonOptions } from '../repo/repo.js';
import { metricValues, metricsFiles, metricsTargets, pipelineAt, revisionSource, sources, workspaceSource, type CompareOptions, type MetricsRead } from '../pipeline/compare.js';

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

export interface MetricsDiffResult {
  a: string;
  b: string;
  changes: MetricChange[];
  errors: MetricsRead['errors'];
}

/** `rvc metrics diff [a] [b]`: metrics compared between two revisions (default HEAD and the workspace). */
export function metricsDiff(opts: CompareOptions = {}): MetricsDiffResult {
  const repo = Repo.open(opts.cwd);
  const [a, b] = sources(repo, opts);
  const files = metricsFiles([pipelineAt(a), pipelineAt(b)]);
  const ma = metricValues(a, files);
  const mb = metricValues(b, files);
  return { a: a.label, b: b.label, changes: diffMetrics(ma.values, mb.values, opts.all ? { all: true } : {}), errors: [...ma.errors, ...mb.errors] };
}
