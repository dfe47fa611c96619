import { Command } from 'commander';
import { lazyAction, withGlobals } from '../context.js';

export function register(program: Command): void {
  withGlobals(program.command('ls').alias('list'), { json: true })
    .description('list the files git stores and the data rvc tracks in another repository (a local path or a git URL)')
    .argument('<repo>', 'a local path or any URL git can clone')
    .argument('[path]', 'a path inside that repository (default: its root)')
    .option('--rev <rev>', 'branch, tag or commit of that repository (default: its HEAD)')
    .option('-R, --recursive', 'list every file below the path, inside tracked folders too')
    .action(lazyAction(() => import('../actions/ls.js'), 'runLs'));
}
