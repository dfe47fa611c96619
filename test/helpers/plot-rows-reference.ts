/**
 * The row parser plot data files went through before the columnar one (src/plots/data.ts): one
 * object per row. Kept only as the reference the columnar parser's results are compared with
 * (test/unit/plots.test.ts); CSV/TSV only.
 */
import { RvcError } from '../../src/errors.js';

export type Row = Record<string, unknown>;
type Named = { rel: string; shown: string };

export function referenceRows(text: string, rel: string, header = true): Row[] {
  return parseDelimited(text, rel.endsWith('.tsv') ? '\t' : ',', { rel, shown: rel }, header);
}

/** CSV/TSV with RFC 4180 quoting; numbers become numbers. Without a header, columns are named 0, 1, …. */
function parseDelimited(text: string, sep: string, file: Named, header: boolean): Row[] {
  const lines = splitRecords(text.replace(/^\uFEFF/, ''), sep);
  if (lines.length === 0) return [];
  const names = header ? lines[0]!.map((n) => n.trim()) : lines[0]!.map((_, i) => String(i));
  const body = header ? lines.slice(1) : lines;
  return body.map((cells, i) => {
    if (cells.length !== names.length) {
      throw new RvcError('PLOT_INVALID', `row ${i + (header ? 2 : 1)} of '${file.shown}' has ${cells.length} fields, the header has ${names.length}`, { path: file.rel, line: i + (header ? 2 : 1) });
    }
    // No prototype: a column named __proto__ is a column like any other, and plain assignment stays fast.
    const row = Object.create(null) as Row;
    for (let j = 0; j < names.length; j++) row[names[j]!] = cellValue(cells[j]!);
    return row;
  });
}

/**
 * A cell as a number when it is one in decimal notation (`1`, `-2.5`, `.5`, `1e-3`), else the
 * text. `Number()` does the parsing; what it accepts beyond decimals (`0x1f`, `0b1`, `0o7`,
 * `Infinity`) stays text. Cheap checks first: this runs for every cell of every plot file.
 */
function cellValue(s: string): unknown {
  const t = s.length > 0 && (s.charCodeAt(0) <= 32 || s.charCodeAt(s.length - 1) <= 32) ? s.trim() : s;
  if (t === '') return s;
  const c = t.charCodeAt(0);
  // A decimal starts with a digit, a sign or a point.
  if (!((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46)) return s;
  const n = Number(t);
  if (!Number.isFinite(n)) return s;
  // 0x…, 0b…, 0o…: Number reads them, a decimal is not one.
  if (c === 48 && t.length > 1 && /[xXbBoO]/.test(t[1]!)) return s;
  return n;
}

function splitRecords(text: string, sep: string): string[][] {
  // Without quotes a record is a line and a field what lies between separators: the built-in
  // split does it at native speed (the loop below handles RFC 4180 quoting).
  if (!text.includes('"')) {
    const out: string[][] = [];
    for (const line of text.split(/\r\n|\n|\r/)) if (line !== '') out.push(line.split(sep));
    return out;
  }
  const out: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') { cell += '"'; i += 2; continue; }
        quoted = false;
      } else cell += c;
      i++;
      continue;
    }
    if (c === '"' && cell === '') { quoted = true; i++; continue; }
    if (c === sep) { row.push(cell); cell = ''; i++; continue; }
    if (c === '\n' || c === '\r') {
      row.push(cell);
      if (!(row.length === 1 && row[0] === '')) out.push(row);
      row = [];
      cell = '';
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
      continue;
    }
    cell += c;
    i++;
  }
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    out.push(row);
  }
  return out;
}
