import fs from 'node:fs';
import path from 'node:path';
import { RvcError, errnoCode, fromFsError } from '../errors.js';
import { tempPathFor } from '../fsutil/atomic.js';
import type { Odb } from '../odb/odb.js';
import type { ProgressFn } from '../progress.js';
import { ExternalRepo, normaliseSourcePath, overlaps, tempOdb, type FromRepoOptions, type SourceObjects } from '../repo/external.js';
import { materialise, objectFetcher, refuseInternalDest, type ObjectSource } from '../repo/materialise.js';
import { isDir } from '../fsutil/stat.js';

export type GetExternalOptions = FromRepoOptions;

export interface GetExternalResult {
  repo: string;
  path: string;
  rev?: string;
  commit: string;
  /** Absolute destination. */
  out: string;
  /** 'rvc' for tracked data, 'git' for a file git stores. */
  source: 'rvc' | 'git';
  kind: 'file' | 'dir';
  files: number;
  bytes: number;
  fetched: number;
}

/**
 * `rvc get <repo> <path>`: copies data from another repository without adding anything to the
 * current project (it needs none): objects go through a temporary store, removed afterwards,
 * from the source's cache (local paths) or its default remote, each verified by hash.
 */
export async function getExternal(opts: GetExternalOptions): Promise<GetExternalResult> {
  const cwd = opts.cwd ?? process.cwd();
  const rel = normaliseSourcePath(opts.path);
  if (rel === '') throw new RvcError('USAGE', 'name a path inside the source repository', { hint: 'list it with `rvc ls <repo>`' });
  const src = ExternalRepo.open(opts.repo, { baseDir: cwd });
  let store: ReturnType<typeof tempOdb> | undefined;
  let objects: SourceObjects | undefined;
  try {
    const commit = src.resolve(opts.rev);
    const data = await src.findData(commit, rel);
    const name = path.posix.basename(rel);
    if (opts.out !== undefined) refuseInternalDest(opts.out);
    let dest = path.resolve(cwd, opts.out ?? name);
    if (opts.out !== undefined && isDir(dest)) dest = path.join(dest, name);
    if (src.localRoot && (overlaps(dest, src.localRoot))) {
      throw new RvcError('PATH_OVERLAPS', `'${dest}' is inside (or contains) the source repository, which rvc never writes to`, {
        path: dest, hint: 'choose a destination outside the source with -o',
      });
    }
    const base = { repo: src.label, path: rel, ...(opts.rev !== undefined ? { rev: opts.rev } : {}), commit };
    if (data.kind === 'git') {
      writeGitFile(dest, data.data, data.exec, !!opts.force);
      return { ...base, out: dest, source: 'git', kind: 'file', files: 1, bytes: data.data.length, fetched: 0 };
    }
    store = tempOdb(data.out.hash);
    objects = src.objects(commit, opts.jobs !== undefined ? { jobs: opts.jobs } : {});
    const source: ObjectSource = {
      odb: store.odb,
      fetch: sourceFetcher(store.odb, objects, opts.onProgress),
      describe: `'${src.label}' (its cache or default remote)`,
    };
    const r = await materialise(data.out, data.subpath, dest, source, {
      label: `'${rel}' of '${src.label}' at ${commit.slice(0, 8)}`,
      ...(opts.force ? { force: true } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
    return { ...base, out: r.dest, source: 'rvc', kind: r.kind, files: r.files, bytes: r.bytes, fetched: r.fetched };
  } finally {
    await objects?.close();
    store?.remove();
    src.close();
  }
}

/** A materialise() fetcher over a source (its cache, else its default remote). */
export function sourceFetcher(odb: Odb, objects: SourceObjects, onProgress?: ProgressFn): (oids: string[]) => Promise<void> {
  return objectFetcher(
    (oid) => objects.fetchOne(odb, oid),
    (oids) => objects.fetchInto(odb, oids, onProgress ? { onProgress } : {}),
  );
}

function writeGitFile(dest: string, data: Buffer, exec: boolean, force: boolean): void {
  let existing: fs.Stats | undefined;
  try {
    existing = fs.lstatSync(dest);
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw fromFsError(e, dest, 'read');
  }
  if (existing && !force) {
    throw new RvcError('PATH_OVERLAPS', `'${dest}' already exists`, { path: dest, hint: 'choose another destination with -o, or add --force to replace it' });
  }
  const tmp = tempPathFor(dest);
  try {
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(tmp, data, { mode: exec ? 0o755 : 0o644 });
    if (existing?.isDirectory()) fs.rmSync(dest, { recursive: true, force: true });
    fs.renameSync(tmp, dest);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw fromFsError(e, dest, 'write');
  }
}


