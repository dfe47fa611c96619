import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parse as parseYamlPlain } from 'yaml';
import { RvcError } from '../../src/errors.js';
import { rvcError } from '../helpers/errors.js';
import { allOutputs, stageInputs, type Stage } from '../../src/model/pipeline/types.js';
import { parsePipeline, STAGE_FIELDS } from '../../src/model/pipeline/parse.js';
import { resolveEnv, stageFingerprint } from '../../src/model/pipeline/fingerprint.js';
import { addStage, removeStage, serializePipeline, stageToDef } from '../../src/model/pipeline/edit.js';
import { buildGraph, topoOrder } from '../../src/model/dag.js';
import { parseParamsFile } from '../../src/model/params.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'pipelines');


const parse = (text: string, opts = {}) => parsePipeline(text, 'rvc.yaml', opts);
const one = (body: string): Stage => {
  const p = parse(`stages:\n  s:\n${body.replace(/^/gm, '    ')}\n`);
  expect(p.stages).toHaveLength(1);
  return p.stages[0]!;
};

describe('parsePipeline: fields', () => {
  it('reads every field', () => {
    const s = one(`desc: trains the model
cmd: python train.py
wdir: src
deps: [train.py, ../data/features]
params:
  - lr
  - train.epochs
  - ../conf/p.json: [a.b, c]
  - all.yaml:
outs:
  - ../models/model.pkl
  - ../logs:
      cache: false
      persist: true
      desc: training logs
metrics:
  - ../metrics.json:
      cache: false
env: [SEED, CUDA_VISIBLE_DEVICES]
frozen: true
always_changed: true`);
    expect(s).toMatchObject({
      name: 's', file: 'rvc.yaml', line: 3, cmd: ['python train.py'], wdir: 'src', desc: 'trains the model',
      frozen: true, alwaysChanged: true,
    });
    expect(s.deps).toEqual([
      { path: 'train.py', repoPath: 'src/train.py' },
      { path: '../data/features', repoPath: 'data/features' },
    ]);
    expect(s.outs).toEqual([
      { path: '../models/model.pkl', repoPath: 'models/model.pkl', cache: true, persist: false, metric: false },
      { path: '../logs', repoPath: 'logs', cache: false, persist: true, desc: 'training logs', metric: false },
    ]);
    expect(s.metrics).toEqual([{ path: '../metrics.json', repoPath: 'metrics.json', cache: false, persist: false, metric: true }]);
    expect(s.params).toEqual([
      { file: '../conf/p.json', repoPath: 'conf/p.json', keys: ['a.b', 'c'] },
      { file: 'all.yaml', repoPath: 'src/all.yaml', keys: null },
      { file: 'params.yaml', repoPath: 'src/params.yaml', keys: ['lr', 'train.epochs'] },
    ]);
    expect(s.env).toEqual([{ name: 'CUDA_VISIBLE_DEVICES' }, { name: 'SEED' }]);
    expect(stageInputs(s)).toEqual(['src/train.py', 'data/features', 'conf/p.json', 'src/all.yaml', 'src/params.yaml']);
    expect(allOutputs(s).map((o) => o.repoPath)).toEqual(['models/model.pkl', 'logs', 'metrics.json']);
  });

  it('applies defaults', () => {
    expect(one('cmd: echo hi')).toEqual({
      name: 's', local: 's', file: 'rvc.yaml', line: 3, cmd: ['echo hi'], wdir: '.', deps: [], outs: [], metrics: [], plots: [],
      params: [], env: [], frozen: false, alwaysChanged: false,
    });
  });

  it('keeps a list of commands in order', () => {
    expect(one('cmd:\n  - make data\n  - make model').cmd).toEqual(['make data', 'make model']);
  });

  it('merges params of one file and treats [] and null as all keys', () => {
    expect(one('cmd: x\nparams: [b, a, {params.yaml: [c, a]}]').params).toEqual([{ file: 'params.yaml', repoPath: 'params.yaml', keys: ['a', 'b', 'c'] }]);
    expect(one('cmd: x\nparams: [{p.json: []}]').params[0]!.keys).toBeNull();
    expect(one('cmd: x\nparams: [a, {params.yaml: null}]').params[0]!.keys).toBeNull();
  });

  it('reads env as names or names with defaults', () => {
    expect(one('cmd: x\nenv: {SEED: "1", N: 4, FLAG: true, UNSET: null}').env).toEqual([
      { name: 'FLAG', default: 'true' }, { name: 'N', default: '4' }, { name: 'SEED', default: '1' }, { name: 'UNSET' },
    ]);
  });

  it('returns stages in file order and accepts an empty file', () => {
    expect(parse('stages:\n  z: {cmd: a}\n  a: {cmd: b}\n').stages.map((s) => s.name)).toEqual(['z', 'a']);
    expect(parse('').stages).toEqual([]);
    expect(parse('stages:\n').stages).toEqual([]);
    expect(parse('# nothing yet\n').stages).toEqual([]);
  });
});

