import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { isRvcError } from '../../src/errors.js';
import { mergePipelines, parsePipeline, setPlotOptions } from '../../src/model/pipeline.js';
import { parsePlotTable, type Table } from '../../src/plots/data.js';
import { referenceRows } from '../helpers/plot-rows-reference.js';
import { plotDefinitions, selectPlots } from '../../src/plots/defs.js';
import { BUILTIN_TEMPLATES, fillTemplate, parseTemplate } from '../../src/plots/templates.js';
import { buildPlot, PlotData } from '../../src/plots/build.js';
import { buildPage } from '../../src/plots/page.js';
import { historyPlots, type HistoryPoint } from '../../src/plots/history.js';

/** A table's rows as records (the shape the previous parser returned). */
function rowsOf(t: Table): Record<string, unknown>[] {
  return Array.from({ length: t.length }, (_, i) => Object.fromEntries(t.names.map((n) => [n, t.column(n)![i]])));
}
const parsePlotData = (text: string, rel: string, opts: { header?: boolean } = {}) => rowsOf(parsePlotTable(text, rel, opts));

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isRvcError(e) ? e.code : String(e);
  }
  return undefined;
}

describe('plot data files', () => {
  it('CSV with quotes, CRLF and a BOM; TSV; numbers become numbers', () => {
    expect(parsePlotData('\uFEFFstep,name,loss\r\n0,"a, ""b""",1.5\r\n1,c,-2e-3\r\n', 'x.csv')).toEqual([
      { step: 0, name: 'a, "b"', loss: 1.5 }, { step: 1, name: 'c', loss: -0.002 },
    ]);
    expect(parsePlotData('a\tb\n1\tx\n', 'x.tsv')).toEqual([{ a: 1, b: 'x' }]);
    // Decimals become numbers (quoted or not: the two readers agree); hex, binary, octal, Infinity and words stay text.
    const cells = 'v\n1\n-2.5\n.5\n+3\n1e-3\n 7 \n0x1f\n0b1\n0o7\nInfinity\n1_0\nabc\n-\n';
    const want = [1, -2.5, 0.5, 3, 0.001, 7, '0x1f', '0b1', '0o7', 'Infinity', '1_0', 'abc', '-'];
    expect(parsePlotData(cells, 'x.csv').map((r) => r['v'])).toEqual(want);
    expect(parsePlotData(`${cells}"q"\n`, 'x.csv').map((r) => r['v'])).toEqual([...want, 'q']);
    expect(parsePlotData('1,2\n3,4\n', 'x.csv', { header: false })).toEqual([{ 0: 1, 1: 2 }, { 0: 3, 1: 4 }]);
    expect(code(() => parsePlotData('a,b\n1\n', 'x.csv'))).toBe('PLOT_INVALID');
  });

  it('JSON and YAML: a list of records or an object holding one; anything else is refused', () => {
    expect(parsePlotData('[{"a":1}]', 'x.json')).toEqual([{ a: 1 }]);
    expect(parsePlotData('{"meta": 1, "train": [{"a":1},{"a":2}]}', 'x.json')).toEqual([{ a: 1 }, { a: 2 }]);
    expect(parsePlotData('rows:\n  - {a: 1}\n', 'x.yaml')).toEqual([{ a: 1 }]);
    expect(code(() => parsePlotData('{"a": 1}', 'x.json'))).toBe('PLOT_INVALID');
    expect(code(() => parsePlotData('{', 'x.json'))).toBe('PLOT_INVALID');
    expect(code(() => parsePlotData('a', 'x.txt'))).toBe('PLOT_INVALID');
    // a key named __proto__ in a CSV header stays a column
    const t = parsePlotTable('__proto__,b\n1,2\n', 'p.csv');
    expect(t.names).toEqual(['__proto__', 'b']);
    expect(Array.from(t.column('__proto__')!)).toEqual([1]);
    expect(({} as Record<string, unknown>)['b']).toBeUndefined();
  });
});

