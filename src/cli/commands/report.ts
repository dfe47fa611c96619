import { Command } from 'commander';
import { action, withGlobals } from '../context.js';

export function register(program: Command): void {
  withGlobals(program.command('report'), { json: true })
    .description('the five-star reproducibility report: code, configuration, data, environment, evaluation, each with its evidence and the command that fixes it')
    .option('-o, --out <file>', 'write the report to this file (Markdown; JSON with --json) instead of printing it')
    .action(action(async ({ lib, out, flags, common }) => {
      const r = await lib.report({ ...common, ...(flags.out !== undefined ? { output: String(flags.out), format: flags.json ? 'json' as const : 'md' as const } : {}) });
      if (r.written) return out.info(`${r.stars}/5 stars; report written to ${String(flags.out)}`);
      if (flags.json) return out.json(r);
      if (!flags.quiet) process.stdout.write(await lib.renderReportMarkdown(r));
    }));
}
