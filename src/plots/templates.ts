/**
 * Plot templates: Vega-Lite specifications with placeholders, filled with one plot's rows. The
 * rows every template sees have the fields `x`, `y`, `rev` (the revision), `series` (data file
 * and column) and `label` (what tells the lines apart: revision and/or series), so a template
 * never needs to know the user's column names; those reach it as axis titles.
 */
import { RvcError } from '../errors.js';
import { setOwn } from '../model/values.js';

/** Placeholders a template may hold as whole JSON string values. DVC's names are read as well. */
export const PLACEHOLDERS = {
  data: ['<RVC_DATA>', '<DVC_METADATA_PLOT_DATA>'],
  title: ['<RVC_TITLE>', '<DVC_METADATA_TITLE>'],
  xLabel: ['<RVC_X_LABEL>', '<DVC_METADATA_X_LABEL>'],
  yLabel: ['<RVC_Y_LABEL>', '<DVC_METADATA_Y_LABEL>'],
  x: ['<RVC_X>', '<DVC_METADATA_X>'],
  y: ['<RVC_Y>', '<DVC_METADATA_Y>'],
} as const;

export const DEFAULT_TEMPLATE = 'linear';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const base = {
  $schema: SCHEMA,
  data: { values: '<RVC_DATA>' },
  title: '<RVC_TITLE>',
  width: 420,
  height: 260,
};
const color = { field: 'label', type: 'nominal', title: null };
const xq = { field: '<RVC_X>', type: 'quantitative', title: '<RVC_X_LABEL>' };
const yq = { field: '<RVC_Y>', type: 'quantitative', title: '<RVC_Y_LABEL>', scale: { zero: false } };

function confusion(normalized: boolean): unknown {
  const value = normalized ? 'share' : 'count';
  return {
    $schema: SCHEMA,
    data: { values: '<RVC_DATA>' },
    title: '<RVC_TITLE>',
    transform: [
      { aggregate: [{ op: 'count', as: 'count' }], groupby: ['<RVC_X>', '<RVC_Y>', 'label'] },
      ...(normalized ? [
        { joinaggregate: [{ op: 'sum', field: 'count', as: 'total' }], groupby: ['<RVC_X>', 'label'] },
        { calculate: 'datum.count / datum.total', as: 'share' },
      ] : []),
    ],
    facet: { column: { field: 'label', type: 'nominal', title: null } },
    spec: {
      width: 260,
      height: 260,
      encoding: {
        x: { field: '<RVC_X>', type: 'nominal', title: '<RVC_X_LABEL>' },
        y: { field: '<RVC_Y>', type: 'nominal', title: '<RVC_Y_LABEL>' },
      },
      layer: [
        { mark: 'rect', encoding: { color: { field: value, type: 'quantitative', title: value } } },
        { mark: 'text', encoding: { text: { field: value, type: 'quantitative', ...(normalized ? { format: '.2f' } : {}) } } },
      ],
    },
  };
}

function bar(sorted: boolean): unknown {
  return {
    ...base,
    mark: 'bar',
    encoding: {
      x: { field: '<RVC_X>', type: 'quantitative', title: '<RVC_X_LABEL>' },
      y: { field: '<RVC_Y>', type: 'nominal', title: '<RVC_Y_LABEL>', ...(sorted ? { sort: '-x' } : {}) },
      yOffset: { field: 'label', type: 'nominal' },
      color,
    },
  };
}

/** The built-in templates, by name. */
export const BUILTIN_TEMPLATES: Record<string, unknown> = {
  linear: { ...base, mark: { type: 'line', tooltip: true }, encoding: { x: xq, y: yq, color } },
  simple: { ...base, mark: 'line', encoding: { x: xq, y: yq, color } },
  scatter: { ...base, mark: { type: 'point', tooltip: true }, encoding: { x: xq, y: yq, color } },
  smooth: {
    ...base,
    transform: [{ loess: '<RVC_Y>', on: '<RVC_X>', groupby: ['label'], bandwidth: 0.3 }],
    mark: 'line',
    encoding: { x: xq, y: yq, color },
  },
  confusion: confusion(false),
  confusion_normalized: confusion(true),
  bar_horizontal: bar(false),
  bar_horizontal_sorted: bar(true),
};

