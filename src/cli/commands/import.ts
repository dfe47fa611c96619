import { Command } from 'commander';
import { lazyAction, withGlobals, parseJobs } from '../context.js';

export function register(program: Command): void {
  withGlobals(program.command('import'), { json: true })
    .description('copy tracked data from another repository into this one and record where it came from (`rvc update` moves it later)')
    .argument('<repo>', 'a local path or any URL git can clone')
    .argument('<path>', 'tracked data in that repository, or a file or folder inside a tracked folder')
    .option('--rev <rev>', 'branch, tag or commit to follow (default: the source\'s HEAD)')
    .option('-o, --out <path>', 'where to put it in this repository (default: its name in the current folder)')
    .option('-f, --force', 'replace an existing pointer or workspace copy')
    .option('-j, --jobs <n>', 'concurrent transfers', parseJobs)
    .action(lazyAction(() => import('../actions/import.js'), 'runImport'));
}
