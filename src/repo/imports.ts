import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RvcError, addFailure, emptyFailures, isRvcError } from '../errors.js';
import { isTreeOid } from '../model/oid.js';
import { isInside, toPosix } from '../model/paths.js';
import { POINTER_EXT, type Pointer, type PointerImport, type PointerOut } from '../model/pointer.js';
import { repoAddressKind } from '../model/repo-url.js';
import type { Odb } from '../odb/odb.js';
import { checkoutOut } from '../odb/checkout.js';
import { addGitignoreEntry, gitTrackedUnder } from '../scm/git.js';
import { assertFetched, assertRepoAddress, ExternalRepo, normaliseSourcePath, outForSource } from './external.js';
import { overlaps, type FromRepoOptions } from './get-external.js';
import { Repo, type CommonOptions, type TrackedOut } from './repo.js';
import { noteLinkUse } from './links.js';
import { notePlaced } from './placed.js';
import type { SyncFailure, SyncResult } from './sync.js';

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

/** Copies the source data at `commit` into the project's cache; returns the output to record. */
async function bring(project: Repo, src: ExternalRepo, commit: string, srcRel: string, name: string, opts: CommonOptions & { jobs?: number }): Promise<{ out: PointerOut; fetched: number }> {
  const data = await src.findData(commit, srcRel);
  if (data.kind === 'git') {
    throw new RvcError('NOT_TRACKED', `'${srcRel}' is a file git stores in '${src.label}', not data rvc tracks`, {
      path: srcRel, hint: `copy it with \`rvc get ${src.label} ${srcRel}\` (an import follows rvc-tracked data only)`,
    });
  }
  const odb = project.odbFor(data.out.hash);
  const objects = src.objects(commit, opts.jobs !== undefined ? { jobs: opts.jobs } : {});
  try {
    const { out, fetch } = await outForSource(data, name, odb, objects);
    const r = await objects.fetchInto(odb, fetch, opts.onProgress ? { onProgress: opts.onProgress } : {});
    assertFetched(r, srcRel, src.label);
    return { out, fetched: r.transferred.length };
  } finally {
    await objects.close();
  }
}

function placeInWorkspace(project: Repo, t: { abs: string; rel: string }, out: PointerOut, force: boolean, opts: CommonOptions): void {
  const r = checkoutOut({ abs: t.abs, repoRel: t.rel, oid: out.oid, ...(out.exec ? { exec: true } : {}) }, {
    odb: project.odbFor(out.hash), state: project.stateFor(t.rel, out.hash), ignore: project.ignore, repoRoot: project.root,
    linkTypes: project.linkTypes, ...(force ? { force: true } : {}),
  });
  noteLinkUse(project, r.linkType, opts);
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
      notePlaced(project, [{ path: rel, hash: out.hash, oid: out.oid }]);
      if (project.scm) addGitignoreEntry(path.dirname(abs), path.basename(abs));
      return { pointerFile, path: rel, import: imp, oid: out.oid, size: out.size, ...(out.nfiles !== undefined ? { nfiles: out.nfiles } : {}), fetched };
    });
  } finally {
    src.close();
  }
}

export interface UpdateOptions extends CommonOptions {
  /** Import pointers (or the paths they track). */
  targets: string[];
  /** Follow another revision from now on (recorded in the pointer). */
  rev?: string;
  /** Overwrite workspace changes that are not in the cache. */
  force?: boolean;
  jobs?: number;
}

export interface UpdatedImport {
  pointerFile: string;
  path: string;
  rev?: string;
  /** The commit recorded before and after. */
  from: string;
  to: string;
  /** The source moved to another commit. */
  changed: boolean;
  /** The data itself changed (the source may move without changing it). */
  dataChanged: boolean;
  fetched: number;
}

/**
 * `rvc update <pointer> [--rev R]`: re-resolves the source at the recorded (or the new) revision
 * and, when it now names another commit, brings that version: objects into the cache, the
 * workspace copy checked out, then the pointer rewritten (atomically) with the new rev_lock.
 */
