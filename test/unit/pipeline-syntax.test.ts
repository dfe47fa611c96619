import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { rvcError } from '../helpers/errors.js';
import { allOutputs, isCallbackStage, mergePipelines, type Stage } from '../../src/model/pipeline/types.js';
import { parsePipeline } from '../../src/model/pipeline/parse.js';
import { addStage, serializePipeline, stageToDef } from '../../src/model/pipeline/edit.js';
import { metricsFiles, trackedParams } from '../../src/pipeline/compare.js';
import { ObjectSet } from '../../src/repo/object-set.js';
import type { Output } from '../../src/model/output.js';

/** DVC's dvc.yaml syntax, section by section, as rvc.yaml accepts it. */

const parse = (text: string) => parsePipeline(text, 'rvc.yaml');
const one = (body: string): Stage => {
  const p = parse(`stages:\n  s:\n${body.replace(/^/gm, '    ')}\n`);
  expect(p.stages).toHaveLength(1);
  return p.stages[0]!;
};

describe('matrix with the stage fields beside it (DVC)', () => {
  it('generates every combination, named by the values in the order written', () => {
    const p = parse(`stages:
  train:
    matrix:
      model: [cnn, xgb]
      lr: [0.1, 0.01]
    cmd: train ${'${item.model}'} --lr ${'${item.lr}'}
    outs:
      - models/${'${item.model}'}-${'${item.lr}'}.pkl
`);
    expect(p.stages.map((s) => s.name)).toEqual(['train@cnn-0.1', 'train@cnn-0.01', 'train@xgb-0.1', 'train@xgb-0.01']);
    expect(p.stages[1]!.cmd).toEqual(['train cnn --lr 0.01']);
    expect(p.stages[1]!.outs[0]!.repoPath).toBe('models/cnn-0.01.pkl');
    expect(p.stages[1]!.generatedFrom).toEqual({ name: 'train', key: 'cnn-0.01' });
    expect(p.stages[0]!.line).toBe(3);
  });

  it('names list and mapping values by their dimension and index, and takes ${var} lists', () => {
    const p = parse(`vars:
  - models: [a, b]
stages:
  t:
    matrix:
      m: ${'${models}'}
      cfg: [{depth: 2}, {depth: 3}]
    cmd: t ${'${item.m}'} ${'${item.cfg.depth}'}
`);
    expect(p.stages.map((s) => s.name)).toEqual(['t@a-cfg0', 't@a-cfg1', 't@b-cfg0', 't@b-cfg1']);
    expect(p.stages[3]!.cmd).toEqual(['t b 3']);
  });

  it('keeps rvc\'s matrix + do form, and defines only ${item} (no ${key}), as DVC', () => {
    const p = parse('stages:\n  t:\n    matrix: {m: [a]}\n    do:\n      cmd: t ${item.m}\n');
    expect(p.stages.map((s) => [s.name, s.cmd[0]])).toEqual([['t@a', 't a']]);
    expect(rvcError(() => parse('stages:\n  t:\n    matrix: {m: [a]}\n    cmd: t ${key}\n')).message).toContain("undefined variable 'key'");
  });

  it('refuses fields both beside matrix and under do, foreach fields beside foreach, and a matrix without cmd', () => {
    expect(rvcError(() => parse('stages:\n  t:\n    matrix: {m: [a]}\n    cmd: x\n    do: {cmd: y}\n')).code).toBe('STAGE_INVALID');
    expect(rvcError(() => parse('stages:\n  t:\n    foreach: [a]\n    cmd: x\n')).code).toBe('STAGE_INVALID');
    expect(rvcError(() => parse('stages:\n  t:\n    matrix: {m: [a]}\n    outs: [o]\n')).message).toContain("'cmd' is missing");
    expect(rvcError(() => parse('stages:\n  t:\n    matrix: {m: [a]}\n    cmd: x\n    bogus: 1\n')).message).toContain("unknown field 'bogus'");
  });
});

