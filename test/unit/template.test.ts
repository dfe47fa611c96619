import { describe, expect, it } from 'vitest';
import { rvcError } from '../helpers/errors.js';
import {
  Budget, buildContext, defaultContext, foreachExpansions, hasTemplate, matrixExpansions, parseTemplate,
  resolveString, resolveValue, MAX_GENERATED_STAGES, MAX_STRING_LENGTH, type Context,
} from '../../src/model/template.js';


const where = { file: 'rvc.yaml', stage: 'train', line: 7 };
const ctx: Context = {
  name: 'resnet',
  lr: 0.001,
  epochs: 10,
  fast: true,
  nothing: null,
  model: { arch: { depth: 50 }, layers: [64, 128, 256] },
  list: ['a', 'b', 'c'],
  'my-key': 'dash',
};

describe('parseTemplate / hasTemplate', () => {
  it('splits literals and references', () => {
    expect(parseTemplate('python ${ name }.py --lr ${lr}', where)).toEqual([
      { lit: 'python ' }, { expr: 'name' }, { lit: '.py --lr ' }, { expr: 'lr' },
    ]);
  });
  it('treats \\${ as a literal', () => {
    expect(hasTemplate('echo \\${HOME}')).toBe(false);
    expect(hasTemplate('echo ${x}')).toBe(true);
    expect(resolveString('echo \\${HOME} ${name}', ctx, where)).toBe('echo ${HOME} resnet');
  });
  it('refuses unterminated and malformed references', () => {
    expect(rvcError(() => resolveString('echo ${name', ctx, where)).code).toBe('PIPELINE_INVALID');
    expect(rvcError(() => resolveString('echo ${a b}', ctx, where)).code).toBe('PIPELINE_INVALID');
    expect(rvcError(() => resolveString('echo ${}', ctx, where)).code).toBe('PIPELINE_INVALID');
    expect(rvcError(() => resolveString('${a.}', ctx, where)).code).toBe('PIPELINE_INVALID');
    expect(rvcError(() => resolveString('${a[x]}', ctx, where)).code).toBe('PIPELINE_INVALID');
  });
});

describe('resolveString', () => {
  it('keeps the type of a value that is exactly one reference', () => {
    expect(resolveString('${lr}', ctx, where)).toBe(0.001);
    expect(resolveString('${fast}', ctx, where)).toBe(true);
    expect(resolveString('${nothing}', ctx, where)).toBeNull();
    expect(resolveString('${model.layers}', ctx, where)).toEqual([64, 128, 256]);
    expect(resolveString('${model.arch}', ctx, where)).toEqual({ depth: 50 });
  });

  it('returns copies, so stages never share mutable values', () => {
    const v = resolveString('${model.layers}', ctx, where) as number[];
    v.push(1);
    expect((ctx['model'] as { layers: number[] }).layers).toHaveLength(3);
  });

  it('interpolates scalars into text', () => {
    expect(resolveString('train.py --lr ${lr} --epochs ${epochs} --fast ${fast} --x ${nothing}', ctx, where))
      .toBe('train.py --lr 0.001 --epochs 10 --fast true --x null');
  });

  it('follows nested keys and list indices', () => {
    expect(resolveString('${model.arch.depth}', ctx, where)).toBe(50);
    expect(resolveString('d${model.layers[1]}', ctx, where)).toBe('d128');
    expect(resolveString('${model.layers.2}', ctx, where)).toBe(256);
    expect(resolveString('${list[0]}${list[2]}', ctx, where)).toBe('ac');
    expect(resolveString('${my-key}', ctx, where)).toBe('dash');
  });

  it('reports an undefined variable with the stage, the variable and the file', () => {
    const e = rvcError(() => resolveString('python ${model.width}', ctx, where));
    expect(e.code).toBe('PIPELINE_INVALID');
    expect(e.path).toBe('rvc.yaml');
    expect(e.line).toBe(7);
    expect(e.message).toContain("stage 'train'");
    expect(e.message).toContain("'model.width'");
    expect(e.hint).toContain('model');
  });

  it('does not find inherited properties', () => {
    expect(rvcError(() => resolveString('${constructor}', ctx, where)).code).toBe('PIPELINE_INVALID');
    expect(rvcError(() => resolveString('${list.length}', ctx, where)).code).toBe('PIPELINE_INVALID');
    expect(rvcError(() => resolveString('${list[3]}', ctx, where)).code).toBe('PIPELINE_INVALID');
  });

  it('refuses to interpolate a list or mapping into text', () => {
    const e = rvcError(() => resolveString('train.py ${model.layers}', ctx, where));
    expect(e.code).toBe('PIPELINE_INVALID');
    expect(e.hint).toContain('${model.layers[0]}');
  });

  it('caps the length of interpolated strings', () => {
    const big = { s: 'x'.repeat(MAX_STRING_LENGTH / 2 + 1) };
    expect(rvcError(() => resolveString('${s}${s}', big, where)).code).toBe('PIPELINE_INVALID');
  });
});

