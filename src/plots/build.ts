/**
 * One plot's data and filled specification from its data files as read at one or more
 * revisions. Every problem of one file at one revision (missing, unreadable, a column that is
 * not there, a value that is not a number) is a Failure of that plot; the plot is still drawn
 * from what is left, and is an error only when nothing is left.
 *
 * The data stays in columns: a plot is a list of parts (one data file's y column at one
 * revision), each holding its x and y columns as the parser made them and its revision, series
 * and label once. Records (one object per point, what Vega-Lite reads and `--json` prints) are
 * made only when asked for; the page writes the columns and its script makes the records.
 */
import { RvcError, type Failure } from '../errors.js';
import type { Column, Row, Table } from './data.js';
import type { PlotDef } from './defs.js';
import { fillTemplate, numericFields } from './templates.js';
import { setOwn } from '../model/values.js';

/** One data file of a plot as read at one revision: its columns, or why there are none. */
export interface PlotInput {
  rev: string;
  file: string;
  table?: Table;
  error?: Failure;
}

export interface PlotRow extends Row {
  x: unknown;
  y: unknown;
  rev: string;
  series: string;
  label: string;
}

/** One line of a plot: a data file's y column at one revision. */
export interface PlotPart {
  rev: string;
  series: string;
  label: string;
  length: number;
  /** The x column; undefined: the row's index. */
  x: Column | undefined;
  y: Column;
}

/** A plot's points as parts; `rows()` gives them as records (fields x, y, rev, series, label). */
export class PlotData {
  private made: PlotRow[] | undefined;

  constructor(readonly parts: readonly PlotPart[]) {}

  rows(): PlotRow[] {
    if (this.made) return this.made;
    const rows: PlotRow[] = [];
    for (const p of this.parts) {
      for (let i = 0; i < p.length; i++) rows.push({ x: p.x !== undefined ? p.x[i] : i, y: p.y[i], rev: p.rev, series: p.series, label: p.label });
    }
    this.made = rows;
    return rows;
  }
}

export interface BuiltPlot {
  /** The filled Vega-Lite specification with a PlotData where the rows go; absent when nothing could be drawn. */
  frame?: unknown;
  /** The rows drawn, as records (made on first use). */
  readonly rows: PlotRow[];
  /** The filled Vega-Lite specification with the rows inline (made on first use); absent when nothing could be drawn. */
  readonly spec?: unknown;
  /** Problems with some of the data (the plot is drawn from the rest), or why it could not be drawn. */
  errors: Failure[];
}

/** `frame` with every PlotData in it replaced by its rows (the same array wherever it appears). */
export function inlineRows(frame: unknown): unknown {
  if (frame instanceof PlotData) return frame.rows();
  if (Array.isArray(frame)) return frame.map(inlineRows);
  if (typeof frame === 'object' && frame !== null) {
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(frame)) setOwn(o, k, inlineRows(v));
    return o;
  }
  return frame;
}

/** The PlotData objects of a frame. */
function dataOf(frame: unknown, out: PlotData[] = []): PlotData[] {
  if (frame instanceof PlotData) out.push(frame);
  else if (Array.isArray(frame)) for (const v of frame) dataOf(v, out);
  else if (typeof frame === 'object' && frame !== null) for (const v of Object.values(frame)) dataOf(v, out);
  return out;
}

/** A BuiltPlot whose rows and inline spec are made from `frame` when first read. */
export function builtPlot(frame: unknown, errors: Failure[]): BuiltPlot {
  let spec: unknown;
  const b = { errors } as BuiltPlot;
  if (frame === undefined) {
    Object.defineProperty(b, 'rows', { value: [], enumerable: true });
    return b;
  }
  b.frame = frame;
  Object.defineProperty(b, 'rows', { get: () => dataOf(frame)[0]?.rows() ?? [], enumerable: true });
  Object.defineProperty(b, 'spec', { get: () => (spec ??= inlineRows(frame)), enumerable: true });
  return b;
}

const preview = (v: unknown): string => {
  const s = typeof v === 'string' ? `'${v}'` : JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
};

/** The first row whose value is not a finite number, or -1 (a Float64Array column has none). */
function firstNotNumber(c: Column, length: number): number {
  if (c instanceof Float64Array) return -1;
  for (let i = 0; i < length; i++) {
    const v = c[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) return i;
  }
  return -1;
}

