import { RvcError } from '../errors.js';
import { compareStrings } from './values.js';
import { parentDirs } from './paths.js';
import { allOutputs, stageInputs, type Stage } from './pipeline/types.js';

/**
 * The stage graph: an edge A → B when B reads something A writes (the same path, a file inside
 * an output directory of A, or a directory of B's that holds an output of A). Building the graph
 * validates the whole pipeline before anything runs: shared or nested outputs and cycles are
 * refused. Every ordering is deterministic (ties broken by stage name in code-unit order), so
 * runs, logs and renders do not change between machines.
 */

export interface Graph {
  readonly stages: ReadonlyMap<string, Stage>;
  /** Stage names, sorted. */
  readonly names: readonly string[];
  /** name → the stages that read its outputs (sorted). */
  readonly children: ReadonlyMap<string, readonly string[]>;
  /** name → the stages whose outputs it reads (sorted). */
  readonly parents: ReadonlyMap<string, readonly string[]>;
  /** Every output path → the stage writing it. */
  readonly producers: ReadonlyMap<string, string>;
}

export interface GraphOptions {
  /** Pipeline file named in errors. */
  file?: string;
}

/**
 * Builds and validates the graph. Errors: STAGE_INVALID for a duplicate stage name,
 * PATH_OVERLAPS for an output two stages write or an output inside another stage's output,
 * PIPELINE_CYCLE for a cycle (the message lists the stages in order).
 */
export function buildGraph(stages: readonly Stage[], opts: GraphOptions = {}): Graph {
  const byName = new Map<string, Stage>();
  for (const s of stages) {
    if (byName.has(s.name)) {
      throw new RvcError('STAGE_INVALID', `stage '${s.name}' is defined twice`, { ...(opts.file ? { path: opts.file } : {}) });
    }
    byName.set(s.name, s);
  }
  const names = [...byName.keys()].sort(compareStrings);

  const producers = new Map<string, string>();
  for (const name of names) {
    for (const o of allOutputs(byName.get(name)!)) {
      const other = producers.get(o.repoPath);
      if (other !== undefined) {
        throw overlap(opts, other === name
          ? `stage '${name}' lists output '${o.repoPath}' twice`
          : `output '${o.repoPath}' is written by both stage '${other}' and stage '${name}'`, [other, name], [o.repoPath],
        'an output belongs to one stage; make the other stage depend on it instead');
      }
      producers.set(o.repoPath, name);
    }
  }
  const outPaths = [...producers.keys()].sort(compareStrings);
  for (const p of outPaths) {
    for (const anc of parentDirs(p)) {
      const owner = producers.get(anc);
      if (owner !== undefined) {
        const me = producers.get(p)!;
        throw overlap(opts, `output '${p}' of stage '${me}' is inside output '${anc}' of stage '${owner}'`, [owner, me], [anc, p],
          `write '${p}' somewhere outside '${anc}', or let '${owner}' alone produce the directory`);
      }
    }
  }

  const childSets = new Map<string, Set<string>>(names.map((n) => [n, new Set<string>()]));
  const parentSets = new Map<string, Set<string>>(names.map((n) => [n, new Set<string>()]));
  for (const name of names) {
    for (const dep of stageInputs(byName.get(name)!)) {
      for (const owner of producersTouching(dep, producers, outPaths)) {
        childSets.get(owner)!.add(name);
        parentSets.get(name)!.add(owner);
      }
    }
  }
  const sortedMap = (m: Map<string, Set<string>>) =>
    new Map([...m].map(([k, v]) => [k, [...v].sort(compareStrings)] as const));
  const g: Graph = { stages: byName, names, children: sortedMap(childSets), parents: sortedMap(parentSets), producers };
  checkAcyclic(g, opts);
  return g;
}

function overlap(opts: GraphOptions, msg: string, stages: string[], paths: string[], hint: string): RvcError {
  return new RvcError('PATH_OVERLAPS', msg, { hint, details: { stages, paths }, ...(opts.file ? { path: opts.file } : {}) });
}

