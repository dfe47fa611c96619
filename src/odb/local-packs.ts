/**
 * Packs kept in the local cache: `<cache>/packed/<algo>/<id>.pack` and `<id>.idx`, the same two
 * formats as on a remote (`model/pack.ts`), where `<id>` is the hash of the index text. A fetch
 * that downloads a remote's pack whole and finds every object in it sound keeps it as it is
 * instead of writing one cache file per object; the objects of a local pack are "in the cache".
 *
 * The index is written (atomically) before its pack is renamed in, so a pack is never there
 * without its index except when gc or fsck was deleting it (index first, then pack): a pack file
 * without an index is a leftover; an index without its pack is ignored (its objects are absent).
 * This folder is apart from `packs/<algo>/`, the cached indexes of remotes' packs, which remote
 * reads sweep and prune: they can never drop the index of a pack the cache holds.
 *
 * The lookup is loaded once per process and store (an index is read, checked against its name
 * and against its pack's size) into one Map from oid to a slot of parallel arrays, so a million
 * packed objects cost no object each.
 */
import fs from 'node:fs';
import path from 'node:path';
import { RvcError, errnoCode, fromFsError } from '../errors.js';
import type { HashAlgo } from '../model/oid.js';
import { formatPackIndex, parsePackIndex, type PackIndex } from '../model/pack.js';
import { isStaleTempName, writeFileAtomic } from '../fsutil/atomic.js';

export const LOCAL_PACK_ROOT = 'packed';

/** Where an object lies in a local pack. */
export interface LocalPacked {
  id: string;
  /** The pack file. */
  file: string;
  offset: number;
  length: number;
  /** The pack's number in this lookup. */
  n: number;
}

/** Thrown by read when the pack vanished (a gc deleted it): the caller looks for a loose copy. */
export class PackGone extends Error {}

export class LocalPacks {
  private slots: Map<string, number> | undefined;
  private ids: string[] = [];
  private packOf: number[] = [];
  private offsets: number[] = [];
  private lengths: number[] = [];
  private readonly fds = new Map<number, number>();

  constructor(
    readonly dir: string,
    private readonly algo: HashAlgo,
    private readonly hash: (data: Uint8Array) => string,
  ) {}

  private ensure(): Map<string, number> {
    if (this.slots) return this.slots;
    this.slots = new Map();
    for (const p of this.scan().packs) {
      let text: Buffer;
      try {
        text = fs.readFileSync(p.idx);
      } catch {
        continue; // deleted meanwhile
      }
      const index = this.checkIndex(p.id, text, p.size);
      if (index) this.addIndex(p.id, index);
    }
    return this.slots;
  }

  /** The parsed index if it matches its name and its pack's size; undefined otherwise (fsck reports it). */
  private checkIndex(id: string, text: Buffer, packSize: number): PackIndex | undefined {
    if (this.hash(text) !== id) return undefined;
    try {
      const index = parsePackIndex(text.toString('utf8'), this.algo, path.join(this.dir, `${id}.idx`));
      return index.packSize === packSize ? index : undefined;
    } catch {
      return undefined;
    }
  }

  private addIndex(id: string, index: PackIndex): void {
    const slots = this.slots!;
    const n = this.ids.length;
    this.ids.push(id);
    for (const e of index.entries) {
      if (slots.has(e.oid)) continue;
      slots.set(e.oid, this.packOf.length);
      this.packOf.push(n);
      this.offsets.push(e.offset);
      this.lengths.push(e.length);
    }
  }