describe('the columnar parser against the previous row parser', () => {
  // Cells of every kind a plot file holds: integers, decimals (signs, points, exponents, long
  // mantissas), what Number() reads but a decimal is not, words, blanks, padding.
  const numberCell = fc.oneof(
    fc.integer({ min: -1e6, max: 1e6 }).map(String),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
    fc.double({ min: -1e4, max: 1e4, noNaN: true }).map((d) => d.toFixed(6)),
    fc.tuple(fc.constantFrom('', '-', '+'), fc.stringMatching(/^[0-9]{0,18}$/), fc.constantFrom('', '.'), fc.stringMatching(/^[0-9]{0,18}$/)).map((p) => p.join('')),
  );
  const oddCell = fc.constantFrom('', ' ', ' 7 ', '0x1f', '0b1', '0o7', 'Infinity', '-Infinity', 'NaN', '1_0', '1e', '.', '-', '+', '1.2.3', '--1', '1e400', '\u00a07', 'abc', 'é', '00012', '-0', '1.');
  const cell = fc.oneof({ weight: 6, arbitrary: numberCell }, { weight: 2, arbitrary: oddCell }, { weight: 1, arbitrary: fc.string({ maxLength: 5 }) });
  const quote = (c: string) => `"${c.replace(/"/g, '""')}"`;
  /** A file: header or not, some columns, rows (some ragged), blank lines, CRLF, a BOM, quoting (of some cells, or none). */
  const file = fc.record({
    sep: fc.constantFrom(',', '\t'),
    header: fc.boolean(),
    names: fc.array(fc.oneof(fc.constantFrom('step', 'loss', 'acc', '2', '0', '__proto__', ' x ', 'loss'), fc.string({ maxLength: 4 })), { minLength: 1, maxLength: 5 }),
    rows: fc.array(fc.array(cell, { minLength: 1, maxLength: 6 }), { maxLength: 40 }),
    ragged: fc.boolean(),
    quoting: fc.constantFrom('none', 'some', 'all'),
    eol: fc.constantFrom('\n', '\r\n', '\r'),
    bom: fc.boolean(),
    blank: fc.boolean(),
    trailing: fc.boolean(),
  }).map((f) => {
    const width = f.names.length;
    // Rows as wide as the header unless the file is meant to be ragged.
    const rows = f.rows.map((r) => (f.ragged ? r : Array.from({ length: width }, (_, j) => r[j % r.length]!)));
    const q = (c: string, i: number) => (f.quoting === 'all' || (f.quoting === 'some' && i % 3 === 0) ? quote(c) : c);
    // Unquoted cells holding a separator, quote or line break would change the file's shape: those become words.
    const plainCell = (c: string) => (/[",\t\r\n]/.test(c) ? 'w' : c);
    const lines = [...(f.header ? [f.names] : []), ...rows].map((r, i) => r.map((c, j) => (f.quoting === 'none' ? plainCell(c) : q(c, i + j))).join(f.sep));
    if (f.blank && lines.length > 1) lines.splice(1, 0, '');
    const text = (f.bom ? '\uFEFF' : '') + lines.join(f.eol) + (f.trailing ? f.eol : '');
    return { text, rel: f.sep === ',' ? 'f.csv' : 'f.tsv', header: f.header };
  });

  const outcome = (fn: () => unknown): { value?: unknown; error?: string } => {
    try {
      return { value: fn() };
    } catch (e) {
      if (!isRvcError(e)) throw e;
      return { error: `${e.code} ${e.message} line ${e.line}` };
    }
  };

  it('gives every column the values, types and names the row parser gave, and the same error for a ragged row', () => {
    let typed = 0;
    let ragged = 0;
    fc.assert(fc.property(file, ({ text, rel, header }) => {
      const old = outcome(() => referenceRows(text, rel, header));
      const now = outcome(() => parsePlotTable(text, rel, { header }));
      // Reading some columns with the rows and the others when asked for gives the same.
      const some = outcome(() => parsePlotTable(text, rel, { header, only: (names) => new Set(names.filter((_, i) => i % 2 === 1)) }));
      expect(now.error).toBe(old.error);
      expect(some.error).toBe(old.error);
      if (old.error) { ragged++; return; }
      const rows = old.value as Record<string, unknown>[];
      for (const t of [now.value as Table, some.value as Table]) {
        expect(t.length).toBe(rows.length);
        if (!rows.length) return;
        expect(t.names).toEqual(Object.keys(rows[0]!));
        for (const n of t.names) {
          const col = t.column(n)!;
          const want = rows.map((r) => r[n]);
          // A column of finite numbers only is a Float64Array; any other cell keeps the column as values.
          const allNumbers = want.every((v) => typeof v === 'number' && Number.isFinite(v));
          expect(col instanceof Float64Array, n).toBe(allNumbers);
          if (allNumbers) typed++;
          expect(Array.from(col).map((v) => (Object.is(v, -0) ? '-0' : v)), n).toEqual(want.map((v) => (Object.is(v, -0) ? '-0' : v)));
        }
      }
    }), { numRuns: 400 });
    // The generator reaches both sides of what is compared.
    expect(typed).toBeGreaterThan(50);
    expect(ragged).toBeGreaterThan(10);
  });

  it('numbers read in place are the numbers Number() reads, at the edges of the fast reading too', () => {
    const cells = ['0.1', '0.123456789012345', '1234567890.12345', '9007199254740993', '123456789012345.6', '-0.000001', '1.7976931348623157', '0.3', '-.5', '+1.', '4.35', '1e-7'];
    const text = `v\n${cells.join('\n')}\n`;
    const col = parsePlotTable(text, 'x.csv').column('v')!;
    expect(col).toBeInstanceOf(Float64Array);
    expect(Array.from(col)).toEqual(cells.map(Number));
  });
});

const YAML = `plots:
  - acc:
      x: step
      y:
        train.csv: acc
        val.csv: [acc, loss]
  - roc.json:
      template: scatter
  - img.png
stages:
  s:
    cmd: echo
    wdir: sub
    plots:
      - p.csv:
          x: epoch
          y: loss
          cache: false
`;

describe('plot definitions', () => {
  it('reads top-level plots (files and named multi-file plots) and stage plots, relative to their folders', () => {
    const pipe = mergePipelines([parsePipeline(YAML, 'a/rvc.yaml')]);
    const defs = plotDefinitions(pipe);
    expect(defs.map((d) => d.id)).toEqual(['a/img.png', 'a/roc.json', 'a/sub/p.csv', 'acc']);
    expect(defs.find((d) => d.id === 'acc')!.series).toEqual([
      { file: 'a/train.csv', x: 'step', y: ['acc'] }, { file: 'a/val.csv', x: 'step', y: ['acc', 'loss'] },
    ]);
    expect(defs.find((d) => d.id === 'a/sub/p.csv')).toMatchObject({ level: 'stage', series: [{ file: 'a/sub/p.csv', x: 'epoch', y: ['loss'] }], template: 'linear' });
    expect(defs.find((d) => d.id === 'a/img.png')!.image).toBe(true);
    expect(selectPlots(defs, ['a/val.csv', 'nope']).selected.map((d) => d.id)).toEqual(['acc']);
    expect(selectPlots(defs, ['a/sub']).selected.map((d) => d.id)).toEqual(['a/sub/p.csv']);
    expect(selectPlots(defs, ['nope']).unknown).toEqual(['nope']);
  });
});

describe('templates and building one plot', () => {
  const def = plotDefinitions(mergePipelines([parsePipeline(YAML, 'rvc.yaml')])).find((d) => d.id === 'acc')!;

  it('fills placeholders as whole values; every built-in template gets the rows', () => {
    for (const [name, t] of Object.entries(BUILTIN_TEMPLATES)) {
      const s = JSON.stringify(fillTemplate(t, { rows: [{ x: 1, y: 2 }], title: 'T "</script>', xLabel: 'X', yLabel: 'Y' }));
      expect(s, name).not.toMatch(/<RVC_/);
      expect(s, name).toContain('[{"x":1,"y":2}]');
    }
    expect(code(() => parseTemplate('{"mark": "line"}', 't.json'))).toBe('PLOT_INVALID');
    expect(code(() => parseTemplate('{"data": {"values": "<DVC_METADATA_PLOT_DATA>"}}', 't.json'))).toBeUndefined();
  });

  it('overlays revisions and files, labels what varies, and reports bad parts without dropping the rest', () => {
    const t = { name: 'linear', spec: BUILTIN_TEMPLATES['linear'] };
    const b = buildPlot(def, [
      { rev: 'HEAD', file: 'train.csv', table: parsePlotTable('step,acc\n0,0.1\n', 'train.csv') },
      { rev: 'HEAD', file: 'val.csv', table: parsePlotTable('[{"step": 0, "acc": 0.2, "loss": "x"}]', 'val.json') },
      { rev: 'workspace', file: 'train.csv', table: parsePlotTable('step,acc\n0,0.3\n', 'train.csv') },
      { rev: 'workspace', file: 'val.csv', table: parsePlotTable('step,zzz\n0,1\n', 'val.csv') },
    ], t);
    expect([...new Set(b.rows.map((r) => r.label))]).toEqual(['HEAD · train.csv: acc', 'HEAD · val.csv: acc', 'workspace · train.csv: acc']);
    expect(b.errors.map((e) => e.message)).toEqual([
      "column 'loss' of 'val.csv' at HEAD has a value that is not a number (row 1: 'x'); template 'linear' needs numbers there",
      "columns 'acc', 'loss' of plot 'acc' are not in 'val.csv' (its columns: step, zzz)",
    ]);
    expect(b.spec).toBeDefined();
    // The spec with its rows inline is what --json prints; the frame holds the same data as columns.
    expect((b.spec as { data: { values: unknown } }).data.values).toBe(b.rows);
    expect(b.rows[0]).toEqual({ x: 0, y: 0.1, rev: 'HEAD', series: 'train.csv: acc', label: 'HEAD · train.csv: acc' });
    const frameData = (b.frame as { data: { values: unknown } }).data.values as PlotData;
    expect(frameData).toBeInstanceOf(PlotData);
    expect(frameData.parts.map((p) => p.y instanceof Float64Array)).toEqual([true, true, true]);
    const none = buildPlot(def, [{ rev: 'workspace', file: 'train.csv' }], t);
    expect(none.spec).toBeUndefined();
    expect(none.errors[0]!.code).toBe('PATH_NOT_FOUND');
  });

  it('the page carries specs that cannot end its script element, and marks plots that could not be drawn', () => {
    const html = buildPage([{ id: '<b>', spec: { title: '</script><script>alert(1)</script>' }, messages: [] }, { id: 'bad', messages: ['no data'] }]);
    const specs = html.slice(html.indexOf('id="rvc-plot-specs">'), html.indexOf('</script>', html.indexOf('id="rvc-plot-specs">')));
    expect(specs).not.toContain('<');
    expect(html).toContain('<h2>&#60;b&#62;</h2>');
    expect(html).toMatch(/data-plot-id="bad" data-state="error" data-marks="0"><h2>bad<\/h2><p class="rvc-error">no data<\/p>/);
    expect(buildPage([], { htmlTemplate: '<html><body>A{plot_divs}B</body></html>' })).toMatch(/^<html><body>A<style>[\s\S]*<\/script>B<\/body><\/html>$/);
  });
});

describe('the page carries plot data as columns', () => {
  it('a plot of many points is written as its parts\' columns (a step as a sequence, numbers as their bytes, repeated text as a dictionary), not a record per point', () => {
    const def = plotDefinitions(mergePipelines([parsePipeline('plots:\n  - p.csv:\n      x: step\n  - c.csv:\n      template: confusion\n      x: a\n      y: b\n', 'rvc.yaml')]));
    const n = 5000;
    const csv = `step,loss\n${Array.from({ length: n }, (_, i) => `${i},${(1 / (1 + i)).toFixed(6)}`).join('\n')}\n`;
    const lines = buildPlot(def.find((d) => d.id === 'p.csv')!, ['HEAD', 'workspace'].map((rev) => ({ rev, file: 'p.csv', table: parsePlotTable(csv, 'p.csv') })), { name: 'linear', spec: BUILTIN_TEMPLATES['linear'] });
    const conf = buildPlot(def.find((d) => d.id === 'c.csv')!, [{ rev: 'workspace', file: 'c.csv', table: parsePlotTable(`a,b\n${'cat,dog\n'.repeat(20)}`, 'c.csv') }], { name: 'confusion', spec: BUILTIN_TEMPLATES['confusion'] });
    const html = buildPage([{ id: 'p.csv', spec: lines.frame, messages: [] }, { id: 'c.csv', spec: conf.frame, messages: [] }]);
    const at = html.indexOf('id="rvc-plot-specs">') + 'id="rvc-plot-specs">'.length;
    const specs = JSON.parse(html.slice(at, html.indexOf('</script>', at))) as { data: { values: { 'rvc:data': { rev: string; n: number; x: unknown; y: unknown }[] } } }[];
    const parts = specs[0]!.data.values['rvc:data'];
    expect(parts.map((p) => [p.rev, p.n])).toEqual([['HEAD', n], ['workspace', n]]);
    expect(parts[0]!.x).toEqual({ seq: [0, 1] });
    const y = new Float64Array(Buffer.from((parts[0]!.y as { f64: string }).f64, 'base64').buffer.slice(0));
    expect(Array.from(y)).toEqual(lines.rows.slice(0, n).map((r) => r.y));
    expect(specs[1]!.data.values['rvc:data'][0]!.x).toEqual({ dict: ['cat'], idx: Array(20).fill(0) });
    // No record per point: the revision is written once per part.
    expect(html.split('"rev":').length - 1).toBe(3);
  });
});

describe('setPlotOptions (plots modify)', () => {
  const text = `# project
plots:   # the plots
  - acc:
      y: {train.csv: acc}   # keep
      title: Old
  - conf.csv
stages:
  train:
    cmd: python train.py  # trains
    plots:
      - loss.csv:
          x: step
      - bare.csv
`;
  const file = 'rvc.yaml';

  it('changes only the lines of the options it sets or removes', () => {
    expect(setPlotOptions(text, { stage: 'train', id: 'loss.csv' }, { y: 'loss', x: 'epoch' }, [], file))
      .toBe(text.replace('          x: step\n', '          x: epoch\n          y: loss\n'));
    expect(setPlotOptions(text, { stage: 'train', id: 'bare.csv' }, { template: 'scatter' }, [], file))
      .toBe(text.replace('      - bare.csv\n', '      - bare.csv:\n          template: scatter\n'));
    expect(setPlotOptions(text, { id: 'acc' }, { title: 'New: "x"' }, [], file))
      .toBe(text.replace('      title: Old\n', "      title: 'New: \"x\"'\n"));
    expect(setPlotOptions(text, { id: 'acc' }, {}, ['title'], file)).toBe(text.replace('      title: Old\n', ''));
    expect(setPlotOptions(text, { id: 'conf.csv' }, { template: 'confusion' }, [], file))
      .toBe(text.replace('  - conf.csv\n', '  - conf.csv:\n      template: confusion\n'));
    expect(setPlotOptions(text, { stage: 'train', id: 'loss.csv' }, {}, ['title'], file)).toBe(text);
  });

  it('falls back to re-printing for flow style, and refuses a plot that is not there', () => {
    const flow = 'plots: {a.csv: {x: s}}\n';
    const out = setPlotOptions(flow, { id: 'a.csv' }, { y: 'v' }, [], file);
    expect(parsePipeline(out, file).plots).toEqual([{ id: 'a.csv', x: 's', y: 'v' }]);
    expect(code(() => setPlotOptions(text, { stage: 'train', id: 'nope.csv' }, { x: 'a' }, [], file))).toBe('PATH_NOT_FOUND');
  });
});

describe('metrics over commits', () => {
  it('one plot per metric that is a number somewhere; absent or non-numeric values are gaps (null), never zeros, and the x domain keeps the revisions\' order', () => {
    const pts: HistoryPoint[] = [
      { label: 'b', rev: 'b1', date: '2026-01-01T00:00:00.000Z', values: { 'm.json': { acc: 0.5, name: 'x', ok: true } } },
      { label: 'a', rev: 'a1', date: '2026-01-02T00:00:00.000Z', values: { 'm.json': { acc: 'n/a', loss: 2 } } },
      { label: 'workspace', rev: 'workspace', date: '', values: {} },
    ];
    const plots = historyPlots(pts);
    expect(plots.map((p) => p.id)).toEqual(['m.json:acc', 'm.json:loss']);
    const acc = plots[0]!;
    expect(acc.rows.map((r) => [r.x, r.y])).toEqual([['b', 0.5], ['a', null], ['workspace', null]]);
    expect(acc.errors.map((e) => e.message)).toEqual(["metric 'acc' of 'm.json' at a is not a number (\"n/a\"): a gap in the line"]);
    const spec = acc.spec as { encoding: { x: { scale: { domain: string[] }; sort: unknown } }; data: { values: unknown[] } };
    expect(spec.encoding.x.scale.domain).toEqual(['b', 'a', 'workspace']);
    expect(spec.encoding.x.sort).toBeNull();
    expect(spec.data.values).toHaveLength(3);
    expect(plots[1]!.rows.map((r) => r.y)).toEqual([null, 2, null]);
    expect(historyPlots([])).toEqual([]);
  });
});
