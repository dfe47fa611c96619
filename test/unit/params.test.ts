import { describe, expect, it } from 'vitest';
import { rvcError } from '../helpers/errors.js';
import {
  diffMetrics, diffParams, flatNumericYaml, flattenValues, getByDotPath, locateJsonError, parseParamsFile, selectParams, splitKeyPath,
} from '../../src/model/params.js';
import { parseYamlLocated } from '../../src/model/yaml.js';
import { canonicalJson, deepEqual, sortKeysDeep } from '../../src/model/values.js';
import { table } from '../../src/cli/actions/params.js';


describe('parseParamsFile', () => {
  it('reads YAML by extension (.yaml and .yml)', () => {
    const text = 'lr: 0.01\ntrain:\n  epochs: 10\n  layers: [64, 32]\n';
    expect(parseParamsFile(text, 'params.yaml')).toEqual({ lr: 0.01, train: { epochs: 10, layers: [64, 32] } });
    expect(parseParamsFile(text, 'conf/p.YML')).toEqual({ lr: 0.01, train: { epochs: 10, layers: [64, 32] } });
  });

  it('reads JSON by extension', () => {
    expect(parseParamsFile('{"a": {"b": [1, 2]}, "c": null}', 'p.json')).toEqual({ a: { b: [1, 2] }, c: null });
  });

  it('treats an empty YAML file as no parameters', () => {
    expect(parseParamsFile('', 'params.yaml')).toEqual({});
    expect(parseParamsFile('# only a comment\n', 'params.yaml')).toEqual({});
  });

  it('names the file and line of a JSON syntax error', () => {
    const e = rvcError(() => parseParamsFile('{\n  "a": 1,\n  "b": 2,\n}\n', 'conf/p.json'));
    expect(e.code).toBe('PARAMS_INVALID');
    expect(e.path).toBe('conf/p.json');
    expect(e.line).toBe(4);
    expect(e.message).toContain('conf/p.json:4');
  });

  it('names the file and line of a YAML syntax error', () => {
    const e = rvcError(() => parseParamsFile('a: 1\nb: [1, 2\nc: 3\n', 'params.yaml'));
    expect(e.code).toBe('PARAMS_INVALID');
    expect(e.path).toBe('params.yaml');
    expect(e.line).toBeGreaterThanOrEqual(2);
  });

  it('refuses a top level that is not a mapping', () => {
    expect(rvcError(() => parseParamsFile('- 1\n- 2\n', 'params.yaml')).code).toBe('PARAMS_INVALID');
    expect(rvcError(() => parseParamsFile('[1]', 'p.json')).code).toBe('PARAMS_INVALID');
    expect(rvcError(() => parseParamsFile('3', 'p.json')).code).toBe('PARAMS_INVALID');
  });

  it('reads TOML with dates as ISO text, large integers as numbers, and located errors', () => {
    const v = parseParamsFile([
      'lr = 0.1',
      'when = 1979-05-27T07:32:00-08:00',
      'day = 1979-05-27',
      'at = 07:32:00.250',
      'big = 123456789012345678901',
      '[train]',
      'layers = [64, 32]',
      '"__proto__" = { polluted = 1 }',
      '[[runs]]',
      'seed = 1',
    ].join('\n'), 'conf/p.toml');
    expect(v).toEqual({
      lr: 0.1, when: '1979-05-27T07:32:00-08:00', day: '1979-05-27', at: '07:32:00.250', big: 123456789012345680000,
      train: { layers: [64, 32], ['__proto__']: { polluted: 1 } }, runs: [{ seed: 1 }],
    });
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.getPrototypeOf((v as { train: object }).train)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    const e = rvcError(() => parseParamsFile('a = 1\nb = = 2\n', 'conf/p.toml'));
    expect(e.code).toBe('PARAMS_INVALID');
    expect(e.line).toBe(2);
    expect(e.message).toMatch(/^conf\/p\.toml:2: invalid TOML: /);
  });

  it('refuses unsupported file types with a hint', () => {
    const e = rvcError(() => parseParamsFile('a = 1', 'params.ini'));
    expect(e.code).toBe('PARAMS_INVALID');
    expect(e.hint).toContain('.json');
  });

  it('refuses duplicate keys in YAML', () => {
    expect(rvcError(() => parseParamsFile('a: 1\na: 2\n', 'params.yaml')).code).toBe('PARAMS_INVALID');
  });
});

describe('parseYamlLocated', () => {
  it('adds the line to syntax errors', () => {
    const e = rvcError(() => parseYamlLocated('a: 1\nb: 2\nc: [x, ${y}]\n', 'f.yaml'));
    expect(e.code).toBe('YAML_INVALID');
    expect(e.line).toBe(3);
    expect(e.message).toMatch(/^f\.yaml:3: /);
  });
});

