import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import fs from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PackLookup, formatPackIndex, packIndexBytes, packIndexKey, packKey, parsePackColumns, parsePackIndex, parsePackKey } from '../../src/model/pack.js';
import { PackSet, PackWriter, coalesceReads, type WrittenPack } from '../../src/remote/packs.js';
import { MemoryRemote, fetch, fetchObject, openRemote } from '../../src/remote/index.js';
import { Odb } from '../../src/odb/odb.js';
import { hashBuffer } from '../../src/hashing/hash.js';
import { serializeTree } from '../../src/model/tree.js';
import { objectKey } from '../../src/model/oid.js';
import { streamToBuffer } from '../../src/remote/streaming.js';
import { Readable } from 'node:stream';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const H = 'c'.repeat(64);
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
/**
 * Live bytes after a forced collection: the heap, and with `buffers` the stores of array buffers
 * outside it. V8 frees a collected buffer's store on a background thread, which a loaded machine
 * delays past one gc(): collected again until the figure stops falling.
 */
async function liveBytes(buffers = false): Promise<number> {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const measure = (): number => {
    const m = process.memoryUsage();
    return m.heapUsed + (buffers ? m.arrayBuffers : 0);
  };
  let last = Infinity;
  for (let i = 0; i < 20; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 5));
    const now = measure();
    if (now >= last - 1024) return Math.min(now, last);
    last = now;
  }
  return last;
}

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
    ['a repeated entry', `rvc-pack-index 1\nalgo blake3\npack ${H} 10\n${A} 0 1\n${A} 1 1\n`, /sorted or repeated/],
    ['an offset with a leading zero', `rvc-pack-index 1\nalgo blake3\npack ${H} 10\n${A} 01 1\n`, /expected/],
    ['an empty line', `rvc-pack-index 1\nalgo blake3\npack ${H} 10\n${A} 0 1\n\n`, /expected/],
    ['an uppercase oid', `rvc-pack-index 1\nalgo blake3\npack ${H} 10\n${A.toUpperCase()} 0 1\n`, /expected/],
    ['a manifest before its file', `rvc-pack-index 1\nalgo blake3\npack ${H} 10\n${A}.tree 0 1\n${A} 1 1\n`, /sorted/],
  ])('refuses %s', (_what, text, re) => {
    expect(() => parsePackIndex(text, 'blake3', 'packs/blake3/x.idx')).toThrow(re);
  });

  it('reads a file and its manifest, empty objects and a last line without its end', () => {
    const text = `rvc-pack-index 1\nalgo blake3\npack ${H} 10\n${A} 0 4\n${A}.tree 4 0\n${B} 4 6`;
    const cols = parsePackColumns(Buffer.from(text), 'blake3', 'k');
    expect(cols.list()).toEqual([{ oid: A, offset: 0, length: 4 }, { oid: `${A}.tree`, offset: 4, length: 0 }, { oid: B, offset: 4, length: 6 }]);
    expect(formatPackIndex(cols)).toBe(`${text}\n`);
    const lookup = new PackLookup();
    lookup.add(cols);
    expect(lookup.find(`${A}.tree`)).toEqual({ p: 0, j: 1 });
    expect(lookup.find(B)).toEqual({ p: 0, j: 2 });
    expect(lookup.find(`${B}.tree`)).toBeUndefined();
    expect(lookup.find(B.toUpperCase())).toBeUndefined();
  });

  it('names keys and parses them back', () => {
    expect(parsePackKey('blake3', packKey('blake3', A))).toEqual({ kind: 'pack', id: A });
    expect(parsePackKey('blake3', packIndexKey('blake3', A))).toEqual({ kind: 'idx', id: A });
    expect(parsePackKey('blake3', 'packs/blake3/../x.idx')).toBeUndefined();
  });
});

