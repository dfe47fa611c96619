import { Command } from 'commander';
import { lazyAction, withGlobals } from '../context.js';
import { targetOptions } from '../scope.js';

export function register(program: Command): void {
  targetOptions(withGlobals(program.command('commit'), { json: true }), {})
    .description('record the current workspace content of tracked data: update pointers, and rvc.lock for stage outputs edited by hand')
    .argument('[targets...]', 'pointer files, tracked paths, stage outputs or stage names (default: all; a stage with changed inputs only when named)')
    .action(lazyAction(() => import('../actions/commit.js'), 'runCommit'));
}
