import { mkdtempSync, rmSync, writeFileSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatPackIndex, packIndexKey, packKey, parsePackIndex, parsePackKey } from '../../src/model/pack.js';
import { PackSet, PackWriter } from '../../src/remote/packs.js';
import { openRemote } from '../../src/remote/index.js';
import { hashBuffer } from '../../src/hashing/hash.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const H = 'c'.repeat(64);
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'rvc-packs-'));
  dirs.push(d);
  return d;
}

describe('pack index format', () => {
  it('round-trips, sorted by oid', () => {
    const text = formatPackIndex({ algo: 'blake3', packHash: H, packSize: 10, entries: [{ oid: B, offset: 4, length: 6 }, { oid: A, offset: 0, length: 4 }] });
    expect(text.split('\n')[3]).toBe(`${A} 0 4`);
    expect(parsePackIndex(text, 'blake3', 'k').entries.map((e) => e.oid)).toEqual([A, B]);
  });

  it.each([
    ['an object past the end', `rvc-pack-index 1\nalgo blake3\npack ${H} 10\n${A} 8 4\n`, /ends past/],
    ['overlapping objects', `rvc-pack-index 1\nalgo blake3\npack ${H} 10\n${A} 0 6\n${B} 4 2\n`, /overlap/],
    ['unsorted entries', `rvc-pack-index 1\nalgo blake3\npack ${H} 10\n${B} 0 1\n${A} 1 1\n`, /sorted/],
    ['another algorithm', `rvc-pack-index 1\nalgo sha256\npack ${H} 10\n`, /algo blake3/],
    ['a bad oid', `rvc-pack-index 1\nalgo blake3\npack ${H} 10\nxyz 0 1\n`, /expected/],
    ['a negative offset', `rvc-pack-index 1\nalgo blake3\npack ${H} 10\n${A} -1 1\n`, /expected/],
  ])('refuses %s', (_what, text, re) => {
    expect(() => parsePackIndex(text, 'blake3', 'packs/blake3/x.idx')).toThrow(re);
  });

  it('names keys and parses them back', () => {
    expect(parsePackKey('blake3', packKey('blake3', A))).toEqual({ kind: 'pack', id: A });
    expect(parsePackKey('blake3', packIndexKey('blake3', A))).toEqual({ kind: 'idx', id: A });
    expect(parsePackKey('blake3', 'packs/blake3/../x.idx')).toBeUndefined();
  });
});

describe('PackWriter and PackSet over a folder remote', () => {
  it('writes packs of about the target size that a PackSet reads back', async () => {
    const root = tmp();
    const remote = await openRemote(path.join(root, 'remote'));
    const hash = (b: Uint8Array) => hashBuffer('blake3', b);
    const writer = new PackWriter(remote, 'blake3', hash, path.join(root, 'tmp'), 1000);
    const objects = new Map<string, Buffer>();
    for (let i = 0; i < 30; i++) {
      const data = Buffer.from(`object ${i} `.repeat(10));
      const file = path.join(root, `o${i}`);
      writeFileSync(file, data);
      const oid = hash(data);
      objects.set(oid, data);
      await writer.add({ oid, file, size: data.length });
    }
    await writer.flush();
    const set = await PackSet.load(remote, 'blake3', hash, path.join(root, 'idx'));
    expect(set.size).toBe(30);
    expect(set.packs.size).toBeGreaterThan(1);
    for (const [oid, data] of objects) {
      const at = set.find(oid)!;
      const pack = readFileSync(path.join(root, 'remote', ...packKey('blake3', at.id).split('/')));
      expect(pack.subarray(at.offset, at.offset + at.length).equals(data)).toBe(true);
    }
    expect(readdirSync(path.join(root, 'tmp'))).toEqual([]);
    // A cached index that was damaged is fetched again; one damaged on the remote is refused.
    const [id] = [...set.packs.keys()];
    writeFileSync(path.join(root, 'idx', `${id}.idx`), 'junk');
    expect((await PackSet.load(remote, 'blake3', hash, path.join(root, 'idx'))).size).toBe(30);
    rmSync(path.join(root, 'idx'), { recursive: true });
    writeFileSync(path.join(root, 'remote', ...packIndexKey('blake3', id!).split('/')), 'junk');
    await expect(PackSet.load(remote, 'blake3', hash, path.join(root, 'idx'))).rejects.toThrow(/does not match its name/);
    await remote.close();
  });
});