describe('PackWriter and PackSet over a folder remote', () => {
  it('holds a packed object in typed arrays, with no object or string of its own (a pull of a million packed files keeps them all)', async () => {
    const root = tmp();
    const remote = await openRemote(path.join(root, 'remote'));
    const hash = (b: Uint8Array) => hashBuffer('blake3', b);
    const n = 200_000;
    const parts: Buffer[] = [];
    let entries = [];
    let offset = 0;
    for (let i = 0; i < n; i++) {
      const data = Buffer.from(`${i}\n`);
      entries.push({ oid: hash(data), offset, length: data.length });
      parts.push(data);
      offset += data.length;
    }
    const pack = Buffer.concat(parts);
    parts.length = 0;
    const text = formatPackIndex({ algo: 'blake3', packHash: hash(pack), packSize: pack.length, entries });
    const id = hash(Buffer.from(text));
    for (const [key, bytes] of [[packKey('blake3', id), pack], [packIndexKey('blake3', id), Buffer.from(text)]] as const) {
      const file = path.join(root, 'remote', ...key.split('/'));
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, bytes);
    }
    const some = entries.filter((_, i) => i % 1000 === 0);
    const oids = entries.map((e) => e.oid);
    entries = [];
    // The heap and the typed arrays' stores outside it, both (the index's text, freed once read,
    // is 70 bytes an object here).
    const used = (): Promise<number> => liveBytes(true);
    const before = await used();
    const set = await PackSet.load(remote, 'blake3', hash, path.join(root, 'idx'));
    const perObject = ((await used()) - before) / n;
    expect(set.size).toBe(n);
    for (const e of some) expect(set.find(e.oid)).toEqual({ ...e, id });
    expect(set.find('f'.repeat(64))).toBeUndefined();
    // About 65 bytes: the digest, offset and length in columns and the lookup's slots. A Map of
    // oid → entry object (pack id included) cost about 205; a spread copy per object, about 485.
    expect(perObject).toBeLessThan(100);
    // What a fetch lists for its packed objects: an object each, its numbers small integers
    // rather than a heap number each (about 64 bytes an object; 96 with the boxed numbers). The
    // bound leaves room for what the heap holds besides, which varies with the process running
    // the test, and still fails on the boxed numbers.
    const base = await used();
    const found = oids.map((o) => set.find(o));
    const perFound = ((await used()) - base) / n;
    expect(found.every((f) => f !== undefined)).toBe(true);
    expect(perFound).toBeLessThan(82);
  });

  it('a pending pack holds its objects\' bytes in one buffer and their entries in columns, not objects', async () => {
    const root = tmp();
    const remote = await openRemote(path.join(root, 'remote'));
    const hash = (b: Uint8Array) => hashBuffer('blake3', b);
    const writer = new PackWriter(remote, 'blake3', hash, Number.POSITIVE_INFINITY);
    const file = path.join(root, 'object');
    writeFileSync(file, 'tiny\n');
    const n = 32_000;
    const oids = Array.from({ length: n }, (_, i) => hash(Buffer.from(`${i}`)));
    // The heap, and the stores of typed arrays and buffers outside it, once it has settled. A
    // first few objects make the writer's code and arrays before the count starts.
    for (const oid of oids.slice(0, 100)) await writer.add({ oid, file, size: 5 });
    const heap = await liveBytes();
    const buffers = process.memoryUsage().arrayBuffers;
    for (const oid of oids.slice(100)) await writer.add({ oid, file, size: 5 });
    const heapPerObject = ((await liveBytes()) - heap) / (n - 100);
    const perObject = heapPerObject + (process.memoryUsage().arrayBuffers - buffers) / (n - 100);
    expect(writer.pending).toBe(5 * n);
    // Nothing on the heap per object (about 4 bytes measured): an entry object and a Set of the
    // oids written cost about 80 bytes there, and a Buffer kept per object about 100 more.
    expect(heapPerObject).toBeLessThan(16);
    // What stays is the object's bytes and its index entry in columns, with its place in the
    // table of oids written: about 67 bytes at this count with the arrays' room to grow (the
    // entry objects and Set, with the bytes, about 85).
    expect(perObject).toBeLessThan(80);
    // Each oid goes in once; a manifest is another oid than the file of the same digest.
    await writer.add({ oid: oids[0]!, file, size: 5 });
    expect(writer.pending).toBe(5 * n);
    await writer.add({ oid: `${oids[0]!}.tree`, file, size: 5 });
    expect(writer.pending).toBe(5 * n + 5);
  });

  it('a written pack keeps its entries as its index, without a parsed second copy of each', async () => {
    const root = tmp();
    const remote = await openRemote(path.join(root, 'remote'));
    const hash = (b: Uint8Array) => hashBuffer('blake3', b);
    const written: WrittenPack[] = [];
    const writer = new PackWriter(remote, 'blake3', hash, Number.POSITIVE_INFINITY, (w) => written.push(w));
    const file = path.join(root, 'object');
    writeFileSync(file, 'tiny\n');
    const n = 20_000;
    for (let i = 0; i < n; i++) await writer.add({ oid: hash(Buffer.from(`${i}`)), file, size: 5 });
    const before = await liveBytes();
    await writer.flush();
    const perObject = ((await liveBytes()) - before) / n;
    expect(written[0]!.index.n).toBe(n);
    const text = readFileSync(path.join(root, 'remote', ...packIndexKey('blake3', written[0]!.id).split('/')));
    expect(written[0]!.indexSize).toBe(text.length);
    // The index is the uploaded text's entries, sorted and unique as a reader checks them.
    expect(parsePackColumns(text, 'blake3', 'k').n).toBe(n);
    expect(packIndexBytes(written[0]!.index).equals(text)).toBe(true);
    // A parsed copy kept about 105 bytes an object (entry, oid and the index text behind it).
    expect(perObject).toBeLessThan(60);
  });

  it('writes packs of about the target size that a PackSet reads back', async () => {
    const root = tmp();
    const remote = await openRemote(path.join(root, 'remote'));
    const hash = (b: Uint8Array) => hashBuffer('blake3', b);
    const writer = new PackWriter(remote, 'blake3', hash, 1000);
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
    // No pack stays over the target size once it holds more than one object (S3: one request).
    for (const p of set.packs.values()) if (p.index.n > 1) expect(p.index.packSize).toBeLessThanOrEqual(1000);
    // A cached index that was damaged is fetched again; one damaged on the remote is refused.
    const [id] = [...set.packs.keys()];
    writeFileSync(path.join(root, 'idx', `${id}.idx`), 'junk');

    expect((await PackSet.load(remote, 'blake3', hash, path.join(root, 'idx'))).size).toBe(30);
    // What a killed reader left while caching an index (a dead PID in its name) is swept by the
    // first load of that folder in a process.
    mkdirSync(path.join(root, 'idx2'));
    writeFileSync(path.join(root, 'idx2', `.${id}.idx.999999999.deadbeef.tmp`), 'partial');
    expect((await PackSet.load(remote, 'blake3', hash, path.join(root, 'idx2'))).size).toBe(30);
    expect(readdirSync(path.join(root, 'idx2')).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    rmSync(path.join(root, 'idx'), { recursive: true });
    writeFileSync(path.join(root, 'remote', ...packIndexKey('blake3', id!).split('/')), 'junk');
    await expect(PackSet.load(remote, 'blake3', hash, path.join(root, 'idx'))).rejects.toThrow(/does not match its name/);
    await remote.close();

    // A file read straight into the pack is read to its end, whatever size the caller expected
    // (longer, shorter, past the size hint the buffer was made for).
    const other = await openRemote(path.join(root, 'other'));
    const written: WrittenPack[] = [];
    const hinted = new PackWriter(other, 'blake3', hash, Number.POSITIVE_INFINITY, (w) => written.push(w), {}, 16);
    const said = [1, 500, 0];
    const datas = [Buffer.from('x'.repeat(300)), Buffer.from('short'), Buffer.from('z'.repeat(70000))];
    for (let i = 0; i < datas.length; i++) {
      writeFileSync(path.join(root, `h${i}`), datas[i]!);
      await hinted.add({ oid: hash(datas[i]!), file: path.join(root, `h${i}`), size: said[i]! });
    }
    await hinted.flush();
    const pack = readFileSync(path.join(root, 'other', ...packKey('blake3', written[0]!.id).split('/')));
    expect(pack.equals(Buffer.concat(datas))).toBe(true);
    expect([...written[0]!.index.lengths].sort((a, b) => a - b)).toEqual([5, 300, 70000]);
    await other.close();
  });

  it('reads objects out of a local pack straight into the pending one, refuses a read that is short or fails, and reuses its buffers through a pool', async () => {
    const root = tmp();
    const remote = await openRemote(path.join(root, 'remote'));
    const hash = (b: Uint8Array) => hashBuffer('blake3', b);
    const datas = [Buffer.from('first object\n'), Buffer.from('y'.repeat(90_000)), Buffer.from('third\n')];
    const local = path.join(root, 'local.pack');
    writeFileSync(local, Buffer.concat([Buffer.from('head'), ...datas]));
    // What the store's readObjectInto does for a packed object: its bytes read into the pack.
    const fromPack = (offset: number, length: number) => (into: Buffer, at: number): number => readFileSync(local).copy(into, at, offset, offset + length);
    const given: Buffer[] = [];
    let taken = 0;
    const spare: Buffer[] = [];
    const pool = {
      take: (size: number): Buffer => {
        taken++;
        const i = spare.findIndex((b) => b.length >= size);
        return i >= 0 ? spare.splice(i, 1)[0]! : Buffer.allocUnsafe(size);
      },
      give: (b: Buffer): void => {
        given.push(b);
        spare.push(b);
      },
    };
    const written: WrittenPack[] = [];
    const writer = new PackWriter(remote, 'blake3', hash, Number.POSITIVE_INFINITY, (w) => written.push(w), {}, 0, pool);
    let at = 4;
    for (const d of datas) {
      await writer.add({ oid: hash(d), length: d.length, readInto: fromPack(at, d.length) });
      at += d.length;
    }
    // A read that ends early (past the end of the local pack), and one that fails: refused, nothing added.
    await expect(writer.add({ oid: hash(Buffer.from('past')), length: 10, readInto: fromPack(at - 2, 10) })).rejects.toThrow(/OBJECT_CORRUPT|holds 2 bytes/);
    await expect(writer.add({ oid: hash(Buffer.from('gone')), length: 4, readInto: () => { throw new Error('pack gone'); } })).rejects.toThrow(/pack gone/);
    await writer.flush();
    const pack = readFileSync(path.join(root, 'remote', ...packKey('blake3', written[0]!.id).split('/')));
    expect(pack.equals(Buffer.concat(datas))).toBe(true);
    expect(written[0]!.index.n).toBe(3);
    // Every buffer taken was given back (the last once its pack was uploaded).
    expect(taken).toBeGreaterThan(0);
    expect(given.length).toBe(taken);
    await remote.close();
  });
});

