import { listExperimentRefs } from '../scm/experiments.js';
import { RvcError } from '../errors.js';
import type { EnvironmentRecord } from '../model/environment.js';
import { canonicalStage, type LockStage } from '../model/lock.js';
import { isLockFile } from '../model/names.js';
import { isInside } from '../model/paths.js';
import { canonicalJson, compareStrings } from '../model/values.js';
import { openHistory, scopeHasRevs, type CommitInfo, type History, type RevScope } from '../repo/history.js';
import { findOutput, workspaceOutputs } from '../repo/outputs.js';
import { Repo, type CommonOptions } from '../repo/repo.js';
import type { Output } from '../model/output.js';

export type { CommitInfo };

export interface LineageOptions extends CommonOptions {
  /** The output whose provenance is asked (forward lineage), relative to `cwd`. */
  output?: string;
  /** Git revision of the forward lineage; default HEAD. */
  rev?: string;
  /** Reverse lineage: the data path whose consumers are listed, relative to `cwd`. */
  uses?: string;
  /** With `uses`: the version of the data (its oid); default the one the workspace records. */
  oid?: string;
  /** With `uses`: the commits to look at; default HEAD. */
  scope?: RevScope;
  /** Also render the forward lineage as Graphviz DOT or Mermaid (`text`). */
  format?: 'dot' | 'mermaid';
}

/** One input of a stage as its lock entry records it. */
export interface LineageInput {
  path: string;
  /** `code`: git tracks it at the revision; `data`: a pointer or a stage output records it; `untracked`: neither. */
  kind: 'code' | 'data' | 'untracked';
  /** The oid rvc.lock records for it. */
  oid: string;
  /** Code: the git blob (or tree) id at the revision. */
  blob?: string;
  /** Data: how it is recorded. */
  source?: 'pointer' | 'stage';
  /** Data made by another stage: that stage's id. */
  producer?: string;
  /** Data: the oldest commit in the revision's history that records this version of the path. */
  firstCommit?: string;
}

export interface LineageStage {
  stage: string;
  lockFile: string;
  cmd: string[];
  inputs: LineageInput[];
  /** params file → dot path → value. */
  params: Record<string, Record<string, unknown>>;
  env: Record<string, string | null>;
  /** The environment recorded with the run, when the lock entry has one. */
  environment?: EnvironmentRecord;
  outs: { path: string; oid: string }[];
  /** The commit that introduced this lock entry (who and when the stage was run and recorded). */
  recorded?: CommitInfo;
}

export interface LineageResult {
  /** Repository-relative path of the output. */
  output: string;
  rev: string;
  commit: string;
  oid: string;
  /** How the output is recorded: by a pointer file, or as a stage output. */
  source: 'pointer' | 'stage';
  /** The oldest commit in the revision's history that records this version of the output. */
  firstCommit?: string;
  /** The producing stage first, then every stage upstream of it (each once). */
  stages: LineageStage[];
  /** With `format`. */
  text?: string;
}

export interface UsesCommit extends CommitInfo {
  /** The revision as the scope named it. */
  label: string;
  /** The experiment (name) this commit is, when it is one (`refs/exps/…`). */
  experiment?: string;
  /** Stages built from the data version, directly or through other stages of that commit. */
  stages: string[];
  /** Their outputs. */
  outputs: string[];
}

export interface UsesResult {
  path: string;
  oid: string;
  /** Commits looked at. */
  commits: number;
  /** The commits with at least one stage built from the data version, in scope order. */
  used: UsesCommit[];
}

/** One commit's records: every stage entry by id, and every recorded output path's oids. */
interface Snapshot {
  stages: Map<string, { lockFile: string; entry: LockStage }>;
  outs: Output[];
}

async function snapshot(history: History, commit: string, label: string, memo: Map<string, Snapshot>): Promise<Snapshot> {
  let s = memo.get(commit);
  if (!s) {
    s = { stages: await history.lockStagesAt(commit, label), outs: await history.outsAt(commit, label) };
    memo.set(commit, s);
  }
  return s;
}

/** Whether `snap` records `oid` for `path` (as an output, or as a stage's dependency). */
function records(snap: Snapshot, path: string, oid: string): boolean {
  if (snap.outs.some((o) => o.rel === path && o.out.oid === oid)) return true;
  for (const { entry } of snap.stages.values()) if (entry.deps.some((d) => d.path === path && d.oid === oid)) return true;
  return false;
}