describe('parsePipeline: errors', () => {
  it('reports malformed YAML with file and line', () => {
    const e = rvcError(() => parse('stages:\n  a:\n    cmd: x\n    deps: [a, b\n  b:\n    cmd: y\n'));
    expect(e.code).toBe('YAML_INVALID');
    expect(e.path).toBe('rvc.yaml');
    expect(e.line).toBeGreaterThanOrEqual(4);
    expect(e.message).toMatch(/^rvc\.yaml:\d+: /);
  });

  it('reports a template in a flow list (a YAML error) with its line', () => {
    const e = rvcError(() => parse('stages:\n  a:\n    cmd: x\n    outs: [m/${x}.pkl]\n'));
    expect(e.code).toBe('YAML_INVALID');
    expect(e.line).toBe(4);
  });

  it('reports duplicate keys', () => {
    expect(rvcError(() => parse('stages:\n  a: {cmd: x}\n  a: {cmd: y}\n')).code).toBe('YAML_INVALID');
  });

  it('reports an unknown stage field with the line and the allowed fields', () => {
    const e = rvcError(() => parse('stages:\n  train:\n    cmd: x\n    outputs: [a]\n'));
    expect(e.code).toBe('STAGE_INVALID');
    expect(e.line).toBe(4);
    expect(e.path).toBe('rvc.yaml');
    expect(e.message).toContain("'outputs'");
    expect(e.message).toContain("stage 'train'");
    for (const f of STAGE_FIELDS) expect(e.hint).toContain(f);
  });

  it('reports unknown top-level fields and bad shapes', () => {
    expect(rvcError(() => parse('stage:\n  a: {cmd: x}\n')).code).toBe('PIPELINE_INVALID');
    expect(rvcError(() => parse('- a\n')).code).toBe('PIPELINE_INVALID');
    expect(rvcError(() => parse('stages: [a]\n')).code).toBe('PIPELINE_INVALID');
    expect(rvcError(() => parse('stages:\n  a: python x.py\n')).code).toBe('STAGE_INVALID');
  });

  it('refuses cmd of the wrong type', () => {
    for (const cmd of ['42', 'true', '[]', '[a, 3]', '{a: b}', '""', '"  "', 'null']) {
      const e = rvcError(() => parse(`stages:\n  a:\n    cmd: ${cmd}\n`));
      expect(e.code, cmd).toBe('STAGE_INVALID');
      expect(e.line, cmd).toBe(3);
    }
    expect(rvcError(() => parse('stages:\n  a:\n    deps: [x]\n')).message).toContain("'cmd' is missing");
  });

  it('refuses wrong types of other fields', () => {
    const bad = [
      'deps: data', 'deps: [3]', 'outs: {a: b}', 'outs: [{a: {cache: maybe}}]', 'outs: [{a: {}, b: {}}]',
      'outs: [{a: {compress: true}}]', 'outs: [{a: [1]}]', 'frozen: yes', 'always_changed: 1', 'desc: 3', 'wdir: 3',
      'params: [3]', 'params: [{p.yaml: a}]', 'params: [{p.yaml: [3]}]', 'params: ["a b"]', 'env: [1X]', 'env: "X"',
      'env: [A, A]', 'env: {A: [1]}', 'deps: [a, a]', 'metrics: [{m.json: {desc: 3}}]',
    ];
    for (const b of bad) {
      const e = rvcError(() => parse(`stages:\n  a:\n    cmd: x\n    ${b}\n`));
      expect(['STAGE_INVALID', 'PARAMS_INVALID'], b).toContain(e.code);
      expect(e.line, b).toBe(4);
    }
  });

  it('accepts .toml and .py params files and refuses other types', () => {
    expect(rvcError(() => one('cmd: x\nparams: [{params.ini: [a]}]')).code).toBe('PARAMS_INVALID');
    for (const f of ['params.toml', 'src/train.py']) expect(one(`cmd: x\nparams: [{${f}: [a]}]`).params[0]!.repoPath).toBe(f);
  });

  it('refuses invalid stage names', () => {
    for (const n of ['"a b"', '"-x"', '"a@b"', '"a/b"', '"a:b"', `${'x'.repeat(300)}`]) {
      expect(rvcError(() => parse(`stages:\n  ${n}:\n    cmd: x\n`)).code, n).toBe('STAGE_INVALID');
    }
  });

  it('refuses absolute paths, naming the stage', () => {
    for (const p of ['/etc/passwd', 'C:/data', '\\\\server\\share', 'c:\\x']) {
      const e = rvcError(() => parse(`stages:\n  train:\n    cmd: x\n    deps:\n      - '${p}'\n`));
      expect(e.code, p).toBe('PATH_UNSAFE');
      expect(e.message, p).toContain("stage 'train'");
      expect(e.line, p).toBe(5);
    }
  });

  it('refuses paths that escape the repository after joining wdir', () => {
    expect(rvcError(() => parse('stages:\n  s:\n    cmd: x\n    outs: [../out]\n')).code).toBe('PATH_UNSAFE');
    expect(rvcError(() => parse('stages:\n  s:\n    cmd: x\n    wdir: a/b\n    deps: [../../../x]\n')).code).toBe('PATH_UNSAFE');
    expect(rvcError(() => parse('stages:\n  s:\n    cmd: x\n    deps: [a/../../x]\n')).code).toBe('PATH_UNSAFE');
    expect(rvcError(() => parse('stages:\n  s:\n    cmd: x\n    wdir: ..\n')).code).toBe('PATH_UNSAFE');
    expect(rvcError(() => parse('stages:\n  s:\n    cmd: x\n    wdir: /tmp\n')).code).toBe('PATH_UNSAFE');
    expect(rvcError(() => parse('stages:\n  s:\n    cmd: x\n    params: [{../p.yaml: [a]}]\n')).code).toBe('PATH_UNSAFE');
    // `..` that stays inside is fine
    expect(parse('stages:\n  s:\n    cmd: x\n    wdir: a/b\n    deps: [../../x]\n').stages[0]!.deps[0]!.repoPath).toBe('x');
  });

  it('refuses outputs in .git or .rvc, the repository root and URLs', () => {
    for (const p of ['.git/hooks/post-checkout', '.GIT/config', 'x/../.rvc/cache', '.', 'a/..', 's3://bucket/key']) {
      expect(rvcError(() => parse(`stages:\n  s:\n    cmd: x\n    outs: ['${p}']\n`)).code, p).toBe('PATH_UNSAFE');
    }
    expect(rvcError(() => parse('stages:\n  s:\n    cmd: x\n    wdir: .rvc\n')).code).toBe('PATH_UNSAFE');
  });

  it('refuses overlapping outputs within a stage', () => {
    expect(rvcError(() => one('cmd: x\nouts: [a, ./a]')).code).toBe('PATH_OVERLAPS');
    expect(rvcError(() => one('cmd: x\nouts: [data]\nmetrics: [data/m.json]')).code).toBe('PATH_OVERLAPS');
  });
});