describe('a body read into memory', () => {
  it('fills the given buffer while it fits, saying how far as it goes, and joins the rest past its end; a short body is an error', async () => {
    const body = (): Readable => Readable.from([Buffer.from('abc'), Buffer.from('def'), Buffer.from('gh')]);
    const into = Buffer.alloc(8);
    const fills: number[] = [];
    const got = await streamToBuffer(body(), { into, expected: 8, onFill: (n) => fills.push(n) });
    expect(got.toString()).toBe('abcdefgh');
    expect(got.buffer).toBe(into.buffer);
    expect(fills).toEqual([0, 3, 6, 8]);
    const small = Buffer.alloc(4);
    const past: number[] = [];
    expect((await streamToBuffer(body(), { into: small, onFill: (n) => past.push(n) })).toString()).toBe('abcdefgh');
    expect(past).toEqual([0, 3]);
    await expect(streamToBuffer(body(), { into, expected: 9 })).rejects.toThrow(/9/);
  });
});

describe('listing a remote\'s packs', () => {
  it('reads several indexes at once, and an object in two packs is found in the first by id', async () => {
    const hash = (b: Uint8Array) => hashBuffer('blake3', b);
    const remote = new MemoryRemote('memory://indexes');
    const shared = Buffer.from('in every pack\n');
    for (let p = 0; p < 4; p++) {
      const writer = new PackWriter(remote, 'blake3', hash, Number.POSITIVE_INFINITY);
      for (let i = 0; i < 5; i++) await writer.add({ oid: hash(Buffer.from(`pack ${p} object ${i} `.repeat(3))), bytes: Buffer.from(`pack ${p} object ${i} `.repeat(3)) });
      await writer.add({ oid: hash(shared), bytes: shared });
      await writer.flush();
    }
    let inFlight = 0;
    let most = 0;
    for (const name of ['download', 'downloadBytes'] as const) {
      const original = remote[name].bind(remote) as (...a: unknown[]) => Promise<unknown>;
      (remote as unknown as Record<string, unknown>)[name] = async (...a: unknown[]) => {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((r) => setTimeout(r, 5));
        try {
          return await original(...a);
        } finally {
          inFlight--;
        }
      };
    }
    const set = await PackSet.load(remote, 'blake3', hash, path.join(tmp(), 'idx'));
    expect(set.packs.size).toBe(4);
    expect(set.size).toBe(21);
    expect(most).toBeGreaterThan(1);
    expect(set.find(hash(shared))!.id).toBe([...set.packs.keys()].sort()[0]);
  });
});