/** The oldest commit of `revs` (newest first) recording `oid` for `path`. */
async function firstAppearance(history: History, revs: readonly string[], path: string, oid: string, memo: Map<string, Snapshot>): Promise<string | undefined> {
  let first: string | undefined;
  // Most commits do not name the oid at all: their files are searched (all at once), not parsed.
  const named = await Promise.all(revs.map((c) => history.mentions(c, oid)));
  for (const [k, c] of revs.entries()) {
    if (!named[k]) continue;
    if (records(await snapshot(history, c, c.slice(0, 8), memo), path, oid)) first = c;
  }
  return first;
}

/**
 * `rvc lineage <output> [--rev R]`: the provenance of an output at a revision, read from git
 * objects only: the stage that made it and every stage upstream, each with its command, code
 * files (git blob ids), params, data inputs (oids and the commit where each version first
 * appeared), recorded environment, and the commit that recorded the run.
 */
export async function lineage(opts: LineageOptions): Promise<LineageResult> {
  const cwd = opts.cwd ?? process.cwd();
  const repo = Repo.open(cwd);
  if (opts.output === undefined) throw new RvcError('USAGE', 'name an output', { hint: 'rvc lineage <output> [--rev R], or rvc lineage --uses <data> --all-commits' });
  const { rel } = repo.resolve(opts.output, cwd);
  const history = openHistory(repo.root);
  try {
    const rev = opts.rev ?? 'HEAD';
    const commit = history.resolve(rev);
    const memo = new Map<string, Snapshot>();
    const snap = await snapshot(history, commit, rev, memo);
    const hit = findOutput(snap.outs, rel);
    if (!hit || hit.subpath !== undefined) {
      throw new RvcError('NOT_TRACKED', `'${opts.output}' is not an output recorded at ${rev}`, {
        path: opts.output, hint: `name a stage output (listed in rvc.lock: \`git show ${rev}:rvc.lock\`) or a path a .rvc file tracks at that revision`,
      });
    }
    const revs = history.revList(commit);
    const target = hit.output;
    const res: LineageResult = {
      output: target.rel, rev, commit, oid: target.out.oid, source: target.kind === 'pointer' ? 'pointer' : 'stage', stages: [],
    };
    const first = await firstAppearance(history, revs, target.rel, target.out.oid, memo);
    if (first) res.firstCommit = first;
    const queue = target.stage ? [target.stage] : [];
    const seen = new Set(queue);
    while (queue.length) {
      const id = queue.shift()!;
      const rec = snap.stages.get(id);
      if (!rec) continue;
      const { entry, lockFile } = rec;
      const inputs: LineageInput[] = [];
      for (const d of entry.deps) {
        const out = findOutput(snap.outs, d.path)?.output
          ?? snap.outs.find((o) => isInside(o.rel, d.path));
        if (out) {
          const input: LineageInput = { path: d.path, kind: 'data', oid: d.oid, source: out.kind === 'pointer' ? 'pointer' : 'stage' };
          if (out.stage) {
            input.producer = out.stage;
            if (!seen.has(out.stage)) {
              seen.add(out.stage);
              queue.push(out.stage);
            }
          }
          const fc = await firstAppearance(history, revs, d.path, d.oid, memo);
          if (fc) input.firstCommit = fc;
          inputs.push(input);
          continue;
        }
        const git = await history.objectIdAt(commit, d.path);
        inputs.push(git ? { path: d.path, kind: 'code', oid: d.oid, blob: git.oid } : { path: d.path, kind: 'untracked', oid: d.oid });
      }
      const stage: LineageStage = {
        stage: id, lockFile, cmd: typeof entry.cmd === 'string' ? [entry.cmd] : [...entry.cmd], inputs,
        params: entry.params, env: entry.env, outs: entry.outs.map((o) => ({ path: o.path, oid: o.oid })),
      };
      if (entry.environment !== undefined) stage.environment = entry.environment;
      // The run was recorded by the oldest commit of the unbroken run of commits (newest first) whose entry equals this one.
      const want = canonicalJson(canonicalStage(entry));
      let introduced: string | undefined;
      for (const c of revs) {
        const e = (await snapshot(history, c, c.slice(0, 8), memo)).stages.get(id)?.entry;
        if (!e || (e !== entry && canonicalJson(canonicalStage(e)) !== want)) break;
        introduced = c;
      }
      if (introduced) stage.recorded = await history.commitInfo(introduced);
      res.stages.push(stage);
    }
    if (opts.format) res.text = opts.format === 'dot' ? renderLineageDot(res) : renderLineageMermaid(res);
    return res;
  } finally {
    history.close();
  }
}

/**
 * `rvc lineage --uses <data> [--oid X] <scope>`: every commit of the scope with stages built
 * from that version of the data, directly or through other stages of the same commit.
 */