describe('parsePipeline: templating', () => {
  const files: Record<string, unknown> = {
    'params.yaml': { train: { lr: 0.01, layers: [8, 16, 32] }, models: { small: { w: 1 }, large: { w: 9 } } },
    'conf/regions.json': { regions: ['us', 'eu'], unused: 1 },
    'sub/local.yaml': { local: 'yes' },
  };
  const opts = { loadVarsFile: (p: string) => files[p] };

  it('resolves vars, nested keys and list indices', () => {
    const p = parse(`vars:
  - name: resnet
    sizes: [1, 2]
stages:
  train:
    cmd: python train.py --lr \${train.lr} --w \${train.layers[1]} --s \${sizes.0} \${name}
    outs:
      - models/\${name}.pkl
`, opts);
    expect(p.stages[0]!.cmd).toEqual(['python train.py --lr 0.01 --w 16 --s 1 resnet']);
    expect(p.stages[0]!.outs[0]!.path).toBe('models/resnet.pkl');
  });

  it('keeps the type of whole-value references', () => {
    const p = parse('vars:\n  - cmds: [a, b]\n    f: true\nstages:\n  s:\n    cmd: ${cmds}\n    frozen: ${f}\n');
    expect(p.stages[0]!.cmd).toEqual(['a', 'b']);
    expect(p.stages[0]!.frozen).toBe(true);
  });

  it('expands foreach over a list of scalars', () => {
    const p = parse('stages:\n  build:\n    foreach: [us, eu, 3]\n    do:\n      cmd: make ${item}\n      outs: ["out/${item}"]\n');
    expect(p.stages.map((s) => [s.name, s.cmd[0], s.outs[0]!.repoPath])).toEqual([
      ['build@us', 'make us', 'out/us'], ['build@eu', 'make eu', 'out/eu'], ['build@3', 'make 3', 'out/3'],
    ]);
    expect(p.stages[0]!.generatedFrom).toEqual({ name: 'build', key: 'us' });
  });

  it('expands foreach over a list of mappings by index', () => {
    const p = parse('stages:\n  t:\n    foreach:\n      - {n: a, k: 1}\n      - {n: b, k: 2}\n    do:\n      cmd: run ${item.n} ${item.k}\n');
    expect(p.stages.map((s) => [s.name, s.cmd[0]])).toEqual([['t@0', 'run a 1'], ['t@1', 'run b 2']]);
  });

  it('expands foreach over a mapping with key and item', () => {
    const p = parse('stages:\n  t:\n    foreach: ${models}\n    do:\n      cmd: train ${key} --w ${item.w}\n', opts);
    expect(p.stages.map((s) => [s.name, s.cmd[0]])).toEqual([['t@small', 'train small --w 1'], ['t@large', 'train large --w 9']]);
  });

  it('expands foreach over a variable from a vars file', () => {
    const p = parse('vars:\n  - conf/regions.json:regions\nstages:\n  dl:\n    foreach: ${regions}\n    do:\n      cmd: fetch ${item}\n', opts);
    expect(p.stages.map((s) => s.name)).toEqual(['dl@us', 'dl@eu']);
  });

  it('expands a matrix', () => {
    const p = parse('stages:\n  t:\n    matrix:\n      m: [cnn, mlp]\n      lr: [1, 2]\n    do:\n      cmd: t ${item.m} ${item.lr}\n');
    expect(p.stages.map((s) => s.name)).toEqual(['t@cnn-1', 't@cnn-2', 't@mlp-1', 't@mlp-2']);
  });

  it('resolves stage-level vars relative to wdir', () => {
    const p = parse('stages:\n  s:\n    wdir: sub\n    vars: [local.yaml, {extra: 1}]\n    cmd: echo ${local} ${extra}\n', opts);
    expect(p.stages[0]!.cmd).toEqual(['echo yes 1']);
  });

  it('reports an undefined variable with the stage, the variable, the file and the line', () => {
    const e = rvcError(() => parse('stages:\n  prep:\n    cmd: ok\n  train:\n    cmd: python t.py ${train.momentum}\n', opts));
    expect(e.code).toBe('PIPELINE_INVALID');
    expect(e.path).toBe('rvc.yaml');
    expect(e.line).toBe(5);
    expect(e.message).toContain("stage 'train'");
    expect(e.message).toContain('train.momentum');
    const g = rvcError(() => parse('stages:\n  t:\n    foreach: [a]\n    do:\n      cmd: x\n      outs: ["${nope}"]\n'));
    expect(g.message).toContain("stage 't@a'");
    expect(g.line).toBe(6);
  });

  it('refuses foreach misuse', () => {
    const cases = [
      'stages:\n  t:\n    foreach: [a]\n    cmd: x\n',
      'stages:\n  t:\n    foreach: [a]\n',
      'stages:\n  t:\n    foreach: 3\n    do: {cmd: x}\n',
      'stages:\n  t:\n    foreach: [a, a]\n    do: {cmd: x}\n',
      'stages:\n  t:\n    foreach: ["a b"]\n    do: {cmd: x}\n',
      'stages:\n  t:\n    foreach: [a]\n    matrix: {x: [1]}\n    do: {cmd: x}\n',
      'stages:\n  t:\n    foreach: [a]\n    do: {cmd: x, bogus: 1}\n',
      'vars: [{item: 1}]\nstages:\n  t:\n    foreach: [a]\n    do: {cmd: x}\n',
    ];
    for (const c of cases) expect(['STAGE_INVALID', 'PIPELINE_INVALID'], c).toContain(rvcError(() => parse(c)).code);
  });

  it('guards runaway expansion', () => {
    const big = Array.from({ length: 200 }, (_, i) => i);
    const text = `vars:\n  - a: ${JSON.stringify(big)}\nstages:\n  t:\n    matrix: {x: "\${a}", y: "\${a}", z: "\${a}"}\n    do: {cmd: x}\n`;
    expect(rvcError(() => parse(text)).code).toBe('PIPELINE_INVALID');
    // 2,000 stages each copying a 2,000-element list: 4M values
    const l = Array.from({ length: 2000 }, (_, i) => `c${i}`);
    const text2 = `vars:\n  - l: ${JSON.stringify(l)}\nstages:\n  t:\n    foreach: \${l}\n    do: {cmd: "\${l}"}\n`;
    expect(rvcError(() => parse(text2)).code).toBe('PIPELINE_INVALID');
  });

  it('does not read params.yaml for a file without templates', () => {
    let calls = 0;
    parse('stages:\n  s: {cmd: x}\n', { loadVarsFile: () => { calls++; return undefined; } });
    expect(calls).toBe(0);
  });

  it('keeps escaped \\${ literal', () => {
    expect(one('cmd: echo \\${HOME}').cmd).toEqual(['echo ${HOME}']);
  });
});