describe('stage meta and plots, output options', () => {
  it('keeps meta of any shape', () => {
    expect(one('cmd: x\nmeta: {owner: ana, tags: [a, 1]}').meta).toEqual({ owner: 'ana', tags: ['a', 1] });
    expect(one('cmd: x\nmeta: just text').meta).toBe('just text');
    expect(one('cmd: x').meta).toBeUndefined();
  });

  it('reads plots as outputs with their plot options', () => {
    const s = one(`cmd: x
plots:
  - eval/roc.json:
      x: fpr
      y: tpr
      template: simple
      title: ROC
      x_label: FPR
      y_label: TPR
      header: true
      cache: false
      persist: true
  - eval/confusion.png
  - eval/prc:
metrics:
  - m.json:
      push: false
      remote: other`);
    expect(s.plots).toEqual([
      {
        path: 'eval/roc.json', repoPath: 'eval/roc.json', cache: false, persist: true, metric: false,
        plot: { x: 'fpr', y: 'tpr', template: 'simple', title: 'ROC', x_label: 'FPR', y_label: 'TPR', header: true },
      },
      { path: 'eval/confusion.png', repoPath: 'eval/confusion.png', cache: true, persist: false, metric: false, plot: {} },
      { path: 'eval/prc', repoPath: 'eval/prc', cache: true, persist: false, metric: false, plot: {} },
    ]);
    expect(s.metrics[0]).toMatchObject({ repoPath: 'm.json', push: false, remote: 'other', metric: true });
    expect(allOutputs(s).map((o) => o.repoPath)).toEqual(['m.json', 'eval/roc.json', 'eval/confusion.png', 'eval/prc']);
  });

  it('reads remote, push, type, labels and meta on outputs; push: true is the default', () => {
    const s = one(`cmd: x
outs:
  - model.pkl:
      remote: models
      push: false
      type: model
      labels: [prod, cnn]
      meta: {framework: torch}
  - other:
      push: true`);
    expect(s.outs[0]).toEqual({
      path: 'model.pkl', repoPath: 'model.pkl', cache: true, persist: false, metric: false,
      remote: 'models', push: false, type: 'model', labels: ['prod', 'cnn'], meta: { framework: 'torch' },
    });
    expect(s.outs[1]!.push).toBeUndefined();
  });

  it('refuses wrong option types, plot options outside plots, and overlaps with plots', () => {
    const bad = [
      'outs: [{a: {push: no}}]', 'outs: [{a: {remote: 3}}]', 'outs: [{a: {remote: ""}}]', 'outs: [{a: {labels: a}}]',
      'outs: [{a: {labels: [1]}}]', 'outs: [{a: {type: [1]}}]', 'outs: [{a: {x: step}}]', 'metrics: [{a: {template: t}}]',
      'plots: [{a: {x: [1]}}]', 'plots: [{a: {header: 1}}]', 'plots: [{a: {checkpoint: true}}]', 'plots: a', 'plots: [{a: 1}]',
    ];
    for (const b of bad) {
      const e = rvcError(() => parse(`stages:\n  a:\n    cmd: x\n    ${b}\n`));
      expect(e.code, b).toBe('STAGE_INVALID');
      expect(e.line, b).toBe(4);
    }
    expect(rvcError(() => one('cmd: x\nouts: [p]\nplots: [p/roc.json]')).code).toBe('PATH_OVERLAPS');
    expect(rvcError(() => one('cmd: x\nplots: [/abs.json]')).code).toBe('PATH_UNSAFE');
  });
});

