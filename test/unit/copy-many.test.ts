import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { isTempName } from '../../src/fsutil/atomic.js';
import { copyManySmall, storeManySmall, MANY_MIN_FOR_WORKERS, type SmallCopy } from '../../src/fsutil/copy-many.js';
import { blakeModulePath, digestBytes, hashBuffer } from '../../src/hashing/hash.js';
import type { FileStat } from '../../src/fsutil/walk.js';
import { tmpDir, rmrf } from '../helpers/cli.js';

const work = tmpDir('rvc-copy-many-');
afterAll(() => rmrf(work));

function allFiles(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

/** `n` source files of distinct content (read-only, as cache objects are) in `dir/src`. */
function sources(dir: string, n: number): { src: string; data: Buffer }[] {
  fs.mkdirSync(path.join(dir, 'src'), { recursive: true });
  const out: { src: string; data: Buffer }[] = [];
  for (let i = 0; i < n; i++) {
    const data = Buffer.from(`file ${i} `.repeat(1 + (i % 7)));
    const src = path.join(dir, 'src', `o${i}`);
    fs.writeFileSync(src, data, { mode: 0o444 });
    out.push({ src, data });
  }
  return out;
}

describe('copying many small files at once (copyManySmall)', () => {
  it('worker threads place every copy byte-exact with its mode and report the new stat; nothing else is left', () => {
    const dir = path.join(work, 'workers');
    const src = sources(dir, 1500);
    fs.mkdirSync(path.join(dir, 'out', 'a'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'out', 'b'), { recursive: true });
    const copies: SmallCopy[] = src.map((s, i) => ({
      src: s.src, dest: path.join(dir, 'out', i % 2 ? 'a' : 'b', `f${i}`), size: s.data.length, mode: i % 3 === 0 ? 0o755 : 0o644,
    }));
    const stats = new Map<number, FileStat>();
    // This thread only hands out the work: every copy is the workers' (their source text runs).
    const r = copyManySmall(copies.length, (i) => copies[i]!, (i, st) => stats.set(i, st), { workers: 2, inThisThread: false });
    expect(r.byWorkers).toBe(copies.length);
    expect([...r.done].every((x) => x === 1)).toBe(true);
    for (let i = 0; i < copies.length; i++) {
      const c = copies[i]!;
      expect(fs.readFileSync(c.dest).equals(src[i]!.data)).toBe(true);
      const st = fs.statSync(c.dest);
      expect(st.mode & 0o777).toBe(c.mode);
      expect(stats.get(i)).toEqual({ ino: st.ino, mtimeMs: st.mtimeMs, size: st.size, mode: st.mode });
    }
    expect(allFiles(path.join(dir, 'out')).filter((p) => isTempName(path.basename(p)))).toEqual([]);
  });

  it('this thread and the workers together, over several batches, with the default number of workers', () => {
    const dir = path.join(work, 'together');
    const n = Math.max(MANY_MIN_FOR_WORKERS, 9000);
    fs.mkdirSync(path.join(dir, 'src'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'out'), { recursive: true });
    const data = (i: number): Buffer => Buffer.from(`${i}\n`);
    for (let i = 0; i < n; i++) fs.writeFileSync(path.join(dir, 'src', `o${i}`), data(i));
    let progress = 0;
    const r = copyManySmall(n, (i) => ({ src: path.join(dir, 'src', `o${i}`), dest: path.join(dir, 'out', `f${i}`), size: data(i).length, mode: 0o644 }), () => {}, {
      onProgress: (k) => { progress = k; },
    });
    expect(r.done.reduce((s, x) => s + x, 0)).toBe(n);
    expect(progress).toBe(n);
    for (let i = 0; i < n; i += 97) expect(fs.readFileSync(path.join(dir, 'out', `f${i}`)).equals(data(i))).toBe(true);
  });

  it('places copies under long names in UTF-8 of up to three bytes a character, folder after folder', () => {
    // Names several times longer than the batch's first guess (160 bytes a copy) make it grow
    // its name buffer while copies are being added.
    const dir = path.join(work, 'utf8');
    const n = Math.max(MANY_MIN_FOR_WORKERS, 1200);
    const src = sources(dir, n);
    const folders = ['ü'.repeat(100), '日本語'.repeat(25), `${'é'.repeat(90)}/${'数'.repeat(60)}`];
    for (const f of folders) fs.mkdirSync(path.join(dir, 'out', f), { recursive: true });
    // Runs of 7 copies per folder, then the next folder: many runs, each in one folder.
    const dest = (i: number): string => path.join(dir, 'out', folders[Math.floor(i / 7) % folders.length]!, `${'ß'.repeat(40)}-${i}`);
    const r = copyManySmall(n, (i) => ({ src: src[i]!.src, dest: dest(i), size: src[i]!.data.length, mode: 0o644 }), () => {}, { workers: 1 });
    expect(r.done.reduce((s, x) => s + x, 0)).toBe(n);
    for (let i = 0; i < n; i++) expect(fs.readFileSync(dest(i)).equals(src[i]!.data)).toBe(true);
  });

  it('reads a missing loose object from its pack; leaves to the caller a missing source, a source of another size and a name too long for a temp name', () => {
    const dir = path.join(work, 'odd');
    const src = sources(dir, 4);
    const pack = path.join(dir, 'pack');
    const packed = Buffer.from('bytes kept in a pack\n');
    fs.writeFileSync(pack, Buffer.concat([Buffer.from('header.'), packed, Buffer.from('.trailer')]));
    fs.mkdirSync(path.join(dir, 'out'));
    const long = 'n'.repeat(230);
    const copies: SmallCopy[] = [
      { src: path.join(dir, 'src', 'absent'), dest: path.join(dir, 'out', 'from-pack'), size: packed.length, mode: 0o644, pack: { file: pack, offset: 7, length: packed.length } },
      { src: path.join(dir, 'src', 'absent'), dest: path.join(dir, 'out', 'nowhere'), size: 5, mode: 0o644 },
      { src: src[1]!.src, dest: path.join(dir, 'out', 'wrong-size'), size: src[1]!.data.length + 1, mode: 0o644 },
      { src: src[2]!.src, dest: path.join(dir, 'out', long), size: src[2]!.data.length, mode: 0o644 },
      { src: src[3]!.src, dest: path.join(dir, 'out', 'fine'), size: src[3]!.data.length, mode: 0o644 },
    ];
    const r = copyManySmall(copies.length, (i) => copies[i]!, () => {}, { workers: 1, inThisThread: false });
    expect([...r.done]).toEqual([1, 0, 0, 0, 1]);
    expect(fs.readFileSync(path.join(dir, 'out', 'from-pack')).equals(packed)).toBe(true);
    expect(fs.readdirSync(path.join(dir, 'out')).sort()).toEqual(['fine', 'from-pack']);
  });

  it('stops every thread at the first destination that cannot be written, leaving no temp file', () => {
    const dir = path.join(work, 'stop');
    const src = sources(dir, 1200);
    fs.mkdirSync(path.join(dir, 'out'));
    // Copy 600 goes into a folder that does not exist: creating its temp file fails.
    const dest = (i: number): string => path.join(dir, i === 600 ? 'missing-folder' : 'out', `f${i}`);
    const r = copyManySmall(src.length, (i) => ({ src: src[i]!.src, dest: dest(i), size: src[i]!.data.length, mode: 0o644 }), () => {}, { workers: 1 });
    expect(r.done[600]).toBe(0);
    const placed = r.done.reduce((s, x) => s + x, 0);
    // The other threads finish the block they hold, then start no other.
    expect(placed).toBeLessThan(src.length - 1);
    expect(fs.readdirSync(path.join(dir, 'out')).length).toBe(placed);
    expect(fs.readdirSync(path.join(dir, 'out')).filter(isTempName)).toEqual([]);
  });
});

describe('storing many small files at once (storeManySmall)', () => {
  it('worker threads hash and store each file under its digest (sha256 and the native BLAKE3), once; a file of another size is left to the caller', () => {
    for (const algo of ['blake3', 'sha256'] as const) {
      const dir = path.join(work, `store-${algo}`);
      const src = sources(dir, 1200);
      const root = path.join(dir, 'cache', algo);
      for (let b = 0; b < 256; b++) fs.mkdirSync(path.join(root, b.toString(16).padStart(2, '0')), { recursive: true });
      // One object already there (its file must not be written again), one file that grew.
      const there = hashBuffer(algo, src[5]!.data);
      fs.writeFileSync(path.join(root, there.slice(0, 2), there.slice(2)), src[5]!.data, { mode: 0o444 });
      const before = fs.statSync(path.join(root, there.slice(0, 2), there.slice(2))).ino;
      const oids = new Map<number, string>();
      const r = storeManySmall(src.length, (i) => ({ src: src[i]!.src, size: src[i]!.data.length + (i === 7 ? 1 : 0) }), (i, d) => oids.set(i, Buffer.from(d).toString('hex')), {
        root, algo, shared: false, maxSize: 4 * 1024 * 1024, hash: digestBytes, hashModule: blakeModulePath(), workers: 2, inThisThread: false,
      });
      expect(r.byWorkers).toBe(src.length - 1);
      expect(r.done[7]).toBe(0);
      expect(oids.has(7)).toBe(false);
      for (let i = 0; i < src.length; i++) {
        if (i === 7) continue;
        const oid = hashBuffer(algo, src[i]!.data);
        expect(oids.get(i)).toBe(oid);
        const obj = path.join(root, oid.slice(0, 2), oid.slice(2));
        expect(fs.readFileSync(obj).equals(src[i]!.data)).toBe(true);
        expect(fs.statSync(obj).mode & 0o222).toBe(0);
      }
      expect(fs.statSync(path.join(root, there.slice(0, 2), there.slice(2))).ino).toBe(before);
      expect(allFiles(root).filter((p) => isTempName(path.basename(p)))).toEqual([]);
    }
  });
});
