import fs from 'node:fs';
import { RvcError, errnoCode, fromFsError } from '../errors.js';
import type { LinkType } from '../model/config.js';
import { tempPathFor } from './atomic.js';

/** Link types found not to work here, so each failure is paid once per process. */
const unsupported = new Set<LinkType>();

const FALLBACK_ERRNOS = new Set(['ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'EINVAL', 'EMLINK', 'ENOSYS', 'EPERM', 'ENOTTY']);

export interface PlaceOptions {
  exec?: boolean;
}

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
    const tmp = tempPathFor(dest);
    try {
      makeLink(t, src, tmp, opts);
      fs.renameSync(tmp, dest);
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

function makeLink(t: LinkType, src: string, tmp: string, opts: PlaceOptions): void {
  switch (t) {
    case 'reflink':
      fs.copyFileSync(src, tmp, fs.constants.COPYFILE_FICLONE_FORCE);
      fs.chmodSync(tmp, opts.exec ? 0o755 : 0o644);
      return;
    case 'copy':
      fs.copyFileSync(src, tmp);
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

/** True when `t` shares the cache file, so the workspace copy must not be edited in place. */
export function isSharedLink(t: LinkType): boolean {
  return t === 'hardlink' || t === 'symlink';
}

/** Which link types work between `dirA` (cache) and `dirB` (workspace), tested with real files. */
export function probeLinkTypes(cacheDir: string, workDir: string): LinkType[] {
  const works: LinkType[] = [];
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
