import { Repo, type CommonOptions } from '../repo/repo.js';
import { diffMetricsOf, metricValues, metricsAtRevisions, metricsFiles, metricsTargets, pipelineAt, revisionSource, scopeRevisions, workspaceSource, type CompareOptions, type MetricsAtRevision, type MetricsDiffResult, type MetricsRead } from '../pipeline/compare.js';
import { openHistory } from '../repo/history.js';

export type { MetricsAtRevision, MetricsDiffResult };

export interface MetricsShowResult extends MetricsRead {
  files: string[];
  /**
   * With a scope (`allBranches`, `allTags`, `allCommits`, `num`): the workspace and each
   * revision, one entry each (the fields above are the workspace's).
   */
  revisions?: MetricsAtRevision[];
}

export interface MetricsShowOptions extends CommonOptions {
  /** Metrics files or folders (relative to `cwd`); default: every metrics file rvc.yaml lists. */
  targets?: string[];
  /** Show them as of this git revision instead of the workspace. */
  rev?: string;
  /** Also at the tip of every local branch. */
  allBranches?: boolean;
  /** Also at every tag. */
  allTags?: boolean;
  /** Also at every commit. */
  allCommits?: boolean;
  /** Also at the last `num` commits of HEAD. */
  num?: number;
}

/**
 * `rvc metrics show [targets…] [--rev REV]`: metrics files and their values; with a scope, of
 * the workspace and every revision of it too, all revisions read through one git process
 * (readRevisions, as `exp show`).
 */
export async function metricsShow(opts: MetricsShowOptions = {}): Promise<MetricsShowResult> {
  const repo = Repo.open(opts.cwd);
  const src = opts.rev ? revisionSource(repo, opts.rev, false) : workspaceSource(repo);
  const declared = metricsFiles([pipelineAt(src)]);
  const files = opts.targets?.length ? metricsTargets(repo, src, declared, opts.targets, opts.cwd) : declared;
  const res: MetricsShowResult = { files, ...metricValues(src, files, !!opts.targets?.length || src.label === 'workspace') };
  if (!(opts.allBranches || opts.allTags || opts.allCommits || opts.num !== undefined)) return res;
  const history = openHistory(repo.root);
  try {
    const revs = scopeRevisions(history, opts);
    res.revisions = [
      { rev: src.label === 'workspace' ? 'workspace' : history.resolve(src.label), label: src.label, values: res.values, errors: res.errors },
      // Each revision's own metrics files (narrowed to the targets when there are some).
      ...await metricsAtRevisions(repo, history, revs, opts.targets?.length ? files : undefined),
    ];
    return res;
  } finally {
    history.close();
  }
}

/** `rvc metrics diff [a] [b]`: see diffMetricsOf. */
export function metricsDiff(opts: CompareOptions = {}): MetricsDiffResult {
  return diffMetricsOf(Repo.open(opts.cwd), opts);
}
