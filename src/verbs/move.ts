import fs from 'node:fs';
import path from 'node:path';
import { RvcError } from '../errors.js';
import { POINTER_EXT } from '../model/pointer.js';
import { HashState } from '../hashing/state.js';
import { addGitignoreEntry, removeGitignoreEntry } from '../scm/git.js';
import { isTreeOid } from '../model/oid.js';
import { Repo, assertTrackableRel, type CommonOptions } from '../repo/repo.js';
import { gitignoreStillNeeded, recordedOutputs, refuseMovingStageOutput, refuseNewPointers } from '../repo/overlaps.js';
import { forgetPlaced, notePlaced } from '../repo/placed.js';
import { selectOutputs, trackedOf, workspaceOutputs } from '../repo/outputs.js';

export interface MoveResult {
  from: string;
  to: string;
  pointerFile: string;
}

/** Renames tracked data and its pointer together, keeping .gitignore lines right. */
export async function move(src: string, dst: string, opts: CommonOptions = {}): Promise<MoveResult> {
  const repo = Repo.open(opts.cwd);
  // fs-extra costs ~40 ms to load, so only the command that needs it pays for it.
  const { default: fse } = await import('fs-extra');
  return repo.withLock('rvc move', opts, async () => {
    const recorded = await recordedOutputs(repo);
    const srcRel = repo.resolve(src, opts.cwd).rel;
    refuseMovingStageOutput(srcRel.endsWith(POINTER_EXT) ? srcRel.slice(0, -POINTER_EXT.length) : srcRel, src, recorded);
    const [hit] = (await selectOutputs(repo, await workspaceOutputs(repo), [src], { ...(opts.cwd ? { cwd: opts.cwd } : {}), checkSubpaths: true }))
      .filter((s) => s.subpath === undefined && s.output.kind === 'pointer');
    if (!hit) throw new RvcError('NOT_TRACKED', `'${src}' is not a tracked output`, { path: src, hint: 'name the data (or its .rvc file), not a file inside it' });
    const t = trackedOf(repo, hit.output);
    if (t.pointer.outs.length !== 1) throw new RvcError('USAGE', `'${t.pointerFile}' tracks several outputs`, { hint: 'edit the pointer by hand' });
    let { abs: dstAbs, rel: dstRel } = repo.resolve(dst, opts.cwd);
    if (fs.existsSync(dstAbs) && fs.statSync(dstAbs).isDirectory()) {
      dstAbs = path.join(dstAbs, path.basename(t.abs));
      dstRel = path.posix.join(dstRel, path.posix.basename(t.rel));
    }
    if (fs.existsSync(dstAbs)) throw new RvcError('PATH_OVERLAPS', `'${dstRel}' already exists`, { path: dstRel, hint: 'choose a new name' });
    assertTrackableRel(dst, dstRel);
    const newPointer = `${dstRel}${POINTER_EXT}`;
    await refuseNewPointers(repo, [{ rel: dstRel, kind: 'pointer', file: newPointer, isDir: isTreeOid(t.out.oid), moving: true }], recorded);
    fs.mkdirSync(path.dirname(dstAbs), { recursive: true });
    // fs-extra falls back to copy + remove when the destination is on another filesystem.
    if (fs.existsSync(t.abs)) fse.moveSync(t.abs, dstAbs);
    const pointer = { ...t.pointer, outs: [{ ...t.out, path: path.posix.basename(dstRel) }] };
    repo.writePointer(newPointer, pointer);
    if (newPointer !== t.pointerFile) fs.rmSync(path.join(repo.root, t.pointerFile), { force: true });
    if (repo.scm) {
      if (!gitignoreStillNeeded(t.rel, new Set([t.pointerFile]), recorded)) removeGitignoreEntry(path.dirname(t.abs), path.basename(t.abs));
      addGitignoreEntry(path.dirname(dstAbs), path.basename(dstAbs));
    }
    // Keep the hash cache: the files did not change, only their folder's name.
    const stateDir = path.join(repo.tmpDir, 'state');
    HashState.rename(stateDir, repo.odb.algo, t.rel, dstRel);
    forgetPlaced(repo, [t.rel]);
    notePlaced(repo, [{ path: dstRel, hash: t.out.hash, oid: t.out.oid }]);
    return { from: t.rel, to: dstRel, pointerFile: newPointer };
  });
}
