/** Data imported from another repository: bringing a version of it into the project's cache. */
import { RvcError, addFailure, emptyFailures, failureOf, isRvcError } from '../errors.js';
import { isTreeOid } from '../model/oid.js';
import type { PointerOut } from '../model/pointer.js';
import type { Odb } from '../odb/odb.js';
import { checkoutOut } from '../odb/checkout.js';
import { assertFetched, ExternalRepo, outForSource } from './external.js';
import type { CommonOptions, Repo, TrackedOut } from './repo.js';
import { noteLinkUse } from './links.js';
import { notePlaced } from './placed.js';
import type { SyncFailure, SyncResult } from './sync.js';

/** Copies the source data at `commit` into the project's cache; returns the output to record. */
export async function bring(project: Repo, src: ExternalRepo, commit: string, srcRel: string, name: string, opts: CommonOptions & { jobs?: number }): Promise<{ out: PointerOut; fetched: number }> {
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

export function placeInWorkspace(project: Repo, t: { abs: string; rel: string }, out: PointerOut, force: boolean, opts: CommonOptions): void {
  const r = checkoutOut({ abs: t.abs, repoRel: t.rel, oid: out.oid, ...(out.exec ? { exec: true } : {}) }, {
    odb: project.odbFor(out.hash), state: project.stateFor(t.rel, out.hash), ignore: project.ignore, repoRoot: project.root,
    linkTypes: project.linkTypes, ...(force ? { force: true } : {}),
  });
  noteLinkUse(project, r.linkType, opts);
  notePlaced(project, [{ path: t.rel, hash: out.hash, oid: out.oid }]);
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
      addFailure(res, e.code, { oid: t.out.oid, paths: [t.rel], ...failureOf(e) });
    } finally {
      src?.close();
    }
  }
  return res;
}
