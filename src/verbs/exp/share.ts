import { RvcError } from '../../errors.js';
import { compareStrings } from '../../model/values.js';
import { fetchData } from '../../repo/fetch-data.js';
import { pushData } from '../../repo/push-data.js';
import { Repo } from '../../repo/repo.js';
import type { SyncOptions, SyncResult } from '../../repo/sync.js';
import { gitHead } from '../../scm/git.js';
import { findExperiment, listExperimentRefs, type ExperimentRef } from '../../scm/experiments.js';
import {
  deleteRemoteExperimentRefs, fetchExperimentRefs, listRemoteExperiments, pushExperimentRefs, type RemoteExperiment,
} from '../../scm/exp-remote.js';

export type { RemoteExperiment };

export interface ExpShareOptions extends Pick<SyncOptions, 'cwd' | 'onProgress' | 'onWarning' | 'onLockWait' | 'lockWaitMs' | 'jobs' | 'runCache'> {
  /** The git remote: a name (`origin`) or a URL. */
  gitRemote: string;
  /** Experiments: names, full refs or commit prefixes. */
  names?: string[];
  /** Every experiment (of every baseline). */
  all?: boolean;
  /** Only the git refs: no data to or from the rvc remote. */
  noCache?: boolean;
  /** The rvc remote for the data; default core.remote. */
  remote?: string;
  /** Replace refs of the same name that point elsewhere. */
  force?: boolean;
}

export interface ExpShareResult {
  /** The experiments whose refs were sent (push) or brought (pull). */
  experiments: RemoteExperiment[];
  /** The data moved: every output of the experiments' commits (and the run-cache with `runCache`). */
  data?: SyncResult;
}

function noneNamed(): RvcError {
  return new RvcError('USAGE', 'no experiment named', { hint: 'name experiments (`rvc exp push origin exp-1 exp-2`) or pass -A for all of them' });
}

function notFound(name: string, where: string, listCmd: string): RvcError {
  return new RvcError('EXP_NOT_FOUND', `no experiment '${name}' ${where}`, { hint: `\`${listCmd}\` lists them` });
}

/** The remote's experiments the names choose: a name, a full ref or a commit prefix each. */
function chooseRemote(all: RemoteExperiment[], opts: ExpShareOptions): RemoteExperiment[] {
  if (opts.all) return all;
  if (!opts.names?.length) throw noneNamed();
  const res = new Map<string, RemoteExperiment>();
  for (const n of opts.names) {
    let hit = all.filter((e) => e.ref === n);
    if (!hit.length) hit = all.filter((e) => e.name === n);
    if (!hit.length && /^[0-9a-f]{7,64}$/.test(n)) hit = all.filter((e) => e.commit.startsWith(n));
    if (!hit.length) throw notFound(n, `on git remote '${opts.gitRemote}'`, `rvc exp list ${opts.gitRemote}`);
    if (hit.length > 1) {
      throw new RvcError('EXP_AMBIGUOUS', `'${n}' names ${hit.length} experiments on git remote '${opts.gitRemote}'`, { hint: `name it by its ref: ${hit.map((e) => e.ref).join(', ')}` });
    }
    res.set(hit[0]!.ref, hit[0]!);
  }
  return [...res.values()];
}

const asRemote = (e: ExperimentRef): RemoteExperiment => ({ name: e.name, ref: e.ref, commit: e.commit, baseline: e.baseline });

function syncOpts(opts: ExpShareOptions, commits: string[]): SyncOptions {
  return {
    revs: commits, revisionsOnly: true,
    ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    ...(opts.onWarning ? { onWarning: opts.onWarning } : {}), ...(opts.onLockWait ? { onLockWait: opts.onLockWait } : {}),
    ...(opts.lockWaitMs !== undefined ? { lockWaitMs: opts.lockWaitMs } : {}), ...(opts.jobs !== undefined ? { jobs: opts.jobs } : {}),
    ...(opts.runCache ? { runCache: true } : {}), ...(opts.remote !== undefined ? { remote: opts.remote } : {}),
  };
}

/**
 * `rvc exp push <git-remote> [exp…|-A]`: the data of the experiments first (every output their
 * commits record, not the workspace's, through push's own service, so the rvc remote holds it before any ref names
 * it), then their refs to the git remote under the same names.
 */
export async function expPush(opts: ExpShareOptions): Promise<ExpShareResult> {
  const repo = Repo.open(opts.cwd);
  const local = listExperimentRefs(repo.root);
  let chosen: ExperimentRef[];
  if (opts.all) chosen = local;
  else {
    if (!opts.names?.length) throw noneNamed();
    const head = gitHead(repo.root);
    chosen = opts.names.map((n) => {
      const e = findExperiment(repo.root, n, { all: local, ...(head ? { preferBaseline: head } : {}) });
      if (!e) throw notFound(n, 'in this repository', 'rvc exp show');
      return e;
    });
  }
  const res: ExpShareResult = { experiments: chosen.map(asRemote) };
  if (!chosen.length) return res;
  if (!opts.noCache) res.data = await pushData(repo, syncOpts(opts, chosen.map((e) => e.commit)));
  pushExperimentRefs(repo.root, opts.gitRemote, chosen.map((e) => e.ref), !!opts.force);
  return res;
}

/**
 * `rvc exp pull <git-remote> [exp…|-A]`: the experiments' refs (and commits) from the git
 * remote under the same names, then their data from the rvc remote (fetch's own service).
 */
export async function expPull(opts: ExpShareOptions): Promise<ExpShareResult> {
  const repo = Repo.open(opts.cwd);
  const chosen = chooseRemote(listRemoteExperiments(repo.root, opts.gitRemote), opts);
  const res: ExpShareResult = { experiments: chosen };
  if (!chosen.length) return res;
  fetchExperimentRefs(repo.root, opts.gitRemote, chosen.map((e) => e.ref), !!opts.force);
  if (!opts.noCache) res.data = await fetchData(repo, syncOpts(opts, chosen.map((e) => e.commit)));
  return res;
}

/** `rvc exp list <git-remote>`: the experiments a git remote holds, by baseline then name. */
export function expListRemote(opts: { cwd?: string; gitRemote: string }): RemoteExperiment[] {
  const repo = Repo.open(opts.cwd);
  return listRemoteExperiments(repo.root, opts.gitRemote)
    .sort((a, b) => compareStrings(a.baseline, b.baseline) || compareStrings(a.name, b.name));
}

/** `rvc exp remove -g <git-remote> <exp…|-A>`: deletes the experiments' refs on the git remote. */
export function expRemoveRemote(opts: Pick<ExpShareOptions, 'cwd' | 'gitRemote' | 'names' | 'all'>): RemoteExperiment[] {
  const repo = Repo.open(opts.cwd);
  const chosen = chooseRemote(listRemoteExperiments(repo.root, opts.gitRemote), opts as ExpShareOptions);
  deleteRemoteExperimentRefs(repo.root, opts.gitRemote, chosen.map((e) => e.ref));
  return chosen;
}
