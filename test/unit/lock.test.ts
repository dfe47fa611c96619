import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { rvcError } from '../helpers/errors.js';
import {
  cmdEquals, emptyLock, lockCmd, lockedStage, parseLock, serializeLock, withoutStage, withStage,
  type Lock, type LockFileEntry, type LockStage,
} from '../../src/model/lock.js';


const H1 = 'a'.repeat(64);
const H2 = 'b'.repeat(64);
const H3 = `${'c'.repeat(64)}.tree`;

const LOCK = `schema: "1.0"
stages:
  prepare:
    cmd: python prep.py
    deps:
      - path: data/raw
        hash: blake3
        oid: ${H3}
        size: 2048
        nfiles: 2
    outs:
      - path: data/prepared.csv
        hash: blake3
        oid: ${H1}
        size: 100
  train:
    cmd:
      - python train.py
      - python export.py
    deps:
      - path: data/prepared.csv
        hash: blake3
        oid: ${H1}
        size: 100
    params:
      params.yaml:
        lr: 0.1
        train.layers:
          - 8
          - 16
    env:
      SEED: "42"
      UNSET: null
    outs:
      - path: model.pkl
        hash: sha256
        oid: ${H2}
        size: 7
`;

describe('parseLock', () => {
  it('reads every field', () => {
    const l = parseLock(LOCK, 'rvc.lock');
    expect(Object.keys(l.stages)).toEqual(['prepare', 'train']);
    expect(l.stages['prepare']!.deps).toEqual([{ path: 'data/raw', hash: 'blake3', oid: H3, size: 2048, nfiles: 2 }]);
    expect(l.stages['train']).toEqual({
      cmd: ['python train.py', 'python export.py'],
      deps: [{ path: 'data/prepared.csv', hash: 'blake3', oid: H1, size: 100 }],
      outs: [{ path: 'model.pkl', hash: 'sha256', oid: H2, size: 7 }],
      params: { 'params.yaml': { lr: 0.1, 'train.layers': [8, 16] } },
      env: { SEED: '42', UNSET: null },
    });
  });

  it('reads empty text as an empty lock', () => {
    expect(parseLock('', 'rvc.lock')).toEqual(emptyLock());
    expect(parseLock("schema: '1.0'\n", 'rvc.lock')).toEqual(emptyLock());
  });

  it('is the inverse of serializeLock on canonical text', () => {
    expect(serializeLock(parseLock(LOCK, 'rvc.lock'))).toBe(LOCK);
  });

  it('rejects an oid that does not fit its algorithm, with the line', () => {
    for (const bad of ['abc', 'A'.repeat(64), `${'a'.repeat(63)}g`, `${'a'.repeat(64)}.zip`, '12']) {
      const e = rvcError(() => parseLock(LOCK.replace(`oid: ${H2}`, `oid: ${bad}`), 'rvc.lock'));
      expect(e.code, bad).toBe('OID_INVALID');
      expect(e.path).toBe('rvc.lock');
      expect(e.line).toBe(LOCK.split('\n').findIndex((l) => l.includes(H2)) + 1);
    }
  });

  it('rejects unknown hash algorithms', () => {
    expect(rvcError(() => parseLock(LOCK.replace('hash: sha256', 'hash: md5'), 'rvc.lock')).code).toBe('HASH_UNSUPPORTED');
  });

  it('rejects unknown fields at every level, with the line', () => {
    const cases: [string, string, number][] = [
      ['schema: "1.0"\n', 'schema: "1.0"\nextra: 1\n', 2],
      ['    cmd: python prep.py\n', '    cmd: python prep.py\n    wdir: x\n', 5],
      ['        nfiles: 2\n', '        nfiles: 2\n        mtime: 3\n', 11],
    ];
    for (const [from, to, line] of cases) {
      const e = rvcError(() => parseLock(LOCK.replace(from, to), 'rvc.lock'));
      expect(e.code, to).toBe('PIPELINE_INVALID');
      expect(e.line, to).toBe(line);
      expect(e.hint, to).toContain('allowed fields');
    }
  });

  it('rejects malformed structure', () => {
    const bad = [
      '- 1\n',
      "schema: '2.0'\nstages: {}\n",
      'schema: 1.0\nstages: {}\n',
      "schema: '1.0'\nstages: []\n",
      "schema: '1.0'\nstages:\n  a: 3\n",
      "schema: '1.0'\nstages:\n  a: {cmd: 3}\n",
      "schema: '1.0'\nstages:\n  a: {cmd: []}\n",
      "schema: '1.0'\nstages:\n  'bad name': {cmd: x}\n",
      "schema: '1.0'\nstages:\n  a: {cmd: x, deps: {}}\n",
      "schema: '1.0'\nstages:\n  a: {cmd: x, params: {p.yaml: 3}}\n",
      "schema: '1.0'\nstages:\n  a: {cmd: x, env: {A: 3}}\n",
      `schema: '1.0'\nstages:\n  a: {cmd: x, outs: [{path: a, hash: blake3, oid: ${H1}, size: 1, exec: 1}]}\n`,
      `schema: '1.0'\nstages:\n  a: {cmd: x, outs: [{path: a, hash: blake3, oid: ${H3}, size: 1, exec: true}]}\n`,
      `schema: '1.0'\nstages:\n  a: {cmd: x, outs: [{path: a, hash: blake3, oid: ${H1}, size: -1}]}\n`,
      `schema: '1.0'\nstages:\n  a: {cmd: x, outs: [{path: a, hash: blake3, oid: ${H1}, size: 1.5}]}\n`,
      `schema: '1.0'\nstages:\n  a: {cmd: x, outs: [{path: a, hash: blake3, oid: ${H1}, size: 1, nfiles: 2}]}\n`,
      `schema: '1.0'\nstages:\n  a: {cmd: x, outs: [{path: a, hash: blake3, oid: ${H1}, size: 1}, {path: a, hash: blake3, oid: ${H1}, size: 1}]}\n`,
    ];
    for (const b of bad) {
      const e = rvcError(() => parseLock(b, 'rvc.lock'));
      expect(e.code, b).toBe('PIPELINE_INVALID');
      expect(e.path, b).toBe('rvc.lock');
    }
  });

  it('refuses unsafe paths with the line', () => {
    for (const p of ['/abs', '../up', 'a//b', 'a/./b', 'a\\\\b', '.git/hooks/post-checkout', '.rvc/config.yaml', '""']) {
      const text = `schema: '1.0'\nstages:\n  a:\n    cmd: x\n    outs:\n      - path: ${p}\n        hash: blake3\n        oid: ${H1}\n        size: 1\n`;
      const e = rvcError(() => parseLock(text, 'rvc.lock'));
      expect(e.code, p).toBe('PATH_UNSAFE');
      expect(e.line, p).toBe(6);
    }
  });

  it('keeps the executable bit of single files', () => {
    const text = `schema: "1.0"\nstages:\n  a:\n    cmd: x\n    outs:\n      - path: run.sh\n        hash: blake3\n        oid: ${H1}\n        size: 1\n        exec: true\n`;
    expect(parseLock(text, 'rvc.lock').stages['a']!.outs[0]!.exec).toBe(true);
    expect(serializeLock(parseLock(text, 'rvc.lock'))).toBe(text);
  });

  it('reports YAML syntax errors with the line', () => {
    const e = rvcError(() => parseLock("schema: '1.0'\nstages:\n  a: {cmd: x\n", 'rvc.lock'));
    expect(e.code).toBe('YAML_INVALID');
    expect(e.line).toBeGreaterThan(0);
  });
});

