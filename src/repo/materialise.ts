import fs from 'node:fs';
import path from 'node:path';
import { RvcError, errnoCode, fromFsError, isRvcError } from '../errors.js';
import { isTreeOid } from '../model/oid.js';
import { isInside, reservedComponentOf, toPosix } from '../model/paths.js';
import type { PointerOut } from '../model/pointer.js';
import type { TreeEntry } from '../model/tree.js';
import { tempPathFor } from '../fsutil/atomic.js';
import type { Odb } from '../odb/odb.js';
import type { Remote } from '../remote/remote.js';
import type { TransferResult } from '../remote/transfer.js';
import { ProgressTicker, type ProgressFn } from '../progress.js';

/** Where `materialise` reads objects from. */
export interface ObjectSource {
  odb: Odb;
  /**
   * Downloads exactly `oids` into `odb`, each verified by hash before it enters it (a manifest
   * comes without its files). Objects it cannot find are left missing; other failures throw.
   */
  fetch?: (oids: string[]) => Promise<void>;
  /** Named in the hint when objects are missing and cannot be fetched. */
  describe?: string;
}

export interface MaterialiseOptions {
  /** Replace an existing destination (file or folder). */
  force?: boolean;
  /** How the output is named in messages (e.g. `data at v1`). */
  label?: string;
  onProgress?: ProgressFn;
}

export interface MaterialiseResult {
  /** Absolute destination path. */
  dest: string;
  kind: 'file' | 'dir';
  files: number;
  bytes: number;
  /** Objects downloaded into the cache for this. */
  fetched: number;
}

/**
 * Writes one tracked output — or the part of a tracked folder below `subpath` — to `dest` as
 * plain files (never links into the cache), with executable bits restored. A folder is built in
 * a hidden temp folder beside `dest` and renamed into place; a file is written beside it and
 * renamed: a reader sees no half-written destination. Objects missing from `src.odb` are
 * fetched through `src.fetch` first. An existing `dest` is refused unless `force`.
 */
export async function materialise(out: PointerOut, subpath: string | undefined, dest: string, src: ObjectSource, opts: MaterialiseOptions = {}): Promise<MaterialiseResult> {
  const label = opts.label ?? out.path;
  const { odb } = src;
  let fetched = 0;
  const fetchMissing = async (oids: string[]): Promise<void> => {
    const missing = [...new Set(oids)].filter((o) => !odb.hasSync(o));
    if (!missing.length || !src.fetch) return;
    await src.fetch(missing);
    fetched += missing.filter((o) => odb.hasSync(o)).length;
  };

  // What to write: one file, or the entries of a folder (paths relative to `dest`).
  let kind: 'file' | 'dir';
  let entries: TreeEntry[];
  const sub = subpath === undefined || subpath === '' ? undefined : toPosix(subpath).replace(/\/+$/, '');
  if (isTreeOid(out.oid)) {
    await fetchMissing([out.oid]);
    if (!odb.hasSync(out.oid)) throw missingObjects([label], src);
    const all = odb.readTree(out.oid);
    if (sub === undefined) {
      kind = 'dir';
      entries = all;
    } else {
      const exact = all.find((e) => e.path === sub);
      if (exact) {
        kind = 'file';
        entries = [{ ...exact, path: '' }];
      } else {
        kind = 'dir';
        entries = all.filter((e) => isInside(e.path, sub)).map((e) => ({ ...e, path: e.path.slice(sub.length + 1) }));
        if (!entries.length) {
          throw new RvcError('NOT_TRACKED', `'${sub}' is not inside ${label}`, {
            path: sub, hint: 'name a file or folder the tracked folder holds at that revision',
          });
        }
      }
    }
  } else {
    if (sub !== undefined) {
      throw new RvcError('NOT_TRACKED', `${label} is a file, so it has no '${sub}' inside`, { path: sub, hint: 'name the tracked file itself' });
    }
    kind = 'file';
    entries = [{ path: '', oid: out.oid, size: out.size, ...(out.exec ? { exec: true } : {}) }];
  }

  let existing: fs.Stats | undefined;
  try {
    existing = fs.lstatSync(dest);
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw fromFsError(e, dest, 'read');
  }
  if (existing && !opts.force) {
    throw new RvcError('PATH_OVERLAPS', `'${dest}' already exists`, {
      path: dest, hint: 'choose another destination with -o, or add --force to replace it',
    });
  }

  await fetchMissing(entries.map((e) => e.oid));
  const absent = entries.filter((e) => !odb.hasSync(e.oid));
  if (absent.length) throw missingObjects(absent.map((e) => (e.path ? `${label}/${e.path}` : label)), src);

  const totalBytes = entries.reduce((s, e) => s + e.size, 0);
  const tick = new ProgressTicker(opts.onProgress ?? (() => {}), 'get', entries.length, totalBytes);
  try {
    fs.mkdirSync(path.dirname(dest), { recursive: true });
  } catch (e) {
    throw fromFsError(e, path.dirname(dest), 'create folder');
  }
  const tmp = tempPathFor(dest);
  try {
    if (kind === 'file') {
      copyObject(odb, entries[0]!, tmp);
      tick.tick(1, entries[0]!.size);
    } else {
      fs.mkdirSync(tmp);
      const made = new Set<string>([tmp]);
      for (const e of entries) {
        const target = path.join(tmp, e.path);
        const dir = path.dirname(target);
        if (!made.has(dir)) {
          fs.mkdirSync(dir, { recursive: true });
          made.add(dir);
        }
        copyObject(odb, e, target);
        tick.tick(1, e.size);
      }
    }
    replace(tmp, dest, existing);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw fromFsError(e, dest, 'write');
  }
  tick.finish();
  return { dest, kind, files: entries.length, bytes: totalBytes, fetched };
}

