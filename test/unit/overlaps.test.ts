import { describe, it, expect } from 'vitest';
import { refuseOverlaps, gitignoreStillNeeded, type NewOutput, type RecordedOutput } from '../../src/repo/overlaps.js';
import { rvcError } from '../helpers/errors.js';

const ptr = (rel: string, file = `${rel}.rvc`): RecordedOutput => ({ rel, file, kind: 'pointer' });
const out = (rel: string, stage: string, cache?: boolean): RecordedOutput => ({ rel, file: 'rvc.yaml', kind: 'stage', stage, ...(cache !== undefined ? { cache } : {}) });
const add = (rel: string): NewOutput => ({ rel, kind: 'pointer', file: `${rel}.rvc` });
const declare = (rel: string, stage: string): NewOutput => ({ rel, kind: 'stage', stage });

describe('refuseOverlaps: one check of new outputs against recorded ones', () => {
  it('refuses the same path, a path inside and a path around a recorded output, naming both', () => {
    const recorded = [ptr('data'), out('model.pkl', 'train'), out('res/m.bin', 'res')];
    for (const [c, paths] of [
      [add('model.pkl'), ['model.pkl', 'model.pkl']],
      [add('data/a.txt'), ['data/a.txt', 'data']],
      [add('res'), ['res', 'res/m.bin']],
      [declare('data/x', 's'), ['data/x', 'data']],
      [declare('a', 's'), undefined],
    ] as const) {
      if (paths === undefined) {
        expect(() => refuseOverlaps([c], recorded)).not.toThrow();
        continue;
      }
      const e = rvcError(() => refuseOverlaps([c], recorded));
      expect(e.code, c.rel).toBe('PATH_OVERLAPS');
      expect((e.details as { paths: string[] }).paths, c.rel).toEqual(paths);
    }
  });

  it('a name sharing a prefix is not inside (data-1, data.txt beside data)', () => {
    const recorded = [ptr('data'), out('a/b', 's')];
    expect(() => refuseOverlaps([add('data-1'), add('data.txt'), add('a/bc'), add('ab')], recorded)).not.toThrow();
  });

  it('re-adding a path its own pointer tracks is not an overlap; the same path tracked by another pointer is', () => {
    expect(() => refuseOverlaps([add('data')], [ptr('data')])).not.toThrow();
    expect(rvcError(() => refuseOverlaps([add('data')], [ptr('data', 'other.rvc')])).code).toBe('PATH_OVERLAPS');
  });

  it('refuses new outputs that overlap each other', () => {
    expect(rvcError(() => refuseOverlaps([add('d'), add('d/e')], [])).code).toBe('PATH_OVERLAPS');
    expect(rvcError(() => refuseOverlaps([add('d/e'), add('d')], [])).code).toBe('PATH_OVERLAPS');
    expect(rvcError(() => refuseOverlaps([add('d'), add('d')], [])).code).toBe('PATH_OVERLAPS');
  });

  it('50,000 recorded outputs against 5,000 new paths in one pass', () => {
    const recorded: RecordedOutput[] = [];
    for (let i = 0; i < 50_000; i++) recorded.push(ptr(`shard${i % 100}/item${i}`));
    const cands: NewOutput[] = [];
    for (let i = 0; i < 5_000; i++) cands.push(add(`new${i % 100}/f${i}`));
    expect(() => refuseOverlaps(cands, recorded)).not.toThrow();
    cands.push(add('shard7'));
    expect((rvcError(() => refuseOverlaps(cands, recorded)).details as { paths: string[] }).paths).toEqual(['shard7', 'shard7/item7']);
  });
});

describe('gitignoreStillNeeded', () => {
  it('another pointer or a cached stage output of the same path needs the line; a cache: false output does not', () => {
    expect(gitignoreStillNeeded('m', new Set(['m.rvc']), [ptr('m'), out('m', 'train')])).toBe(true);
    expect(gitignoreStillNeeded('m', new Set(['m.rvc']), [ptr('m'), out('m', 'train', false)])).toBe(false);
    expect(gitignoreStillNeeded('m', new Set(['m.rvc']), [ptr('m'), ptr('m', 'twin.rvc')])).toBe(true);
    expect(gitignoreStillNeeded('m', new Set(['m.rvc', 'twin.rvc']), [ptr('m'), ptr('m', 'twin.rvc')])).toBe(false);
    expect(gitignoreStillNeeded('m', new Set(['m.rvc']), undefined)).toBe(true);
  });
});
