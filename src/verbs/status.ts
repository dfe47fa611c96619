import { Repo, type CommonOptions } from '../repo/repo.js';
import { outStatus, type OutStatus } from '../repo/out-status.js';

export type { OutStatus };

export interface StatusResult {
  outs: OutStatus[];
  /** True when every output is unchanged and in the cache. */
  clean: boolean;
}

export interface StatusOptions extends CommonOptions {
  targets?: string[];
}

/**
 * Compares every tracked output with the workspace. Read-only: it takes no lock (it only
 * refreshes the hash cache, whose writes are atomic), so it can run beside a long `add`.
 */
export async function status(opts: StatusOptions = {}): Promise<StatusResult> {
  const repo = Repo.open(opts.cwd);
  const targets = repo.resolveTargets(opts.targets ?? [], opts.cwd);
  const seen = new Set<string>();
  const outs: OutStatus[] = [];
  for (const { tracked } of targets) {
    const key = `${tracked.pointerFile}\0${tracked.index}`;
    if (seen.has(key)) continue;
    seen.add(key);
    outs.push(outStatus(repo, tracked, opts));
  }
  return { outs, clean: outs.every((o) => o.workspace === 'unchanged' && o.inCache) };
}
