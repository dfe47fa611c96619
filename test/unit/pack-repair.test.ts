import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { packIndexKey, packKey, parsePackIndex } from '../../src/model/pack.js';
import { PackWriter } from '../../src/remote/packs.js';
import { MemoryRemote } from '../../src/remote/index.js';
import { Odb } from '../../src/odb/odb.js';
import { hashBuffer } from '../../src/hashing/hash.js';
import { repairPacks } from '../../src/repo/pack-repair.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const hash = (b: Uint8Array): string => hashBuffer('blake3', b);

/** A memory remote with one pack of `objects` (in order), and an odb in a temp folder. */
async function setUp(objects: Buffer[]): Promise<{ remote: MemoryRemote; odb: Odb; id: string; oids: string[] }> {
  const root = mkdtempSync(path.join(tmpdir(), 'rvc-pack-repair-'));
  dirs.push(root);
  const odb = new Odb(path.join(root, 'cache'), 'blake3', path.join(root, 'cache', 'tmp'));
  const remote = new MemoryRemote();
  let id = '';
  const writer = new PackWriter(remote, 'blake3', hash, Number.MAX_SAFE_INTEGER, (w) => (id = w.id));
  const oids: string[] = [];
  for (const [i, data] of objects.entries()) {
    const file = path.join(root, `o${i}`);
    writeFileSync(file, data);
    oids.push(hash(data));
    await writer.add({ oid: hash(data), file, size: data.length });
  }
  await writer.flush();
  return { remote, odb, id, oids };
}

/** What the remote's packs give for each oid, re-hashed here. */
function packedObjects(remote: MemoryRemote): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [key, text] of remote.objects) {
    if (!key.endsWith('.idx')) continue;
    const pack = remote.objects.get(key.replace(/\.idx$/, '.pack'))!;
    for (const e of parsePackIndex(text.toString('utf8'), 'blake3', key).entries) {
      const b = pack.subarray(e.offset, e.offset + e.length);
      if (hash(b) === e.oid) out.set(e.oid, Buffer.from(b));
    }
  }
  return out;
}

describe('repairPacks', () => {
  it('writes every object it or the cache holds intact into a new pack, deletes the damaged one, and names only what no copy is left of', async () => {
    const data = [Buffer.from('first object\n'), Buffer.from('second object\n'), Buffer.from('third object\n'), Buffer.from('fourth object\n')];
    const { remote, odb, id, oids } = await setUp(data);
    const [a, b, c, d] = oids as [string, string, string, string];
    // b altered in the pack (the cache has it), the pack cut inside c and d (the cache lacks
    // both); d is loose on the remote too.
    const pack = Buffer.from(remote.objects.get(packKey('blake3', id))!);
    const offB = pack.indexOf(data[1]!);
    pack[offB] ^= 0xff;
    remote.objects.set(packKey('blake3', id), pack.subarray(0, pack.indexOf(data[2]!) + 2));
    odb.putBuffer(b, data[1]!);
    remote.objects.set(`blake3/${d.slice(0, 2)}/${d.slice(2)}`, data[3]!);

    const r = await repairPacks(odb, remote, [id]);
    expect(r).toEqual([{ key: packKey('blake3', id), rewritten: 2, lost: [c] }]);
    expect(remote.objects.has(packKey('blake3', id))).toBe(false);
    expect(remote.objects.has(packIndexKey('blake3', id))).toBe(false);
    const now = packedObjects(remote);
    expect([...now.keys()].sort()).toEqual([a, b].sort());
    expect(now.get(a)!.equals(data[0]!)).toBe(true);
    expect(now.get(b)!.equals(data[1]!)).toBe(true);
  });

  it('a pack gone since it was named is skipped', async () => {
    const { remote, odb, id } = await setUp([Buffer.from('x\n')]);
    remote.objects.delete(packIndexKey('blake3', id));
    remote.objects.delete(packKey('blake3', id));
    expect(await repairPacks(odb, remote, [id])).toEqual([]);
  });
});
