import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { RvcError } from '../errors.js';
import { runGit } from './exec.js';

const gitRun = (cwd: string, args: string[], input?: string): string => runGit(args, cwd, input);

/**
 * Experiments are git commits kept under a ref namespace of their own, never on a branch:
 * `refs/exps/<baseline[0:2]>/<baseline[2:]>/<name>` (DVC's layout, so a baseline's experiments
 * are one prefix). The commit's parent is the baseline; its tree is the baseline's tree with the
 * workspace's changes (params, code, rvc.lock, metrics: everything git does not ignore). Data
 * outputs live in the cache as usual; the commit holds their pointers and lock entries.
 *
 * The commit message carries trailers the tools read back without a checkout:
 *   Rvc-Exp-Name: <name>
 *   Rvc-Exp-Inputs: <tree oid of the workspace before the run>   (identical-run detection)
 *   Rvc-Exp-Params: <JSON of the -S overrides applied>           (when there were any)
 *
 * Everything here is git plumbing on a private index file, so the user's index, HEAD and
 * branches are never touched.
 */

export const EXP_REF_ROOT = 'refs/exps/';

/**
 * Where a queued run's starting point is kept until it has run: the workspace as it was when
 * queued, committed on a private index (`refs/rvc-queue/<id>`, parent: the baseline).
 */
export const QUEUE_REF_ROOT = 'refs/rvc-queue/';

/** The commits queued runs start from (their data must outlive a gc until they have run). */
export function queuedSnapshotCommits(root: string): { id: string; commit: string }[] {
  const out = gitRun(root, ['for-each-ref', '--format=%(refname) %(objectname)', QUEUE_REF_ROOT]);
  return out.split('\n').filter(Boolean).map((l) => {
    const [ref, commit] = l.split(' ');
    return { id: ref!.slice(QUEUE_REF_ROOT.length), commit: commit! };
  });
}

export interface ExperimentRef {
  name: string;
  /** Full ref name, `refs/exps/ab/cdef…/name`. */
  ref: string;
  /** The experiment's commit (full oid). */
  commit: string;
  /** The commit it was run from (full oid). */
  baseline: string;
  /** Committer date, ISO 8601. */
  created: string;
  /** Trailer values of the commit message (`Rvc-Exp-Inputs` → value, …). */
  trailers: Record<string, string>;
}

/** The ref an experiment named `name` of `baseline` is kept under. */
export function expRefName(baseline: string, name: string): string {
  return `${EXP_REF_ROOT}${baseline.slice(0, 2)}/${baseline.slice(2)}/${name}`;
}

/** The baseline and name of an experiment ref, or undefined for any other ref. */
export function parseExpRef(ref: string): { baseline: string; name: string } | undefined {
  const m = /^refs\/exps\/([0-9a-f]{2})\/([0-9a-f]{38,62})\/([^/]+)$/.exec(ref);
  return m ? { baseline: m[1]! + m[2]!, name: m[3]! } : undefined;
}

/**
 * Refuses a name git cannot hold as one ref component, or that would read as something else
 * (a commit id, an option). Names are one path component: no `/`.
 */
