import { describe, it, expect } from 'vitest';
import { metricDifferences, parseTolerance, withinTolerance } from '../../src/model/tolerance.js';
import { codeOf } from '../helpers/errors.js';
import { diagnose } from '../../src/verbs/verify.js';

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

  it('diagnoses nondeterminism first, then the drift of a recorded environment', () => {
    const run = (o: Record<string, string>) => new Map(Object.entries(o));
    const env = { tools: { python: '3.11.4' }, cpu: { cores: 8 } };
    // Runs that differ from each other: the stage itself, whatever the environment says.
    expect(diagnose([run({ a: '1', b: '2' }), run({ a: '1', b: '3' })], env, { tools: { python: '3.12.0' } }))
      .toEqual({ kind: 'nondeterministic', outputs: ['b'] });
    // Runs agree: the environment changed since the record.
    expect(diagnose([run({ a: '1' }), run({ a: '1' })], env, { tools: { python: '3.12.0' }, cpu: { cores: 8 } }))
      .toEqual({ kind: 'environment-drift', changes: [{ key: 'tools.python', from: '3.11.4', to: '3.12.0' }] });
    // No recorded environment (older rvc.lock), or the same one: nothing to say.
    expect(diagnose([run({ a: '1' })], undefined, env)).toBeUndefined();
    expect(diagnose([run({ a: '1' })], env, env)).toBeUndefined();
    // A rerun without an environment record is no evidence that everything changed.
    expect(diagnose([run({ a: '1' })], env, undefined)).toBeUndefined();
  });
});
