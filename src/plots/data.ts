/**
 * Plot data files as columns: CSV, TSV, JSON (a list of records, or an object whose first
 * list-of-records value holds them, as DVCLive writes) and YAML (the same shapes). Pure: text in,
 * columns out; the caller reads the file (from the workspace or a revision).
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
 * One column of a plot data file: a Float64Array when every cell is a finite number (the common
 * case, and the one a plot of many points has), else each cell's value (number, text, or
 * whatever a JSON/YAML record holds; undefined where a record lacks the field).
 */
export type Column = Float64Array | readonly unknown[];

/** A plot data file as columns. */
export interface Table {
  /** The column names, in the order a record of the first row lists its keys. */
  names: readonly string[];
  length: number;
  /** The column called `name`, or undefined when the file has none. */
  column(name: string): Column | undefined;
}

/**
 * The columns of a plot data file, its text or its bytes (`rel`, a repository path; `at` the
 * revision it was read at, for messages); a PLOT_INVALID error naming the file otherwise.
 * `only` (given the column names) names the columns a caller needs: a CSV/TSV file reads those
 * with the rows, any other when first asked for.
 */
export function parsePlotTable(data: string | Uint8Array, rel: string, opts: { header?: boolean; at?: string; only?: (names: readonly string[]) => ReadonlySet<string> } = {}): Table {
  const fmt = dataFormatOf(rel);
  const f = { rel, shown: opts.at !== undefined ? `${rel} at ${opts.at}` : rel };
  // A text's UTF-16 length bounds its UTF-8 size from below: the exact size is counted only near the limit.
  if (typeof data !== 'string' ? data.byteLength > MAX_PLOT_DATA_BYTES : data.length * 3 > MAX_PLOT_DATA_BYTES) {
    const size = typeof data !== 'string' ? data.byteLength : Buffer.byteLength(data);
    if (size > MAX_PLOT_DATA_BYTES) throw tooLarge(rel, size, opts.at);
  }
  if (fmt === 'csv' || fmt === 'tsv') return parseDelimited(data, fmt === 'csv' ? ',' : '\t', f, opts.header ?? true, opts.only);
  const text = typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  switch (fmt) {
    case 'json': {
      let v: unknown;
      try {
        v = JSON.parse(text);
      } catch (e) {
        throw new RvcError('PLOT_INVALID', `plot data file '${f.shown}' is not valid JSON: ${(e as Error).message}`, { path: rel });
      }
      return recordTable(recordsOf(v, f));
    }
    case 'yaml': return recordTable(recordsOf(parseYaml(text, f.shown, 'PLOT_INVALID').value, f));
    default:
      throw new RvcError('PLOT_INVALID', `'${f.shown}' is not a plot data file (CSV, TSV, JSON or YAML) nor an image (png, jpg, svg, gif)`, { path: rel });
  }
}

/** The values as a Float64Array when every one is a finite number, else as they are. */
function typed(vals: readonly unknown[]): Column {
  for (const v of vals) if (typeof v !== 'number' || !Number.isFinite(v)) return vals;
  return Float64Array.from(vals as number[]);
}

/** A table over JSON/YAML records: the first record's keys name the columns, each built when first asked for. */
function recordTable(rows: readonly Row[]): Table {
  const names = rows.length ? Object.keys(rows[0]!) : [];
  const made = new Map<string, Column>();
  return {
    names, length: rows.length,
    column(name) {
      if (!names.includes(name)) return undefined;
      let c = made.get(name);
      if (!c) made.set(name, (c = typed(rows.map((r) => (Object.hasOwn(r, name) ? r[name] : undefined)))));
      return c;
    },
  };
}

