import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { copyToNewFile, copyToNewFileSync, isTempName } from '../../src/fsutil/atomic.js';
import { placeFile, SMALL_COPY } from '../../src/fsutil/link.js';
import { codeOf as code } from '../helpers/errors.js';
import { tmpDir, rmrf } from '../helpers/cli.js';

const work = tmpDir('rvc-place-');
afterAll(() => rmrf(work));

function object(dir: string, name: string, data: Buffer | string): string {
  fs.mkdirSync(dir, { recursive: true });
  const p = path.join(dir, name);
  fs.writeFileSync(p, data, { mode: 0o444 });
  return p;
}

describe('placing a small file by copy (one buffer)', () => {
  it('gives a private writable copy with the recorded mode over a read-only file in the way, and reports its stat', () => {
    const dir = path.join(work, 'small');
    const obj = object(dir, 'object', 'small content\n');
    const dest = path.join(dir, 'file');
    fs.writeFileSync(dest, 'old', { mode: 0o444 });
    let seen: fs.Stats | undefined;
    expect(placeFile(obj, dest, ['copy'], { size: 14, stat: (st) => { seen = st; } })).toBe('copy');
    expect(fs.readFileSync(dest, 'utf8')).toBe('small content\n');
    const st = fs.statSync(dest);
    expect(st.mode & 0o777).toBe(0o644);
    expect(st.ino).not.toBe(fs.statSync(obj).ino);
    // The stat handed back is the placed file's: the hash cache records it without a second stat.
    expect(seen && [seen.ino, seen.size, seen.mtimeMs, seen.mode]).toEqual([st.ino, st.size, st.mtimeMs, st.mode]);
    placeFile(obj, path.join(dir, 'run.sh'), ['copy'], { size: 14, exec: true });
    expect(fs.statSync(path.join(dir, 'run.sh')).mode & 0o777).toBe(0o755);
    expect(fs.readdirSync(dir).filter(isTempName)).toEqual([]);
  });

  it('copies the whole object when it is larger than the size it was placed with (and empty objects)', () => {
    const dir = path.join(work, 'big');
    const data = Buffer.alloc(SMALL_COPY * 2 + 17, 7);
    data[data.length - 1] = 9;
    const obj = object(dir, 'object', data);
    const dest = path.join(dir, 'file');
    placeFile(obj, dest, ['copy'], { size: 10 });
    expect(fs.readFileSync(dest).equals(data)).toBe(true);
    const just = Buffer.alloc(SMALL_COPY, 3);
    placeFile(object(dir, 'edge', just), dest, ['copy'], { size: SMALL_COPY });
    expect(fs.readFileSync(dest).equals(just)).toBe(true);
    placeFile(object(dir, 'empty', ''), dest, ['copy'], { size: 0 });
    expect(fs.statSync(dest).size).toBe(0);
    expect(fs.readdirSync(dir).filter(isTempName)).toEqual([]);
  });

  it('a missing object or a read-only folder fails naming the destination and leaves no temp file', () => {
    const dir = path.join(work, 'fail');
    const obj = object(dir, 'object', 'x');
    expect(code(() => placeFile(path.join(dir, 'gone'), path.join(dir, 'file'), ['copy'], { size: 1 }))).toBe('PATH_NOT_FOUND');
    // Root writes into a read-only folder anyway; test/e2e/diskfull.test.ts covers it as another user.
    if (process.getuid?.() !== 0) {
      const ro = path.join(dir, 'ro');
      fs.mkdirSync(ro);
      fs.chmodSync(ro, 0o555);
      try {
        expect(code(() => placeFile(obj, path.join(ro, 'file'), ['copy'], { size: 1 }))).toBe('PERMISSION_DENIED');
        expect(fs.readdirSync(ro)).toEqual([]);
      } finally {
        fs.chmodSync(ro, 0o755);
      }
    }
    expect(fs.readdirSync(dir).filter(isTempName)).toEqual([]);
  });
});

describe('copying into a new file (copyToNewFile)', () => {
  it('makes the copy, replaces a leftover at the destination whole, and creates nothing when the source is missing', async () => {
    const dir = path.join(work, 'fresh');
    const src = object(dir, 'object', Buffer.alloc(SMALL_COPY + 3, 5));
    const dest = path.join(dir, 'copy');
    copyToNewFileSync(src, dest);
    expect(fs.readFileSync(dest).equals(fs.readFileSync(src))).toBe(true);
    // A longer leftover (a retried download into the same temp file) leaves no tail behind.
    fs.rmSync(dest);
    fs.writeFileSync(dest, Buffer.alloc(SMALL_COPY * 2, 1));
    await copyToNewFile(src, dest);
    expect(fs.readFileSync(dest).equals(fs.readFileSync(src))).toBe(true);
    fs.writeFileSync(dest, 'x'.repeat(10));
    copyToNewFileSync(src, dest, 0);
    expect(fs.statSync(dest).size).toBe(SMALL_COPY + 3);
    const gone = path.join(dir, 'gone');
    expect(() => copyToNewFileSync(path.join(dir, 'absent'), gone)).toThrow(/ENOENT/);
    await expect(copyToNewFile(path.join(dir, 'absent'), gone)).rejects.toThrow(/ENOENT/);
    expect(fs.existsSync(gone)).toBe(false);
  });
});
