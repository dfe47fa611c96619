/**
 * Plot data files as rows of records: CSV, TSV, JSON (a list of records, or an object whose first
 * list-of-records value holds them, as DVCLive writes) and YAML (the same shapes). Pure: text in,
 * rows out; the caller reads the file (from the workspace or a revision).
 */
import { RvcError } from '../errors.js';
import { parseYaml } from '../model/yaml.js';

export type Row = Record<string, unknown>;

/** Data files larger than this are refused with a message rather than inlined into a page. */
export const MAX_PLOT_DATA_BYTES = 20 * 1024 * 1024;

const IMAGE_EXTS = ['.png', '.jpg', '.jpeg', '.svg', '.gif'];

export function isImageFile(file: string): boolean {
  const f = file.toLowerCase();
  return IMAGE_EXTS.some((e) => f.endsWith(e));
}

type Format = 'csv' | 'tsv' | 'json' | 'yaml';

export function dataFormatOf(file: string): Format | undefined {
  const f = file.toLowerCase();
  if (f.endsWith('.csv')) return 'csv';
  if (f.endsWith('.tsv')) return 'tsv';
  if (f.endsWith('.json')) return 'json';
  if (f.endsWith('.yaml') || f.endsWith('.yml')) return 'yaml';
  return undefined;
}

/**
 * The rows of a plot data file (`rel`, a repository path; `at` the revision it was read at, for
 * messages); a PLOT_INVALID error naming the file otherwise.
 */
export function parsePlotData(text: string, rel: string, opts: { header?: boolean; at?: string } = {}): Row[] {
  const fmt = dataFormatOf(rel);
  const f = { rel, shown: opts.at !== undefined ? `${rel} at ${opts.at}` : rel };
  const size = Buffer.byteLength(text);
  if (size > MAX_PLOT_DATA_BYTES) throw tooLarge(rel, size, opts.at);
  switch (fmt) {
    case 'csv': return parseDelimited(text, ',', f, opts.header ?? true);
    case 'tsv': return parseDelimited(text, '\t', f, opts.header ?? true);
    case 'json': {
      let v: unknown;
      try {
        v = JSON.parse(text);
      } catch (e) {
        throw new RvcError('PLOT_INVALID', `plot data file '${f.shown}' is not valid JSON: ${(e as Error).message}`, { path: rel });
      }
      return recordsOf(v, f);
    }
    case 'yaml': return recordsOf(parseYaml(text, f.shown, 'PLOT_INVALID').value, f);
    default:
      throw new RvcError('PLOT_INVALID', `'${f.shown}' is not a plot data file (CSV, TSV, JSON or YAML) nor an image (png, jpg, svg, gif)`, { path: rel });
  }
}

/** The error for a data file over MAX_PLOT_DATA_BYTES (also given before reading, by its size). */
export function tooLarge(rel: string, size: number, at?: string): RvcError {
  return new RvcError('PLOT_INVALID', `plot data file '${at !== undefined ? `${rel} at ${at}` : rel}' is ${(size / 1048576).toFixed(1)} MB, more than the ${MAX_PLOT_DATA_BYTES / 1048576} MB a page can carry`, {
    path: rel, hint: 'write fewer points (e.g. every 10th step) to the plot file',
  });
}

type Named = { rel: string; shown: string };

function isRecord(v: unknown): v is Row {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function recordsOf(v: unknown, file: Named): Row[] {
  if (Array.isArray(v) && v.every(isRecord)) return v;
  if (isRecord(v)) {
    for (const x of Object.values(v)) if (Array.isArray(x) && x.length > 0 && x.every(isRecord)) return x;
  }
  throw new RvcError('PLOT_INVALID', `plot data file '${file.shown}' holds no list of records`, {
    path: file.rel, hint: 'write a list of records (`[{"step": 0, "loss": 1.2}, …]`) or an object with one such list',
  });
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
