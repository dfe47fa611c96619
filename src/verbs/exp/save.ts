import path from 'node:path';
import { RvcError } from '../../errors.js';
import { Repo, type CommonOptions } from '../../repo/repo.js';
import { commit } from '../commit.js';
import { status } from '../status.js';
import { gitHead, gitToplevel } from '../../scm/git.js';
import { assertNameFree, generateExperimentName, listExperimentRefs, saveExperimentCommit, workTreeSnapshot, type ExperimentRef } from '../../scm/experiments.js';

export interface ExpSaveOptions extends CommonOptions {
  /** The experiment's name; default a generated one. */
  name?: string;
  /** First line of the experiment commit's message. */
  message?: string;
  /** Replace an experiment of HEAD with the same name. */
  force?: boolean;
  /** Paths (relative to `cwd`) to record even though git ignores them. */
  includeUntracked?: string[];
}

export interface ExpSaveResult {
  experiment: ExperimentRef;
  /** Outputs stored in the cache and recorded before saving (pointers, or stage outputs in rvc.lock). */
  committed: string[];
  /**
   * Stages recorded as stale in the experiment: their inputs changed but none of their outputs
   * did, so nothing shows they ran (`rvc exp run` runs them).
   */
  stale: string[];
}

/**
 * `rvc exp save`: records the workspace as it is — params, code, pointers, rvc.lock, metrics:
 * everything git does not ignore, plus `includeUntracked` — as an experiment of HEAD without
 * running anything (what DVCLive users do after training in their own script). HEAD, the
 * index and branches are left as they are. Changed outputs are stored first (recordOutputs).
 */
export async function saveExperiment(opts: ExpSaveOptions = {}): Promise<ExpSaveResult> {
  const repo = Repo.open(opts.cwd);
  const baseline = gitHead(repo.root);
  if (!baseline) {
    throw new RvcError('REV_NOT_FOUND', 'experiments need a commit to start from, and this repository has none', {
      hint: 'commit the project first: `git add -A && git commit -m "baseline"`',
    });
  }
  const top = gitToplevel(repo.root) ?? repo.root;
  const cwd = path.resolve(opts.cwd ?? process.cwd());
  const include = (opts.includeUntracked ?? []).map((p) => {
    const rel = path.relative(top, path.resolve(cwd, p)).split(path.sep).join('/');
    if (rel === '' || rel === '..' || rel.startsWith('../') || path.isAbsolute(rel)) {
      throw new RvcError('PATH_OUTSIDE_REPO', `'${p}' is outside the repository`, { path: p, hint: 'name a path inside the work tree' });
    }
    return rel;
  });
  if (opts.name !== undefined) assertNameFree(repo.root, baseline, opts.name, opts.force);
  const { committed, stale } = await recordOutputs(opts);
  const name = opts.name ?? generateExperimentName(`${workTreeSnapshot(repo.root, include)}:${Date.now()}`, new Set(listExperimentRefs(repo.root, baseline).map((e) => e.name)));
  const experiment = saveExperimentCommit(repo.root, {
    workdir: repo.root, baseline, name, include,
    ...(opts.message !== undefined ? { message: opts.message } : {}), ...(opts.force ? { force: true } : {}),
  });
  return { experiment, committed, stale };
}

/**
 * Stores what changed since it was recorded, as `dvc exp save` does, so the experiment's
 * pointers and rvc.lock describe the data in the workspace: changed pointer-tracked data, and the
 * stages whose outputs changed — also those whose inputs changed too, which is what training in
 * one's own script (DVCLive) leaves behind. A stage whose inputs changed while none of its
 * outputs did is left stale: nothing shows it ran.
 */
async function recordOutputs(opts: ExpSaveOptions): Promise<{ committed: string[]; stale: string[] }> {
  const common = { ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}) };
  const first = await commit(common);
  const committed = first.committed.map((c) => c.path);
  const skipped = first.skipped ?? [];
  if (!skipped.length) return { committed, stale: [] };
  const states = (await status(common)).pipeline?.stages ?? [];
  const ran = new Set(states.filter((s) => s.reasons.some((r) => r.kind === 'out-modified' || r.kind === 'out-added')).map((s) => s.name));
  const run = skipped.filter((n) => ran.has(n));
  if (run.length) for (const c of (await commit({ ...common, targets: run })).committed) committed.push(c.path);
  return { committed, stale: skipped.filter((n) => !ran.has(n)) };
}
