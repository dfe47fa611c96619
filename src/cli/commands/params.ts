import { Command } from 'commander';
import { markdownTable } from 'markdown-table';
import { action, withGlobals } from '../context.js';
import { fmtValue } from './repro.js';

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

export function register(program: Command): void {
  const params = program.command('params').description('compare the params of the params files between git revisions and the workspace');
  withGlobals(params.command('diff'), { json: true })
    .description('params of the params files stages read that differ between two revisions (default: HEAD and the workspace)')
    .argument('[a_rev]', 'the old side (default HEAD)')
    .argument('[b_rev]', 'the new side (default: the workspace)')
    .option('-a, --all', 'list unchanged params too')
    .option('--deps', 'only the params stages depend on (default: every param of their params files)')
    .option('--md', 'print a Markdown table')
    .action(action(async ({ lib, out, flags, common }, a: string | undefined, b: string | undefined) => {
      const r = await lib.paramsDiff({ ...common, ...(a ? { a } : {}), ...(b ? { b } : {}), all: !!flags.all, deps: !!flags.deps });
      if (flags.json) return out.json(r);
      if (r.changes.length === 0) return out.info(`No params changed between ${r.a} and ${r.b}.`);
      const rows = [['Path', 'Param', r.a, r.b], ...r.changes.map((c) => [c.file, c.key, fmtValue(c.old), fmtValue(c.new)])];
      if (!flags.quiet) process.stdout.write(renderTable(rows, !!flags.md));
    }));
}
