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
    const reserved = reservedNameOf(seg);
    if (reserved) return reservedReason(seg, reserved);
  }
  return undefined;
}

/**
 * Code points HFS+ ignores when comparing names (the list git's `is_hfs_dotgit` uses): a name
 * holding them opens the same folder as the name without them.
 */
const HFS_IGNORED = /[\u200c-\u200f\u202a-\u202e\u206a-\u206f\ufeff]/g;

/**
 * Whether a single path component names, on some filesystem, the folder git or rvc keeps its own
 * files in: `.git` or `.rvc` after folding case, dropping the code points HFS+ ignores, an NTFS
 * alternate-stream suffix (`.git::$INDEX_ALLOCATION`) and trailing dots and spaces (`.git. `),
 * or their NTFS 8.3 short names (`GIT~1`, `rvc~2`). Returns the folder named, or undefined.
 * Ordinary names such as `.github`, `.gitignore`, `git`, `.rvcignore` or `my.git.file` are not
 * reserved.
 */
export function reservedNameOf(seg: string): '.git' | '.rvc' | undefined {
  // Fast path (this runs for every component of every manifest entry): a reserved name is at
  // least four code units long and starts with '.', 'g', 'r' or a code point HFS+ ignores.
  if (seg.length < 4) return undefined;
  const c = seg.charCodeAt(0);
  if (c !== 46 /* . */ && (c | 0x20) !== 103 /* g */ && (c | 0x20) !== 114 /* r */ && c < 0x80) return undefined;
  let s = seg.replace(HFS_IGNORED, '');
  const colon = s.indexOf(':');
  if (colon !== -1) s = s.slice(0, colon);
  s = s.replace(/[. ]+$/, '').toLowerCase();
  if (s === '.git' || /^git~[1-9]$/.test(s)) return '.git';
  if (s === '.rvc' || /^rvc~[1-9]$/.test(s)) return '.rvc';
  return undefined;
}

/** The first component of `p` (POSIX) that names `.git` or `.rvc` in any spelling, or undefined. */
export function reservedComponentOf(p: string): string | undefined {
  for (const seg of p.split('/')) if (reservedNameOf(seg)) return seg;
  return undefined;
}

function reservedReason(seg: string, reserved: string): string {
  const shown = seg.replace(/[^\x20-\x7e]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return shown === reserved ? `'${reserved}' component` : `'${shown}' component, which names '${reserved}' on some filesystems`;
}

export function assertSafeRelPath(p: string, file: string, line?: number): string {
  const why = unsafeRelPathReason(p);
  if (why) {
    throw new RvcError('PATH_UNSAFE', `${file}${line !== undefined ? `:${line}` : ''}: refusing path '${String(p).slice(0, 200)}' (${why})`, {
      path: file, ...(line !== undefined ? { line } : {}),
      hint: 'paths in rvc files must be relative, use / and stay inside the repository and out of .git and .rvc',
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
