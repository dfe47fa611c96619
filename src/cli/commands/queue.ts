import { Command } from 'commander';
import { lazyAction, parseJobs, withGlobals } from '../context.js';

export function register(program: Command): void {
  const queue = program.command('queue').description('run queued experiments (`rvc exp run --queue`) in the background, each in an isolated copy of the workspace');

  withGlobals(queue.command('start'), { json: true })
    .description('start a background worker that runs the queued experiments and ends when the queue is empty; it survives the terminal closing')
    .option('-j, --jobs <n>', 'experiments run at once', parseJobs)
    .action(lazyAction(() => import('../actions/queue.js'), 'runQueueStart'));

  withGlobals(queue.command('status'), { json: true })
    .description('list the queued, running, failed and finished experiments, and the workers')
    .action(lazyAction(() => import('../actions/queue.js'), 'runQueueStatus'));

  withGlobals(queue.command('logs'))
    .description('print what a queued experiment printed')
    .argument('<exp>', 'its id (or a prefix), its name, or the name of the experiment it saved')
    .option('-f, --follow', 'keep printing until the run ends')
    .action(lazyAction(() => import('../actions/queue.js'), 'runQueueLogs'));

  withGlobals(queue.command('stop'), { json: true })
    .description('stop the background workers: queued experiments stay queued, running ones finish (unless --kill)')
    .option('--kill', 'also kill the experiments running now')
    .action(lazyAction(() => import('../actions/queue.js'), 'runQueueStop'));

  withGlobals(queue.command('kill'), { json: true })
    .description('kill running experiments (their commands included); they are marked failed')
    .argument('<exp...>', 'ids, names, or names of the experiments they save')
    .action(lazyAction(() => import('../actions/queue.js'), 'runQueueKill'));

  withGlobals(queue.command('remove'), { json: true })
    .description('remove entries from the queue: their logs, and the copies kept of failed runs')
    .argument('[exp...]', 'ids, names, or names of the experiments they saved')
    .option('--all', 'every entry that is not running')
    .option('--queued', 'entries still waiting')
    .option('--failed', 'failed runs')
    .option('--success', 'successful runs (their experiments stay)')
    .action(lazyAction(() => import('../actions/queue.js'), 'runQueueRemove'));
}
