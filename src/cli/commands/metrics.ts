import { Command, InvalidArgumentError } from 'commander';
import { action, withGlobals } from '../context.js';
import { EXIT } from '../exit.js';
import { fmtValue } from './repro.js';
import { renderTable } from './params.js';
import { gridFormat, renderGrid } from './grid.js';

/** Digits after the decimal point metrics are rounded to when printed, as in DVC. */
export const DEFAULT_PRECISION = 5;

export function parsePrecision(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 100) throw new InvalidArgumentError(`a whole number from 0 to 100 is needed, not '${v}'`);
  return n;
}

/** A count option (`-n`): a positive whole number. */
export function parseCount(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError(`a positive whole number is needed, not '${v}'`);
  return Number(v);
}

/** A metric as printed: numbers that are not integers rounded to `precision` decimal places. */
export function fmtMetric(v: unknown, precision: number): string {
  if (typeof v === 'number' && Number.isFinite(v) && !Number.isInteger(v)) return String(Number(v.toFixed(precision)));
  return fmtValue(v);
}

export function fmtChange(n: number | undefined, precision: number): string {
  if (n === undefined) return '-';
  const s = fmtMetric(n, precision);
  return n > 0 ? `+${s}` : s;
}

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
    .action(action(async ({ lib, out, flags, common }, targets: string[]) => {
      const rev = flags.rev as string | undefined;
      const precision = (flags.precision as number | undefined) ?? DEFAULT_PRECISION;
      const r = await lib.metricsShow({
        ...common, ...(rev ? { rev } : {}), ...(targets.length ? { targets } : {}),
        ...(flags.allBranches ? { allBranches: true } : {}), ...(flags.allTags ? { allTags: true } : {}), ...(flags.allCommits ? { allCommits: true } : {}),
        ...(flags.num !== undefined ? { num: flags.num as number } : {}),
      });
      if (r.revisions) {
        const failed = r.revisions.some((x) => x.errors.length);
        if (flags.json) {
          out.json({ revisions: r.revisions });
          return failed ? EXIT.FAILURE : EXIT.OK;
        }
        for (const x of r.revisions) for (const e of x.errors) out.warn(`${x.label}: ${e.message}`);
        const cols = [...new Set(r.revisions.flatMap((x) => Object.entries(x.values).flatMap(([f, v]) => Object.keys(v).map((k) => `${f}:${k}`))))].sort();
        const rows = [['Revision', ...cols], ...r.revisions.map((x) => [x.label, ...cols.map((c) => {
          // A column is `file:key`; keys may hold ':' only after the file's name, so split at the file.
          const file = Object.keys(x.values).find((f) => c.startsWith(`${f}:`));
          const v = file === undefined ? undefined : x.values[file]![c.slice(file.length + 1)];
          return v === undefined ? '-' : fmtMetric(v, precision);
        })])];
        if (!flags.quiet) process.stdout.write(renderGrid(rows, gridFormat(flags)));
        return EXIT.OK;
      }
      if (flags.json) {
        out.json({ metrics: r.values, errors: r.errors });
        return r.errors.length ? EXIT.FAILURE : EXIT.OK;
      }
      for (const e of r.errors) out.error(e.message, ...(e.hint && targets.length ? [e.hint] : []));
      if (r.files.length === 0) {
        out.info('No metrics files in rvc.yaml. Declare them with `metrics:` in a stage (or `rvc stage add -m`) or at the top level.');
        return EXIT.OK;
      }
      const rows = [['Path', 'Metric', 'Value']];
      for (const [file, vals] of Object.entries(r.values)) for (const [k, v] of Object.entries(vals)) rows.push([file, k, fmtMetric(v, precision)]);
      if (rows.length > 1 && !flags.quiet) process.stdout.write(renderTable(rows, !!flags.md));
      return r.errors.length ? EXIT.FAILURE : EXIT.OK;
    }));

  withGlobals(metrics.command('diff'), { json: true })
    .description('metrics that differ between two revisions (default: HEAD and the workspace)')
    .argument('[a_rev]', 'the old side (default HEAD)')
    .argument('[b_rev]', 'the new side (default: the workspace)')
    .option('-a, --all', 'list unchanged metrics too')
    .option('--md', 'print a Markdown table')
    .option('--precision <n>', `round numbers to n digits after the decimal point (default ${DEFAULT_PRECISION})`, parsePrecision)
    .action(action(async ({ lib, out, flags, common }, a: string | undefined, b: string | undefined) => {
      const precision = (flags.precision as number | undefined) ?? DEFAULT_PRECISION;
      const r = await lib.metricsDiff({ ...common, ...(a ? { a } : {}), ...(b ? { b } : {}), all: !!flags.all });
      if (flags.json) return out.json(r);
      for (const e of r.errors) out.warn(e.message);
      if (r.changes.length === 0) return out.info(`No metrics changed between ${r.a} and ${r.b}.`);
      const rows = [['Path', 'Metric', r.a, r.b, 'Change'], ...r.changes.map((c) => [c.path, c.key, fmtMetric(c.old, precision), fmtMetric(c.new, precision), fmtChange(c.change, precision)])];
      if (!flags.quiet) process.stdout.write(renderTable(rows, !!flags.md));
    }));
}
