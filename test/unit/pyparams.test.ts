import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RvcError } from '../../src/errors.js';
import { rvcError } from '../helpers/errors.js';
import { parsePythonParams } from '../../src/model/pyparams.js';
import { parseParamsFile } from '../../src/model/params.js';

const py = (t: string) => parsePythonParams(t, 'params.py');

describe('Python params files', () => {
  it('read literal assignments of every supported kind', () => {
    const text = [
      '"""Training parameters."""',
      'import os',
      'from pathlib import Path as P',
      '# a comment',
      'LR = 1e-3',
      'EPOCHS: int = 1_000',
      'HALF = .5',
      'NEG = -5',
      'PAREN_NEG = -(2)',
      'HEX, OCT = 0, 0',
      'H = 0x1F; O = 0o17; BIN = 0b101',
      "NAME = 'a\\tb' \"c\"  # adjacent strings join",
      "RAW = r'\\d+\\''",
      'ESC = "\\x41\\u00e9\\U0001F600\\101\\q"',
      'TRI = """multi',
      'line"""',
      "TUP = (1, 2.5, 'x')",
      'BARE = 1, 2,',
      'ONE = (1,)',
      'EMPTY = ()',
      'LST = [1, [2, {"a": None}], True, False,]',
      "D = {'k': 1, 2: 'two', -3: 0x10, 'k': 'last'}",
      'MULTI = [',
      '    1,  # comment inside',
      '    2,',
      ']',
      'CONT = \\',
      '    7',
    ].join('\n');
    expect(py(text)).toEqual({
      LR: 0.001, EPOCHS: 1000, HALF: 0.5, NEG: -5, PAREN_NEG: -2, H: 31, O: 15, BIN: 5,
      NAME: 'a\tbc', RAW: "\\d+\\'", ESC: 'Aé😀A\\q', TRI: 'multi\nline',
      TUP: [1, 2.5, 'x'], BARE: [1, 2], ONE: [1], EMPTY: [],
      LST: [1, [2, { a: null }], true, false], D: { k: 'last', 2: 'two', '-3': 16 },
      MULTI: [1, 2], CONT: 7,
    });
  });

  it('read classes as DVC does: class constants, nested classes and self.x in __init__', () => {
    const text = [
      'class Train:',
      '    lr = 0.1',
      '    class Optim: name = "adam"; beta = 0.9',
      '    def __init__(self, seed: int = 1) -> None:',
      '        self.seed = 42',
      '        local = 1',
      '        self.obj = make()',
      '    def other(self):',
      '        self.nope = 1',
      '',
      '@dataclass',
      'class Empty:',
      '    pass',
    ].join('\n');
    expect(py(text)).toEqual({ Train: { lr: 0.1, Optim: { name: 'adam', beta: 0.9 }, seed: 42 }, Empty: {} });
  });

  it('skip what is not a literal with a JSON form, and every statement below the top level', () => {
    const text = [
      'CALL = dict(a=1)', 'NAME = LR', 'EXPR = 1 + 2', 'F = f"{LR}"', 'FS = "a" f"b"', 'B = b"x"', 'C = 1+2j', 'J = 2j',
      'S = {1, 2}', 'ES = set()', 'E = ...', 'FK = {1.5: 1}', 'TK = {(1, 2): 1}', 'COMP = [x for x in y]', 'LAM = lambda a=1: a',
      'A = B = 3', 'a, b = 1, 2', 'obj.attr = 5', 'x[0] = 1', 'N: int', 'AUG = 1', 'AUG += 1', 'DOUBLE = --1',
      'if __name__ == "__main__":', '    MAIN = 1', 'else: OTHER = 2', 'def f():', '    X = 1', 'for i in range(3): Y = i',
      'try:', '    T = 1', 'except Exception:', '    pass', 'KEPT = "yes"',
    ].join('\n');
    expect(py(text)).toEqual({ AUG: 1, KEPT: 'yes' });
  });

  it('tokenises f-strings with nested quotes and format specs without losing the next line', () => {
    const text = [
      'A = f"{x["k"]:>{width}} {{braces}} {y!r}"',
      "B = f'''{'''inner'''}'''",
      "C = f'{x:%H:%M}'",
      'D = rb"\\q" + "x"',
      'AFTER = 1',
    ].join('\n');
    expect(py(text)).toEqual({ AFTER: 1 });
  });

  it('a later assignment wins, and a class replaces a value of the same name', () => {
    expect(py('X = 1\nX = 2\nY = 1\nclass Y:\n  z = 3\n')).toEqual({ X: 2, Y: { z: 3 } });
  });

  it('keys like __proto__ stay data', () => {
    const v = py('__proto__ = {"__proto__": {"polluted": 1}}\nclass constructor:\n  prototype = 1\n');
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__', 'constructor']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('lexical errors name the file and the line', () => {
    const cases: [string, number, RegExp][] = [
      ['A = 1\nB = "abc\nC = 2', 2, /unterminated string/],
      ['A = 1\nB = """abc\n', 2, /unterminated triple-quoted/],
      ['A = [1,\n2\nB = 3\n', 1, /never closed/],
      ['A = 1)\n', 1, /unmatched/],
      ['A = (1]\n', 1, /does not match/],
      ['A = 1\nB = 1 $ 2\n', 2, /invalid character/],
      ['A = 007\n', 1, /leading zeros/],
      ['A = "\\N{EM DASH}"\n', 1, /\\N\{name\}/],
      ['A = "\\x4"\n', 1, /invalid escape/],
      ['A = 1 \\ 2\n', 1, /continuation/],
      ['A = 1\nB = "\0"\n', 2, /NUL/],
      [`A = ${'['.repeat(300)}${']'.repeat(300)}\n`, 1, /nested more than/],
    ];
    for (const [text, line, re] of cases) {
      const e = rvcError(() => py(text));
      expect(e.code, text).toBe('PARAMS_INVALID');
      expect(e.line, text).toBe(line);
      expect(e.message, text).toContain(`params.py:${line}:`);
      expect(e.message, text).toMatch(re);
      expect(e.path).toBe('params.py');
    }
  });

  it('is chosen by the .py extension, and an empty file is an empty mapping', () => {
    expect(parseParamsFile('LR = 0.1\n', 'src/train.py')).toEqual({ LR: 0.1 });
    expect(parseParamsFile('', 'params.py')).toEqual({});
  });

  it('round-trips generated literals (fuzzing-style)', () => {
    const key = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/).filter((k) => !['True', 'False', 'None', 'if', 'in', 'is', 'or', 'as', 'def', 'for', 'and', 'not', 'del', 'try'].includes(k));
    const leaf = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string({ maxLength: 10 }), fc.boolean(), fc.constant(null));
    const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
      v: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 6 }), tie('v'), { maxKeys: 3 })),
    })).v;
    const lit = (v: unknown): string => {
      if (v === null) return 'None';
      if (v === true) return 'True';
      if (v === false) return 'False';
      if (typeof v === 'number') return Object.is(v, -0) ? '-0.0' : String(v);
      if (typeof v === 'string') return JSON.stringify(v).replace(/\\u([0-9a-fA-F]{4})/g, '\\u$1');
      if (Array.isArray(v)) return `[${v.map(lit).join(', ')}]`;
      return `{${Object.entries(v as object).map(([k, x]) => `${JSON.stringify(k)}: ${lit(x)}`).join(', ')}}`;
    };
    fc.assert(fc.property(fc.dictionary(key, value, { maxKeys: 5 }), (params) => {
      const text = Object.entries(params).map(([k, v]) => `${k} = ${lit(v)}`).join('\n');
      expect(py(text)).toEqual(params);
    }), { numRuns: 300, seed: 3 });
  });

  it('arbitrary and hostile text: a value or a located error, in linear time', () => {
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom(...'()[]{}:;,=-+.\'"#\\\n \tfrbxj0123eE_ABclass def__init__self'), maxLength: 300 }), (text) => {
      try {
        py(text);
      } catch (e) {
        expect(e).toBeInstanceOf(RvcError);
        expect((e as RvcError).line).toBeGreaterThanOrEqual(1);
        expect((e as RvcError).line).toBeLessThanOrEqual(text.split('\n').length);
      }
    }), { numRuns: 300, seed: 4 });
    // Big inputs stay linear: long strings, many lines, deep classes (refused past 100 levels).
    const big = Array.from({ length: 20_000 }, (_, i) => `K${i} = [${i}, "${'x'.repeat(20)}"]`).join('\n');
    expect(Object.keys(py(big))).toHaveLength(20_000);
    const deep = Array.from({ length: 150 }, (_, i) => `${' '.repeat(i)}class C${i}:`).join('\n') + `\n${' '.repeat(150)}x = 1\n`;
    expect(rvcError(() => py(deep)).message).toMatch(/classes nested more than 100/);
    expect(rvcError(() => py(`A = ${"f'{".repeat(5000)}`)).code).toBe('PARAMS_INVALID');
    expect(rvcError(() => py('x'.repeat(16 * 1024 * 1024 + 1))).message).toMatch(/too large/);
  });
});
