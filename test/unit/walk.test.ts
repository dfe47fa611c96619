import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { walkFiles, IgnoreRules } from '../../src/fsutil/walk.js';
import { tmpDir, rmrf, writeTree } from '../helpers/cli.js';

const work = tmpDir('rvc-walk-');
afterAll(() => rmrf(work));

describe('walkFiles', () => {
  it('lists files in code-unit path order, a folder sorting as `name/` among its siblings', () => {
    const root = path.join(work, 'order');
    const files = ['a-b', 'a.txt', 'a/x', 'a/y/z', 'a0', 'B', 'b/c', 'b!', 'é', 'z/a b/c', 'z/a-b', 'z/a/b'];
    writeTree(root, Object.fromEntries(files.map((f, i) => [`data/${f}`, `${i}\n`])));
    const list = walkFiles(path.join(root, 'data'), { repoRoot: root, ignore: new IgnoreRules(root) });
    expect(list.rel).toEqual([...files].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    for (let i = 0; i < list.length; i++) {
      const abs = list.abs(i);
      expect(abs).toBe(path.join(root, 'data', ...list.rel[i]!.split('/')));
      const st = fs.lstatSync(abs);
      expect(list.stat(i)).toEqual({ ino: st.ino, mtimeMs: st.mtimeMs, size: st.size, mode: st.mode });
    }
  });
});