export function assertExperimentName(name: string): void {
  const bad = name === '' || name.length > 200 || name.startsWith('-') || name.startsWith('.') || name.endsWith('.lock')
    || name.endsWith('.') || /[\0-\x20\x7f~^:?*[\\/]|\.\.|@\{/.test(name) || /^[0-9a-f]{7,64}$/.test(name) || name === '@';
  if (bad) {
    throw new RvcError('EXP_NAME_INVALID', `'${name}' cannot name an experiment`, {
      hint: 'use letters, digits, `-`, `_` and `.` (not a commit id, not starting with `-` or `.`), e.g. `rvc exp run -n lr-0.1`',
    });
  }
}

const ADJECTIVES = ['amber', 'bold', 'brisk', 'calm', 'clear', 'crisp', 'deft', 'eager', 'fair', 'fleet', 'gentle', 'glad', 'grand', 'keen', 'lucid', 'merry', 'neat', 'noble', 'plain', 'prime', 'quick', 'quiet', 'rapid', 'sharp', 'sleek', 'snug', 'solid', 'stark', 'swift', 'tidy', 'vivid', 'warm'];
const NOUNS = ['acorn', 'basin', 'birch', 'brook', 'cedar', 'cliff', 'comet', 'coral', 'delta', 'dune', 'ember', 'fern', 'fjord', 'grove', 'harbor', 'heron', 'inlet', 'lark', 'maple', 'mesa', 'moss', 'oak', 'orbit', 'otter', 'pine', 'quartz', 'reef', 'ridge', 'sparrow', 'tide', 'vale', 'wren'];

/** A readable name (`swift-heron`) from `seed` (e.g. the run's inputs), unused among `taken`. */
export function generateExperimentName(seed: string, taken: ReadonlySet<string>): string {
  let h = 2166136261;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 16777619) >>> 0;
  const base = `${ADJECTIVES[h % ADJECTIVES.length]}-${NOUNS[(h >>> 8) % NOUNS.length]}`;
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) if (!taken.has(`${base}-${n}`)) return `${base}-${n}`;
}

const TRAILER_RE = /^(Rvc-Exp-[A-Za-z]+): (.*)$/;

/**
 * Every experiment of the repository (or only those of `baseline`), newest first, read with one
 * `git for-each-ref` whatever their number.
 */
export function listExperimentRefs(root: string, baseline?: string): ExperimentRef[] {
  const prefix = baseline ? `${EXP_REF_ROOT}${baseline.slice(0, 2)}/${baseline.slice(2)}/` : EXP_REF_ROOT;
  // %00 separates fields, %01 records: commit messages may hold anything but NUL.
  const out = gitRun(root, ['for-each-ref', '--sort=-committerdate',
    '--format=%(refname)%00%(objectname)%00%(committerdate:iso-strict)%00%(contents)%01', prefix]);
  const res: ExperimentRef[] = [];
  for (const rec of out.split('\x01')) {
    const [ref, commit, created, body] = rec.replace(/^\n/, '').split('\0');
    if (!ref || !commit) continue;
    const parsed = parseExpRef(ref);
    if (!parsed) continue;
    const trailers: Record<string, string> = {};
    for (const line of (body ?? '').split('\n')) {
      const m = TRAILER_RE.exec(line);
      if (m) trailers[m[1]!] = m[2]!;
    }
    res.push({ name: parsed.name, ref, commit, baseline: parsed.baseline, created: created ?? '', trailers });
  }
  return res;
}

/**
 * The experiment `spec` names: an experiment name, a full `refs/exps/…` ref, or the commit id
 * (or an unambiguous prefix of at least 7 hex digits) of an experiment. A name several baselines
 * use is taken from `preferBaseline` when it has it, else refused with the candidates listed.
 */
export function findExperiment(root: string, spec: string, opts: { preferBaseline?: string | undefined; all?: ExperimentRef[] } = {}): ExperimentRef | undefined {
  const all = opts.all ?? listExperimentRefs(root);
  const byRef = all.find((e) => e.ref === spec);
  if (byRef) return byRef;
  const named = all.filter((e) => e.name === spec);
  if (named.length === 1) return named[0];
  if (named.length > 1) {
    const preferred = named.find((e) => e.baseline === opts.preferBaseline);
    if (preferred) return preferred;
    throw new RvcError('EXP_AMBIGUOUS', `experiment name '${spec}' is used by ${named.length} baselines`, {
      hint: `name it by its ref: ${named.map((e) => e.ref).join(', ')}`,
    });
  }
  if (/^[0-9a-f]{7,64}$/.test(spec)) {
    const byCommit = all.filter((e) => e.commit.startsWith(spec));
    if (byCommit.length === 1) return byCommit[0];
  }
  return undefined;
}

