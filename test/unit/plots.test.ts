import { describe, it, expect } from 'vitest';
import { isRvcError } from '../../src/errors.js';
import { mergePipelines, parsePipeline, setPlotOptions } from '../../src/model/pipeline.js';
import { parsePlotData } from '../../src/plots/data.js';
import { plotDefinitions, selectPlots } from '../../src/plots/defs.js';
import { BUILTIN_TEMPLATES, fillTemplate, parseTemplate } from '../../src/plots/templates.js';
import { buildPlot } from '../../src/plots/build.js';
import { buildPage } from '../../src/plots/page.js';
import { historyPlots } from '../../src/plots/history.js';

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
    const rows = parsePlotData('__proto__,b\n1,2\n', 'p.csv');
    expect(Object.keys(rows[0]!)).toEqual(['__proto__', 'b']);
    expect(({} as Record<string, unknown>)['b']).toBeUndefined();
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
      { rev: 'HEAD', file: 'train.csv', rows: [{ step: 0, acc: 0.1 }] },
      { rev: 'HEAD', file: 'val.csv', rows: [{ step: 0, acc: 0.2, loss: 'x' }] },
      { rev: 'workspace', file: 'train.csv', rows: [{ step: 0, acc: 0.3 }] },
      { rev: 'workspace', file: 'val.csv', rows: [{ step: 0, zzz: 1 }] },
    ], t);
    expect([...new Set(b.rows.map((r) => r.label))]).toEqual(['HEAD · train.csv: acc', 'HEAD · val.csv: acc', 'workspace · train.csv: acc']);
    expect(b.errors.map((e) => e.message)).toEqual([
      "column 'loss' of 'val.csv' at HEAD has a value that is not a number (row 1: 'x'); template 'linear' needs numbers there",
      "columns 'acc', 'loss' of plot 'acc' are not in 'val.csv' (its columns: step, zzz)",
    ]);
    expect(b.spec).toBeDefined();
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
    const pts = [
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
