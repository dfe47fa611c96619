import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RvcError } from '../errors.js';
import { isInside, toPosix } from '../model/paths.js';
import { POINTER_EXT, type Pointer, type PointerImport } from '../model/pointer.js';
import { repoAddressKind } from '../model/repo-url.js';
import { addGitignoreEntry, gitTrackedUnder } from '../scm/git.js';
import { assertRepoAddress, ExternalRepo, normaliseSourcePath, overlaps, type FromRepoOptions } from '../repo/external.js';
import { Repo } from '../repo/repo.js';
import { bring, placeInWorkspace } from '../repo/imports.js';
import { isDir } from '../fsutil/stat.js';

export type ImportOptions = FromRepoOptions;

export interface ImportResult {
  pointerFile: string;
  /** Repository-relative path of the data. */
  path: string;
  import: PointerImport;
  oid: string;
  size: number;
  nfiles?: number;
  /** Objects copied into the cache. */
  fetched: number;
  /**
   * The files whose change git should record (`git add`); empty when the repository is used
   * without git (`core.no_scm`).
   */
  toGit: string[];
}

/**
 * How the source is written into the pointer: URLs as given; an absolute local path as an
 * absolute path; a relative local path relative to this repository's root (so the pointer
 * means the same folder whatever folder a later command runs in, and in a clone beside it).
 */
export function storedAddress(root: string, repo: string, cwd: string): string {
  if (repoAddressKind(repo).kind !== 'path') return repo;
  if (repo === '~' || repo.startsWith('~/')) return path.join(os.homedir(), repo.slice(1));
  if (path.isAbsolute(repo)) return path.resolve(repo);
  return toPosix(path.relative(root, path.resolve(cwd, repo))) || '.';
}

/**
 * `rvc import <repo> <path>`: like get, but the objects enter this project's cache and a pointer
 * `<out>.rvc` records where they came from (repo, path, rev and the commit it resolved to), so
 * `rvc update` can move it and `rvc pull` can restore it from the source.
 */
export async function importData(opts: ImportOptions): Promise<ImportResult> {
  const cwd = opts.cwd ?? process.cwd();
  const project = Repo.open(cwd);
  const srcRel = normaliseSourcePath(opts.path);
  if (srcRel === '') throw new RvcError('USAGE', 'name a path inside the source repository', { hint: 'list it with `rvc ls <repo>`' });
  assertRepoAddress(opts.repo);
  const stored = storedAddress(project.root, opts.repo, cwd);
  const name = path.posix.basename(srcRel);
  let outUser = opts.out ?? name;
  if (opts.out !== undefined && isDir(path.resolve(cwd, opts.out)) && !fs.existsSync(path.resolve(cwd, `${opts.out}${POINTER_EXT}`))) {
    outUser = path.join(opts.out, name);
  }
  const { abs, rel } = project.resolve(outUser, cwd);
  if (rel === '') throw new RvcError('USAGE', 'cannot import over the whole repository', { hint: 'name a destination inside it with -o' });
  const pointerFile = `${rel}${POINTER_EXT}`;
  if (!opts.force) {
    for (const p of [abs, path.join(project.root, pointerFile)]) {
      if (fs.existsSync(p)) {
        throw new RvcError('PATH_OVERLAPS', `'${path.relative(cwd, p) || p}' already exists`, { path: p, hint: 'choose another destination with -o, or add --force to replace it' });
      }
    }
  }
  if (project.scm && gitTrackedUnder(project.root, [rel]).length) {
    throw new RvcError('PATH_TRACKED_BY_GIT', `'${rel}' is tracked by git`, { path: rel, hint: `choose another destination, or \`git rm -r --cached '${rel}'\` first` });
  }
  for (const o of project.allOuts()) {
    if (o.pointerFile === pointerFile) continue;
    if (isInside(rel, o.rel) || isInside(o.rel, rel)) {
      throw new RvcError('PATH_OVERLAPS', `'${rel}' overlaps '${o.rel}', which '${o.pointerFile}' tracks`, { path: rel, hint: 'choose another destination with -o' });
    }
  }
  const src = ExternalRepo.open(opts.repo, { baseDir: cwd });
  try {
    if (src.localRoot && overlaps(abs, src.localRoot)) {
      throw new RvcError('PATH_OVERLAPS', `'${rel}' is inside (or contains) the source repository`, { path: rel, hint: 'import into a different repository' });
    }
    const commit = src.resolve(opts.rev);
    return await project.withLock(`rvc import ${opts.path}`, opts, async () => {
      const { out, fetched } = await bring(project, src, commit, srcRel, path.posix.basename(rel), opts);
      placeInWorkspace(project, { abs, rel }, out, !!opts.force, opts);
      const imp: PointerImport = { repo: stored, path: srcRel, ...(opts.rev !== undefined ? { rev: opts.rev } : {}), rev_lock: commit };
      const pointer: Pointer = { outs: [out], import: imp };
      project.writePointer(pointerFile, pointer);
      if (project.scm) addGitignoreEntry(path.dirname(abs), path.basename(abs));
      const toGit = project.scm ? [pointerFile, path.posix.join(path.posix.dirname(rel), '.gitignore')] : [];
      return { pointerFile, path: rel, import: imp, oid: out.oid, size: out.size, ...(out.nfiles !== undefined ? { nfiles: out.nfiles } : {}), fetched, toGit };
    });
  } finally {
    src.close();
  }
}