describe('reading packs through the transfer engine', () => {
  const hash = (b: Uint8Array) => hashBuffer('blake3', b);

  /** A memory remote holding `n` small objects in one pack, and a store (real object database) to fetch into. */
  async function packedRemote(n: number): Promise<{ remote: MemoryRemote; odb: Odb; objects: Map<string, Buffer>; root: string }> {
    const root = tmp();
    const remote = new MemoryRemote('memory://packs');
    const writer = new PackWriter(remote, 'blake3', hash, Number.POSITIVE_INFINITY);
    const objects = new Map<string, Buffer>();
    for (let i = 0; i < n; i++) {
      const data = Buffer.from(`object ${i} `.repeat(5 + i));
      const file = path.join(root, `o${i}`);
      writeFileSync(file, data);
      const oid = hash(data);
      objects.set(oid, data);
      await writer.add({ oid, file, size: data.length });
    }
    await writer.flush();
    const odb = new Odb(path.join(root, 'cache'), 'blake3', path.join(root, 'cache', 'tmp'));
    return { remote, odb, objects, root };
  }

  it('groups near objects into one ranged request and reads far ones apart', () => {
    const e = (oid: string, offset: number, length: number) => ({ oid, offset, length });
    const reads = coalesceReads([e(B, 100, 10), e(A, 0, 10), e(H, 10_000, 5)], 200, 1000);
    expect(reads.map((r) => [r.offset, r.length, r.entries.length])).toEqual([[0, 110, 2], [10_000, 5, 1]]);
    // The span limit splits even adjacent objects.
    expect(coalesceReads([e(A, 0, 600), e(B, 600, 600)], 200, 1000)).toHaveLength(2);
  });

  it('one wanted object is one ranged read of its bytes; most of a pack is one whole download', async () => {
    const { remote, odb, objects } = await packedRemote(20);
    const oids = [...objects.keys()];
    const r1 = await fetch(odb, remote, [oids[3]!]);
    expect(r1.transferred).toEqual([oids[3]]);
    expect(remote.calls.range).toBe(1);
    expect(remote.calls.download).toBe(1); // the index, once for the remote handle
    expect(remote.calls.list).toBe(1);
    expect(readFileSync(odb.objectPath(oids[3]!)).equals(objects.get(oids[3]!)!)).toBe(true);
    remote.resetCalls();
    const r2 = await fetch(odb, remote, oids);
    expect(r2.transferred).toHaveLength(19);
    expect(remote.calls.download).toBe(1); // the pack; the packs are not listed again
    expect(remote.calls.range).toBe(0);
    expect(remote.calls.list).toBe(0);
    // The pack read whole is kept as a pack: the 19 objects are read out of it, not loose.
    for (const [oid, data] of objects) expect(odb.readObject(oid).equals(data)).toBe(true);
    expect(oids.filter((o) => existsSync(odb.objectPath(o)))).toEqual([oids[3]]);
    expect(oids.every((o) => odb.hasSync(o))).toBe(true);
  });

  it('a fetch into a cache holding some objects loose and some packed moves only the others, without a stat for each object it lacks', async () => {
    const root = tmp();
    const remote = new MemoryRemote('memory://many');
    const writer = new PackWriter(remote, 'blake3', hash, Number.POSITIVE_INFINITY);
    // About 23 objects per shard folder of the cache: each busy enough to be read once.
    const n = 6000;
    const objects = new Map<string, Buffer>();
    for (let i = 0; i < n; i++) {
      const data = Buffer.from(`small ${i}\n`);
      objects.set(hash(data), data);
      await writer.add({ oid: hash(data), bytes: data });
    }
    await writer.flush();
    const oids = [...objects.keys()];
    const odb = new Odb(path.join(root, 'cache'), 'blake3', path.join(root, 'cache', 'tmp'));
    // 300 first, loose (ranged reads: most of the pack is not wanted).
    expect((await fetch(odb, remote, oids.slice(0, 300))).transferred).toHaveLength(300);
    const exists = vi.spyOn(fs, 'existsSync');
    let r;
    try {
      r = await fetch(odb, remote, oids);
      // Asked one by one, the 5,700 it lacked cost two each (the object, then its chunk list).
      expect(exists.mock.calls.length).toBeLessThan(n / 10);
    } finally {
      exists.mockRestore();
    }
    expect(r.failedCount).toBe(0);
    expect(r.skipped).toBe(300);
    expect(r.transferred).toHaveLength(n - 300);
    // Now 300 loose and all 6,000 in the kept pack: nothing more to move.
    const again = await fetch(odb, remote, oids);
    expect([again.transferred.length, again.skipped]).toEqual([0, n]);
    for (const oid of [oids[0]!, oids[4321]!]) expect(odb.readObject(oid).equals(objects.get(oid)!)).toBe(true);
  });

  it('packs read whole into memory are at most four at once, whatever the jobs', async () => {
    const root = tmp();
    const remote = new MemoryRemote('memory://whole');
    // Ten packs of 10 objects.
    const writer = new PackWriter(remote, 'blake3', hash, 10 * 64);
    const objects: string[] = [];
    for (let i = 0; i < 100; i++) {
      const data = Buffer.from(`whole ${i} `.padEnd(64, '.'));
      objects.push(hash(data));
      await writer.add({ oid: hash(data), bytes: data });
    }
    await writer.flush();
    let now = 0;
    let most = 0;
    const read = remote.downloadBytes.bind(remote);
    remote.downloadBytes = async (key, opts) => {
      if (!key.endsWith('.pack')) return read(key, opts);
      most = Math.max(most, ++now);
      try {
        await new Promise((r) => setTimeout(r, 5));
        return await read(key, opts);
      } finally {
        now--;
      }
    };
    const odb = new Odb(path.join(root, 'cache'), 'blake3', path.join(root, 'cache', 'tmp'));
    const r = await fetch(odb, remote, objects, { jobs: 8 });
    expect([r.transferred.length, r.failedCount]).toEqual([100, 0]);
    expect([...odb.localPacks()]).toHaveLength(10);
    expect(most).toBe(4);
  });

  it('a manifest is read loose while the packs are still being listed; one packed, or damaged loose, comes from its pack', async () => {
    const files = Array.from({ length: 70 }, (_, i) => Buffer.from(`file ${i}\n`));
    const text = Buffer.from(serializeTree(files.map((b, i) => ({ path: `f${String(i).padStart(2, '0')}`, oid: hash(b), size: b.length }))));
    const tree = `${hash(text)}.tree`;
    const remoteWith = async (treeInPack: boolean): Promise<{ remote: MemoryRemote; log: string[] }> => {
      const remote = new MemoryRemote('memory://tree');
      const writer = new PackWriter(remote, 'blake3', hash, Number.POSITIVE_INFINITY);
      for (const b of files) await writer.add({ oid: hash(b), bytes: b });
      if (treeInPack) await writer.add({ oid: tree, bytes: text });
      await writer.flush();
      const log: string[] = [];
      remote.failWith = (op, key) => void log.push(`${op} ${key}`);
      return { remote, log };
    };
    const fetchInto = async (remote: MemoryRemote): Promise<Odb> => {
      const root = tmp();
      const odb = new Odb(path.join(root, 'cache'), 'blake3', path.join(root, 'cache', 'tmp'));
      const r = await fetch(odb, remote, [tree]);
      expect(r.failedCount).toBe(0);
      expect(r.transferred).toHaveLength(71);
      expect(odb.readTree(tree)).toHaveLength(70);
      return odb;
    };
    // Loose, as push leaves it: its GET goes out before the pack index's, not after the listing.
    const loose = await remoteWith(false);
    loose.remote.put(objectKey('blake3', tree), text);
    await fetchInto(loose.remote);
    const treeGet = loose.log.indexOf(`download ${objectKey('blake3', tree)}`);
    const indexGet = loose.log.findIndex((l) => l.startsWith('download packs/') && l.endsWith('.idx'));
    expect(treeGet).toBeGreaterThanOrEqual(0);
    expect(indexGet).toBeGreaterThan(treeGet);
    // Packed only (a gc repacked it): the loose GET finds nothing and the pack has it.
    const packed = await remoteWith(true);
    await fetchInto(packed.remote);
    expect(packed.log).toContain(`download ${objectKey('blake3', tree)}`);
    expect(packed.log.filter((l) => l.startsWith('range packs/')).length).toBeGreaterThan(0);
    // Damaged loose and sound packed: the packed copy is taken.
    const both = await remoteWith(true);
    both.remote.put(objectKey('blake3', tree), Buffer.concat([text, Buffer.from('x')]));
    await fetchInto(both.remote);
  });

  it('a pack that vanished (repacked by a gc) makes the reader list the packs again once and read the new pack', async () => {
    const { remote, odb, objects, root } = await packedRemote(10);
    const oids = [...objects.keys()];
    const old = [...remote.objects.keys()].filter((k) => k.startsWith('packs/'));
    // The repacked pack: the same objects in another order, so another id; kept aside for now.
    const other = new MemoryRemote('memory://other');
    const writer = new PackWriter(other, 'blake3', hash, Number.POSITIVE_INFINITY);
    for (const oid of [...oids].reverse()) {
      const file = path.join(root, `r-${oid}`);
      writeFileSync(file, objects.get(oid)!);
      await writer.add({ oid, file, size: objects.get(oid)!.length });
    }
    await writer.flush();
    // Listing and reading interleave with the gc: the first read of the old pack finds it gone.
    let swapped = false;
    remote.failWith = (op, key) => {
      if (!swapped && (op === 'range' || op === 'download') && key.endsWith('.pack')) {
        swapped = true;
        for (const k of old) remote.objects.delete(k);
        for (const [k, v] of other.objects) remote.objects.set(k, v);
      }
      return undefined;
    };
    const r = await fetch(odb, remote, [oids[1]!, oids[2]!]);
    expect(swapped).toBe(true);
    expect(r.failedCount).toBe(0);
    expect(r.transferred.sort()).toEqual([oids[1]!, oids[2]!].sort());
    expect(remote.calls.list).toBe(2);
    // fetchObject (one object alone) goes through the same reload.
    swapped = false;
    remote.objects.clear();
    for (const [k, v] of other.objects) remote.objects.set(k, v);
    expect(await fetchObject(odb, remote, oids[5]!)).toBe(true);
    expect(readFileSync(odb.objectPath(oids[5]!)).equals(objects.get(oids[5]!)!)).toBe(true);
  });
});
