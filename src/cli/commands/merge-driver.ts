import { Command } from 'commander';
import { lazyAction, withGlobals } from '../context.js';

/**
 * Hidden: git runs it as `merge.rvc.driver` (see `rvc install`). Exit 0 means %A holds the merge
 * result; exit 1 makes git report the path as conflicted, with %A left as our version.
 */
export function register(program: Command): void {
  withGlobals(program.command('merge-driver', { hidden: true }), { json: true })
    .description('git merge driver for .rvc pointers and rvc.lock (run by git, configured by `rvc install`)')
    .argument('<base>', 'the merge base version (%O)')
    .argument('<ours>', 'our version, replaced by the result (%A)')
    .argument('<theirs>', 'their version (%B)')
    .argument('<path>', 'the path being merged (%P)')
    .action(lazyAction(() => import('../actions/merge-driver.js'), 'runMergeDriver'));
}