describe('top-level params, metrics, plots and artifacts', () => {
  const dvclive = `# written by DVCLive
metrics:
- dvclive/metrics.json
plots:
- dvclive/plots/metrics:
    x: step
- dvclive/plots/images
params:
- dvclive/params.yaml
artifacts:
  best-model:
    path: models/best.pt
    type: model
    desc: the best checkpoint
    labels: [cnn, v2]
    meta: {epochs: 10}
`;

  it('passes a top-level plot id that names its data file through the path check; a named plot of mapped files does not', () => {
    expect(rvcError(() => parse('plots:\n  - ../secret.json\n')).code).toBe('PATH_UNSAFE');
    expect(rvcError(() => parse('plots:\n  - /etc/passwd\n')).code).toBe('PATH_UNSAFE');
    expect(rvcError(() => parse('plots:\n  - .git/config:\n      x: a\n')).code).toBe('PATH_UNSAFE');
    expect(parse('plots:\n  - ROC/../curve:\n      y: {eval/roc.json: tpr}\n').plots?.map((x) => x.id)).toEqual(['ROC/../curve']);
  });

  it('reads a DVCLive file (no stages at all)', () => {
    const p = parse(dvclive);
    expect(p.stages).toEqual([]);
    expect(p.metrics).toEqual([{ path: 'dvclive/metrics.json', repoPath: 'dvclive/metrics.json' }]);
    expect(p.params).toEqual([{ path: 'dvclive/params.yaml', repoPath: 'dvclive/params.yaml' }]);
    expect(p.plots).toEqual([{ id: 'dvclive/plots/metrics', x: 'step' }, { id: 'dvclive/plots/images' }]);
    expect(p.artifacts).toEqual([{
      name: 'best-model', path: 'models/best.pt', repoPath: 'models/best.pt', type: 'model', desc: 'the best checkpoint',
      labels: ['cnn', 'v2'], meta: { epochs: 10 },
    }]);
  });

  it('reads the dvclive-matrix fixture: matrix outputs, plots and callback together', () => {
    const p = parse(readFileSync(new URL('../../fixtures/pipelines/dvclive-matrix/rvc.yaml', import.meta.url), 'utf8'));
    expect(p.stages.map((s) => s.name)).toEqual(['train@cnn-0.1', 'train@cnn-0.01', 'train@mlp-0.1', 'train@mlp-0.01', 'report', 'notify']);
    expect(p.stages[0]!.plots[0]).toMatchObject({ repoPath: 'plots/cnn-0.1.csv', cache: false, plot: { x: 'step', y: 'loss' } });
    expect(p.stages.filter(isCallbackStage).map((s) => s.name)).toEqual(['notify']);
    expect(p.artifacts!.map((a) => a.name)).toEqual(['cnn-model']);
  });

  it('leaves the sections out when they are not written', () => {
    const p = parse('stages:\n  a: {cmd: x}\n');
    expect(Object.keys(p).sort()).toEqual(['file', 'stages']);
  });

  it('reads plots as a mapping, with x/y mapping data files to columns and templates resolved', () => {
    const p = parse(`vars:
  - tpl: linear
plots:
  roc:
    x: {eval/a.json: fpr, eval/b.csv: fpr}
    y: {eval/a.json: tpr, eval/b.csv: [tpr, tpr2]}
    template: ${'${tpl}'}
    title: ROC
    x_label: x
    y_label: y
  eval/loss.tsv:
  eval/acc.json: {y: [acc, val_acc]}
stages: {}
`);
    expect(p.plots).toEqual([
      { id: 'roc', x: { 'eval/a.json': 'fpr', 'eval/b.csv': 'fpr' }, y: { 'eval/a.json': 'tpr', 'eval/b.csv': ['tpr', 'tpr2'] }, template: 'linear', title: 'ROC', x_label: 'x', y_label: 'y' },
      { id: 'eval/loss.tsv' },
      { id: 'eval/acc.json', y: ['acc', 'val_acc'] },
    ]);
  });

  it('refuses malformed sections with the line', () => {
    const cases: [string, string, number][] = [
      ['metrics: m.json\n', 'PIPELINE_INVALID', 1],
      ['metrics:\n  - 3\n', 'PIPELINE_INVALID', 2],
      ['metrics:\n  - /etc/m.json\n', 'PATH_UNSAFE', 2],
      ['params:\n  - ../p.yaml\n', 'PATH_UNSAFE', 2],
      ['params:\n  - p.ini\n', 'PARAMS_INVALID', 2],
      ['plots: 3\n', 'PIPELINE_INVALID', 1],
      ['plots:\n  - {a: {}, b: {}}\n', 'PIPELINE_INVALID', 2],
      ['plots:\n  a:\n    colour: red\n', 'PIPELINE_INVALID', 3],
      ['plots:\n  a:\n    x: [1]\n', 'PIPELINE_INVALID', 3],
      ['plots:\n  a:\n    y: {../out.json: v}\n', 'PATH_UNSAFE', 3],
      ['plots:\n  - a\n  - a\n', 'PIPELINE_INVALID', 3],
      ['artifacts: [a]\n', 'PIPELINE_INVALID', 1],
      ['artifacts:\n  Model:\n    path: m.pt\n', 'PIPELINE_INVALID', 3],
      ['artifacts:\n  m:\n    type: model\n', 'PIPELINE_INVALID', 3],
      ['artifacts:\n  m:\n    path: m.pt\n    owner: x\n', 'PIPELINE_INVALID', 4],
      ['artifacts:\n  m:\n    path: m.pt\n    labels: x\n', 'PIPELINE_INVALID', 4],
      ['artifacts:\n  m:\n    path: .git/config\n', 'PATH_UNSAFE', 3],
    ];
    for (const [text, code, line] of cases) {
      const e = rvcError(() => parse(text));
      expect(e.code, text).toBe(code);
      expect(e.line, text).toBe(line);
      expect(e.message, text).not.toContain("stage ''");
    }
  });

  it('counts top-level params and metrics files as the project\'s', () => {
    const p = parse(`params: [dvclive/params.yaml, p.yaml]
metrics: [dvclive/metrics.json]
stages:
  s:
    cmd: x
    params: [{p.yaml: [lr]}, {q.yaml: [a]}]
    metrics: [m.json]
`);
    const project = mergePipelines([p]);
    expect(metricsFiles([project])).toEqual(['dvclive/metrics.json', 'm.json']);
    expect(trackedParams([project])).toEqual(new Map([['dvclive/params.yaml', null], ['p.yaml', null], ['q.yaml', new Set(['a'])]]));
  });
});

