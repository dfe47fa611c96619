import { Command } from 'commander';
import { lazyAction, withGlobals } from '../context.js';

export function register(program: Command): void {
  withGlobals(program.command('version'), { json: true })
    .description('show versions of rvc, Node and the platform, and which cache link types work here')
    .action(lazyAction(() => import('../actions/version.js'), 'runVersion'));
}
