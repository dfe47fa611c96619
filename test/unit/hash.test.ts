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
