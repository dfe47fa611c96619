import { describe, it, expect } from 'vitest';
import { metricDifferences, parseTolerance, withinTolerance } from '../../src/model/tolerance.js';
import { codeOf } from '../helpers/errors.js';

describe('verify tolerances', () => {
  it('parses absolute and relative tolerances, and refuses anything else as a usage error', () => {
    expect(parseTolerance('acc=0.001')).toEqual({ key: 'acc', kind: 'abs', value: 0.001 });
    expect(parseTolerance('train.loss=1%')).toEqual({ key: 'train.loss', kind: 'rel', value: 0.01 });
    expect(parseTolerance('m.json:acc=0')).toEqual({ key: 'm.json:acc', kind: 'abs', value: 0 });
    for (const bad of ['acc', '=1', 'acc=', 'acc=x', 'acc=-1', 'acc=%', 'acc=1e999']) expect(codeOf(() => parseTolerance(bad))).toBe('USAGE');
  });

  it('compares numbers within the tolerance, anything else exactly', () => {
    expect(withinTolerance(0.9, 0.900001, parseTolerance('a=0.00001'))).toBe(true);
    expect(withinTolerance(0.9, 0.900001, parseTolerance('a=0.0000001'))).toBe(false);
    expect(withinTolerance(100, 101, parseTolerance('a=1%'))).toBe(true);
    expect(withinTolerance(100, 101.5, parseTolerance('a=1%'))).toBe(false);
    expect(withinTolerance(1, 1.0000001, undefined)).toBe(false);
    const tols = [parseTolerance('acc=0.01'), parseTolerance('b.json:n=1')];
    expect(metricDifferences('a.json', { acc: 0.9, n: 3, tag: 'x', gone: 1 }, { acc: 0.905, n: 4, tag: 'y', new: 2 }, tols)).toEqual([
      { file: 'a.json', key: 'gone', recorded: 1 },
      { file: 'a.json', key: 'n', recorded: 3, now: 4 },
      { file: 'a.json', key: 'new', now: 2 },
      { file: 'a.json', key: 'tag', recorded: 'x', now: 'y' },
    ]);
    expect(metricDifferences('b.json', { n: 3 }, { n: 4 }, tols)).toEqual([]);
  });
});
