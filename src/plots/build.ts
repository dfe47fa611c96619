/**
 * One plot's rows and filled specification from its data files as read at one or more
 * revisions. Every problem of one file at one revision (missing, unreadable, a column that is
 * not there, a value that is not a number) is a Failure of that plot; the plot is still drawn
 * from what is left, and is an error only when nothing is left.
 */
import { RvcError, type Failure } from '../errors.js';
import type { Row } from './data.js';
import type { PlotDef } from './defs.js';
import { fillTemplate, numericFields } from './templates.js';

/** One data file of a plot as read at one revision: its rows, or why there are none. */
export interface PlotInput {
  rev: string;
  file: string;
  rows?: Row[];
  error?: Failure;
}

export interface PlotRow extends Row {
  x: unknown;
  y: unknown;
  rev: string;
  series: string;
  label: string;
}

export interface BuiltPlot {
  rows: PlotRow[];
  /** The filled Vega-Lite specification; absent when nothing could be drawn. */
  spec?: unknown;
  /** Problems with some of the data (the plot is drawn from the rest), or why it could not be drawn. */
  errors: Failure[];
}

const preview = (v: unknown): string => {
  const s = typeof v === 'string' ? `'${v}'` : JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
};

export function buildPlot(def: PlotDef, inputs: readonly PlotInput[], template: { name: string; spec: unknown } | Failure): BuiltPlot {
  const errors: Failure[] = [];
  const at = (i: PlotInput) => (i.rev === 'workspace' ? `'${i.file}'` : `'${i.file}' at ${i.rev}`);
  const numeric = 'spec' in template ? numericFields(template.name) : [];
  type Part = { rev: string; series: string; rows: readonly Row[]; x: string | undefined; y: string };
  const parts: Part[] = [];
  for (const inp of inputs) {
    if (inp.error || !inp.rows) {
      errors.push(inp.error ?? { code: 'PATH_NOT_FOUND', path: inp.file, message: `plot data file ${at(inp)} does not exist` });
      continue;
    }
    const s = def.series.find((x) => x.file === inp.file) ?? { file: inp.file };
    const rows = inp.rows;
    const columns = rows.length ? Object.keys(rows[0]!) : [];
    const ys = s.y ?? (columns.length ? [columns[columns.length - 1]!] : []);
    const missing = [...(s.x !== undefined ? [s.x] : []), ...ys].filter((c) => rows.length > 0 && !columns.includes(c));
    if (rows.length === 0) {
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
    for (const y of ys) {
      // The values are read straight from the rows (no object per point until the plot's rows):
      // a plot over 20 revisions has millions of points.
      const valueOf = (f: 'x' | 'y', i: number): unknown => (f === 'y' ? rows[i]![y] : s.x !== undefined ? rows[i]![s.x] : i);
      const bad = numeric.flatMap((f) => {
        for (let i = 0; i < rows.length; i++) {
          const v = valueOf(f, i);
          if (typeof v !== 'number' || !Number.isFinite(v)) return [{ f, i }];
        }
        return [];
      })[0];
      if (bad) {
        const col = bad.f === 'x' ? s.x ?? 'step' : y;
        errors.push({
          code: 'PLOT_INVALID', path: inp.file,
          message: `column '${col}' of ${at(inp)} has a value that is not a number (row ${bad.i + 1}: ${preview(valueOf(bad.f, bad.i))}); template '${'spec' in template ? template.name : ''}' needs numbers there`,
        });
        continue;
      }
      parts.push({ rev: inp.rev, series: `${inp.file}: ${y}`, rows, x: s.x, y });
    }
  }
  if (!('spec' in template)) return { rows: [], errors: [template, ...errors] };
  if (parts.length === 0) {
    if (errors.length === 0) errors.push({ code: 'PLOT_INVALID', path: def.id, message: `plot '${def.id}' has no data` });
    return { rows: [], errors };
  }
  const revs = new Set(parts.map((p) => p.rev));
  const series = new Set(parts.map((p) => p.series));
  const label = (p: Part) => [...(revs.size > 1 ? [p.rev] : []), ...(series.size > 1 || revs.size <= 1 ? [p.series] : [])].join(' · ');
  const rows: PlotRow[] = [];
  for (const p of parts) {
    const l = label(p);
    for (let i = 0; i < p.rows.length; i++) {
      const r = p.rows[i]!;
      rows.push({ x: p.x !== undefined ? r[p.x] : i, y: r[p.y], rev: p.rev, series: p.series, label: l });
    }
  }
  const xs = new Set(def.series.map((s) => s.x ?? 'step'));
  const yCols = new Set(parts.map((p) => p.series.slice(p.series.lastIndexOf(': ') + 2)));
  const spec = fillTemplate(template.spec, {
    rows,
    title: def.title ?? def.id,
    xLabel: def.xLabel ?? [...xs].join(', '),
    yLabel: def.yLabel ?? (yCols.size === 1 ? [...yCols][0]! : 'value'),
  });
  return { rows, spec, errors };
}

/** A failure from an error thrown while reading one input. */
export function failureOf(e: unknown): Failure {
  if (e instanceof RvcError) return { code: e.code, message: e.message, ...(e.path !== undefined ? { path: e.path } : {}), ...(e.hint !== undefined ? { hint: e.hint } : {}) };
  throw e;
}
