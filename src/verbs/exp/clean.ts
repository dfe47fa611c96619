import fs from 'node:fs';
import path from 'node:path';
import { processGone } from '../../fsutil/atomic.js';
import { removeTree } from '../../fsutil/remove.js';
import { Repo, type CommonOptions } from '../../repo/repo.js';
import { runGit } from '../../scm/exec.js';
import { PRIVATE_INDEX_PREFIX } from '../../scm/experiments.js';

/** Where runs outside the workspace keep their copies (`.rvc/tmp/exps/<id>/`, each with a `pid` file). */
export const EXPS_TMP = 'exps';
/** The queue's folder inside it, which `exp clean` leaves alone. */
const QUEUE_DIR = 'queue';

export interface ExpCleanResult {
  /** Private index files of experiment saves whose process is gone (paths relative to the git dir). */
  indexes: string[];
  /** Copies under `.rvc/tmp/exps/` whose owning process is gone (paths relative to the root). */
  copies: string[];
}

/**
 * `rvc exp clean`: removes what killed experiment runs left behind — private index files
 * `rvc-exp-index.<pid>.*` in the git folder whose PID is gone, and folders under
 * `.rvc/tmp/exps/` whose `pid` file names a process that is gone. A folder without a `pid`
 * file, one whose process lives, and the queue's folder are left alone, so a live run is
 * never disturbed.
 */
export function cleanExperiments(opts: CommonOptions = {}): ExpCleanResult {
  const repo = Repo.open(opts.cwd);
  const indexes: string[] = [];
  const gitDirs = new Set(['--git-dir', '--git-common-dir'].map((f) => path.resolve(repo.root, runGit(['rev-parse', f], repo.root).trim())));
  for (const dir of gitDirs) {
    for (const name of safeList(dir)) {
      if (!name.startsWith(PRIVATE_INDEX_PREFIX)) continue;
      const pid = Number(name.slice(PRIVATE_INDEX_PREFIX.length).split('.')[0]);
      if (!processGone(pid)) continue;
      fs.rmSync(path.join(dir, name), { force: true });
      indexes.push(name);
    }
  }
  const copies: string[] = [];
  const base = path.join(repo.tmpDir, EXPS_TMP);
  for (const name of safeList(base)) {
    if (name === QUEUE_DIR) continue;
    const abs = path.join(base, name);
    let pid: number;
    try {
      if (!fs.lstatSync(abs).isDirectory()) continue;
      pid = Number(fs.readFileSync(path.join(abs, 'pid'), 'utf8').trim());
    } catch {
      continue;
    }
    if (!processGone(pid)) continue;
    const rel = path.relative(repo.root, abs).split(path.sep).join('/');
    removeTree(abs, rel);
    copies.push(rel);
  }
  // A copy may have been a git worktree: drop git's record of those that are gone.
  if (copies.length) runGit(['worktree', 'prune'], repo.root);
  return { indexes: indexes.sort(), copies: copies.sort() };
}

function safeList(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