/**
 * Metrics over commits (`plots show --history`): x is the revision, in the rows' order (the
 * domain is set per plot), a line through the points, broken where a revision has no value
 * (`y` null) rather than drawn through a zero; the tooltip gives the commit date.
 */
export const HISTORY_TEMPLATE: unknown = {
  ...base,
  encoding: {
    x: { field: '<RVC_X>', type: 'ordinal', title: '<RVC_X_LABEL>', sort: null, axis: { labelAngle: -40 } },
    y: yq,
    tooltip: [
      { field: '<RVC_X>', type: 'ordinal', title: 'revision' },
      { field: 'date', type: 'nominal', title: 'date' },
      { field: '<RVC_Y>', type: 'quantitative', title: '<RVC_Y_LABEL>' },
    ],
  },
  layer: [
    { mark: { type: 'line', invalid: 'break-paths-show-domains' } },
    { mark: { type: 'point', filled: true, size: 40 } },
  ],
};

/** Which fields of the rows a template needs as numbers (checked per plot before rendering). */
export function numericFields(template: string): ('x' | 'y')[] {
  if (template.startsWith('confusion')) return [];
  if (template.startsWith('bar_horizontal')) return ['x'];
  if (Object.hasOwn(BUILTIN_TEMPLATES, template)) return ['y'];
  return [];
}

export function templateText(t: unknown): string {
  return `${JSON.stringify(t, null, 2)}\n`;
}

/** A custom template's text as a template: a JSON object holding the data placeholder. */
export function parseTemplate(text: string, name: string): unknown {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new RvcError('PLOT_INVALID', `template '${name}' is not valid JSON: ${(e as Error).message}`, {
      path: name, hint: 'fix the template, or write a built-in one to start from: `rvc plots templates linear -o .rvc/plots`',
    });
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v) || !containsString(v, PLACEHOLDERS.data)) {
    throw new RvcError('PLOT_INVALID', `template '${name}' is not a Vega-Lite object holding the data placeholder "${PLACEHOLDERS.data[0]}"`, {
      path: name, hint: 'put `"data": {"values": "<RVC_DATA>"}` in the template',
    });
  }
  return v;
}

function containsString(v: unknown, wanted: readonly string[]): boolean {
  if (typeof v === 'string') return wanted.includes(v);
  if (Array.isArray(v)) return v.some((x) => containsString(x, wanted));
  if (typeof v === 'object' && v !== null) return Object.values(v).some((x) => containsString(x, wanted));
  return false;
}

export interface FillValues {
  /** What the data placeholder becomes: the rows (or a plot's columnar data, which the page writes as columns). */
  rows: unknown;
  title: string;
  xLabel: string;
  yLabel: string;
}

/** The template with its placeholders replaced; placeholders are whole string values, so no text is spliced into JSON. */
export function fillTemplate(template: unknown, v: FillValues): unknown {
  const walk = (n: unknown): unknown => {
    if (typeof n === 'string') {
      if ((PLACEHOLDERS.data as readonly string[]).includes(n)) return v.rows;
      if ((PLACEHOLDERS.title as readonly string[]).includes(n)) return v.title;
      if ((PLACEHOLDERS.xLabel as readonly string[]).includes(n)) return v.xLabel;
      if ((PLACEHOLDERS.yLabel as readonly string[]).includes(n)) return v.yLabel;
      if ((PLACEHOLDERS.x as readonly string[]).includes(n)) return 'x';
      if ((PLACEHOLDERS.y as readonly string[]).includes(n)) return 'y';
      return n;
    }
    if (Array.isArray(n)) return n.map(walk);
    if (typeof n === 'object' && n !== null) {
      const o: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(n)) setOwn(o, k, walk(x));
      return o;
    }
    return n;
  };
  return walk(template);
}
