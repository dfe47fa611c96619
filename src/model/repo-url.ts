/**
 * Addresses of other git repositories (`rvc ls/get/import <repo>`): a local path or anything
 * `git clone` accepts. Pure checks only; opening the repository is the repo layer's job.
 */

const SCHEME_RE = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//;
/** git's scp-like syntax `[user@]host:path` (no scheme, a colon before any slash). */
const SCP_RE = /^(?:([^@/\s]+)@)?([^@/:\s]+):(?!\/\/)/;

export type RepoAddress =
  | { kind: 'url'; scheme: string }
  | { kind: 'scp' }
  | { kind: 'path' };

/** How git would read `repo`: a URL with a scheme, an scp-like `host:path`, or a local path. */
export function repoAddressKind(repo: string): RepoAddress {
  const m = SCHEME_RE.exec(repo);
  if (m) return { kind: 'url', scheme: m[1]!.toLowerCase() };
  // `C:\x` and `C:/x` are Windows paths, not a host named C.
  if (!/^[A-Za-z]:[\\/]/.test(repo) && SCP_RE.test(repo)) return { kind: 'scp' };
  return { kind: 'path' };
}

/**
 * Why `repo` must not be used or stored, or undefined when it is acceptable. Credentials are
 * refused: a password in any URL, and any user part at all in http(s):// and file:// URLs
 * (where a "user" is how tokens are passed). A bare ssh user name (`git@host:repo`,
 * `ssh://git@host/repo`) is not a secret and is allowed. Query strings of http(s) URLs are
 * refused too, since they are another place tokens hide.
 */
export function repoUrlProblem(repo: string): string | undefined {
  if (typeof repo !== 'string' || repo.trim() === '') return 'it is empty';
  if (/[\0\n\r]/.test(repo)) return 'it contains a control character';
  if (repo.startsWith('-')) return "it starts with '-'";
  const a = repoAddressKind(repo);
  if (a.kind === 'url') {
    const rest = repo.slice(repo.indexOf('://') + 3);
    const authority = rest.split('/')[0] ?? '';
    const at = authority.lastIndexOf('@');
    if (at >= 0) {
      const user = authority.slice(0, at);
      if (user.includes(':') || a.scheme === 'http' || a.scheme === 'https' || a.scheme === 'file' || a.scheme === 'ftp' || a.scheme === 'ftps') {
        return 'it contains credentials';
      }
    }
    if ((a.scheme === 'http' || a.scheme === 'https') && /[?#]/.test(rest)) return 'query strings and fragments are not allowed (they can carry tokens)';
    return undefined;
  }
  if (a.kind === 'scp') {
    const m = SCP_RE.exec(repo)!;
    if (m[1] !== undefined && m[1].includes(':')) return 'it contains credentials';
  }
  return undefined;
}

/** Hides the user-info part of a URL (before '@' in the authority) and any query string, for messages. */
export function redactRepoUrl(repo: string): string {
  return repo
    .replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/\s]*@/i, '$1***@')
    .replace(/^[^/\s]*:[^/\s]*@/, '***@')
    .replace(/^([a-z][a-z0-9+.-]*:\/\/[^?#]*)[?#].*$/i, '$1?***');
}
