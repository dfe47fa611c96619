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
  if (isAbsoluteLike(p)) return 'absolute path';
  // Segment by segment without splitting (this runs for every entry of every manifest): a
  // segment is cut out only when it could be `.`, `..` or a reserved name.
  for (let start = 0; start <= p.length;) {
    let end = p.indexOf('/', start);
    if (end === -1) end = p.length;
    const len = end - start;
    if (len === 0) return 'empty path segment';
    const c = p.charCodeAt(start);
    if (len <= 2 && c === 46 /* . */ && (len === 1 || p.charCodeAt(start + 1) === 46)) return `'${p.slice(start, end)}' segment`;
    if (len >= 4 && (c === 46 || (c | 0x20) === 103 /* g */ || (c | 0x20) === 114 /* r */ || c >= 0x80)) {
      const seg = p.slice(start, end);
      const reserved = reservedNameOf(seg);
      if (reserved) return reservedReason(seg, reserved);
    }
    start = end + 1;
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

/** Backslashes turned into `/` (a path typed on Windows); nothing else changes. */
export function toPosix(p: string): string {
  return p.split('\\').join('/');
}

/** True for `/x`, `\\x` and `C:…`: a path that names a place whatever folder it is joined to. */
export function isAbsoluteLike(p: string): boolean {
  return p.startsWith('/') || p.startsWith('\\') || /^[A-Za-z]:/.test(p);
}

/**
 * POSIX-normalises a relative path: backslashes become `/`, `.` and empty segments go, `a/..`
 * collapses. Leading `..` segments stay (the caller decides whether they escape). '' → '.'.
 */
export function normalizePath(p: string): string {
  const segs: string[] = [];
  let up = 0;
  for (const s of p.replace(/\\/g, '/').split('/')) {
    if (s === '' || s === '.') continue;
    if (s === '..') {
      if (segs.length > 0) segs.pop();
      else up++;
    } else segs.push(s);
  }
  const out = [...Array<string>(up).fill('..'), ...segs].join('/');
  return out === '' ? '.' : out;
}

/** `base` joined with `rel`, normalised; undefined when the result leaves the repository. */
export function joinRepoPath(base: string, rel: string): string | undefined {
  const joined = normalizePath(base === '.' ? rel : `${base}/${rel}`);
  return joined === '..' || joined.startsWith('../') ? undefined : joined;
}

/**
 * True when `child` equals `parent` or lies below it (both POSIX, repository-relative; the root
 * is '' or '.').
 */
export function isInside(child: string, parent: string): boolean {
  if (parent === '' || parent === '.') return true;
  return child === parent || child.startsWith(parent.endsWith('/') ? parent : parent + '/');
}

/** True when `child` lies below the folder `parent`, not equal to it. */
export function isStrictlyInside(child: string, parent: string): boolean {
  return child !== parent && isInside(child, parent);
}

/** Same path, or one inside the other. */
export function pathsOverlap(a: string, b: string): boolean {
  return isInside(a, b) || isInside(b, a);
}

/** Ancestor directories of a repository path, nearest first (`a/b/c` → `a/b`, `a`). */
export function parentDirs(p: string): string[] {
  const out: string[] = [];
  for (let i = p.lastIndexOf('/'); i > 0; i = p.lastIndexOf('/', i - 1)) out.push(p.slice(0, i));
  return out;
}

/** Unicode-normalised, case-folded form, for detecting entries that collide on some filesystems. */
export function foldedPath(p: string): string {
  return p.normalize('NFC').toLowerCase();
}
