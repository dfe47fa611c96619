import { readQueue, type QueueEntry } from './queue-store.js';
import { RvcError } from '../../errors.js';
import { flattenValues, type ParamsByFile } from '../../model/params.js';
import { summarize, type Summary } from '../../model/stats.js';
import { compareStrings } from '../../model/values.js';
import { parseOverride } from '../../pipeline/param-overrides.js';
import { readRevisions, scopeRevisions, sideValues, workspaceSource, type SideValues } from '../../pipeline/compare.js';
import { openHistory, type History } from '../../repo/history.js';
import { Repo, type CommonOptions } from '../../repo/repo.js';
import { listExperimentRefs, type ExperimentRef } from '../../scm/experiments.js';
import { fetchExperimentCommits, listRemoteExperiments } from '../../scm/exp-remote.js';

export interface ExpShowOptions extends CommonOptions {
  /** The tips of every local branch as baselines. */
  allBranches?: boolean;
  /** Every tag as a baseline. */
  allTags?: boolean;
  /** Every commit as a baseline. */
  allCommits?: boolean;
  /** The last `num` commits of HEAD as baselines. */
  num?: number;
  /** A column (`metrics.json:acc`, or `acc` when only one column has that key): experiments of a baseline sorted by it. */
  sortBy?: string;
  sortOrder?: 'asc' | 'desc';
  /** Leave out the columns whose value is the same in every row. */
  onlyChanged?: boolean;
  /** Columns whose name matches this regular expression are kept whatever `drop` and `onlyChanged` say. */
  keep?: string;
  /** Columns whose name matches this regular expression are left out. */
  drop?: string;
  /**
   * Param keys that only repeat a run (`seed`): experiments of one baseline that differ only in
   * them are grouped, each group with n, mean, sample std and 95 % interval per metric.
   * Default: config `exp.replicates` (comma separated); `[]` groups nothing.
   */
  replicates?: string[];
  /**
   * Show the experiments a git remote (name or URL) holds instead of this repository's: their
   * commits are fetched without writing any ref; the workspace and the local queue are left out.
   */
  gitRemote?: string;
}

export type ExpState = 'success' | 'failed' | 'queued' | 'running';

export interface ExpRow {
  kind: 'workspace' | 'baseline' | 'experiment' | 'queued';
  name: string;
  /** The commit (full oid), or `workspace`; a queue entry's id for a queued, running or failed run. */
  rev: string;
  /** The baseline's commit (experiments and queued runs). */
  baseline?: string;
  /** ISO 8601. */
  created?: string;
  state?: ExpState;
  /** Column (`params.yaml:lr`) → value. */
  params: Record<string, unknown>;
  /** Column (`metrics.json:acc`) → value. */
  metrics: Record<string, unknown>;
  /** Why a failed run failed, or why a row's files could not be read. */
  error?: string;
}

export interface ReplicateGroup {
  baseline: string;
  /** The names of its experiments, newest first. */
  members: string[];
  /** The params they share (the replicate keys left out). */
  params: Record<string, unknown>;
  /** The values each replicate key took, per column. */
  replicateValues: Record<string, unknown[]>;
  /** Per numeric metric column. */
  metrics: Record<string, Summary>;
}

export interface ExpShowResult {
  columns: { params: string[]; metrics: string[] };
  /** Workspace, then each baseline followed by its experiments (newest first, or as sorted) and queued runs. */
  rows: ExpRow[];
  /** With `replicates`: the groups of experiments that differ only in those keys. */
  groups?: ReplicateGroup[];
  /** The replicate columns. */
  replicateColumns?: string[];
}

const columnsOf = (byFile: ParamsByFile): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const [file, vals] of Object.entries(byFile)) for (const [k, v] of Object.entries(vals)) out[`${file}:${k}`] = v;
  return out;
};

function row(kind: ExpRow['kind'], name: string, rev: string, v: { value?: SideValues; error?: unknown } | undefined): ExpRow {
  const r: ExpRow = { kind, name, rev, params: {}, metrics: {} };
  if (v?.value) {
    r.params = columnsOf(v.value.params);
    r.metrics = columnsOf(v.value.metrics);
    if (v.value.errors.length) r.error = v.value.errors.map((e) => e.message).join('; ');
  } else if (v?.error !== undefined) r.error = v.error instanceof Error ? v.error.message : String(v.error);
  return r;
}

/**
 * `rvc exp show`: the workspace, the baselines of the scope (HEAD by default) and the
 * experiments of each, with every param and metric as columns. Every revision's files are read
 * through one `git cat-file --batch` (readRevisions); queued, running and failed runs come from
 * the queue's files.
 */
