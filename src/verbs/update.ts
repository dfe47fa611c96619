import { RvcError } from '../errors.js';
import type { PointerImport } from '../model/pointer.js';
import { ExternalRepo } from '../repo/external.js';
import { Repo, type CommonOptions, type TrackedOut } from '../repo/repo.js';
import { bring, placeInWorkspace } from '../repo/imports.js';
import { selectOutputs, trackedOf, workspaceOutputs } from '../repo/outputs.js';

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
  for (const { output, subpath } of await selectOutputs(project, await workspaceOutputs(project), opts.targets, { cwd, checkSubpaths: true })) {
    if (subpath !== undefined || output.kind !== 'pointer') continue;
    const tracked = trackedOf(project, output);
    if (seen.has(tracked.pointerFile)) continue;
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
        return { ...row, changed: commit !== imp.rev_lock, dataChanged: out.oid !== t.out.oid || !!out.exec !== !!t.out.exec, fetched };
      }));
    } finally {
      src.close();
    }
  }
  return { updated };
}
