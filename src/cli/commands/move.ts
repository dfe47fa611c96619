import { Command } from 'commander';
import { lazyAction, withGlobals } from '../context.js';

export function register(program: Command): void {
  withGlobals(program.command('move').alias('mv'), { json: true })
    .description('rename tracked data together with its pointer file')
    .argument('<src>', 'tracked path or its pointer file')
    .argument('<dst>', 'new path (or an existing folder to move into)')
    .action(lazyAction(() => import('../actions/move.js'), 'runMove'));
}
