import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { RvcError } from '../errors.js';
import { runGit } from './exec.js';
import { findExperiment } from './experiments.js';
import { writeFileAtomic } from '../fsutil/atomic.js';

const git = (args: string[], cwd: string, input?: string): string => runGit(args, cwd, input);

/** The top folder of the git work tree containing `dir`, or undefined outside git. */
export function gitToplevel(dir: string): string | undefined {
  try {
    return git(['rev-parse', '--show-toplevel'], dir).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Of `paths` (repository-relative), those git tracks (or has staged), as git reports them. */
export function gitTrackedUnder(root: string, paths: string[]): string[] {
  if (paths.length === 0) return [];
  const out = git(['ls-files', '-z', '--cached', '--', ...paths.map((p) => `:(literal)${p}`)], root);
  return out.split('\0').filter(Boolean);
}

/** Every pointer file git can see: tracked, or untracked but not ignored. */
export function gitListFiles(root: string, patterns: string[]): string[] {
  const out = git(['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', ...patterns], root);
  return [...new Set(out.split('\0').filter(Boolean))];
}

/**
 * Adds `/<name>` to the .gitignore in `dir` unless a line already says so. The rest of the file
 * is kept byte for byte.
 */
export function addGitignoreEntry(dir: string, name: string): boolean {
  const file = path.join(dir, '.gitignore');
  const entry = `/${escapeGitignore(name)}`;
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    // a new .gitignore
  }
  const lines = text.split('\n');
  if (lines.includes(entry)) return false;
  const next = text === '' || text.endsWith('\n') ? `${text}${entry}\n` : `${text}\n${entry}\n`;
  writeFileAtomic(file, next);
  return true;
}

/** Removes the `/<name>` line added by addGitignoreEntry; deletes the file if nothing is left. */
export function removeGitignoreEntry(dir: string, name: string): boolean {
  const file = path.join(dir, '.gitignore');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return false;
  }
  const entry = `/${escapeGitignore(name)}`;
  const lines = text.split('\n');
  const kept = lines.filter((l) => l !== entry);
  if (kept.length === lines.length) return false;
  const next = kept.join('\n');
  if (next.trim() === '') fs.rmSync(file, { force: true });
  else writeFileAtomic(file, next);
  return true;
}

