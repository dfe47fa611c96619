import { describe, it, expect, afterAll, vi } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { Odb } from '../../src/odb/odb.js';
import { hashBuffer } from '../../src/hashing/hash.js';
import { PackColumns, type PackIndex } from '../../src/model/pack.js';
import { serializeChunkList } from '../../src/model/chunks.js';
import { parseTree, serializeTree } from '../../src/model/tree.js';
import { tempPathFor } from '../../src/fsutil/atomic.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => {
  fs.chmodSync(d, 0o755);
  fs.rmSync(d, { recursive: true, force: true });
}));

/** A cache folder and a way to open it (each Odb loads the local packs on its own). */
function cache(): { root: string; open: () => Odb } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rvc-lpack-'));
  dirs.push(root);
  return { root, open: () => new Odb(path.join(root, 'cache'), 'blake3', path.join(root, 'cache', 'tmp')) };
}

/** Keeps a pack of `objects` in the cache the way a fetch does; returns its index and id. */
function keepPack(odb: Odb, objects: Buffer[]): { index: PackIndex; id: string; oids: string[] } {
  const oids = objects.map((b) => hashBuffer('blake3', b));
  const pack = Buffer.concat(objects);
  let offset = 0;
  const entries = objects.map((b, i) => {
    const e = { oid: oids[i]!, offset, length: b.length };
    offset += b.length;
    return e;
  });
  entries.sort((a, b) => (a.oid < b.oid ? -1 : 1));
  const index: PackIndex = { algo: 'blake3', packHash: hashBuffer('blake3', pack), packSize: pack.length, entries };
  const tmp = tempPathFor(path.join(odb.tmpDir(), 'pack'));
  fs.writeFileSync(tmp, pack);
  const id = odb.adoptPack(tmp, PackColumns.of(index));
  return { index, id, oids };
}

const objs = [Buffer.from('alpha '.repeat(100)), Buffer.from('beta '.repeat(300)), Buffer.from('gamma '.repeat(50))];