export async function expShow(opts: ExpShowOptions = {}): Promise<ExpShowResult> {
  const repo = Repo.open(opts.cwd);
  const keep = regex(opts.keep, '--keep');
  const drop = regex(opts.drop, '--drop');
  const history = openHistory(repo.root);
  try {
    const baselines = scopeRevisions(history, opts);
    const shown = new Set(baselines.map((b) => b.commit));
    let exps: ExperimentRef[];
    if (opts.gitRemote !== undefined) {
      exps = await remoteExperiments(repo.root, history, opts.gitRemote, opts.allCommits ? undefined : shown);
      // With -A every baseline the remote's experiments start from is shown, local or not.
      for (const e of exps) {
        if (shown.has(e.baseline)) continue;
        shown.add(e.baseline);
        baselines.push({ commit: e.baseline, label: e.baseline.slice(0, 7) });
      }
    } else exps = listExperimentRefs(repo.root).filter((e) => shown.has(e.baseline));
    const revs = [...baselines, ...exps.map((e) => ({ commit: e.commit, label: e.name }))];
    const [values, dates] = await Promise.all([
      readRevisions(repo, history, revs, sideValues),
      Promise.all(baselines.map(async (b) => (await history.commitInfo(b.commit)).date)),
    ]);
    const remote = opts.gitRemote !== undefined;
    const queue = remote ? [] : readQueue(repo).filter((q) => shown.has(q.baseline) && q.state !== 'success');
    const rows: ExpRow[] = [];
    if (!remote) {
      let ws: { value?: SideValues; error?: unknown };
      try {
        ws = { value: sideValues(workspaceSource(repo)) };
      } catch (e) {
        ws = { error: e };
      }
      rows.push(row('workspace', 'workspace', 'workspace', ws));
    }
    baselines.forEach((b, i) => {
      const base = row('baseline', b.label, b.commit, values.get(b.commit));
      base.created = dates[i]!;
      rows.push(base);
      const mine: ExpRow[] = exps.filter((e) => e.baseline === b.commit).map((e) => ({
        ...row('experiment', e.name, e.commit, values.get(e.commit)), baseline: b.commit, created: e.created, state: 'success' as const,
      }));
      if (opts.sortBy) sortRows(mine, resolveColumn(opts.sortBy, mine.concat(base)), opts.sortOrder ?? 'asc');
      rows.push(...mine);
      for (const q of queue.filter((x) => x.baseline === b.commit)) rows.push(queuedRow(q, base));
    });
    const result: ExpShowResult = { columns: { params: [], metrics: [] }, rows };
    const replicates = opts.replicates ?? (repo.config.exp.replicates ?? '').split(',').map((k) => k.trim()).filter(Boolean);
    if (replicates.length) {
      const all = allColumns(rows, 'params');
      result.replicateColumns = all.filter((c) => replicates.some((k) => c === k || c.endsWith(`:${k}`)));
      if (!result.replicateColumns.length) {
        throw new RvcError('USAGE', `no param is named ${replicates.map((k) => `'${k}'`).join(', ')}${opts.replicates ? '' : ' (config exp.replicates)'}`, {
          hint: `name a param column as \`rvc exp show\` lists it${all.length ? `, e.g. --replicates ${all[0]!.split(':').pop()}` : ''}`,
        });
      }
      result.groups = replicateGroups(rows, result.replicateColumns);
    }
    for (const part of ['params', 'metrics'] as const) {
      result.columns[part] = allColumns(rows, part).filter((c) => {
        if (keep?.test(c)) return true;
        if (drop?.test(c)) return false;
        return !opts.onlyChanged || changes(rows, part, c);
      });
    }
    return result;
  } finally {
    history.close();
  }
}

/**
 * The experiments a git remote holds (of the `baselines` when given), their commits fetched
 * into the object store (one `git ls-remote`, one `git fetch`), newest first like local ones.
 */
async function remoteExperiments(root: string, history: History, gitRemote: string, baselines: ReadonlySet<string> | undefined): Promise<ExperimentRef[]> {
  const listed = listRemoteExperiments(root, gitRemote).filter((e) => !baselines || baselines.has(e.baseline));
  fetchExperimentCommits(root, gitRemote, listed.map((e) => e.ref));
  const exps = await Promise.all(listed.map(async (e) => ({ ...e, created: (await history.commitInfo(e.commit)).date, trailers: {} })));
  return exps.sort((a, b) => compareStrings(b.created, a.created) || compareStrings(a.name, b.name));
}

