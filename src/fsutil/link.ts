import fs from 'node:fs';
import path from 'node:path';
import { RvcError, errnoCode, fromFsError } from '../errors.js';
import type { LinkType } from '../model/config.js';
import { copyToNewFileSync, sweepStaleTemps, tempPathFor, writeAll } from './atomic.js';

/** Link types found not to work here, so each failure is paid once per process. */
const unsupported = new Set<LinkType>();

const FALLBACK_ERRNOS = new Set(['ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'EINVAL', 'EMLINK', 'ENOSYS', 'EPERM', 'ENOTTY']);

export interface PlaceOptions {
  exec?: boolean;
  /**
   * The object's recorded size. A copy of a file up to SMALL_COPY bytes goes through one
   * buffer (open, read, close; create, write, fstat, close): five system calls fewer than
   * copyFileSync, which also opens the new file with the object's read-only mode, truncates it
   * and changes its mode, and then needs a chmod.
   */
  size?: number;
  /** Receives the placed file's stat when the placement read it anyway (a copy of a small file). */
  stat?: (st: fs.Stats) => void;
}

/** Files up to this size are copied through a buffer rather than with copy_file_range. */
export const SMALL_COPY = 256 * 1024;
let copyBuf: Buffer | undefined;

/**
 * Puts the content of cache object `src` at `dest` with the first link type in `types` that works
 * here, atomically: the new file is made beside `dest` and renamed over it, so an interrupted
 * checkout leaves either the old or the new file. Returns the link type used.
 *
 * reflink and copy give the workspace its own writable inode (editing it cannot reach the
 * cache); hardlink and symlink share the read-only cache file and need `rvc unprotect` to edit.
 */
export function placeFile(src: string, dest: string, types: readonly LinkType[], opts: PlaceOptions = {}): LinkType {
  let lastErr: unknown;
  for (const t of types) {
    if (unsupported.has(t)) continue;
    // rename(2) of a hard link over another link to the same inode succeeds and does nothing,
    // leaving the temp link behind: a file that already is the cache object stays as it is.
    if (t === 'hardlink' && sameInode(src, dest)) return t;
    const tmp = tempPathFor(dest);
    try {
      makeLink(t, src, tmp, opts);
      fs.renameSync(tmp, dest);
      // Should dest have become a link to src meanwhile, the rename was such a no-op.
      if (t === 'hardlink') fs.rmSync(tmp, { force: true });
      return t;
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      const code = errnoCode(e);
      if (t !== 'copy' && code && FALLBACK_ERRNOS.has(code)) {
        if (code !== 'EMLINK') unsupported.add(t);
        lastErr = e;
        continue;
      }
      throw fromFsError(e, dest, 'write');
    }
  }
  throw new RvcError('NO_LINK_TYPE', `none of the link types '${types.join(',')}' works for '${dest}'`, {
    path: dest, cause: lastErr, hint: 'add copy to the list: `rvc config cache.type reflink,copy`',
  });
}

/** True when both paths exist and are the same file (dest not followed if it is a symlink). */
function sameInode(a: string, b: string): boolean {
  const sb = fs.lstatSync(b, { throwIfNoEntry: false });
  if (!sb) return false;
  const sa = fs.statSync(a, { throwIfNoEntry: false });
  return !!sa && sa.ino === sb.ino && sa.dev === sb.dev;
}

function makeLink(t: LinkType, src: string, tmp: string, opts: PlaceOptions): void {
  switch (t) {
    case 'reflink':
      copyToNewFileSync(src, tmp, fs.constants.COPYFILE_FICLONE_FORCE);
      fs.chmodSync(tmp, opts.exec ? 0o755 : 0o644);
      return;
    case 'copy':
      if (opts.size !== undefined && opts.size <= SMALL_COPY && copySmall(src, tmp, opts.exec ? 0o755 : 0o644, opts)) return;
      copyToNewFileSync(src, tmp, 0);
      fs.chmodSync(tmp, opts.exec ? 0o755 : 0o644);
      return;
    case 'hardlink':
      fs.linkSync(src, tmp);
      return;
    case 'symlink':
      fs.symlinkSync(src, tmp);
      return;
  }
}

/**
 * Copies a small file through one reused buffer into a new file `tmp` (created exclusively, with
 * `mode` whatever the umask). False, with nothing created, when `src` turns out larger than
 * SMALL_COPY: the caller copies it the ordinary way.
 */
function copySmall(src: string, tmp: string, mode: number, opts: PlaceOptions): boolean {
  const buf = (copyBuf ??= Buffer.allocUnsafe(SMALL_COPY + 1));
  let n = 0;
  const fdIn = fs.openSync(src, 'r');
  try {
    // One read is enough when it returns the size the manifest records; otherwise read to the end.
    n = fs.readSync(fdIn, buf, 0, buf.length, 0);
    if (n !== opts.size) {
      for (let r = n; r > 0 && n < buf.length; n += r) r = fs.readSync(fdIn, buf, n, buf.length - n, n);
    }
  } finally {
    fs.closeSync(fdIn);
  }
  if (n > SMALL_COPY) return false;
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, mode);
  try {
    writeAll(fd, buf.subarray(0, n));
    let st = fs.fstatSync(fd);
    if ((st.mode & 0o7777) !== mode) {
      fs.fchmodSync(fd, mode);
      st = fs.fstatSync(fd);
    }
    opts.stat?.(st);
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

/** True when `t` shares the cache file, so the workspace copy must not be edited in place. */
export function isSharedLink(t: LinkType): boolean {
  return t === 'hardlink' || t === 'symlink';
}

/** Which link types work between `dirA` (cache) and `dirB` (workspace), tested with real files. */
export function probeLinkTypes(cacheDir: string, workDir: string): LinkType[] {
  const works: LinkType[] = [];
  // A process killed while probing leaves its probe files; no lock covers this moment, so
  // the next probe clears them itself.
  sweepStaleTemps(cacheDir, 'probe');
  sweepStaleTemps(workDir, 'probe');
  const src = tempPathFor(cacheDir + '/probe');
  try {
    fs.writeFileSync(src, 'rvc link probe\n');
    for (const t of ['reflink', 'hardlink', 'symlink', 'copy'] as LinkType[]) {
      const dst = tempPathFor(workDir + '/probe');
      try {
        makeLink(t, src, dst, {});
        works.push(t);
      } catch {
        // not supported here
      } finally {
        fs.rmSync(dst, { force: true });
      }
    }
  } finally {
    fs.rmSync(src, { force: true });
  }
  return works;
}

const realRoots = new Map<string, string>();

/** True when the real path `real` lies inside the folder `root` (symlinks in `root` resolved). */
export function isInsideReal(real: string, root: string): boolean {
  let r = realRoots.get(root);
  if (r === undefined) {
    try {
      r = fs.realpathSync(root);
    } catch {
      r = path.resolve(root);
    }
    realRoots.set(root, r);
  }
  return real.startsWith(r + path.sep);
}

/** `<algo>/ab/<62 hex digits>`: where a file object lies in a cache. */
const OBJECT_PATH_RE = /^[a-z0-9]+\/[0-9a-f]{2}\/[0-9a-f]{62}$/;

/**
 * True when the real path `real` is a file object's place in the cache at `cacheRoot`. Only such
 * paths count as rvc's own links: whatever `cache.dir` says, a link to any other file (say
 * `/etc/shadow` with a cache at `/`) is not followed on the cache's account.
 */
export function isCacheObjectPath(real: string, cacheRoot: string): boolean {
  if (!isInsideReal(real, cacheRoot)) return false;
  return OBJECT_PATH_RE.test(path.relative(realRoots.get(cacheRoot)!, real).split(path.sep).join('/'));
}

/**
 * With `cache.type symlink` a workspace file is a symbolic link into the cache, made by rvc.
 * Returns the stat of the cache object `abs` links to, or undefined when `abs` is not a link to
 * a regular file at an object's place in `cacheRoot`. Only ever read through: rvc never writes
 * via such a link.
 */
export function statCacheLink(abs: string, cacheRoot: string): fs.Stats | undefined {
  let real: string;
  try {
    real = fs.realpathSync(abs);
  } catch {
    return undefined;
  }
  if (!isCacheObjectPath(real, cacheRoot)) return undefined;
  const st = fs.statSync(real, { throwIfNoEntry: false });
  return st?.isFile() ? st : undefined;
}
