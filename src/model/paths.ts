import { RvcError } from '../errors.js';

/**
 * Checks a repository-relative POSIX path read from a file someone else may have written.
 * Returns the reason it is unsafe, or undefined when it is a plain relative path that stays
 * inside the folder it is joined to.
 */
export function unsafeRelPathReason(p: string): string | undefined {
  if (typeof p !== 'string' || p.length === 0) return 'empty path';
  if (p.length > 4096) return 'path too long';
  if (p.includes('\0')) return 'NUL byte in path';
  if (p.includes('\\')) return 'backslash in path';
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p)) return 'absolute path';
  for (const seg of p.split('/')) {
    if (seg === '') return 'empty path segment';
    if (seg === '.' || seg === '..') return `'${seg}' segment`;
  }
  return undefined;
}

export function assertSafeRelPath(p: string, file: string, line?: number): string {
  const why = unsafeRelPathReason(p);
  if (why) {
    throw new RvcError('PATH_UNSAFE', `${file}${line !== undefined ? `:${line}` : ''}: refusing path '${String(p).slice(0, 200)}' (${why})`, {
      path: file, ...(line !== undefined ? { line } : {}),
      hint: 'paths in rvc files must be relative, use / and stay inside the repository',
    });
  }
  return p;
}

/** Normalises a user-typed relative path to POSIX form without './' and trailing '/'. */
export function toPosix(p: string): string {
  return p.split('\\').join('/');
}

/** True when `child` equals `parent` or lies below it (both POSIX, repository-relative). */
export function isInside(child: string, parent: string): boolean {
  if (parent === '' || parent === '.') return true;
  return child === parent || child.startsWith(parent.endsWith('/') ? parent : parent + '/');
}

/** Unicode-normalised, case-folded form, for detecting entries that collide on some filesystems. */
export function foldedPath(p: string): string {
  return p.normalize('NFC').toLowerCase();
}
