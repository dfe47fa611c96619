import { Command } from 'commander';
import { lazyAction, withGlobals } from '../context.js';

export function register(program: Command): void {
  withGlobals(program.command('install'), { json: true })
    .description('install git hooks (post-checkout/post-merge: rvc checkout, pre-push: rvc push) and the merge driver for .rvc and rvc.lock')
    .option('--uninstall', 'remove the hooks, merge driver and .gitattributes lines rvc installed')
    .action(lazyAction(() => import('../actions/install.js'), 'runInstall'));
}
