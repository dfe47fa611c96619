import { RvcError } from '../errors.js';
import { compareStrings, deepEqual } from './values.js';

/**
 * How far a rerun's metric may be from the recorded one and still count as reproduced
 * (`rvc verify --tolerance`): `acc=0.001` is an absolute difference, `acc=1%` one relative to the
 * recorded value. The key is a metric's dot path (`train.acc`), or `file:path` for one file only.
 */
export interface Tolerance {
  key: string;
  kind: 'abs' | 'rel';
  /** The absolute difference, or the relative one as a fraction (1% is 0.01). */
  value: number;
}

/** Parses `key=number` or `key=number%`. */
export function parseTolerance(spec: string): Tolerance {
  const eq = spec.lastIndexOf('=');
  const key = eq > 0 ? spec.slice(0, eq).trim() : '';
  const raw = eq > 0 ? spec.slice(eq + 1).trim() : '';
  const rel = raw.endsWith('%');
  const num = rel ? raw.slice(0, -1) : raw;
  const n = Number(num);
  if (!key || num === '' || !Number.isFinite(n) || n < 0) {
    throw new RvcError('USAGE', `'${spec}' is not a tolerance`, {
      hint: 'write metric=number for an absolute difference or metric=number% for a relative one (`--tolerance acc=0.001`, `--tolerance loss=1%`)',
    });
  }
  return { key, kind: rel ? 'rel' : 'abs', value: rel ? n / 100 : n };
}

/** One metric that differs between the recorded run and a rerun beyond its tolerance. */
export interface MetricDifference {
  file: string;
  key: string;
  recorded?: unknown;
  now?: unknown;
}

function toleranceFor(tols: readonly Tolerance[], file: string, key: string): Tolerance | undefined {
  return tols.find((t) => t.key === `${file}:${key}`) ?? tols.find((t) => t.key === key);
}

/** Whether `now` is within `tol` of `recorded` (numbers only; no tolerance means equal). */
export function withinTolerance(recorded: number, now: number, tol: Tolerance | undefined): boolean {
  if (recorded === now) return true;
  if (!tol) return false;
  const d = Math.abs(now - recorded);
  return tol.kind === 'abs' ? d <= tol.value : d <= tol.value * Math.abs(recorded);
}

/**
 * The metrics of one file (flattened, dot paths) that differ beyond their tolerance, sorted by
 * key: numbers compared with the tolerance, anything else must be equal, a key only one side
 * has differs.
 */
export function metricDifferences(file: string, recorded: Record<string, unknown>, now: Record<string, unknown>, tols: readonly Tolerance[]): MetricDifference[] {
  const keys = [...new Set([...Object.keys(recorded), ...Object.keys(now)])].sort(compareStrings);
  const out: MetricDifference[] = [];
  for (const k of keys) {
    const hasA = Object.hasOwn(recorded, k);
    const hasB = Object.hasOwn(now, k);
    const a = recorded[k];
    const b = now[k];
    if (hasA && hasB) {
      if (typeof a === 'number' && typeof b === 'number' ? withinTolerance(a, b, toleranceFor(tols, file, k)) : deepEqual(a, b)) continue;
    }
    out.push({ file, key: k, ...(hasA ? { recorded: a } : {}), ...(hasB ? { now: b } : {}) });
  }
  return out;
}
