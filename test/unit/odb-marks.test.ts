import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Odb } from '../../src/odb/odb.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function odb(): { odb: Odb; root: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rvc-marks-'));
  dirs.push(root);
  return { odb: new Odb(path.join(root, 'cache'), 'blake3', path.join(root, 'tmp', 'objects')), root };
}

const T = `${'ab'.repeat(32)}.tree`;

describe('manifest completeness marks', () => {
  it('a mark counts until objects are deleted', () => {
    const { odb: o } = odb();
    expect(o.isMarkedComplete(T)).toBe(false);
    o.markComplete(T);
    expect(o.isMarkedComplete(T)).toBe(true);
    o.clearCompleteMarks();
    expect(o.isMarkedComplete(T)).toBe(false);
  });

  it('a mark from a check that a deletion overlapped is ignored', () => {
    const { odb: o } = odb();
    // status reads the generation, then checks the files…
    const gen = o.markGeneration();
    // …while gc starts deleting (first clear) and finishes (second clear)…
    o.clearCompleteMarks();
    const during = o.markGeneration();
    o.clearCompleteMarks();
    // …and only then writes its marks.
    o.markComplete(T, gen);
    expect(o.isMarkedComplete(T)).toBe(false);
    o.markComplete(T, during);
    expect(o.isMarkedComplete(T)).toBe(false);
    o.markComplete(T, o.markGeneration());
    expect(o.isMarkedComplete(T)).toBe(true);
  });

  it('clearing removes old generations and marks of the earlier flat layout', () => {
    const { odb: o, root } = odb();
    const marks = path.join(root, 'tmp', 'complete', 'blake3');
    fs.mkdirSync(marks, { recursive: true });
    fs.writeFileSync(path.join(marks, T), '');
    o.markComplete(T);
    o.clearCompleteMarks();
    o.clearCompleteMarks();
    expect(fs.readdirSync(marks).sort()).toEqual(['generation']);
  });
});
