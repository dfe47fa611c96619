import { buildGraph, outputGraph, renderAscii, renderDot, renderMermaid, selectStages } from '../model/dag.js';
import { Repo, type CommonOptions } from '../repo/repo.js';
import { loadProject, resolveStageTargets } from '../repo/project.js';

export interface DagOptions extends CommonOptions {
  /** Show only this stage with what it depends on (or, with downstream, what depends on it). */
  target?: string;
  downstream?: boolean;
  /** `md`: the Mermaid flowchart in a fenced ```mermaid block, for Markdown files. */
  format?: 'ascii' | 'dot' | 'mermaid' | 'md';
  /** The graph of outputs instead of stages (`--outs`): nodes are output paths. */
  outs?: boolean;
}

export interface DagResult {
  /** The nodes: stage names, or output paths with `outs`. */
  stages: string[];
  edges: [string, string][];
  text: string;
}

/** `rvc dag`: the stage graph (or the graph of outputs) as a terminal tree, Graphviz DOT, Mermaid, or Mermaid in Markdown. */
export function dag(opts: DagOptions = {}): DagResult {
  const repo = Repo.open(opts.cwd);
  const project = loadProject(repo);
  let g = project.graph;
  if (opts.target) {
    const names = selectStages(g, resolveStageTargets(project, [opts.target], opts.cwd ?? process.cwd()), opts.downstream ? { downstream: true } : {});
    g = buildGraph(names.map((n) => g.stages.get(n)!));
  }
  if (opts.outs) g = outputGraph(g);
  const text = opts.format === 'dot' ? renderDot(g)
    : opts.format === 'mermaid' ? renderMermaid(g)
      : opts.format === 'md' ? `\`\`\`mermaid\n${renderMermaid(g)}\`\`\`\n`
        : renderAscii(g, { unicode: false });
  const edges: [string, string][] = [];
  for (const n of g.names) for (const c of g.children.get(n)!) edges.push([n, c]);
  return { stages: [...g.names], edges, text };
}