export async function lineageUses(opts: LineageOptions & { uses: string }): Promise<UsesResult> {
  const cwd = opts.cwd ?? process.cwd();
  const repo = Repo.open(cwd);
  const { rel } = repo.resolve(opts.uses, cwd);
  let oid = opts.oid;
  if (oid === undefined) {
    const hit = findOutput(await workspaceOutputs(repo), rel);
    if (!hit || hit.subpath !== undefined) {
      throw new RvcError('NOT_TRACKED', `'${opts.uses}' is not recorded in the workspace, so its version is unknown`, {
        path: opts.uses, hint: `name the version: rvc lineage --uses ${opts.uses} --oid <oid> --all-commits`,
      });
    }
    oid = hit.output.out.oid;
  }
  const history = openHistory(repo.root);
  try {
    const scope = opts.scope && scopeHasRevs(opts.scope) ? opts.scope : { revs: ['HEAD'] };
    const commits = history.resolveScope(scope);
    const res: UsesResult = { path: rel, oid, commits: commits.size, used: [] };
    // A commit whose lock files do not name the oid has no stage built from it and is not parsed.
    // Asked for every commit at once, so git answers one stream of requests.
    const named = await Promise.all([...commits.keys()].map((commit) => history.mentions(commit, oid!, isLockFile)));
    const experiments = new Map(listExperimentRefs(repo.root).map((e) => [e.commit, e.name]));
    let k = 0;
    for (const [commit, label] of commits) {
      if (!named[k++]) continue;
      const stages = await history.lockStagesAt(commit, label);
      const hit = new Set<string>();
      // Fixpoint: a stage is built from the data when a dep is the data version itself, or an output (same oid) of a stage already found.
      const made = new Map<string, string>();
      for (let grew = true; grew;) {
        grew = false;
        for (const [id, { entry }] of stages) {
          if (hit.has(id)) continue;
          const uses = entry.deps.some((d) => (d.path === rel && d.oid === oid) || made.get(d.path) === d.oid
            || [...made.keys()].some((p) => isInside(d.path, p)));
          if (!uses) continue;
          hit.add(id);
          for (const o of entry.outs) made.set(o.path, o.oid);
          grew = true;
        }
      }
      if (!hit.size) continue;
      const experiment = experiments.get(commit);
      res.used.push({
        ...(await history.commitInfo(commit)), label, ...(experiment !== undefined ? { experiment } : {}),
        stages: [...hit].sort(compareStrings), outputs: [...made.keys()].sort(compareStrings),
      });
    }
    return res;
  } finally {
    history.close();
  }
}

function nodesOf(r: LineageResult): { nodes: Map<string, 'stage' | 'data' | 'code'>; edges: [string, string][] } {
  const nodes = new Map<string, 'stage' | 'data' | 'code'>();
  const edges: [string, string][] = [];
  const node = (n: string, k: 'stage' | 'data' | 'code') => {
    if (!nodes.has(n)) nodes.set(n, k);
  };
  if (!r.stages.length) node(r.output, 'data');
  for (const s of [...r.stages].reverse()) {
    const sn = `stage:${s.stage}`;
    node(sn, 'stage');
    for (const i of s.inputs) {
      node(i.path, i.kind === 'code' ? 'code' : 'data');
      edges.push([i.path, sn]);
    }
    for (const o of s.outs) {
      node(o.path, 'data');
      edges.push([sn, o.path]);
    }
  }
  return { nodes, edges };
}

/** Graphviz DOT of a lineage: data and code files feed stages, stages make outputs. */
export function renderLineageDot(r: LineageResult): string {
  const q = (s: string) => `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
  const shape = { stage: 'box', data: 'cylinder', code: 'note' } as const;
  const { nodes, edges } = nodesOf(r);
  const lines = ['strict digraph lineage {'];
  for (const [n, k] of nodes) lines.push(`  ${q(n)} [shape=${shape[k]}${k === 'stage' ? `, label=${q(n.slice(6))}` : ''}];`);
  for (const [a, b] of edges) lines.push(`  ${q(a)} -> ${q(b)};`);
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/** Mermaid flowchart of a lineage. */
export function renderLineageMermaid(r: LineageResult): string {
  const { nodes, edges } = nodesOf(r);
  const id = new Map([...nodes.keys()].map((n, i) => [n, `n${i}`]));
  const label = (s: string) => `"${s.replace(/"/g, '#quot;')}"`;
  const lines = ['flowchart LR'];
  for (const [n, k] of nodes) {
    const l = label(k === 'stage' ? n.slice(6) : n);
    lines.push(`  ${id.get(n)}${k === 'stage' ? `[${l}]` : k === 'data' ? `[(${l})]` : `[/${l}/]`}`);
  }
  for (const [a, b] of edges) lines.push(`  ${id.get(a)} --> ${id.get(b)}`);
  return `${lines.join('\n')}\n`;
}
