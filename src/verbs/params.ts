import { Repo } from '../repo/repo.js';
import { diffParams, type CompareOptions, type ParamRow, type ParamsDiffOptions, type ParamsDiffResult } from '../pipeline/compare.js';

export type { CompareOptions, ParamRow, ParamsDiffOptions, ParamsDiffResult };

/** `rvc params diff [a] [b]`: see diffParams. */
export function paramsDiff(opts: ParamsDiffOptions = {}): ParamsDiffResult {
  return diffParams(Repo.open(opts.cwd), opts);
}