describe('fingerprint and env', () => {
  const s = one('cmd: python t.py\ndeps: [b, a]\nparams: [lr]\nenv: {SEED: "1", HOME_DIR: null}\nouts: [m]');

  it('is canonical whatever the input order', () => {
    const f1 = stageFingerprint(s, { deps: { a: 'aa', b: 'bb' }, params: { 'params.yaml': { lr: 1, z: { y: 1, x: 2 } } }, env: { SEED: '1', HOME_DIR: null } });
    const f2 = stageFingerprint(s, { deps: { b: 'bb', a: 'aa' }, params: { 'params.yaml': { z: { x: 2, y: 1 }, lr: 1 } }, env: { HOME_DIR: null, SEED: '1' } });
    expect(f1.text).toBe(f2.text);
    expect(JSON.parse(f1.text)).toEqual(f1.value);
    expect(f1.text).toContain('"deps":[{"oid":"aa","path":"a"},{"oid":"bb","path":"b"}]');
  });

  it('changes when any input changes', () => {
    const base = { deps: { a: 'aa', b: 'bb' }, params: { 'params.yaml': { lr: 1 } }, env: { SEED: '1', HOME_DIR: null } };
    const t = stageFingerprint(s, base).text;
    expect(stageFingerprint(s, { ...base, deps: { a: 'aa', b: 'cc' } }).text).not.toBe(t);
    expect(stageFingerprint(s, { ...base, params: { 'params.yaml': { lr: 2 } } }).text).not.toBe(t);
    expect(stageFingerprint(s, { ...base, env: { SEED: '2', HOME_DIR: null } }).text).not.toBe(t);
    expect(stageFingerprint({ ...s, cmd: ['python t.py --fast'] }, base).text).not.toBe(t);
  });

  it('keeps an env variable named __proto__ as data', () => {
    const st = one('cmd: x\nenv: [__proto__]');
    const env = resolveEnv(st, {});
    expect(Object.keys(env)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(env)).toBe(Object.prototype);
    expect(stageFingerprint(st, { deps: {}, params: {}, env }).text).toContain('"env":{"__proto__":null}');
  });

  it('needs an oid for every dependency', () => {
    expect(rvcError(() => stageFingerprint(s, { deps: { a: 'aa' }, params: {}, env: {} })).code).toBe('INTERNAL');
  });

  it('resolves env values: set, default, unset', () => {
    expect(resolveEnv(s, { SEED: '7' })).toEqual({ HOME_DIR: null, SEED: '7' });
    expect(resolveEnv(s, {})).toEqual({ HOME_DIR: null, SEED: '1' });
    expect(resolveEnv(s, { HOME_DIR: '/h' })).toEqual({ HOME_DIR: '/h', SEED: '1' });
  });
});

