import { describe, it, expect, afterEach } from 'vitest';
import v8 from 'node:v8';
import vm from 'node:vm';
import fs from 'node:fs';
import path from 'node:path';
import { HashState, RACY_MS } from '../../src/hashing/state.js';
import { tmpDir, rmrf } from '../helpers/cli.js';

const dirs: string[] = [];
afterEach(() => {
  while (dirs.length) rmrf(dirs.pop()!);
});

const OID_A = 'a'.repeat(64);
const OID_B = 'b'.repeat(64);
const st = (ino: number, mtimeMs: number, size: number) => ({ ino, mtimeMs, size, mode: 0o644 });

describe('hash cache', () => {
  it('vouches only for a file whose path, inode, mtime and size all match, across saves', () => {
    const d = tmpDir();
    dirs.push(d);
    const old = Date.now() - 10_000;
    const s1 = HashState.load(d, 'blake3', 'data');
    s1.set('a', st(1, old, 10), OID_A, Date.now());
    s1.set('dir/b', st(2, old, 20), OID_B, Date.now());
    s1.save();
    const s2 = HashState.load(d, 'blake3', 'data');
    expect(s2.get('a', st(1, old, 10))).toBe(OID_A);
    expect(s2.get('dir/b', st(2, old, 20))).toBe(OID_B);
    expect(s2.get('a', st(9, old, 10))).toBeUndefined();
    expect(s2.get('a', st(1, old + 1, 10))).toBeUndefined();
    expect(s2.get('a', st(1, old, 11))).toBeUndefined();
    expect(s2.get('c', st(1, old, 10))).toBeUndefined();
    expect(HashState.load(d, 'sha256', 'data').get('a', st(1, old, 10))).toBeUndefined();
  });

  it('keeps the one row of a single-file output, whose path is empty, across saves (no re-hash, no rewrite)', () => {
    const d = tmpDir();
    dirs.push(d);
    const old = Date.now() - 10_000;
    const s1 = HashState.load(d, 'blake3', 'model.bin');
    s1.set('', st(7, old, 99), OID_A, Date.now());
    s1.save({ prune: true });
    const file = HashState.fileFor(d, 'blake3', 'model.bin');
    const written = fs.statSync(file).mtimeMs;
    const s2 = HashState.load(d, 'blake3', 'model.bin');
    expect(s2.get('', st(7, old, 99))).toBe(OID_A);
    s2.set('', st(7, old, 99), OID_A, Date.now());
    const marked = Math.floor(written / 1000) * 1000 - 5000;
    fs.utimesSync(file, new Date(marked), new Date(marked));
    s2.save({ prune: true });
    // Nothing changed, so nothing was written.
    expect(fs.statSync(file).mtimeMs).toBe(marked);
  });

  it('does not trust a racily clean entry (mtime too close to when hashing began)', () => {
    const d = tmpDir();
    dirs.push(d);
    const now = Date.now();
    const s = HashState.load(d, 'blake3', 'x');
    s.set('f', st(1, now - RACY_MS / 2, 5), OID_A, now);
    s.save();
    expect(HashState.load(d, 'blake3', 'x').get('f', st(1, now - RACY_MS / 2, 5))).toBeUndefined();
  });

  it('prunes entries of files not seen, and ignores a damaged state file', () => {
    const d = tmpDir();
    dirs.push(d);
    const old = Date.now() - 10_000;
    const s = HashState.load(d, 'blake3', 'x');
    s.set('keep', st(1, old, 1), OID_A, Date.now());
    s.set('gone', st(2, old, 1), OID_B, Date.now());
    s.save();
    const s2 = HashState.load(d, 'blake3', 'x');
    expect(s2.get('keep', st(1, old, 1))).toBe(OID_A);
    s2.save({ prune: true });
    const s3 = HashState.load(d, 'blake3', 'x');
    expect(s3.get('keep', st(1, old, 1))).toBe(OID_A);
    expect(s3.get('gone', st(2, old, 1))).toBeUndefined();
    const file = HashState.fileFor(d, 'blake3', 'x');
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, bytes.subarray(0, bytes.length >> 1));
    expect(HashState.load(d, 'blake3', 'x').get('keep', st(1, old, 1))).toBeUndefined();
    // The oid column (after the header line and four columns of one row each) made non-hex.
    const damaged = Buffer.from(bytes);
    damaged.fill('z', bytes.indexOf(10) + 1 + 4 * 8, bytes.indexOf(10) + 1 + 4 * 8 + 64);
    fs.writeFileSync(file, damaged);
    expect(HashState.load(d, 'blake3', 'x').get('keep', st(1, old, 1))).toBeUndefined();
    fs.writeFileSync(file, bytes);
    expect(HashState.load(d, 'blake3', 'x').get('keep', st(1, old, 1))).toBe(OID_A);
    expect(path.basename(file)).toMatch(/^[0-9a-f]{32}\.state$/);
  });

  it('reads the JSON file of rvc before format v3 and replaces it on the next save', () => {
    const d = tmpDir();
    dirs.push(d);
    const old = Date.now() - 10_000;
    const legacy = HashState.fileFor(d, 'blake3', 'x').replace(/\.state$/, '.json');
    fs.writeFileSync(legacy, JSON.stringify({
      v: 2, algo: 'blake3', paths: 'a\u0000b/é', ino: [1, 2], mtime: [old, old], size: [3, 4], oids: OID_A + OID_B, at: [Date.now(), Date.now()],
    }));
    const s = HashState.load(d, 'blake3', 'x');
    expect(s.get('a', st(1, old, 3))).toBe(OID_A);
    expect(s.get('b/é', st(2, old, 4))).toBe(OID_B);
    s.save();
    expect(fs.existsSync(legacy)).toBe(false);
    const s2 = HashState.load(d, 'blake3', 'x');
    expect(s2.get('a', st(1, old, 3))).toBe(OID_A);
    expect(s2.get('b/é', st(2, old, 4))).toBe(OID_B);
    // A column of strings is not numbers: the file is not used.
    fs.writeFileSync(legacy, JSON.stringify({ v: 2, algo: 'blake3', paths: 'c', ino: ['5'], mtime: [old], size: [1], oids: OID_A, at: [Date.now()] }));
    fs.rmSync(HashState.fileFor(d, 'blake3', 'x'));
    expect(HashState.load(d, 'blake3', 'x').get('c', st(5, old, 1))).toBeUndefined();
  });

  it('finds rows asked in order, out of order and by prefix-sharing paths; updates and prunes them alike', () => {
    const d = tmpDir();
    dirs.push(d);
    const old = Date.now() - 10_000;
    const paths = ['a', 'a b', 'a-b', 'a/x', 'ab', 'b/c/d', 'é'];
    const oid = (i: number) => String(i % 10).repeat(64);
    const s1 = HashState.load(d, 'blake3', 'o');
    paths.forEach((p, i) => s1.set(p, st(i + 1, old, i), oid(i), Date.now()));
    s1.save();
    // In order (get then set of each, as add does), then backwards, then skipping about.
    const s2 = HashState.load(d, 'blake3', 'o');
    paths.forEach((p, i) => {
      expect(s2.get(p, st(i + 1, old, i))).toBe(oid(i));
      s2.set(p, st(i + 1, old, i), oid(i), Date.now());
    });
    expect(s2.get('a/', st(1, old, 0))).toBeUndefined();
    expect(s2.get('', st(1, old, 0))).toBeUndefined();
    for (let i = paths.length - 1; i >= 0; i--) expect(s2.get(paths[i]!, st(i + 1, old, i))).toBe(oid(i));
    for (const i of [4, 0, 6, 3, 3, 1]) expect(s2.get(paths[i]!, st(i + 1, old, i))).toBe(oid(i));
    // A changed row wins over the loaded one; a file not looked at is pruned.
    const s3 = HashState.load(d, 'blake3', 'o');
    paths.forEach((p, i) => {
      if (p === 'ab') return;
      if (p === 'a b') s3.set(p, st(50, old, i), oid(i), Date.now()); // restored: new inode, same content
      else s3.set(p, st(i + 1, old, i), p === 'a-b' ? OID_B : oid(i), Date.now());
    });
    s3.set('new', st(99, old, 1), OID_A, Date.now());
    s3.save({ prune: true });
    const s4 = HashState.load(d, 'blake3', 'o');
    expect(s4.get('a-b', st(3, old, 2))).toBe(OID_B);
    expect(s4.get('ab', st(5, old, 4))).toBeUndefined();
    expect(s4.get('new', st(99, old, 1))).toBe(OID_A);
    expect(s4.get('é', st(7, old, 6))).toBe(oid(6));
    expect(s4.get('a', st(1, old, 0))).toBe(oid(0));
    expect(s4.get('a b', st(50, old, 1))).toBe(oid(1));
    expect(s4.get('a b', st(2, old, 1))).toBeUndefined();
  });
  it('records a million new files without a map entry or a kept path string each (a pull into a fresh clone)', () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const used = (): number => {
      gc();
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const d = tmpDir();
    dirs.push(d);
    const old = Date.now() - 10_000;
    const n = 200_000;
    const rel = (i: number) => `d${String(Math.floor(i / 1000)).padStart(4, '0')}/f${String(i % 1000).padStart(6, '0')}`;
    const s1 = HashState.load(d, 'blake3', 'data');
    const before = used();
    for (let i = 0; i < n; i++) s1.set(rel(i), st(i + 1, old + 0.5, i % 100), OID_A, old + 1000.25);
    const perRow = (used() - before) / n;
    // About 67 bytes: four number columns, the oid's slot and the path in a joined piece. A map
    // from path to row kept each path string and an entry: about 165.
    expect(perRow).toBeLessThan(85);
    // Asked again, in order or not, and a path out of order (which builds the map).
    expect(s1.get(rel(n - 1), st(n, old + 0.5, (n - 1) % 100))).toBe(OID_A);
    expect(s1.get(rel(7), st(8, old + 0.5, 7))).toBe(OID_A);
    s1.set(rel(3), st(4, old + 0.5, 3), OID_B, old + 1000.25);
    s1.set('a-first', st(1, old, 1), OID_B, old + 1000);
    s1.save();
    const s2 = HashState.load(d, 'blake3', 'data');
    expect(s2.get(rel(3), st(4, old + 0.5, 3))).toBe(OID_B);
    expect(s2.get(rel(4), st(5, old + 0.5, 4))).toBe(OID_A);
    expect(s2.get('a-first', st(1, old, 1))).toBe(OID_B);
    expect(s2.get(rel(n - 1), st(n, old + 0.5, (n - 1) % 100))).toBe(OID_A);
  });
});
