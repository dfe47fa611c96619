import { reproduce, type ReproOptions, type ReproResult } from '../pipeline/reproduce.js';

export type { ReproOptions, ReproResult, StageRunResult, StageRunStatus, StageStartEvent, StageConfirmEvent, PullMissingResult } from '../pipeline/reproduce.js';

/**
 * `rvc repro`: brings the selected stages up to date (see reproduce, which `rvc exp run` shares,
 * in src/pipeline/reproduce.ts).
 */
export async function repro(opts: ReproOptions = {}): Promise<ReproResult> {
  return reproduce(opts);
}