describe('addStage / removeStage / serializePipeline', () => {
  const existing = `# Pipeline of the churn model.
stages:
  prepare:   # keep this comment
    cmd: python prep.py
    outs:
      - data/prepared   # prepared rows

  # evaluation comes later
`;

  it('appends a stage and keeps comments', () => {
    const out = addStage(existing, 'train', {
      cmd: 'python train.py', deps: ['data/prepared'], outs: ['model.pkl', { 'metrics.json': { cache: false } }], frozen: false,
    }, 'rvc.yaml');
    expect(out).toContain('# Pipeline of the churn model.');
    expect(out).toContain('# keep this comment');
    expect(out).toContain('# prepared rows');
    expect(out).toContain('# evaluation comes later');
    // the existing text is kept byte for byte; the stage is appended after it
    expect(out.startsWith(existing)).toBe(true);
    const p = parse(out);
    expect(p.stages.map((s) => s.name)).toEqual(['prepare', 'train']);
    expect(p.stages[1]!.outs[1]).toMatchObject({ repoPath: 'metrics.json', cache: false });
    expect(out).not.toContain('frozen');
  });

  it('follows the file\'s indentation and blank-line style', () => {
    const four = 'stages:\n    a:\n        cmd: |\n            echo hi\n\n    b:\n        cmd: y\n';
    const out = addStage(four, 'c', { cmd: 'multi\nline', outs: ['x'] }, 'rvc.yaml');
    expect(out).toBe(`${four}\n    c:\n        cmd: |-\n            multi\n            line\n        outs:\n            - x\n`);
    expect(parse(out).stages[2]!.cmd).toEqual(['multi\nline']);
    const noNewline = addStage('stages:\n  a:\n    cmd: x', 'b', { cmd: 'y' }, 'rvc.yaml');
    expect(noNewline).toBe('stages:\n  a:\n    cmd: x\n  b:\n    cmd: y\n');
  });

  it('writes a new file when the text is empty or has no stages', () => {
    for (const t of ['', 'stages:\n', 'stages: {}\n', '# empty\n']) {
      const out = addStage(t, 'a', { cmd: ['x', 'y'] }, 'rvc.yaml');
      expect(parse(out).stages[0]!.cmd).toEqual(['x', 'y']);
      expect(out).toMatch(/stages:\n {2}a:\n/);
    }
  });

  it('refuses a duplicate name, including generated names', () => {
    const e = rvcError(() => addStage(existing, 'prepare', { cmd: 'x' }, 'rvc.yaml'));
    expect(e.code).toBe('STAGE_INVALID');
    expect(e.hint).toContain('--force');
    expect(rvcError(() => addStage('stages:\n  t:\n    foreach: [a]\n    do: {cmd: x}\n', 't', { cmd: 'x' }, 'rvc.yaml')).code).toBe('STAGE_INVALID');
    expect(rvcError(() => addStage(existing, 'bad name', { cmd: 'x' }, 'rvc.yaml')).code).toBe('STAGE_INVALID');
  });

  it('replaces a stage in place with force', () => {
    const out = addStage(existing, 'prepare', { cmd: 'python prep2.py', outs: ['data/prepared'] }, 'rvc.yaml', { force: true });
    expect(parse(out).stages.map((s) => s.cmd[0])).toEqual(['python prep2.py']);
    expect(out).toContain('# Pipeline of the churn model.');
  });

  it('refuses outputs that overlap another stage', () => {
    for (const o of ['data/prepared', 'data/prepared/x.csv', 'data']) {
      const e = rvcError(() => addStage(existing, 'other', { cmd: 'x', outs: [o] }, 'rvc.yaml'));
      expect(e.code, o).toBe('PATH_OVERLAPS');
      expect(e.message, o).toContain("'prepare'");
      expect(e.hint, o).toContain('dependency');
    }
  });

  it('validates the new stage like any other', () => {
    expect(rvcError(() => addStage(existing, 'x', { cmd: 'x', outs: ['/abs'] }, 'rvc.yaml')).code).toBe('PATH_UNSAFE');
    expect(rvcError(() => addStage(existing, 'x', { cmd: 3 as unknown as string }, 'rvc.yaml')).code).toBe('STAGE_INVALID');
  });

  it('removes a stage and keeps the rest', () => {
    const two = addStage(existing, 'train', { cmd: 'python train.py' }, 'rvc.yaml');
    const out = removeStage(two, 'train', 'rvc.yaml');
    expect(parse(out).stages.map((s) => s.name)).toEqual(['prepare']);
    expect(out).toContain('# keep this comment');
    expect(rvcError(() => removeStage(existing, 'nope', 'rvc.yaml')).code).toBe('STAGE_NOT_FOUND');
  });

  it('serialises resolved stages so they parse back to the same stages', () => {
    const p = parse(`stages:
  a:
    desc: d
    cmd: [x, y]
    wdir: sub
    deps: [../in]
    params: [lr, {c.json: null}, {params.yaml: [b]}]
    env: {SEED: "1", X: null}
    outs: [o, {p: {cache: false, persist: true, desc: dd}}]
    metrics: [{m.json: {cache: false}}]
    frozen: true
    always_changed: true
  b:
    cmd: z
    env: [A]
`);
    const text = serializePipeline(p.stages);
    const back = parse(text);
    const strip = (s: Stage) => ({ ...s, line: undefined });
    expect(back.stages.map(strip)).toEqual(p.stages.map(strip));
    expect(serializePipeline({ a: stageToDef(p.stages[0]!) })).toBe(serializePipeline([p.stages[0]!]));
    expect(text.indexOf('desc')).toBeLessThan(text.indexOf('cmd'));
  });
});