/** Stages whose outputs are `path`, contain it, or lie inside it. */
function producersTouching(path: string, producers: ReadonlyMap<string, string>, sortedOuts: readonly string[]): Set<string> {
  const found = new Set<string>();
  for (const p of [path, ...parentDirs(path)]) {
    const o = producers.get(p);
    if (o !== undefined) found.add(o);
  }
  // Paths with a common prefix are contiguous in sorted order, so the outputs inside `path`
  // are one run starting at the first string >= `path/`.
  const prefix = path === '.' ? '' : `${path}/`;
  let lo = 0;
  let hi = sortedOuts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sortedOuts[mid]! < prefix) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < sortedOuts.length && sortedOuts[i]!.startsWith(prefix); i++) found.add(producers.get(sortedOuts[i]!)!);
  return found;
}

function checkAcyclic(g: Graph, opts: GraphOptions): void {
  const WHITE = 0;
  const GRAY = 1;
  const BLACK = 2;
  const color = new Map<string, number>(g.names.map((n) => [n, WHITE]));
  // Iterative DFS: a pipeline of 10,000 chained stages must not overflow the call stack.
  for (const root of g.names) {
    if (color.get(root) !== WHITE) continue;
    const stack: { name: string; next: number }[] = [{ name: root, next: 0 }];
    color.set(root, GRAY);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const kids = g.children.get(top.name)!;
      if (top.next < kids.length) {
        const k = kids[top.next++]!;
        const c = color.get(k);
        if (c === GRAY) {
          const start = stack.findIndex((f) => f.name === k);
          const cycle = [...stack.slice(start).map((f) => f.name), k];
          throw new RvcError('PIPELINE_CYCLE', `the pipeline has a cycle: ${cycle.join(' -> ')}`, {
            details: { cycle },
            hint: cycle.length === 2
              ? `stage '${k}' reads its own output; write to a different path`
              : 'a stage cannot depend, directly or not, on its own outputs; break the loop by changing one dependency',
            ...(opts.file ? { path: opts.file } : {}),
          });
        }
        if (c === WHITE) {
          color.set(k, GRAY);
          stack.push({ name: k, next: 0 });
        }
      } else {
        color.set(top.name, BLACK);
        stack.pop();
      }
    }
  }
}

/** Sorted-array priority queue of names: pipelines are small and this keeps order obvious. */
class NameQueue {
  private items: string[] = [];
  push(n: string): void {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.items[mid]! < n) lo = mid + 1;
      else hi = mid;
    }
    this.items.splice(lo, 0, n);
  }
  shift(): string | undefined {
    return this.items.shift();
  }
  get size(): number {
    return this.items.length;
  }
}

function requireStage(g: Graph, name: string): void {
  if (!g.stages.has(name)) {
    throw new RvcError('STAGE_NOT_FOUND', `no stage named '${name}'`, { hint: 'run `rvc dag` to list the stages' });
  }
}

/**
 * Topological order of `subset` (all stages by default): upstream first; among stages that are
 * ready at the same time, the smallest name first.
 */
export function topoOrder(g: Graph, subset?: Iterable<string>): string[] {
  const inSet = new Set(subset ?? g.names);
  for (const n of inSet) requireStage(g, n);
  const pending = new Map<string, number>();
  const q = new NameQueue();
  for (const n of inSet) {
    const k = g.parents.get(n)!.filter((p) => inSet.has(p)).length;
    pending.set(n, k);
    if (k === 0) q.push(n);
  }
  const out: string[] = [];
  while (q.size > 0) {
    const n = q.shift()!;
    out.push(n);
    for (const c of g.children.get(n)!) {
      if (!inSet.has(c)) continue;
      const k = pending.get(c)! - 1;
      pending.set(c, k);
      if (k === 0) q.push(c);
    }
  }
  return out;
}

function reach(g: Graph, start: string, next: ReadonlyMap<string, readonly string[]>): string[] {
  requireStage(g, start);
  const seen = new Set<string>();
  const todo = [...next.get(start)!];
  while (todo.length > 0) {
    const n = todo.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    for (const m of next.get(n)!) todo.push(m);
  }
  return [...seen].sort(compareStrings);
}

/** Stages `target` depends on, directly or not (not including it), sorted by name. */
export function ancestors(g: Graph, target: string): string[] {
  return reach(g, target, g.parents);
}

