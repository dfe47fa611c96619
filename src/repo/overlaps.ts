import fs from 'node:fs';
import path from 'node:path';
import { RvcError } from '../errors.js';
import type { IgnoreRules } from '../fsutil/walk.js';
import { gitIgnoredBy } from '../scm/git.js';
import { splitStageId } from '../model/names.js';
import { declaredStageOutputs, workspacePointerOutputs, workspaceStageOutputs } from './outputs.js';
import type { Repo, TrackedOut } from './repo.js';

/**
 * Whether a new output collides with what the repository records: the one check behind `add`,
 * `move`, `stage add` and `repro` (and behind the `.gitignore` lines `remove` and `move` keep).
 * A path is recorded at most once — by one pointer, or as the output of one stage — and never
 * inside or around another recorded path. The core works on plain data, so any source of the
 * recorded outputs can feed it; `recordedOutputs` reads them from the workspace.
 */

/** An output the repository records. */
export interface RecordedOutput {
  /** Repository-relative POSIX path of the data. */
  rel: string;
  /** The file recording it: the pointer file, or rvc.yaml / rvc.lock. */
  file: string;
  kind: 'pointer' | 'stage';
  /** The stage producing it (kind 'stage'). */
  stage?: string;
  /** False for a stage output declared `cache: false`, which rvc does not git-ignore. */
  cache?: boolean;
}

/** An output a command is about to record. */
export interface NewOutput {
  /** Repository-relative POSIX path of the data. */
  rel: string;
  /** The path as the user gave it, for messages (default: rel). */
  shown?: string;
  kind: 'pointer' | 'stage';
  /** Kind 'pointer': the pointer file that will record it. */
  file?: string;
  /** Kind 'stage': the stage declaring it. */
  stage?: string;
  /** Whether it is a folder; undefined when it does not exist yet. */
  isDir?: boolean;
  /** The destination of a move (not a path being added): hints say where else to move it. */
  moving?: boolean;
}

/** The folders above `rel`, nearest first ('a/b/c' → 'a/b', 'a'). */
function ancestors(rel: string): string[] {
  const out: string[] = [];
  for (let i = rel.lastIndexOf('/'); i > 0; i = rel.lastIndexOf('/', i - 1)) out.push(rel.slice(0, i));
  return out;
}

function overlaps(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
}

/** The same record: re-adding a path its own pointer tracks, or a stage declaring its own output. */
function sameOwner(c: NewOutput, r: RecordedOutput): boolean {
  return c.kind === r.kind && (c.kind === 'pointer' ? r.file === c.file : r.stage === c.stage);
}

function producedBy(stage: string, what = 'it'): string {
  return `${what} is produced by stage '${stage}': \`rvc repro ${stage}\` (or \`rvc commit ${stage}\` after editing it by hand) keeps it`;
}

/** The refusal of new output `c`, which is `r` (same), inside it, or contains it. */
function conflict(c: NewOutput, r: RecordedOutput, how: 'same' | 'inside' | 'contains'): RvcError {
  const shown = c.shown ?? c.rel;
  const details = {
    paths: [c.rel, r.rel], recordedIn: r.file,
    ...(c.stage !== undefined ? { stage: c.stage } : {}), ...(r.stage !== undefined ? { producer: r.stage } : {}),
  };
  let message: string;
  let hint: string;
  if (c.kind === 'pointer') {
    const what = r.kind === 'pointer' ? `which '${r.file}' already tracks` : `an output of stage '${r.stage}' (${r.file})`;
    message = how === 'same'
      ? (r.kind === 'pointer' ? `'${shown}' is already tracked by '${r.file}'` : `'${shown}' is an output of stage '${r.stage}' (${r.file})`)
      : `'${shown}' ${how === 'inside' ? 'is inside' : 'contains'} '${r.rel}', ${what}`;
    if (c.moving) hint = how === 'contains' ? `choose a destination that holds no tracked data ('${r.rel}' is recorded in ${r.file})` : `choose a destination outside '${r.rel}'`;
    else if (r.kind === 'stage') hint = how === 'contains' ? `track the other paths one by one; ${producedBy(r.stage!, `'${r.rel}'`)}` : producedBy(r.stage!);
    else hint = how === 'inside' ? `re-add the whole folder instead: \`rvc add ${r.rel}\`` : `stop tracking it first: \`rvc remove ${r.file}\``;
  } else {
    message = r.kind === 'pointer' ? `output '${c.rel}' of stage '${c.stage}' overlaps '${r.rel}', which '${r.file}' tracks`
      : `output '${c.rel}' of stage '${c.stage}' overlaps output '${r.rel}' of stage '${r.stage}' (${r.file})`;
    hint = r.kind === 'stage' ? `an output belongs to one stage; use '${r.rel}' as a dependency of '${c.stage}' instead, or remove it from '${r.stage}'`
      : how === 'contains' ? `stop tracking '${r.rel}' with \`rvc remove ${r.file}\` first`
        : `use '${r.rel}' as a dependency (-d) instead, or stop tracking it with \`rvc remove ${r.file}\``;
  }
  return new RvcError('PATH_OVERLAPS', message, { path: shown, details, hint });
}

