import { Command } from 'commander';
import { action, withGlobals } from '../context.js';
import { EXIT } from '../exit.js';
import { fmtValue } from './repro.js';
import { table } from './params.js';

function fmtChange(n: number | undefined): string {
  if (n === undefined) return '-';
  const s = Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(6)));
  return n > 0 ? `+${s}` : s;
}

export function register(program: Command): void {
  const metrics = program.command('metrics').description('show and compare the metrics files stages write');

  withGlobals(metrics.command('show'), { json: true })
    .description('the metrics files listed in rvc.yaml, with their values')
    .argument('[rev]', 'show them as of a git revision instead of the workspace')
    .action(action(async ({ lib, out, flags, common }, rev: string | undefined) => {
      const r = await lib.metricsShow({ ...common, ...(rev ? { rev } : {}) });
      if (flags.json) {
        out.json({ metrics: r.values, errors: r.errors });
        return r.errors.length ? EXIT.FAILURE : EXIT.OK;
      }
      for (const e of r.errors) out.error(e.message);
      if (r.files.length === 0) {
        out.info('No metrics files in rvc.yaml. Declare them with `metrics:` in a stage (or `rvc stage add -m`) or at the top level.');
        return EXIT.OK;
      }
      const rows = [['Path', 'Metric', 'Value']];
      for (const [file, vals] of Object.entries(r.values)) for (const [k, v] of Object.entries(vals)) rows.push([file, k, fmtValue(v)]);
      if (rows.length > 1 && !flags.quiet) process.stdout.write(table(rows));
      return r.errors.length ? EXIT.FAILURE : EXIT.OK;
    }));

  withGlobals(metrics.command('diff'), { json: true })
    .description('metrics that differ between two revisions (default: HEAD and the workspace)')
    .argument('[a_rev]', 'the old side (default HEAD)')
    .argument('[b_rev]', 'the new side (default: the workspace)')
    .option('-a, --all', 'list unchanged metrics too')
    .action(action(async ({ lib, out, flags, common }, a: string | undefined, b: string | undefined) => {
      const r = await lib.metricsDiff({ ...common, ...(a ? { a } : {}), ...(b ? { b } : {}), all: !!flags.all });
      if (flags.json) return out.json(r);
      for (const e of r.errors) out.warn(e.message);
      if (r.changes.length === 0) return out.info(`No metrics changed between ${r.a} and ${r.b}.`);
      const rows = [['Path', 'Metric', r.a, r.b, 'Change'], ...r.changes.map((c) => [c.path, c.key, fmtValue(c.old), fmtValue(c.new), fmtChange(c.change)])];
      if (!flags.quiet) process.stdout.write(table(rows));
    }));
}
