import { Command } from 'commander';
import { lazyAction, parseJobs, withGlobals } from '../context.js';
import { scopeOptions } from '../scope.js';

export function register(program: Command): void {
  scopeOptions(withGlobals(program.command('fsck'), { json: true }), 'with --cloud, also check the data recorded')
    .description('re-hash every cache object and report corrupt ones; with --cloud, the remote\'s copies of the data in scope')
    .option('--repair', 'remove corrupt objects and leftovers of interrupted writes (with --cloud: from the remote, replacing damaged packs)')
    .option('-c, --cloud', 'check the remote instead: download and re-hash the objects the workspace (and the scope) uses')
    .option('-r, --remote <name>', 'remote for --cloud (default: core.remote)')
    .option('-j, --jobs <n>', 'concurrent downloads for --cloud (default: the remote\'s jobs)', parseJobs)
    .action(lazyAction(() => import('../actions/fsck.js'), 'runFsck'));
}