/**
 * Refuses (PATH_OVERLAPS) new outputs that overlap each other or a recorded output — the same
 * path, a path inside it or one containing it — other than their own record (re-adding a path
 * updates its pointer). One pass over the recorded outputs, each looked up with its folders in
 * a map of the candidates: O((recorded + new) × depth), whatever their number.
 */
export function refuseOverlaps(cands: readonly NewOutput[], recorded: Iterable<RecordedOutput>): void {
  if (cands.length === 0) return;
  const byRel = new Map<string, NewOutput>();
  for (const c of cands) {
    const d = byRel.get(c.rel);
    if (d !== undefined) throw between(d, c);
    byRel.set(c.rel, c);
  }
  // A folder above some candidate → that candidate (the first given).
  const above = new Map<string, NewOutput>();
  for (const c of byRel.values()) {
    for (const a of ancestors(c.rel)) {
      const d = byRel.get(a);
      if (d !== undefined) throw between(c, d);
      if (!above.has(a)) above.set(a, c);
    }
  }
  for (const r of recorded) {
    const same = byRel.get(r.rel);
    if (same !== undefined && !sameOwner(same, r)) throw conflict(same, r, 'same');
    const inner = above.get(r.rel);
    if (inner !== undefined && !sameOwner(inner, r)) throw conflict(inner, r, 'inside');
    for (const a of ancestors(r.rel)) {
      const outer = byRel.get(a);
      if (outer !== undefined && !sameOwner(outer, r)) throw conflict(outer, r, 'contains');
    }
  }
}

function between(a: NewOutput, b: NewOutput): RvcError {
  const sa = a.shown ?? a.rel;
  const sb = b.shown ?? b.rel;
  return new RvcError('PATH_OVERLAPS', a.rel === b.rel ? `'${sa}' and '${sb}' are the same path` : `'${sa}' and '${sb}' overlap`, {
    path: sa, details: { paths: [a.rel, b.rel] },
    hint: a.kind === 'pointer' ? 'add one of them' : 'an output belongs to one stage; list the folder or the files in it, not both',
  });
}

/**
 * Refuses (PATH_IGNORED) a new output `.rvcignore` ignores: rvc would not see it (nor, without
 * git, its pointer). A path that does not exist yet is checked as a file and as a folder.
 */
export function refuseRvcIgnored(ignore: IgnoreRules, cands: readonly NewOutput[]): void {
  for (const c of cands) {
    const dir = path.posix.dirname(c.rel);
    ignore.loadAncestors(dir === '.' ? '' : dir);
    if (ignore.empty) continue;
    const by = c.isDir !== undefined ? ignore.ignoredBy(c.rel, c.isDir) : ignore.ignoredBy(c.rel, false) ?? ignore.ignoredBy(c.rel, true);
    if (by === undefined) continue;
    const shown = c.shown ?? c.rel;
    throw new RvcError('PATH_IGNORED', c.kind === 'pointer' ? `'${shown}' is ignored by ${by}` : `output '${c.rel}' of stage '${c.stage}' is ignored by ${by}, so rvc would not see it`, {
      path: shown, details: { paths: [c.rel, by], ...(c.stage !== undefined ? { stage: c.stage } : {}) },
      hint: c.kind === 'pointer' ? `remove the matching rule from ${by} to track it` : `remove the matching rule from ${by}, or fix the path in the outs of stage '${c.stage}' in ${splitStageId(c.stage ?? '').file}`,
    });
  }
}

/**
 * Refuses (PATH_IGNORED) pointer files git would ignore: they could never be committed, so the
 * data would be tracked nowhere but here. One `git check-ignore` for all of them; nothing
 * without git (`core.no_scm`).
 */
export function refuseGitIgnoredPointers(repo: Repo, cands: readonly NewOutput[]): void {
  if (!repo.scm || cands.length === 0) return;
  const ignored = gitIgnoredBy(repo.root, cands.map((c) => c.file!));
  if (ignored.size === 0) return;
  for (const c of cands) {
    const by = ignored.get(c.file!);
    if (by === undefined) continue;
    throw new RvcError('PATH_IGNORED', `'${c.shown ?? c.rel}' would be recorded in '${c.file}', which git ignores (${by}), so it could never be committed`, {
      path: c.shown ?? c.rel, details: { paths: [c.file, by] },
      hint: `track data outside the ignored path, or change ${by} so that git sees '${c.file}' (\`git check-ignore -v ${c.file}\` shows the rule)`,
    });
  }
}

/**
 * Every output the workspace records, from the output index (src/repo/outputs.ts): pointers
 * (`pointers`), and (`stages`) the outputs rvc.yaml declares and those rvc.lock records. rvc.yaml
 * is parsed only when it exists. A pointer that cannot be parsed is an error, or left out with
 * `skipDamagedPointers`.
 */
