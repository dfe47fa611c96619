import { Command } from 'commander';
import { lazyAction, withGlobals } from '../context.js';

export function register(program: Command): void {
  withGlobals(program.command('diff'), { json: true })
    .description('files added, modified, deleted or renamed inside tracked data between two revisions (default: HEAD and the workspace\'s pointers)')
    .argument('[args...]', '[a_rev] [b_rev] [targets…]: up to two git revisions, then tracked paths to narrow the comparison')
    .option('-t, --targets <paths...>', 'tracked paths to compare (when a path could be read as a revision)')
    .option('-r, --remote <name>', 'remote to fetch missing manifests from (default: core.remote)')
    .action(lazyAction(() => import('../actions/diff.js'), 'runDiff'));
}