export function buildPlot(def: PlotDef, inputs: readonly PlotInput[], template: { name: string; spec: unknown } | Failure): BuiltPlot {
  const errors: Failure[] = [];
  const at = (i: PlotInput) => (i.rev === 'workspace' ? `'${i.file}'` : `'${i.file}' at ${i.rev}`);
  const numeric = 'spec' in template ? numericFields(template.name) : [];
  type Part = Omit<PlotPart, 'label'>;
  const parts: Part[] = [];
  for (const inp of inputs) {
    if (inp.error || !inp.table) {
      errors.push(inp.error ?? { code: 'PATH_NOT_FOUND', path: inp.file, message: `plot data file ${at(inp)} does not exist` });
      continue;
    }
    const s = def.series.find((x) => x.file === inp.file) ?? { file: inp.file };
    const t = inp.table;
    const columns = t.length ? t.names : [];
    const ys = s.y ?? (columns.length ? [columns[columns.length - 1]!] : []);
    const missing = [...(s.x !== undefined ? [s.x] : []), ...ys].filter((c) => t.length > 0 && !columns.includes(c));
    if (t.length === 0) {
      errors.push({ code: 'PLOT_INVALID', path: inp.file, message: `plot data file ${at(inp)} has no rows` });
      continue;
    }
    if (missing.length) {
      errors.push({
        code: 'PLOT_INVALID', path: inp.file,
        message: `column${missing.length > 1 ? 's' : ''} ${missing.map((c) => `'${c}'`).join(', ')} of plot '${def.id}' ${missing.length > 1 ? 'are' : 'is'} not in ${at(inp)} (its columns: ${columns.join(', ')})`,
        hint: `name a column of the file: \`rvc plots modify ${def.id} -y ${columns[columns.length - 1] ?? 'COLUMN'}\``,
      });
      continue;
    }
    const x = s.x !== undefined ? t.column(s.x)! : undefined;
    for (const y of ys) {
      const yc = t.column(y)!;
      const bad = numeric.flatMap((f) => {
        const i = f === 'y' ? firstNotNumber(yc, t.length) : x !== undefined ? firstNotNumber(x, t.length) : -1;
        return i >= 0 ? [{ f, i }] : [];
      })[0];
      if (bad) {
        const col = bad.f === 'x' ? s.x ?? 'step' : y;
        errors.push({
          code: 'PLOT_INVALID', path: inp.file,
          message: `column '${col}' of ${at(inp)} has a value that is not a number (row ${bad.i + 1}: ${preview((bad.f === 'x' ? x! : yc)[bad.i])}); template '${'spec' in template ? template.name : ''}' needs numbers there`,
        });
        continue;
      }
      parts.push({ rev: inp.rev, series: `${inp.file}: ${y}`, length: t.length, x, y: yc });
    }
  }
  if (!('spec' in template)) return builtPlot(undefined, [template, ...errors]);
  if (parts.length === 0) {
    if (errors.length === 0) errors.push({ code: 'PLOT_INVALID', path: def.id, message: `plot '${def.id}' has no data` });
    return builtPlot(undefined, errors);
  }
  const revs = new Set(parts.map((p) => p.rev));
  const series = new Set(parts.map((p) => p.series));
  const label = (p: Part) => [...(revs.size > 1 ? [p.rev] : []), ...(series.size > 1 || revs.size <= 1 ? [p.series] : [])].join(' · ');
  const data = new PlotData(parts.map((p) => ({ ...p, label: label(p) })));
  const xs = new Set(def.series.map((s) => s.x ?? 'step'));
  const yCols = new Set(parts.map((p) => p.series.slice(p.series.lastIndexOf(': ') + 2)));
  const frame = fillTemplate(template.spec, {
    rows: data,
    title: def.title ?? def.id,
    xLabel: def.xLabel ?? [...xs].join(', '),
    yLabel: def.yLabel ?? (yCols.size === 1 ? [...yCols][0]! : 'value'),
  });
  return builtPlot(frame, errors);
}

/** A failure from an error thrown while reading one input. */
export function failureOf(e: unknown): Failure {
  if (e instanceof RvcError) return { code: e.code, message: e.message, ...(e.path !== undefined ? { path: e.path } : {}), ...(e.hint !== undefined ? { hint: e.hint } : {}) };
  throw e;
}
