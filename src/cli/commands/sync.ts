import { Command } from 'commander';
import { lazyAction, withGlobals, parseJobs } from '../context.js';
import { scopeOptions, targetOptions } from '../scope.js';

function syncOptions(cmd: Command, verb: string): Command {
  return targetOptions(scopeOptions(cmd, `also ${verb} the data recorded`))
    .argument('[targets...]', 'pointer files, tracked paths, files inside a tracked folder, stage outputs or stage names (default: all)')
    .option('-r, --remote <name>', 'remote to use (default: core.remote)')
    .option('--run-cache', 'also transfer the run-cache (earlier runs of pipeline stages and their outputs)')
    .option('-j, --jobs <n>', 'concurrent transfers (default: the remote\'s jobs, 4 × cores)', parseJobs);
}

export function register(program: Command): void {
  syncOptions(withGlobals(program.command('push'), { json: true }), 'push')
    .description('upload the cache objects of tracked data to a remote (only what it lacks)')
    .action(lazyAction(() => import('../actions/sync.js'), 'runPush'));
  syncOptions(withGlobals(program.command('fetch'), { json: true }), 'fetch')
    .description('download missing cache objects of tracked data from a remote (the workspace is not changed)')
    .action(lazyAction(() => import('../actions/sync.js'), 'runFetch'));
  syncOptions(withGlobals(program.command('pull'), { json: true }), 'pull')
    .description('fetch, then checkout: get the data of the current pointers into the workspace')
    .option('-f, --force', 'overwrite workspace changes that are not in the cache')
    .action(lazyAction(() => import('../actions/sync.js'), 'runPull'));
}