describe('locateJsonError', () => {
  it('points at the first offending character', () => {
    const t = '{"a": [1, 2,, 3]}';
    expect(t[locateJsonError(t)]).toBe(',');
    expect(locateJsonError('{"a": tru}')).toBe(6);
    expect(locateJsonError('{"a": 1')).toBe(7);
  });
  it('survives deep nesting', () => {
    const t = '['.repeat(100_000);
    expect(locateJsonError(t)).toBeGreaterThan(0);
  });
});

describe('splitKeyPath / getByDotPath', () => {
  const obj = { a: { b: { c: 3 } }, list: [10, { x: 'y' }], n: null, '0': 'zero' };

  it('splits dots and brackets', () => {
    expect(splitKeyPath('a.b.c')).toEqual(['a', 'b', 'c']);
    expect(splitKeyPath('a.list[0].x')).toEqual(['a', 'list', 0, 'x']);
    expect(splitKeyPath('a.0')).toEqual(['a', '0']);
    for (const bad of ['', '.a', 'a.', 'a..b', 'a[x]', '[0]a.']) expect(splitKeyPath(bad)).toBeUndefined();
  });

  it('looks up nested keys and list elements (a.list.0 and a.list[0])', () => {
    expect(getByDotPath(obj, 'a.b.c')).toBe(3);
    expect(getByDotPath(obj, 'list.0')).toBe(10);
    expect(getByDotPath(obj, 'list[1].x')).toBe('y');
    expect(getByDotPath(obj, 'list.1.x')).toBe('y');
    expect(getByDotPath(obj, '0')).toBe('zero');
    expect(getByDotPath(obj, ['a', 'b'])).toEqual({ c: 3 });
  });

  it('distinguishes missing (undefined) from null', () => {
    expect(getByDotPath(obj, 'n')).toBeNull();
    expect(getByDotPath(obj, 'missing')).toBeUndefined();
    expect(getByDotPath(obj, 'a.b.c.d')).toBeUndefined();
    expect(getByDotPath(obj, 'list.2')).toBeUndefined();
    expect(getByDotPath(obj, 'list.-1')).toBeUndefined();
    expect(getByDotPath(obj, 'n.x')).toBeUndefined();
  });

  it('never finds inherited properties', () => {
    expect(getByDotPath(obj, 'constructor')).toBeUndefined();
    expect(getByDotPath(obj, 'a.toString')).toBeUndefined();
    expect(getByDotPath(obj, 'list.length')).toBeUndefined();
    expect(getByDotPath(obj, '__proto__')).toBeUndefined();
  });
});

