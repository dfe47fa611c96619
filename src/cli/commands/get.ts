import { Command } from 'commander';
import { lazyAction, withGlobals, parseJobs } from '../context.js';

export function register(program: Command): void {
  withGlobals(program.command('get'), { json: true })
    .description('write a tracked path as it was at a git revision to another place (the workspace, HEAD and the index are not touched); `rvc get <repo> <path>` copies from another repository')
    .argument('<path|repo>', 'a tracked path, or a file or folder inside a tracked folder; with two arguments: <repo> <path>, from another repository')
    .argument('[path]', 'with <repo> first: the path inside that repository (a local path or any URL git can clone)')
    .option('--rev <rev>', 'git revision (commit, branch, tag); default: the pointers in the workspace')
    .option('-o, --out <path>', 'destination (an existing folder receives it under its own name); default: its name in the current folder')
    .option('-f, --force', 'replace an existing destination')
    .option('-r, --remote <name>', 'remote to fetch objects the cache lacks from (default: core.remote)')
    .option('-j, --jobs <n>', 'concurrent transfers (another repository only)', parseJobs)
    .action(lazyAction(() => import('../actions/get.js'), 'runGet'));
}
