import { execFileSync } from 'node:child_process';
import { RvcError } from '../errors.js';

/**
 * Runs git in `cwd` and returns its output. A missing git and a failing command become
 * GIT_FAILED errors carrying git's first stderr line and its exit status (`details.status`).
 * `env` replaces the environment (a private GIT_INDEX_FILE, say); optional locks are always off
 * so a read never blocks the user's own git.
 */
export function runGit(args: string[], cwd: string, input?: string, env?: NodeJS.ProcessEnv): string {
  try {
    return execFileSync('git', args, {
      cwd, encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...(env ?? process.env), GIT_OPTIONAL_LOCKS: '0' },
      ...(input !== undefined ? { input } : {}),
    });
  } catch (e) {
    const err = e as { status?: number; stderr?: string; code?: string };
    if (err.code === 'ENOENT') {
      throw new RvcError('GIT_FAILED', 'git is not installed or not on PATH', { hint: 'install git, or use `rvc init --no-scm`' });
    }
    const msg = (err.stderr ?? '').trim().split('\n')[0] ?? '';
    throw new RvcError('GIT_FAILED', `git ${args[0]} failed: ${msg}`, { cause: e, details: { status: err.status } });
  }
}
