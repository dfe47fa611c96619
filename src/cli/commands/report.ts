import { Command } from 'commander';
import { lazyAction, withGlobals } from '../context.js';

export function register(program: Command): void {
  withGlobals(program.command('report'), { json: true })
    .description('the five-star reproducibility report: code, configuration, data, environment, evaluation, each with its evidence and the command that fixes it')
    .option('-o, --out <file>', 'write the report to this file (Markdown; JSON with --json) instead of printing it')
    .action(lazyAction(() => import('../actions/report.js'), 'runReport'));
}
