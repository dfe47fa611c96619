import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { hashFile, hashBuffer } from '../../src/hashing/hash.js';
import { tmpDir, rmrf } from '../helpers/cli.js';

const work = tmpDir('rvc-hash-');
afterAll(() => rmrf(work));
const MiB = 1024 * 1024;

describe('hashFile', () => {
  it('equals hashing the whole content at once, for files below, at and above one read chunk', () => {
    const big = randomBytes(8 * MiB + 5);
    for (const size of [0, 1, 4 * MiB - 1, 4 * MiB, 4 * MiB + 1, 8 * MiB + 5]) {
      const f = path.join(work, `f${size}`);
      fs.writeFileSync(f, big.subarray(0, size));
      for (const algo of ['blake3', 'sha256'] as const) {
        expect(hashFile(algo, f), `${algo} of ${size} bytes`).toBe(hashBuffer(algo, big.subarray(0, size)));
      }
    }
  });
});

describe('reading small files whole into one reused buffer', () => {
  it('returns the whole content whatever size the stat gave, and nothing for a file over the limit', async () => {
    const { readSmallFile, SMALL_FILE } = await import('../../src/hashing/hash.js');
    const f = path.join(work, 'small-read');
    const data = randomBytes(3000);
    fs.writeFileSync(f, data);
    expect(readSmallFile(f, 3000)!.equals(data)).toBe(true);
    // A stale stat (the file grew or shrank since) still gets the file as it is now.
    expect(readSmallFile(f, 10)!.equals(data)).toBe(true);
    expect(readSmallFile(f, 5000)!.equals(data)).toBe(true);
    fs.writeFileSync(f, '');
    expect(readSmallFile(f, 0)!.length).toBe(0);
    const exact = randomBytes(SMALL_FILE);
    fs.writeFileSync(f, exact);
    expect(readSmallFile(f, SMALL_FILE)!.equals(exact)).toBe(true);
    fs.writeFileSync(f, Buffer.concat([exact, Buffer.from('x')]));
    expect(readSmallFile(f, 100)).toBeUndefined();
  });

  it('addFile stores a file that grew past the limit since its stat whole, by the large-file path', async () => {
    const { Odb } = await import('../../src/odb/odb.js');
    const root = path.join(work, 'odb-cache');
    const odb = new Odb(root, 'blake3', path.join(root, 'tmp'));
    const f = path.join(work, 'grown');
    const small = randomBytes(100);
    fs.writeFileSync(f, small);
    const a = odb.addFile(f, 100);
    expect(a).toEqual({ oid: hashBuffer('blake3', small), size: 100 });
    const next = randomBytes(4 * MiB + 7);
    fs.writeFileSync(f, next);
    const b = odb.addFile(f, 100); // the stat said 100 bytes
    expect(b).toEqual({ oid: hashBuffer('blake3', next), size: next.length });
    expect(fs.readFileSync(odb.objectPath(b.oid)).equals(next)).toBe(true);
    expect(fs.readFileSync(odb.objectPath(a.oid)).equals(small)).toBe(true);
  });
});
