import { Command } from 'commander';
import { lazyAction, withGlobals } from '../context.js';
import { scopeOptions, targetOptions } from '../scope.js';

export function register(program: Command): void {
  targetOptions(scopeOptions(withGlobals(program.command('status'), { json: true }), 'with --cloud: also compare the data recorded'))
    .description('show tracked data that changed in the workspace or is missing from the cache')
    .argument('[targets...]', 'pointer files, tracked paths, folders holding pointers, stage outputs or stage names (default: all)')
    .option('-c, --cloud', 'compare the cache with a remote instead of the workspace')
    .option('-r, --remote <name>', 'remote for --cloud (default: core.remote)')
    .action(lazyAction(() => import('../actions/status.js'), 'runStatus'));
}