describe('serializeLock', () => {
  const entry = (path: string, oid = H1): LockFileEntry => ({ path, hash: 'blake3', oid, size: 1 });
  const stage = (over: Partial<LockStage> = {}): LockStage => ({ cmd: 'x', deps: [], outs: [], params: {}, env: {}, ...over });

  it('gives the same bytes whatever order the lock was built in', () => {
    const a: Lock = {
      schema: '1.0',
      stages: {
        train: stage({
          deps: [entry('b'), entry('a'), entry('c/d')],
          params: { 'z.yaml': { b: 1, a: { y: 2, x: 1 } }, 'a.json': { k: [{ q: 1, p: 2 }] } },
          env: { Z: 'z', A: null },
          outs: [entry('o2'), entry('o1')],
        }),
        prepare: stage({ cmd: ['a', 'b'] }),
      },
    };
    const b: Lock = {
      schema: '1.0',
      stages: {
        prepare: stage({ cmd: ['a', 'b'] }),
        train: stage({
          outs: [entry('o1'), entry('o2')],
          env: { A: null, Z: 'z' },
          params: { 'a.json': { k: [{ p: 2, q: 1 }] }, 'z.yaml': { a: { x: 1, y: 2 }, b: 1 } },
          deps: [entry('c/d'), entry('a'), entry('b')],
        }),
      },
    };
    const text = serializeLock(a);
    expect(serializeLock(b)).toBe(text);
    expect(text.indexOf('prepare:')).toBeLessThan(text.indexOf('train:'));
    expect(text.indexOf('a.json')).toBeLessThan(text.indexOf('z.yaml'));
    expect(text.indexOf('  - path: a\n')).toBeLessThan(text.indexOf('  - path: b\n'));
    // field order: cmd, deps, params, env, outs
    const order = ['cmd:', 'deps:', 'params:', 'env:', 'outs:'].map((k) => text.indexOf(k, text.indexOf('train:')));
    expect([...order].sort((x, y) => x - y)).toEqual(order);
    // list order inside params values is data, so it is kept
    expect(serializeLock(parseLock(text, 'rvc.lock'))).toBe(text);
  });

  it('omits empty sections and quotes values YAML would misread', () => {
    const text = serializeLock({ schema: '1.0', stages: { s: stage({ cmd: 'true', env: { V: '1.0', N: 'null' } }) } });
    expect(text).toBe(`schema: "1.0"\nstages:\n  s:\n    cmd: "true"\n    env:\n      N: "null"\n      V: "1.0"\n`);
    expect(parseLock(text, 'rvc.lock').stages['s']).toEqual(stage({ cmd: 'true', env: { V: '1.0', N: 'null' } }));
  });

  it('keeps special numbers and a __proto__ key as data', () => {
    const l: Lock = { schema: '1.0', stages: { s: stage({ params: { 'p.json': JSON.parse('{"__proto__": {"x": 1}, "n": 1}') as Record<string, unknown> } }) } };
    const text = serializeLock(l);
    const back = parseLock(text, 'rvc.lock');
    expect(Object.keys(back.stages['s']!.params['p.json']!)).toEqual(['__proto__', 'n']);
    expect(serializeLock(back)).toBe(text);
  });
});

