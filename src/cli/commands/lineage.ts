import { Command } from 'commander';
import { lazyAction, withGlobals } from '../context.js';
import { scopeOptions } from '../scope.js';

export function register(program: Command): void {
  scopeOptions(withGlobals(program.command('lineage'), { json: true }), 'with --uses: look')
    .description('the provenance of an output at a revision (stages, commands, code, params, data versions, environment, who and when), or with --uses the commits built from a data version')
    .argument('[output]', 'a stage output or tracked path (forward lineage)')
    .option('--uses <path>', 'reverse: list the commits whose stages were built from this data')
    .option('--oid <oid>', 'with --uses: the data version (default: the one the workspace records)')
    .option('--dot', 'print the lineage as Graphviz DOT')
    .option('--mermaid', 'print the lineage as a Mermaid flowchart')
    .action(lazyAction(() => import('../actions/lineage.js'), 'runLineage'));
}