export async function recordedOutputs(repo: Repo, which: { pointers?: boolean; stages?: boolean; skipDamagedPointers?: boolean } = { pointers: true, stages: true }): Promise<RecordedOutput[]> {
  const out: RecordedOutput[] = [];
  const declared = new Set<string>();
  if (which.stages) {
    for (const d of await declaredStageOutputs(repo)) {
      out.push({ rel: d.rel, file: splitStageId(d.stage).file, kind: 'stage', stage: d.stage, cache: d.cached });
      declared.add(`${d.stage}\0${d.rel}`);
    }
  }
  const listed = [
    ...(which.pointers ? workspacePointerOutputs(repo, which.skipDamagedPointers ? { skipDamagedPointers: true } : {}) : []),
    ...(which.stages ? await workspaceStageOutputs(repo) : []),
  ];
  for (const o of listed) {
    if (o.kind === 'pointer') {
      if (which.pointers) out.push({ rel: o.rel, file: o.file, kind: 'pointer' });
    } else if (which.stages && o.stage !== undefined && !declared.has(`${o.stage}\0${o.rel}`)) {
      out.push({ rel: o.rel, file: o.file, kind: 'stage', stage: o.stage });
    }
  }
  return out;
}

export function pointerRecord(t: TrackedOut): RecordedOutput {
  return { rel: t.rel, file: t.pointerFile, kind: 'pointer' };
}

/**
 * The checks of a path about to be tracked by a pointer (`add`, the destination of `move`):
 * `.rvcignore`, overlaps with what is recorded (pointers and stage outputs), a pointer git
 * would ignore. Throws the first refusal.
 */
export async function refuseNewPointers(repo: Repo, cands: readonly NewOutput[], recorded?: Iterable<RecordedOutput>): Promise<void> {
  refuseRvcIgnored(repo.ignore, cands);
  refuseOverlaps(cands, recorded ?? await recordedOutputs(repo));
  refuseGitIgnoredPointers(repo, cands);
}

/**
 * The checks of stage outputs about to be declared or produced (`stage add`, `repro`):
 * overlaps with pointer-tracked data and `.rvcignore`. Overlaps between stages are the
 * pipeline graph's to refuse.
 */
export async function refuseNewStageOutputs(repo: Repo, stages: readonly { name: string; outs: readonly { repoPath: string }[] }[]): Promise<void> {
  const cands: NewOutput[] = [];
  for (const s of stages) {
    for (const o of s.outs) {
      let isDir: boolean | undefined;
      try {
        isDir = fs.lstatSync(path.join(repo.root, o.repoPath)).isDirectory();
      } catch {
        isDir = undefined;
      }
      cands.push({ rel: o.repoPath, kind: 'stage', stage: s.name, ...(isDir !== undefined ? { isDir } : {}) });
    }
  }
  if (cands.length === 0) return;
  refuseOverlaps(cands, await recordedOutputs(repo, { pointers: true }));
  refuseRvcIgnored(repo.ignore, cands);
}

/**
 * Refuses (PATH_OVERLAPS) to move `rel` when it is, lies inside or contains a stage's output:
 * the stage would write it again where its rvc.yaml says.
 */
export function refuseMovingStageOutput(rel: string, shown: string, recorded: Iterable<RecordedOutput>): void {
  for (const r of recorded) {
    if (r.kind !== 'stage' || !overlaps(rel, r.rel)) continue;
    throw new RvcError('PATH_OVERLAPS', rel === r.rel ? `'${shown}' is an output of stage '${r.stage}' (${r.file})` : `'${shown}' overlaps '${r.rel}', an output of stage '${r.stage}' (${r.file})`, {
      path: shown, details: { paths: [rel, r.rel], recordedIn: r.file, producer: r.stage },
      hint: `rename it in the outs (and the command) of stage '${r.stage}' in ${splitStageId(r.stage ?? '').file}, then run \`rvc repro ${r.stage}\``,
    });
  }
}

/**
 * Whether the `.gitignore` line of `rel` is still needed once the pointers in `leaving` stop
 * tracking it: another pointer tracks the same path, or a stage writes it to the cache. With
 * `recorded` undefined (rvc.yaml or rvc.lock could not be read) it may be: true.
 */
export function gitignoreStillNeeded(rel: string, leaving: ReadonlySet<string>, recorded: Iterable<RecordedOutput> | undefined): boolean {
  if (recorded === undefined) return true;
  for (const r of recorded) {
    if (r.rel !== rel || r.cache === false) continue;
    if (r.kind === 'pointer' && leaving.has(r.file)) continue;
    return true;
  }
  return false;
}

/**
 * The recorded outputs for deciding which `.gitignore` lines `remove` and `move` keep: damaged
 * pointers left out (removing one is how it is repaired), and undefined when rvc.yaml or
 * rvc.lock cannot be read (then every line is kept).
 */
export async function recordedForGitignore(repo: Repo): Promise<RecordedOutput[] | undefined> {
  try {
    return await recordedOutputs(repo, { pointers: true, stages: true, skipDamagedPointers: true });
  } catch {
    return undefined;
  }
}