describe('withStage / withoutStage', () => {
  const base = parseLock(LOCK, 'rvc.lock');

  it('rewrites only the stage that ran', () => {
    const next = withStage(base, 'prepare', { ...base.stages['prepare']!, cmd: 'python prep.py --fast' });
    expect(base.stages['prepare']!.cmd).toBe('python prep.py');
    const before = serializeLock(base).split('\n');
    const after = serializeLock(next).split('\n');
    const changed = after.filter((l, i) => l !== before[i]);
    expect(changed).toEqual(['    cmd: python prep.py --fast']);
    expect(next.stages['train']).toBe(base.stages['train']);
  });

  it('adds and removes stages', () => {
    const added = withStage(base, 'aaa', { cmd: 'x', deps: [], outs: [], params: {}, env: {} });
    expect(Object.keys(parseLock(serializeLock(added), 'rvc.lock').stages)).toEqual(['aaa', 'prepare', 'train']);
    const removed = withoutStage(added, 'prepare');
    expect(Object.keys(removed.stages)).toEqual(['train', 'aaa']);
    expect(Object.keys(added.stages)).toHaveLength(3);
    expect(withoutStage(base, 'nope')).toEqual(base);
    expect(lockedStage(base, 'train')).toBe(base.stages['train']);
    expect(lockedStage(base, 'constructor')).toBeUndefined();
  });

  it('compares commands across forms', () => {
    expect(lockCmd(['a'])).toBe('a');
    expect(lockCmd(['a', 'b'])).toEqual(['a', 'b']);
    expect(cmdEquals('a', ['a'])).toBe(true);
    expect(cmdEquals(['a'], ['a'])).toBe(true);
    expect(cmdEquals(['a', 'b'], ['a'])).toBe(false);
    expect(cmdEquals('a b', ['a', 'b'])).toBe(false);
  });
});