describe('callback stages', () => {
  it('is a command with no deps, params or outputs', () => {
    expect(isCallbackStage(one('cmd: curl -X POST hook'))).toBe(true);
    for (const f of ['deps: [a]', 'params: [lr]', 'outs: [o]', 'metrics: [m.json]', 'plots: [p.json]']) {
      expect(isCallbackStage(one(`cmd: x\n${f}`)), f).toBe(false);
    }
  });
});

describe('fields rvc does not act on survive edits', () => {
  const text = `# experiment pipeline
vars:
  - n: 3
stages:
  train:
    matrix:
      model: [cnn, xgb]
    cmd: train \${item.model}
    outs:
      - models/\${item.model}.pkl:
          push: false
  evaluate:  # scores the model
    cmd: python eval.py
    meta: {owner: ana}
    plots:
      - eval/roc.json: {x: fpr, y: tpr}
  notify:
    cmd: curl hook
metrics:
  - dvclive/metrics.json
plots:
  - dvclive/plots/metrics: {x: step}
params:
  - dvclive/params.yaml
artifacts:
  model: {path: models/cnn.pkl, type: model}
`;

  it('stage add --force of one stage keeps the other stages\' meta, plots, the top-level sections and comments', () => {
    const before = parse(text);
    const out = addStage(text, 'notify', { cmd: 'curl other-hook' }, 'rvc.yaml', { force: true });
    const after = parse(out);
    expect(out).toContain('# experiment pipeline');
    expect(out).toContain('# scores the model');
    expect(after.stages.find((s) => s.name === 'notify')!.cmd).toEqual(['curl other-hook']);
    // Only the replaced stage's lines change: every other byte stays.
    expect(out).toBe(text.replace('curl hook', 'curl other-hook'));
    const rest = (p: typeof before) => ({ ...p, stages: p.stages.filter((s) => s.name !== 'notify') });
    expect(rest(after)).toEqual(rest(before));
    expect(after.stages.find((s) => s.name === 'evaluate')).toMatchObject({ meta: { owner: 'ana' }, plots: [{ repoPath: 'eval/roc.json', plot: { x: 'fpr', y: 'tpr' } }] });
    expect(after.stages.filter((s) => s.generatedFrom?.name === 'train').map((s) => s.outs[0]!.push)).toEqual([false, false]);
  });

  it('stage add --force of a stage written in flow style, or in the middle, keeps the rest byte for byte', () => {
    const flow = 'stages:\n  a: {cmd: x}  # first\n  b:\n    cmd: y\nmetrics: [m.json]\n';
    expect(addStage(flow, 'a', { cmd: 'z', outs: ['o'] }, 'rvc.yaml', { force: true })).toBe('stages:\n  a:\n    cmd: z\n    outs:\n      - o  # first\n  b:\n    cmd: y\nmetrics: [m.json]\n');
    const mid = addStage(text, 'evaluate', { cmd: 'python eval2.py' }, 'rvc.yaml', { force: true });
    expect(mid).toContain('  evaluate:\n    cmd: python eval2.py\n  notify:\n');
    expect(mid.startsWith(text.slice(0, text.indexOf('  evaluate:')))).toBe(true);
    expect(mid.endsWith(text.slice(text.indexOf('  notify:')))).toBe(true);
  });

  it('stage add of a new stage keeps them too, byte for byte', () => {
    const out = addStage(text, 'report', { cmd: 'make report', deps: ['eval/roc.json'] }, 'rvc.yaml');
    expect(out.startsWith(text.slice(0, text.indexOf('metrics:\n  - dvclive')))).toBe(true);
    const after = parse(out);
    expect(after.metrics).toEqual(parse(text).metrics);
    expect(after.artifacts).toEqual(parse(text).artifacts);
    expect(after.stages.map((s) => s.name)).toContain('report');
  });

  it('serialises meta, plots and the new output options so they parse back the same', () => {
    const p = parse(`stages:
  a:
    cmd: x
    outs: [{o: {remote: r, push: false, type: model, labels: [l], meta: {k: 1}}}]
    plots: [{p.json: {x: a, y: b, template: t, title: T, x_label: X, y_label: Y, header: false, cache: false}}, q.png]
    meta: false
`);
    const back = parse(serializePipeline(p.stages));
    const strip = (s: Stage) => ({ ...s, line: undefined });
    expect(back.stages.map(strip)).toEqual(p.stages.map(strip));
    expect(stageToDef(p.stages[0]!).meta).toBe(false);
  });
});