export async function update(opts: UpdateOptions): Promise<{ updated: UpdatedImport[] }> {
  const cwd = opts.cwd ?? process.cwd();
  const project = Repo.open(cwd);
  if (!opts.targets.length) throw new RvcError('USAGE', 'name the import pointers to update', { hint: 'e.g. `rvc update data.rvc`' });
  const seen = new Set<string>();
  const list: TrackedOut[] = [];
  for (const { tracked, subpath } of project.resolveTargets(opts.targets, cwd)) {
    if (subpath !== undefined || seen.has(tracked.pointerFile)) continue;
    seen.add(tracked.pointerFile);
    if (!tracked.pointer.import) {
      throw new RvcError('USAGE', `'${tracked.pointerFile}' is not an import`, { path: tracked.pointerFile, hint: 'only pointers written by `rvc import` have a source to update from' });
    }
    list.push(tracked);
  }
  if (!list.length) throw new RvcError('NOT_TRACKED', 'no import pointer among the targets', { hint: 'name the pointer file, e.g. `rvc update data.rvc`' });
  const updated: UpdatedImport[] = [];
  for (const t of list) {
    const imp = t.pointer.import!;
    const rev = opts.rev ?? imp.rev;
    const src = ExternalRepo.open(imp.repo, { baseDir: project.root });
    try {
      const commit = src.resolve(rev);
      updated.push(await project.withLock(`rvc update ${t.pointerFile}`, opts, async () => {
        const row = { pointerFile: t.pointerFile, path: t.rel, ...(rev !== undefined ? { rev } : {}), from: imp.rev_lock, to: commit };
        if (commit === imp.rev_lock && rev === imp.rev) return { ...row, changed: false, dataChanged: false, fetched: 0 };
        const { out, fetched } = await bring(project, src, commit, imp.path, t.out.path, opts);
        placeInWorkspace(project, t, out, !!opts.force, opts);
        const next: PointerImport = { repo: imp.repo, path: imp.path, ...(rev !== undefined ? { rev } : {}), rev_lock: commit };
        project.writePointer(t.pointerFile, { ...t.pointer, outs: [out], import: next });
        notePlaced(project, [{ path: t.rel, hash: out.hash, oid: out.oid }]);
        return { ...row, changed: commit !== imp.rev_lock, dataChanged: out.oid !== t.out.oid || !!out.exec !== !!t.out.exec, fetched };
      }));
    } finally {
      src.close();
    }
  }
  return { updated };
}

function complete(odb: Odb, oid: string): boolean {
  if (!odb.hasSync(oid)) return false;
  if (!isTreeOid(oid)) return true;
  try {
    return odb.readTree(oid).every((e) => odb.hasSync(e.oid));
  } catch {
    return false;
  }
}

/**
 * The fetch half of `rvc fetch/pull` for import pointers: objects the cache lacks come from the
 * SOURCE repository at the recorded commit (its cache or default remote), not from this
 * project's remote. The source is only opened when something is missing.
 */
export async function fetchImports(project: Repo, outs: TrackedOut[], opts: CommonOptions & { jobs?: number } = {}): Promise<SyncResult> {
  const res: SyncResult = { remote: 'import sources', transferred: 0, skipped: 0, ...emptyFailures<SyncFailure>() };
  const seen = new Set<string>();
  for (const t of outs) {
    const imp = t.pointer.import;
    if (!imp || seen.has(t.pointerFile)) continue;
    seen.add(t.pointerFile);
    const odb = project.odbFor(t.out.hash);
    if (complete(odb, t.out.oid)) {
      res.skipped++;
      continue;
    }
    let src: ExternalRepo | undefined;
    try {
      src = ExternalRepo.open(imp.repo, { baseDir: project.root });
      const commit = src.resolve(imp.rev_lock);
      const { out, fetched } = await bring(project, src, commit, imp.path, t.out.path, opts);
      if (out.oid !== t.out.oid) {
        throw new RvcError('OBJECT_CORRUPT', `'${imp.path}' at ${commit.slice(0, 8)} in '${src.label}' is not the data '${t.pointerFile}' records`, {
          path: t.pointerFile, hint: 'the source history was rewritten or the pointer edited; run `rvc update` to take the source as it is now',
        });
      }
      res.transferred += fetched;
    } catch (e) {
      if (!isRvcError(e)) throw e;
      addFailure(res, e.code, { oid: t.out.oid, paths: [t.rel], code: e.code, message: e.message, ...(e.hint !== undefined ? { hint: e.hint } : {}) });
    } finally {
      src?.close();
    }
  }
  return res;
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}
