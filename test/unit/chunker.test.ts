import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { CHUNK_PARAMS, chunkBuffer, makeCutter, type ChunkParams } from '../../src/hashing/chunker.js';
import { parseChunkList, serializeChunkList } from '../../src/model/chunks.js';
import { hashBuffer, hashFile } from '../../src/hashing/hash.js';
import { Odb } from '../../src/odb/odb.js';
import { tmpDir, rmrf } from '../helpers/cli.js';

const MiB = 1024 * 1024;
const SMALL: ChunkParams = { min: 2048, avg: 8192, max: 32768 };
const work = tmpDir('rvc-chunker-');
afterAll(() => rmrf(work));

/** FastCDC as specified, one byte at a time: the reference the two-byte loop must equal. */
function referenceCuts(buf: Uint8Array, p: ChunkParams): number[] {
  const gear = Array.from({ length: 256 }, (_, i) => createHash('sha256').update(Buffer.from([i])).digest().readInt32BE(0));
  const bits = Math.round(Math.log2(p.avg));
  const mask = (b: number): number => ((0xffffffff << (32 - b)) >>> 1) | 0;
  const [ms, ml] = [mask(bits + 2), mask(bits - 2)];
  const ends: number[] = [];
  let start = 0;
  while (start < buf.length) {
    const n = buf.length - start;
    let end = start + Math.min(n, p.max);
    if (n > p.min) {
      let h = 0;
      for (let i = start + p.min; i < start + Math.min(n, p.max); i++) {
        h = ((h << 1) + gear[buf[i]!]!) | 0;
        if ((h & (i < start + p.avg ? ms : ml)) === 0) {
          end = i + 1;
          break;
        }
      }
    } else end = buf.length;
    ends.push(end);
    start = end;
  }
  return ends;
}

const digests = (buf: Buffer, cuts: Array<[number, number]>): string[] => cuts.map(([a, b]) => hashBuffer('sha256', buf.subarray(a, b)));

describe('content-defined chunker', () => {
  it('cuts deterministically, covers the input in order, respects min and max, and equals the byte-at-a-time reference', () => {
    for (const size of [0, 1, SMALL.min, SMALL.min + 1, SMALL.max, 3 * SMALL.max + 17, 1_000_003]) {
      const buf = randomBytes(size);
      const cuts = chunkBuffer(buf, SMALL);
      expect(chunkBuffer(buf, SMALL)).toEqual(cuts);
      expect(cuts.map(([, e]) => e)).toEqual(referenceCuts(buf, SMALL));
      let pos = 0;
      cuts.forEach(([a, b], i) => {
        expect(a).toBe(pos);
        expect(b - a).toBeLessThanOrEqual(SMALL.max);
        if (i < cuts.length - 1) expect(b - a).toBeGreaterThan(SMALL.min);
        pos = b;
      });
      expect(pos).toBe(size);
    }
    // A run of zeros never meets the mask: cut at max.
    expect(chunkBuffer(Buffer.alloc(3 * SMALL.max), SMALL).map(([a, b]) => b - a)).toEqual([SMALL.max, SMALL.max, SMALL.max]);
  });

  it('is shift-resistant: bytes inserted or changed in the middle change only the chunks near them', () => {
    const buf = randomBytes(24 * MiB);
    const before = new Set(digests(buf, chunkBuffer(buf)));
    expect(before.size).toBeGreaterThan(10);
    const inserted = Buffer.concat([buf.subarray(0, 12 * MiB), randomBytes(777), buf.subarray(12 * MiB)]);
    const changed = Buffer.from(buf);
    changed.fill(7, 12 * MiB, 12 * MiB + 1024);
    for (const v of [inserted, changed]) {
      const after = digests(v, chunkBuffer(v));
      expect(after.filter((d) => !before.has(d)).length).toBeLessThanOrEqual(2);
    }
  });

  it('needs max bytes unless at the end of input', () => {
    expect(() => makeCutter(SMALL).cut(new Uint8Array(SMALL.max - 1), 0, SMALL.max - 1, false)).toThrow(RangeError);
    expect(CHUNK_PARAMS.min).toBeLessThan(CHUNK_PARAMS.avg);
  });
});

describe('chunk lists', () => {
  const a = 'a'.repeat(64);
  const b = 'b'.repeat(64);
  it('round-trips and refuses damage', () => {
    const text = serializeChunkList('blake3', [{ oid: a, size: 5 }, { oid: b, size: 7 }]);
    expect(text).toBe(`rvc-chunks 1 blake3 12\n${a} 5\n${b} 7\n`);
    expect(parseChunkList(text, 'blake3', 'x')).toEqual([{ oid: a, size: 5 }, { oid: b, size: 7 }]);
    for (const bad of [text.replace(' 12', ' 13'), text.replace('blake3', 'sha256'), text.slice(0, -1), text.replace(` 7\n`, ` 0\n`), text.replace(b, `${b}.tree`), `junk\n`]) {
      expect(() => parseChunkList(bad, 'blake3', 'x')).toThrow(/chunk list/);
    }
  });

  it('the odb stores a large file as chunks only, and gives it back whole', () => {
    const cache = path.join(work, 'cache');
    const odb = new Odb(cache, 'blake3', path.join(cache, 'tmp'), { chunkThreshold: 2 * MiB });
    const src = path.join(work, 'big');
    const data = randomBytes(9 * MiB + 3);
    fs.writeFileSync(src, data);
    const { oid, size } = odb.addFile(src, data.length);
    expect(oid).toBe(hashBuffer('blake3', data));
    expect(size).toBe(data.length);
    expect(fs.existsSync(odb.objectPath(oid))).toBe(false);
    const chunks = odb.chunksOf(oid)!;
    expect(chunks.length).toBeGreaterThan(2);
    expect(odb.hasSync(oid)).toBe(true);
    expect(odb.verify(`${oid}.chunks`)).toBe('ok');
    const out = path.join(work, 'out');
    odb.copyObjectTo(oid, out);
    expect(hashFile('blake3', out)).toBe(oid);
    expect(odb.readObject(oid).equals(data)).toBe(true);
    // One chunk gone: the file is no longer in the cache.
    fs.rmSync(odb.objectPath(chunks[1]!.oid));
    expect(odb.hasSync(oid)).toBe(false);
    expect(odb.verify(`${oid}.chunks`)).toBe('corrupt');
  });
});