/** A table over columns already built, `byName` holding each name's column. */
function columnTable(names: readonly string[], byName: Map<string, Column>, length: number): Table {
  return { names, length, column: (name) => byName.get(name) };
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

/**
 * Column names in the order an object's keys would list them (integer-like names first,
 * ascending), each once: the order the rows' fields always had, which decides the default y
 * column (the last) and the names messages list.
 */
function keyOrder(names: readonly string[]): string[] {
  const o = Object.create(null) as Record<string, true>;
  for (const n of names) o[n] = true;
  return Object.keys(o);
}

function raggedError(file: Named, row: number, fields: number, header: number): RvcError {
  return new RvcError('PLOT_INVALID', `row ${row} of '${file.shown}' has ${fields} fields, the header has ${header}`, { path: file.rel, line: row });
}

/**
 * CSV/TSV with RFC 4180 quoting, as columns; numbers become numbers. Without a header, columns
 * are named 0, 1, …. Blank lines are skipped; a row with more or fewer fields than the header is
 * an error naming it. Read from the file's bytes: separators and line breaks are ASCII, which
 * UTF-8 never uses inside a character, so only the cells that are not numbers are decoded.
 */
function parseDelimited(input: string | Uint8Array, sep: string, file: Named, header: boolean, only?: (names: readonly string[]) => ReadonlySet<string>): Table {
  let b = typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) b = b.subarray(3);
  if (b.includes(34)) return quotedTable(splitRecords(b.toString('utf8'), sep), file, header);
  if (b.includes(13)) b = Buffer.from(b.toString('utf8').replace(/\r\n?/g, '\n'), 'utf8');
  const n = b.length;
  let pos = 0;
  // The first non-blank line: the header, or the first row (it gives the number of columns).
  while (pos < n && b[pos] === 10) pos++;
  if (pos >= n) return columnTable([], new Map(), 0);
  let eol = b.indexOf(10, pos);
  if (eol < 0) eol = n;
  const first = b.toString('utf8', pos, eol).split(sep);
  const width = first.length;
  const colNames = header ? first.map((x) => x.trim()) : first.map((_, i) => String(i));
  if (header) pos = eol + 1;
  const names = keyOrder(colNames);
  const want = only?.(names);
  // Room for a row per line.
  let cap = 1;
  for (let i = pos; i < n; i++) if (b[i] === 10) cap++;
  const body = pos;
  const sc = sep.charCodeAt(0);
  const ragged = (row: number, fields: number) => raggedError(file, row + (header ? 2 : 1), fields, width);
  const cols = colNames.map((c): Cells | undefined => (!want || want.has(c) ? { nums: new Float64Array(cap), mixed: undefined } : undefined));
  const rows = scanCells(b, body, sc, cols, ragged);
  const byName = new Map<string, Column>();
  cols.forEach((c, j) => { if (c) byName.set(colNames[j]!, c.mixed ?? c.nums.subarray(0, rows)); });
  return {
    names, length: rows,
    column(name) {
      let c = byName.get(name);
      // A column not read with the others: read now (the last of a repeated name holds its values).
      const j = c === undefined ? colNames.lastIndexOf(name) : -1;
      if (j >= 0) {
        const one = colNames.map((_, k): Cells | undefined => (k === j ? { nums: new Float64Array(rows + 1), mixed: undefined } : undefined));
        scanCells(b, body, sc, one, ragged);
        c = one[j]!.mixed ?? one[j]!.nums.subarray(0, rows);
        byName.set(name, c);
      }
      return c;
    },
  };
}

/** One column being read: numbers while every cell is one, then every cell's value. */
interface Cells {
  nums: Float64Array;
  mixed: unknown[] | undefined;
}

/**
 * Reads the rows from `pos` (no quotes, no carriage returns) into `cols`; the number of rows.
 * A cell is read as a number where it stands when it is [+-]digits[.digits] with at most 15
 * digits (m / 10^k, both exact doubles: the correctly rounded value Number() gives too), through
 * cellValue otherwise. Kept apart from its caller so that it stays optimised from file to file.
 */
