import { diffMetrics, type MetricChange } from '../model/params.js';
import { Repo, type CommonOptions } from '../repo/repo.js';
import { metricValues, metricsFiles, pipelineAt, revisionSource, sources, workspaceSource, type CompareOptions, type MetricsRead } from '../pipeline/compare.js';

export interface MetricsShowResult extends MetricsRead {
  files: string[];
}

/** `rvc metrics show`: the metrics files rvc.yaml lists, as they are in the workspace. */
export function metricsShow(opts: CommonOptions & { rev?: string } = {}): MetricsShowResult {
  const repo = Repo.open(opts.cwd);
  const src = opts.rev ? revisionSource(repo, opts.rev, false) : workspaceSource(repo);
  const files = metricsFiles([pipelineAt(src)]);
  return { files, ...metricValues(src, files) };
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
