import { Command } from 'commander';
import { lazyAction, withGlobals } from '../context.js';

export function register(program: Command): void {
  withGlobals(program.command('unprotect'), { json: true })
    .description('turn linked workspace files into private writable copies, so they can be edited')
    .argument('<targets...>', 'tracked paths or files inside tracked folders')
    .action(lazyAction(() => import('../actions/unprotect.js'), 'runUnprotect'));
}