describe('fixtures', () => {
  const load = (dir: string) => (p: string) => {
    try {
      const text = readFileSync(join(FIXTURES, dir, p), 'utf8');
      return parseParamsFile(text, p);
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') return undefined;
      throw e;
    }
  };
  const read = (dir: string) => parsePipeline(readFileSync(join(FIXTURES, dir, 'rvc.yaml'), 'utf8'), 'rvc.yaml', { loadVarsFile: load(dir) });

  it('ml-diamond parses into a diamond', () => {
    const p = read('ml-diamond');
    expect(p.stages.map((s) => s.name)).toEqual(['prepare', 'featurize', 'tokenizer', 'train', 'evaluate']);
    const g = buildGraph(p.stages);
    expect(topoOrder(g)).toEqual(['prepare', 'featurize', 'tokenizer', 'train', 'evaluate']);
    expect(g.parents.get('train')).toEqual(['featurize', 'tokenizer']);
    expect(p.stages[3]!.env.map((e) => e.name)).toEqual(['CUDA_VISIBLE_DEVICES', 'PYTHONHASHSEED']);
  });

  it('foreach-regions expands lists and mappings from a vars file', () => {
    const p = read('foreach-regions');
    expect(p.stages.map((s) => s.name)).toEqual([
      'download@us-east', 'download@eu-west', 'download@ap-south', 'train@small', 'train@large', 'report',
    ]);
    const large = p.stages.find((s) => s.name === 'train@large')!;
    expect(large.cmd).toEqual(['python train.py --layers 24 --width 1024 --data data/raw']);
    expect(large.desc).toBe('Train the large model (24 layers)');
    expect(large.params).toEqual([{ file: 'config/regions.yaml', repoPath: 'config/regions.yaml', keys: ['models.large'] }]);
    const g = buildGraph(p.stages);
    expect(g.parents.get('train@small')).toEqual(['download@ap-south', 'download@eu-west', 'download@us-east']);
    expect(g.parents.get('report')).toEqual(['train@large', 'train@small']);
  });

  it('monorepo-wdir resolves paths against each wdir', () => {
    const p = read('monorepo-wdir');
    const [pre, train, nlp] = p.stages;
    expect(pre!.deps[1]).toEqual({ path: '../../shared/images', repoPath: 'shared/images' });
    expect(train!.params).toEqual([{ file: 'hparams.json', repoPath: 'projects/vision/hparams.json', keys: null }]);
    expect(train!.env).toEqual([{ name: 'OMP_NUM_THREADS', default: '4' }, { name: 'SEED', default: '42' }, { name: 'WANDB_MODE' }]);
    expect(nlp!.frozen).toBe(true);
    const g = buildGraph(p.stages);
    expect(g.parents.get('nlp-corpus')).toEqual(['vision-preprocess']);
  });

  it('matrix-sweep generates every combination', () => {
    const p = read('matrix-sweep');
    expect(p.stages.map((s) => s.name)).toEqual(['train@adam-0.1', 'train@adam-0.01', 'train@sgd-0.1', 'train@sgd-0.01', 'compare']);
    expect(buildGraph(p.stages).parents.get('compare')).toHaveLength(4);
  });
});

