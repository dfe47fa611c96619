import fs from 'node:fs';
import path from 'node:path';
import { processRunning } from '../fsutil/lockfile.js';
import type { Repo } from './repo.js';

/**
 * Runs in work-tree copies of the repository that share its cache: `rvc verify`'s copies
 * (`.rvc/tmp/verify/<pid>-<n>/`) and the experiment queue's (`.rvc/tmp/exps/<id>/`, each run
 * owning its entry through a claim file `.rvc/tmp/exps/queue/<id>.claim` that lists its PIDs).
 * A copy registers the objects it relies on in its own folder, under its own lock, so the
 * repository's `gc` cannot honour them one by one: it asks here whether any such run is alive.
 */

export const VERIFY_COPY_RE = /^(\d+)-\d+$/;

/** The PIDs a queue claim file lists (empty for a claim being written or damaged). */
export function claimPids(text: string | undefined): number[] {
  try {
    const c = JSON.parse(text ?? '') as { pids?: unknown };
    return Array.isArray(c.pids) ? c.pids.filter((p): p is number => Number.isSafeInteger(p)) : [];
  } catch {
    return [];
  }
}

/** Runs alive right now in copies of `repo`: what they are (for messages) and a PID of each. */
export function liveCopyRuns(repo: Repo): { what: string; pid: number }[] {
  const res: { what: string; pid: number }[] = [];
  for (const n of listNames(path.join(repo.tmpDir, 'verify'))) {
    const m = VERIFY_COPY_RE.exec(n);
    if (m && processRunning(Number(m[1]))) res.push({ what: 'rvc verify', pid: Number(m[1]) });
  }
  const queue = path.join(repo.tmpDir, 'exps', 'queue');
  for (const n of listNames(queue)) {
    if (!n.endsWith('.claim')) continue;
    let text: string | undefined;
    try {
      text = fs.readFileSync(path.join(queue, n), 'utf8');
    } catch {
      continue;
    }
    const pid = claimPids(text).find(processRunning);
    if (pid !== undefined) res.push({ what: `queued experiment ${n.slice(0, -'.claim'.length)}`, pid });
  }
  return res;
}

function listNames(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
