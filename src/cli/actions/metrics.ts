import { EXIT } from '../exit.js';
import { fmtValue } from './repro.js';
import { renderTable } from './params.js';
import { gridFormat, renderGrid } from './grid.js';
import { DEFAULT_PRECISION, type Ctx } from '../context.js';

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

export async function runMetricsShow({ lib, out, flags, common }: Ctx, targets: string[]) {
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
}

export async function runMetricsDiff({ lib, out, flags, common }: Ctx, a: string | undefined, b: string | undefined) {
  const precision = (flags.precision as number | undefined) ?? DEFAULT_PRECISION;
  const r = await lib.metricsDiff({ ...common, ...(a ? { a } : {}), ...(b ? { b } : {}), all: !!flags.all });
  if (flags.json) return out.json(r);
  for (const e of r.errors) out.warn(e.message);
  if (r.changes.length === 0) return out.info(`No metrics changed between ${r.a} and ${r.b}.`);
  const rows = [['Path', 'Metric', r.a, r.b, 'Change'], ...r.changes.map((c) => [c.path, c.key, fmtMetric(c.old, precision), fmtMetric(c.new, precision), fmtChange(c.change, precision)])];
  if (!flags.quiet) process.stdout.write(renderTable(rows, !!flags.md));
}
