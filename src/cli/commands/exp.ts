import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_PRECISION, lazyAction, parseCount, parseJobs, parsePrecision, withGlobals } from '../context.js';

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

export function register(program: Command): void {
  const exp = program.command('exp').alias('experiments').description('run, compare and keep experiments: pipeline runs saved as commits under refs/exps/, never on a branch');

  withGlobals(exp.command('run'), { json: true })
    .description('run the pipeline with parameter overrides and save the result as an experiment of HEAD')
    .argument('[targets...]', 'stages or outputs to reproduce (default: every stage)')
    .option('-S, --set-param <[file:]key=value>', 'override a parameter (YAML-typed value); `a=1,2` runs once per value; `+key=v` adds a new key', collect, [])
    .option('-n, --name <name>', 'name of the experiment (default: a generated one)')
    .option('-m, --message <text>', 'first line of the experiment commit message')
    .option('-f, --force', 'run even when an identical experiment exists; replace one of the same name')
    .option('--queue', 'add the run(s) to the queue instead of running now (see `rvc queue`)')
    .option('--temp', 'run now in an isolated copy of the workspace, leaving the workspace as it is')
    .option('--run-all', 'run every queued experiment now, in the foreground')
    .option('-j, --jobs <n>', 'with --run-all or --temp: experiments run at once', parseJobs)
    .action(lazyAction(() => import('../actions/exp.js'), 'runExpRun'));
  registerCore(exp);
  registerShow(exp);
  registerShare(exp);
}

/** exp save, list, remove, rename, branch, clean, apply, diff. */
function registerCore(exp: Command): void {
  withGlobals(exp.command('save'), { json: true })
    .description('record the workspace as it is (params, code, pointers, rvc.lock, metrics) as an experiment of HEAD, without running anything')
    .option('-n, --name <name>', 'name of the experiment (default: a generated one)')
    .option('-m, --message <text>', 'first line of the experiment commit message')
    .option('-f, --force', 'replace an experiment of HEAD with the same name')
    .option('-I, --include-untracked <path>', 'also record this path even though git ignores it (repeatable)', collect, [])
    .action(lazyAction(() => import('../actions/exp.js'), 'runExpSave'));

  withGlobals(exp.command('list').alias('ls'), { json: true })
    .description("list experiments: HEAD's by default, every baseline's with -A; those a git remote holds when one is named")
    .argument('[git-remote]', 'a git remote (name or URL): list the experiments it holds (`git ls-remote`)')
    .option('-A, --all-commits', 'the experiments of every baseline, grouped by baseline')
    .option('--rev <rev>', 'the experiments of this revision instead of HEAD')
    .option('--name-only', 'only the names, one a line')
    .action(lazyAction(() => import('../actions/exp.js'), 'runExpList'));

  withGlobals(exp.command('remove').alias('rm'), { json: true })
    .description('delete experiments (their data stays in the cache until `rvc gc`)')
    .argument('[experiments...]', 'experiments by name, ref or commit id')
    .option('-A, --all', 'every experiment of every baseline')
    .option('--rev <rev>', 'every experiment of this baseline (repeatable)', collect, [])
    .option('--queue', 'remove the queued experiments that have not started (as `rvc queue remove --queued`)')
    .option('-g, --git-remote <remote>', 'delete them from this git remote instead (with -A: every experiment it holds)')
    .action(lazyAction(() => import('../actions/exp.js'), 'runExpRemove'));

  withGlobals(exp.command('rename'), { json: true })
    .description('give an experiment another name (refused when its baseline has that name)')
    .argument('<experiment>', 'the experiment')
    .argument('<name>', 'its new name')
    .action(lazyAction(() => import('../actions/exp.js'), 'runExpRename'));

  withGlobals(exp.command('branch'), { json: true })
    .description("create a git branch at an experiment's commit (refused when the branch exists)")
    .argument('<experiment>', 'the experiment')
    .argument('<branch>', 'the new branch')
    .action(lazyAction(() => import('../actions/exp.js'), 'runExpBranch'));

  withGlobals(exp.command('clean'), { json: true })
    .description('remove what killed experiment runs left: stale private index files and copies whose process is gone')
    .action(lazyAction(() => import('../actions/exp.js'), 'runExpClean'));

  withGlobals(exp.command('apply'), { json: true })
    .description("write an experiment's params, code and outputs into the workspace (not the index, not HEAD)")
    .argument('<experiment>', 'the experiment')
    .option('-f, --force', 'overwrite unsaved edits in the files the experiment changes')
    .option('-r, --remote <name>', 'remote to fetch missing outputs from (default: core.remote)')
    .action(lazyAction(() => import('../actions/exp.js'), 'runExpApply'));

  withGlobals(exp.command('diff'), { json: true })
    .description('params and metrics of two experiments (default: an experiment and its baseline; no argument: HEAD and the workspace)')
    .argument('[a]', 'the old side: an experiment or revision (alone, an experiment is compared with its baseline)')
    .argument('[b]', 'the new side (default: the workspace)')
    .option('-a, --all', 'list unchanged params and metrics too')
    .option('--md', 'print Markdown tables')
    .option('--precision <n>', `round numbers to n digits after the decimal point (default ${DEFAULT_PRECISION})`, parsePrecision)
    .action(lazyAction(() => import('../actions/exp.js'), 'runExpDiff'));
}