describe('robustness (property)', () => {
  it('junk text either parses or throws RvcError', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
      try {
        parse(text);
      } catch (e) {
        if (!(e instanceof RvcError)) throw e;
      }
    }), { numRuns: 500 });
  });

  it('YAML-shaped junk either parses or throws RvcError', () => {
    const token = fc.constantFrom('stages:', 'vars:', '  a:', '    cmd:', '    deps:', '    outs:', '    foreach:', '    do:',
      '      - ', '${', '}', '${item}', '${x.y[0]}', '[', ']', '{', '}', ': ', '- ', '\n', '  ', 'x', '..', '/', '@', '"', "'", '#', '&a', '*a', '!!str');
    fc.assert(fc.property(fc.array(token, { maxLength: 60 }), (parts) => {
      try {
        parse(parts.join(''));
      } catch (e) {
        if (!(e instanceof RvcError)) throw e;
      }
    }), { numRuns: 1000 });
  });

  it('any JSON value as a stage or field either parses or throws RvcError', () => {
    const field = fc.constantFrom(...STAGE_FIELDS, 'foreach', 'do', 'matrix', 'bogus');
    const def = fc.dictionary(field, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 });
    fc.assert(fc.property(fc.dictionary(fc.string({ maxLength: 6 }), def, { maxKeys: 3 }), fc.jsonValue({ maxDepth: 2 }), (stages, vars) => {
      const text = `${JSON.stringify({ stages, vars: [vars] })}\n`;
      try {
        parse(text, { loadVarsFile: () => ({ p: 1 }) });
      } catch (e) {
        if (!(e instanceof RvcError)) throw e;
      }
    }), { numRuns: 500 });
    // a sanity check that the generator can produce parseable input at all
    expect(parseYamlPlain('{"stages": {"a": {"cmd": "x"}}}')).toBeTruthy();
  });
});