function regex(src: string | undefined, flag: string): RegExp | undefined {
  if (src === undefined) return undefined;
  try {
    return new RegExp(src);
  } catch (e) {
    throw new RvcError('USAGE', `${flag} '${src}' is not a regular expression: ${(e as Error).message}`, { hint: `e.g. ${flag} '^params.yaml:'` });
  }
}

/** A queued, running or failed run: the baseline's params with the run's overrides applied. */
function queuedRow(q: QueueEntry, base: ExpRow): ExpRow {
  const params = { ...base.params };
  for (const text of q.params) {
    try {
      const o = parseOverride(text);
      const flat = flattenValues(o.value, o.key);
      for (const [k, v] of Object.entries(Object.keys(flat).length ? flat : { [o.key]: o.value })) params[`${o.file}:${k}`] = v;
    } catch {
      // an override the run would refuse: it fails there, and is shown as written in `error`
    }
  }
  const r: ExpRow = {
    kind: 'queued', name: q.experiment?.name ?? q.name ?? q.id, rev: q.id, baseline: q.baseline, created: q.created,
    state: q.state, params, metrics: {},
  };
  if (q.error !== undefined) r.error = q.error;
  return r;
}

function allColumns(rows: ExpRow[], part: 'params' | 'metrics'): string[] {
  const s = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r[part])) s.add(k);
  return [...s].sort(compareStrings);
}

function changes(rows: ExpRow[], part: 'params' | 'metrics', c: string): boolean {
  const seen = new Set(rows.filter((r) => r.kind !== 'queued' || part === 'params').map((r) => JSON.stringify(r[part][c] ?? null)));
  return seen.size > 1;
}

/** `acc` names `metrics.json:acc` when only one column has that key; a full column name names itself. */
function resolveColumn(name: string, rows: ExpRow[]): { part: 'params' | 'metrics'; column: string } {
  const found: { part: 'params' | 'metrics'; column: string }[] = [];
  for (const part of ['metrics', 'params'] as const) {
    for (const c of allColumns(rows, part)) if (c === name || c.endsWith(`:${name}`)) found.push({ part, column: c });
  }
  const exact = found.find((f) => f.column === name);
  if (exact) return exact;
  if (found.length === 1) return found[0]!;
  throw new RvcError('USAGE', found.length ? `--sort-by '${name}' names ${found.length} columns: ${found.map((f) => f.column).join(', ')}` : `--sort-by '${name}' names no param or metric`, {
    hint: found.length ? `name one in full, e.g. --sort-by '${found[0]!.column}'` : 'name a column as `rvc exp show` lists it, e.g. --sort-by metrics.json:acc',
  });
}

/** Sorted by the column; rows without a value last whatever the order; numbers by value, others as text. */
function sortRows(rows: ExpRow[], by: { part: 'params' | 'metrics'; column: string }, order: 'asc' | 'desc'): void {
  const sign = order === 'desc' ? -1 : 1;
  rows.sort((a, b) => {
    const x = a[by.part][by.column];
    const y = b[by.part][by.column];
    if (x === undefined || y === undefined) return x === undefined ? (y === undefined ? 0 : 1) : -1;
    if (typeof x === 'number' && typeof y === 'number') return sign * (x - y);
    return sign * compareStrings(String(x), String(y));
  });
}

/**
 * Experiments of one baseline whose params are equal but for the replicate columns form one
 * group; each numeric metric is summarised over the group's members that have it.
 */
export function replicateGroups(rows: ExpRow[], replicateColumns: readonly string[]): ReplicateGroup[] {
  const groups = new Map<string, { g: ReplicateGroup; runs: ExpRow[] }>();
  for (const r of rows) {
    if (r.kind !== 'experiment' || !r.baseline) continue;
    const shared: Record<string, unknown> = {};
    for (const k of Object.keys(r.params).sort(compareStrings)) if (!replicateColumns.includes(k)) shared[k] = r.params[k];
    const key = `${r.baseline}\0${JSON.stringify(shared)}`;
    let e = groups.get(key);
    if (!e) {
      e = { g: { baseline: r.baseline, members: [], params: shared, replicateValues: {}, metrics: {} }, runs: [] };
      groups.set(key, e);
    }
    e.g.members.push(r.name);
    e.runs.push(r);
  }
  return [...groups.values()].map(({ g, runs }) => {
    for (const c of replicateColumns) g.replicateValues[c] = runs.map((r) => r.params[c]);
    for (const c of allColumns(runs, 'metrics')) {
      const s = summarize(runs.map((r) => r.metrics[c]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v)));
      if (s) g.metrics[c] = s;
    }
    return g;
  });
}