describe('selectParams', () => {
  const p = { lr: 0.1, train: { epochs: 5, opt: { name: 'adam' } }, seed: 1 };

  it('returns a flat map of the requested dot paths', () => {
    expect(selectParams(p, ['train.opt.name', 'lr', 'lr'])).toEqual({ lr: 0.1, 'train.opt.name': 'adam' });
  });

  it('returns every top-level key for null', () => {
    expect(selectParams(p, null)).toEqual({ lr: 0.1, seed: 1, train: { epochs: 5, opt: { name: 'adam' } } });
  });

  it('names every missing key', () => {
    const e = rvcError(() => selectParams(p, ['lr', 'nope', 'train.x'], 'params.yaml'));
    expect(e.code).toBe('PARAMS_INVALID');
    expect(e.details).toEqual({ missing: ['nope', 'train.x'] });
    expect(e.message).toContain('nope');
  });

  it('keeps a __proto__ key as data', () => {
    const parsed = parseParamsFile('{"__proto__": {"polluted": 1}}', 'p.json');
    const sel = selectParams(parsed, null);
    expect(Object.keys(sel)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('diffParams', () => {
  it('lists added, removed and modified keys, sorted', () => {
    const changes = diffParams(
      { 'params.yaml': { lr: 0.1, seed: 1, layers: [1, 2] }, 'old.json': { x: 1 } },
      { 'params.yaml': { lr: 0.2, layers: [1, 2], epochs: 3 }, 'new.json': { y: 2 } },
    );
    expect(changes).toEqual([
      { file: 'new.json', key: 'y', kind: 'added', new: 2 },
      { file: 'old.json', key: 'x', kind: 'removed', old: 1 },
      { file: 'params.yaml', key: 'epochs', kind: 'added', new: 3 },
      { file: 'params.yaml', key: 'lr', kind: 'modified', old: 0.1, new: 0.2 },
      { file: 'params.yaml', key: 'seed', kind: 'removed', old: 1 },
    ]);
  });

  it('compares objects and lists deeply, ignoring key order', () => {
    expect(diffParams({ f: { a: { x: 1, y: [1, { z: 2 }] } } }, { f: { a: { y: [1, { z: 2 }], x: 1 } } })).toEqual([]);
    expect(diffParams({ f: { a: [1, 2] } }, { f: { a: [2, 1] } })).toHaveLength(1);
    expect(diffParams({ f: { a: null } }, { f: { a: null } })).toEqual([]);
    expect(diffParams({ f: { a: null } }, { f: {} })).toEqual([{ file: 'f', key: 'a', kind: 'removed', old: null }]);
  });
});

describe('diffMetrics', () => {
  it('computes numeric changes', () => {
    const d = diffMetrics(
      { 'metrics.json': { acc: 0.5, loss: 1, name: 'a', same: 3 } },
      { 'metrics.json': { acc: 0.75, loss: 1, name: 'b', same: 3, f1: 0.9 } },
    );
    expect(d).toEqual([
      { path: 'metrics.json', key: 'acc', old: 0.5, new: 0.75, change: 0.25 },
      { path: 'metrics.json', key: 'f1', new: 0.9 },
      { path: 'metrics.json', key: 'name', old: 'a', new: 'b' },
    ]);
  });

  it('lists unchanged metrics with all', () => {
    const d = diffMetrics({ m: { a: 1 } }, { m: { a: 1 } }, { all: true });
    expect(d).toEqual([{ path: 'm', key: 'a', old: 1, new: 1, change: 0 }]);
  });

  it('works on flattened nested metric files', () => {
    const a = flattenValues(parseParamsFile('{"train": {"acc": 0.5}, "per_class": [0.1, 0.2]}', 'm.json'));
    const b = flattenValues(parseParamsFile('{"train": {"acc": 0.6}, "per_class": [0.1, 0.3]}', 'm.json'));
    expect(a).toEqual({ 'train.acc': 0.5, 'per_class.0': 0.1, 'per_class.1': 0.2 });
    const d = diffMetrics({ 'm.json': a }, { 'm.json': b });
    expect(d.map((c) => c.key)).toEqual(['per_class.1', 'train.acc']);
    expect(d[1]!.change).toBeCloseTo(0.1);
  });
});

describe('value helpers', () => {
  it('deepEqual treats NaN as equal and compares structure', () => {
    expect(deepEqual(NaN, NaN)).toBe(true);
    expect(deepEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBe(true);
    expect(deepEqual({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(deepEqual([1], { 0: 1 })).toBe(false);
    expect(deepEqual(null, {})).toBe(false);
  });

  it('sortKeysDeep and canonicalJson give one form for equal values', () => {
    expect(Object.keys(sortKeysDeep({ b: 1, a: { d: 1, c: 2 } }) as object)).toEqual(['a', 'b']);
    expect(canonicalJson({ b: [1, { y: 1, x: 2 }], a: 1 })).toBe('{"a":1,"b":[1,{"x":2,"y":1}]}');
    expect(canonicalJson({ x: Infinity })).toBe('{"x":"number:Infinity"}');
  });
});

describe('table (params, metrics and diff output)', () => {
  it('pads columns to their widest cell, for more rows than a call takes arguments', () => {
    // Math.max(...column) overflowed the stack at about 125,000 rows.
    expect(table([['Path', 'Param'], ['params.yaml', 'lr'], ['p', 'epochs']])).toBe('Path         Param\nparams.yaml  lr\np            epochs\n');
    const rows = [['Key', 'Value']];
    for (let i = 0; i < 300_000; i++) rows.push([`k${i}`, String(i)]);
    const lines = table(rows).split('\n');
    expect(lines).toHaveLength(300_002);
    expect(lines[1]).toBe('k0       0');
    expect(lines[300_000]).toBe('k299999  299999');
  });
});

describe('environmentDrift', () => {
  it('lists the values that differ, key by key, with added and removed keys', async () => {
    const { environmentDrift } = await import('../../src/model/environment.js');
    expect(environmentDrift({ cpu: { cores: 16 }, tools: { torch: '2.1.0' }, os: 'Linux' }, { cpu: { cores: 8 }, tools: { torch: '2.1.0', cuda: '12' }, os: 'Linux' }))
      .toEqual([{ key: 'cpu.cores', from: 16, to: 8 }, { key: 'tools.cuda', to: '12' }]);
    expect(environmentDrift(undefined, undefined)).toEqual([]);
  });
});

describe('flatNumericYaml (the params fast path)', () => {
  it('reads `name: number` files exactly as the YAML parser does, and leaves every other text to it', () => {
    const flat = ['seed: 1\nlr: 0.001\n', 'a: -3\nb_2: 10.50\nc: 0', 'x: 12345678901234567890\n'];
    for (const t of flat) {
      expect(flatNumericYaml(t)).toBeDefined();
      expect(flatNumericYaml(t)).toEqual(parseYamlLocated(t, 'p.yaml').value);
    }
    const others = ['epochs: 007\n', 'a: 1\na: 2\n', '__proto__: 1\n', 'a: 1 # note\n', 'a: 1e5\n', 'a: yes\n', 'a: .5\n', 'a:\n  b: 1\n', '', 'a: 1\r\n', '# c\na: 1\n', 'a: +1\n'];
    for (const t of others) expect(flatNumericYaml(t), JSON.stringify(t)).toBeUndefined();
  });
});