export interface SaveCommitOptions {
  /** The work tree whose state is recorded (the workspace, or an isolated copy). */
  workdir: string;
  /** The commit the experiment was run from (full oid); the new commit's parent. */
  baseline: string;
  name: string;
  /** First line of the commit message; default `rvc exp: <name>`. */
  message?: string;
  /** Extra trailers (`Rvc-Exp-Inputs` …), written after the name. */
  trailers?: Record<string, string>;
  /** Replace an experiment of the same baseline and name instead of refusing. */
  force?: boolean;
  /** Paths (relative to the git top level) recorded even when git ignores them. */
  include?: string[];
}

/**
 * The tree git would commit for `workdir` right now, built in a private copy of the work tree's
 * index (its stat cache makes `git add -A` cheap) so the user's index is left as it was.
 */
export function workTreeSnapshot(workdir: string, include: readonly string[] = []): string {
  return workTreeSnapshotAt(workdir, include).tree;
}

/** workTreeSnapshot, and `workdir`'s folder relative to the git top level (`sub/` or ''), from the same git processes. */
export function workTreeSnapshotAt(workdir: string, include: readonly string[] = []): { tree: string; prefix: string } {
  return withPrivateIndex(workdir, (env, prefix) => {
    runGit(['add', '-A', '--', ':/'], workdir, undefined, env);
    // Paths asked for by name go in even when git ignores them (`exp save --include-untracked`).
    if (include.length) runGit(['add', '-f', '--', ...include.map((p) => `:/${p}`)], workdir, undefined, env);
    return { tree: runGit(['write-tree'], workdir, undefined, env).trim(), prefix };
  });
}

/**
 * A digest of what a run starts from: every file of `tree` but those `isResult` says the run
 * produces (lock files, stage outputs git tracks such as metrics). Two runs of one baseline with
 * equal digests would compute the same thing. Paths are relative to the git work tree's top.
 */
export function runInputsDigest(root: string, tree: string, isResult: (topRel: string) => boolean): string {
  const listing = gitRun(root, ['ls-tree', '-r', '-z', '--full-tree', tree]).split('\0')
    .filter((l) => l && !isResult(l.slice(l.indexOf('\t') + 1)));
  return createHash('sha256').update(listing.join('\n')).digest('hex');
}

/**
 * Refuses `name` for a new experiment of `baseline` before anything runs: a name git cannot
 * hold (EXP_NAME_INVALID), or one the baseline has (EXP_EXISTS) unless `force`. `taken`: the
 * baseline's names when the caller has them already.
 */
export function assertNameFree(root: string, baseline: string, name: string, force = false, taken?: ReadonlySet<string>): void {
  assertExperimentName(name);
  if (force) return;
  if (taken ? taken.has(name) : refCommit(root, expRefName(baseline, name)) !== undefined) throw nameTaken(name, baseline);
}

function nameTaken(name: string, baseline: string): RvcError {
  return new RvcError('EXP_EXISTS', `experiment '${name}' already exists for baseline ${baseline.slice(0, 7)}`, {
    hint: `choose another name with -n, or replace it with -f (\`rvc exp remove ${name}\` deletes it)`,
  });
}

/**
 * Records the state of `workdir` as an experiment commit of `baseline` and points its ref at
 * it. Refuses a name the baseline already has (EXP_EXISTS) unless `force`. The ref is created
 * with an expected old value, so two runs saving the same name at once cannot both win.
 */
