import { Command } from 'commander';
import { lazyAction } from '../context.js';

/** Hidden: what the hook scripts `rvc install` writes run. */
export function register(program: Command): void {
  program.command('git-hook', { hidden: true })
    .description('run the work of an rvc git hook (called by the hook scripts `rvc install` writes)')
    .argument('<hook>', 'post-checkout | post-merge | pre-push')
    .argument('[args...]', 'the arguments git gave the hook')
    .option('--dir <dir>', 'the rvc project folder, relative to where git runs hooks')
    .option('-q, --quiet', 'print only errors')
    .option('-v, --verbose', 'print more detail')
    .action(lazyAction(() => import('../actions/git-hook.js'), 'runGitHook'));
}
