import { describe, it, expect } from 'vitest';
import { studentT975, summarize } from '../../src/model/stats.js';

describe('replicate statistics', () => {
  it('Student t 0.975 quantiles match the published table', () => {
    const table: [number, number][] = [[1, 12.7062], [2, 4.3027], [3, 3.1824], [4, 2.7764], [10, 2.2281], [30, 2.0423], [120, 1.9799]];
    for (const [df, t] of table) expect(studentT975(df)).toBeCloseTo(t, 3);
    expect(studentT975(1e6)).toBeCloseTo(1.95996, 4);
  });

  it('mean, sample std (n − 1) and the 95% interval of known numbers', () => {
    const s = summarize([2, 4, 4, 4, 5, 5, 7, 9])!;
    expect(s.n).toBe(8);
    expect(s.mean).toBe(5);
    expect(s.std).toBeCloseTo(Math.sqrt(32 / 7), 12);
    const half = 2.364624 * Math.sqrt(32 / 7) / Math.sqrt(8);
    expect(s.ci95![0]).toBeCloseTo(5 - half, 5);
    expect(s.ci95![1]).toBeCloseTo(5 + half, 5);
    expect(summarize([3])).toEqual({ n: 1, mean: 3 });
    expect(summarize([])).toBeUndefined();
  });
});