describe('resolveValue', () => {
  it('resolves strings in lists and mappings, including keys', () => {
    expect(resolveValue({ cmd: 'run ${name}', outs: ['m/${name}.pkl', { '${name}.json': { cache: '${fast}' } }], n: 3 }, ctx, where))
      .toEqual({ cmd: 'run resnet', outs: ['m/resnet.pkl', { 'resnet.json': { cache: true } }], n: 3 });
  });

  it('refuses keys that resolve to non-text or collide', () => {
    expect(rvcError(() => resolveValue({ '${model}': 1 }, ctx, where)).code).toBe('PIPELINE_INVALID');
    expect(rvcError(() => resolveValue({ '${name}': 1, resnet: 2 }, ctx, where)).code).toBe('PIPELINE_INVALID');
  });

  it('stops runaway expansion through the budget', () => {
    const huge = { l: Array.from({ length: 1000 }, (_, i) => i) };
    const budget = new Budget(5000);
    expect(rvcError(() => {
      for (let i = 0; i < 10; i++) resolveValue(['${l}'], huge, where, budget);
    }).code).toBe('PIPELINE_INVALID');
  });
});

describe('buildContext', () => {
  const files: Record<string, unknown> = {
    'params.yaml': { lr: 0.1, train: { epochs: 3, batch: 32 } },
    'conf/extra.json': { seed: 7, deep: { a: { b: 1 } }, other: 2 },
    'list.yaml': [1, 2],
  };
  const load = (p: string) => files[p];

  it('merges mappings and files, whole or by key', () => {
    const c = buildContext([{ name: 'x' }, 'params.yaml', 'conf/extra.json:seed,deep.a.b'], {}, { file: 'rvc.yaml', loadVarsFile: load });
    expect(c).toEqual({ name: 'x', lr: 0.1, train: { epochs: 3, batch: 32 }, seed: 7, deep: { a: { b: 1 } } });
  });

  it('does not modify the base context', () => {
    const base = { a: { b: 1 } };
    buildContext([{ a: { c: 2 } }], base, { file: 'rvc.yaml' });
    expect(base).toEqual({ a: { b: 1 } });
  });

  it('refuses to redefine a name with another value, accepts the same value', () => {
    const e = rvcError(() => buildContext([{ lr: 1 }, { lr: 2 }], {}, { file: 'rvc.yaml' }));
    expect(e.code).toBe('PIPELINE_INVALID');
    expect(e.message).toContain("'lr'");
    expect(buildContext([{ lr: 1, t: { a: 1 } }, { lr: 1, t: { b: 2 } }], {}, { file: 'rvc.yaml' })).toEqual({ lr: 1, t: { a: 1, b: 2 } });
  });

  it('reports missing files, missing keys and files that are not mappings', () => {
    expect(rvcError(() => buildContext(['nope.yaml'], {}, { file: 'rvc.yaml', loadVarsFile: load })).message).toContain('nope.yaml');
    expect(rvcError(() => buildContext(['params.yaml:zzz'], {}, { file: 'rvc.yaml', loadVarsFile: load })).message).toContain('zzz');
    expect(rvcError(() => buildContext(['list.yaml'], {}, { file: 'rvc.yaml', loadVarsFile: load })).code).toBe('PIPELINE_INVALID');
    expect(rvcError(() => buildContext(['params.yaml'], {}, { file: 'rvc.yaml' })).hint).toContain('loadVarsFile');
  });

  it('refuses vars that are not a list of mappings and names', () => {
    expect(rvcError(() => buildContext({ a: 1 }, {}, { file: 'rvc.yaml' })).code).toBe('PIPELINE_INVALID');
    expect(rvcError(() => buildContext([3], {}, { file: 'rvc.yaml' })).code).toBe('PIPELINE_INVALID');
  });

  it('loads params.yaml by default and only once', () => {
    let calls = 0;
    const counting = (p: string) => { calls++; return files[p]; };
    const { ctx: c, loaded } = defaultContext({ file: 'rvc.yaml', loadVarsFile: counting });
    expect(c).toEqual({ lr: 0.1, train: { epochs: 3, batch: 32 } });
    buildContext(['params.yaml'], c, { file: 'rvc.yaml', loadVarsFile: counting, loaded });
    expect(calls).toBe(1);
    expect(defaultContext({ file: 'rvc.yaml', loadVarsFile: () => undefined }).ctx).toEqual({});
    expect(defaultContext({ file: 'rvc.yaml' }).ctx).toEqual({});
  });
});