export function saveExperimentCommit(root: string, opts: SaveCommitOptions): ExperimentRef {
  assertExperimentName(opts.name);
  const ref = expRefName(opts.baseline, opts.name);
  // Without force the ref must not exist: update-ref below checks that, so it is not read first.
  const existing = opts.force ? refCommit(root, ref) : undefined;
  const tree = workTreeSnapshot(opts.workdir, opts.include);
  const trailers = { 'Rvc-Exp-Name': opts.name, ...(opts.trailers ?? {}) };
  const message = `${opts.message ?? `rvc exp: ${opts.name}`}\n\n${Object.entries(trailers).map(([k, v]) => `${k}: ${v.replace(/\n/g, ' ')}`).join('\n')}\n`;
  // The commit's date is chosen here, so its ISO form needs no git process to read back
  // (unless the environment fixes the date).
  const date = process.env.GIT_COMMITTER_DATE ? undefined : new Date();
  const commit = runGit(['commit-tree', tree, '-p', opts.baseline, '-F', '-'], root, message,
    date ? { ...process.env, GIT_COMMITTER_DATE: gitDate(date) } : undefined).trim();
  // update-ref with the expected old value ('' = must not exist): a concurrent save loses cleanly.
  try {
    gitRun(root, ['update-ref', '-m', `rvc exp: ${opts.name}`, ref, commit, existing ?? '']);
  } catch (e) {
    if (!opts.force) throw nameTaken(opts.name, opts.baseline);
    throw new RvcError('EXP_EXISTS', `experiment '${opts.name}' was saved by another run at the same time`, {
      cause: e, hint: 'choose another name with -n',
    });
  }
  const created = date ? isoDate(date) : gitRun(root, ['show', '-s', '--format=%cI', commit]).trim();
  return { name: opts.name, ref, commit, baseline: opts.baseline, created, trailers };
}

/** The local time zone's offset at `d`, as `+hhmm` (git) or `+hh:mm` (ISO 8601). */
function zoneOffset(d: Date, sep: string): string {
  const m = -d.getTimezoneOffset();
  const a = Math.abs(m);
  return `${m < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}${sep}${String(a % 60).padStart(2, '0')}`;
}

/** `d` in git's internal date format (seconds since the epoch, local zone). */
function gitDate(d: Date): string {
  return `${Math.floor(d.getTime() / 1000)} ${zoneOffset(d, '')}`;
}

/** `d` as git's `%cI` prints it: local time to the second with the zone, `2024-05-01T12:00:00+02:00`. */
function isoDate(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}${zoneOffset(d, ':')}`;
}

/**
 * The experiment `spec` names (see findExperiment, preferring HEAD's), or EXP_NOT_FOUND naming it.
 */
export function requireExperiment(root: string, spec: string, all?: ExperimentRef[]): ExperimentRef {
  let head: string | undefined;
  try {
    head = gitRun(root, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}']).trim() || undefined;
  } catch {
    head = undefined;
  }
  const found = findExperiment(root, spec, { preferBaseline: head, ...(all ? { all } : {}) });
  if (!found) {
    throw new RvcError('EXP_NOT_FOUND', `no experiment named '${spec}'`, {
      hint: '`rvc exp list -A` lists every experiment (name one by its name, its ref or its commit id)',
    });
  }
  return found;
}

/** The file name prefix of the private index files experiments are built in (`exp clean` removes stale ones). */
export const PRIVATE_INDEX_PREFIX = 'rvc-exp-index.';

/** Deletes an experiment ref (only if it still points at `commit`, when given). */
export function deleteExperimentRef(root: string, ref: string, commit?: string): void {
  gitRun(root, ['update-ref', '-d', ref, ...(commit ? [commit] : [])]);
}

/** The commit `ref` points at, or undefined when it does not exist. */
export function refCommit(root: string, ref: string): string | undefined {
  try {
    return gitRun(root, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]).trim() || undefined;
  } catch {
    return undefined;
  }
}

function withPrivateIndex<T>(workdir: string, fn: (env: NodeJS.ProcessEnv, prefix: string) => T): T {
  // One git process for all three (each start costs more than the answer).
  const [gitDirRel, indexRel, prefix] = gitRun(workdir, ['rev-parse', '--git-dir', '--git-path', 'index', '--show-prefix']).split('\n');
  const indexPath = path.resolve(workdir, indexRel!.trim());
  const gitDir = path.resolve(workdir, gitDirRel!.trim());
  const tmpIndex = path.join(gitDir, `${PRIVATE_INDEX_PREFIX}${process.pid}.${Math.random().toString(16).slice(2, 10)}`);
  try {
    if (fs.existsSync(indexPath)) fs.copyFileSync(indexPath, tmpIndex);
    return fn({ ...process.env, GIT_INDEX_FILE: tmpIndex }, (prefix ?? '').trim());
  } finally {
    fs.rmSync(tmpIndex, { force: true });
  }
}
