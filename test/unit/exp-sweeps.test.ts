import { describe, expect, it, afterEach } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RvcError } from '../../src/errors.js';
import { applyOverrides, expandSweeps, parseOverride } from '../../src/pipeline/param-overrides.js';

const values = (runs: ReturnType<typeof expandSweeps>): unknown[][] => runs.map((r) => r.map((o) => o.value));

function usage(fn: () => unknown): RvcError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(RvcError);
    return e as RvcError;
  }
  throw new Error('expected an error');
}

describe('-S sweep grammar', () => {
  it('a comma list is one run per value; several -S are the cartesian product', () => {
    const runs = expandSweeps(['lr=0.1,0.01', 'bs=8,16']);
    expect(values(runs)).toEqual([[0.1, 8], [0.1, 16], [0.01, 8], [0.01, 16]]);
    expect(runs[3]!.map((o) => o.text)).toEqual(['lr=0.01', 'bs=16']);
  });

  it('range(start, stop[, step]) excludes stop, takes negative and decimal steps', () => {
    expect(values(expandSweeps(['seed=range(1,6)']))).toEqual([[1], [2], [3], [4], [5]]);
    expect(values(expandSweeps(['x=range(10, 0, -4)']))).toEqual([[10], [6], [2]]);
    expect(values(expandSweeps(['lr=range(0.1,0.4,0.1)']))).toEqual([[0.1], [0.2], [0.3]]);
  });

  it('choice(a, b) lists values, each read as YAML', () => {
    expect(values(expandSweeps(['opt=choice(adam, sgd)', 'layers=choice([64,32],[8])']))).toEqual([
      ['adam', [64, 32]], ['adam', [8]], ['sgd', [64, 32]], ['sgd', [8]],
    ]);
  });

  it('values are YAML-typed; brackets and quotes keep their commas', () => {
    const [[a, b, c, d]] = expandSweeps(['layers=[64,32]', 'cfg={a: 1, b: 2}', "name='x,y'", 'flag=true']) as [[ReturnType<typeof parseOverride>, ReturnType<typeof parseOverride>, ReturnType<typeof parseOverride>, ReturnType<typeof parseOverride>]];
    expect([a.value, b.value, c.value, d.value]).toEqual([[64, 32], { a: 1, b: 2 }, 'x,y', true]);
    expect(parseOverride('p.json:+train.new=3')).toMatchObject({ file: 'p.json', key: 'train.new', add: true, value: 3 });
  });

  it('refuses malformed sweeps with a usage error naming the text', () => {
    for (const [text, words] of [
      ['seed=range(1)', 'range() takes two or three numbers'],
      ['seed=range(a,b)', 'range() takes two or three numbers'],
      ['seed=range(1,5,0)', 'cannot be 0'],
      ['seed=range(5,1)', 'holds no value'],
      ['opt=choice()', 'choice() needs at least one value'],
      ['x=glob(*)', "unknown sweep function 'glob'"],
      ['layers=[64,32', "'[' is not closed"],
      ['layers=64]', "']' closes nothing"],
      ["name='abc", 'is not closed'],
      ['lr=0.1,,0.2', 'empty value'],
      ['noequals', 'is not a parameter override'],
      ['=3', 'is not a parameter override'],
    ] as const) {
      const e = usage(() => expandSweeps([text]));
      expect(e.code).toBe('USAGE');
      expect(e.message).toContain(text);
      expect(e.message).toContain(words);
      expect(e.hint).toBeTruthy();
    }
  });
});

describe('applyOverrides by params file format', () => {
  const dirs: string[] = [];
  afterEach(() => {
    while (dirs.length) fs.rmSync(dirs.pop()!, { recursive: true, force: true });
  });
  const dir = (files: Record<string, string>): string => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'rvc-sweeps-'));
    dirs.push(d);
    for (const [f, t] of Object.entries(files)) fs.writeFileSync(path.join(d, f), t);
    return d;
  };

  it('rewrites TOML (new keys only with +) and refuses an unknown key', () => {
    const d = dir({ 'p.toml': 'lr = 0.1\n[train]\nepochs = 3\n' });
    applyOverrides(d, [parseOverride('p.toml:lr=0.5'), parseOverride('p.toml:train.epochs=7'), parseOverride('p.toml:+train.seed=1')]);
    const text = fs.readFileSync(path.join(d, 'p.toml'), 'utf8');
    expect(text).toMatch(/lr = 0\.5/);
    expect(text).toMatch(/\[train\][^[]*epochs = 7/);
    expect(text).toMatch(/seed = 1/);
    const e = usage(() => applyOverrides(d, [parseOverride('p.toml:train.sed=2')]));
    expect(e.code).toBe('PARAMS_INVALID');
    expect(e.message).toContain("no parameter 'train.sed'");
  });

  it('edits one-line literal assignments of Python params in place, refusing anything else by name', () => {
    const src = '"""Params."""\nLR = 0.1  # rate\nBATCH: int = 8\nNAME = \'x\'\nLR = 0.2\n\nclass Train:\n    epochs = 3\n\nLAYERS = [\n    64,\n]\n';
    const d = dir({ 'params.py': src });
    applyOverrides(d, [parseOverride('params.py:LR=0.5'), parseOverride('params.py:BATCH=16'), parseOverride('params.py:NAME=abc'), parseOverride('params.py:+SEED=7')]);
    expect(fs.readFileSync(path.join(d, 'params.py'), 'utf8')).toBe(src
      .replace('LR = 0.2', 'LR = 0.5').replace('BATCH: int = 8', 'BATCH: int = 16').replace("NAME = 'x'", 'NAME = "abc"') + 'SEED = 7\n');
    const before = fs.readFileSync(path.join(d, 'params.py'), 'utf8');
    for (const [text, words] of [['params.py:Train.epochs=4', 'only top-level names'], ['params.py:LAYERS=[1]', 'not a one-line literal']] as const) {
      const e = usage(() => applyOverrides(d, [parseOverride(text)]));
      expect(e.code).toBe('PARAMS_INVALID');
      expect(e.message).toContain(text);
      expect(e.message).toContain(words);
    }
    expect(fs.readFileSync(path.join(d, 'params.py'), 'utf8')).toBe(before);
  });

  it('several params files at once: all or nothing', () => {
    const d = dir({ 'a.yaml': 'x: 1 # keep me\n', 'b.json': '{"y": 2}' });
    expect(() => applyOverrides(d, [parseOverride('a.yaml:x=5'), parseOverride('b.json:z=1')])).toThrow(/no parameter 'z'/);
    expect(fs.readFileSync(path.join(d, 'a.yaml'), 'utf8')).toBe('x: 1 # keep me\n');
    applyOverrides(d, [parseOverride('a.yaml:x=5'), parseOverride('b.json:y=[1,2]')]);
    expect(fs.readFileSync(path.join(d, 'a.yaml'), 'utf8')).toBe('x: 5 # keep me\n');
    expect(JSON.parse(fs.readFileSync(path.join(d, 'b.json'), 'utf8'))).toEqual({ y: [1, 2] });
  });
});
