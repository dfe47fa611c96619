/**
 * Metrics over commits (`rvc plots show --history`): one plot per numeric metric (flattened key
 * of one metrics file), its value at each revision along x, oldest to newest. A revision where
 * the metric is absent or not a number is a gap in the line, never a zero. Text in, specs out:
 * the verb reads the metrics (through one git process) and writes the page.
 */
import type { Failure } from '../errors.js';
import type { PlotRow } from './build.js';
import { HISTORY_TEMPLATE, fillTemplate } from './templates.js';
import { compareStrings, isPlainObject } from '../model/values.js';

/** One revision's metrics: file → flattened key → value. */
export interface HistoryPoint {
  /** What x shows: a branch or tag name, a short commit id, or `workspace`; unique among the points. */
  label: string;
  /** The full commit id, or `workspace`. */
  rev: string;
  /** ISO 8601 commit date ('' for the workspace). */
  date: string;
  values: Record<string, Record<string, unknown>>;
}

export interface HistoryPlot {
  /** `<metrics file>:<key>`. */
  id: string;
  rows: PlotRow[];
  spec: unknown;
  errors: Failure[];
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The plots of every metric that is a number at one revision at least, by file then key. */
export function historyPlots(points: readonly HistoryPoint[]): HistoryPlot[] {
  const keys = new Map<string, Set<string>>();
  for (const p of points) {
    for (const [file, vals] of Object.entries(p.values)) {
      if (!isPlainObject(vals)) continue;
      for (const [k, v] of Object.entries(vals)) {
        if (!isNumber(v)) continue;
        let s = keys.get(file);
        if (!s) keys.set(file, (s = new Set()));
        s.add(k);
      }
    }
  }
  const domain = points.map((p) => p.label);
  const out: HistoryPlot[] = [];
  for (const file of [...keys.keys()].sort(compareStrings)) {
    for (const key of [...keys.get(file)!].sort(compareStrings)) {
      const id = `${file}:${key}`;
      const rows: PlotRow[] = points.map((p) => {
        const v = Object.hasOwn(p.values, file) && Object.hasOwn(p.values[file]!, key) ? p.values[file]![key] : undefined;
        return { x: p.label, y: isNumber(v) ? v : null, rev: p.rev, series: `${file}: ${key}`, label: key, date: p.date };
      });
      const filled = fillTemplate(HISTORY_TEMPLATE, { rows, title: id, xLabel: 'revision', yLabel: key }) as { encoding: { x: Record<string, unknown> } };
      filled.encoding.x.scale = { domain };
      const errors: Failure[] = points.flatMap((p) => {
        const v = Object.hasOwn(p.values, file) ? p.values[file]![key] : undefined;
        return v !== undefined && !isNumber(v)
          ? [{ code: 'PLOT_INVALID' as const, path: file, message: `metric '${key}' of '${file}' at ${p.label} is not a number (${JSON.stringify(v)}): a gap in the line` }]
          : [];
      });
      out.push({ id, rows, spec: filled, errors });
    }
  }
  return out;
}
