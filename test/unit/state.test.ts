import { describe, it, expect, afterEach } from 'vitest';
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
    const text = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, text.slice(0, text.length / 2));
    expect(HashState.load(d, 'blake3', 'x').get('keep', st(1, old, 1))).toBeUndefined();
    fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(text), oids: 'z'.repeat(64) }));
    expect(HashState.load(d, 'blake3', 'x').get('keep', st(1, old, 1))).toBeUndefined();
    expect(path.basename(file)).toMatch(/^[0-9a-f]{32}\.json$/);
  });
});
