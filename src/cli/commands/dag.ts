import { Command } from 'commander';
import { lazyAction, withGlobals } from '../context.js';

export function register(program: Command): void {
  withGlobals(program.command('dag'), { json: true })
    .description('show the stage graph of every pipeline file (a tree, Graphviz DOT or Mermaid)')
    .argument('[target]', 'show only this stage and the stages it depends on')
    .option('--downstream', 'with a target: the stages that depend on it instead')
    .option('--dot', 'print Graphviz DOT (`rvc dag --dot | dot -Tsvg > dag.svg`)')
    .option('--mermaid', 'print a Mermaid flowchart (renders in GitHub and GitLab Markdown)')
    .option('--md', 'print the Mermaid flowchart in a ```mermaid block, ready to paste into Markdown')
    .option('-o, --outs', 'show the graph of outputs (paths) instead of stages')
    .action(lazyAction(() => import('../actions/dag.js'), 'runDag'));
}