function scanCells(b: Buffer, pos: number, sc: number, cols: (Cells | undefined)[], ragged: (row: number, fields: number) => RvcError): number {
  const n = b.length;
  const width = cols.length;
  let rows = 0;
  let cap = cols.find((x) => x)?.nums.length ?? Infinity;
  while (pos < n) {
    if (b[pos] === 10) { pos++; continue; }
    if (rows === cap) {
      cap *= 2;
      for (const x of cols) {
        if (!x) continue;
        const more = new Float64Array(cap);
        more.set(x.nums);
        x.nums = more;
      }
    }
    const lineStart = pos;
    for (let j = 0; j < width; j++) {
      const start = pos;
      const col = cols[j];
      let c = pos < n ? b[pos]! : 10;
      if (col === undefined) {
        // A column not asked for: skipped to its end.
        while (c !== sc && c !== 10) c = ++pos < n ? b[pos]! : 10;
        if (c === sc && j === width - 1) throw ragged(rows, fieldsOf(b, lineStart, sc));
        if (c !== sc && j !== width - 1) throw ragged(rows, j + 1);
        pos++;
        continue;
      }
      const neg = c === 45;
      if (neg || c === 43) pos++;
      const digitStart = pos;
      let m = 0;
      let dot = -1;
      while (pos < n) {
        c = b[pos]!;
        if (c >= 48 && c <= 57) m = m * 10 + (c - 48);
        else if (c === 46 && dot < 0) dot = pos;
        else break;
        pos++;
      }
      if (pos >= n) c = 10;
      let plain = true;
      if (c !== sc && c !== 10) {
        plain = false;
        while (pos < n && (c = b[pos]!) !== sc && c !== 10) pos++;
        if (pos >= n) c = 10;
      }
      const digits = pos - digitStart - (dot >= 0 ? 1 : 0);
      if (plain && digits > 0 && digits <= 15) {
        const a = dot >= 0 && dot < pos - 1 ? m / POW10[pos - dot - 1]! : m;
        if (col.mixed) col.mixed.push(neg ? -a : a); else col.nums[rows] = neg ? -a : a;
      } else {
        const val = cellValue(b.toString('utf8', start, pos));
        if (col.mixed) col.mixed.push(val);
        else if (typeof val === 'number') col.nums[rows] = val;
        else {
          col.mixed = Array.from(col.nums.subarray(0, rows));
          col.mixed.push(val);
        }
      }
      const last = j === width - 1;
      if (c === sc) {
        if (last) throw ragged(rows, fieldsOf(b, lineStart, sc));
      } else if (!last) throw ragged(rows, j + 1);
      pos++;
    }
    rows++;
  }
  return rows;
}

/** The number of fields of the line starting at `start`. */
function fieldsOf(b: Buffer, start: number, sc: number): number {
  let fields = 1;
  for (let k = start; k < b.length && b[k] !== 10; k++) if (b[k] === sc) fields++;
  return fields;
}

/** A table from records split by the quoting reader (files with quotes: rare, and small). */
function quotedTable(lines: string[][], file: Named, header: boolean): Table {
  if (lines.length === 0) return columnTable([], new Map(), 0);
  const colNames = header ? lines[0]!.map((x) => x.trim()) : lines[0]!.map((_, i) => String(i));
  const body = header ? lines.slice(1) : lines;
  const cols: unknown[][] = colNames.map(() => new Array(body.length));
  body.forEach((cells, i) => {
    if (cells.length !== colNames.length) throw raggedError(file, i + (header ? 2 : 1), cells.length, colNames.length);
    for (let j = 0; j < cells.length; j++) cols[j]![i] = cellValue(cells[j]!);
  });
  const byName = new Map<string, Column>();
  colNames.forEach((c, j) => byName.set(c, typed(cols[j]!)));
  return columnTable(keyOrder(colNames), byName, body.length);
}

/** 10^k for k ≤ 15: exact doubles, so m / 10^k (m < 10^15, exact) is the correctly rounded value Number() gives. */
const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

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