/** A private copy of a cache object (a reflink where the filesystem offers one, else bytes). */
function copyObject(odb: Odb, e: TreeEntry, target: string): void {
  odb.copyObjectTo(e.oid, target, e.exec ? 0o755 : 0o644);
}

/**
 * Puts the finished `tmp` at `dest`. A file replaces a file in one rename; anything else that
 * is in the way is first renamed aside, so `dest` is missing only between two renames.
 */
function replace(tmp: string, dest: string, existing: fs.Stats | undefined): void {
  const tmpIsDir = fs.lstatSync(tmp).isDirectory();
  if (!existing || (!tmpIsDir && !existing.isDirectory())) {
    fs.renameSync(tmp, dest);
    return;
  }
  const aside = tempPathFor(dest);
  fs.renameSync(dest, aside);
  try {
    fs.renameSync(tmp, dest);
  } catch (e) {
    fs.renameSync(aside, dest);
    throw e;
  }
  fs.rmSync(aside, { recursive: true, force: true });
}

function missingObjects(paths: string[], src: ObjectSource): RvcError {
  const shown = paths.slice(0, 3).join(', ') + (paths.length > 3 ? ` and ${paths.length - 3} more` : '');
  return new RvcError('OBJECT_MISSING', `the content of ${shown} is not in the cache${src.fetch ? ` nor on ${src.describe ?? 'the remote'}` : ''}`, {
    path: paths[0],
    hint: src.fetch
      ? 'push it from a machine that has the data (`rvc push`), or name another remote with -r'
      : 'configure a remote that has it (`rvc remote add -d <name> <url>`), or name one with -r',
  });
}

/**
 * A materialise() fetcher from two ways of reaching a source: `one` downloads a manifest alone
 * (verified, `fetchObject`), `many` moves files through the transfer engine (verified). Manifests
 * come first, one by one, so a refused one stops before any file moves. An object the source
 * lacks is left missing for the caller to report; any other failure is thrown.
 */
export function objectFetcher(
  one: (oid: string) => Promise<unknown>,
  many: (oids: string[]) => Promise<TransferResult>,
): (oids: string[]) => Promise<void> {
  return async (oids) => {
    for (const t of oids.filter(isTreeOid)) {
      try {
        await one(t);
      } catch (e) {
        if (isRvcError(e, 'OBJECT_MISSING')) continue;
        throw e;
      }
    }
    const files = oids.filter((o) => !isTreeOid(o));
    if (!files.length) return;
    const r = await many(files);
    const bad = r.failed.find((f) => f.error.code !== 'OBJECT_MISSING');
    if (bad) throw bad.error;
  };
}

/** objectFetcher over one remote into `odb`. */
export function remoteFetcher(odb: Odb, remote: Remote, opts: { onProgress?: ProgressFn } = {}): (oids: string[]) => Promise<void> {
  return objectFetcher(
    async (oid) => (await import('../remote/transfer.js')).fetchObject(odb, remote, oid),
    async (oids) => (await import('../remote/transfer.js')).fetch(odb, remote, oids, opts.onProgress ? { onProgress: opts.onProgress } : {}),
  );
}

/**
 * Refuses a destination typed with `-o` that goes through a `.git` or `.rvc` folder (in any
 * spelling a filesystem folds to one): written there, data could become a git hook or
 * configuration, or replace rvc's cache.
 */
export function refuseInternalDest(typed: string): void {
  const reserved = reservedComponentOf(toPosix(path.normalize(typed)));
  if (reserved !== undefined) {
    throw new RvcError('PATH_IS_INTERNAL', `refusing destination '${typed}': '${reserved}' is a folder git or rvc keeps its own files in`, {
      path: typed, hint: 'choose another destination with -o',
    });
  }
}
