import { compareStrings, deepEqual } from '../model/values.js';
import { Repo } from '../repo/repo.js';
import { paramValues, pipelineAt, sources, trackedParams, type CompareOptions } from '../pipeline/compare.js';

export type { CompareOptions };

export interface ParamRow {
  file: string;
  key: string;
  change: 'added' | 'removed' | 'modified' | 'unchanged';
  old?: unknown;
  new?: unknown;
}

export interface ParamsDiffResult {
  a: string;
  b: string;
  changes: ParamRow[];
}

/** `rvc params diff [a] [b]`: the params stages read, compared between two revisions. */
export function paramsDiff(opts: CompareOptions = {}): ParamsDiffResult {
  const repo = Repo.open(opts.cwd);
  const [a, b] = sources(repo, opts);
  const tracked = trackedParams([pipelineAt(a), pipelineAt(b)]);
  const va = paramValues(a, tracked);
  const vb = paramValues(b, tracked);
  const changes: ParamRow[] = [];
  const files = [...new Set([...Object.keys(va), ...Object.keys(vb)])].sort(compareStrings);
  for (const file of files) {
    const x = Object.hasOwn(va, file) ? va[file]! : {};
    const y = Object.hasOwn(vb, file) ? vb[file]! : {};
    for (const key of [...new Set([...Object.keys(x), ...Object.keys(y)])].sort(compareStrings)) {
      const inA = Object.hasOwn(x, key);
      const inB = Object.hasOwn(y, key);
      const change = !inA ? 'added' : !inB ? 'removed' : deepEqual(x[key], y[key]) ? 'unchanged' : 'modified';
      if (change === 'unchanged' && !opts.all) continue;
      const row: ParamRow = { file, key, change };
      if (inA) row.old = x[key];
      if (inB) row.new = y[key];
      changes.push(row);
    }
  }
  return { a: a.label, b: b.label, changes };
}