/** Stages that depend on `target`, directly or not (not including it), sorted by name. */
export function descendants(g: Graph, target: string): string[] {
  return reach(g, target, g.children);
}

export interface SelectOptions {
  /** The targets and what depends on them (`--downstream`), instead of what they depend on. */
  downstream?: boolean;
  /** Only the targets themselves (`--single-item`). */
  single?: boolean;
}

/**
 * The stages a command on `targets` touches, in topological order: the targets with their
 * ancestors (default), with their descendants (downstream), or alone (single). No targets means
 * every stage.
 */
export function selectStages(g: Graph, targets: readonly string[], opts: SelectOptions = {}): string[] {
  if (targets.length === 0) return topoOrder(g);
  const set = new Set<string>();
  for (const t of targets) {
    requireStage(g, t);
    set.add(t);
    if (opts.single) continue;
    for (const n of opts.downstream ? descendants(g, t) : ancestors(g, t)) set.add(n);
  }
  return topoOrder(g, set);
}

/**
 * Stages grouped by depth: level 0 has no upstream stage in `subset`, level k depends on
 * something at level k−1. Stages in one level are independent of each other.
 */
export function levels(g: Graph, subset?: Iterable<string>): string[][] {
  const order = topoOrder(g, subset);
  const inSet = new Set(order);
  const depth = new Map<string, number>();
  const out: string[][] = [];
  for (const n of order) {
    let d = 0;
    for (const p of g.parents.get(n)!) if (inSet.has(p)) d = Math.max(d, depth.get(p)! + 1);
    depth.set(n, d);
    (out[d] ??= []).push(n);
  }
  return out.map((l) => l.sort(compareStrings));
}

export interface MissingDep {
  stage: string;
  path: string;
}

/**
 * Dependencies (and params files) no stage produces and that do not exist: the caller turns
 * them into errors before running anything. Sorted by stage, then path.
 */
export function missingDeps(g: Graph, exists: (repoPath: string) => boolean): MissingDep[] {
  const outPaths = [...g.producers.keys()].sort(compareStrings);
  const out: MissingDep[] = [];
  for (const name of g.names) {
    for (const dep of [...stageInputs(g.stages.get(name)!)].sort(compareStrings)) {
      if (producersTouching(dep, g.producers, outPaths).size > 0) continue;
      if (!exists(dep)) out.push({ stage: name, path: dep });
    }
  }
  return out;
}

/** The stage whose output is `repoPath` or contains it (for `rvc repro <path>`). */
export function producerOf(g: Graph, repoPath: string): string | undefined {
  for (const p of [repoPath, ...parentDirs(repoPath)]) {
    const s = g.producers.get(p);
    if (s !== undefined) return s;
  }
  return undefined;
}

/**
 * The graph of outputs (`dag --outs`): its nodes are the outputs of `subset`'s stages (all
 * stages by default), named by path, and an edge A → B means the stage writing B reads A (the
 * same path, a file inside A, or a folder holding A). The renderers draw it like the stage graph.
 */
export function outputGraph(g: Graph, subset?: Iterable<string>): Graph {
  const inSet = new Set(subset ?? g.names);
  const owner = new Map<string, string>();
  for (const [p, s] of g.producers) if (inSet.has(s)) owner.set(p, s);
  const names = [...owner.keys()].sort(compareStrings);
  const kids = new Map<string, Set<string>>(names.map((n) => [n, new Set<string>()]));
  const pars = new Map<string, Set<string>>(names.map((n) => [n, new Set<string>()]));
  for (const name of [...inSet].sort(compareStrings)) {
    const st = g.stages.get(name)!;
    const outs = allOutputs(st).map((o) => o.repoPath);
    for (const dep of stageInputs(st)) {
      for (const up of names) {
        if (up !== dep && !dep.startsWith(`${up}/`) && !up.startsWith(`${dep}/`)) continue;
        for (const o of outs) {
          if (o === up) continue;
          kids.get(up)!.add(o);
          pars.get(o)!.add(up);
        }
      }
    }
  }
  const sorted = (m: Map<string, Set<string>>) => new Map([...m].map(([k, v]) => [k, [...v].sort(compareStrings)] as const));
  return { stages: new Map(), names, children: sorted(kids), parents: sorted(pars), producers: owner };
}

