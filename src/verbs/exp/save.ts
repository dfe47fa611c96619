import path from 'node:path';
import { RvcError } from '../../errors.js';
import { Repo, type CommonOptions } from '../../repo/repo.js';
import { gitHead, gitToplevel } from '../../scm/git.js';
import { generateExperimentName, listExperimentRefs, saveExperimentCommit, workTreeSnapshot, type ExperimentRef } from '../../scm/experiments.js';

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
}

/**
 * `rvc exp save`: records the workspace as it is — params, code, pointers, rvc.lock, metrics:
 * everything git does not ignore, plus `includeUntracked` — as an experiment of HEAD without
 * running anything (what DVCLive users do after training in their own script). HEAD, the
 * index and branches are left as they are. Data outputs are not stored here: `rvc commit` or
 * `rvc repro` put them in the cache; the experiment records their pointers and lock entries.
 */
export function saveExperiment(opts: ExpSaveOptions = {}): ExpSaveResult {
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
  const name = opts.name ?? generateExperimentName(`${workTreeSnapshot(repo.root, include)}:${Date.now()}`, new Set(listExperimentRefs(repo.root, baseline).map((e) => e.name)));
  const experiment = saveExperimentCommit(repo.root, {
    workdir: repo.root, baseline, name, include,
    ...(opts.message !== undefined ? { message: opts.message } : {}), ...(opts.force ? { force: true } : {}),
  });
  return { experiment };
}