function registerShow(exp: Command): void {
  withGlobals(exp.command('show'), { json: true })
    .description('a table of the baseline(s) and their experiments with every metric and param; those a git remote holds when one is named')
    .argument('[git-remote]', 'a git remote (name or URL): show the experiments it holds (their commits are fetched, no ref is written)')
    .option('-a, --all-branches', 'the tip of every local branch as a baseline')
    .option('-T, --all-tags', 'every tag as a baseline')
    .option('-A, --all-commits', 'every commit as a baseline')
    .option('-n, --num <n>', 'the last n commits of HEAD as baselines', parseCount)
    .option('--csv', 'print CSV')
    .option('--md', 'print a Markdown table')
    .option('--sort-by <column>', 'sort the experiments of each baseline by a metric or param (`metrics.json:acc`, or `acc` when unambiguous)')
    .option('--sort-order <order>', 'asc or desc (default asc)', (v: string) => {
      if (v !== 'asc' && v !== 'desc') throw new InvalidArgumentError(`asc or desc, not '${v}'`);
      return v;
    })
    .option('--only-changed', 'leave out the columns whose value is the same in every row')
    .option('--keep <regex>', 'always show the columns whose name matches (over --drop and --only-changed)')
    .option('--drop <regex>', 'leave out the columns whose name matches')
    .option('--precision <n>', `round numbers to n digits after the decimal point (default ${DEFAULT_PRECISION})`, parsePrecision)
    .option('--replicates <key>', 'a param that only repeats a run (e.g. seed; repeatable; default: config exp.replicates): experiments differing only in it are one row with n, mean ± std and 95 % interval', collect)
    .action(lazyAction(() => import('../actions/exp.js'), 'runExpShow'));
}

function shareOptions(cmd: Command): Command {
  return cmd
    .argument('<git-remote>', 'a git remote (name or URL)')
    .argument('[experiments...]', 'experiment names, refs or commit prefixes')
    .option('-A, --all', 'every experiment')
    .option('--no-cache', 'only the git refs: no data to or from the rvc remote')
    .option('-r, --remote <name>', 'rvc remote for the data (default: core.remote)')
    .option('--run-cache', 'also transfer the run-cache')
    .option('-f, --force', 'replace experiment refs of the same name that point elsewhere')
    .option('-j, --jobs <n>', 'concurrent transfers', parseJobs);
}

function registerShare(exp: Command): void {
  shareOptions(withGlobals(exp.command('push'), { json: true }))
    .description('send experiments to a git remote (their refs) and their data to the rvc remote')
    .action(lazyAction(() => import('../actions/exp.js'), 'runExpPush'));

  shareOptions(withGlobals(exp.command('pull'), { json: true }))
    .description('bring experiments from a git remote (their refs) and their data from the rvc remote')
    .action(lazyAction(() => import('../actions/exp.js'), 'runExpPull'));
}

