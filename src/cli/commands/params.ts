import { Command } from 'commander';
import { lazyAction, withGlobals } from '../context.js';

export function register(program: Command): void {
  const params = program.command('params').description('compare the params of the params files between git revisions and the workspace');
  withGlobals(params.command('diff'), { json: true })
    .description('params of the params files stages read that differ between two revisions (default: HEAD and the workspace)')
    .argument('[a_rev]', 'the old side (default HEAD)')
    .argument('[b_rev]', 'the new side (default: the workspace)')
    .option('-a, --all', 'list unchanged params too')
    .option('--deps', 'only the params stages depend on (default: every param of their params files)')
    .option('--md', 'print a Markdown table')
    .action(lazyAction(() => import('../actions/params.js'), 'runParamsDiff'));
}
