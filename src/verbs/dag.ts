import { buildGraph, renderAscii, renderDot, renderMermaid, selectStages } from '../model/dag.js';
import { Repo, type CommonOptions } from '../repo/repo.js';
import { loadProject, resolveStageTargets } from '../repo/project.js';

export interface DagOptions extends CommonOptions {
  /** Show only this stage with what it depends on (or, with downstream, what depends on it). */
  target?: string;
  downstream?: boolean;
  format?: 'ascii' | 'dot' | 'mermaid';
}

export interface DagResult {
  stages: string[];
  edges: [string, string][];
  text: string;
}

/** `rvc dag`: the stage graph as a terminal tree, Graphviz DOT or Mermaid. */
export function dag(opts: DagOptions = {}): DagResult {
  const repo = Repo.open(opts.cwd);
  const project = loadProject(repo);
  let g = project.graph;
  if (opts.target) {
    const names = selectStages(g, resolveStageTargets(project, [opts.target], opts.cwd ?? process.cwd()), opts.downstream ? { downstream: true } : {});
    g = buildGraph(names.map((n) => g.stages.get(n)!));
  }
  const text = opts.format === 'dot' ? renderDot(g) : opts.format === 'mermaid' ? renderMermaid(g) : renderAscii(g, { unicode: false });
  const edges: [string, string][] = [];
  for (const n of g.names) for (const c of g.children.get(n)!) edges.push([n, c]);
  return { stages: [...g.names], edges, text };
}
