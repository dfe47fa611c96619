import { markdownTable } from 'markdown-table';
import { fmtValue } from './repro.js';
import type { Ctx } from '../context.js';

/** Left-aligned columns separated by two spaces; the header is part of `rows`. */
export function table(rows: string[][]): string {
  // Loops, not Math.max(...column): spreading 125,000 rows as arguments overflows the stack.
  const widths = rows[0]!.map(() => 0);
  for (const r of rows) {
    for (let i = 0; i < widths.length; i++) widths[i] = Math.max(widths[i]!, (r[i] ?? '').length);
  }
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

/** `table`, or a GitHub-flavoured Markdown table with `--md` (pipes in cells escaped). */
export function renderTable(rows: string[][], md: boolean): string {
  if (!md) return table(rows);
  return `${markdownTable(rows.map((r) => r.map((c) => c.replaceAll('|', '\\|'))))}\n`;
}

export async function runParamsDiff({ lib, out, flags, common }: Ctx, a: string | undefined, b: string | undefined) {
  const r = await lib.paramsDiff({ ...common, ...(a ? { a } : {}), ...(b ? { b } : {}), all: !!flags.all, deps: !!flags.deps });
  if (flags.json) return out.json(r);
  if (r.changes.length === 0) return out.info(`No params changed between ${r.a} and ${r.b}.`);
  const rows = [['Path', 'Param', r.a, r.b], ...r.changes.map((c) => [c.file, c.key, fmtValue(c.old), fmtValue(c.new)])];
  if (!flags.quiet) process.stdout.write(renderTable(rows, !!flags.md));
}