describe('packs kept in the local cache', () => {
  it('packed objects are in the cache for every reader; a loose copy is read first; a damaged index hides its pack', () => {
    const { root, open } = cache();
    const o = open();
    const { id, oids } = keepPack(o, objs);
    for (const odb of [o, open()]) {
      oids.forEach((oid, i) => {
        expect(odb.hasSync(oid)).toBe(true);
        expect(odb.readObject(oid).equals(objs[i]!)).toBe(true);
        expect(odb.sizeOf(oid)).toBe(objs[i]!.length);
        expect(odb.verify(oid)).toBe('ok');
      });
      expect([...odb.list()]).toEqual([...oids].sort().map((oid) => ({ oid, pack: id })));
    }
    // A loose copy wins: a different (damaged) loose file is what is read.
    const loose = o.objectPath(oids[0]!);
    fs.mkdirSync(path.dirname(loose), { recursive: true });
    fs.writeFileSync(loose, 'not alpha');
    expect(open().readObject(oids[0]!).toString()).toBe('not alpha');
    expect(open().packedRange(oids[0]!)).toBeUndefined();
    fs.rmSync(loose);
    // An index that no longer hashes to its name: nothing of its pack counts, the pack is a leftover.
    const idx = path.join(root, 'cache', 'packed', 'blake3', `${id}.idx`);
    fs.chmodSync(idx, 0o644);
    fs.appendFileSync(idx, 'x');
    const fresh = open();
    expect(oids.some((oid) => fresh.hasSync(oid))).toBe(false);
    expect([...fresh.list()]).toEqual([{ leftover: path.join(root, 'cache', 'packed', 'blake3', `${id}.pack`) }]);
  });

  it('a pack kept after the lookup was loaded joins it (the table grows); an object in two packs is found once', () => {
    const { open } = cache();
    const o = open();
    const first = keepPack(o, objs);
    expect(o.hasSync(first.oids[0]!)).toBe(true); // loaded
    const many = Array.from({ length: 1500 }, (_, i) => Buffer.from(`object ${i}\n`));
    const second = keepPack(o, [...many, objs[1]!]);
    for (const odb of [o, open()]) {
      expect([...first.oids, ...second.oids].every((oid) => odb.hasSync(oid))).toBe(true);
      expect(odb.readObject(second.oids[1234]!).toString()).toBe('object 1234\n');
      expect(odb.readObject(first.oids[1]!).equals(objs[1]!)).toBe(true);
      expect(odb.hasSync(hashBuffer('blake3', Buffer.from('not there')))).toBe(false);
    }
  });

  it('a chunked file whose chunks are partly packed is read and copied whole', () => {
    const { root } = cache();
    const odb = new Odb(path.join(root, 'cache'), 'blake3', path.join(root, 'cache', 'tmp'), { chunkThreshold: 1 });
    const src = path.join(root, 'big.bin');
    const data = crypto.randomBytes(4 * 1024 * 1024);
    fs.writeFileSync(src, data);
    const { oid } = odb.addFile(src, data.length);
    const chunks = odb.chunksOf(oid)!;
    expect(chunks.length).toBeGreaterThan(1);
    // Its first and last chunks move into a pack.
    const moved = [chunks[0]!, chunks[chunks.length - 1]!];
    const bytes = moved.map((c) => fs.readFileSync(odb.objectPath(c.oid)));
    for (const c of moved) fs.rmSync(odb.objectPath(c.oid));
    const fresh = new Odb(path.join(root, 'cache'), 'blake3', path.join(root, 'cache', 'tmp'));
    expect(fresh.hasSync(oid)).toBe(false);
    keepPack(fresh, bytes);
    expect(fresh.hasSync(oid)).toBe(true);
    expect(fresh.readObject(oid).equals(data)).toBe(true);
    fresh.copyObjectTo(oid, path.join(root, 'out.bin'));
    expect(fs.readFileSync(path.join(root, 'out.bin')).equals(data)).toBe(true);
    expect(fresh.verify(`${oid}.chunks`)).toBe('ok');
  });

  it('dropping a pack writes the kept objects loose first; a reader that loses the pack reads those, or says missing, never other bytes', () => {
    const { open } = cache();
    const writer = open();
    const { index, id, oids } = keepPack(writer, objs);
    const holding = open();
    expect(holding.readObject(oids[0]!).equals(objs[0]!)).toBe(true); // its pack is open now
    const looking = open();
    expect(looking.hasSync(oids[1]!)).toBe(true); // lookup loaded, pack not opened yet
    const written = open().dropPack(id, index, (oid) => oid === oids[1]);
    expect(written).toEqual([oids[1]]);
    expect(fs.existsSync(writer.objectPath(oids[1]!))).toBe(true);
    // The open pack still reads the same bytes; a pack opened after the drop falls back to the loose copy.
    expect(holding.readObject(oids[2]!).equals(objs[2]!)).toBe(true);
    expect(looking.readObject(oids[1]!).equals(objs[1]!)).toBe(true);
    expect(() => looking.readObject(oids[2]!)).toThrow(expect.objectContaining({ code: 'OBJECT_MISSING' }));
    const after = open();
    expect(after.hasSync(oids[0]!)).toBe(false);
    expect(after.hasSync(oids[1]!)).toBe(true);
    expect([...after.list()]).toEqual([{ oid: oids[1] }]);
  });

  it('readObjectInto writes an object at a place in a buffer, from its pack or its loose copy; a pack dropped meanwhile sends it to the loose copy, or says missing', () => {
    const { open } = cache();
    const writer = open();
    const { index, id, oids } = keepPack(writer, objs);
    const into = Buffer.alloc(3 + objs[1]!.length);
    expect(open().readObjectInto(oids[1]!, into, 3)).toBe(objs[1]!.length);
    expect(into.subarray(3).equals(objs[1]!)).toBe(true);
    const looking = open();
    expect(looking.hasSync(oids[0]!)).toBe(true); // lookup loaded, pack not opened yet
    open().dropPack(id, index, (oid) => oid === oids[0]);
    const back = Buffer.alloc(objs[0]!.length);
    expect(looking.readObjectInto(oids[0]!, back, 0)).toBe(objs[0]!.length);
    expect(back.equals(objs[0]!)).toBe(true);
    expect(() => looking.readObjectInto(oids[2]!, Buffer.alloc(objs[2]!.length), 0)).toThrow(expect.objectContaining({ code: 'OBJECT_MISSING' }));
  });

  it('absentOf answers as hasSync for packed, loose, chunked and absent objects, reading a busy shard folder once instead of stat-ing each object', () => {
    const { open } = cache();
    const odb = open();
    const { oids: packed } = keepPack(odb, objs);
    const fake = (shard: string, i: number): string => shard + i.toString(16).padStart(62, '0');
    const put = (oid: string, text: string, file = odb.objectPath(oid)): void => {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, text);
    };
    // Shard ab is busy (read once); shard cd holds two objects (asked one by one).
    const loose = Array.from({ length: 20 }, (_, i) => fake('ab', i));
    for (const o of loose) put(o, 'x');
    const absent = Array.from({ length: 30 }, (_, i) => fake('ab', 100 + i));
    const chunked = fake('ab', 200);
    const chunkMissing = fake('ab', 201);
    put(chunked, serializeChunkList('blake3', [{ oid: loose[0]!, size: 1 }, { oid: loose[1]!, size: 1 }]), odb.chunkListPath(chunked));
    put(chunkMissing, serializeChunkList('blake3', [{ oid: loose[0]!, size: 1 }, { oid: absent[0]!, size: 1 }]), odb.chunkListPath(chunkMissing));
    const quiet = [fake('cd', 1), fake('cd', 2)];
    put(quiet[0]!, 'x');
    // Shard ef has no folder: its objects cost no call.
    const noShard = [fake('ef', 1), fake('ef', 2)];
    const all = [...packed, ...loose, ...absent, chunked, chunkMissing, ...quiet, ...noShard];
    const exists = vi.spyOn(fs, 'existsSync');
    const readdir = vi.spyOn(fs, 'readdirSync');
    let got: string[];
    try {
      got = odb.absentOf(all);
      expect(readdir.mock.calls.filter(([d]) => String(d).endsWith(`${path.sep}ab`))).toHaveLength(1);
      expect(readdir.mock.calls.filter(([d]) => String(d).endsWith(`${path.sep}ef`))).toHaveLength(0);
      // The two chunk lists' checks and the quiet shard's two objects: not two stats for each
      // absent object (62 for these 31).
      expect(exists.mock.calls.length).toBeLessThanOrEqual(12);
    } finally {
      exists.mockRestore();
      readdir.mockRestore();
    }
    expect(got.sort()).toEqual([...absent, chunkMissing, quiet[1]!, ...noShard].sort());
    expect(all.filter((o) => !odb.hasSync(o)).sort()).toEqual(got);
  });

  it('a manifest verified on its way into the cache is handed to the next readTree without reading it again, once', async () => {
    const { root, open } = cache();
    const odb = open();
    const text = serializeTree([{ path: 'a.txt', oid: 'a'.repeat(64), size: 1 }, { path: 'b/c.txt', oid: 'b'.repeat(64), size: 2 }]);
    const oid = `${hashBuffer('blake3', Buffer.from(text))}.tree`;
    const tmp = path.join(root, 'manifest.tmp');
    fs.mkdirSync(odb.tmpDir(), { recursive: true });
    fs.writeFileSync(tmp, text);
    expect(await odb.importVerified(tmp, oid)).toBe(true);
    const reads = vi.spyOn(fs, 'readFileSync');
    let first;
    try {
      first = odb.readTree(oid);
      expect(reads).not.toHaveBeenCalled();
    } finally {
      reads.mockRestore();
    }
    expect(first).toEqual(parseTree(text, 'blake3', 'm'));
    // Handed over once: a caller that changes its list does not change the next reader's, which
    // reads and checks the cache's copy.
    first.pop();
    expect(odb.readTree(oid)).toEqual(parseTree(text, 'blake3', 'm'));
  });
});