// ---------------------------------------------------------------------------------------------
// renderers

export interface AsciiOptions {
  /** Box-drawing characters instead of plain ASCII. */
  unicode?: boolean;
}

/** Deeper than this, a subtree continues as a tree of its own below, so lines stay short. */
export const ASCII_MAX_DEPTH = 24;

/**
 * An indented tree for the terminal, one tree per stage with no upstream stage. A stage reached
 * a second time is shown with "(see above)" and not expanded again, so every stage and every
 * edge appears exactly once as an expanded line. Past ASCII_MAX_DEPTH levels a stage is shown
 * with "(continued below)" and expanded as a tree of its own after the current one; without
 * that a long chain would print a quadratic amount of indentation.
 *
 *     prepare
 *     +-- featurize
 *     |   `-- train
 *     `-- split
 *         `-- train (see above)
 */
export function renderAscii(g: Graph, opts: AsciiOptions = {}): string {
  const [tee, last, bar, gap] = opts.unicode ? ['├── ', '└── ', '│   ', '    '] : ['+-- ', '`-- ', '|   ', '    '];
  const lines: string[] = [];
  const expanded = new Set<string>();
  const deferred = new Set<string>();
  type Frame = { name: string; prefix: string; connector: string; childPrefix: string; depth: number };
  const roots = g.names.filter((n) => g.parents.get(n)!.length === 0);
  const pending = [...roots].reverse();
  // Iterative so a long chain of stages cannot overflow the stack.
  while (pending.length > 0) {
    const root = pending.pop()!;
    if (expanded.has(root)) continue;
    const stack: Frame[] = [{ name: root, prefix: '', connector: '', childPrefix: '', depth: 0 }];
    const later: string[] = [];
    while (stack.length > 0) {
      const f = stack.pop()!;
      if (expanded.has(f.name)) {
        lines.push(`${f.prefix}${f.connector}${f.name} (see above)`);
        continue;
      }
      if (f.depth > ASCII_MAX_DEPTH) {
        lines.push(`${f.prefix}${f.connector}${f.name} (continued below)`);
        if (!deferred.has(f.name)) {
          deferred.add(f.name);
          later.push(f.name);
        }
        continue;
      }
      expanded.add(f.name);
      lines.push(`${f.prefix}${f.connector}${f.name}`);
      const kids = g.children.get(f.name)!;
      for (let i = kids.length - 1; i >= 0; i--) {
        const isLast = i === kids.length - 1;
        stack.push({
          name: kids[i]!, prefix: f.childPrefix, connector: isLast ? last : tee,
          childPrefix: f.childPrefix + (isLast ? gap : bar), depth: f.depth + 1,
        });
      }
    }
    for (let i = later.length - 1; i >= 0; i--) pending.push(later[i]!);
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

function edgeList(g: Graph): [string, string][] {
  const out: [string, string][] = [];
  for (const n of g.names) for (const c of g.children.get(n)!) out.push([n, c]);
  return out;
}

/** Graphviz DOT: `rvc dag --dot | dot -Tsvg`. */
export function renderDot(g: Graph): string {
  const q = (s: string) => `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
  const lines = ['strict digraph rvc {', '  node [shape=box];'];
  for (const n of g.names) lines.push(`  ${q(n)};`);
  for (const [a, b] of edgeList(g)) lines.push(`  ${q(a)} -> ${q(b)};`);
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/** Mermaid flowchart, for Markdown that renders it (GitHub, GitLab). */
export function renderMermaid(g: Graph): string {
  const id = new Map(g.names.map((n, i) => [n, `s${i}`]));
  const label = (s: string) => `"${s.replace(/"/g, '#quot;')}"`;
  const lines = ['flowchart TD'];
  for (const n of g.names) lines.push(`  ${id.get(n)}[${label(n)}]`);
  for (const [a, b] of edgeList(g)) lines.push(`  ${id.get(a)} --> ${id.get(b)}`);
  return `${lines.join('\n')}\n`;
}
