import { Command } from 'commander';
import { lazyAction, withGlobals } from '../context.js';

export function register(program: Command): void {
  withGlobals(program.command('init'))
    .description('create an rvc repository (.rvc/ and .rvcignore) in the current folder')
    .option('--no-scm', 'use rvc without git')
    .option('-f, --force', 're-initialise an existing repository (the cache is kept)')
    .option('--hash <algo>', 'hash algorithm for objects: blake3 (default) or sha256')
    .action(lazyAction(() => import('../actions/init.js'), 'runInit'));
}
