import { renderTable } from './params.js';

/** How a table over revisions is printed: aligned text, Markdown or CSV. */
export type GridFormat = 'table' | 'md' | 'csv';

/** The format the flags ask for (`--md`, `--csv`; default aligned text). */
export function gridFormat(flags: Record<string, unknown>): GridFormat {
  return flags.csv ? 'csv' : flags.md ? 'md' : 'table';
}

/** One CSV field (RFC 4180): quoted when it holds a comma, quote or line break. */
function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** The rows (header first) in the format. */
export function renderGrid(rows: string[][], format: GridFormat): string {
  if (format === 'csv') return rows.map((r) => r.map(csvField).join(',')).join('\n') + '\n';
  return renderTable(rows, format === 'md');
}