  /**
   * The folder's packs: those with an index and a pack file (with the pack's size), and the pack
   * files without an index, or temp files of killed writers (leftovers).
   */
  scan(): { packs: { id: string; idx: string; pack: string; size: number }[]; leftovers: string[] } {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return { packs: [], leftovers: [] };
      throw fromFsError(e, this.dir, 'list');
    }
    const set = new Set(names);
    const packs: { id: string; idx: string; pack: string; size: number }[] = [];
    const leftovers: string[] = [];
    for (const n of names.sort()) {
      const m = /^([0-9a-f]+)\.pack$/.exec(n);
      if (m) {
        const file = path.join(this.dir, n);
        if (!set.has(`${m[1]}.idx`)) {
          leftovers.push(file);
          continue;
        }
        let size: number;
        try {
          size = fs.statSync(file).size;
        } catch {
          continue;
        }
        packs.push({ id: m[1]!, idx: path.join(this.dir, `${m[1]}.idx`), pack: file, size });
      } else if (isStaleTempName(n)) leftovers.push(path.join(this.dir, n));
    }
    return { packs, leftovers };
  }

  find(oid: string): LocalPacked | undefined {
    const i = this.ensure().get(oid);
    if (i === undefined) return undefined;
    const p = this.packOf[i]!;
    return { id: this.ids[p]!, file: this.packFile(this.ids[p]!), offset: this.offsets[i]!, length: this.lengths[i]!, n: p };
  }

  has(oid: string): boolean {
    return this.ensure().has(oid);
  }

  /** Number of packed objects (each counted once). */
  get size(): number {
    return this.ensure().size;
  }

  packFile(id: string): string {
    return path.join(this.dir, `${id}.pack`);
  }

  /**
   * Reads `oid`'s bytes out of its pack into `buf` at `at` (a Buffer of its length when
   * omitted). Throws PackGone when the pack is not there any more.
   */
  read(loc: LocalPacked, buf: Buffer = Buffer.allocUnsafe(loc.length), at = 0): Buffer {
    const p = loc.n;
    let fd = this.fds.get(p);
    if (fd === undefined) {
      try {
        fd = fs.openSync(loc.file, 'r');
      } catch (e) {
        if (errnoCode(e) === 'ENOENT') throw new PackGone(loc.file);
        throw fromFsError(e, loc.file, 'read');
      }
      this.fds.set(p, fd);
    }
    let n = 0;
    while (n < loc.length) {
      let k: number;
      try {
        k = fs.readSync(fd, buf, at + n, loc.length - n, loc.offset + n);
      } catch (e) {
        throw fromFsError(e, loc.file, 'read');
      }
      if (k === 0) {
        throw new RvcError('OBJECT_CORRUPT', `pack ${loc.file} ends before the object at ${loc.offset} (${loc.length} bytes)`, {
          path: loc.file, hint: '`rvc fsck --repair` removes the damaged pack; then `rvc pull` fetches its objects again',
        });
      }
      n += k;
    }
    return buf.subarray(at, at + loc.length);
  }

  /**
   * Puts a downloaded pack (`tmpPack`, on the cache's filesystem, its objects already verified)
   * into the folder under the index `index`: the index first, then the pack by rename. Returns
   * the local id.
   */
  adopt(tmpPack: string, index: PackIndex, mode: number, makeDir: (dir: string) => void): string {
    const text = formatPackIndex(index);
    const id = this.hash(Buffer.from(text));
    const idx = path.join(this.dir, `${id}.idx`);
    const pack = this.packFile(id);
    if (fs.existsSync(pack) && fs.existsSync(idx)) {
      fs.rmSync(tmpPack, { force: true });
      return id;
    }
    makeDir(this.dir);
    // A crash between the two leaves an index without its pack, which means nothing.
    writeFileAtomic(idx, text, { mode, fsync: false });
    try {
      fs.chmodSync(tmpPack, mode);
      fs.renameSync(tmpPack, pack);
    } catch (e) {
      // The caller removes its temp file (or reads the objects out of it one by one).
      throw fromFsError(e, pack, 'write cache pack');
    }
    if (this.slots) this.addIndex(id, index);
    return id;
  }

  /** Every pack with its index as it is on disk (checked) or the reason it is not usable. */
  *packs(): Generator<{ id: string; file: string; index: PackIndex | undefined }> {
    for (const p of this.scan().packs) {
      let text: Buffer;
      try {
        text = fs.readFileSync(p.idx);
      } catch {
        continue;
      }
      yield { id: p.id, file: p.pack, index: this.checkIndex(p.id, text, p.size) };
    }
  }

  /** Deletes a pack: its index first, so no reader finds an index whose pack is gone. */
  deletePack(id: string): void {
    for (const f of [path.join(this.dir, `${id}.idx`), this.packFile(id)]) {
      try {
        fs.rmSync(f, { force: true });
      } catch (e) {
        throw fromFsError(e, f, 'remove');
      }
    }
  }

  /** Forgets the lookup (after packs were deleted): the next use reads the folder again. */
  reload(): void {
    for (const fd of this.fds.values()) {
      try {
        fs.closeSync(fd);
      } catch {
        // already closed
      }
    }
    this.fds.clear();
    this.slots = undefined;
    this.ids = [];
    this.packOf = [];
    this.offsets = [];
    this.lengths = [];
  }
}