function escapeGitignore(name: string): string {
  return name.replace(/([\\*?[\]!#])/g, '\\$1').replace(/^ | $/g, (m) => `\\${m}`);
}

/** Whether `rel` (repository-relative) is ignored by git, as `git check-ignore` decides. */
export function gitIsIgnored(root: string, rel: string): boolean {
  try {
    git(['check-ignore', '-q', '--no-index', '--', rel], root);
    return true;
  } catch {
    return false;
  }
}

/**
 * Of `paths` (relative to `root`), those git ignores, each with the ignore file (as git names
 * it, relative to `root` or absolute) that does: one `git check-ignore` for them all, the paths
 * fed on stdin. A path git tracks is not ignored (git would commit its changes).
 */
export function gitIgnoredBy(root: string, paths: readonly string[]): Map<string, string> {
  const found = new Map<string, string>();
  if (paths.length === 0) return found;
  let out: string;
  try {
    out = git(['check-ignore', '-v', '-z', '--stdin'], root, paths.join('\0') + '\0');
  } catch (e) {
    // Exit status 1: none of them is ignored.
    if (e instanceof RvcError && (e.details as { status?: number } | undefined)?.status === 1) return found;
    throw e;
  }
  // Records of four fields: source, line number, pattern, path.
  const f = out.split('\0');
  for (let i = 0; i + 3 < f.length; i += 4) found.set(f[i + 3]!, f[i]!);
  return found;
}

/**
 * The content of `rel` (relative to `root`) at git revision `rev`, or undefined when the file
 * does not exist there. An unknown revision is a REV_NOT_FOUND error. `root` may be a folder
 * inside the work tree: `rev:./path` is resolved against it.
 */
export function gitShowFile(root: string, rev: string, rel: string): string | undefined {
  assertRevName(rev);
  try {
    return git(['cat-file', 'blob', `${rev}:./${rel}`], root);
  } catch (e) {
    if (!(e instanceof RvcError) || e.code !== 'GIT_FAILED') throw e;
  }
  // The file is not there, the revision is unknown (REV_NOT_FOUND), or it names an experiment,
  // which git cannot resolve by name: read it again through the commit.
  const commit = gitResolveCommit(root, rev);
  if (commit.startsWith(rev)) return undefined;
  try {
    return git(['cat-file', 'blob', `${commit}:./${rel}`], root);
  } catch (e) {
    if (!(e instanceof RvcError) || e.code !== 'GIT_FAILED') throw e;
    return undefined;
  }
}

/** gitShowFile for binary content (images): the bytes of `rel` at `rev`, or undefined when git has no such file there. */
export function gitShowBytes(root: string, rev: string, rel: string): Buffer | undefined {
  assertRevName(rev);
  try {
    return execFileSync('git', ['cat-file', 'blob', `${rev}:./${rel}`], {
      cwd: root, maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' },
    });
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') {
      throw new RvcError('GIT_FAILED', 'git is not installed or not on PATH', { hint: 'install git, or use `rvc init --no-scm`' });
    }
    // not there, or an unknown revision: told apart below
  }
  gitResolveCommit(root, rev);
  return undefined;
}

/** Paths (relative to `root`) of the files git has at `rev` under `root`; an unknown revision is REV_NOT_FOUND. */
export function gitTreeFiles(root: string, rev: string): string[] {
  assertRevName(rev);
  const commit = gitResolveCommit(root, rev);
  return git(['ls-tree', '-r', '-z', '--name-only', commit], root).split('\0').filter(Boolean);
}

function assertRevName(rev: string): void {
  if (rev === '' || rev.startsWith('-') || /[\0\n\r]/.test(rev)) {
    throw new RvcError('REV_NOT_FOUND', `'${rev}' is not a git revision`, { hint: 'name a commit, branch or tag, e.g. HEAD~1' });
  }
}

/**
 * The commit `rev` names (full oid): anything git resolves, else an experiment's name (see
 * experiments.ts), so every command that takes a revision takes an experiment too. An unknown
 * revision is a REV_NOT_FOUND error.
 */
export function gitResolveCommit(root: string, rev: string): string {
  assertRevName(rev);
  try {
    return git(['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`], root).trim();
  } catch (e) {
    if (e instanceof RvcError && e.code === 'GIT_FAILED' && (e.details as { status?: number } | undefined)?.status !== undefined) {
      const exp = findExperiment(root, rev, { preferBaseline: gitHead(root) });
      if (exp) return exp.commit;
      throw new RvcError('REV_NOT_FOUND', `git revision '${rev}' not found`, { hint: 'name a commit, branch, tag or experiment, e.g. HEAD~1 (`git log --oneline` and `rvc exp list` list them)' });
    }
    throw e;
  }
}

/** The commit HEAD points at, or undefined in a repository without commits. */
export function gitHead(root: string): string | undefined {
  try {
    return git(['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'], root).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The commits at the tips of local branches (`heads`) or tags (`tags`), with their ref names.
 * Annotated tags are peeled; tags of anything but a commit are skipped.
 */
export function gitRefCommits(root: string, kind: 'heads' | 'tags'): { name: string; commit: string }[] {
  const out = git(['for-each-ref', '--format=%(objectname) %(objecttype) %(*objectname) %(*objecttype) %(refname:short)', `refs/${kind}`], root);
  const res: { name: string; commit: string }[] = [];
  for (const line of out.split('\n')) {
    if (!line) continue;
    const [oid, type, peeled, peeledType, ...name] = line.split(' ');
    if (type === 'commit') res.push({ name: name.join(' '), commit: oid! });
    else if (type === 'tag' && peeledType === 'commit') res.push({ name: name.join(' '), commit: peeled! });
  }
  return res;
}

/** Every commit reachable from any ref (branches, tags, remotes, stash) and HEAD. */
export function gitAllCommits(root: string): string[] {
  const out = git(['rev-list', '--all', ...(gitHead(root) ? ['HEAD'] : [])], root);
  return [...new Set(out.split('\n').filter(Boolean))];
}

/** The commits reachable from `commit` (a full oid), newest first. */
export function gitRevList(root: string, commit: string): string[] {
  return git(['rev-list', '--end-of-options', commit], root).split('\n').filter(Boolean);
}

/** Where `root` sits inside its git work tree ('' at the top, else `sub/dir/`). */
export function gitPrefix(root: string): string {
  return git(['rev-parse', '--show-prefix'], root).trim();
}

/** Runs a git command in `cwd` and returns its output; errors become GIT_FAILED. */
export function gitRun(cwd: string, args: string[], input?: string): string {
  return git(args, cwd, input);
}

/**
 * The folder git runs hooks from: `core.hooksPath` when set, else the common git dir's `hooks`
 * (shared by every worktree). Absolute.
 */
export function gitHooksDir(root: string): string {
  return path.resolve(root, git(['rev-parse', '--git-path', 'hooks'], root).trim());
}

/** A key of the repository's own git config (`--local`), or undefined when unset. */
export function gitConfigGet(root: string, key: string): string | undefined {
  try {
    return git(['config', '--local', '--get', key], root).replace(/\n$/, '');
  } catch (e) {
    if (e instanceof RvcError && (e.details as { status?: number } | undefined)?.status === 1) return undefined;
    throw e;
  }
}

export function gitConfigSet(root: string, key: string, value: string): void {
  git(['config', '--local', key, value], root);
}

/** Removes a whole section (`merge.rvc`) of the local git config; false when it was not there. */
export function gitConfigRemoveSection(root: string, section: string): boolean {
  try {
    git(['config', '--local', '--remove-section', section], root);
    return true;
  } catch (e) {
    if (e instanceof RvcError && e.code === 'GIT_FAILED') return false;
    throw e;
  }
}

/** Adds the lines missing from `.gitattributes` in `dir`, keeping every other line. Returns the lines added. */
export function addGitattributesLines(dir: string, lines: readonly string[]): string[] {
  const file = path.join(dir, '.gitattributes');
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    // a new .gitattributes
  }
  const have = new Set(text.split('\n').map((l) => l.trim()));
  const missing = lines.filter((l) => !have.has(l));
  if (!missing.length) return [];
  const sep = text === '' || text.endsWith('\n') ? '' : '\n';
  writeFileAtomic(file, `${text}${sep}${missing.join('\n')}\n`);
  return missing;
}

/** Removes exactly `lines` from `.gitattributes` in `dir`; deletes the file if nothing is left. */
export function removeGitattributesLines(dir: string, lines: readonly string[]): string[] {
  const file = path.join(dir, '.gitattributes');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const all = text.split('\n');
  const removed = all.filter((l) => lines.includes(l.trim())).map((l) => l.trim());
  if (!removed.length) return [];
  const next = all.filter((l) => !lines.includes(l.trim())).join('\n');
  if (next.trim() === '') fs.rmSync(file, { force: true });
  else writeFileAtomic(file, next);
  return removed;
}

/**
 * Clones `url` bare into `dest` (which must not exist) for reading another repository's files at
 * any revision. Never prompts: a repository that needs a password fails instead of hanging.
 */
export function gitCloneBare(url: string, dest: string): void {
  try {
    execFileSync('git', ['clone', '--bare', '--quiet', '--', url, dest], {
      encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26,
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'echo', SSH_ASKPASS: 'echo', GCM_INTERACTIVE: 'never' },
    });
  } catch (e) {
    const err = e as { stderr?: string; code?: string };
    if (err.code === 'ENOENT') throw new RvcError('GIT_FAILED', 'git is not installed or not on PATH', { hint: 'install git' });
    const lines = (err.stderr ?? '').trim().split('\n').filter((l) => l.trim() !== '');
    throw new RvcError('GIT_FAILED', `git clone failed: ${lines[lines.length - 1] ?? 'unknown error'}`);
  }
}
