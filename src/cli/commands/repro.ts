import { Command } from 'commander';
import { lazyAction, withGlobals, parseJobs } from '../context.js';

export function register(program: Command): void {
  withGlobals(program.command('repro'), { json: true })
    .description('run the stages whose inputs changed, upstream first, and record them in the rvc.lock beside their rvc.yaml')
    .argument('[targets...]', 'stages (`train`, `sub/rvc.yaml:train`, `sub:train`), foreach groups, pipeline files or output paths (default: the pipelines in this folder and below)')
    .option('-P, --all-pipelines', 'every pipeline of the project, wherever you are')
    .option('-R, --recursive', 'a folder target means every pipeline file in it and below')
    .option('-f, --force', 'run the selected stages even if nothing changed, and delete outputs holding content saved nowhere')
    .option('-s, --single-item', 'only the targets, not the stages they depend on')
    .option('--downstream', 'the targets and every stage that depends on them')
    .option('--dry', 'show what would run, and why; run nothing')
    .option('--dry-run', 'the same as --dry')
    .option('-k, --keep-going', 'after a failure, go on with stages that do not depend on it')
    .option('-j, --jobs <n>', 'run up to N independent stages at once', parseJobs)
    .option('--no-run-cache', 'always run commands; never restore outputs from earlier runs')
    .option('--pull', 'first download missing data from the remote: missing dependencies tracked by pointers, outputs of stages that only miss data, and run-cache entries with their outputs')
    .option('-r, --remote <name>', 'with --pull: the remote to download from (default: the default remote)')
    .option('--allow-missing', 'skip stages whose only change is missing data (outputs, or recorded dependencies, not in the workspace or cache)')
    .option('--no-commit', 'record the runs in rvc.lock but store no output in the cache (`rvc commit` stores them later)')
    .option('--force-downstream', 'once a stage runs, also run every stage downstream of it, changed or not')
    .option('-i, --interactive', 'ask before running each stage (answers are read from stdin when it is not a terminal; end of input means no)')
    .action(lazyAction(() => import('../actions/repro.js'), 'runRepro'));
}
