import { compareStrings, deepEqual } from '../model/values.js';
import { DEFAULT_PARAMS_FILE } from '../model/pipeline/types.js';
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

export interface ParamsDiffOptions extends CompareOptions {
  /** Only the params stages depend on, not every param of their params files. */
  deps?: boolean;
}

/**
 * `rvc params diff [a] [b]`: params compared between two revisions. As in DVC, every param of
 * every params file a stage reads is shown, and `params.yaml` whenever it exists; with `deps`,
 * only the keys the stages list.
 */
export function paramsDiff(opts: ParamsDiffOptions = {}): ParamsDiffResult {
  const repo = Repo.open(opts.cwd);
  const [a, b] = sources(repo, opts);
  const tracked = trackedParams([pipelineAt(a), pipelineAt(b)]);
  if (!opts.deps) {
    for (const f of tracked.keys()) tracked.set(f, null);
    if (a.read(DEFAULT_PARAMS_FILE) !== undefined || b.read(DEFAULT_PARAMS_FILE) !== undefined) tracked.set(DEFAULT_PARAMS_FILE, null);
  }
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
