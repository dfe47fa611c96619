import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { removeRunEntryIf } from '../../src/repo/run-cache.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function entryFile(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rvc-runs-'));
  dirs.push(dir);
  const file = path.join(dir, 'a'.repeat(62));
  fs.writeFileSync(file, text);
  return file;
}

describe('removing a run-cache entry gc judged dead', () => {
  it('removes it when it still holds what gc read, and leaves no temp file', () => {
    const f = entryFile('old\n');
    expect(removeRunEntryIf(f, 'old\n')).toBe(true);
    expect(fs.readdirSync(path.dirname(f))).toEqual([]);
  });

  it('keeps an entry a repro rewrote since gc read it, with the new content', () => {
    const f = entryFile('new\n');
    expect(removeRunEntryIf(f, 'old\n')).toBe(false);
    expect(fs.readdirSync(path.dirname(f))).toEqual([path.basename(f)]);
    expect(fs.readFileSync(f, 'utf8')).toBe('new\n');
  });

  it('an entry already gone is not an error', () => {
    const f = entryFile('old\n');
    fs.rmSync(f);
    expect(removeRunEntryIf(f, 'old\n')).toBe(false);
  });
});
