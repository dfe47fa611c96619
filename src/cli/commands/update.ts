import { Command } from 'commander';
import { lazyAction, withGlobals } from '../context.js';

export function register(program: Command): void {
  withGlobals(program.command('update'), { json: true })
    .description('move imported data to the newest version of its source (or to another revision with --rev)')
    .argument('<targets...>', 'import pointer files, or the paths they track')
    .option('--rev <rev>', 'follow this branch, tag or commit of the source from now on')
    .option('-f, --force', 'overwrite workspace changes that are not in the cache')
    .action(lazyAction(() => import('../actions/update.js'), 'runUpdate'));
}
