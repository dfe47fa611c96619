import { Command } from 'commander';
import { lazyAction, withGlobals } from '../context.js';
import { targetOptions } from '../scope.js';

export function register(program: Command): void {
  targetOptions(withGlobals(program.command('checkout'), { json: true }), {})
    .description('make the workspace match the pointers and rvc.lock (e.g. after `git checkout`)')
    .argument('[targets...]', 'pointer files, tracked paths, files inside a tracked folder, stage outputs or stage names (default: all)')
    .option('-f, --force', 'overwrite or delete workspace changes that are not in the cache')
    .option('--relink', 're-create every file with the configured link type')
    .action(lazyAction(() => import('../actions/checkout.js'), 'runCheckout'));
}
