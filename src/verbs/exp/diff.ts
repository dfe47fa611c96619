import type { MetricChange } from '../../model/params.js';
import { diffMetricsOf, diffParams, type MetricsRead, type ParamRow } from '../../pipeline/compare.js';
import { Repo, type CommonOptions } from '../../repo/repo.js';
import { findExperiment } from '../../scm/experiments.js';
import { gitHead } from '../../scm/git.js';

export interface ExpDiffOptions extends CommonOptions {
  /** The old side: an experiment or any revision. Alone, an experiment is compared with its baseline. */
  a?: string;
  /** The new side; default the workspace (or, when `a` alone names an experiment, that experiment). */
  b?: string;
  /** List unchanged params and metrics too. */
  all?: boolean;
}

export interface ExpDiffResult {
  /** Labels of the two sides (an experiment's name, a revision, `workspace`). */
  a: string;
  b: string;
  params: ParamRow[];
  metrics: MetricChange[];
  errors: MetricsRead['errors'];
}

/**
 * `rvc exp diff [a] [b]`: params and metrics of two experiments or revisions, with the same
 * comparison `params diff` and `metrics diff` make (experiment names are revisions there too).
 * Without arguments: HEAD and the workspace. With one experiment: its baseline and it. With one
 * other revision: that revision and the workspace.
 */
export function expDiff(opts: ExpDiffOptions = {}): ExpDiffResult {
  const repo = Repo.open(opts.cwd);
  let a = opts.a;
  let b = opts.b;
  let labelA = a ?? 'HEAD';
  let labelB = b ?? 'workspace';
  if (a !== undefined && b === undefined) {
    const exp = findExperiment(repo.root, a, { preferBaseline: gitHead(repo.root) });
    if (exp) {
      b = exp.commit;
      labelB = a;
      a = exp.baseline;
      labelA = `baseline ${exp.baseline.slice(0, 7)}`;
    }
  }
  const cmp = { ...(opts.cwd ? { cwd: opts.cwd } : {}), ...(a !== undefined ? { a } : {}), ...(b !== undefined ? { b } : {}), ...(opts.all ? { all: true } : {}) };
  const p = diffParams(repo, cmp);
  const m = diffMetricsOf(repo, cmp);
  return { a: labelA, b: labelB, params: p.changes, metrics: m.changes, errors: m.errors };
}
