import { Command } from 'commander';
import { DEFAULT_PRECISION, lazyAction, parseCount, parsePrecision, withGlobals } from '../context.js';

export function register(program: Command): void {
  const metrics = program.command('metrics').description('show and compare the metrics files the pipeline files list');

  withGlobals(metrics.command('show'), { json: true })
    .description('metrics files and their values (default: every metrics file listed in rvc.yaml)')
    .argument('[targets...]', 'metrics files, declared in rvc.yaml or not, or folders holding declared ones')
    .option('--rev <rev>', 'show them as of a git revision instead of the workspace')
    .option('-a, --all-branches', 'one row per revision: the workspace and the tip of every local branch')
    .option('-T, --all-tags', 'one row per revision: the workspace and every tag')
    .option('-A, --all-commits', 'one row per revision: the workspace and every commit')
    .option('-n, --num <n>', 'one row per revision: the workspace and the last n commits of HEAD', parseCount)
    .option('--md', 'print a Markdown table')
    .option('--csv', 'print CSV (with one row per revision)')
    .option('--precision <n>', `round numbers to n digits after the decimal point (default ${DEFAULT_PRECISION})`, parsePrecision)
    .action(lazyAction(() => import('../actions/metrics.js'), 'runMetricsShow'));

  withGlobals(metrics.command('diff'), { json: true })
    .description('metrics that differ between two revisions (default: HEAD and the workspace)')
    .argument('[a_rev]', 'the old side (default HEAD)')
    .argument('[b_rev]', 'the new side (default: the workspace)')
    .option('-a, --all', 'list unchanged metrics too')
    .option('--md', 'print a Markdown table')
    .option('--precision <n>', `round numbers to n digits after the decimal point (default ${DEFAULT_PRECISION})`, parsePrecision)
    .action(lazyAction(() => import('../actions/metrics.js'), 'runMetricsDiff'));
}
