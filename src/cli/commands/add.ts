import { Command } from 'commander';
import { lazyAction, withGlobals } from '../context.js';

export function register(program: Command): void {
  withGlobals(program.command('add'), { json: true })
    .description('track files or folders: store their content in the cache and write <path>.rvc pointers')
    .argument('<paths...>', 'files or folders inside the repository (with -o: one source, anywhere)')
    .option('--no-commit', 'write the pointer only; store the data later with `rvc commit`')
    .option('--desc <text>', 'a description kept in the pointer file')
    .option('--glob', 'the paths are glob patterns (quote them), expanded in the workspace; each match is added')
    .option('-o, --out <path>', 'copy the one source given to this path in the workspace (into it, if a folder) and track it there')
    .action(lazyAction(() => import('../actions/add.js'), 'runAdd'));
}
