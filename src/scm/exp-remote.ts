import { RvcError } from '../errors.js';
import { runGit } from './exec.js';
import { EXP_REF_ROOT, parseExpRef } from './experiments.js';

/**
 * Experiment refs on a git remote (a remote's name or URL): listed with `git ls-remote`, sent
 * with `git push <remote> <ref>:<ref>`, brought back with `git fetch <remote> <ref>:<ref>`,
 * deleted with `git push <remote> :<ref>`. The refs keep the same names on both sides.
 */
export interface RemoteExperiment {
  name: string;
  ref: string;
  commit: string;
  baseline: string;
}

/** Refuses a remote that git would read as an option. */
function assertGitRemote(remote: string): void {
  if (remote === '' || remote.startsWith('-') || /[\0\n\r]/.test(remote)) {
    throw new RvcError('USAGE', `'${remote}' is not a git remote`, { hint: 'name a git remote (`git remote -v` lists them) or its URL' });
  }
}

function remoteFailure(e: unknown, remote: string, what: string, force?: { cmd: string; where: string }): RvcError {
  // runGit keeps git's first stderr line; a push or fetch says why a ref was refused further down.
  const stderr = String((e as { cause?: { stderr?: unknown } } | undefined)?.cause?.stderr ?? '');
  const why = stderr.split('\n').map((l) => l.trim()).find((l) => /^!|rejected|error:|fatal:/.test(l));
  const msg = why ?? (e instanceof Error ? e.message : String(e));
  const rejected = force !== undefined && /rejected|non-fast-forward|already exists|stale/i.test(msg);
  return new RvcError('GIT_FAILED', `${what} git remote '${remote}' failed: ${msg}`, {
    cause: e,
    hint: rejected ? `an experiment of the same name points at another commit ${force.where}; \`${force.cmd}\` replaces it`
      : `check that '${remote}' is a git remote you can reach (\`git ls-remote ${remote}\`)`,
  });
}

/** The experiments the git remote holds (one `git ls-remote`). */
export function listRemoteExperiments(root: string, remote: string): RemoteExperiment[] {
  assertGitRemote(remote);
  let out: string;
  try {
    out = runGit(['ls-remote', '--refs', remote, `${EXP_REF_ROOT}*`], root);
  } catch (e) {
    throw remoteFailure(e, remote, 'listing the experiments of');
  }
  const res: RemoteExperiment[] = [];
  for (const line of out.split('\n')) {
    const [commit, ref] = line.split('\t');
    if (!commit || !ref) continue;
    const p = parseExpRef(ref);
    if (p) res.push({ name: p.name, ref, commit, baseline: p.baseline });
  }
  return res;
}

/** Sends the refs to the git remote under the same names (one `git push`). */
export function pushExperimentRefs(root: string, remote: string, refs: readonly string[], force: boolean): void {
  assertGitRemote(remote);
  if (!refs.length) return;
  try {
    runGit(['push', ...(force ? ['--force'] : []), remote, ...refs.map((r) => `${r}:${r}`)], root);
  } catch (e) {
    throw remoteFailure(e, remote, 'pushing experiments to', { cmd: `rvc exp push -f ${remote} …`, where: 'on the git remote' });
  }
}

/** Brings the refs (and their commits) from the git remote under the same names (one `git fetch`). */
export function fetchExperimentRefs(root: string, remote: string, refs: readonly string[], force: boolean): void {
  assertGitRemote(remote);
  if (!refs.length) return;
  try {
    runGit(['fetch', '--no-tags', remote, ...refs.map((r) => `${force ? '+' : ''}${r}:${r}`)], root);
  } catch (e) {
    throw remoteFailure(e, remote, 'fetching experiments from', { cmd: `rvc exp pull -f ${remote} …`, where: 'in this repository' });
  }
}

/**
 * Brings the commits of the refs from the git remote without writing any ref (one `git fetch`
 * into the object store only), so their files can be read; git's own gc drops them later unless
 * `exp pull` names them.
 */
export function fetchExperimentCommits(root: string, remote: string, refs: readonly string[]): void {
  assertGitRemote(remote);
  if (!refs.length) return;
  try {
    runGit(['fetch', '--no-tags', '--no-write-fetch-head', remote, ...refs], root);
  } catch (e) {
    throw remoteFailure(e, remote, 'reading experiments from');
  }
}

/** Deletes the refs on the git remote (one `git push`). */
export function deleteRemoteExperimentRefs(root: string, remote: string, refs: readonly string[]): void {
  assertGitRemote(remote);
  if (!refs.length) return;
  try {
    runGit(['push', '--quiet', remote, ...refs.map((r) => `:${r}`)], root);
  } catch (e) {
    throw remoteFailure(e, remote, 'removing experiments from');
  }
}