describe('canonical form (property)', () => {
  const hex = fc.stringMatching(/^[0-9a-f]{64}$/);
  const seg = fc.stringMatching(/^[a-z0-9_][a-z0-9_.-]{0,6}$/).filter((s) => s !== '.' && s !== '..' && !s.startsWith('..'));
  const path = fc.array(seg, { minLength: 1, maxLength: 3 }).map((s) => s.join('/'));
  const entries = fc.uniqueArray(
    fc.record({
      path,
      hash: fc.constantFrom('blake3' as const, 'sha256' as const),
      digest: hex,
      tree: fc.boolean(),
      size: fc.nat(),
      nfiles: fc.nat({ max: 1000 }),
      exec: fc.option(fc.boolean(), { nil: undefined }),
    }).map(({ digest, tree, nfiles, exec, ...e }): LockFileEntry => (tree
      ? { ...e, oid: `${digest}.tree`, nfiles }
      : { ...e, oid: digest, ...(exec === undefined ? {} : { exec }) })),
    { selector: (e) => e.path, maxLength: 5 },
  );
  const value = fc.jsonValue({ maxDepth: 3 }).filter((v) => v !== undefined);
  const stage = fc.record({
    cmd: fc.oneof(fc.string({ minLength: 1, maxLength: 20 }), fc.array(fc.string({ maxLength: 10 }), { minLength: 1, maxLength: 3 })),
    deps: entries,
    outs: entries,
    params: fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), value, { maxKeys: 4 }), { maxKeys: 3 }),
    env: fc.dictionary(fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,6}$/), fc.option(fc.string({ maxLength: 10 }), { nil: null }), { maxKeys: 3 }),
  });
  const name = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,8}(@[a-z0-9]{1,4})?$/);
  const lock = fc.dictionary(name, stage, { maxKeys: 5 }).map((stages): Lock => ({ schema: '1.0', stages }));

  it('serializeLock(parseLock(serializeLock(x))) equals serializeLock(x)', () => {
    fc.assert(fc.property(lock, (l) => {
      const text = serializeLock(l);
      expect(serializeLock(parseLock(text, 'rvc.lock'))).toBe(text);
    }), { numRuns: 300 });
  });

  it('order of stages and entries does not change the bytes', () => {
    fc.assert(fc.property(lock, fc.integer(), (l, seed) => {
      const shuffle = <T>(xs: T[]): T[] => {
        const out = [...xs];
        let s = seed;
        for (let i = out.length - 1; i > 0; i--) {
          s = (s * 1103515245 + 12345) | 0;
          const j = Math.abs(s) % (i + 1);
          [out[i], out[j]] = [out[j]!, out[i]!];
        }
        return out;
      };
      const shuffled: Lock = {
        schema: '1.0',
        stages: Object.fromEntries(shuffle(Object.entries(l.stages)).map(([n, s]) => [n, {
          ...s, deps: shuffle(s.deps), outs: shuffle(s.outs),
          env: Object.fromEntries(shuffle(Object.entries(s.env))),
          params: Object.fromEntries(shuffle(Object.entries(s.params)).map(([f, v]) => [f, Object.fromEntries(shuffle(Object.entries(v)))])),
        }])),
      };
      expect(serializeLock(shuffled)).toBe(serializeLock(l));
    }), { numRuns: 200 });
  });
});