describe('foreach and matrix', () => {
  it('names scalar list elements by value', () => {
    expect(foreachExpansions(['us', 'eu', 3], {}, where)).toEqual([
      { key: 'us', vars: { item: 'us' } }, { key: 'eu', vars: { item: 'eu' } }, { key: '3', vars: { item: 3 } },
    ]);
  });

  it('names elements of a list holding mappings by index', () => {
    expect(foreachExpansions([{ a: 1 }, 'x'], {}, where).map((e) => e.key)).toEqual(['0', '1']);
  });

  it('iterates over a mapping with key and item', () => {
    expect(foreachExpansions({ small: { n: 1 }, big: { n: 9 } }, {}, where)).toEqual([
      { key: 'small', vars: { key: 'small', item: { n: 1 } } },
      { key: 'big', vars: { key: 'big', item: { n: 9 } } },
    ]);
  });

  it('refuses scalars, too many elements and a clash with vars', () => {
    expect(rvcError(() => foreachExpansions('abc', {}, where)).code).toBe('PIPELINE_INVALID');
    expect(rvcError(() => foreachExpansions(Array.from({ length: MAX_GENERATED_STAGES + 1 }, (_, i) => i), {}, where)).code).toBe('PIPELINE_INVALID');
    expect(rvcError(() => foreachExpansions([1], { item: 3 }, where)).hint).toContain('item');
  });

  it('generates the product of a matrix', () => {
    const ex = matrixExpansions({ model: ['cnn', 'mlp'], lr: [0.1, 0.01], cfg: [{ a: 1 }] }, {}, where);
    expect(ex.map((e) => e.key)).toEqual(['cnn-0.1-cfg0', 'cnn-0.01-cfg0', 'mlp-0.1-cfg0', 'mlp-0.01-cfg0']);
    expect(ex[1]!.vars).toEqual({ item: { model: 'cnn', lr: 0.01, cfg: { a: 1 } } });
  });

  it('guards a matrix product before building it', () => {
    const dim = Array.from({ length: 1000 }, (_, i) => i);
    expect(rvcError(() => matrixExpansions({ a: dim, b: dim, c: dim }, {}, where)).code).toBe('PIPELINE_INVALID');
    expect(rvcError(() => matrixExpansions({ a: [] }, {}, where)).code).toBe('PIPELINE_INVALID');
    expect(rvcError(() => matrixExpansions([1, 2], {}, where)).code).toBe('PIPELINE_INVALID');
  });
});