describe('push: false in the object sets', () => {
  const out = (oid: string, extra: Partial<Output>): Output => ({
    kind: 'stage', rel: oid, file: 'rvc.lock', where: oid, stage: 's', cached: true,
    out: { path: oid, oid: oid.repeat(64).slice(0, 64), hash: 'blake3', size: 1 } as Output['out'], ...extra,
  });

  it('is left out of what push uploads and optional to fetch; another output of the same object still needs it', () => {
    const a = out('a', { push: false });
    const b = out('b', {});
    const push = ObjectSet.of([{ output: a }, { output: b }], { forPush: true });
    expect([...push.groups.get('blake3')!]).toEqual([b.out.oid]);
    const fetch = ObjectSet.of([{ output: a }, { output: b }]);
    expect(fetch.has('blake3', a.out.oid)).toBe(true);
    expect(fetch.optional.has(a.out.oid)).toBe(true);
    expect(fetch.optional.has(b.out.oid)).toBe(false);
    const shared = out('c', { out: a.out });
    const both = ObjectSet.of([{ output: a }, { output: shared }], { forPush: true });
    expect(both.has('blake3', a.out.oid)).toBe(true);
    expect(ObjectSet.of([{ output: a }, { output: shared }]).optional.has(a.out.oid)).toBe(false);
  });
});
